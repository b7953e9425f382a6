/* SPDX-License-Identifier: MIT */
/* Exact top-k search over an index: blocked dot products (kernels.c) feed one small
 * heap per query.
 *
 * Work is split into jobs, each a range of queries times a range of rows. Few queries: the
 * rows are split between threads and each thread's heaps are merged at the end. Many
 * queries: the queries are split and no merge is needed. Either way every (row, query) score
 * is computed by the same arithmetic, and ranking uses one total order (score descending,
 * then position ascending), so the results are identical for any number of threads. */
#include "index/index.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

/* Queries per pass over the rows: as many as fit in this many bytes, so they stay in L2 cache
 * while the rows stream past (kernels.c). */
#define QUERY_BLOCK_BYTES (256 * 1024)
/* Rows per block: each block's scores (rows x queries) go to the heaps before the next. */
#define BLOCK_ROWS 48
/* A thread is only worth starting for this many rows (or queries x rows) of work. */
#define MIN_ROWS_PER_THREAD 8192
#define MIN_QUERIES_PER_THREAD 64

typedef struct hit {
    float score;
    uint64_t position;
} hit;

/* a ranks before b: higher score, or the same score and an earlier entry. */
static int ranks_before(hit a, hit b)
{
    return a.score > b.score || (a.score == b.score && a.position < b.position);
}

/* A min-heap of the best `capacity` hits so far; the root is the worst of them. */
typedef struct heap {
    hit *hits;
    size_t size;
} heap;

static void heap_sift_down(hit *hits, size_t size, size_t i)
{
    for (;;) {
        size_t worst = i, left = 2 * i + 1, right = left + 1;
        if (left < size && ranks_before(hits[worst], hits[left]))
            worst = left;
        if (right < size && ranks_before(hits[worst], hits[right]))
            worst = right;
        if (worst == i)
            return;
        hit t = hits[i];
        hits[i] = hits[worst];
        hits[worst] = t;
        i = worst;
    }
}

static void heap_push(heap *h, size_t capacity, hit candidate)
{
    if (h->size < capacity) {
        size_t i = h->size++;
        h->hits[i] = candidate;
        while (i > 0 && ranks_before(h->hits[(i - 1) / 2], h->hits[i])) {
            hit t = h->hits[i];
            h->hits[i] = h->hits[(i - 1) / 2];
            h->hits[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (ranks_before(candidate, h->hits[0])) {
        h->hits[0] = candidate;
        heap_sift_down(h->hits, h->size, 0);
    }
}

/* Whether any of 16 scores beats its threshold: a fixed count the compiler vectorizes, since
 * almost every row of a large index is rejected here. */
static int any_above(const float *scores, const float *worst)
{
    int any = 0;
    for (int i = 0; i < BMCI_QUERY_GROUP; i++)
        any |= scores[i] > worst[i];
    return any;
}

/* Offer a tile of scores (rows first..first+n-1 in position order, scores[r * stride + q])
 * to the heaps of its nq queries. Every query of a job sees the same rows in the same order,
 * so its heaps fill up together. The stride is a multiple of BMCI_QUERY_GROUP, and the tile
 * and `worst` have room for nq rounded up to it (the lanes past nq are never above +inf). */
static void heap_offer_tile(heap *heaps, size_t nq, size_t capacity, const float *scores,
                            size_t stride, size_t n, size_t first, float *worst)
{
    size_t r = 0;
    for (; r < n && heaps[0].size < capacity; r++) {
        for (size_t q = 0; q < nq; q++) {
            float s = scores[r * stride + q];
            heap_push(&heaps[q], capacity, (hit){isnan(s) ? -INFINITY : s, first + r});
        }
    }
    if (r == n)
        return;
    /* Full: a later row with a score equal to the worst kept one ranks after it, so only a
     * strictly higher score gets in. */
    for (size_t q = 0; q < nq; q++)
        worst[q] = heaps[q].hits[0].score;
    for (size_t q = nq; q % BMCI_QUERY_GROUP; q++)
        worst[q] = INFINITY;
    for (; r < n; r++) {
        const float *row = scores + r * stride;
        for (size_t g = 0; g < nq; g += BMCI_QUERY_GROUP) {
            if (!any_above(row + g, worst + g))
                continue;
            for (size_t q = g; q < g + BMCI_QUERY_GROUP && q < nq; q++) {
                if (row[q] > worst[q]) {
                    heap_push(&heaps[q], capacity, (hit){row[q], first + r});
                    worst[q] = heaps[q].hits[0].score;
                }
            }
        }
    }
}

/* One job: queries [q0, q1) against rows [r0, r1), into heaps[q - q0]. */
typedef struct job {
    const bmc_index *index;
    const bmci_queries *queries; /* all queries, packed for the kernels */
    size_t q0, q1, r0, r1;
    size_t capacity;      /* hits kept per query */
    heap *heaps;
    float *tile;          /* BLOCK_ROWS x block_queries scores, then block_queries thresholds */
    size_t block_queries;
    pthread_t thread;
    int started;          /* the job runs on `thread` (else on the calling thread) */
} job;

static void run_job(job *j)
{
    float *worst = j->tile + BLOCK_ROWS * j->block_queries;
    for (size_t q = j->q0; q < j->q1; q += j->block_queries) {
        size_t nq = j->q1 - q < j->block_queries ? j->q1 - q : j->block_queries;
        for (size_t r = j->r0; r < j->r1; r += BLOCK_ROWS) {
            size_t nr = j->r1 - r < BLOCK_ROWS ? j->r1 - r : BLOCK_ROWS;
            bmci_index_dot(j->index, r, nr, j->queries, q, nq, j->tile, j->block_queries);
            heap_offer_tile(&j->heaps[q - j->q0], nq, j->capacity, j->tile, j->block_queries,
                            nr, r, worst);
        }
    }
}

static void *job_thread(void *arg)
{
    run_job(arg);
    return NULL;
}

static int compare_hits(const void *a, const void *b)
{
    hit x = *(const hit *)a, y = *(const hit *)b;
    return ranks_before(x, y) ? -1 : ranks_before(y, x) ? 1 : 0;
}

static size_t online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

void bmc_index_search_options_init(bmc_index_search_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->threads = 0;
}

bmc_status bmci_index_check_search_args(const char *what, const void *handle,
                                        const char *handle_name, const float *queries,
                                        size_t query_count, int32_t k,
                                        const bmc_index_search_options *options,
                                        const int64_t *ids, size_t capacity)
{
    if (!handle || !queries || !ids)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL %s", what,
                         !handle ? handle_name : !queries ? "queries" : "ids");
    if (query_count == 0 || k < 1)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: %s", what,
                         query_count == 0 ? "no queries" : "k must be at least 1");
    if (options && (options->struct_size != sizeof *options || options->threads < 0))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: %s", what,
                         options->struct_size != sizeof *options
                             ? "options not initialised with bmc_index_search_options_init"
                             : "negative thread count");
    if (capacity / (size_t)k < query_count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "%s: the result buffers hold %zu entries, "
                         "%zu queries x k %d need more", what, capacity, query_count, k);
    return BMC_OK;
}

/* Split the work into `threads` jobs (fewer when there is little work). */
static size_t plan_jobs(const bmc_index *index, size_t query_count, size_t threads,
                        int *split_queries)
{
    if (threads == 0)
        threads = online_cpus();
    *split_queries = query_count >= threads * MIN_QUERIES_PER_THREAD;
    size_t by_work = *split_queries ? query_count / MIN_QUERIES_PER_THREAD
                                    : index->count / MIN_ROWS_PER_THREAD;
    if (threads > by_work)
        threads = by_work;
    return threads ? threads : 1;
}

/* Everything one search call allocates. */
typedef struct search {
    size_t job_count, heaps_per_job, keep;
    int split_queries;
    job *jobs;
    heap *heaps;   /* job_count x heaps_per_job */
    hit *hits;     /* keep per heap */
    float *tiles;  /* one score tile per job */
    bmci_queries queries;
} search;

static void search_free(search *s)
{
    free(s->jobs);
    free(s->heaps);
    free(s->hits);
    free(s->tiles);
    bmci_index_queries_free(&s->queries);
}

/* Normalise and pack the queries, plan the jobs and allocate their heaps and tiles. */
static bmc_status search_prepare(search *s, const bmc_index *index, const float *queries,
                                 size_t query_count, int32_t k, size_t threads)
{
    size_t dim = (size_t)index->dim;
    memset(s, 0, sizeof *s);
    s->keep = index->count < (size_t)k ? index->count : (size_t)k;
    s->job_count = plan_jobs(index, query_count, threads, &s->split_queries);
    if (s->split_queries) { /* whole groups of queries per job, as the kernels take them */
        size_t groups = (query_count + BMCI_QUERY_GROUP - 1) / BMCI_QUERY_GROUP;
        s->heaps_per_job = (groups + s->job_count - 1) / s->job_count * BMCI_QUERY_GROUP;
    } else {
        s->heaps_per_job = query_count;
    }
    size_t heap_count = s->job_count * s->heaps_per_job;
    /* whole groups of queries per block, as the kernels take them */
    size_t block_queries = QUERY_BLOCK_BYTES / (dim * sizeof(float));
    block_queries -= block_queries % BMCI_QUERY_GROUP;
    if (block_queries < BMCI_QUERY_GROUP)
        block_queries = BMCI_QUERY_GROUP;
    size_t tile_floats = block_queries * (BLOCK_ROWS + 1);
    float *unit = malloc(query_count * dim * sizeof *unit);
    s->jobs = calloc(s->job_count, sizeof *s->jobs);
    s->heaps = calloc(heap_count, sizeof *s->heaps);
    s->hits = malloc((heap_count * s->keep + 1) * sizeof *s->hits);
    s->tiles = calloc(s->job_count * tile_floats, sizeof *s->tiles); /* lanes past nq read as 0 */
    if (!unit || !s->jobs || !s->heaps || !s->hits || !s->tiles) {
        free(unit);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_index_search: out of memory");
    }
    bmc_status status = BMC_OK;
    for (size_t q = 0; q < query_count && status == BMC_OK; q++)
        status = bmci_index_unit(queries + q * dim, index->dim, unit + q * dim,
                                 "bmc_index_search: query", q);
    if (status == BMC_OK)
        status = bmci_index_pack_queries(index, unit, query_count, &s->queries);
    free(unit);
    if (status != BMC_OK)
        return status;
    for (size_t h = 0; h < heap_count; h++)
        s->heaps[h].hits = s->hits + h * s->keep;
    for (size_t t = 0; t < s->job_count; t++) {
        job *j = &s->jobs[t];
        *j = (job){.index = index, .queries = &s->queries, .q0 = 0, .q1 = query_count, .r0 = 0,
                   .r1 = index->count, .capacity = s->keep, .heaps = s->heaps + t * s->heaps_per_job,
                   .tile = s->tiles + t * tile_floats, .block_queries = block_queries};
        if (s->split_queries) {
            size_t first = t * s->heaps_per_job;
            j->q0 = first < query_count ? first : query_count;
            j->q1 = j->q0 + s->heaps_per_job < query_count ? j->q0 + s->heaps_per_job : query_count;
        } else {
            j->r0 = index->count * t / s->job_count;
            j->r1 = index->count * (t + 1) / s->job_count;
        }
    }
    return BMC_OK;
}

/* Run job 0 on the calling thread and the others on their own threads; a job whose thread
 * cannot start runs on the calling thread too, so the results never depend on it. */
static void search_run(search *s)
{
    for (size_t t = 1; t < s->job_count; t++)
        s->jobs[t].started = pthread_create(&s->jobs[t].thread, NULL, job_thread, &s->jobs[t]) == 0;
    run_job(&s->jobs[0]);
    for (size_t t = 1; t < s->job_count; t++) {
        if (s->jobs[t].started)
            pthread_join(s->jobs[t].thread, NULL);
        else
            run_job(&s->jobs[t]);
    }
}

/* Gather each query's hits (its one heap, or one per job when rows were split), rank them
 * and write the best k, padding with id -1 and score -INFINITY. */
static bmc_status search_collect(const search *s, const bmc_index *index, size_t query_count,
                                 int32_t k, int64_t *ids, float *scores)
{
    hit *merged = malloc((s->job_count * s->keep + 1) * sizeof *merged);
    if (!merged)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_index_search: out of memory");
    for (size_t q = 0; q < query_count; q++) {
        size_t n = 0;
        for (size_t t = 0; t < s->job_count; t++) {
            const heap *h = s->split_queries ? &s->heaps[q] : &s->heaps[t * s->heaps_per_job + q];
            memcpy(merged + n, h->hits, h->size * sizeof *merged);
            n += h->size;
            if (s->split_queries)
                break;
        }
        qsort(merged, n, sizeof *merged, compare_hits);
        for (size_t r = 0; r < (size_t)k; r++) {
            int have = r < n && r < s->keep;
            ids[q * (size_t)k + r] = have ? index->ids[merged[r].position] : -1;
            if (scores)
                scores[q * (size_t)k + r] = have ? merged[r].score : -INFINITY;
        }
    }
    free(merged);
    return BMC_OK;
}

bmc_status bmc_index_search(const bmc_index *index, const float *queries, size_t query_count,
                            int32_t k, const bmc_index_search_options *options, int64_t *ids,
                            float *scores, size_t capacity)
{
    bmc_status status = bmci_index_check_search_args("bmc_index_search", index, "index", queries,
                                                     query_count, k, options, ids, capacity);
    if (status != BMC_OK)
        return status;
    search s;
    status = search_prepare(&s, index, queries, query_count, k,
                            options ? (size_t)options->threads : 0);
    if (status == BMC_OK) {
        search_run(&s);
        status = search_collect(&s, index, query_count, k, ids, scores);
    }
    search_free(&s);
    return status;
}
