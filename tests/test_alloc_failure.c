/* SPDX-License-Identifier: MIT */
/* Allocation-failure injection in SQLite's style (docs/reliability.md, "Allocation failures").
 *
 * This program is linked with -Wl,--wrap=malloc,... (the Makefile's ALLOC_WRAP), so every call
 * to malloc, calloc, realloc, strdup and aligned_alloc made by the library's own objects (and
 * this file's) goes to the __wrap_* functions below; libtorch, libpng, libjpeg, GDCM, cJSON,
 * utf8proc and glibc keep their own references and are never failed. For each representative
 * call it first counts the allocations N_total of a clean run, then, for every N in
 * 1..N_total, runs the call again with the N-th allocation failing, then with every
 * allocation from the N-th on failing (skipped when the first run made no allocation after
 * the N-th, since it would run the same code). The call must return BMC_OK with the clean run's result
 * or BMC_ERR_OUT_OF_MEMORY; after a failure the handles involved must be as before and the
 * same call, without failures, must give the clean run's result. In the sanitizer build
 * LeakSanitizer checks after every call that nothing leaked.
 *
 * The results compared are those of the library itself (a clean run against a failing one):
 * what this test pins is that a failure changes nothing, not the values, which the parity
 * tests compare with their references. */
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "biomedclip.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#else
#define HAVE_LSAN 0
#endif

/* ---- the counting allocator ------------------------------------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
char *__real_strdup(const char *text);
void *__real_aligned_alloc(size_t alignment, size_t size);

/* Atomic because index searches and encoders may allocate on worker threads. */
static atomic_int alloc_armed;
static atomic_long alloc_seen;     /* allocations counted since alloc_begin() */
static atomic_long alloc_failed;   /* allocations failed since alloc_begin() */
static long alloc_fail_at;         /* 1-based; 0: fail none */
static int alloc_persistent;       /* fail every allocation from the fail_at-th on */

static int alloc_should_fail(void)
{
    if (!atomic_load(&alloc_armed))
        return 0;
    long n = atomic_fetch_add(&alloc_seen, 1) + 1;
    if (alloc_fail_at > 0 && (n == alloc_fail_at || (alloc_persistent && n > alloc_fail_at))) {
        atomic_fetch_add(&alloc_failed, 1);
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t size)
{
    if (alloc_should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_malloc(size);
}

void *__wrap_calloc(size_t count, size_t size)
{
    if (alloc_should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_calloc(count, size);
}

void *__wrap_realloc(void *ptr, size_t size)
{
    if (alloc_should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_realloc(ptr, size);
}

char *__wrap_strdup(const char *text)
{
    if (alloc_should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_strdup(text);
}

void *__wrap_aligned_alloc(size_t alignment, size_t size)
{
    if (alloc_should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_aligned_alloc(alignment, size);
}

static void alloc_begin(long fail_at, int persistent)
{
    alloc_fail_at = fail_at;
    alloc_persistent = persistent;
    atomic_store(&alloc_seen, 0);
    atomic_store(&alloc_failed, 0);
    atomic_store(&alloc_armed, 1);
}

static long alloc_end(void)
{
    atomic_store(&alloc_armed, 0);
    return atomic_load(&alloc_seen);
}

/* ---- results ---------------------------------------------------------------------------- */

/* FNV-1a over the bytes of a result: two runs agree when their digests do. */
typedef uint64_t digest;
#define DIGEST_INIT 1469598103934665603ull

static void mix(digest *d, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        *d ^= p[i];
        *d *= 1099511628211ull;
    }
}

static void mix_i64(digest *d, int64_t v) { mix(d, &v, sizeof v); }

/* A call under test. setup (not failing) makes `state`; call is the call under test, run with
 * failures armed; result (not failing) digests what a successful call produced; unchanged
 * (optional) says whether the state is still what setup made after a failed call; teardown
 * frees everything, including what a successful call made. */
typedef struct scenario {
    const char *name;
    int (*setup)(void **state);
    bmc_status (*call)(void *state);
    int (*result)(void *state, digest *d);
    int (*unchanged)(void *state);
    void (*teardown)(void *state);
    const void *arg;
} scenario;

static const scenario *current;
static long points_total, calls_total;

/* Runs the call once with allocation `fail_at` failing (with every later one too when
 * `persistent`); returns the number of allocations the failing call attempted. */
static long run_once(const scenario *s, long fail_at, int persistent, digest clean, int *ok)
{
    void *state = NULL;
    *ok = 0;
    if (!s->setup(&state)) {
        CHECK(0, "%s: setup failed: %s", s->name, bmc_last_error());
        return 0;
    }
    /* A known message first, so that a failure which sets none is seen. */
    char sentinel[256];
    bmc_index_create(0, BMC_DTYPE_F32, NULL);
    snprintf(sentinel, sizeof sentinel, "%s", bmc_last_error());
    alloc_begin(fail_at, persistent);
    bmc_status status = s->call(state);
    long seen = alloc_end();
    long failed = atomic_load(&alloc_failed);
    calls_total++;
    int good = 1;
    if (status != BMC_OK) {
        if (status != BMC_ERR_OUT_OF_MEMORY || failed == 0) {
            CHECK(0, "%s: failing allocation %ld%s: status %d (%s), expected %d; %s", s->name,
                  fail_at, persistent ? " on" : "", status, bmc_status_string(status),
                  BMC_ERR_OUT_OF_MEMORY, bmc_last_error());
            good = 0;
        } else if (strcmp(bmc_last_error(), sentinel) == 0) {
            CHECK(0, "%s: failing allocation %ld%s: BMC_ERR_OUT_OF_MEMORY without a message",
                  s->name, fail_at, persistent ? " on" : "");
            good = 0;
        }
        if (s->unchanged && !s->unchanged(state)) {
            CHECK(0, "%s: failing allocation %ld%s left the handle changed", s->name, fail_at,
                  persistent ? " on" : "");
            good = 0;
        }
        /* The same call on the same handles, without failures, must now succeed. */
        status = s->call(state);
        if (status != BMC_OK) {
            CHECK(0, "%s: after failing allocation %ld%s the call fails: %s", s->name, fail_at,
                  persistent ? " on" : "", bmc_last_error());
            good = 0;
        }
    }
    digest d = DIGEST_INIT;
    if (status == BMC_OK && !s->result(state, &d)) {
        CHECK(0, "%s: cannot read the result back: %s", s->name, bmc_last_error());
        good = 0;
    }
    if (fail_at > 0 && status == BMC_OK && d != clean) {
        CHECK(0, "%s: failing allocation %ld%s changed the result", s->name, fail_at,
              persistent ? " on" : "");
        good = 0;
    }
    s->teardown(state);
    *ok = good;
    return seen;
}

static void run_scenario(const scenario *s)
{
    current = s;
    harness_current = s->name;
    void *state = NULL;
    /* The clean run: its allocation count and its result. */
    if (!s->setup(&state)) {
        CHECK(0, "%s: setup failed: %s", s->name, bmc_last_error());
        return;
    }
    alloc_begin(0, 0);
    bmc_status status = s->call(state);
    long total = alloc_end();
    digest clean = DIGEST_INIT;
    int have = status == BMC_OK && s->result(state, &clean);
    s->teardown(state);
    CHECK(have, "%s: the clean run fails: %s", s->name, bmc_last_error());
    if (!have)
        return;
    /* Every N fails alone; then every N on, unless the call made no allocation after the
     * N-th when it failed alone: then failing the later ones too would run the same code. */
    long points = 0;
    for (long n = 1; n <= total; n++) {
        for (int persistent = 0; persistent <= 1; persistent++) {
            int ok;
            long seen = run_once(s, n, persistent, clean, &ok);
            points++;
            CHECK(ok, "%s: failure point %ld%s (above)", s->name, n, persistent ? " on" : "");
            if (seen <= n)
                break;
        }
    }
#if HAVE_LSAN
    CHECK(__lsan_do_recoverable_leak_check() == 0, "%s: leaks (LeakSanitizer's report above)",
          s->name);
#endif
    points_total += points;
    printf("  %-32s %5ld allocations, %5ld failure points\n", s->name, total, points);
    fflush(stdout);
}

/* ---- test data -------------------------------------------------------------------------- */

static char fixtures[4096], data_dir[4096], tmp_dir[4200];

static char *path_in(const char *dir, const char *name)
{
    static char paths[8][8192];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

/* The whole file as a malloc'd buffer (not failing: read outside the armed window). */
static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (data) {
        data[n] = '\0';
        *size = (size_t)n;
    }
    return data;
}

static int digest_file(const char *path, digest *d)
{
    size_t size;
    void *data = read_file(path, &size);
    if (!data)
        return 0;
    mix(d, data, size);
    free(data);
    return 1;
}

/* Files left in tmp_dir: a failed save must leave no temporary file behind. */
static int tmp_files(void)
{
    DIR *dir = opendir(tmp_dir);
    int n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)))
        n += e->d_name[0] != '.';
    if (dir)
        closedir(dir);
    return n;
}

static void clear_tmp(void)
{
    DIR *dir = opendir(tmp_dir);
    struct dirent *e;
    while (dir && (e = readdir(dir)))
        if (e->d_name[0] != '.')
            unlink(path_in(tmp_dir, e->d_name));
    if (dir)
        closedir(dir);
}

/* A deterministic generator for test vectors (xorshift). */
static uint64_t rng_state = 88172645463325252ull;
static float rng_float(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* ---- images ----------------------------------------------------------------------------- */

static int digest_image(const bmc_image *image, digest *d)
{
    int32_t w, h, mode;
    if (bmc_image_info(image, &w, &h, &mode) != BMC_OK)
        return 0;
    size_t size = (size_t)w * (size_t)h * 3;
    uint8_t *rgb = malloc(size);
    int ok = rgb && bmc_image_to_rgb8(image, rgb, size) == BMC_OK;
    if (ok) {
        mix_i64(d, w);
        mix_i64(d, h);
        mix_i64(d, mode);
        mix(d, rgb, size);
    }
    free(rgb);
    return ok;
}

typedef struct image_state {
    const char *path;
    void *data;
    size_t size;
    bmc_image *image;
    bmc_dicom *dicom;
    float *tensor;
    const bmc_preprocess_options *options;
} image_state;

static int image_setup(void **state)
{
    image_state *s = calloc(1, sizeof *s);
    s->path = current->arg;
    *state = s;
    return 1;
}

static int image_setup_memory(void **state)
{
    image_setup(state);
    image_state *s = *state;
    s->data = read_file(s->path, &s->size);
    return s->data != NULL;
}

static void image_teardown(void *state)
{
    image_state *s = state;
    bmc_image_free(s->image);
    bmc_dicom_free(s->dicom);
    free(s->data);
    free(s->tensor);
    free(s);
}

static bmc_status image_load_file(void *state)
{
    image_state *s = state;
    return bmc_image_load_file(s->path, &s->image);
}

static bmc_status image_load_memory(void *state)
{
    image_state *s = state;
    return bmc_image_load_memory(s->data, s->size, &s->image);
}

static int image_result(void *state, digest *d)
{
    return digest_image(((image_state *)state)->image, d);
}

static int image_not_made(void *state)
{
    image_state *s = state;
    return s->image == NULL && s->dicom == NULL;
}

static bmc_preprocess_options squash_options;

static int preprocess_setup(void **state)
{
    image_setup(state);
    image_state *s = *state;
    s->tensor = malloc(3 * 224 * 224 * sizeof(float));
    return bmc_image_load_file(s->path, &s->image) == BMC_OK;
}

static int preprocess_squash_setup(void **state)
{
    int ok = preprocess_setup(state);
    ((image_state *)*state)->options = &squash_options;
    return ok;
}

static bmc_status image_preprocess(void *state)
{
    image_state *s = state;
    return bmc_preprocess(s->image, s->options, s->tensor, 3 * 224 * 224);
}

static int preprocess_result(void *state, digest *d)
{
    image_state *s = state;
    int32_t side = s->options ? s->options->image_size : 224;
    mix(d, s->tensor, 3 * (size_t)side * (size_t)side * sizeof(float));
    return 1;
}

static bmc_status dicom_open_and_frame(void *state)
{
    image_state *s = state;
    bmc_dicom *dicom = NULL;
    bmc_image *image = NULL;
    bmc_status status = bmc_dicom_open_file(s->path, &dicom);
    if (status == BMC_OK)
        status = bmc_dicom_frame_image(dicom, NULL, &image);
    if (status != BMC_OK) {
        bmc_dicom_free(dicom);
        return status;
    }
    s->dicom = dicom;
    s->image = image;
    return BMC_OK;
}

static int dicom_frame_setup(void **state)
{
    image_setup(state);
    image_state *s = *state;
    return bmc_dicom_open_file(s->path, &s->dicom) == BMC_OK;
}

static bmc_status dicom_frame(void *state)
{
    image_state *s = state;
    return bmc_dicom_frame_image(s->dicom, NULL, &s->image);
}

static int dicom_frame_unchanged(void *state)
{
    return ((image_state *)state)->image == NULL;
}

/* ---- tokenizer -------------------------------------------------------------------------- */

static const char *token_texts[] = {
    "Chest X-ray: small left-sided pneumothorax &amp; &lt;no&gt; effusion.",
    "Caf\xc3\xa9 \xef\xac\x81nal \xe2\x80\x9cquoted\xe2\x80\x9d \xe4\xb8\xad\xe6\x96\x87 "
    "\xef\xbc\xa1\xef\xbc\xa2 [MASK] pseudopseudohypoparathyroidism",
    "supercalifragilisticexpialidocious-and-a-word-much-longer-than-one-hundred-characters-"
    "so-that-it-becomes-unknown-when-wordpiece-reads-it-in-full-xxxxxxxxxxxxxxxx",
};

static bmc_tokenizer *tokenizer;
static char vocab_path[8192];

typedef struct token_state {
    bmc_tokenizer *tokenizer;
    int32_t ids[3 * 256];
    int32_t lengths[3];
    size_t count;
} token_state;

static int token_setup(void **state)
{
    *state = calloc(1, sizeof(token_state));
    return *state != NULL;
}

static void token_teardown(void *state)
{
    token_state *s = state;
    bmc_tokenizer_free(s->tokenizer);
    free(s);
}

static bmc_status tokenizer_create(void *state)
{
    token_state *s = state;
    return bmc_tokenizer_create_file(vocab_path, NULL, &s->tokenizer);
}

static int tokenizer_create_result(void *state, digest *d)
{
    token_state *s = state;
    int32_t size = 0;
    if (bmc_tokenizer_vocab_size(s->tokenizer, &size) != BMC_OK)
        return 0;
    mix_i64(d, size);
    for (size_t i = 0; i < 3; i++) {
        if (bmc_tokenizer_encode(s->tokenizer, token_texts[i], strlen(token_texts[i]), s->ids,
                                 256, &s->count, NULL) != BMC_OK)
            return 0;
        mix(d, s->ids, s->count * sizeof(int32_t));
    }
    return 1;
}

static int tokenizer_not_made(void *state)
{
    return ((token_state *)state)->tokenizer == NULL;
}

static bmc_status tokenizer_encode(void *state)
{
    token_state *s = state;
    for (size_t i = 0; i < 3; i++) {
        bmc_status status = bmc_tokenizer_encode(tokenizer, token_texts[i],
                                                 strlen(token_texts[i]), s->ids + 256 * i, 256,
                                                 &s->count, NULL);
        if (status != BMC_OK)
            return status;
        s->lengths[i] = (int32_t)s->count;
    }
    return BMC_OK;
}

static bmc_status tokenizer_encode_batch(void *state)
{
    token_state *s = state;
    return bmc_tokenizer_encode_batch(tokenizer, token_texts, 3, s->ids, 3 * 256, s->lengths,
                                      NULL);
}

static int token_ids_result(void *state, digest *d)
{
    token_state *s = state;
    for (size_t i = 0; i < 3; i++)
        mix(d, s->ids + 256 * i, (size_t)s->lengths[i] * sizeof(int32_t));
    return 1;
}

/* ---- index ------------------------------------------------------------------------------ */

#define DIM 32
#define ENTRIES 60
#define QUERIES 5
#define TOP 12

static float vectors[ENTRIES * DIM], queries[QUERIES * DIM];
static int64_t ids[ENTRIES];
static const char *texts[ENTRIES];
static char text_store[ENTRIES][48];
static bmc_index *shared_index;
static char saved_index[8192];
static bmc_index_set *shared_set;
static const char *shard_paths[5];
static char shard_store[5][8192];
static char set_manifest[8192];

typedef struct index_state {
    bmc_index *index, *other;
    bmc_index_set *set;
    int64_t ids[QUERIES * TOP];
    float scores[QUERIES * TOP];
    size_t before;
} index_state;

static int index_search_digest(const bmc_index *index, digest *d)
{
    int64_t found[QUERIES * TOP];
    float scores[QUERIES * TOP];
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    options.threads = 1;
    if (bmc_index_search(index, queries, QUERIES, TOP, &options, found, scores,
                         QUERIES * TOP) != BMC_OK)
        return 0;
    mix_i64(d, (int64_t)bmc_index_count(index));
    mix_i64(d, bmc_index_dim(index));
    mix_i64(d, bmc_index_dtype(index));
    mix(d, found, sizeof found);
    mix(d, scores, sizeof scores);
    for (size_t i = 0; i < QUERIES * TOP; i++) {
        char text[64];
        size_t needed;
        if (found[i] < 0)
            continue;
        if (bmc_index_get_text(index, found[i], text, sizeof text, &needed) != BMC_OK)
            return 0;
        mix(d, text, needed);
    }
    return 1;
}

static int index_setup(void **state)
{
    *state = calloc(1, sizeof(index_state));
    return *state != NULL;
}

/* An index holding the first `count` entries. */
static bmc_index *index_with(size_t count, int32_t dtype)
{
    bmc_index *index = NULL;
    if (bmc_index_create(DIM, dtype, &index) != BMC_OK)
        return NULL;
    if (count && bmc_index_add(index, vectors, count, ids, texts) != BMC_OK) {
        bmc_index_free(index);
        return NULL;
    }
    return index;
}

static int index_setup_partial(void **state)
{
    index_setup(state);
    index_state *s = *state;
    s->index = index_with(ENTRIES / 3, (int32_t)(intptr_t)current->arg);
    s->before = ENTRIES / 3;
    return s->index != NULL;
}

static int index_setup_full(void **state)
{
    index_setup(state);
    index_state *s = *state;
    s->index = index_with(ENTRIES, BMC_DTYPE_F32);
    s->before = ENTRIES;
    return s->index != NULL;
}

static int index_setup_pair(void **state)
{
    index_setup(state);
    index_state *s = *state;
    s->index = index_with(ENTRIES / 3, BMC_DTYPE_F32);
    s->before = ENTRIES / 3;
    if (!s->index || bmc_index_create(DIM, BMC_DTYPE_BF16, &s->other) != BMC_OK)
        return 0;
    return bmc_index_add(s->other, vectors + ENTRIES / 3 * DIM, ENTRIES - ENTRIES / 3,
                         ids + ENTRIES / 3, texts + ENTRIES / 3) == BMC_OK;
}

static void index_teardown(void *state)
{
    index_state *s = state;
    bmc_index_free(s->index);
    bmc_index_free(s->other);
    bmc_index_set_free(s->set);
    free(s);
    clear_tmp();
}

/* After a failed add, remove or append the index must hold exactly what it held before. */
static int index_unchanged(void *state)
{
    index_state *s = state;
    if (bmc_index_count(s->index) != s->before)
        return 0;
    for (size_t i = 0; i < s->before; i++) {
        int64_t id;
        if (bmc_index_id_at(s->index, i, &id) != BMC_OK || id != ids[i])
            return 0;
    }
    return 1;
}

static int index_not_made(void *state)
{
    index_state *s = state;
    return s->index == NULL && s->set == NULL && tmp_files() == 0;
}

static bmc_status index_create(void *state)
{
    index_state *s = state;
    return bmc_index_create(DIM, BMC_DTYPE_F16, &s->index);
}

static int index_created_result(void *state, digest *d)
{
    index_state *s = state;
    mix_i64(d, bmc_index_dim(s->index));
    mix_i64(d, bmc_index_dtype(s->index));
    mix_i64(d, (int64_t)bmc_index_count(s->index));
    return 1;
}

static bmc_status index_add(void *state)
{
    index_state *s = state;
    return bmc_index_add(s->index, vectors + ENTRIES / 3 * DIM, ENTRIES - ENTRIES / 3,
                         ids + ENTRIES / 3, texts + ENTRIES / 3);
}

static bmc_status index_remove(void *state)
{
    index_state *s = state;
    int64_t gone[] = {ids[3], ids[17], ids[40], 999999, ids[59]};
    size_t removed = 0;
    bmc_status status = bmc_index_remove(s->index, gone, 5, &removed);
    return status == BMC_OK && removed != 4 ? BMC_ERR_INTERNAL : status;
}

static bmc_status index_append(void *state)
{
    index_state *s = state;
    return bmc_index_append(s->index, s->other);
}

static int index_result(void *state, digest *d)
{
    return index_search_digest(((index_state *)state)->index, d);
}

static bmc_status index_search(void *state)
{
    index_state *s = state;
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    options.threads = (int32_t)(intptr_t)current->arg;
    return bmc_index_search(shared_index, queries, QUERIES, TOP, &options, s->ids, s->scores,
                            QUERIES * TOP);
}

static int search_result(void *state, digest *d)
{
    index_state *s = state;
    mix(d, s->ids, sizeof s->ids);
    mix(d, s->scores, sizeof s->scores);
    return 1;
}

static bmc_status index_save(void *state)
{
    (void)state;
    return bmc_index_save(shared_index, path_in(tmp_dir, "saved.bmcidx"));
}

static int saved_result(void *state, digest *d)
{
    return digest_file(path_in(tmp_dir, "saved.bmcidx"), d);
}

static bmc_status index_load(void *state)
{
    index_state *s = state;
    return bmc_index_load(saved_index, &s->index);
}

static bmc_status index_map(void *state)
{
    index_state *s = state;
    return bmc_index_map(saved_index, 0, &s->index);
}

static int set_digest(const bmc_index_set *set, digest *d)
{
    int64_t found[QUERIES * TOP];
    float scores[QUERIES * TOP];
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    options.threads = 1;
    int32_t dim = bmc_index_set_dim(set);
    float *q = malloc((size_t)QUERIES * (size_t)dim * sizeof *q);
    for (size_t i = 0; q && i < (size_t)QUERIES * (size_t)dim; i++)
        q[i] = queries[i % (QUERIES * DIM)] + 0.001f * (float)i;
    int ok = q && bmc_index_set_search(set, q, QUERIES, TOP, &options, found, scores,
                                       QUERIES * TOP) == BMC_OK;
    free(q);
    if (!ok)
        return 0;
    mix_i64(d, (int64_t)bmc_index_set_count(set));
    mix_i64(d, (int64_t)bmc_index_set_shard_count(set));
    mix(d, found, sizeof found);
    mix(d, scores, sizeof scores);
    return 1;
}

static bmc_status set_open(void *state)
{
    index_state *s = state;
    return bmc_index_set_open(shard_paths, 5, 0, &s->set);
}

static bmc_status set_open_manifest(void *state)
{
    index_state *s = state;
    return bmc_index_set_open_manifest(set_manifest, 0, &s->set);
}

static int set_result(void *state, digest *d)
{
    return set_digest(((index_state *)state)->set, d);
}

static bmc_status set_search(void *state)
{
    index_state *s = state;
    int32_t dim = bmc_index_set_dim(shared_set);
    float q[QUERIES * 1024];
    if (dim > 1024)
        return BMC_ERR_INTERNAL;
    for (size_t i = 0; i < (size_t)QUERIES * (size_t)dim; i++)
        q[i] = queries[i % (QUERIES * DIM)] + 0.001f * (float)i;
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    options.threads = (int32_t)(intptr_t)current->arg;
    return bmc_index_set_search(shared_set, q, QUERIES, TOP, &options, s->ids, s->scores,
                                QUERIES * TOP);
}

static bmc_status set_write_manifest(void *state)
{
    (void)state;
    return bmc_index_set_write_manifest(path_in(tmp_dir, "written.bmcset"), shard_paths, 5, 0);
}

static int written_manifest_result(void *state, digest *d)
{
    return digest_file(path_in(tmp_dir, "written.bmcset"), d);
}

/* ---- caption metrics -------------------------------------------------------------------- */

static const char *captions[] = {
    "small left apical pneumothorax without effusion",
    "the heart is normal in size; lungs are clear.",
    "Right lower lobe consolidation, likely pneumonia",
};
static const char *caption_refs[] = {
    "a small pneumothorax at the left apex", "left apical pneumothorax, no pleural effusion",
    "normal heart size and clear lungs", "the lungs are clear and the heart is normal",
    "no acute disease",
    "consolidation in the right lower lobe consistent with pneumonia",
};
static const size_t caption_ref_counts[] = {2, 3, 1};

typedef struct caption_state {
    double corpus, per[3];
} caption_state;

static int caption_setup(void **state)
{
    *state = calloc(1, sizeof(caption_state));
    return *state != NULL;
}

static void plain_teardown(void *state) { free(state); }

static bmc_status caption_score(void *state)
{
    caption_state *s = state;
    bmc_caption_options options;
    bmc_caption_options_init(&options);
    options.bleu_smoothing = 1;
    return bmc_caption_score((int32_t)(intptr_t)current->arg, captions, 3, caption_refs,
                             caption_ref_counts, &options, &s->corpus, s->per);
}

static int caption_result(void *state, digest *d)
{
    caption_state *s = state;
    mix(d, &s->corpus, sizeof s->corpus);
    mix(d, s->per, sizeof s->per);
    return 1;
}

/* ---- model, zero-shot, probes ----------------------------------------------------------- */

static bmc_model *model;
static bmc_text_encoder *text_encoder;
static bmc_image_encoder *image_encoder;
static bmc_classifier *shared_classifier;
static bmc_multilabel *shared_multilabel;
static bmc_image *sample_image;
static int32_t embed_dim;
static float image_embeddings[4 * 512];

static const char *labels[] = {"pneumothorax", "pleural effusion", "cardiomegaly", "normal"};
static const char *templates[] = {"a chest X-ray showing {}.", "an image of {}"};
static const char *negatives[] = {"a chest X-ray showing no {}.", "an image without {}"};

typedef struct model_state {
    bmc_text_encoder *text_encoder;
    bmc_image_encoder *image_encoder;
    bmc_classifier *classifier;
    bmc_multilabel *multilabel;
    bmc_probe *probe;
    float values[4 * 512];
    int32_t top[4];
} model_state;

static int model_setup(void **state)
{
    *state = calloc(1, sizeof(model_state));
    return *state != NULL;
}

static void model_teardown(void *state)
{
    model_state *s = state;
    bmc_text_encoder_free(s->text_encoder);
    bmc_image_encoder_free(s->image_encoder);
    bmc_classifier_free(s->classifier);
    bmc_multilabel_free(s->multilabel);
    bmc_probe_free(s->probe);
    free(s);
    clear_tmp();
}

static int model_not_made(void *state)
{
    model_state *s = state;
    return !s->text_encoder && !s->image_encoder && !s->classifier && !s->multilabel &&
           !s->probe && tmp_files() == 0;
}

static bmc_status text_encoder_create(void *state)
{
    model_state *s = state;
    return bmc_text_encoder_create(model, NULL, &s->text_encoder);
}

static int text_encoder_result(void *state, digest *d)
{
    model_state *s = state;
    if (bmc_text_encoder_encode(s->text_encoder, labels, 2, 0, s->values,
                                2 * (size_t)embed_dim) != BMC_OK)
        return 0;
    mix(d, s->values, 2 * (size_t)embed_dim * sizeof(float));
    return 1;
}

static bmc_status text_encode(void *state)
{
    model_state *s = state;
    return bmc_text_encoder_encode(text_encoder, token_texts, 3, 0, s->values,
                                   3 * (size_t)embed_dim);
}

static int values_result(void *state, digest *d)
{
    mix(d, ((model_state *)state)->values, 4 * (size_t)embed_dim * sizeof(float));
    return 1;
}

static bmc_status image_encoder_create(void *state)
{
    model_state *s = state;
    return bmc_image_encoder_create(model, NULL, &s->image_encoder);
}

static int image_encoder_result(void *state, digest *d)
{
    model_state *s = state;
    const bmc_image *images[] = {sample_image};
    if (bmc_image_encoder_encode(s->image_encoder, images, 1, 0, s->values,
                                 (size_t)embed_dim) != BMC_OK)
        return 0;
    mix(d, s->values, (size_t)embed_dim * sizeof(float));
    return 1;
}

static bmc_status image_encode(void *state)
{
    model_state *s = state;
    const bmc_image *images[] = {sample_image, sample_image};
    return bmc_image_encoder_encode(image_encoder, images, 2, 0, s->values,
                                    2 * (size_t)embed_dim);
}

static bmc_status classifier_create(void *state)
{
    model_state *s = state;
    return bmc_classifier_create(text_encoder, labels, 4, templates, 2, &s->classifier);
}

static int classifier_result(void *state, digest *d)
{
    model_state *s = state;
    if (bmc_classifier_probabilities(s->classifier, image_embeddings, 4, s->values, 16) != BMC_OK)
        return 0;
    mix(d, s->values, 16 * sizeof(float));
    for (size_t i = 0; i < 4; i++)
        mix(d, bmc_classifier_label(s->classifier, i), strlen(labels[i]) + 1);
    return 1;
}

static bmc_status classify(void *state)
{
    model_state *s = state;
    return bmc_classify(shared_classifier, image_encoder, sample_image, 4, s->top, s->values);
}

static int classify_result(void *state, digest *d)
{
    model_state *s = state;
    mix(d, s->top, sizeof s->top);
    mix(d, s->values, 4 * sizeof(float));
    return 1;
}

static bmc_status multilabel_create(void *state)
{
    model_state *s = state;
    return bmc_multilabel_create(text_encoder, labels, 4, templates, 2, negatives, 2,
                                 &s->multilabel);
}

static int multilabel_result(void *state, digest *d)
{
    model_state *s = state;
    if (bmc_multilabel_probabilities(s->multilabel, image_embeddings, 4, s->values, 16) !=
        BMC_OK)
        return 0;
    mix(d, s->values, 16 * sizeof(float));
    return 1;
}

static bmc_status multilabel_classify(void *state)
{
    model_state *s = state;
    return bmc_multilabel_classify(shared_multilabel, image_encoder, sample_image, s->values, 4);
}

static int multilabel_classify_result(void *state, digest *d)
{
    mix(d, ((model_state *)state)->values, 4 * sizeof(float));
    return 1;
}

/* Probe training on the probe fixtures' "three" case (three classes). */
static float *probe_train_x;
static int32_t *probe_train_y;
static size_t probe_count;
static const char *probe_labels[] = {"alpha", "beta", "gamma"};
static char probe_file[8192];

static bmc_status probe_train(void *state)
{
    model_state *s = state;
    bmc_probe_options options;
    bmc_probe_options_init(&options);
    options.max_iterations = 50;
    return bmc_probe_train(model, probe_train_x, probe_count, probe_train_y, probe_labels, 3,
                           &options, &s->probe);
}

static int probe_result(void *state, digest *d)
{
    model_state *s = state;
    size_t n = 3 * (size_t)embed_dim;
    float *w = malloc(n * sizeof *w);
    float b[3];
    int ok = w && bmc_probe_weights(s->probe, w, n, b, 3) == BMC_OK &&
             bmc_probe_probabilities(s->probe, image_embeddings, 4, s->values, 12) == BMC_OK;
    if (ok) {
        mix(d, w, n * sizeof *w);
        mix(d, b, sizeof b);
        mix(d, s->values, 12 * sizeof(float));
        for (size_t i = 0; i < 3; i++)
            mix(d, bmc_probe_label(s->probe, i), strlen(probe_labels[i]) + 1);
        mix(d, bmc_probe_model_name(s->probe), strlen(bmc_probe_model_name(s->probe)));
    }
    free(w);
    return ok;
}

static int probe_setup(void **state)
{
    model_setup(state);
    return probe_train(*state) == BMC_OK;
}

static bmc_status probe_save(void *state)
{
    return bmc_probe_save(((model_state *)state)->probe, path_in(tmp_dir, "saved.bmcprobe"));
}

static int probe_saved_result(void *state, digest *d)
{
    return digest_file(path_in(tmp_dir, "saved.bmcprobe"), d);
}

static int probe_saved_unchanged(void *state)
{
    return tmp_files() == 0;
}

static bmc_status probe_load(void *state)
{
    return bmc_probe_load(model, probe_file, &((model_state *)state)->probe);
}

static bmc_status model_load(void *state)
{
    model_state *s = state;
    bmc_model *loaded = NULL;
    bmc_status status = bmc_model_load(path_in(fixtures, "model/model.bmc.pt"), NULL, &loaded);
    if (status != BMC_OK)
        return status;
    /* What the caller sees of a loaded model, kept while the model is freed. */
    s->top[0] = bmc_model_embed_dim(loaded);
    s->top[1] = bmc_model_context_length(loaded);
    s->values[0] = bmc_model_logit_scale(loaded);
    bmc_model_free(loaded);
    return BMC_OK;
}

static int model_load_result(void *state, digest *d)
{
    model_state *s = state;
    mix(d, s->top, 2 * sizeof(int32_t));
    mix(d, s->values, sizeof(float));
    return 1;
}

/* ---- pixel views, retrieval, the task heads --------------------------------------------- */

static uint16_t pixels_u16[97 * 61];
static int16_t pixels_s16[64 * 40];

static bmc_status image_from_pixels(void *state)
{
    image_state *s = state;
    bmc_pixels view;
    bmc_pixels_init(&view);
    if (current->arg) { /* CT-like: signed, rescaled, windowed, inverted */
        view.data = pixels_s16;
        view.width = 64;
        view.height = 40;
        view.sample_type = BMC_SAMPLE_S16;
        view.has_rescale = 1;
        view.rescale_slope = 1.5;
        view.rescale_intercept = -1024;
        view.monochrome1 = 1;
    } else {
        view.data = pixels_u16;
        view.width = 97;
        view.height = 61;
        view.sample_type = BMC_SAMPLE_U16;
    }
    view.channels = 1;
    view.has_window = 1;
    view.window_center = 600;
    view.window_width = 1400;
    return bmc_image_from_pixels(&view, &s->image);
}

static char *vocab_text;
static size_t vocab_size;

static bmc_status tokenizer_create_memory(void *state)
{
    token_state *s = state;
    return bmc_tokenizer_create_memory(vocab_text, vocab_size, NULL, &s->tokenizer);
}

static char caption_bank[8192];

static int retrieval_setup(void **state)
{
    index_setup(state);
    index_state *s = *state;
    return bmc_index_create(embed_dim, BMC_DTYPE_F32, &s->index) == BMC_OK;
}

static bmc_status index_add_text_file(void *state)
{
    index_state *s = state;
    size_t added = 0;
    bmc_status status = bmc_index_add_text_file(s->index, text_encoder, caption_bank, 100, &added);
    return status == BMC_OK && added != bmc_index_count(s->index) ? BMC_ERR_INTERNAL : status;
}

static int retrieval_result(void *state, digest *d)
{
    index_state *s = state;
    int64_t found[8];
    float scores[8];
    if (bmc_index_search_text(s->index, text_encoder, "pneumothorax", 8, found, scores) != BMC_OK)
        return 0;
    mix_i64(d, (int64_t)bmc_index_count(s->index));
    mix(d, found, sizeof found);
    mix(d, scores, sizeof scores);
    return 1;
}

static bmc_index *caption_index;

static bmc_status index_search_text(void *state)
{
    index_state *s = state;
    return bmc_index_search_text(caption_index, text_encoder, "a chest X-ray with effusion", 8,
                                 s->ids, s->scores);
}

static int search_text_result(void *state, digest *d)
{
    index_state *s = state;
    mix(d, s->ids, 8 * sizeof(int64_t));
    mix(d, s->scores, 8 * sizeof(float));
    return 1;
}

static const char *encode_paths[3];

static bmc_status image_encode_files(void *state)
{
    model_state *s = state;
    return bmc_image_encoder_encode_files(image_encoder, encode_paths, 3, 0, s->values,
                                          3 * (size_t)embed_dim);
}

static bmc_model *vqa_model, *segment_model;
static bmc_vqa *shared_vqa;
static bmc_segmenter *shared_segmenter;
static char vqa_head[8192], segment_decoder[8192];
static const char *questions[] = {"is there a lesion in the liver?", "what organ is shown?"};
static const char *prompts[] = {"liver", "kidney"};

typedef struct head_state {
    bmc_vqa *vqa;
    bmc_segmenter *segmenter;
    int32_t answers[2 * 64];
    float *values;
} head_state;

static int head_setup(void **state)
{
    head_state *s = calloc(1, sizeof *s);
    *state = s;
    return s && (s->values = calloc(2 * 512 * 512, sizeof(float))) != NULL;
}

static void head_teardown(void *state)
{
    head_state *s = state;
    bmc_vqa_free(s->vqa);
    bmc_segmenter_free(s->segmenter);
    free(s->values);
    free(s);
}

static int head_not_made(void *state)
{
    head_state *s = state;
    return !s->vqa && !s->segmenter;
}

static bmc_status vqa_ask_with(const bmc_vqa *vqa, head_state *s)
{
    size_t k = bmc_vqa_answer_count(vqa);
    if (k == 0 || k > 64)
        return BMC_ERR_INTERNAL;
    return bmc_vqa_ask(vqa, sample_image, questions, 2, NULL, k, s->answers, s->values, 2 * k);
}

static int vqa_result_of(const bmc_vqa *vqa, head_state *s, digest *d)
{
    size_t k = bmc_vqa_answer_count(vqa);
    mix(d, s->answers, 2 * k * sizeof(int32_t));
    mix(d, s->values, 2 * k * sizeof(float));
    for (size_t i = 0; i < k; i++)
        mix(d, bmc_vqa_answer(vqa, i), strlen(bmc_vqa_answer(vqa, i)));
    return 1;
}

static bmc_status vqa_load(void *state)
{
    return bmc_vqa_load(vqa_model, vqa_head, &((head_state *)state)->vqa);
}

static int vqa_loaded_result(void *state, digest *d)
{
    head_state *s = state;
    return vqa_ask_with(s->vqa, s) == BMC_OK && vqa_result_of(s->vqa, s, d);
}

static bmc_status vqa_ask(void *state)
{
    return vqa_ask_with(shared_vqa, state);
}

static int vqa_ask_result(void *state, digest *d)
{
    return vqa_result_of(shared_vqa, state, d);
}

static bmc_status segmenter_load(void *state)
{
    return bmc_segmenter_load(segment_model, segment_decoder, NULL,
                              &((head_state *)state)->segmenter);
}

static bmc_status segment_with(const bmc_segmenter *segmenter, head_state *s)
{
    return bmc_segment(segmenter, sample_image, prompts, 2, s->values, 2 * 512 * 512);
}

static int segment_result_of(head_state *s, digest *d)
{
    int32_t w, h;
    if (bmc_image_info(sample_image, &w, &h, NULL) != BMC_OK)
        return 0;
    mix(d, s->values, 2 * (size_t)w * (size_t)h * sizeof(float));
    return 1;
}

static int segmenter_loaded_result(void *state, digest *d)
{
    head_state *s = state;
    return segment_with(s->segmenter, s) == BMC_OK && segment_result_of(s, d);
}

static bmc_status segment(void *state)
{
    return segment_with(shared_segmenter, state);
}

static int segment_call_result(void *state, digest *d)
{
    return segment_result_of(state, d);
}

static char samples_dir[8192];

static bmc_status index_add_image_directory(void *state)
{
    index_state *s = state;
    size_t added = 0, skipped = 0;
    bmc_status status = bmc_index_add_image_directory(s->index, image_encoder, samples_dir, 10,
                                                      &added, &skipped);
    return status == BMC_OK && added != bmc_index_count(s->index) ? BMC_ERR_INTERNAL : status;
}

static bmc_status index_search_composed(void *state)
{
    index_state *s = state;
    return bmc_index_search_composed(caption_index, image_encoder, text_encoder, sample_image,
                                     "with a larger effusion", 0.5f, 8, s->ids, s->scores);
}

static const char *candidates[] = {"yes", "no", "the liver"};

static bmc_status vqa_zero_shot(void *state)
{
    model_state *s = state;
    return bmc_vqa_zero_shot(image_encoder, text_encoder, sample_image,
                             "is there a pleural effusion?", candidates, 3, s->values, 3);
}

static bmc_status png_write(void *state)
{
    image_state *s = state;
    return bmc_png_write_file(path_in(tmp_dir, "written.png"), s->data, 97, 61, 3);
}

static int png_written_result(void *state, digest *d)
{
    bmc_image *image = NULL;
    if (bmc_image_load_file(path_in(tmp_dir, "written.png"), &image) != BMC_OK)
        return 0;
    int ok = digest_image(image, d);
    bmc_image_free(image);
    return ok;
}

static int png_write_setup(void **state)
{
    image_setup(state);
    image_state *s = *state;
    s->data = malloc(97 * 61 * 3);
    for (size_t i = 0; s->data && i < 97 * 61 * 3; i++)
        ((uint8_t *)s->data)[i] = (uint8_t)(i * 31 + (i >> 7));
    return s->data != NULL;
}

static void png_write_teardown(void *state)
{
    image_teardown(state);
    clear_tmp();
}

static int nothing_written(void *state)
{
    return tmp_files() == 0;
}

/* ---- the calls -------------------------------------------------------------------------- */

static char png_gray8[8192], png_palette[8192], png_gray16[8192], jpeg_rgb[8192];
static char png_rgba[8192], dcm_ct[8192], dcm_rle[8192], dcm_jpeg[8192];

/* The path of one of pydicom's test files, from the DICOM fixtures' manifest. */
static int dicom_file(const char *name, char *path, size_t size)
{
    char line[16384];
    FILE *f = fopen(path_in(fixtures, "dicom/manifest.txt"), "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *kind = strtok(line, "\t"), *file = strtok(NULL, "\t"), *full = strtok(NULL, "\t");
        if (kind && file && full && strcmp(file, name) == 0) {
            snprintf(path, size, "%s", full);
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found;
}

static int read_floats(const char *path, float *out, size_t count)
{
    size_t size;
    void *data = read_file(path, &size);
    int ok = data && size == count * sizeof(float);
    if (ok)
        memcpy(out, data, size);
    free(data);
    return ok;
}

static int load_shared(void)
{
    for (size_t i = 0; i < ENTRIES; i++) {
        ids[i] = 1000 + 7 * (int64_t)i;
        snprintf(text_store[i], sizeof text_store[i], "entry %zu \xc3\xa9t\xc3\xa9", i);
        texts[i] = i % 5 == 4 ? NULL : text_store[i];
        for (size_t j = 0; j < DIM; j++)
            vectors[i * DIM + j] = rng_float();
    }
    for (size_t i = 0; i < QUERIES * DIM; i++)
        queries[i] = rng_float();
    shared_index = index_with(ENTRIES, BMC_DTYPE_F16);
    snprintf(saved_index, sizeof saved_index, "%s/shared.bmcidx", tmp_dir);
    if (!shared_index || bmc_index_save(shared_index, saved_index) != BMC_OK)
        return 0;
    char dir[4096];
    if (!realpath(path_in(fixtures, "index_set"), dir))
        return 0;
    for (size_t i = 0; i < 5; i++) {
        snprintf(shard_store[i], sizeof shard_store[i], "%s/shard_f32_%zu.bmcidx", dir, i);
        shard_paths[i] = shard_store[i];
    }
    snprintf(set_manifest, sizeof set_manifest, "%s/set_f32.bmcset", dir);
    if (bmc_index_set_open(shard_paths, 5, 0, &shared_set) != BMC_OK)
        return 0;

    snprintf(vocab_path, sizeof vocab_path, "%s/bert-base-uncased-vocab.txt", data_dir);
    if (bmc_tokenizer_create_file(vocab_path, NULL, &tokenizer) != BMC_OK)
        return 0;

    snprintf(png_gray8, sizeof png_gray8, "%s/samples/xray_like_gray8.png", data_dir);
    snprintf(png_palette, sizeof png_palette, "%s/samples/diagram_palette_trns.png", data_dir);
    snprintf(png_gray16, sizeof png_gray16, "%s/samples/ct_like_gray16.png", data_dir);
    snprintf(jpeg_rgb, sizeof jpeg_rgb, "%s/samples/histology_like_rgb.jpg", data_dir);
    snprintf(png_rgba, sizeof png_rgba, "%s", path_in(fixtures, "model/images/rgba_256x200.png"));
    if (!dicom_file("CT_small.dcm", dcm_ct, sizeof dcm_ct) ||
        !dicom_file("MR_small_RLE.dcm", dcm_rle, sizeof dcm_rle) ||
        !dicom_file("SC_rgb_jpeg_dcmtk.dcm", dcm_jpeg, sizeof dcm_jpeg))
        return 0;
    bmc_preprocess_options_init(&squash_options);
    squash_options.image_size = 96;
    squash_options.resize_mode = BMC_RESIZE_SQUASH;
    squash_options.filter = BMC_FILTER_BILINEAR;

    if (bmc_model_load(path_in(fixtures, "model/model.bmc.pt"), NULL, &model) != BMC_OK)
        return 0;
    embed_dim = bmc_model_embed_dim(model);
    if (embed_dim <= 0 || embed_dim > 512)
        return 0;
    if (bmc_text_encoder_create(model, NULL, &text_encoder) != BMC_OK ||
        bmc_image_encoder_create(model, NULL, &image_encoder) != BMC_OK ||
        bmc_image_load_file(png_rgba, &sample_image) != BMC_OK)
        return 0;
    for (size_t i = 0; i < 4 * (size_t)embed_dim; i++)
        image_embeddings[i] = rng_float();
    if (bmc_classifier_create(text_encoder, labels, 4, templates, 2, &shared_classifier) !=
            BMC_OK ||
        bmc_multilabel_create(text_encoder, labels, 4, NULL, 0, NULL, 0, &shared_multilabel) !=
            BMC_OK)
        return 0;

    for (size_t i = 0; i < 97 * 61; i++)
        pixels_u16[i] = (uint16_t)((i * 2654435761u) >> 20);
    for (size_t i = 0; i < 64 * 40; i++)
        pixels_s16[i] = (int16_t)((int)((i * 2654435761u) >> 21) - 1024);
    vocab_text = read_file(vocab_path, &vocab_size);
    /* A small caption bank: each failure point encodes it twice. */
    snprintf(caption_bank, sizeof caption_bank, "%s/captions.txt", tmp_dir);
    FILE *bank = fopen(caption_bank, "w");
    if (!bank)
        return 0;
    fputs("small left apical pneumothorax\nno pleural effusion\n\ncardiomegaly with "
          "\xc3\xa9" "dema\nright lower lobe consolidation\n", bank);
    fclose(bank);
    size_t added;
    if (!vocab_text || bmc_index_create(embed_dim, BMC_DTYPE_F32, &caption_index) != BMC_OK ||
        bmc_index_add_text_file(caption_index, text_encoder, caption_bank, 0, &added) != BMC_OK)
        return 0;
    snprintf(samples_dir, sizeof samples_dir, "%s/samples", data_dir);
    encode_paths[0] = jpeg_rgb;
    encode_paths[1] = png_palette;
    encode_paths[2] = dcm_ct;
    snprintf(vqa_head, sizeof vqa_head, "%s", path_in(fixtures, "vqa/fusion.vqa.pt"));
    snprintf(segment_decoder, sizeof segment_decoder, "%s",
             path_in(fixtures, "segmentation/trained.bmcseg.pt"));
    if (bmc_model_load(path_in(fixtures, "vqa/model.bmc.pt"), NULL, &vqa_model) != BMC_OK ||
        bmc_vqa_load(vqa_model, vqa_head, &shared_vqa) != BMC_OK ||
        bmc_model_load(path_in(fixtures, "segmentation/model.bmc.pt"), NULL, &segment_model) !=
            BMC_OK ||
        bmc_segmenter_load(segment_model, segment_decoder, NULL, &shared_segmenter) != BMC_OK)
        return 0;

    /* "case three 3 1.0 60 30": three labels, 60 training embeddings of the model's size. */
    probe_count = 60;
    probe_train_x = malloc(probe_count * (size_t)embed_dim * sizeof(float));
    probe_train_y = malloc(probe_count * sizeof(int32_t));
    if (!probe_train_x || !probe_train_y ||
        !read_floats(path_in(fixtures, "probe/three.train.f32"), probe_train_x,
                     probe_count * (size_t)embed_dim) ||
        !read_floats(path_in(fixtures, "probe/three.train.i32"), (float *)probe_train_y,
                     probe_count))
        return 0;
    snprintf(probe_file, sizeof probe_file, "%s/shared.bmcprobe", tmp_dir);
    model_state s = {0};
    if (probe_train(&s) != BMC_OK || bmc_probe_save(s.probe, probe_file) != BMC_OK)
        return 0;
    bmc_probe_free(s.probe);
    return 1;
}

#define ARG(x) ((const void *)(intptr_t)(x))

int main(void)
{
    snprintf(fixtures, sizeof fixtures, "%s", harness_fixtures());
    snprintf(data_dir, sizeof data_dir, "%s", harness_data());
    /* Files the calls write go to a private folder, shared files to another beside it. */
    char shared_dir[4096];
    snprintf(shared_dir, sizeof shared_dir, "%s/bmc-allocfail-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(shared_dir)) {
        CHECK(0, "cannot make a temporary folder");
        return harness_summary("test_alloc_failure");
    }
    snprintf(tmp_dir, sizeof tmp_dir, "%s/calls", shared_dir);
    if (mkdir(tmp_dir, 0700) != 0 && errno != EEXIST) {
        CHECK(0, "cannot make %s", tmp_dir);
        return harness_summary("test_alloc_failure");
    }
    /* The shared files (saved index, probe) live in shared_dir, not in tmp_dir, so that
     * tmp_files() sees only what the calls write. */
    {
        char keep[sizeof tmp_dir];
        snprintf(keep, sizeof keep, "%s", tmp_dir);
        snprintf(tmp_dir, sizeof tmp_dir, "%s", shared_dir);
        int ok = load_shared();
        snprintf(tmp_dir, sizeof tmp_dir, "%s", keep);
        CHECK(ok, "cannot set up the shared handles: %s", bmc_last_error());
        if (!ok)
            goto done;
    }

    const scenario scenarios[] = {
        {"image_load_file png gray8", image_setup, image_load_file, image_result, image_not_made, image_teardown, png_gray8},
        {"image_load_file png palette", image_setup, image_load_file, image_result, image_not_made, image_teardown, png_palette},
        {"image_load_file png gray16", image_setup, image_load_file, image_result, image_not_made, image_teardown, png_gray16},
        {"image_load_file png rgba", image_setup, image_load_file, image_result, image_not_made, image_teardown, png_rgba},
        {"image_load_file jpeg", image_setup, image_load_file, image_result, image_not_made, image_teardown, jpeg_rgb},
        {"image_load_memory jpeg", image_setup_memory, image_load_memory, image_result, image_not_made, image_teardown, jpeg_rgb},
        {"image_load_memory png", image_setup_memory, image_load_memory, image_result, image_not_made, image_teardown, png_palette},
        {"preprocess png gray8", preprocess_setup, image_preprocess, preprocess_result, NULL, image_teardown, png_gray8},
        {"preprocess png palette", preprocess_setup, image_preprocess, preprocess_result, NULL, image_teardown, png_palette},
        {"preprocess png gray16", preprocess_setup, image_preprocess, preprocess_result, NULL, image_teardown, png_gray16},
        {"preprocess png rgba", preprocess_setup, image_preprocess, preprocess_result, NULL, image_teardown, png_rgba},
        {"preprocess jpeg", preprocess_setup, image_preprocess, preprocess_result, NULL, image_teardown, jpeg_rgb},
        {"preprocess jpeg squash", preprocess_squash_setup, image_preprocess, preprocess_result, NULL, image_teardown, jpeg_rgb},
        {"image_from_pixels u16 window", image_setup, image_from_pixels, image_result, image_not_made, image_teardown, NULL},
        {"image_from_pixels s16 rescale", image_setup, image_from_pixels, image_result, image_not_made, image_teardown, ARG(1)},
        {"dicom open+frame CT", image_setup, dicom_open_and_frame, image_result, image_not_made, image_teardown, dcm_ct},
        {"dicom open+frame RLE", image_setup, dicom_open_and_frame, image_result, image_not_made, image_teardown, dcm_rle},
        {"dicom open+frame JPEG", image_setup, dicom_open_and_frame, image_result, image_not_made, image_teardown, dcm_jpeg},
        {"dicom frame_image CT", dicom_frame_setup, dicom_frame, image_result, dicom_frame_unchanged, image_teardown, dcm_ct},
        {"tokenizer_create_file", token_setup, tokenizer_create, tokenizer_create_result, tokenizer_not_made, token_teardown, NULL},
        {"tokenizer_create_memory", token_setup, tokenizer_create_memory, tokenizer_create_result, tokenizer_not_made, token_teardown, NULL},
        {"tokenizer_encode", token_setup, tokenizer_encode, token_ids_result, NULL, token_teardown, NULL},
        {"tokenizer_encode_batch", token_setup, tokenizer_encode_batch, token_ids_result, NULL, token_teardown, NULL},
        {"index_create", index_setup, index_create, index_created_result, index_not_made, index_teardown, NULL},
        {"index_add f32", index_setup_partial, index_add, index_result, index_unchanged, index_teardown, ARG(BMC_DTYPE_F32)},
        {"index_add f16", index_setup_partial, index_add, index_result, index_unchanged, index_teardown, ARG(BMC_DTYPE_F16)},
        {"index_add bf16", index_setup_partial, index_add, index_result, index_unchanged, index_teardown, ARG(BMC_DTYPE_BF16)},
        {"index_remove", index_setup_full, index_remove, index_result, index_unchanged, index_teardown, NULL},
        {"index_append", index_setup_pair, index_append, index_result, index_unchanged, index_teardown, NULL},
        {"index_search 1 thread", index_setup, index_search, search_result, NULL, index_teardown, ARG(1)},
        {"index_search 3 threads", index_setup, index_search, search_result, NULL, index_teardown, ARG(3)},
        {"index_save", index_setup, index_save, saved_result, index_not_made, index_teardown, NULL},
        {"index_load", index_setup, index_load, index_result, index_not_made, index_teardown, NULL},
        {"index_map", index_setup, index_map, index_result, index_not_made, index_teardown, NULL},
        {"index_set_open", index_setup, set_open, set_result, index_not_made, index_teardown, NULL},
        {"index_set_open_manifest", index_setup, set_open_manifest, set_result, index_not_made, index_teardown, NULL},
        {"index_set_search 1 thread", index_setup, set_search, search_result, NULL, index_teardown, ARG(1)},
        {"index_set_search 3 threads", index_setup, set_search, search_result, NULL, index_teardown, ARG(3)},
        {"index_set_write_manifest", index_setup, set_write_manifest, written_manifest_result, index_not_made, index_teardown, NULL},
        {"caption_score BLEU-4", caption_setup, caption_score, caption_result, NULL, plain_teardown, ARG(BMC_CAPTION_BLEU_4)},
        {"caption_score ROUGE-L", caption_setup, caption_score, caption_result, NULL, plain_teardown, ARG(BMC_CAPTION_ROUGE_L)},
        {"caption_score METEOR", caption_setup, caption_score, caption_result, NULL, plain_teardown, ARG(BMC_CAPTION_METEOR)},
        {"caption_score CIDEr-D", caption_setup, caption_score, caption_result, NULL, plain_teardown, ARG(BMC_CAPTION_CIDER_D)},
        {"text_encoder_create", model_setup, text_encoder_create, text_encoder_result, model_not_made, model_teardown, NULL},
        {"text_encoder_encode", model_setup, text_encode, values_result, NULL, model_teardown, NULL},
        {"image_encoder_create", model_setup, image_encoder_create, image_encoder_result, model_not_made, model_teardown, NULL},
        {"image_encoder_encode", model_setup, image_encode, values_result, NULL, model_teardown, NULL},
        {"image_encoder_encode_files", model_setup, image_encode_files, values_result, NULL, model_teardown, NULL},
        {"index_add_text_file", retrieval_setup, index_add_text_file, retrieval_result, index_unchanged, index_teardown, NULL},
        {"index_add_image_directory", retrieval_setup, index_add_image_directory, retrieval_result, index_unchanged, index_teardown, NULL},
        {"index_search_composed", index_setup, index_search_composed, search_text_result, NULL, index_teardown, NULL},
        {"vqa_zero_shot", model_setup, vqa_zero_shot, values_result, NULL, model_teardown, NULL},
        {"png_write_file", png_write_setup, png_write, png_written_result, nothing_written, png_write_teardown, NULL},
        {"index_search_text", index_setup, index_search_text, search_text_result, NULL, index_teardown, NULL},
        {"classifier_create", model_setup, classifier_create, classifier_result, model_not_made, model_teardown, NULL},
        {"classify", model_setup, classify, classify_result, NULL, model_teardown, NULL},
        {"multilabel_create", model_setup, multilabel_create, multilabel_result, model_not_made, model_teardown, NULL},
        {"multilabel_classify", model_setup, multilabel_classify, multilabel_classify_result, NULL, model_teardown, NULL},
        {"probe_train", model_setup, probe_train, probe_result, model_not_made, model_teardown, NULL},
        {"probe_save", probe_setup, probe_save, probe_saved_result, probe_saved_unchanged, model_teardown, NULL},
        {"probe_load", model_setup, probe_load, probe_result, model_not_made, model_teardown, NULL},
        {"model_load", model_setup, model_load, model_load_result, NULL, model_teardown, NULL},
        {"vqa_load", head_setup, vqa_load, vqa_loaded_result, head_not_made, head_teardown, NULL},
        {"vqa_ask", head_setup, vqa_ask, vqa_ask_result, NULL, head_teardown, NULL},
        {"segmenter_load", head_setup, segmenter_load, segmenter_loaded_result, head_not_made, head_teardown, NULL},
        {"segment", head_setup, segment, segment_call_result, NULL, head_teardown, NULL},
    };
    const char *only = getenv("BMC_ALLOC_ONLY"); /* a substring of the names, to run fewer */
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (!only || strstr(scenarios[i].name, only))
            run_scenario(&scenarios[i]);
    printf("  %ld failure points, %ld calls\n", points_total, calls_total);
done:

    bmc_classifier_free(shared_classifier);
    bmc_multilabel_free(shared_multilabel);
    bmc_image_free(sample_image);
    bmc_text_encoder_free(text_encoder);
    bmc_image_encoder_free(image_encoder);
    bmc_model_free(model);
    bmc_index_free(shared_index);
    bmc_index_set_free(shared_set);
    bmc_tokenizer_free(tokenizer);
    bmc_index_free(caption_index);
    bmc_vqa_free(shared_vqa);
    bmc_segmenter_free(shared_segmenter);
    bmc_model_free(vqa_model);
    bmc_model_free(segment_model);
    free(vocab_text);
    free(probe_train_x);
    free(probe_train_y);
    clear_tmp();
    rmdir(tmp_dir);
    unlink(saved_index);
    unlink(probe_file);
    unlink(caption_bank);
    rmdir(shared_dir);
    /* Flushed here: LeakSanitizer's check at exit ends the process before stdio would be. */
    int rc = harness_summary("test_alloc_failure");
    fflush(stdout);
    return rc;
}
