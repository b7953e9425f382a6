/* SPDX-License-Identifier: MIT */
/* The model end to end against the eager PyTorch reference (tools/fixtures/make_model_fixtures.py):
 * file -> embedding for images and texts, logits, zero-shot ensembles, and every way a bundle
 * or a call can be wrong.
 *
 * It reads $BMC_FIXTURES/model (the tiny model) unless BMC_MODEL_FIXTURES names another
 * fixture folder, such as the full-size one of tests/check_full_model.sh. Every size must reach
 * cosine >= 0.99999 per embedding; the tiny model must also be within the absolute tolerances
 * (1e-5 for embeddings and probabilities). */
#include <math.h>
#include <stddef.h>
#include <pthread.h>

#include "biomedclip.h"
#include "harness.h"
#include "bf16_model.h"

#define MAX_ITEMS 16
#define MAX_LINE 4096

#define MIN_COSINE 0.99999

static char dir[1024];
static char size_name[32];
static int32_t embed_dim, image_size, context_length, image_count, text_count;
static double logit_scale_log;
static char image_files[MAX_ITEMS][300];
static char texts[MAX_ITEMS][MAX_LINE];
static bmc_model *model;

static char *path_of(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Reads `count` raw little-endian 32-bit values; returns a malloc'd buffer or NULL. */
static void *read_raw(const char *name, size_t count)
{
    FILE *file = fopen(path_of(name), "rb");
    void *data = malloc(count * 4);
    size_t got = file && data ? fread(data, 4, count, file) : 0;
    if (file)
        fclose(file);
    if (got != count) {
        fprintf(stderr, "cannot read %zu values from %s\n", count, name);
        free(data);
        return NULL;
    }
    return data;
}

static size_t read_lines(const char *name, char lines[][MAX_LINE], size_t max)
{
    FILE *file = fopen(path_of(name), "r");
    size_t count = 0;
    while (file && count < max && fgets(lines[count], MAX_LINE, file)) {
        lines[count][strcspn(lines[count], "\n")] = '\0';
        count++;
    }
    if (file)
        fclose(file);
    return count;
}

static int read_manifest(void)
{
    FILE *file = fopen(path_of("manifest.txt"), "r");
    if (!file)
        return 0;
    char line[1024], key[64];
    while (fgets(line, sizeof line, file)) {
        int index;
        char name[256];
        if (sscanf(line, "%63s", key) != 1 || key[0] == '#')
            continue;
        if (!strcmp(key, "size")) sscanf(line, "%*s %31s", size_name);
        else if (!strcmp(key, "embed_dim")) sscanf(line, "%*s %d", &embed_dim);
        else if (!strcmp(key, "image_size")) sscanf(line, "%*s %d", &image_size);
        else if (!strcmp(key, "context_length")) sscanf(line, "%*s %d", &context_length);
        else if (!strcmp(key, "logit_scale")) sscanf(line, "%*s %lf", &logit_scale_log);
        else if (!strcmp(key, "images")) sscanf(line, "%*s %d", &image_count);
        else if (!strcmp(key, "texts")) sscanf(line, "%*s %d", &text_count);
        else if (!strcmp(key, "image") && sscanf(line, "%*s %d %255s", &index, name) == 2 &&
                 index >= 0 && index < MAX_ITEMS)
            snprintf(image_files[index], sizeof image_files[index], "images/%s", name);
    }
    fclose(file);
    return image_count > 0 && image_count <= MAX_ITEMS && text_count > 0 && text_count <= MAX_ITEMS;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

/* The smallest cosine between corresponding rows. */
static double min_row_cosine(const float *a, const float *b, size_t rows, size_t dim)
{
    double worst = 1.0;
    for (size_t r = 0; r < rows; r++) {
        double ab = 0, aa = 0, bb = 0;
        for (size_t d = 0; d < dim; d++) {
            ab += (double)a[r * dim + d] * b[r * dim + d];
            aa += (double)a[r * dim + d] * a[r * dim + d];
            bb += (double)b[r * dim + d] * b[r * dim + d];
        }
        worst = fmin(worst, ab / sqrt(aa * bb));
    }
    return worst;
}

/* Absolute tolerances hold for the tiny model; the full size is held to the cosine bound. */
static int is_tiny(void)
{
    return strcmp(size_name, "tiny") == 0;
}

static void normalize_rows(float *rows, size_t count, size_t dim)
{
    for (size_t r = 0; r < count; r++) {
        double sum = 0;
        for (size_t d = 0; d < dim; d++)
            sum += (double)rows[r * dim + d] * rows[r * dim + d];
        for (size_t d = 0; d < dim; d++)
            rows[r * dim + d] = (float)(rows[r * dim + d] / sqrt(sum));
    }
}

static void load_images(bmc_image **images)
{
    for (int i = 0; i < image_count; i++)
        CHECK_STATUS(bmc_image_load_file(path_of(image_files[i]), &images[i]), BMC_OK);
}

static void free_images(bmc_image **images)
{
    for (int i = 0; i < image_count; i++)
        bmc_image_free(images[i]);
}

static void test_metadata(void)
{
    CHECK(bmc_model_embed_dim(model) == embed_dim, "embed_dim %d", bmc_model_embed_dim(model));
    CHECK(bmc_model_context_length(model) == context_length, "context %d",
          bmc_model_context_length(model));
    CHECK(fabs(bmc_model_logit_scale(model) - exp(logit_scale_log)) < 1e-4 * exp(logit_scale_log),
          "logit scale %g vs %g", bmc_model_logit_scale(model), exp(logit_scale_log));
    CHECK(strcmp(bmc_model_source(model), "random seed 0") == 0, "source '%s'", bmc_model_source(model));
    bmc_preprocess_options pre;
    bmc_preprocess_options_init(&pre);
    CHECK_STATUS(bmc_model_preprocess_options(model, &pre), BMC_OK);
    CHECK(pre.image_size == image_size && pre.resize_mode == BMC_RESIZE_SHORTEST_CROP, "preprocess");
    int32_t context = 0;
    CHECK_STATUS(bmc_tokenizer_context_length(bmc_model_tokenizer(model), &context), BMC_OK);
    CHECK(context == context_length, "tokenizer context %d", context);
}

/* Image files -> embeddings through the whole library, vs the eager reference on Pillow's
 * preprocessing; the tensors the library makes are checked on the way. */
static void test_image_embeddings(void)
{
    const size_t dim = (size_t)embed_dim, tensor = 3 * (size_t)image_size * image_size;
    float *expected = read_raw("image_embeddings.f32", image_count * dim);
    float *pixels = read_raw("image_pixels.f32", image_count * tensor);
    float *got = malloc(image_count * dim * sizeof *got);
    float *mine = malloc(tensor * sizeof *mine);
    bmc_image *images[MAX_ITEMS] = {0};
    bmc_image_encoder *encoder = NULL;
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.batch_size = 4; /* 6 images: a full batch and a partial one */
    CHECK(expected && pixels, "fixtures readable");
    if (!expected || !pixels)
        goto done;
    load_images(images);
    bmc_preprocess_options pre;
    bmc_preprocess_options_init(&pre);
    bmc_model_preprocess_options(model, &pre);
    for (int i = 0; i < image_count; i++) {
        CHECK_STATUS(bmc_preprocess(images[i], &pre, mine, tensor), BMC_OK);
        double diff = max_abs_diff(mine, pixels + i * tensor, tensor);
        CHECK(diff <= 1e-6, "%s: tensor differs from Pillow's by %g", image_files[i], diff);
    }
    CHECK_STATUS(bmc_image_encoder_create(model, &options, &encoder), BMC_OK);
    CHECK_STATUS(bmc_image_encoder_encode(encoder, (const bmc_image *const *)images, image_count,
                                          BMC_ENCODE_RAW, got, image_count * dim), BMC_OK);
    double diff = max_abs_diff(got, expected, image_count * dim);
    double cosine = min_row_cosine(got, expected, image_count, dim);
    printf("%s model, image file -> raw embedding: max abs diff %.3g, 1 - min cosine %.3g\n", size_name,
           diff, 1 - cosine);
    CHECK(cosine >= MIN_COSINE, "image embedding cosine %.9f", cosine);
    CHECK(!is_tiny() || diff <= 1e-5, "raw image embeddings differ by %g", diff);

    CHECK_STATUS(bmc_image_encoder_encode_tensors(encoder, pixels, image_count * tensor, image_count,
                                                  BMC_ENCODE_RAW, got, image_count * dim), BMC_OK);
    diff = max_abs_diff(got, expected, image_count * dim);
    CHECK(!is_tiny() || diff <= 1e-5, "embeddings from tensors differ by %g", diff);
    CHECK(min_row_cosine(got, expected, image_count, dim) >= MIN_COSINE, "cosine from tensors");

    CHECK_STATUS(bmc_image_encoder_encode(encoder, (const bmc_image *const *)images, image_count, 0,
                                          got, image_count * dim), BMC_OK);
    normalize_rows(expected, image_count, dim);
    diff = max_abs_diff(got, expected, image_count * dim);
    CHECK(diff <= (is_tiny() ? 1e-6 : 1e-4), "normalised image embeddings differ by %g", diff);
done:
    bmc_image_encoder_free(encoder);
    free_images(images);
    free(expected);
    free(pixels);
    free(got);
    free(mine);
}

/* Texts -> embeddings, run unpadded per batch, vs the reference on 256-padded ids. */
static void test_text_embeddings(void)
{
    const size_t dim = (size_t)embed_dim;
    float *padded = read_raw("text_embeddings_padded.f32", text_count * dim);
    int32_t *ref_ids = read_raw("text_ids.i32", text_count * (size_t)context_length);
    float *got = malloc(text_count * dim * sizeof *got);
    float *one = malloc(dim * sizeof *one);
    int32_t *ids = malloc((size_t)context_length * sizeof *ids);
    const char *pointers[MAX_ITEMS];
    bmc_text_encoder *encoder = NULL;
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.batch_size = 3; /* batches of different longest lengths */
    CHECK(padded && ref_ids && (int)read_lines("texts.txt", texts, MAX_ITEMS) == text_count,
          "fixtures readable");
    if (!padded || !ref_ids)
        goto done;
    for (int i = 0; i < text_count; i++) {
        size_t count = 0;
        pointers[i] = texts[i];
        CHECK_STATUS(bmc_tokenizer_encode(bmc_model_tokenizer(model), texts[i], strlen(texts[i]), ids,
                                          (size_t)context_length, &count, NULL), BMC_OK);
        int same = 1;
        for (size_t j = 0; j < (size_t)context_length; j++)
            same &= (j < count ? ids[j] : 0) == ref_ids[i * context_length + j];
        CHECK(same, "token ids of text %d differ from the reference tokenizer's", i);
    }
    CHECK_STATUS(bmc_text_encoder_create(model, &options, &encoder), BMC_OK);
    CHECK_STATUS(bmc_text_encoder_encode(encoder, pointers, text_count, BMC_ENCODE_RAW, got,
                                         text_count * dim), BMC_OK);
    double diff = max_abs_diff(got, padded, text_count * dim);
    double cosine = min_row_cosine(got, padded, text_count, dim);
    printf("%s model, text -> raw embedding (dynamic length vs 256-padded reference): max abs diff "
           "%.3g, 1 - min cosine %.3g\n", size_name, diff, 1 - cosine);
    CHECK(cosine >= MIN_COSINE, "text embedding cosine %.9f", cosine);
    CHECK(!is_tiny() || diff <= 1e-5, "text embeddings differ from the padded reference by %g", diff);

    /* A text alone gives what it gives inside a batch padded to a longer neighbour. */
    for (int i = 0; i < text_count; i++) {
        CHECK_STATUS(bmc_text_encoder_encode(encoder, &pointers[i], 1, BMC_ENCODE_RAW, one, dim), BMC_OK);
        diff = max_abs_diff(one, got + i * dim, dim);
        CHECK(diff <= (is_tiny() ? 1e-5 : 1e-4), "text %d alone vs in a batch: %g", i, diff);
    }

    /* Every text in one batch, in reverse order: the encoder runs them in groups of similar
     * length and must put each row back in its text's place. */
    bmc_text_encoder_free(encoder);
    encoder = NULL;
    options.batch_size = text_count;
    const char *reversed[MAX_ITEMS];
    for (int i = 0; i < text_count; i++)
        reversed[i] = pointers[text_count - 1 - i];
    float *all = malloc(text_count * dim * sizeof *all);
    CHECK_STATUS(bmc_text_encoder_create(model, &options, &encoder), BMC_OK);
    CHECK_STATUS(bmc_text_encoder_encode(encoder, reversed, text_count, BMC_ENCODE_RAW, all,
                                         text_count * dim), BMC_OK);
    for (int i = 0; i < text_count; i++) {
        diff = max_abs_diff(all + (size_t)(text_count - 1 - i) * dim, got + i * dim, dim);
        CHECK(diff <= (is_tiny() ? 1e-5 : 1e-4), "text %d in one reversed batch: %g", i, diff);
    }
    free(all);
done:
    bmc_text_encoder_free(encoder);
    free(padded);
    free(ref_ids);
    free(got);
    free(one);
    free(ids);
}

static void test_logits_and_zero_shot(void)
{
    const size_t dim = (size_t)embed_dim;
    char labels[MAX_ITEMS][MAX_LINE], templates[MAX_ITEMS][MAX_LINE];
    size_t label_count = read_lines("zeroshot_labels.txt", labels, MAX_ITEMS);
    size_t template_count = read_lines("zeroshot_templates.txt", templates, MAX_ITEMS);
    float *image_emb = read_raw("image_embeddings.f32", image_count * dim);
    float *text_emb = read_raw("text_embeddings_padded.f32", text_count * dim);
    float *ref_logits = read_raw("logits.f32", (size_t)image_count * text_count);
    float *ref_probs = read_raw("zeroshot_probs.f32", image_count * label_count);
    float *logits = malloc((size_t)image_count * text_count * sizeof *logits);
    float *probs = malloc(image_count * label_count * sizeof *probs);
    const char *label_ptrs[MAX_ITEMS], *template_ptrs[MAX_ITEMS];
    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    bmc_classifier *classifier = NULL;
    bmc_image *images[MAX_ITEMS] = {0};
    CHECK(image_emb && text_emb && ref_logits && ref_probs && label_count && template_count,
          "fixtures readable");
    if (!image_emb || !text_emb || !ref_logits || !ref_probs)
        goto done;

    CHECK_STATUS(bmc_model_logits(model, image_emb, image_count, text_emb, text_count, logits,
                                  (size_t)image_count * text_count), BMC_OK);
    double diff = max_abs_diff(logits, ref_logits, (size_t)image_count * text_count);
    CHECK(diff <= 1e-4, "logits (from the reference embeddings) differ by %g", diff);

    for (size_t i = 0; i < label_count; i++)
        label_ptrs[i] = labels[i];
    for (size_t i = 0; i < template_count; i++)
        template_ptrs[i] = templates[i];
    CHECK_STATUS(bmc_text_encoder_create(model, NULL, &text_encoder), BMC_OK);
    CHECK_STATUS(bmc_image_encoder_create(model, NULL, &image_encoder), BMC_OK);
    CHECK_STATUS(bmc_classifier_create(text_encoder, label_ptrs, label_count, template_ptrs,
                                       template_count, &classifier), BMC_OK);
    if (!classifier)
        goto done;
    CHECK(bmc_classifier_label_count(classifier) == label_count, "label count");
    CHECK(strcmp(bmc_classifier_label(classifier, 1), labels[1]) == 0, "label text");
    CHECK(bmc_classifier_label(classifier, label_count) == NULL, "label out of range");
    CHECK_STATUS(bmc_classifier_probabilities(classifier, image_emb, image_count, probs,
                                              image_count * label_count), BMC_OK);
    diff = max_abs_diff(probs, ref_probs, image_count * label_count);
    printf("zero-shot probabilities (%zu labels x %zu templates): max abs diff %.3g\n", label_count,
           template_count, diff);
    CHECK(diff <= (is_tiny() ? 1e-5 : 1e-4), "zero-shot probabilities differ by %g", diff);

    /* bmc_classify on the image file ranks labels as the reference probabilities do. */
    load_images(images);
    for (int i = 0; i < image_count; i++) {
        int32_t ranked[MAX_ITEMS];
        float top[MAX_ITEMS];
        CHECK_STATUS(bmc_classify(classifier, image_encoder, images[i], label_count, ranked, top), BMC_OK);
        const float *row = ref_probs + i * label_count;
        int ordered = 1;
        for (size_t k = 0; k < label_count; k++) {
            ordered &= fabs(top[k] - row[ranked[k]]) <= (is_tiny() ? 1e-5 : 1e-4);
            if (k > 0)
                ordered &= top[k] <= top[k - 1];
        }
        CHECK(ordered, "%s: ranked probabilities disagree with the reference", image_files[i]);
    }
    int32_t ranked[1];
    float top[1];
    CHECK_STATUS(bmc_classify(classifier, image_encoder, images[0], 0, ranked, top),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_classify(classifier, image_encoder, images[0], label_count + 1, ranked, top),
                 BMC_ERR_INVALID_ARGUMENT);
    const char *bad_template = "no slot here";
    bmc_classifier *unused = NULL;
    CHECK_STATUS(bmc_classifier_create(text_encoder, label_ptrs, label_count, &bad_template, 1, &unused),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK(unused == NULL, "no classifier on error");
done:
    free_images(images);
    bmc_classifier_free(classifier);
    bmc_text_encoder_free(text_encoder);
    bmc_image_encoder_free(image_encoder);
    free(image_emb);
    free(text_emb);
    free(ref_logits);
    free(ref_probs);
    free(logits);
    free(probs);
}

static void expect_load_failure(const char *name, bmc_status expected, const char *needle)
{
    bmc_model *bad = (bmc_model *)&bad; /* must stay untouched */
    bmc_model *const before = bad;
    CHECK_STATUS(bmc_model_load(path_of(name), NULL, &bad), expected);
    CHECK(bad == before, "%s: out-parameter touched on failure", name);
    CHECK(strstr(bmc_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", name,
          bmc_last_error(), needle);
}

static void test_bad_bundles(void)
{
    expect_load_failure("missing.bmc.pt", BMC_ERR_IO, "cannot open");
    expect_load_failure("manifest.txt", BMC_ERR_CORRUPT_DATA, "not a TorchScript archive");
    expect_load_failure("open_clip_pytorch_model.bin", BMC_ERR_CORRUPT_DATA, "export_bundle.py");
    expect_load_failure("broken/truncated.bmc.pt", BMC_ERR_CORRUPT_DATA, "TorchScript");
    expect_load_failure("broken/bad_version.bmc.pt", BMC_ERR_VERSION, "version 99");
    expect_load_failure("broken/no_metadata.bmc.pt", BMC_ERR_MODEL, "bundle.json");
    expect_load_failure("broken/bad_json.bmc.pt", BMC_ERR_MODEL, "JSON");
    expect_load_failure("broken/no_text.bmc.pt", BMC_ERR_MODEL, "encode_text");

    bmc_model_options options;
    bmc_model *none = NULL;
    bmc_model_options_init(&options);
    options.device = "cuda:7";
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), &options, &none), BMC_ERR_DEVICE);
    options.device = "tpu";
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), &options, &none), BMC_ERR_DEVICE);
    options.device = "cpu";
    options.dtype = BMC_DTYPE_F16;
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), &options, &none), BMC_ERR_DEVICE);
    options.dtype = BMC_DTYPE_BF16; /* as on a CPU without AVX512_BF16 or AMX */
    bmci_cpu_hide_bf16(1);
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), &options, &none), BMC_ERR_DEVICE);
    CHECK(strstr(bmc_last_error(), "AVX512_BF16") != NULL, "message: %s", bmc_last_error());
    bmci_cpu_hide_bf16(0);
    options.dtype = 42;
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), &options, &none), BMC_ERR_INVALID_ARGUMENT);
    options.dtype = BMC_DTYPE_F32;
    options.struct_size = 1;
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), &options, &none), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_model_load(NULL, NULL, &none), BMC_ERR_INVALID_ARGUMENT);
    CHECK(none == NULL, "nothing loaded");
}

static void test_bad_calls(void)
{
    const size_t dim = (size_t)embed_dim;
    float out[1024];
    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.truncate = 0;
    CHECK_STATUS(bmc_text_encoder_create(model, &options, &text_encoder), BMC_OK);
    CHECK_STATUS(bmc_image_encoder_create(model, NULL, &image_encoder), BMC_OK);
    const char *long_text = texts[text_count - 1]; /* the fixture's over-long report */
    CHECK_STATUS(bmc_text_encoder_encode(text_encoder, &long_text, 1, 0, out, dim), BMC_ERR_LIMIT);
    CHECK(strstr(bmc_last_error(), "context") != NULL, "message: %s", bmc_last_error());
    const char *bad_utf8 = "ok \xff bad";
    CHECK_STATUS(bmc_text_encoder_encode(text_encoder, &bad_utf8, 1, 0, out, dim), BMC_ERR_INVALID_UTF8);
    CHECK(strstr(bmc_last_error(), "text 0") != NULL, "names the text: %s", bmc_last_error());
    const char *two[2] = {"fine", NULL};
    CHECK_STATUS(bmc_text_encoder_encode(text_encoder, two, 2, 0, out, 2 * dim), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_text_encoder_encode(text_encoder, two, 1, 0, out, dim - 1), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_text_encoder_encode(text_encoder, two, 0, 0, out, dim), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_text_encoder_encode(NULL, two, 1, 0, out, dim), BMC_ERR_INVALID_ARGUMENT);
    const bmc_image *no_image = NULL;
    CHECK_STATUS(bmc_image_encoder_encode(image_encoder, &no_image, 1, 0, out, dim), BMC_ERR_INVALID_ARGUMENT);
    float small_tensor[16] = {0};
    CHECK_STATUS(bmc_image_encoder_encode_tensors(image_encoder, small_tensor, 16, 1, 0, out, dim),
                 BMC_ERR_INVALID_ARGUMENT);
    /* A caller built against the header before fast_jpeg passes the smaller struct. */
    bmc_encoder_options older = options;
    older.struct_size = offsetof(bmc_encoder_options, fast_jpeg);
    older.fast_jpeg = 1; /* beyond what that caller owns: must not be read */
    bmc_image_encoder *old_caller = NULL;
    CHECK_STATUS(bmc_image_encoder_create(model, &older, &old_caller), BMC_OK);
    bmc_image_encoder_free(old_caller);
    older.struct_size = offsetof(bmc_encoder_options, fast_jpeg) - 1;
    CHECK_STATUS(bmc_image_encoder_create(model, &older, &old_caller), BMC_ERR_INVALID_ARGUMENT);
    options.batch_size = 0;
    bmc_text_encoder *none = NULL;
    CHECK_STATUS(bmc_text_encoder_create(model, &options, &none), BMC_ERR_INVALID_ARGUMENT);
    CHECK(none == NULL, "no encoder on error");
    CHECK(bmc_model_embed_dim(NULL) == 0 && bmc_model_tokenizer(NULL) == NULL, "NULL getters");
    bmc_text_encoder_free(text_encoder);
    bmc_image_encoder_free(image_encoder);
    bmc_model_free(NULL);
}

static int32_t cancel_after_first(void *user, size_t done, size_t total)
{
    (void)total;
    *(size_t *)user = done;
    return 1;
}

static void test_progress_and_cancel(void)
{
    size_t seen = 0;
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.batch_size = 2;
    options.progress_fn = cancel_after_first;
    options.progress_user_data = &seen;
    bmc_text_encoder *encoder = NULL;
    float out[4 * 1024];
    const char *four[4] = {"a", "b", "c", "d"};
    CHECK_STATUS(bmc_text_encoder_create(model, &options, &encoder), BMC_OK);
    CHECK_STATUS(bmc_text_encoder_encode(encoder, four, 4, 0, out, 4 * (size_t)embed_dim),
                 BMC_ERR_CANCELLED);
    CHECK(seen == 2, "cancelled after the first batch of 2, saw %zu", seen);
    bmc_text_encoder_free(encoder);
}

/* Threads share the model, each with its own encoder, and get the single-thread results. */
struct thread_job {
    const char *text;
    float embedding[1024];
    bmc_status status;
};

static void *encode_in_thread(void *arg)
{
    struct thread_job *job = arg;
    bmc_text_encoder *encoder = NULL;
    job->status = bmc_text_encoder_create(model, NULL, &encoder);
    for (int round = 0; job->status == BMC_OK && round < 5; round++)
        job->status = bmc_text_encoder_encode(encoder, &job->text, 1, 0, job->embedding,
                                              (size_t)embed_dim);
    bmc_text_encoder_free(encoder);
    return NULL;
}

static void test_threads_share_model(void)
{
    enum { THREADS = 4 };
    struct thread_job jobs[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i].text = texts[i % text_count];
        pthread_create(&threads[i], NULL, encode_in_thread, &jobs[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    bmc_text_encoder *encoder = NULL;
    float alone[1024];
    bmc_text_encoder_create(model, NULL, &encoder);
    for (int i = 0; i < THREADS; i++) {
        CHECK_STATUS(jobs[i].status, BMC_OK);
        CHECK_STATUS(bmc_text_encoder_encode(encoder, &jobs[i].text, 1, 0, alone, (size_t)embed_dim), BMC_OK);
        double diff = max_abs_diff(alone, jobs[i].embedding, (size_t)embed_dim);
        CHECK(diff <= 1e-6, "thread %d result differs by %g", i, diff);
    }
    bmc_text_encoder_free(encoder);
}

/* bfloat16 on the CPU: embeddings within cosine 0.999 of the float32 reference, and every
 * image's zero-shot ranking unchanged except between labels the reference itself separates by
 * less than bfloat16 can resolve. On a CPU without native bfloat16 the load must refuse. */
#define BF16_MIN_COSINE 0.999
#define BF16_TIE 2e-3

static void check_bf16_ranking(bmc_classifier *classifier, const float *embeddings,
                               const float *ref_probs, size_t label_count)
{
    float *probs = malloc(image_count * label_count * sizeof *probs);
    CHECK_STATUS(bmc_classifier_probabilities(classifier, embeddings, image_count, probs,
                                              image_count * label_count), BMC_OK);
    for (int i = 0; i < image_count; i++) {
        const float *want = ref_probs + i * label_count, *got = probs + i * label_count;
        int same = 1;
        for (size_t a = 0; a < label_count; a++)
            for (size_t b = 0; b < label_count; b++)
                if (want[a] > want[b] + BF16_TIE)
                    same &= got[a] > got[b];
        CHECK(same, "%s: bfloat16 zero-shot ranking differs from float32's", image_files[i]);
    }
    free(probs);
}

/* The resident set in bytes (/proc/self/statm), 0 where it cannot be read. */
static long long resident_bytes(void)
{
    long long pages = 0, resident = 0;
    FILE *file = fopen("/proc/self/statm", "r");
    if (file && fscanf(file, "%lld %lld", &pages, &resident) != 2)
        resident = 0;
    if (file)
        fclose(file);
    return resident * 4096;
}

/* The resident set's high-water mark, restarted from the current size first when `restart`
 * (Linux's clear_refs); -1 where that cannot be done. */
static long long peak_resident_bytes(int restart)
{
    if (restart) {
        FILE *clear = fopen("/proc/self/clear_refs", "w");
        if (!clear || fputs("5", clear) < 0 || fclose(clear) != 0)
            return -1;
    }
    long long kib = -1;
    char line[256];
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "VmHWM: %lld kB", &kib) == 1)
            break;
    if (status)
        fclose(status);
    return kib < 0 ? -1 : kib * 1024;
}

static long long file_bytes(const char *path)
{
    FILE *file = fopen(path, "rb");
    long long size = file && fseek(file, 0, SEEK_END) == 0 ? (long long)ftell(file) : -1;
    if (file)
        fclose(file);
    return size;
}

/* Loading a second copy of the model grows the resident set by about its weights, the
 * checkpoint's size: each linear layer is packed for oneDNN once however many of the bundle's
 * methods inline it, and the graphs' own copies of the packed weights are dropped. (Packed once
 * per method, the full-size model took 2.4 GiB for its 0.75 GiB of weights.) The margin covers
 * the graphs, libtorch's and oneDNN's per-model state and glibc's arenas; AddressSanitizer's
 * quarantine and shadow memory make the figure meaningless there. */
static void test_resident_memory(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return;
#endif
    long long weights = file_bytes(path_of("open_clip_pytorch_model.bin"));
    long long before = resident_bytes();
    long long peak_restarted = peak_resident_bytes(1);
    bmc_model *second = NULL;
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), NULL, &second), BMC_OK);
    long long grown = resident_bytes() - before;
    long long peak = peak_resident_bytes(0) - before;
    printf("%s model: loading a second copy grew the resident set by %.1f MiB (%.1f MiB at its "
           "peak), checkpoint %.1f MiB\n", size_name, grown / 1048576.0, peak / 1048576.0,
           weights / 1048576.0);
    CHECK(weights > 0 && before > 0, "checkpoint size %lld, resident set %lld", weights, before);
    CHECK(grown < weights * 3 / 2 + (64LL << 20), "resident set grew by %lld bytes for %lld bytes of weights",
          grown, weights);
    /* Each float weight is freed as soon as its packed copy exists: the load never holds the
     * model twice (it peaked at 1.9 x the checkpoint when the float copies were freed last). */
    if (peak_restarted < 0)
        printf("the peak is not checked: /proc/self/clear_refs cannot restart it here\n");
    else
        CHECK(peak < weights * 13 / 10 + (64LL << 20), "the load peaked %lld bytes above the resident "
              "set for %lld bytes of weights", peak, weights);
    bmc_model_free(second);
}

static void test_bfloat16(void)
{
    const size_t dim = (size_t)embed_dim;
    bmc_model *bf16 = load_bf16_model(path_of("model.bmc.pt"));
    if (!bf16)
        return;
    char labels[MAX_ITEMS][MAX_LINE], templates[MAX_ITEMS][MAX_LINE];
    size_t label_count = read_lines("zeroshot_labels.txt", labels, MAX_ITEMS);
    size_t template_count = read_lines("zeroshot_templates.txt", templates, MAX_ITEMS);
    const char *label_ptrs[MAX_ITEMS], *template_ptrs[MAX_ITEMS], *text_ptrs[MAX_ITEMS];
    for (size_t i = 0; i < label_count; i++)
        label_ptrs[i] = labels[i];
    for (size_t i = 0; i < template_count; i++)
        template_ptrs[i] = templates[i];
    read_lines("texts.txt", texts, MAX_ITEMS);
    for (int i = 0; i < text_count; i++)
        text_ptrs[i] = texts[i];
    float *want_images = read_raw("image_embeddings.f32", image_count * dim);
    float *want_texts = read_raw("text_embeddings_padded.f32", text_count * dim);
    float *ref_probs = read_raw("zeroshot_probs.f32", image_count * label_count);
    float *images_out = malloc(image_count * dim * sizeof *images_out);
    float *texts_out = malloc(text_count * dim * sizeof *texts_out);
    bmc_image *images[MAX_ITEMS] = {0};
    bmc_image_encoder *image_encoder = NULL;
    bmc_text_encoder *text_encoder = NULL;
    bmc_classifier *classifier = NULL;
    load_images(images);
    CHECK_STATUS(bmc_image_encoder_create(bf16, NULL, &image_encoder), BMC_OK);
    CHECK_STATUS(bmc_text_encoder_create(bf16, NULL, &text_encoder), BMC_OK);
    CHECK_STATUS(bmc_image_encoder_encode(image_encoder, (const bmc_image *const *)images, image_count,
                                          BMC_ENCODE_RAW, images_out, image_count * dim), BMC_OK);
    CHECK_STATUS(bmc_text_encoder_encode(text_encoder, text_ptrs, text_count, BMC_ENCODE_RAW, texts_out,
                                         text_count * dim), BMC_OK);
    double image_cosine = min_row_cosine(images_out, want_images, image_count, dim);
    double text_cosine = min_row_cosine(texts_out, want_texts, text_count, dim);
    printf("%s model in bfloat16 on the CPU: 1 - min cosine to float32 %.3g (images), %.3g (texts)\n",
           size_name, 1 - image_cosine, 1 - text_cosine);
    CHECK(image_cosine >= BF16_MIN_COSINE, "bfloat16 image embedding cosine %.6f", image_cosine);
    CHECK(text_cosine >= BF16_MIN_COSINE, "bfloat16 text embedding cosine %.6f", text_cosine);

    /* The classifier built on the bfloat16 text tower, fed the bfloat16 image embeddings. */
    CHECK_STATUS(bmc_classifier_create(text_encoder, label_ptrs, label_count, template_ptrs,
                                       template_count, &classifier), BMC_OK);
    if (classifier && ref_probs) {
        normalize_rows(images_out, image_count, dim);
        check_bf16_ranking(classifier, images_out, ref_probs, label_count);
    }
    bmc_classifier_free(classifier);
    bmc_text_encoder_free(text_encoder);
    bmc_image_encoder_free(image_encoder);
    free_images(images);
    free(want_images);
    free(want_texts);
    free(ref_probs);
    free(images_out);
    free(texts_out);
    bmc_model_free(bf16);
}

int main(void)
{
    const char *chosen = getenv("BMC_MODEL_FIXTURES");
    if (chosen)
        snprintf(dir, sizeof dir, "%s", chosen);
    else
        snprintf(dir, sizeof dir, "%s/model", harness_fixtures());
    if (!read_manifest() || embed_dim > 1024 || !size_name[0]) {
        CHECK(0, "model fixtures missing in %s (run make fixtures)", dir);
        return harness_summary("test_model");
    }
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), NULL, &model), BMC_OK);
    if (model) {
        RUN(test_metadata);
        RUN(test_image_embeddings);
        RUN(test_text_embeddings);
        RUN(test_logits_and_zero_shot);
        RUN(test_bad_calls);
        RUN(test_progress_and_cancel);
        RUN(test_threads_share_model);
        RUN(test_resident_memory);
        RUN(test_bfloat16);
    }
    if (is_tiny())
        RUN(test_bad_bundles);
    bmc_model_free(model);
    return harness_summary("test_model");
}
