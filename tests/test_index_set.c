/* SPDX-License-Identifier: MIT */
/* Index sets: several mapped index files searched as one. The shards and manifests are written
 * by tools/fixtures/make_index_set_fixtures.py from the documented formats; search results are
 * compared bit for bit with one index holding every shard's entries (bmc_index_append in shard
 * order) on every kernel path and thread count, and with numpy's exact top-k, including exact
 * ties across shards (their order is checked exactly). Manifests written here must equal the
 * Python-written ones byte for byte; damaged manifests, replaced shards, mismatched shards and
 * ids shared between shards are refused with a status. */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "biomedclip.h"
#include "harness.h"
#include "core/crc32.h"
#include "index/index.h"

/* ---- fixtures ----------------------------------------------------------------------------- */

static char *fixture_path(const char *name)
{
    static char path[4][4096];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/index_set/%s", harness_fixtures(), name);
    return p;
}

static void *read_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(n > 0 ? (size_t)n + 1 : 1);
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

static struct {
    size_t rows, dim, queries, k, shards;
    float *query;
    int64_t *top_ids[3];
    double *top_scores[3];
    size_t ties[3];
} fx;

static const char *const names[3] = {"f32", "f16", "bf16"};

static int load_fixture(void)
{
    FILE *meta = fopen(fixture_path("meta.txt"), "r");
    if (!meta)
        return 0;
    int ok = fscanf(meta, "%zu %zu %zu %zu %zu", &fx.rows, &fx.dim, &fx.queries, &fx.k,
                    &fx.shards) == 5;
    fclose(meta);
    fx.query = read_bytes(fixture_path("queries.f32"), NULL);
    ok = ok && fx.query;
    for (int t = 0; t < 3 && ok; t++) {
        char name[64];
        snprintf(name, sizeof name, "top_%s.i64", names[t]);
        fx.top_ids[t] = read_bytes(fixture_path(name), NULL);
        snprintf(name, sizeof name, "top_%s.f64", names[t]);
        fx.top_scores[t] = read_bytes(fixture_path(name), NULL);
        snprintf(name, sizeof name, "ties_%s.txt", names[t]);
        FILE *f = fopen(fixture_path(name), "r");
        ok = fx.top_ids[t] && fx.top_scores[t] && f && fscanf(f, "%zu", &fx.ties[t]) == 1;
        if (f)
            fclose(f);
    }
    return ok;
}

/* Shard file names of dtype t, as the manifest records them (relative to its folder). */
static const char *shard_name(int t, size_t shard)
{
    static char name[8][64];
    static int next;
    char *p = name[next++ % 8];
    snprintf(p, sizeof name[0], "shard_%s_%zu.bmcidx", names[t], shard);
    return p;
}

/* The shard paths of dtype t (in the fixture folder), for bmc_index_set_open(). */
static const char **shard_paths(int t)
{
    static char paths[16][4096];
    static const char *list[16];
    for (size_t s = 0; s < fx.shards && s < 16; s++) {
        snprintf(paths[s], sizeof paths[s], "%s/index_set/%s", harness_fixtures(), shard_name(t, s));
        list[s] = paths[s];
    }
    return list;
}

static bmc_index_set *open_set(int t)
{
    bmc_index_set *set = NULL;
    CHECK_STATUS(bmc_index_set_open(shard_paths(t), fx.shards, 0, &set), BMC_OK);
    return set;
}

/* One in-memory index holding every shard's entries in shard order: what a set must behave as. */
static bmc_index *joined_index(const bmc_index_set *set)
{
    bmc_index *index = NULL;
    CHECK_STATUS(bmc_index_create(bmc_index_set_dim(set), bmc_index_set_dtype(set), &index), BMC_OK);
    for (size_t s = 0; s < bmc_index_set_shard_count(set); s++)
        CHECK_STATUS(bmc_index_append(index, bmc_index_set_shard(set, s)), BMC_OK);
    return index;
}

typedef struct results {
    int64_t *ids;
    float *scores;
} results;

static results search_set(const bmc_index_set *set, size_t k, int32_t threads)
{
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    options.threads = threads;
    results r = {malloc(fx.queries * k * sizeof *r.ids), malloc(fx.queries * k * sizeof *r.scores)};
    CHECK_STATUS(bmc_index_set_search(set, fx.query, fx.queries, (int32_t)k, &options, r.ids,
                                      r.scores, fx.queries * k), BMC_OK);
    return r;
}

static results search_index(const bmc_index *index, size_t k, int32_t threads)
{
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    options.threads = threads;
    results r = {malloc(fx.queries * k * sizeof *r.ids), malloc(fx.queries * k * sizeof *r.scores)};
    CHECK_STATUS(bmc_index_search(index, fx.query, fx.queries, (int32_t)k, &options, r.ids,
                                  r.scores, fx.queries * k), BMC_OK);
    return r;
}

static int same(results a, results b, size_t n)
{
    return memcmp(a.ids, b.ids, n * sizeof *a.ids) == 0 &&
           memcmp(a.scores, b.scores, n * sizeof *a.scores) == 0;
}

static void results_free(results r)
{
    free(r.ids);
    free(r.scores);
}

/* ---- search parity ------------------------------------------------------------------------ */

static const int paths[3] = {BMCI_KERNELS_PORTABLE, BMCI_KERNELS_AVX2, BMCI_KERNELS_AVX512};
static const char *const path_names[4] = {"auto", "portable", "AVX2", "AVX-512"};

/* The set gives the single joined index's ids and scores, bit for bit, for every k (up to more
 * than the entries), thread count and kernel path this CPU has. */
static void test_same_as_one_index(void)
{
    for (int p = 0; p < 3; p++) {
        int previous = bmci_index_force_kernels(paths[p]);
        if (previous < 0) {
            printf("  SKIPPED: the %s kernels (this CPU lacks them)\n", path_names[paths[p]]);
            continue;
        }
        for (int t = 0; t < 3; t++) {
            bmc_index_set *set = open_set(t);
            if (!set)
                continue;
            bmc_index *one = joined_index(set);
            size_t ks[] = {1, 2, fx.k, 100, fx.rows, fx.rows + 5};
            size_t differ = 0, cases = 0;
            for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
                int32_t threads[] = {1, 0, 3};
                for (int h = 0; h < 3; h++) {
                    results a = search_set(set, ks[i], threads[h]);
                    results b = search_index(one, ks[i], 1);
                    differ += !same(a, b, fx.queries * ks[i]);
                    cases++;
                    results_free(a);
                    results_free(b);
                }
            }
            CHECK(differ == 0, "%s, %s kernels: %zu of %zu searches differ from one index",
                  names[t], path_names[paths[p]], differ, cases);
            printf("  %s, %s kernels: %zu searches identical to one index\n", names[t],
                   path_names[paths[p]], cases - differ);
            bmc_index_free(one);
            bmc_index_set_free(set);
        }
        bmci_index_force_kernels(previous);
    }
}

/* numpy's exact top-k over the concatenated shards: the same ids (exactly for exact ties,
 * which sit across shards; near-ties within rounding may swap) and scores within rounding. */
static void test_matches_numpy(void)
{
    for (int t = 0; t < 3; t++) {
        bmc_index_set *set = open_set(t);
        if (!set)
            continue;
        results r = search_set(set, fx.k, 0);
        size_t mismatched = 0, near = 0, exact_ties = 0;
        double worst = 0;
        const int64_t *ref_ids = fx.top_ids[t];
        const double *ref = fx.top_scores[t];
        for (size_t q = 0; q < fx.queries; q++) {
            for (size_t rank = 0; rank < fx.k; rank++) {
                size_t i = q * fx.k + rank;
                double error = fabs(r.scores[i] - ref[i]);
                worst = error > worst ? error : worst;
                int tied = (rank > 0 && ref[i] == ref[i - 1]) ||
                           (rank + 1 < fx.k && ref[i] == ref[i + 1]);
                if (rank > 0 && ref[i] == ref[i - 1]) {
                    exact_ties++;
                    /* an exact tie: the library's scores must be equal too */
                    CHECK(r.scores[i] == r.scores[i - 1], "%s: query %zu rank %zu tie", names[t], q, rank);
                }
                if (r.ids[i] == ref_ids[i])
                    continue;
                int near_tie = (rank > 0 && fabs(ref[i] - ref[i - 1]) < 1e-6) ||
                               (rank + 1 < fx.k && fabs(ref[i] - ref[i + 1]) < 1e-6);
                if (near_tie && !tied)
                    near++;
                else
                    mismatched++;
            }
        }
        CHECK(exact_ties == fx.ties[t] && exact_ties > 0, "%s: %zu exact ties, numpy has %zu",
              names[t], exact_ties, fx.ties[t]);
        CHECK(mismatched == 0, "%s: %zu ranks differ from numpy (%zu near ties)", names[t],
              mismatched, near);
        CHECK(worst < 2e-6, "%s: max |score - numpy| = %g", names[t], worst);
        printf("  %s: %zu exact ties in numpy's order, max |score - numpy float64| = %.3g, "
               "near-tie swaps %zu\n", names[t], exact_ties, worst, near);
        results_free(r);
        bmc_index_set_free(set);
    }
}

/* ---- the set's entries -------------------------------------------------------------------- */

static void test_entries(void)
{
    bmc_index_set *set = open_set(0);
    if (!set)
        return;
    int64_t *ids = read_bytes(fixture_path("ids.i64"), NULL);
    float *units = read_bytes(fixture_path("unit_f32.f32"), NULL);
    CHECK(bmc_index_set_count(set) == fx.rows && bmc_index_set_dim(set) == (int32_t)fx.dim &&
              bmc_index_set_dtype(set) == BMC_DTYPE_F32 &&
              bmc_index_set_shard_count(set) == fx.shards, "shape");
    CHECK(bmc_index_set_shard(set, fx.shards) == NULL && bmc_index_set_shard(NULL, 0) == NULL,
          "shard out of range");
    size_t wrong = 0;
    float *vector = malloc(fx.dim * sizeof *vector);
    for (size_t row = 0; ids && units && row < fx.rows; row++) {
        size_t shard = SIZE_MAX;
        char text[64] = "", expected[64];
        snprintf(expected, sizeof expected, "row %zu", row);
        const bmc_index *index;
        if (bmc_index_set_find(set, ids[row], &shard) != BMC_OK ||
            (uint64_t)shard != (uint64_t)ids[row] >> 32 || !(index = bmc_index_set_shard(set, shard)) ||
            bmc_index_get_text(index, ids[row], text, sizeof text, NULL) != BMC_OK ||
            bmc_index_get_vector(index, ids[row], vector, fx.dim) != BMC_OK ||
            strcmp(text, expected) != 0 || memcmp(vector, units + row * fx.dim, fx.dim * 4) != 0)
            wrong++;
    }
    CHECK(ids && units && wrong == 0, "%zu entries not found in their shard with their text", wrong);
    size_t shard = 77;
    CHECK_STATUS(bmc_index_set_find(set, ((int64_t)2 << 32) + 257, &shard), BMC_ERR_NOT_FOUND);
    CHECK_STATUS(bmc_index_set_find(set, -1, &shard), BMC_ERR_NOT_FOUND);
    CHECK_STATUS(bmc_index_set_find(set, (int64_t)1 << 32, &shard), BMC_ERR_NOT_FOUND); /* empty shard 1 */
    CHECK(shard == 77, "out-parameter untouched on failure");
    free(vector);
    free(ids);
    free(units);
    bmc_index_set_free(set);
}

/* ---- manifests ---------------------------------------------------------------------------- */

static char *temp_path(const char *name)
{
    static char path[4][4096];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/index_set/tmp-%ld-%s", harness_fixtures(), (long)getpid(), name);
    return p;
}

/* The Python-written manifest opens to the same set; one written here is byte for byte the
 * Python one. */
static void test_manifests(void)
{
    for (int t = 0; t < 3; t++) {
        char name[64];
        snprintf(name, sizeof name, "set_%s.bmcset", names[t]);
        bmc_index_set *by_paths = open_set(t), *by_manifest = NULL, *trusted = NULL;
        CHECK_STATUS(bmc_index_set_open_manifest(fixture_path(name), 0, &by_manifest), BMC_OK);
        CHECK_STATUS(bmc_index_set_open_manifest(fixture_path(name),
                                                 BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM, &trusted), BMC_OK);
        if (by_paths && by_manifest && trusted) {
            results a = search_set(by_paths, fx.k, 0), b = search_set(by_manifest, fx.k, 0),
                    c = search_set(trusted, fx.k, 1);
            CHECK(same(a, b, fx.queries * fx.k) && same(a, c, fx.queries * fx.k),
                  "%s: the manifest's set searches as the files do", names[t]);
            results_free(a);
            results_free(b);
            results_free(c);
        }
        const char *shards[16];
        for (size_t s = 0; s < fx.shards; s++)
            shards[s] = shard_name(t, s);
        const char *written = temp_path("written.bmcset");
        CHECK_STATUS(bmc_index_set_write_manifest(written, shards, fx.shards, 0), BMC_OK);
        size_t python_size = 0, c_size = 1;
        char *python_text = read_bytes(fixture_path(name), &python_size);
        char *c_text = read_bytes(written, &c_size);
        CHECK(python_text && c_text && python_size == c_size &&
                  memcmp(python_text, c_text, c_size) == 0,
              "%s: the written manifest equals Python's", names[t]);
        free(python_text);
        free(c_text);
        unlink(written);
        bmc_index_set_free(by_paths);
        bmc_index_set_free(by_manifest);
        bmc_index_set_free(trusted);
    }
}

/* A manifest text with its trailing checksum line recomputed, so that a change made to test
 * one check is not caught by the checksum first. */
static size_t reseal(char *text, size_t size)
{
    char *trailer = text + size - 15;
    snprintf(trailer, 16, "crc32 %08x\n", (unsigned)bmci_crc32(0, text, size - 15));
    return size;
}

static void check_bad_manifest(const char *text, size_t size, bmc_status expected, const char *label)
{
    const char *path = temp_path("bad.bmcset");
    CHECK(write_bytes(path, text, size), "write %s", label);
    bmc_index_set *set = (bmc_index_set *)&set; /* must stay untouched */
    bmc_status got = bmc_index_set_open_manifest(path, 0, &set);
    CHECK(got == expected && set == (bmc_index_set *)&set, "%s: status %d (%s), expected %d; %s",
          label, got, bmc_status_string(got), expected, bmc_last_error());
    unlink(path);
}

/* Replace the first occurrence of `from` by `to` in a copy of text (sizes may differ). */
static char *edited(const char *text, size_t size, const char *from, const char *to, size_t *out_size)
{
    const char *at = strstr(text, from);
    size_t head = at ? (size_t)(at - text) : size, from_length = at ? strlen(from) : 0;
    size_t to_length = at ? strlen(to) : 0;
    char *copy = malloc(size + to_length + 16);
    memcpy(copy, text, head);
    memcpy(copy + head, to, to_length);
    memcpy(copy + head + to_length, text + head + from_length, size - head - from_length);
    *out_size = size - from_length + to_length;
    return copy;
}

static void test_bad_manifests(void)
{
    size_t size = 0;
    char *text = read_bytes(fixture_path("set_f32.bmcset"), &size);
    if (!text || size < 100) {
        CHECK(0, "cannot read set_f32.bmcset");
        free(text);
        return;
    }
    text[size] = '\0';
    struct {
        const char *from, *to;
        int reseal;
        bmc_status expected;
        const char *label;
    } cases[] = {
        {"BMCINDEXSET", "BMCINDEXSEX", 1, BMC_ERR_CORRUPT_DATA, "magic"},
        {"BMCINDEXSET 1", "BMCINDEXSET 2", 0, BMC_ERR_VERSION, "a newer version"},
        {"BMCINDEXSET 1", "BMCINDEXSET 0", 1, BMC_ERR_CORRUPT_DATA, "version 0"},
        {"dim 48", "dim 49", 0, BMC_ERR_CORRUPT_DATA, "a change without resealing"},
        {"dim 48", "dim 49", 1, BMC_ERR_CORRUPT_DATA, "dim unlike the shards'"},
        {"dim 48", "dim 048", 1, BMC_ERR_CORRUPT_DATA, "a leading zero"},
        {"dim 48", "dim 70000", 1, BMC_ERR_CORRUPT_DATA, "dim out of range"},
        {"dtype 1", "dtype 9", 1, BMC_ERR_UNSUPPORTED, "an unknown dtype"},
        {"dtype 1", "dtype 2", 1, BMC_ERR_CORRUPT_DATA, "dtype unlike the shards'"},
        {"shards 5", "shards 4", 1, BMC_ERR_CORRUPT_DATA, "fewer shards counted than listed"},
        {"shards 5", "shards 6", 1, BMC_ERR_CORRUPT_DATA, "more shards counted than listed"},
        {"shards 5", "shards 99999999999", 1, BMC_ERR_CORRUPT_DATA, "an absurd shard count"},
        {"shard 400 ", "shard 401 ", 1, BMC_ERR_CORRUPT_DATA, "an entry count unlike the shard's"},
        {"shard 400 86018 ", "shard 400 86019 ", 1, BMC_ERR_CORRUPT_DATA, "a size unlike the shard's"},
        {"shard_f32_2.bmcidx", "shard_f32_4.bmcidx", 1, BMC_ERR_CORRUPT_DATA, "another shard's file"},
        {"shard_f32_2.bmcidx", "shard_f32_9.bmcidx", 1, BMC_ERR_IO, "a missing shard"},
        {"shard_f32_2.bmcidx", "shard_f16_2.bmcidx", 1, BMC_ERR_CORRUPT_DATA, "a shard of another dtype"},
        {"shard_f32_2.bmcidx\n", "\n", 1, BMC_ERR_CORRUPT_DATA, "an empty path"},
        {"shard_f32_2.bmcidx", "shard_f32_2.bmcidx\r", 1, BMC_ERR_CORRUPT_DATA, "a CR in a path"},
        {" shard_f32_0", "  shard_f32_0", 1, BMC_ERR_IO, "two spaces (the path starts with one)"},
        {"\nshard 0 ", "\nshard 0 128 xxxxxxxx x\nshard 0 ", 1, BMC_ERR_CORRUPT_DATA, "bad hex"},
        {"\ncrc32 ", "\n\ncrc32 ", 1, BMC_ERR_CORRUPT_DATA, "an empty line"},
        {"\ncrc32 ", "\nextra line\ncrc32 ", 1, BMC_ERR_CORRUPT_DATA, "an extra line"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n;
        char *copy = edited(text, size, cases[i].from, cases[i].to, &n);
        CHECK(strstr(text, cases[i].from) != NULL, "case '%s' applies", cases[i].label);
        if (cases[i].reseal)
            reseal(copy, n);
        check_bad_manifest(copy, n, cases[i].expected, cases[i].label);
        free(copy);
    }
    /* the checksum line: damaged, missing, truncated anywhere */
    check_bad_manifest("", 0, BMC_ERR_CORRUPT_DATA, "an empty file");
    char *copy = malloc(size + 1);
    memcpy(copy, text, size);
    copy[size - 3] ^= 1;
    check_bad_manifest(copy, size, BMC_ERR_CORRUPT_DATA, "a damaged checksum");
    size_t truncated_wrong = 0;
    for (size_t n = 0; n < size; n++) {
        const char *path = temp_path("truncated.bmcset");
        bmc_index_set *set = NULL;
        write_bytes(path, text, n);
        bmc_status got = bmc_index_set_open_manifest(path, 0, &set);
        truncated_wrong += got != BMC_ERR_CORRUPT_DATA || set != NULL;
        bmc_index_set_free(set);
        unlink(path);
    }
    CHECK(truncated_wrong == 0, "%zu truncations not refused as corrupt", truncated_wrong);
    free(copy);
    CHECK_STATUS(bmc_index_set_open_manifest(fixture_path("no-such.bmcset"), 0,
                                             &(bmc_index_set *){NULL}), BMC_ERR_IO);
    free(text);
}

/* A shard rewritten after the manifest (same size and count, other vectors) is refused by its
 * header checksum; mapping alone would take it. */
static void test_replaced_shard(void)
{
    const char *dir_manifest = temp_path("replaced.bmcset");
    const char *shard_file = temp_path("replaced.bmcidx");
    const char *relative = strrchr(shard_file, '/') + 1;
    bmc_index *index = NULL;
    CHECK_STATUS(bmc_index_create(4, BMC_DTYPE_F32, &index), BMC_OK);
    float v[8] = {1, 2, 3, 4, 4, 3, 2, 1};
    int64_t ids[2] = {10, 11};
    CHECK_STATUS(bmc_index_add(index, v, 2, ids, NULL), BMC_OK);
    CHECK_STATUS(bmc_index_save(index, shard_file), BMC_OK);
    CHECK_STATUS(bmc_index_set_write_manifest(dir_manifest, &relative, 1, 0), BMC_OK);
    bmc_index_set *set = NULL;
    CHECK_STATUS(bmc_index_set_open_manifest(dir_manifest, 0, &set), BMC_OK);
    bmc_index_set_free(set);
    set = NULL;
    bmc_index *other = NULL;
    CHECK_STATUS(bmc_index_create(4, BMC_DTYPE_F32, &other), BMC_OK);
    v[0] = -1;
    CHECK_STATUS(bmc_index_add(other, v, 2, ids, NULL), BMC_OK);
    CHECK_STATUS(bmc_index_save(other, shard_file), BMC_OK);
    CHECK_STATUS(bmc_index_set_open_manifest(dir_manifest, 0, &set), BMC_ERR_CORRUPT_DATA);
    CHECK(set == NULL && strstr(bmc_last_error(), "checksum") != NULL, "message: %s", bmc_last_error());
    /* an absolute shard path is recorded and opened as is */
    char *absolute = realpath(shard_file, NULL);
    CHECK_STATUS(bmc_index_set_write_manifest(dir_manifest, (const char *const *)&absolute, 1, 0),
                 BMC_OK);
    free(absolute);
    CHECK_STATUS(bmc_index_set_open_manifest(dir_manifest, 0, &set), BMC_OK);
    CHECK(set && bmc_index_set_count(set) == 2, "absolute shard path");
    bmc_index_set_free(set);
    unlink(shard_file);
    unlink(dir_manifest);
    bmc_index_free(index);
    bmc_index_free(other);
}

/* Many small shards (searched side by side, in waves of `threads` shards) give the joined
 * index's results too, for thread counts below, at and above the shard count. */
static void test_many_small_shards(void)
{
    bmc_index_set *whole = open_set(0);
    if (!whole)
        return;
    bmc_index *one = joined_index(whole);
    enum { SHARDS = 37 };
    char files[SHARDS][4096];
    const char *list[SHARDS];
    float *vector = malloc(fx.dim * sizeof *vector);
    size_t start = 0;
    for (size_t s = 0; s < SHARDS; s++) {
        /* uneven sizes, two of them empty, the last taking the rest */
        size_t size = s == SHARDS - 1 ? fx.rows - start : s % 9 == 4 ? 0 : (s * 7) % 41 + 1;
        bmc_index *part = NULL;
        CHECK_STATUS(bmc_index_create((int32_t)fx.dim, BMC_DTYPE_F32, &part), BMC_OK);
        for (size_t i = start; i < start + size; i++) {
            int64_t id;
            bmc_index_id_at(one, i, &id);
            bmc_index_get_vector(one, id, vector, fx.dim);
            CHECK_STATUS(bmc_index_add(part, vector, 1, &id, NULL), BMC_OK);
        }
        char name[64];
        snprintf(name, sizeof name, "small-%zu.bmcidx", s);
        snprintf(files[s], sizeof files[s], "%s", temp_path(name));
        CHECK_STATUS(bmc_index_save(part, files[s]), BMC_OK);
        list[s] = files[s];
        bmc_index_free(part);
        start += size;
    }
    bmc_index_set *set = NULL;
    CHECK_STATUS(bmc_index_set_open(list, SHARDS, 0, &set), BMC_OK);
    size_t differ = 0;
    int32_t threads[] = {1, 2, 5, 36, 37, 64, 0};
    for (size_t h = 0; set && h < sizeof threads / sizeof *threads; h++) {
        size_t ks[] = {1, fx.k, fx.rows + 1};
        for (size_t i = 0; i < 3; i++) {
            results a = search_set(set, ks[i], threads[h]), b = search_index(one, ks[i], 1);
            differ += !same(a, b, fx.queries * ks[i]);
            results_free(a);
            results_free(b);
        }
    }
    CHECK(differ == 0, "%zu searches of %d small shards differ from one index", differ, SHARDS);
    bmc_index_set_free(set);
    for (size_t s = 0; s < SHARDS; s++)
        unlink(files[s]);
    free(vector);
    bmc_index_free(one);
    bmc_index_set_free(whole);
}

/* ---- sets that are not sets --------------------------------------------------------------- */

static const char *save_temp(const char *name, int32_t dim, int32_t dtype, const int64_t *ids,
                             size_t count)
{
    bmc_index *index = NULL;
    CHECK_STATUS(bmc_index_create(dim, dtype, &index), BMC_OK);
    float *v = malloc((size_t)dim * count * sizeof *v);
    for (size_t i = 0; i < (size_t)dim * count; i++)
        v[i] = (float)((i * 7919) % 13) - 6.0f + 0.5f;
    if (count)
        CHECK_STATUS(bmc_index_add(index, v, count, ids, NULL), BMC_OK);
    const char *path = temp_path(name);
    CHECK_STATUS(bmc_index_save(index, path), BMC_OK);
    bmc_index_free(index);
    free(v);
    return path;
}

static void test_ids_across_shards(void)
{
    int64_t even[50], odd[50], clash[3] = {1001, 40, 2001};
    for (int i = 0; i < 50; i++) {
        even[i] = 2 * i;
        odd[i] = 2 * i + 1;
    }
    char a[4096], b[4096], c[4096], d[4096], e[4096];
    snprintf(a, sizeof a, "%s", save_temp("even.bmcidx", 8, BMC_DTYPE_F32, even, 50));
    snprintf(b, sizeof b, "%s", save_temp("odd.bmcidx", 8, BMC_DTYPE_F32, odd, 50));
    snprintf(c, sizeof c, "%s", save_temp("clash.bmcidx", 8, BMC_DTYPE_F32, clash, 3));
    snprintf(d, sizeof d, "%s", save_temp("dim9.bmcidx", 9, BMC_DTYPE_F32, odd, 1));
    snprintf(e, sizeof e, "%s", save_temp("f16.bmcidx", 8, BMC_DTYPE_F16, odd + 10, 1));
    /* interleaved ranges with distinct ids: a set (checked id by id) */
    const char *interleaved[2] = {a, b};
    bmc_index_set *set = NULL;
    CHECK_STATUS(bmc_index_set_open(interleaved, 2, 0, &set), BMC_OK);
    size_t shard = 9;
    CHECK_STATUS(bmc_index_set_find(set, 37, &shard), BMC_OK);
    CHECK(shard == 1, "odd id in shard 1");
    CHECK_STATUS(bmc_index_set_find(set, 100, &shard), BMC_ERR_NOT_FOUND);
    bmc_index_set_free(set);
    /* an id in two shards */
    const char *shared[3] = {a, b, c};
    set = NULL;
    CHECK_STATUS(bmc_index_set_open(shared, 3, 0, &set), BMC_ERR_INVALID_ARGUMENT);
    CHECK(set == NULL && strstr(bmc_last_error(), "id 40") != NULL, "message: %s", bmc_last_error());
    /* the same file twice */
    const char *twice[2] = {a, a};
    CHECK_STATUS(bmc_index_set_open(twice, 2, 0, &set), BMC_ERR_INVALID_ARGUMENT);
    const char *dims[2] = {a, d}, *kinds[2] = {a, e};
    CHECK_STATUS(bmc_index_set_open(dims, 2, 0, &set), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_open(kinds, 2, 0, &set), BMC_ERR_INVALID_ARGUMENT);
    const char *relative[2] = {strrchr(a, '/') + 1, strrchr(e, '/') + 1};
    CHECK_STATUS(bmc_index_set_write_manifest(temp_path("x.bmcset"), relative, 2, 0),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK(access(temp_path("x.bmcset"), F_OK) != 0, "no manifest for an invalid set");
    CHECK(set == NULL, "out untouched");
    unlink(a);
    unlink(b);
    unlink(c);
    unlink(d);
    unlink(e);
}

static void test_bad_arguments(void)
{
    bmc_index_set *set = NULL;
    const char *one[1] = {shard_paths(0)[0]}, *null_path[2] = {shard_paths(0)[0], NULL};
    CHECK_STATUS(bmc_index_set_open(NULL, 1, 0, &set), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_open(one, 0, 0, &set), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_open(one, 1, 0, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_open(one, 1, 0x80, &set), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_open(null_path, 2, 0, &set), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_open_manifest(NULL, 0, &set), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_open_manifest(fixture_path("set_f32.bmcset"), 0, NULL),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_open_manifest(fixture_path("shard_f32_0.bmcidx"), 0, &set),
                 BMC_ERR_CORRUPT_DATA);
    const char *newline[1] = {"a\nb.bmcidx"}, *empty[1] = {""};
    CHECK_STATUS(bmc_index_set_write_manifest(temp_path("m.bmcset"), newline, 1, 0),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_write_manifest(temp_path("m.bmcset"), empty, 1, 0),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_write_manifest(NULL, one, 1, 0), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_write_manifest(temp_path("m.bmcset"), one, 0, 0),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK(set == NULL, "out untouched");
    CHECK(bmc_index_set_count(NULL) == 0 && bmc_index_set_dim(NULL) == 0 &&
              bmc_index_set_dtype(NULL) == 0 && bmc_index_set_shard_count(NULL) == 0, "NULL set");
    bmc_index_set_free(NULL);
    CHECK_STATUS(bmc_index_set_find(NULL, 0, &(size_t){0}), BMC_ERR_INVALID_ARGUMENT);

    set = open_set(0);
    if (!set)
        return;
    int64_t ids[4];
    float scores[4], zero[64] = {0}, nan_query[64];
    for (size_t i = 0; i < 64; i++)
        nan_query[i] = i == 3 ? NAN : 1.0f;
    CHECK_STATUS(bmc_index_set_find(set, 0, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_search(NULL, fx.query, 1, 2, NULL, ids, scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_search(set, NULL, 1, 2, NULL, ids, scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_search(set, fx.query, 1, 2, NULL, NULL, scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_search(set, fx.query, 0, 2, NULL, ids, scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_search(set, fx.query, 1, 0, NULL, ids, scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_search(set, fx.query, 3, 2, NULL, ids, scores, 4), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_index_set_search(set, zero, 1, 2, NULL, ids, scores, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_set_search(set, nan_query, 1, 2, NULL, ids, scores, 4), BMC_ERR_INVALID_ARGUMENT);
    bmc_index_search_options options = {0};
    CHECK_STATUS(bmc_index_set_search(set, fx.query, 1, 2, &options, ids, scores, 4),
                 BMC_ERR_INVALID_ARGUMENT);
    /* scores may be NULL */
    CHECK_STATUS(bmc_index_set_search(set, fx.query, 2, 2, NULL, ids, NULL, 4), BMC_OK);
    CHECK(ids[0] == fx.top_ids[0][0] && ids[2] == fx.top_ids[0][fx.k], "ids without scores");
    bmc_index_set_free(set);
}

int main(void)
{
    if (!load_fixture()) {
        fprintf(stderr, "test_index_set: missing fixtures in %s/index_set (run make fixtures)\n",
                harness_fixtures());
        return 1;
    }
    RUN(test_same_as_one_index);
    RUN(test_matches_numpy);
    RUN(test_entries);
    RUN(test_manifests);
    RUN(test_bad_manifests);
    RUN(test_replaced_shard);
    RUN(test_many_small_shards);
    RUN(test_ids_across_shards);
    RUN(test_bad_arguments);
    return harness_summary("test_index_set");
}
