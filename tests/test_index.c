/* SPDX-License-Identifier: MIT */
/* The embedding index: search against numpy brute force (tools/fixtures/make_index_fixtures.py)
 * on every kernel path the CPU has (portable, AVX2, AVX-512, AVX512_BF16), every score of the
 * kernels at dims around the vector widths, float16 and bfloat16 storage against numpy and
 * PyTorch, CRC-32 against zlib, identical results for any thread count and tile, remove and
 * append, files (round trip, files written by Python from the documented format, memory
 * mapping, corrupt and truncated files) and bad arguments. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "biomedclip.h"
#include "harness.h"
#include "core/crc32.h"
#include "core/fp16.h"
#include "index/index.h"

/* ---- fixtures ----------------------------------------------------------------------------- */

static char *fixture_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/index/%s", harness_fixtures(), name);
    return path;
}

static void *read_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(n > 0 ? (size_t)n : 1);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (size)
        *size = (size_t)n;
    return data;
}

static int write_bytes(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

typedef struct fixture {
    size_t rows, dim, queries, k, file_rows;
    float *vectors, *query, *unit_f32;
    uint16_t *unit_f16, *unit_bf16;
    int64_t *ids;
    int64_t *top_ids[3]; /* [0] float32 index, [1] float16, [2] bfloat16 */
    double *top_scores[3];
} fixture;

static fixture fx;

static int load_fixture(void)
{
    FILE *meta = fopen(fixture_path("meta.txt"), "r");
    if (!meta)
        return 0;
    int ok = fscanf(meta, "%zu %zu %zu %zu %zu", &fx.rows, &fx.dim, &fx.queries, &fx.k,
                    &fx.file_rows) == 5;
    fclose(meta);
    if (!ok)
        return 0;
    fx.vectors = read_bytes(fixture_path("vectors.f32"), NULL);
    fx.ids = read_bytes(fixture_path("ids.i64"), NULL);
    fx.query = read_bytes(fixture_path("queries.f32"), NULL);
    fx.unit_f32 = read_bytes(fixture_path("unit_f32.f32"), NULL);
    fx.unit_f16 = read_bytes(fixture_path("unit_f16.u16"), NULL);
    fx.top_ids[0] = read_bytes(fixture_path("top_f32.i64"), NULL);
    fx.top_scores[0] = read_bytes(fixture_path("top_f32.f64"), NULL);
    fx.top_ids[1] = read_bytes(fixture_path("top_f16.i64"), NULL);
    fx.top_scores[1] = read_bytes(fixture_path("top_f16.f64"), NULL);
    fx.unit_bf16 = read_bytes(fixture_path("unit_bf16.u16"), NULL);
    fx.top_ids[2] = read_bytes(fixture_path("top_bf16.i64"), NULL);
    fx.top_scores[2] = read_bytes(fixture_path("top_bf16.f64"), NULL);
    return fx.vectors && fx.ids && fx.query && fx.unit_f32 && fx.unit_f16 && fx.top_ids[0] &&
           fx.top_scores[0] && fx.top_ids[1] && fx.top_scores[1] && fx.unit_bf16 &&
           fx.top_ids[2] && fx.top_scores[2];
}

static char text_storage[64];
static const char *entry_text(size_t i)
{
    static const char *const words[] = {"pleural effusion", "", "cardiomégalie", "肺炎"};
    snprintf(text_storage, sizeof text_storage, "%s #%zu", words[i % 4], i);
    return text_storage;
}

/* An index of fixture rows [first, first + count), each with the text entry_text(row). */
static bmc_index *fixture_index(int32_t dtype, size_t first, size_t count)
{
    bmc_index *index = NULL;
    CHECK_STATUS(bmc_index_create((int32_t)fx.dim, dtype, &index), BMC_OK);
    char **texts = malloc(count * sizeof *texts);
    for (size_t i = 0; i < count; i++)
        texts[i] = strdup(entry_text(first + i));
    CHECK_STATUS(bmc_index_add(index, fx.vectors + first * fx.dim, count, fx.ids + first,
                               (const char *const *)texts), BMC_OK);
    for (size_t i = 0; i < count; i++)
        free(texts[i]);
    free(texts);
    return index;
}

/* Search all fixture queries with `threads`; the caller frees both arrays. */
static void search_all(const bmc_index *index, size_t k, int32_t threads, int64_t **ids,
                       float **scores)
{
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    options.threads = threads;
    *ids = malloc(fx.queries * k * sizeof **ids);
    *scores = malloc(fx.queries * k * sizeof **scores);
    CHECK_STATUS(bmc_index_search(index, fx.query, fx.queries, (int32_t)k, &options, *ids, *scores,
                                  fx.queries * k), BMC_OK);
}

static int same_results(const int64_t *a_ids, const float *a_scores, const int64_t *b_ids,
                        const float *b_scores, size_t n)
{
    return memcmp(a_ids, b_ids, n * sizeof *a_ids) == 0 &&
           memcmp(a_scores, b_scores, n * sizeof *a_scores) == 0;
}

/* ---- CRC-32 and float16 against zlib and numpy ------------------------------------------- */

static void test_crc32(void)
{
    CHECK(bmci_crc32(0, "123456789", 9) == 0xCBF43926u, "check value %08x", bmci_crc32(0, "123456789", 9));
    size_t size;
    unsigned char *data = read_bytes(fixture_path("crc_data.bin"), &size);
    FILE *f = fopen(fixture_path("crc.txt"), "r");
    CHECK(data && f, "crc fixtures");
    if (!data || !f)
        return;
    size_t n;
    unsigned long expected;
    int lines = 0;
    while (fscanf(f, "%zu %lu", &n, &expected) == 2) {
        CHECK(bmci_crc32(0, data, n) == expected, "zlib.crc32 of %zu bytes: %lu, ours %u", n,
              expected, bmci_crc32(0, data, n));
        /* continuing a CRC over two pieces gives the CRC of the whole */
        CHECK(bmci_crc32(bmci_crc32(0, data, n / 3), data + n / 3, n - n / 3) == expected,
              "continued crc of %zu bytes", n);
        lines++;
    }
    CHECK(lines == 7, "%d crc lines", lines);
    fclose(f);
    free(data);
}

static void test_float16(void)
{
    size_t in_size, out_size;
    float *in = read_bytes(fixture_path("half_in.f32"), &in_size);
    uint16_t *out = read_bytes(fixture_path("half_out.u16"), &out_size);
    CHECK(in && out && in_size / 4 == out_size / 2, "half fixtures");
    if (!in || !out)
        return;
    size_t wrong = 0, n = in_size / 4;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = bmci_f32_to_f16(in[i]);
        if (h != out[i] && wrong++ < 5)
            fprintf(stderr, "  %a: numpy 0x%04x, ours 0x%04x\n", in[i], out[i], h);
    }
    CHECK(wrong == 0, "%zu of %zu float16 conversions differ from numpy", wrong, n);
    /* widening is exact: every half pattern survives a round trip (NaN stays NaN) */
    size_t broken = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = bmci_f16_to_f32((uint16_t)h);
        int nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
        if (nan ? !isnan(f) : bmci_f32_to_f16(f) != h)
            broken++;
    }
    CHECK(broken == 0, "%zu half patterns do not round-trip", broken);
    CHECK(bmci_f16_to_f32(0x3C00) == 1.0f && bmci_f16_to_f32(0x0001) == 0x1p-24f &&
              bmci_f16_to_f32(0xFBFF) == -65504.0f, "known halves");
    free(in);
    free(out);
}

/* ---- search parity --------------------------------------------------------------------------- */

/* Ranks must hold the reference's ids, except where the reference itself has near-equal
 * scores (then the order of those entries is a matter of rounding). */
static void compare_with_reference(const int64_t *ids, const float *scores, int which,
                                   const char *label)
{
    size_t mismatched = 0, ties = 0;
    double worst = 0.0;
    for (size_t q = 0; q < fx.queries; q++) {
        for (size_t r = 0; r < fx.k; r++) {
            size_t i = q * fx.k + r;
            double reference = fx.top_scores[which][i];
            double error = fabs(scores[i] - reference);
            if (error > worst)
                worst = error;
            if (ids[i] == fx.top_ids[which][i])
                continue;
            int near_tie = (r > 0 && fabs(reference - fx.top_scores[which][i - 1]) < 1e-6) ||
                           (r + 1 < fx.k && fabs(reference - fx.top_scores[which][i + 1]) < 1e-6);
            if (near_tie)
                ties++;
            else
                mismatched++;
        }
    }
    CHECK(mismatched == 0, "%s: %zu ranks differ from numpy (%zu near ties)", label, mismatched, ties);
    CHECK(worst < 2e-6, "%s: max |score - numpy| = %g", label, worst);
    printf("  %s: max |score - numpy float64| = %.3g, near-tie swaps %zu\n", label, worst, ties);
}

/* ---- kernel paths ---------------------------------------------------------------------------- */

static const int32_t dtypes[3] = {BMC_DTYPE_F32, BMC_DTYPE_F16, BMC_DTYPE_BF16};
static const char *const dtype_names[3] = {"float32", "float16", "bfloat16"};
static const int paths[3] = {BMCI_KERNELS_PORTABLE, BMCI_KERNELS_AVX2, BMCI_KERNELS_AVX512};
static const char *const path_names[4] = {"auto", "portable", "AVX2", "AVX-512"};

/* Force `path`; 0 (and a line saying so, once per path) if this CPU cannot run it. */
static int force_path(int path, int *previous)
{
    static int said[4];
    *previous = bmci_index_force_kernels(path);
    if (*previous >= 0)
        return 1;
    if (!said[path]++)
        printf("  SKIPPED: the %s kernels (this CPU lacks them)\n", path_names[path]);
    return 0;
}

/* The path a search of `dtype` takes, for the labels ("AVX-512" for bfloat16 is vdpbf16ps;
 * without AVX512_BF16 a forced AVX-512 path scores bfloat16 with AVX2, and the label says so). */
static const char *path_label(int32_t dtype)
{
    int path = bmci_index_kernel_path(dtype);
    return path == BMCI_KERNELS_AVX512 && dtype == BMC_DTYPE_BF16 ? "AVX512_BF16" : path_names[path];
}

static void check_fixture_search(int which, int path)
{
    int32_t dtype = dtypes[which];
    int previous;
    if (!force_path(path, &previous))
        return;
    bmc_index *index = fixture_index(dtype, 0, fx.rows);
    char label[96];
    snprintf(label, sizeof label, "%s, %s kernels", dtype_names[which], path_label(dtype));
    if (dtype == BMC_DTYPE_BF16 && path == BMCI_KERNELS_AVX512 &&
        bmci_index_kernel_path(dtype) != BMCI_KERNELS_AVX512)
        printf("  SKIPPED: bfloat16 with vdpbf16ps (this CPU lacks AVX512_BF16; %s ran)\n", label);
    int64_t *ids;
    float *scores;
    search_all(index, fx.k, 1, &ids, &scores);
    compare_with_reference(ids, scores, which, label);
    /* every query alone (other tiles of the kernels) gives the same bits */
    size_t differ = 0;
    for (size_t q = 0; q < fx.queries; q++) {
        int64_t one_ids[64];
        float one_scores[64];
        CHECK_STATUS(bmc_index_search(index, fx.query + q * fx.dim, 1, (int32_t)fx.k, NULL, one_ids,
                                      one_scores, 64), BMC_OK);
        if (!same_results(one_ids, one_scores, ids + q * fx.k, scores + q * fx.k, fx.k))
            differ++;
    }
    CHECK(differ == 0, "%s: %zu queries differ when searched alone", label, differ);
    free(ids);
    free(scores);
    bmc_index_free(index);
    bmci_index_force_kernels(previous);
}

static void test_search_matches_numpy(void)
{
    for (int p = 0; p < 3; p++)
        for (int which = 0; which < 3; which++)
            check_fixture_search(which, paths[p]);
}

/* Every score of the kernels against numpy, for small cases at dims around the vector
 * widths, with partial tiles of rows and queries; and the same bits whatever block of rows
 * or group of queries a score is computed in. */
static void check_kernel_case(size_t dim, size_t rows, size_t nq, int which, int path)
{
    char name[64];
    snprintf(name, sizeof name, "kernel_%zu_vectors.f32", dim);
    float *vectors = read_bytes(fixture_path(name), NULL);
    snprintf(name, sizeof name, "kernel_%zu_queries.f32", dim);
    float *queries = read_bytes(fixture_path(name), NULL);
    snprintf(name, sizeof name, "kernel_%zu_scores_%s.f64", dim, which == 0 ? "f32" : which == 1 ? "f16" : "bf16");
    double *expected = read_bytes(fixture_path(name), NULL);
    CHECK(vectors && queries && expected, "kernel fixtures for dim %zu", dim);
    if (!vectors || !queries || !expected)
        goto done;
    bmc_index *index = NULL;
    CHECK_STATUS(bmc_index_create((int32_t)dim, dtypes[which], &index), BMC_OK);
    int64_t *ids = malloc(rows * sizeof *ids);
    for (size_t i = 0; i < rows; i++)
        ids[i] = (int64_t)i;
    CHECK_STATUS(bmc_index_add(index, vectors, rows, ids, NULL), BMC_OK);
    free(ids);
    float *unit = malloc(nq * dim * sizeof *unit);
    for (size_t q = 0; q < nq; q++)
        bmci_index_unit(queries + q * dim, (int32_t)dim, unit + q * dim, "query", q);
    bmci_queries packed;
    CHECK_STATUS(bmci_index_pack_queries(index, unit, nq, &packed), BMC_OK);
    CHECK(packed.path == bmci_index_kernel_path(dtypes[which]), "packed for the path");
    float *all = malloc(rows * nq * sizeof *all), *part = malloc(rows * nq * sizeof *part);
    bmci_index_dot(index, 0, rows, &packed, 0, nq, all, nq);
    double worst = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (size_t q = 0; q < nq; q++)
            worst = fmax(worst, fabs(all[r * nq + q] - expected[r * nq + q]));
    /* rows one at a time and in blocks of 7, queries from the second group on */
    size_t differ = 0;
    for (size_t r = 0; r < rows; r++) {
        bmci_index_dot(index, r, 1, &packed, 0, nq, part, nq);
        differ += memcmp(part, all + r * nq, nq * sizeof *part) != 0;
    }
    for (size_t r = 0; r < rows; r += 7) {
        size_t n = rows - r < 7 ? rows - r : 7, q0 = BMCI_QUERY_GROUP;
        bmci_index_dot(index, r, n, &packed, q0, nq - q0, part, nq - q0);
        for (size_t i = 0; i < n; i++)
            differ += memcmp(part + i * (nq - q0), all + (r + i) * nq + q0, (nq - q0) * sizeof *part) != 0;
    }
    char label[96];
    snprintf(label, sizeof label, "dim %zu, %s, %s kernels", dim, dtype_names[which], path_label(dtypes[which]));
    CHECK(worst < 2e-6, "%s: max |score - numpy| = %g", label, worst);
    CHECK(differ == 0, "%s: %zu blocks differ from the whole", label, differ);
    free(all);
    free(part);
    free(unit);
    bmci_index_queries_free(&packed);
    bmc_index_free(index);
done:
    free(vectors);
    free(queries);
    free(expected);
}

static void test_kernels_match_numpy(void)
{
    FILE *f = fopen(fixture_path("kernel_dims.txt"), "r");
    size_t rows = 0, nq = 0, dims[32], dim_count = 0;
    CHECK(f && fscanf(f, "%zu %zu", &rows, &nq) == 2, "kernel_dims.txt");
    while (f && dim_count < 32 && fscanf(f, "%zu", &dims[dim_count]) == 1)
        dim_count++;
    if (f)
        fclose(f);
    CHECK(dim_count > 0 && nq > BMCI_QUERY_GROUP, "kernel dims");
    for (int p = 0; p < 3; p++) {
        int previous;
        if (!force_path(paths[p], &previous))
            continue;
        for (int which = 0; which < 3; which++)
            for (size_t d = 0; d < dim_count; d++)
                check_kernel_case(dims[d], rows, nq, which, paths[p]);
        printf("  %s kernels: every score of %zu rows x %zu queries at %zu dims within 2e-6 of numpy\n",
               path_names[paths[p]], rows, nq, dim_count);
        bmci_index_force_kernels(previous);
    }
}

/* One row, and no rows, on every path and dtype: k larger than the index. */
static void test_one_row_and_empty_on_every_path(void)
{
    const float v[5] = {1, 2, 3, 4, 5}, q[10] = {5, 4, 3, 2, 1, 0, 0, 0, 0, -1};
    const int64_t id = 42;
    for (int p = 0; p < 3; p++) {
        int previous;
        if (!force_path(paths[p], &previous))
            continue;
        for (int which = 0; which < 3; which++) {
            bmc_index *index = NULL;
            CHECK_STATUS(bmc_index_create(5, dtypes[which], &index), BMC_OK);
            int64_t ids[6];
            float scores[6];
            CHECK_STATUS(bmc_index_search(index, q, 2, 3, NULL, ids, scores, 6), BMC_OK);
            CHECK(ids[0] == -1 && ids[5] == -1 && scores[2] == -INFINITY, "%s %s: empty",
                  path_names[paths[p]], dtype_names[which]);
            CHECK_STATUS(bmc_index_add(index, v, 1, &id, NULL), BMC_OK);
            CHECK_STATUS(bmc_index_search(index, q, 2, 3, NULL, ids, scores, 6), BMC_OK);
            /* cosines 35/55 and -5/sqrt(55), to the rounding of the dtype */
            const float tolerance[3] = {1e-6f, 1e-3f, 1e-2f};
            CHECK(ids[0] == 42 && ids[1] == -1 && ids[3] == 42 && ids[4] == -1 &&
                      fabsf(scores[0] - 35.0f / 55.0f) < tolerance[which] &&
                      fabsf(scores[3] + 5.0f / sqrtf(55.0f)) < tolerance[which] &&
                      scores[1] == -INFINITY,
                  "%s %s: one row: %lld %g, %lld %g", path_names[paths[p]], dtype_names[which],
                  (long long)ids[0], scores[0], (long long)ids[3], scores[3]);
            bmc_index_free(index);
        }
        bmci_index_force_kernels(previous);
    }
}

static void test_stored_vectors(void)
{
    bmc_index *f32 = fixture_index(BMC_DTYPE_F32, 0, fx.rows);
    bmc_index *f16 = fixture_index(BMC_DTYPE_F16, 0, fx.rows);
    bmc_index *bf16 = fixture_index(BMC_DTYPE_BF16, 0, fx.rows);
    float *row = malloc(fx.dim * sizeof *row);
    size_t far = 0, wrong_half = 0, wrong_bf16 = 0;
    for (size_t i = 0; i < fx.rows; i++) {
        CHECK_STATUS(bmc_index_get_vector(f32, fx.ids[i], row, fx.dim), BMC_OK);
        for (size_t d = 0; d < fx.dim; d++) {
            float expected = fx.unit_f32[i * fx.dim + d];
            if (row[d] != expected && nextafterf(row[d], expected) != expected)
                far++;
        }
        CHECK_STATUS(bmc_index_get_vector(f16, fx.ids[i], row, fx.dim), BMC_OK);
        for (size_t d = 0; d < fx.dim; d++)
            if (bmci_f32_to_f16(row[d]) != fx.unit_f16[i * fx.dim + d])
                wrong_half++;
        /* PyTorch's rounding of the same float32 values, read back exactly */
        CHECK_STATUS(bmc_index_get_vector(bf16, fx.ids[i], row, fx.dim), BMC_OK);
        for (size_t d = 0; d < fx.dim; d++)
            if (row[d] != bmci_bf16_to_f32(fx.unit_bf16[i * fx.dim + d]))
                wrong_bf16++;
    }
    CHECK(far == 0, "%zu normalised values more than 1 ulp from numpy", far);
    CHECK(wrong_half == 0, "%zu float16 values differ from numpy", wrong_half);
    CHECK(wrong_bf16 == 0, "%zu bfloat16 values differ from PyTorch", wrong_bf16);
    CHECK(bmc_index_dtype(bf16) == BMC_DTYPE_BF16, "bfloat16 dtype");
    CHECK(bmc_index_count(f32) == fx.rows && bmc_index_dim(f32) == (int32_t)fx.dim &&
              bmc_index_dtype(f16) == BMC_DTYPE_F16, "count, dim, dtype");
    free(row);
    bmc_index_free(f32);
    bmc_index_free(f16);
    bmc_index_free(bf16);
}

/* ---- determinism: threads, ties --------------------------------------------------------- */

static float lcg_float(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1u << 24) - 0.5f;
}

/* A larger index than the fixture (so that several threads engage), with a dimension that
 * is not a multiple of 8 and every 97th vector a copy of vector 0 (exact ties). */
static bmc_index *random_index(size_t rows, int32_t dim, int32_t dtype)
{
    bmc_index *index = NULL;
    CHECK_STATUS(bmc_index_create(dim, dtype, &index), BMC_OK);
    float *v = malloc(rows * (size_t)dim * sizeof *v);
    int64_t *ids = malloc(rows * sizeof *ids);
    uint32_t state = 12345;
    for (size_t i = 0; i < rows; i++) {
        for (int32_t d = 0; d < dim; d++)
            v[i * (size_t)dim + (size_t)d] = i > 0 && i % 97 == 0 ? v[d] : lcg_float(&state);
        ids[i] = (int64_t)(rows - i) * 3; /* descending ids: ties must follow position, not id */
    }
    CHECK_STATUS(bmc_index_add(index, v, rows, ids, NULL), BMC_OK);
    free(v);
    free(ids);
    return index;
}

static void check_threads_identical(size_t query_count, int32_t dtype)
{
    const int32_t dim = 37;
    const size_t rows = 70000, k = 12;
    bmc_index *index = random_index(rows, dim, dtype);
    float *queries = malloc(query_count * dim * sizeof *queries);
    uint32_t state = 777;
    for (size_t i = 0; i < query_count * dim; i++)
        queries[i] = lcg_float(&state);
    bmc_index_get_vector(index, (int64_t)rows * 3, queries, dim); /* query 0 = the tied vector */
    int64_t *base_ids = malloc(query_count * k * sizeof *base_ids), *ids = malloc(query_count * k * sizeof *ids);
    float *base_scores = malloc(query_count * k * sizeof *base_scores), *scores = malloc(query_count * k * sizeof *scores);
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    options.threads = 1;
    CHECK_STATUS(bmc_index_search(index, queries, query_count, (int32_t)k, &options, base_ids,
                                  base_scores, query_count * k), BMC_OK);
    /* query 0 matches entries 0, 97, 194, ... exactly: they rank by position */
    for (size_t r = 0; r < k; r++)
        CHECK(base_ids[r] == (int64_t)(rows - r * 97) * 3, "tie rank %zu: id %lld", r, (long long)base_ids[r]);
    const int32_t thread_counts[] = {2, 3, 4, 8, 0};
    for (size_t t = 0; t < sizeof thread_counts / sizeof *thread_counts; t++) {
        options.threads = thread_counts[t];
        CHECK_STATUS(bmc_index_search(index, queries, query_count, (int32_t)k, &options, ids, scores,
                                      query_count * k), BMC_OK);
        CHECK(same_results(base_ids, base_scores, ids, scores, query_count * k),
              "%zu queries: %d threads differ from 1", query_count, thread_counts[t]);
    }
    free(queries);
    free(base_ids);
    free(ids);
    free(base_scores);
    free(scores);
    bmc_index_free(index);
}

static void test_threads_give_identical_results(void)
{
    for (int which = 0; which < 3; which += 2) { /* float32 and bfloat16 */
        check_threads_identical(3, dtypes[which]);   /* rows split between threads, heaps merged */
        check_threads_identical(700, dtypes[which]); /* queries split between threads */
    }
}

typedef struct concurrent {
    const bmc_index *index;
    int64_t ids[37 * 15];
    float scores[37 * 15];
    bmc_status status;
} concurrent;

static void *concurrent_search(void *arg)
{
    concurrent *c = arg;
    c->status = bmc_index_search(c->index, fx.query, fx.queries, (int32_t)fx.k, NULL, c->ids,
                                 c->scores, fx.queries * fx.k);
    return NULL;
}

static void test_concurrent_searches(void)
{
    if (fx.queries * fx.k > 37 * 15)
        return;
    bmc_index *index = fixture_index(BMC_DTYPE_F32, 0, fx.rows);
    int64_t *ids;
    float *scores;
    search_all(index, fx.k, 1, &ids, &scores);
    concurrent runs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        runs[t].index = index;
        pthread_create(&threads[t], NULL, concurrent_search, &runs[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK(runs[t].status == BMC_OK && same_results(ids, scores, runs[t].ids, runs[t].scores,
                                                       fx.queries * fx.k),
              "concurrent search %d", t);
    }
    free(ids);
    free(scores);
    bmc_index_free(index);
}

static void test_small_and_empty(void)
{
    bmc_index *index = NULL;
    CHECK_STATUS(bmc_index_create(4, BMC_DTYPE_F32, &index), BMC_OK);
    float q[4] = {1, 0, 0, 0};
    int64_t ids[5];
    float scores[5];
    CHECK_STATUS(bmc_index_search(index, q, 1, 5, NULL, ids, scores, 5), BMC_OK);
    CHECK(ids[0] == -1 && ids[4] == -1 && scores[0] == -INFINITY, "empty index gives -1");
    /* Three entries: cosines with q are worked out by hand. */
    const float v[12] = {3, 4, 0, 0,   /* cos = 3/5 = 0.6 */
                         0, 0, 2, 0,   /* cos = 0 */
                         -1, 0, 0, 0}; /* cos = -1 */
    const int64_t entry_ids[3] = {10, 20, 30};
    CHECK_STATUS(bmc_index_add(index, v, 3, entry_ids, NULL), BMC_OK);
    CHECK_STATUS(bmc_index_search(index, q, 1, 5, NULL, ids, scores, 5), BMC_OK);
    CHECK(ids[0] == 10 && ids[1] == 20 && ids[2] == 30 && ids[3] == -1 && ids[4] == -1,
          "ranks %lld %lld %lld %lld", (long long)ids[0], (long long)ids[1], (long long)ids[2],
          (long long)ids[3]);
    CHECK(fabsf(scores[0] - 0.6f) < 1e-7f && scores[1] == 0.0f && scores[2] == -1.0f &&
              scores[3] == -INFINITY, "scores %g %g %g", scores[0], scores[1], scores[2]);
    /* scores may be NULL */
    CHECK_STATUS(bmc_index_search(index, q, 1, 2, NULL, ids, NULL, 2), BMC_OK);
    CHECK(ids[0] == 10 && ids[1] == 20, "ids without scores");
    size_t needed = 0;
    CHECK_STATUS(bmc_index_get_text(index, 20, NULL, 0, &needed), BMC_OK);
    CHECK(needed == 1, "no text is the empty text (%zu)", needed);
    bmc_index_free(index);
}

/* ---- remove and append ----------------------------------------------------------------- */

static void test_remove(void)
{
    bmc_index *index = fixture_index(BMC_DTYPE_F32, 0, fx.rows);
    size_t doomed_count = 0, removed = 0;
    int64_t *doomed = malloc((fx.rows / 3 + 8) * sizeof *doomed);
    for (size_t i = 0; i < fx.rows; i += 3)
        doomed[doomed_count++] = fx.ids[i];
    doomed[doomed_count++] = 1;        /* not in the index */
    doomed[doomed_count++] = fx.ids[0]; /* twice */
    CHECK_STATUS(bmc_index_remove(index, doomed, doomed_count, &removed), BMC_OK);
    CHECK(removed == (fx.rows + 2) / 3, "removed %zu", removed);
    CHECK(bmc_index_count(index) == fx.rows - removed, "count after remove");

    /* the same as an index built from the survivors in order */
    bmc_index *survivors = NULL;
    CHECK_STATUS(bmc_index_create((int32_t)fx.dim, BMC_DTYPE_F32, &survivors), BMC_OK);
    for (size_t i = 0; i < fx.rows; i++) {
        if (i % 3 == 0)
            continue;
        const char *text = entry_text(i);
        CHECK_STATUS(bmc_index_add(survivors, fx.vectors + i * fx.dim, 1, fx.ids + i, &text), BMC_OK);
    }
    int64_t *a_ids, *b_ids;
    float *a_scores, *b_scores;
    search_all(index, fx.k, 1, &a_ids, &a_scores);
    search_all(survivors, fx.k, 1, &b_ids, &b_scores);
    CHECK(same_results(a_ids, a_scores, b_ids, b_scores, fx.queries * fx.k), "search after remove");
    char text[64];
    CHECK_STATUS(bmc_index_get_text(index, fx.ids[4], text, sizeof text, NULL), BMC_OK);
    CHECK(strcmp(text, entry_text(4)) == 0, "text after remove: %s", text);
    CHECK_STATUS(bmc_index_get_text(index, fx.ids[3], text, sizeof text, NULL), BMC_ERR_NOT_FOUND);
    int64_t id = 0;
    CHECK_STATUS(bmc_index_id_at(index, 0, &id), BMC_OK);
    CHECK(id == fx.ids[1], "first survivor");
    CHECK_STATUS(bmc_index_remove(index, NULL, 0, &removed), BMC_OK);
    CHECK(removed == 0, "removing nothing");
    free(doomed);
    free(a_ids);
    free(b_ids);
    free(a_scores);
    free(b_scores);
    bmc_index_free(index);
    bmc_index_free(survivors);
}

static void test_append(void)
{
    size_t half = fx.rows / 2;
    bmc_index *whole = fixture_index(BMC_DTYPE_F32, 0, fx.rows);
    bmc_index *a = fixture_index(BMC_DTYPE_F32, 0, half);
    bmc_index *b = fixture_index(BMC_DTYPE_F32, half, fx.rows - half);
    CHECK_STATUS(bmc_index_append(a, b), BMC_OK);
    CHECK_STATUS(bmc_index_append(a, b), BMC_ERR_INVALID_ARGUMENT); /* ids already there */
    CHECK_STATUS(bmc_index_append(a, a), BMC_ERR_INVALID_ARGUMENT);
    CHECK(bmc_index_count(a) == fx.rows, "count after append %zu", bmc_index_count(a));
    int64_t *a_ids, *w_ids;
    float *a_scores, *w_scores;
    search_all(a, fx.k, 1, &a_ids, &a_scores);
    search_all(whole, fx.k, 1, &w_ids, &w_scores);
    CHECK(same_results(a_ids, a_scores, w_ids, w_scores, fx.queries * fx.k), "appended = whole");
    char text[64];
    CHECK_STATUS(bmc_index_get_text(a, fx.ids[fx.rows - 1], text, sizeof text, NULL), BMC_OK);
    CHECK(strcmp(text, entry_text(fx.rows - 1)) == 0, "appended text %s", text);

    /* float32 into float16: the vectors are rounded like direct float16 adds */
    bmc_index *h = NULL;
    CHECK_STATUS(bmc_index_create((int32_t)fx.dim, BMC_DTYPE_F16, &h), BMC_OK);
    CHECK_STATUS(bmc_index_append(h, whole), BMC_OK);
    bmc_index *direct = fixture_index(BMC_DTYPE_F16, 0, fx.rows);
    int64_t *h_ids, *d_ids;
    float *h_scores, *d_scores;
    search_all(h, fx.k, 1, &h_ids, &h_scores);
    search_all(direct, fx.k, 1, &d_ids, &d_scores);
    CHECK(same_results(h_ids, h_scores, d_ids, d_scores, fx.queries * fx.k), "f32 -> f16 append");

    bmc_index *other_dim = NULL;
    CHECK_STATUS(bmc_index_create(3, BMC_DTYPE_F32, &other_dim), BMC_OK);
    CHECK_STATUS(bmc_index_append(other_dim, whole), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_append(NULL, whole), BMC_ERR_INVALID_ARGUMENT);
    free(a_ids);
    free(w_ids);
    free(a_scores);
    free(w_scores);
    free(h_ids);
    free(d_ids);
    free(h_scores);
    free(d_scores);
    bmc_index_free(a);
    bmc_index_free(b);
    bmc_index_free(whole);
    bmc_index_free(h);
    bmc_index_free(direct);
    bmc_index_free(other_dim);
}

/* ---- files -------------------------------------------------------------------------------- */

static char *temp_path(const char *name)
{
    static char path[4][4096];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/index/tmp-%ld-%s", harness_fixtures(), (long)getpid(), name);
    return p;
}

/* Two indexes hold the same entries, texts and search results. */
static void check_same_index(const bmc_index *a, const bmc_index *b, const char *label)
{
    CHECK(bmc_index_count(a) == bmc_index_count(b) && bmc_index_dim(a) == bmc_index_dim(b) &&
              bmc_index_dtype(a) == bmc_index_dtype(b), "%s: shape", label);
    size_t wrong = 0;
    float *va = malloc(fx.dim * sizeof *va), *vb = malloc(fx.dim * sizeof *vb);
    for (size_t i = 0; i < bmc_index_count(a); i++) {
        int64_t ia = -1, ib = -2;
        bmc_index_id_at(a, i, &ia);
        bmc_index_id_at(b, i, &ib);
        char ta[64] = "", tb[64] = "x";
        bmc_index_get_text(a, ia, ta, sizeof ta, NULL);
        bmc_index_get_text(b, ib, tb, sizeof tb, NULL);
        bmc_index_get_vector(a, ia, va, fx.dim);
        bmc_index_get_vector(b, ib, vb, fx.dim);
        if (ia != ib || strcmp(ta, tb) != 0 || memcmp(va, vb, fx.dim * sizeof *va) != 0)
            wrong++;
    }
    CHECK(wrong == 0, "%s: %zu entries differ", label, wrong);
    int64_t *a_ids, *b_ids;
    float *a_scores, *b_scores;
    search_all(a, fx.k, 1, &a_ids, &a_scores);
    search_all(b, fx.k, 2, &b_ids, &b_scores);
    CHECK(same_results(a_ids, a_scores, b_ids, b_scores, fx.queries * fx.k), "%s: search", label);
    free(va);
    free(vb);
    free(a_ids);
    free(b_ids);
    free(a_scores);
    free(b_scores);
}

static void test_save_load_map(void)
{
    for (int t = 0; t < 3; t++) {
        bmc_index *index = fixture_index(dtypes[t], 0, fx.rows);
        const char *path = temp_path("roundtrip.bmcidx");
        CHECK_STATUS(bmc_index_save(index, path), BMC_OK);
        bmc_index *loaded = NULL, *mapped = NULL, *trusted = NULL;
        CHECK_STATUS(bmc_index_load(path, &loaded), BMC_OK);
        CHECK_STATUS(bmc_index_map(path, 0, &mapped), BMC_OK);
        CHECK_STATUS(bmc_index_map(path, BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM, &trusted), BMC_OK);
        if (loaded && mapped && trusted) {
            check_same_index(index, loaded, "loaded");
            check_same_index(index, mapped, "mapped");
            check_same_index(index, trusted, "mapped without vector checksum");
            /* a loaded index can be modified; a mapped one cannot */
            int64_t id = 1;
            CHECK_STATUS(bmc_index_add(loaded, fx.vectors, 1, &id, NULL), BMC_OK);
            CHECK_STATUS(bmc_index_add(mapped, fx.vectors, 1, &id, NULL), BMC_ERR_UNSUPPORTED);
            CHECK_STATUS(bmc_index_remove(mapped, fx.ids, 1, NULL), BMC_ERR_UNSUPPORTED);
            CHECK_STATUS(bmc_index_append(mapped, index), BMC_ERR_UNSUPPORTED);
            /* but it can be copied into a modifiable one */
            bmc_index *copy = NULL;
            CHECK_STATUS(bmc_index_create((int32_t)fx.dim, dtypes[t], &copy), BMC_OK);
            CHECK_STATUS(bmc_index_append(copy, mapped), BMC_OK);
            check_same_index(index, copy, "copy of mapped");
            bmc_index_free(copy);
            /* saving a mapped index over its own file is safe (written aside, renamed) */
            CHECK_STATUS(bmc_index_save(mapped, path), BMC_OK);
            check_same_index(index, mapped, "mapped after its file was replaced");
        }
        CHECK_STATUS(bmc_index_map(path, 0x80, &trusted), BMC_ERR_INVALID_ARGUMENT);
        bmc_index_free(loaded);
        bmc_index_free(mapped);
        bmc_index_free(trusted);
        bmc_index_free(index);
        unlink(path);
    }
    bmc_index *empty = NULL, *back = NULL;
    CHECK_STATUS(bmc_index_create(7, BMC_DTYPE_F16, &empty), BMC_OK);
    const char *path = temp_path("empty.bmcidx");
    CHECK_STATUS(bmc_index_save(empty, path), BMC_OK);
    CHECK_STATUS(bmc_index_map(path, 0, &back), BMC_OK);
    CHECK(bmc_index_count(back) == 0 && bmc_index_dim(back) == 7, "empty index file");
    bmc_index_free(back);
    bmc_index_free(empty);
    unlink(path);
}

/* Files written by tools/fixtures/make_index_fixtures.py from the documented format: they load, hold
 * what Python put in, and saving them again reproduces them byte for byte. */
static void test_python_written_files(void)
{
    size_t text_size;
    char *texts = read_bytes(fixture_path("texts.txt"), &text_size);
    CHECK(texts != NULL, "texts.txt");
    if (!texts)
        return;
    const char *names[3] = {"python_f32.bmcidx", "python_f16.bmcidx", "python_bf16.bmcidx"};
    for (int t = 0; t < 3; t++) {
        char source[4096];
        snprintf(source, sizeof source, "%s", fixture_path(names[t]));
        bmc_index *index = NULL;
        CHECK_STATUS(bmc_index_load(source, &index), BMC_OK);
        if (!index)
            continue;
        CHECK(bmc_index_count(index) == fx.file_rows, "%s count", names[t]);
        size_t wrong_ids = 0, wrong_texts = 0, wrong_vectors = 0;
        char *line = texts;
        float *v = malloc(fx.dim * sizeof *v);
        for (size_t i = 0; i < fx.file_rows && line; i++) {
            char *end = strchr(line, '\n');
            if (end)
                *end = '\0';
            int64_t id = -1;
            char text[128] = "";
            bmc_index_id_at(index, i, &id);
            bmc_index_get_text(index, id, text, sizeof text, NULL);
            bmc_index_get_vector(index, id, v, fx.dim);
            wrong_ids += id != fx.ids[i];
            wrong_texts += strcmp(text, line) != 0;
            for (size_t d = 0; d < fx.dim; d++)
                wrong_vectors += t == 0   ? v[d] != fx.unit_f32[i * fx.dim + d]
                                 : t == 1 ? bmci_f32_to_f16(v[d]) != fx.unit_f16[i * fx.dim + d]
                                          : v[d] != bmci_bf16_to_f32(fx.unit_bf16[i * fx.dim + d]);
            if (end)
                *end = '\n';
            line = end ? end + 1 : NULL;
        }
        CHECK(wrong_ids == 0 && wrong_texts == 0 && wrong_vectors == 0,
              "%s: %zu ids, %zu texts, %zu values differ", names[t], wrong_ids, wrong_texts, wrong_vectors);
        const char *again = temp_path("again.bmcidx");
        CHECK_STATUS(bmc_index_save(index, again), BMC_OK);
        size_t a_size, b_size;
        void *a = read_bytes(source, &a_size), *b = read_bytes(again, &b_size);
        CHECK(a && b && a_size == b_size && memcmp(a, b, a_size) == 0,
              "%s saved again is byte-identical (%zu vs %zu bytes)", names[t], a_size, b_size);
        free(a);
        free(b);
        free(v);
        unlink(again);
        bmc_index_free(index);
    }
    free(texts);
}

/* Load and map must both refuse `bytes` with `expected` and a message containing `words`. */
static void check_bad_file(const unsigned char *bytes, size_t size, bmc_status expected,
                           const char *words, const char *label)
{
    const char *path = temp_path("bad.bmcidx");
    write_bytes(path, bytes, size);
    bmc_index *index = NULL;
    bmc_status status = bmc_index_load(path, &index);
    CHECK(status == expected && index == NULL && strstr(bmc_last_error(), words),
          "%s: load gave %d (%s), expected %d with '%s'", label, status, bmc_last_error(), expected, words);
    bmc_index_free(index);
    index = NULL;
    status = bmc_index_map(path, 0, &index);
    CHECK(status == expected && index == NULL && strstr(bmc_last_error(), words),
          "%s: map gave %d (%s), expected %d with '%s'", label, status, bmc_last_error(), expected, words);
    bmc_index_free(index);
    unlink(path);
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Section `s` (0 vectors, 1 ids, 2 offsets, 3 texts) of a saved file. */
static size_t section_offset(const unsigned char *file, int s, size_t *size)
{
    uint32_t dim, dtype;
    memcpy(&dtype, file + 12, 4);
    memcpy(&dim, file + 16, 4);
    uint64_t count = get64(file + 24), text_bytes = get64(file + 32);
    uint64_t sizes[4] = {count * dim * bmci_index_value_size(dtype), count * 8, (count + 1) * 8,
                         text_bytes};
    uint64_t at = 64, offset = 64;
    for (int i = 0; i <= s; i++) {
        offset = (at + 63) / 64 * 64;
        at = offset + sizes[i];
    }
    *size = (size_t)sizes[s];
    return (size_t)offset;
}

/* Recompute the checksums after a deliberate edit, so only the structural checks can object. */
static void reseal(unsigned char *file)
{
    for (int s = 0; s < 4; s++) {
        size_t size, offset = section_offset(file, s, &size);
        put32(file + 40 + 4 * s, bmci_crc32(0, file + offset, size));
    }
    put32(file + 60, bmci_crc32(0, file, 60));
}

static void test_corrupt_files(void)
{
    bmc_index *index = fixture_index(BMC_DTYPE_F32, 0, 200);
    const char *path = temp_path("good.bmcidx");
    CHECK_STATUS(bmc_index_save(index, path), BMC_OK);
    bmc_index_free(index);
    size_t size;
    unsigned char *good = read_bytes(path, &size);
    unlink(path);
    unsigned char *bad = malloc(size + 1);
    if (!good || !bad)
        return;

    static const char *const names[4] = {"vectors", "ids", "text offsets", "texts"};
    for (int s = 0; s < 4; s++) {
        size_t length, offset = section_offset(good, s, &length);
        memcpy(bad, good, size);
        bad[offset + length / 2] ^= 0x10;
        check_bad_file(bad, size, BMC_ERR_CORRUPT_DATA, names[s], names[s]);
    }
    memcpy(bad, good, size);
    bad[17] ^= 1; /* dim */
    check_bad_file(bad, size, BMC_ERR_CORRUPT_DATA, "damaged header", "header byte");
    memcpy(bad, good, size);
    bad[0] = 'X';
    check_bad_file(bad, size, BMC_ERR_CORRUPT_DATA, "not an index file", "magic");
    memcpy(bad, good, size);
    bad[8] = 2; /* a newer format version */
    check_bad_file(bad, size, BMC_ERR_VERSION, "format version 2", "version");
    memcpy(bad, good, size);
    bad[12] = 4; /* a dtype the index does not store */
    reseal(bad);
    check_bad_file(bad, size, BMC_ERR_UNSUPPORTED, "dtype 4", "dtype");
    const size_t cuts[] = {0, 5, 63, 64, 100, size / 2, size - 1};
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        char label[64];
        snprintf(label, sizeof label, "truncated to %zu bytes", cuts[c]);
        check_bad_file(good, cuts[c], BMC_ERR_CORRUPT_DATA,
                       cuts[c] < 8 ? (cuts[c] ? "not an index file" : "") : "truncated", label);
    }
    memcpy(bad, good, size);
    bad[size] = 0;
    check_bad_file(bad, size + 1, BMC_ERR_CORRUPT_DATA, "after its last section", "trailing byte");

    /* structurally wrong but with valid checksums */
    size_t length, ids_at = section_offset(good, 1, &length);
    memcpy(bad, good, size);
    memcpy(bad + ids_at + 8, bad + ids_at, 8); /* id 1 = id 0 */
    reseal(bad);
    check_bad_file(bad, size, BMC_ERR_CORRUPT_DATA, "duplicate", "duplicate id");
    memcpy(bad, good, size);
    memset(bad + ids_at + 7, 0xFF, 1); /* id 0 negative */
    reseal(bad);
    check_bad_file(bad, size, BMC_ERR_CORRUPT_DATA, "negative", "negative id");
    size_t offsets_at = section_offset(good, 2, &length);
    memcpy(bad, good, size);
    uint64_t big = get64(good + 32) + 5;
    memcpy(bad + offsets_at + 8 * 3, &big, 8); /* past the text section, then back down */
    reseal(bad);
    check_bad_file(bad, size, BMC_ERR_CORRUPT_DATA, "text offsets", "offsets");
    size_t texts_at = section_offset(good, 3, &length);
    memcpy(bad, good, size);
    bad[texts_at] = 0xC3; /* a lead byte followed by an ASCII letter */
    bad[texts_at + 1] = 'a';
    reseal(bad);
    check_bad_file(bad, size, BMC_ERR_CORRUPT_DATA, "invalid text", "invalid UTF-8");
    memcpy(bad, good, size);
    bad[texts_at] = 0;
    reseal(bad);
    check_bad_file(bad, size, BMC_ERR_CORRUPT_DATA, "invalid text", "NUL in text");

    bmc_index *none = NULL;
    CHECK_STATUS(bmc_index_load(temp_path("missing.bmcidx"), &none), BMC_ERR_IO);
    CHECK_STATUS(bmc_index_map(temp_path("missing.bmcidx"), 0, &none), BMC_ERR_IO);
    CHECK(none == NULL, "nothing on failure");
    free(good);
    free(bad);
}

/* ---- bad arguments ---------------------------------------------------------------------- */

static void test_bad_arguments(void)
{
    bmc_index *index = NULL;
    CHECK_STATUS(bmc_index_create(0, BMC_DTYPE_F32, &index), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_create(70000, BMC_DTYPE_F32, &index), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_create(8, 4, &index), BMC_ERR_UNSUPPORTED);
    CHECK_STATUS(bmc_index_create(8, 0, &index), BMC_ERR_UNSUPPORTED);
    CHECK_STATUS(bmc_index_create(8, BMC_DTYPE_F32, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK(index == NULL, "out untouched");
    CHECK_STATUS(bmc_index_create(3, BMC_DTYPE_F32, &index), BMC_OK);

    const float v[6] = {1, 2, 3, 4, 5, 6};
    const int64_t ids[2] = {5, 6};
    const char *texts[2] = {"a", NULL};
    CHECK_STATUS(bmc_index_add(index, v, 2, ids, texts), BMC_OK);
    const float zero[3] = {0, 0, 0}, nan3[3] = {1, NAN, 0}, inf3[3] = {INFINITY, 0, 0};
    const int64_t fresh[2] = {7, 8}, dup_in_batch[2] = {9, 9}, negative[1] = {-4}, taken[1] = {6};
    const char *bad_utf8[1] = {"caf\xC3"};
    CHECK_STATUS(bmc_index_add(NULL, v, 1, fresh, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_add(index, NULL, 1, fresh, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_add(index, v, 1, NULL, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_add(index, v, 0, fresh, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_add(index, zero, 1, fresh, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "zero") != NULL, "message: %s", bmc_last_error());
    CHECK_STATUS(bmc_index_add(index, nan3, 1, fresh, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_add(index, inf3, 1, fresh, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_add(index, v, 2, dup_in_batch, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_add(index, v, 1, negative, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_add(index, v, 1, taken, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "already") != NULL, "message: %s", bmc_last_error());
    CHECK_STATUS(bmc_index_add(index, v, 1, fresh, bad_utf8), BMC_ERR_INVALID_UTF8);
    /* a batch whose second vector is bad adds nothing */
    float mixed[6] = {1, 0, 0, 0, 0, 0};
    CHECK_STATUS(bmc_index_add(index, mixed, 2, fresh, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK(bmc_index_count(index) == 2, "index unchanged after failed adds (%zu)", bmc_index_count(index));

    int64_t out_ids[4] = {0};
    float out_scores[4];
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    CHECK(options.struct_size == sizeof options && options.threads == 0, "search defaults");
    CHECK_STATUS(bmc_index_search(NULL, v, 1, 1, NULL, out_ids, out_scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search(index, NULL, 1, 1, NULL, out_ids, out_scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search(index, v, 1, 1, NULL, NULL, out_scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search(index, v, 0, 1, NULL, out_ids, out_scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search(index, v, 1, 0, NULL, out_ids, out_scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search(index, v, 2, 3, NULL, out_ids, out_scores, 4), BMC_ERR_BUFFER_TOO_SMALL);
    out_ids[0] = 99;
    out_scores[0] = 9.0f;
    CHECK_STATUS(bmc_index_search(index, zero, 1, 1, NULL, out_ids, out_scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK(out_ids[0] == 99 && out_scores[0] == 9.0f, "results untouched on failure");
    options.threads = -1;
    CHECK_STATUS(bmc_index_search(index, v, 1, 1, &options, out_ids, out_scores, 4), BMC_ERR_INVALID_ARGUMENT);
    options.threads = 1;
    options.struct_size = 3;
    CHECK_STATUS(bmc_index_search(index, v, 1, 1, &options, out_ids, out_scores, 4), BMC_ERR_INVALID_ARGUMENT);

    char text[4] = "zzz";
    size_t needed = 0;
    CHECK_STATUS(bmc_index_get_text(index, 5, NULL, 0, &needed), BMC_OK);
    CHECK(needed == 2, "size query %zu", needed);
    CHECK_STATUS(bmc_index_get_text(index, 5, text, 1, &needed), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK(strcmp(text, "zzz") == 0, "nothing written on failure");
    CHECK_STATUS(bmc_index_get_text(index, 5, text, 2, NULL), BMC_OK);
    CHECK(strcmp(text, "a") == 0, "exact capacity: %s", text);
    CHECK_STATUS(bmc_index_get_text(index, 99, text, 4, NULL), BMC_ERR_NOT_FOUND);
    CHECK_STATUS(bmc_index_get_text(index, -1, text, 4, NULL), BMC_ERR_NOT_FOUND);
    CHECK_STATUS(bmc_index_get_text(NULL, 5, text, 4, NULL), BMC_ERR_INVALID_ARGUMENT);
    float row[3];
    CHECK_STATUS(bmc_index_get_vector(index, 5, row, 2), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_index_get_vector(index, 77, row, 3), BMC_ERR_NOT_FOUND);
    CHECK_STATUS(bmc_index_get_vector(index, 5, NULL, 3), BMC_ERR_INVALID_ARGUMENT);
    int64_t id = 42;
    CHECK_STATUS(bmc_index_id_at(index, 2, &id), BMC_ERR_NOT_FOUND);
    CHECK(id == 42, "id untouched");
    CHECK_STATUS(bmc_index_id_at(index, 0, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_remove(NULL, ids, 1, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_remove(index, NULL, 1, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_save(NULL, "x"), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_save(index, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_save(index, "no-such-directory/sub/x.bmcidx"), BMC_ERR_IO);
    CHECK_STATUS(bmc_index_load(NULL, &index), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_map("x", 0, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK(bmc_index_count(NULL) == 0 && bmc_index_dim(NULL) == 0 && bmc_index_dtype(NULL) == 0,
          "NULL getters");
    bmc_index_free(NULL);
    bmc_index_search_options_init(NULL);
    bmc_index_free(index);
}

int main(void)
{
    RUN(test_bad_arguments);
    RUN(test_small_and_empty);
    RUN(test_threads_give_identical_results);
    if (!load_fixture()) {
        fprintf(stderr, "FAIL: index fixtures missing in %s/index (run make fixtures)\n",
                harness_fixtures());
        harness_failed++;
        return harness_summary("test_index");
    }
    RUN(test_crc32);
    RUN(test_float16);
    RUN(test_stored_vectors);
    RUN(test_search_matches_numpy);
    RUN(test_kernels_match_numpy);
    RUN(test_one_row_and_empty_on_every_path);
    RUN(test_concurrent_searches);
    RUN(test_remove);
    RUN(test_append);
    RUN(test_save_load_map);
    RUN(test_python_written_files);
    RUN(test_corrupt_files);
    return harness_summary("test_index");
}
