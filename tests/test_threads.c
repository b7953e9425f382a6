/* SPDX-License-Identifier: MIT */
/* Threads stress: 16 threads share one model, its tokenizer, a zero-shot classifier, an index
 * and a segmentation decoder (the tiny fixtures of tools/fixtures/make_segmentation_fixtures.py)
 * and make BMC_THREAD_CALLS calls in all (default 10,000; fewer in the sanitizer builds, see
 * default_calls()): tokenizer encodes, text and image encodes, classifications, classifier
 * probabilities, index searches, segmentations, and calls that fail (invalid UTF-8), in a
 * seeded random mix. Each thread has its own encoders, as the header requires.
 *
 * The reference of every call is the same call made serially on the main thread before the
 * threads start: statuses, outputs and error messages must be equal byte for byte. The serial
 * pass is made twice and must repeat itself, so a difference under threads is the threads'
 * doing. (The values themselves are pinned to the PyTorch reference by test_model,
 * test_segmentation and the others; this test pins that sharing changes nothing.)
 * libtorch runs each forward on one intra-op thread here (cpu_threads 1), so its reductions
 * have one order whichever thread calls; docs/threading-and-memory.md has the figures. */
#include <pthread.h>
#include <stdint.h>

#include "biomedclip.h"
#include "harness.h"

#define THREADS 16
#define MAX_IMAGES 16
#define MAX_PROMPTS 4
#define MAX_TEXTS 16
#define BAD_TEXTS 8
#define SEARCH_K 8
#define MAX_IDS 256
#define MAX_MESSAGE 512

enum kind { TOKENIZE, TEXT, IMAGE, CLASSIFY, PROBABILITIES, SEARCH, SEGMENT, BAD_UTF8, KINDS };
static const char *const kind_names[KINDS] = {"tokenize", "text encode", "image encode", "classify",
                                              "probabilities", "search", "segment", "bad UTF-8"};
/* The mix, in percent: cheap calls often, forward passes less (each segmentation runs both
 * towers and the decoder), so that 10,000 calls stay within seconds on two cores. */
static const int kind_weight[KINDS] = {20, 10, 8, 8, 14, 25, 5, 10};

static char dir[1024];
static bmc_model *model;
static const bmc_tokenizer *tokenizer;
static bmc_classifier *classifier;
static bmc_segmenter *segmenter;
static bmc_index *index_handle;
static int32_t dim;
static size_t label_count;
static int image_count, prompt_count, text_count;
static bmc_image *images[MAX_IMAGES];
static int32_t image_w[MAX_IMAGES], image_h[MAX_IMAGES];
static char image_files[MAX_IMAGES][256];
static char prompts[MAX_PROMPTS][512], classes[MAX_PROMPTS][64];
static const char *class_list[MAX_PROMPTS];
static const char *texts[MAX_TEXTS];
static char bad_texts[BAD_TEXTS][64];
static float *query_vectors; /* image embeddings, then text embeddings: the search inputs */

/* What one call gave: its status, its output bytes and, on failure, the message. */
struct result {
    bmc_status status;
    size_t size;
    unsigned char *bytes;
    char message[MAX_MESSAGE];
};

static struct result *reference[KINDS];
static int input_count[KINDS];

/* A thread's own encoders and output buffers. */
struct scratch {
    bmc_image_encoder *image_encoder;
    bmc_text_encoder *text_encoder;
    size_t capacity;
    unsigned char *out;
};

static char *path_of(const char *name)
{
    static char path[2][2048];
    static int next;
    next ^= 1;
    snprintf(path[next], sizeof path[next], "%.1000s/%.1000s", dir, name);
    return path[next];
}

static int read_manifest(void)
{
    FILE *file = fopen(path_of("manifest.txt"), "r");
    if (!file)
        return 0;
    char line[1024], key[32], a[256];
    int index, w, h, n;
    while (fgets(line, sizeof line, file)) {
        if (sscanf(line, "%31s", key) != 1)
            continue;
        if (!strcmp(key, "image") && sscanf(line, "%*s %d %255s %d %d", &index, a, &w, &h) == 4 &&
            index == image_count && index < MAX_IMAGES) {
            snprintf(image_files[index], sizeof image_files[index], "images/%.240s", a);
            image_w[index] = w;
            image_h[index] = h;
            image_count++;
        } else if (!strcmp(key, "prompt") && sscanf(line, "%*s %d %63s %n", &index, a, &n) == 2 &&
                   index == prompt_count && index < MAX_PROMPTS) {
            snprintf(classes[index], sizeof classes[index], "%.63s", a);
            snprintf(prompts[index], sizeof prompts[index], "%s", line + n);
            prompts[index][strcspn(prompts[index], "\n")] = '\0';
            class_list[index] = classes[index];
            prompt_count++;
        }
    }
    fclose(file);
    return image_count > 0 && prompt_count > 1;
}

/* SplitMix64: the call plan is a function of the call's number only, so every run makes the
 * same calls whatever the interleaving. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void plan_call(size_t call, enum kind *kind, int *input)
{
    uint64_t r = mix(call);
    int pick = (int)(r % 100);
    int k = 0;
    while (k < KINDS - 1 && pick >= kind_weight[k])
        pick -= kind_weight[k++];
    *kind = (enum kind)k;
    *input = (int)((r >> 32) % (uint64_t)input_count[k]);
}

/* Make call (kind, input) with the given encoders into out (capacity bytes). */
static void make_call(enum kind kind, int input, struct scratch *s, struct result *r)
{
    memset(r->message, 0, sizeof r->message);
    r->size = 0;
    switch (kind) {
    case TOKENIZE: {
        size_t count = 0;
        int32_t truncated = -1;
        int32_t *ids = (int32_t *)s->out;
        r->status = bmc_tokenizer_encode(tokenizer, texts[input], strlen(texts[input]), ids + 2,
                                         MAX_IDS, &count, &truncated);
        ids[0] = (int32_t)count;
        ids[1] = truncated;
        r->size = (2 + (r->status == BMC_OK ? count : 0)) * sizeof(int32_t);
        break;
    }
    case TEXT:
        r->status = bmc_text_encoder_encode(s->text_encoder, &texts[input], 1, 0, (float *)s->out,
                                            (size_t)dim);
        r->size = (size_t)dim * sizeof(float);
        break;
    case IMAGE: {
        const bmc_image *one = images[input];
        r->status = bmc_image_encoder_encode(s->image_encoder, &one, 1, 0, (float *)s->out, (size_t)dim);
        r->size = (size_t)dim * sizeof(float);
        break;
    }
    case CLASSIFY: {
        int32_t *ids = (int32_t *)s->out;
        float *probs = (float *)(s->out + label_count * sizeof(int32_t));
        r->status = bmc_classify(classifier, s->image_encoder, images[input], label_count, ids, probs);
        r->size = label_count * (sizeof(int32_t) + sizeof(float));
        break;
    }
    case PROBABILITIES:
        r->status = bmc_classifier_probabilities(classifier, query_vectors + (size_t)input * (size_t)dim, 1,
                                                 (float *)s->out, label_count);
        r->size = label_count * sizeof(float);
        break;
    case SEARCH: {
        int64_t *ids = (int64_t *)s->out;
        float *scores = (float *)(s->out + SEARCH_K * sizeof(int64_t));
        r->status = bmc_index_search(index_handle, query_vectors + (size_t)input * (size_t)dim, 1, SEARCH_K,
                                     NULL, ids, scores, SEARCH_K);
        r->size = SEARCH_K * (sizeof(int64_t) + sizeof(float));
        break;
    }
    case SEGMENT: {
        int image = input / prompt_count, prompt = input % prompt_count;
        const char *one = prompts[prompt];
        size_t pixels = (size_t)image_w[image] * (size_t)image_h[image];
        r->status = bmc_segment(segmenter, images[image], &one, 1, (float *)s->out, pixels);
        r->size = pixels * sizeof(float);
        break;
    }
    case BAD_UTF8: {
        /* alternately the tokenizer and the text encoder; both must name this text's offset */
        const char *text = bad_texts[input];
        size_t count = 0;
        r->status = input % 2 ? bmc_tokenizer_encode(tokenizer, text, strlen(text), (int32_t *)s->out,
                                                     MAX_IDS, &count, NULL)
                              : bmc_text_encoder_encode(s->text_encoder, &text, 1, 0, (float *)s->out,
                                                        (size_t)dim);
        r->size = 0; /* the outputs are unspecified on failure */
        break;
    }
    default:
        r->status = -1;
    }
    if (r->status != BMC_OK) {
        snprintf(r->message, sizeof r->message, "%s", bmc_last_error());
        r->size = 0;
    }
}

static int same_result(const struct result *got, const unsigned char *bytes, const struct result *want)
{
    return got->status == want->status && got->size == want->size &&
           (got->size == 0 || !memcmp(bytes, want->bytes, got->size)) &&
           !strcmp(got->message, want->message);
}

static int scratch_open(struct scratch *s)
{
    memset(s, 0, sizeof *s);
    size_t biggest = (size_t)MAX_IDS * sizeof(int32_t) + 64;
    for (int i = 0; i < image_count; i++) {
        size_t need = (size_t)image_w[i] * (size_t)image_h[i] * sizeof(float);
        if (need > biggest)
            biggest = need;
    }
    s->capacity = biggest + (size_t)dim * sizeof(float) + 1024;
    s->out = calloc(1, s->capacity);
    return s->out && bmc_image_encoder_create(model, NULL, &s->image_encoder) == BMC_OK &&
           bmc_text_encoder_create(model, NULL, &s->text_encoder) == BMC_OK;
}

static void scratch_close(struct scratch *s)
{
    bmc_image_encoder_free(s->image_encoder);
    bmc_text_encoder_free(s->text_encoder);
    free(s->out);
}

/* ---- set-up --------------------------------------------------------------------------------- */

static int set_up(void)
{
    snprintf(dir, sizeof dir, "%.1000s/segmentation", harness_fixtures());
    if (!read_manifest()) {
        CHECK(0, "cannot read %s", path_of("manifest.txt"));
        return 0;
    }
    bmc_runtime_config config;
    bmc_runtime_config_init(&config);
    config.cpu_threads = 1;
    CHECK_STATUS(bmc_configure(&config), BMC_OK);
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), NULL, &model), BMC_OK);
    if (!model)
        return 0;
    dim = bmc_model_embed_dim(model);
    tokenizer = bmc_model_tokenizer(model);
    CHECK_STATUS(bmc_segmenter_load(model, path_of("trained.bmcseg.pt"), NULL, &segmenter), BMC_OK);
    for (int i = 0; i < image_count; i++)
        CHECK_STATUS(bmc_image_load_file(path_of(image_files[i]), &images[i]), BMC_OK);

    /* Texts: the decoder's prompts, its class names, and a few of other shapes (empty, long,
     * punctuation and accents, one past the context). */
    static const char *const extra[] = {
        "",
        "a chest X-ray showing pneumothorax",
        "H&E stained histopathology, 40x: métastase (carcinome), grade II",
        "axial contrast-enhanced CT of the abdomen with a hypodense hepatic lesion in segment VII",
    };
    static char long_text[4096];
    for (size_t i = 0; i + 1 < sizeof long_text; i++)
        long_text[i] = i % 7 == 6 ? ' ' : "kidney"[i % 7];
    long_text[sizeof long_text - 1] = '\0';
    for (int i = 0; i < prompt_count; i++)
        texts[text_count++] = prompts[i];
    for (int i = 0; i < prompt_count; i++)
        texts[text_count++] = classes[i];
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++)
        texts[text_count++] = extra[i];
    texts[text_count++] = long_text;
    for (int i = 0; i < BAD_TEXTS; i++) /* the bad byte at offset i: each call's message differs */
        snprintf(bad_texts[i], sizeof bad_texts[i], "%.*s\xff liver", i, "segment the");

    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    CHECK_STATUS(bmc_text_encoder_create(model, NULL, &text_encoder), BMC_OK);
    CHECK_STATUS(bmc_image_encoder_create(model, NULL, &image_encoder), BMC_OK);
    CHECK_STATUS(bmc_classifier_create(text_encoder, class_list, (size_t)prompt_count, NULL, 0, &classifier),
                 BMC_OK);
    label_count = bmc_classifier_label_count(classifier);

    /* The index holds every image and every text; its queries are the same vectors. */
    const int rows = image_count + text_count;
    query_vectors = calloc((size_t)rows * (size_t)dim, sizeof(float));
    int64_t ids[MAX_IMAGES + MAX_TEXTS];
    const char *names[MAX_IMAGES + MAX_TEXTS];
    if (!query_vectors || !image_encoder || !text_encoder || !classifier)
        return 0;
    CHECK_STATUS(bmc_image_encoder_encode(image_encoder, (const bmc_image *const *)images, (size_t)image_count,
                                          0, query_vectors, (size_t)image_count * (size_t)dim),
                 BMC_OK);
    CHECK_STATUS(bmc_text_encoder_encode(text_encoder, texts, (size_t)text_count, 0,
                                         query_vectors + (size_t)image_count * (size_t)dim,
                                         (size_t)text_count * (size_t)dim),
                 BMC_OK);
    for (int i = 0; i < rows; i++) {
        ids[i] = 1000 + i;
        names[i] = i < image_count ? image_files[i] : texts[i - image_count];
    }
    CHECK_STATUS(bmc_index_create(dim, BMC_DTYPE_F32, &index_handle), BMC_OK);
    CHECK_STATUS(bmc_index_add(index_handle, query_vectors, (size_t)rows, ids, names), BMC_OK);
    bmc_text_encoder_free(text_encoder);
    bmc_image_encoder_free(image_encoder);

    input_count[TOKENIZE] = input_count[TEXT] = text_count;
    input_count[IMAGE] = input_count[CLASSIFY] = input_count[PROBABILITIES] = image_count;
    input_count[SEARCH] = rows;
    input_count[SEGMENT] = image_count * prompt_count;
    input_count[BAD_UTF8] = BAD_TEXTS;
    return segmenter && index_handle && harness_failed == 0;
}

/* ---- the serial reference ------------------------------------------------------------------ */

static void test_serial_reference(void)
{
    struct scratch s;
    int ok = scratch_open(&s);
    CHECK(ok, "encoders for the serial pass: %s", bmc_last_error());
    int repeated = 1, failed_ok = 0;
    for (int k = 0; ok && k < KINDS; k++) {
        reference[k] = calloc((size_t)input_count[k], sizeof *reference[k]);
        for (int i = 0; reference[k] && i < input_count[k]; i++) {
            struct result *r = &reference[k][i], again;
            make_call((enum kind)k, i, &s, r);
            r->bytes = malloc(r->size ? r->size : 1);
            if (r->bytes)
                memcpy(r->bytes, s.out, r->size);
            make_call((enum kind)k, i, &s, &again);
            if (!r->bytes || !same_result(&again, s.out, r)) {
                repeated = 0;
                fprintf(stderr, "serial %s #%d does not repeat itself\n", kind_names[k], i);
            }
            /* Every call succeeds but the bad UTF-8 ones, which name their offset. */
            if ((k == BAD_UTF8) != (r->status != BMC_OK)) {
                failed_ok++;
                fprintf(stderr, "serial %s #%d: status %d (%s)\n", kind_names[k], i, r->status, r->message);
            }
        }
    }
    CHECK(repeated, "the serial pass gives the same bytes twice");
    CHECK(failed_ok == 0, "%d serial calls had an unexpected status", failed_ok);
    scratch_close(&s);
}

/* ---- the threads ----------------------------------------------------------------------------- */

struct worker {
    int id;
    size_t calls, total;
    size_t made[KINDS], mismatched[KINDS];
    char first_mismatch[256];
    bmc_status setup;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct scratch s;
    if (!scratch_open(&s)) {
        w->setup = BMC_ERR_OUT_OF_MEMORY;
        scratch_close(&s);
        return NULL;
    }
    /* Calls are dealt round-robin: call c goes to thread c mod THREADS. */
    for (size_t c = (size_t)w->id; c < w->total; c += THREADS) {
        enum kind kind;
        int input;
        struct result got;
        plan_call(c, &kind, &input);
        make_call(kind, input, &s, &got);
        w->made[kind]++;
        w->calls++;
        if (!same_result(&got, s.out, &reference[kind][input]) && w->mismatched[kind]++ == 0 &&
            !w->first_mismatch[0])
            snprintf(w->first_mismatch, sizeof w->first_mismatch, "call %zu (%s #%d): status %d, %.100s", c,
                     kind_names[kind], input, got.status, got.message);
    }
    scratch_close(&s);
    return NULL;
}

/* The sanitizer builds run every call many times slower, and make check runs them too. */
static size_t default_calls(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 2000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    return 2000;
#endif
#endif
    return 10000;
}

static void test_threads(void)
{
    const char *env = getenv("BMC_THREAD_CALLS");
    size_t total = env && atol(env) > 0 ? (size_t)atol(env) : default_calls();
    struct worker workers[THREADS];
    pthread_t threads[THREADS];
    int started[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset(&workers[t], 0, sizeof workers[t]);
        workers[t].id = t;
        workers[t].total = total;
        started[t] = pthread_create(&threads[t], NULL, work, &workers[t]) == 0;
        CHECK(started[t], "thread %d did not start", t);
    }
    size_t made[KINDS] = {0}, mismatched[KINDS] = {0}, calls = 0;
    for (int t = 0; t < THREADS; t++) {
        if (!started[t])
            continue;
        pthread_join(threads[t], NULL);
        CHECK_STATUS(workers[t].setup, BMC_OK);
        if (workers[t].first_mismatch[0])
            fprintf(stderr, "thread %d: first mismatch: %s\n", t, workers[t].first_mismatch);
        calls += workers[t].calls;
        for (int k = 0; k < KINDS; k++) {
            made[k] += workers[t].made[k];
            mismatched[k] += workers[t].mismatched[k];
        }
    }
    CHECK(calls == total, "%zu calls made of %zu", calls, total);
    printf("%zu calls on %d threads:", calls, THREADS);
    for (int k = 0; k < KINDS; k++)
        printf(" %s %zu%s", kind_names[k], made[k], k + 1 < KINDS ? "," : "\n");
    for (int k = 0; k < KINDS; k++)
        CHECK(mismatched[k] == 0, "%zu of %zu %s calls differ from the serial call", mismatched[k], made[k],
              kind_names[k]);
}

static void tear_down(void)
{
    for (int k = 0; k < KINDS; k++) {
        for (int i = 0; reference[k] && i < input_count[k]; i++)
            free(reference[k][i].bytes);
        free(reference[k]);
    }
    for (int i = 0; i < image_count; i++)
        bmc_image_free(images[i]);
    free(query_vectors);
    bmc_index_free(index_handle);
    bmc_classifier_free(classifier);
    bmc_segmenter_free(segmenter);
    bmc_model_free(model);
}

int main(void)
{
    if (set_up()) {
        RUN(test_serial_reference);
        if (harness_failed == 0)
            RUN(test_threads);
    }
    tear_down();
    return harness_summary("test_threads");
}
