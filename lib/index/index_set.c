/* SPDX-License-Identifier: MIT */
/* Index sets: several mapped index files (shards) searched as one index holding their entries
 * in shard order. Each shard is searched by bmc_index_search() (large shards one after another
 * on every thread, small ones side by side, one thread each) and the per-shard top-k lists are
 * merged in shard order; since a score does not depend on where its row lies (kernels.c) nor
 * on the thread count (search.c), and both lists are ranked by (score, position), the merge
 * gives exactly the single index's answer. */
#include "index/index.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

#define MANIFEST_MAX_BYTES ((size_t)64 << 20)

struct bmc_index_set {
    size_t shard_count;
    bmc_index **shards;
    /* Each shard's smallest and largest id (min > max for an empty shard): lookups skip
     * shards whose range cannot hold the id, and disjoint ranges prove ids unique. */
    int64_t *min_id, *max_id;
    size_t count;
};

void bmc_index_set_free(bmc_index_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->shard_count; i++)
        bmc_index_free(set->shards[i]);
    free(set->shards);
    free(set->min_id);
    free(set->max_id);
    free(set);
}

static bmc_status set_new(size_t count, bmc_index_set **out)
{
    bmc_index_set *set = calloc(1, sizeof *set);
    if (set) {
        set->shards = calloc(count, sizeof *set->shards);
        set->min_id = malloc(count * sizeof *set->min_id);
        set->max_id = malloc(count * sizeof *set->max_id);
    }
    if (!set || !set->shards || !set->min_id || !set->max_id) {
        bmc_index_set_free(set);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index set: out of memory for %zu shards", count);
    }
    *out = set;
    return BMC_OK;
}

/* ---- opening ------------------------------------------------------------------------------ */

static int compare_by_min(const void *a, const void *b, void *context)
{
    const bmc_index_set *set = context;
    int64_t x = set->min_id[*(const size_t *)a], y = set->min_id[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

/* Does shard `a` hold an id of shard `b`? Looks up the smaller one's ids in the other. */
static int shared_id(const bmc_index_set *set, size_t a, size_t b, int64_t *id)
{
    const bmc_index *small = set->shards[a], *large = set->shards[b];
    if (small->count > large->count) {
        const bmc_index *t = small;
        small = large;
        large = t;
    }
    for (size_t i = 0; i < small->count; i++) {
        if (bmci_index_find(large, small->ids[i]) != SIZE_MAX) {
            *id = small->ids[i];
            return 1;
        }
    }
    return 0;
}

/* Ids must be unique across the set, as in one index. Shards sorted by their smallest id
 * whose ranges do not overlap are distinct without a lookup (the usual case: each shard its
 * own range); shards whose ranges do overlap are checked id by id. */
static bmc_status check_unique_ids(const bmc_index_set *set, const char *const *names)
{
    size_t n = set->shard_count;
    size_t *order = malloc(n * sizeof *order);
    if (!order)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index set: out of memory");
    size_t live = 0;
    for (size_t i = 0; i < n; i++)
        if (set->shards[i]->count)
            order[live++] = i;
    qsort_r(order, live, sizeof *order, compare_by_min, (void *)set);
    bmc_status status = BMC_OK;
    for (size_t i = 0; i < live && status == BMC_OK; i++) {
        for (size_t j = i + 1; j < live && status == BMC_OK; j++) {
            size_t a = order[i], b = order[j];
            if (set->min_id[b] > set->max_id[a])
                break; /* sorted by min: no later shard reaches into a's range either */
            int64_t id;
            if (shared_id(set, a, b, &id))
                status = bmci_fail(BMC_ERR_INVALID_ARGUMENT, "index set: id %lld is in both '%s' "
                                   "and '%s'; ids must be unique across the shards",
                                   (long long)id, names[a < b ? a : b], names[a < b ? b : a]);
        }
    }
    free(order);
    return status;
}

/* Shard `i` must be the file the manifest recorded (`manifest` names the manifest file). */
static bmc_status check_recorded(const bmc_index *shard, const bmci_manifest *m, size_t i,
                                 const char *manifest)
{
    const bmci_manifest_shard *s = &m->shards[i];
    const char *what = NULL;
    if ((uint32_t)shard->dim != m->dim || (uint32_t)shard->dtype != m->dtype)
        what = "dim or dtype";
    else if (shard->count != s->count)
        what = "entry count";
    else if (shard->map_size != s->bytes)
        what = "size";
    else if (bmci_index_header_crc(shard) != s->header_crc)
        what = "checksum";
    if (!what)
        return BMC_OK;
    /* the shards' lines follow the four lines of the header */
    return bmci_fail(BMC_ERR_CORRUPT_DATA, "index set manifest '%s': shard '%s' (line %zu) has "
                     "another %s than the manifest records (replaced or rewritten since the "
                     "manifest was written?)", manifest, s->path, i + 5, what);
}

/* Map each file (`files` are the paths to open, `names` how messages name them) and check
 * that they form a set, and, given a manifest (`m`, read from the file `manifest`), that each
 * shard is the file it records: checked as each shard is mapped, so that a replaced shard is
 * reported as such rather than by what it breaks. */
static bmc_status open_shards(const char *const *files, const char *const *names, size_t count,
                              uint32_t flags, const bmci_manifest *m, const char *manifest,
                              bmc_index_set **out)
{
    bmc_index_set *set = NULL;
    bmc_status status = set_new(count, &set);
    if (status != BMC_OK || !set)
        return status;
    for (size_t i = 0; i < count && status == BMC_OK; i++) {
        if (!files[i]) {
            status = bmci_fail(BMC_ERR_INVALID_ARGUMENT, "index set: NULL path of shard %zu", i);
            break;
        }
        status = bmc_index_map(files[i], flags, &set->shards[i]);
        if (status != BMC_OK)
            break;
        set->shard_count = i + 1;
        const bmc_index *shard = set->shards[i], *first = set->shards[0];
        if (m && (status = check_recorded(shard, m, i, manifest)) != BMC_OK)
            break;
        if (shard->dim != first->dim || shard->dtype != first->dtype) {
            status = bmci_fail(BMC_ERR_INVALID_ARGUMENT, "index set: '%s' holds %d-dimensional "
                               "vectors of dtype %d, but '%s' holds %d-dimensional ones of dtype "
                               "%d; the shards of a set must agree", names[i], (int)shard->dim,
                               (int)shard->dtype, names[0], (int)first->dim, (int)first->dtype);
            break;
        }
        set->min_id[i] = INT64_MAX;
        set->max_id[i] = -1;
        for (size_t e = 0; e < shard->count; e++) {
            if (shard->ids[e] < set->min_id[i])
                set->min_id[i] = shard->ids[e];
            if (shard->ids[e] > set->max_id[i])
                set->max_id[i] = shard->ids[e];
        }
        set->count += shard->count;
    }
    if (status == BMC_OK)
        status = check_unique_ids(set, names);
    if (status != BMC_OK) {
        bmc_index_set_free(set);
        return status;
    }
    *out = set;
    return BMC_OK;
}

bmc_status bmc_index_set_open(const char *const *paths, size_t count, uint32_t flags,
                              bmc_index_set **out)
{
    if (!paths || !out || count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_set_open: %s",
                         !paths ? "NULL paths" : !out ? "NULL out" : "no shards");
    return open_shards(paths, paths, count, flags, NULL, NULL, out);
}

/* `path` as seen from the manifest's folder: absolute paths stay, relative ones are joined to
 * the manifest's folder (the manifest names shards relative to itself). */
static char *resolve(const char *manifest, const char *path)
{
    const char *slash = strrchr(manifest, '/');
    size_t folder = path[0] == '/' || !slash ? 0 : (size_t)(slash - manifest) + 1;
    size_t length = strlen(path);
    char *joined = malloc(folder + length + 1);
    if (joined) {
        memcpy(joined, manifest, folder);
        memcpy(joined + folder, path, length + 1);
    }
    return joined;
}

/* The resolved paths of a manifest's shards (an array of shard_count strings). */
static bmc_status resolve_all(const char *manifest, const bmci_manifest *m, char ***out)
{
    char **files = calloc(m->shard_count, sizeof *files);
    int ok = files != NULL;
    for (size_t i = 0; ok && i < m->shard_count; i++)
        ok = (files[i] = resolve(manifest, m->shards[i].path)) != NULL;
    if (!ok) {
        for (size_t i = 0; files && i < m->shard_count; i++)
            free(files[i]);
        free(files);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index set: out of memory");
    }
    *out = files;
    return BMC_OK;
}

static void free_strings(char **strings, size_t count)
{
    for (size_t i = 0; strings && i < count; i++)
        free(strings[i]);
    free(strings);
}

static bmc_status read_manifest(const char *path, char **text, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return bmci_fail(BMC_ERR_IO, "index set manifest: cannot open '%s': %s", path,
                         strerror(errno));
    struct stat st;
    bmc_status status = BMC_OK;
    char *data = NULL;
    if (fstat(fileno(file), &st) != 0)
        status = bmci_fail(BMC_ERR_IO, "index set manifest: cannot stat '%s': %s", path,
                           strerror(errno));
    else if ((uint64_t)st.st_size > MANIFEST_MAX_BYTES)
        status = bmci_fail(BMC_ERR_LIMIT, "index set manifest '%s' has %lld bytes; the limit is "
                           "%zu", path, (long long)st.st_size, MANIFEST_MAX_BYTES);
    else if (!(data = malloc((size_t)st.st_size + 1)))
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index set manifest: out of memory");
    else if (fread(data, 1, (size_t)st.st_size, file) != (size_t)st.st_size)
        status = bmci_fail(BMC_ERR_IO, "index set manifest: cannot read '%s'", path);
    fclose(file);
    if (status != BMC_OK) {
        free(data);
        return status;
    }
    *text = data;
    *size = (size_t)st.st_size;
    return BMC_OK;
}

bmc_status bmc_index_set_open_manifest(const char *path, uint32_t flags, bmc_index_set **out)
{
    if (!path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_set_open_manifest: NULL %s",
                         !path ? "path" : "out");
    char *text = NULL;
    size_t size = 0;
    bmc_status status = read_manifest(path, &text, &size);
    if (status != BMC_OK)
        return status;
    bmci_manifest m;
    status = bmci_manifest_parse(path, text, size, &m);
    free(text);
    if (status != BMC_OK)
        return status;
    char **files = NULL, **names = NULL;
    status = resolve_all(path, &m, &files);
    if (status == BMC_OK) {
        names = malloc(m.shard_count * sizeof *names);
        if (!names)
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index set: out of memory");
        for (size_t i = 0; names && i < m.shard_count; i++)
            names[i] = m.shards[i].path;
    }
    bmc_index_set *set = NULL;
    if (status == BMC_OK)
        status = open_shards((const char *const *)files, (const char *const *)names, m.shard_count,
                             flags, &m, path, &set);
    free(names);
    free_strings(files, m.shard_count);
    bmci_manifest_free(&m);
    if (status == BMC_OK)
        *out = set;
    return status;
}

bmc_status bmc_index_set_write_manifest(const char *path, const char *const *shards, size_t count,
                                        uint32_t flags)
{
    static const char what[] = "bmc_index_set_write_manifest";
    if (!path || !shards || count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: %s", what,
                         !path ? "NULL path" : !shards ? "NULL shards" : "no shards");
    bmci_manifest m = {0, 0, count, calloc(count, sizeof *m.shards)};
    if (!m.shards)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    bmc_status status = BMC_OK;
    for (size_t i = 0; i < count && status == BMC_OK; i++) {
        /* The manifest is line-based: a path must fit on its line. */
        if (!shards[i] || !shards[i][0] || strpbrk(shards[i], "\r\n"))
            status = bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: shard %zu has %s", what, i,
                               !shards[i] ? "a NULL path" : !shards[i][0] ? "an empty path"
                                                                         : "a line break in its path");
        else if (!(m.shards[i].path = strdup(shards[i])))
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    }
    char **files = NULL;
    bmc_index_set *set = NULL;
    if (status == BMC_OK)
        status = resolve_all(path, &m, &files);
    if (status == BMC_OK)
        status = open_shards((const char *const *)files, shards, count, flags, NULL, NULL, &set);
    if (status == BMC_OK) {
        m.dim = (uint32_t)set->shards[0]->dim;
        m.dtype = (uint32_t)set->shards[0]->dtype;
        for (size_t i = 0; i < count; i++) {
            m.shards[i].count = set->shards[i]->count;
            m.shards[i].bytes = set->shards[i]->map_size;
            m.shards[i].header_crc = bmci_index_header_crc(set->shards[i]);
        }
        status = bmci_manifest_write(path, &m);
    }
    bmc_index_set_free(set);
    free_strings(files, count);
    bmci_manifest_free(&m);
    return status;
}

/* ---- reading ------------------------------------------------------------------------------ */

size_t bmc_index_set_shard_count(const bmc_index_set *set)
{
    return set ? set->shard_count : 0;
}

int32_t bmc_index_set_dim(const bmc_index_set *set)
{
    return set ? set->shards[0]->dim : 0;
}

int32_t bmc_index_set_dtype(const bmc_index_set *set)
{
    return set ? set->shards[0]->dtype : 0;
}

size_t bmc_index_set_count(const bmc_index_set *set)
{
    return set ? set->count : 0;
}

const bmc_index *bmc_index_set_shard(const bmc_index_set *set, size_t shard)
{
    return set && shard < set->shard_count ? set->shards[shard] : NULL;
}

bmc_status bmc_index_set_find(const bmc_index_set *set, int64_t id, size_t *shard)
{
    if (!set || !shard)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_set_find: NULL %s",
                         !set ? "set" : "shard");
    for (size_t i = 0; i < set->shard_count; i++) {
        if (id >= set->min_id[i] && id <= set->max_id[i] &&
            bmci_index_find(set->shards[i], id) != SIZE_MAX) {
            *shard = i;
            return BMC_OK;
        }
    }
    return bmci_fail(BMC_ERR_NOT_FOUND, "bmc_index_set_find: no shard has an entry with id %lld",
                     (long long)id);
}

/* ---- search ------------------------------------------------------------------------------- */

/* Merge shard hits (b, nb of them) into the results of the shards before it (a, na), k per
 * query, into out. Both lists rank by score, then position; every entry of a precedes every
 * entry of b in the joined order, so on equal scores a's hit goes first. */
static void merge_hits(const int64_t *a_ids, const float *a_scores, size_t na,
                       const int64_t *b_ids, const float *b_scores, size_t nb, size_t k,
                       int64_t *ids, float *scores)
{
    size_t i = 0, j = 0;
    for (size_t r = 0; r < k; r++) {
        if (i < na && (j >= nb || a_scores[i] >= b_scores[j])) {
            ids[r] = a_ids[i];
            scores[r] = a_scores[i++];
        } else if (j < nb) {
            ids[r] = b_ids[j];
            scores[r] = b_scores[j++];
        } else {
            ids[r] = -1;
            scores[r] = -INFINITY;
        }
    }
}

/* The hits before the first empty slot (id -1). */
static size_t valid_hits(const int64_t *ids, size_t k)
{
    size_t n = 0;
    while (n < k && ids[n] >= 0)
        n++;
    return n;
}

/* One shard's search on its own thread, for sets of shards too small to keep every thread
 * busy on their own: the caller's thread-local last error is not this thread's, so the
 * message is carried back. */
typedef struct shard_job {
    const bmc_index *shard;
    const float *queries;
    size_t query_count;
    int32_t k;
    int64_t *ids;
    float *scores;
    bmc_status status;
    char message[512];
    pthread_t thread;
    int started;
} shard_job;

static void run_shard_job(shard_job *j)
{
    bmc_index_search_options one;
    bmc_index_search_options_init(&one);
    one.threads = 1;
    j->status = bmc_index_search(j->shard, j->queries, j->query_count, j->k, &one, j->ids,
                                 j->scores, j->query_count * (size_t)j->k);
    if (j->status != BMC_OK)
        snprintf(j->message, sizeof j->message, "%s", bmc_last_error());
}

static void *shard_job_thread(void *arg)
{
    run_shard_job(arg);
    return NULL;
}

/* Below this many entries per shard and thread, shards are searched side by side, each on one
 * thread, rather than one after another on every thread (search.c gives a thread at least
 * 8192 rows, so a small shard would leave threads idle). */
#define MIN_ROWS_PER_THREAD 8192
/* The most memory the results of shards searched side by side may take. */
#define WAVE_RESULT_BYTES ((size_t)64 << 20)

static size_t search_threads(const bmc_index_search_options *options)
{
    if (options && options->threads > 0)
        return (size_t)options->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

bmc_status bmc_index_set_search(const bmc_index_set *set, const float *queries,
                                size_t query_count, int32_t k,
                                const bmc_index_search_options *options, int64_t *ids,
                                float *scores, size_t capacity)
{
    static const char what[] = "bmc_index_set_search";
    bmc_status status = bmci_index_check_search_args(what, set, "set", queries, query_count, k,
                                                     options, ids, capacity);
    if (status != BMC_OK)
        return status;
    size_t total = query_count * (size_t)k;
    size_t threads = search_threads(options);
    /* Shards searched at once: one per thread when they are small, else one at a time. */
    size_t wave = threads > 1 && set->count / set->shard_count < MIN_ROWS_PER_THREAD * threads
                      ? (threads < set->shard_count ? threads : set->shard_count) : 1;
    /* ... and no more side by side than their results fit in WAVE_RESULT_BYTES. */
    size_t fit = WAVE_RESULT_BYTES / (total * (sizeof(int64_t) + sizeof(float)));
    if (wave > fit)
        wave = fit > 1 ? fit : 1;
    if (total > SIZE_MAX / sizeof(int64_t) / (wave + 2))
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: %zu x %d results are too many", what,
                         query_count, (int)k);
    /* Results so far (merged over the shards before), each shard's of the wave, the next merge. */
    int64_t *have_ids = malloc(total * sizeof *have_ids);
    float *have_scores = malloc(total * sizeof *have_scores);
    int64_t *next_ids = malloc(total * sizeof *next_ids);
    float *next_scores = malloc(total * sizeof *next_scores);
    int64_t *wave_ids = malloc(wave * total * sizeof *wave_ids);
    float *wave_scores = malloc(wave * total * sizeof *wave_scores);
    shard_job *jobs = calloc(wave, sizeof *jobs);
    if (!have_ids || !have_scores || !next_ids || !next_scores || !wave_ids || !wave_scores || !jobs)
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu x %d results", what,
                           query_count, (int)k);
    for (size_t first = 0; first < set->shard_count && status == BMC_OK; first += wave) {
        size_t n = set->shard_count - first < wave ? set->shard_count - first : wave;
        if (wave == 1) {
            status = bmc_index_search(set->shards[first], queries, query_count, k, options,
                                      wave_ids, wave_scores, total);
        } else {
            for (size_t j = 0; j < n; j++) {
                jobs[j] = (shard_job){set->shards[first + j], queries, query_count, k,
                                      wave_ids + j * total, wave_scores + j * total, BMC_OK, "",
                                      0, 0};
                if (j > 0)
                    jobs[j].started = pthread_create(&jobs[j].thread, NULL, shard_job_thread,
                                                     &jobs[j]) == 0;
            }
            run_shard_job(&jobs[0]);
            for (size_t j = 1; j < n; j++) {
                if (jobs[j].started)
                    pthread_join(jobs[j].thread, NULL);
                else
                    run_shard_job(&jobs[j]);
            }
            for (size_t j = 0; j < n && status == BMC_OK; j++)
                if (jobs[j].status != BMC_OK)
                    status = bmci_fail_text(jobs[j].status, jobs[j].message);
        }
        /* Merge the wave's shards in shard order: the order of one index holding them all. */
        for (size_t j = 0; j < n && status == BMC_OK; j++) {
            const int64_t *s_ids = wave_ids + j * total;
            const float *s_scores = wave_scores + j * total;
            if (first + j == 0) {
                memcpy(have_ids, s_ids, total * sizeof *have_ids);
                memcpy(have_scores, s_scores, total * sizeof *have_scores);
                continue;
            }
            for (size_t q = 0; q < query_count; q++) {
                size_t at = q * (size_t)k;
                merge_hits(have_ids + at, have_scores + at, valid_hits(have_ids + at, (size_t)k),
                           s_ids + at, s_scores + at, valid_hits(s_ids + at, (size_t)k),
                           (size_t)k, next_ids + at, next_scores + at);
            }
            int64_t *ti = have_ids;
            have_ids = next_ids;
            next_ids = ti;
            float *ts = have_scores;
            have_scores = next_scores;
            next_scores = ts;
        }
    }
    if (status == BMC_OK) {
        memcpy(ids, have_ids, total * sizeof *ids);
        if (scores)
            memcpy(scores, have_scores, total * sizeof *scores);
    }
    free(have_ids);
    free(have_scores);
    free(next_ids);
    free(next_scores);
    free(wave_ids);
    free(wave_scores);
    free(jobs);
    return status;
}
