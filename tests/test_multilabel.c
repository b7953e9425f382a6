/* SPDX-License-Identifier: MIT */
/* Multi-label zero-shot scoring and the built-in template sets on the tiny model. The scorer's
 * probabilities are checked against CheXzero's rule restated here in double precision on the
 * model's own embeddings (each prompt and image encoded one by one through the public API);
 * the Python suite restates it again in numpy (bindings/python/tests/test_multilabel.py). */
#include <math.h>

#include "biomedclip.h"
#include "harness.h"

#define MAX_ITEMS 16
#define MAX_LINE 1024

static char dir[1024];
static int32_t dim;
static int image_count;
static char image_files[MAX_ITEMS][300];
static char labels[MAX_ITEMS][MAX_LINE];
static size_t label_count;
static bmc_model *model;
static bmc_text_encoder *text_encoder;
static bmc_image_encoder *image_encoder;
static bmc_image *images[MAX_ITEMS];

static const char *path_of(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static int read_fixtures(void)
{
    FILE *file = fopen(path_of("manifest.txt"), "r");
    char line[1024], name[256];
    int index;
    while (file && fgets(line, sizeof line, file)) {
        if (sscanf(line, "embed_dim %d", &dim) == 1 || sscanf(line, "images %d", &image_count) == 1)
            continue;
        if (sscanf(line, "image %d %255s", &index, name) == 2 && index >= 0 && index < MAX_ITEMS)
            snprintf(image_files[index], sizeof image_files[index], "images/%s", name);
    }
    if (file)
        fclose(file);
    file = fopen(path_of("zeroshot_labels.txt"), "r");
    while (file && label_count < MAX_ITEMS && fgets(labels[label_count], MAX_LINE, file))
        labels[label_count][strcspn(labels[label_count], "\n")] = '\0', label_count++;
    if (file)
        fclose(file);
    return dim > 0 && image_count > 0 && image_count <= MAX_ITEMS && label_count > 0;
}

/* ---- the restatement ---------------------------------------------------------------------- */

/* The label put into the template's "{}". */
static void fill(char *out, size_t size, const char *template_text, const char *label)
{
    const char *slot = strstr(template_text, "{}");
    snprintf(out, size, "%.*s%s%s", (int)(slot - template_text), template_text, label, slot + 2);
}

static void unit(double *v)
{
    double sum = 0;
    for (int d = 0; d < dim; d++)
        sum += v[d] * v[d];
    for (int d = 0; d < dim; d++)
        v[d] /= sqrt(sum);
}

/* CLIP's template ensemble of every label: the normalised mean of its prompts' normalised
 * embeddings. The prompts are encoded in one call, label by label, as the scorer encodes
 * them, so the embeddings are the very ones it averages (a prompt encoded in another batch
 * may differ in its last bits, which the logit scale magnifies past 1e-6). */
static void ensemble(const char *const *templates, size_t count, double out[][1024])
{
    static char prompts[MAX_ITEMS * 8][2 * MAX_LINE];
    static const char *texts[MAX_ITEMS * 8];
    static float embeddings[MAX_ITEMS * 8 * 1024];
    size_t n = label_count * count;
    for (size_t i = 0; i < n; i++) {
        fill(prompts[i], sizeof prompts[i], templates[i % count], labels[i / count]);
        texts[i] = prompts[i];
    }
    CHECK_STATUS(bmc_text_encoder_encode(text_encoder, texts, n, 0, embeddings, n * (size_t)dim), BMC_OK);
    for (size_t l = 0; l < label_count; l++) {
        for (int d = 0; d < dim; d++) {
            out[l][d] = 0;
            for (size_t t = 0; t < count; t++)
                out[l][d] += embeddings[(l * count + t) * (size_t)dim + d] / (double)count;
        }
        unit(out[l]);
    }
}

/* expected[i * label_count + l]: softmax over (s cos(x_i, positive_l), s cos(x_i, negative_l))
 * for the image embeddings x (count x dim). */
static void restate(const char *const *positive, size_t positive_count,
                    const char *const *negative, size_t negative_count, const float *x_all,
                    size_t count, double *expected)
{
    const double scale = bmc_model_logit_scale(model);
    static double pos[MAX_ITEMS][1024], neg[MAX_ITEMS][1024];
    ensemble(positive, positive_count, pos);
    ensemble(negative, negative_count, neg);
    for (size_t i = 0; i < count; i++) {
        double x[1024];
        for (int d = 0; d < dim; d++)
            x[d] = x_all[i * (size_t)dim + d];
        unit(x);
        for (size_t l = 0; l < label_count; l++) {
            double lp = 0, ln = 0;
            for (int d = 0; d < dim; d++) {
                lp += scale * x[d] * pos[l][d];
                ln += scale * x[d] * neg[l][d];
            }
            double top = lp > ln ? lp : ln;
            expected[i * label_count + l] = exp(lp - top) / (exp(lp - top) + exp(ln - top));
        }
    }
}

/* The scorer on every image (as one batch and one by one) against the restatement. */
static void check_scorer(const char *what, const char *const *positive, size_t positive_count,
                         const char *const *negative, size_t negative_count)
{
    const char *label_ptrs[MAX_ITEMS];
    for (size_t l = 0; l < label_count; l++)
        label_ptrs[l] = labels[l];
    bmc_multilabel *scorer = NULL;
    CHECK_STATUS(bmc_multilabel_create(text_encoder, label_ptrs, label_count, positive, positive_count,
                                       negative, negative_count, &scorer), BMC_OK);
    if (!scorer)
        return;
    static double expected[MAX_ITEMS * MAX_ITEMS], expected_one[MAX_ITEMS];
    static const char *const default_positive[] = {BMC_DEFAULT_POSITIVE_TEMPLATE};
    static const char *const default_negative[] = {BMC_DEFAULT_NEGATIVE_TEMPLATE};
    if (!positive)
        positive = default_positive, positive_count = 1;
    if (!negative)
        negative = default_negative, negative_count = 1;

    float embeddings[MAX_ITEMS * 1024], probs[MAX_ITEMS * MAX_ITEMS];
    CHECK_STATUS(bmc_image_encoder_encode(image_encoder, (const bmc_image *const *)images,
                                          (size_t)image_count, 0, embeddings,
                                          (size_t)image_count * dim), BMC_OK);
    restate(positive, positive_count, negative, negative_count, embeddings, (size_t)image_count,
            expected);
    CHECK_STATUS(bmc_multilabel_probabilities(scorer, embeddings, (size_t)image_count, probs,
                                              (size_t)image_count * label_count), BMC_OK);
    double err = 0, err_one = 0, lowest = 1, highest = 0;
    for (int i = 0; i < image_count; i++) {
        float one[MAX_ITEMS], embedding[1024];
        /* bmc_multilabel_classify() encodes the image alone: so does its reference. */
        CHECK_STATUS(bmc_image_encoder_encode(image_encoder, (const bmc_image *const *)&images[i], 1, 0,
                                              embedding, (size_t)dim), BMC_OK);
        restate(positive, positive_count, negative, negative_count, embedding, 1, expected_one);
        CHECK_STATUS(bmc_multilabel_classify(scorer, image_encoder, images[i], one, label_count), BMC_OK);
        for (size_t l = 0; l < label_count; l++) {
            double want = expected[i * label_count + l];
            err = fmax(err, fabs(probs[i * label_count + l] - want));
            err_one = fmax(err_one, fabs(one[l] - expected_one[l]));
            lowest = fmin(lowest, want);
            highest = fmax(highest, want);
        }
    }
    CHECK(err <= 1e-6, "%s: batch probabilities differ from the restatement by %.3g", what, err);
    CHECK(err_one <= 1e-6, "%s: one-image probabilities differ from the restatement by %.3g", what, err_one);
    printf("%s: %d images x %zu labels, probabilities %.4f..%.4f, max error %.3g (batch), %.3g (one)\n",
           what, image_count, label_count, lowest, highest, err, err_one);
    CHECK(bmc_multilabel_label_count(scorer) == label_count, "label count");
    CHECK(strcmp(bmc_multilabel_label(scorer, label_count - 1), labels[label_count - 1]) == 0, "label text");
    CHECK(bmc_multilabel_label(scorer, label_count) == NULL, "label out of range");
    bmc_multilabel_free(scorer);
}

static void test_multilabel_defaults(void)
{
    check_scorer("{} / no {}", NULL, 0, NULL, 0);
}

static void test_multilabel_template_set(void)
{
    const char *const *positive = NULL, *const *negative = NULL;
    size_t positive_count = 0, negative_count = 0;
    CHECK_STATUS(bmc_template_set("chest-xray", &positive, &positive_count, &negative, &negative_count),
                 BMC_OK);
    if (positive && negative)
        check_scorer("chest-xray set", positive, positive_count, negative, negative_count);
    /* Lists of different lengths are fine: each side is its own ensemble. */
    static const char *const two[] = {"a chest X-ray showing {}.", "{} on a radiograph"};
    static const char *const one[] = {"a normal chest X-ray without {}"};
    check_scorer("2 positive, 1 negative", two, 2, one, 1);
}

static void test_multilabel_errors(void)
{
    const char *label_ptrs[] = {"effusion", "pneumothorax"}, *null_label[] = {"a", NULL};
    const char *bad[] = {"no slot"}, *twice[] = {"{} and {}"}, *good[] = {"{}"};
    bmc_multilabel *scorer = NULL, *untouched = NULL;
    CHECK_STATUS(bmc_multilabel_create(NULL, label_ptrs, 2, NULL, 0, NULL, 0, &untouched),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_multilabel_create(text_encoder, NULL, 2, NULL, 0, NULL, 0, &untouched),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_multilabel_create(text_encoder, label_ptrs, 2, NULL, 0, NULL, 0, NULL),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_multilabel_create(text_encoder, label_ptrs, 0, NULL, 0, NULL, 0, &untouched),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_multilabel_create(text_encoder, null_label, 2, NULL, 0, NULL, 0, &untouched),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "label 1") != NULL, "names the label: %s", bmc_last_error());
    CHECK_STATUS(bmc_multilabel_create(text_encoder, label_ptrs, 2, bad, 1, NULL, 0, &untouched),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "positive template 0") != NULL, "names the side: %s", bmc_last_error());
    CHECK_STATUS(bmc_multilabel_create(text_encoder, label_ptrs, 2, good, 1, twice, 1, &untouched),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "negative template 0") != NULL, "names the side: %s", bmc_last_error());
    CHECK(untouched == NULL, "no scorer on error");

    CHECK_STATUS(bmc_multilabel_create(text_encoder, label_ptrs, 2, NULL, 0, NULL, 0, &scorer), BMC_OK);
    float embeddings[2 * 1024] = {0}, probs[4] = {-1, -1, -1, -1};
    CHECK_STATUS(bmc_multilabel_probabilities(scorer, embeddings, 2, probs, 3), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_multilabel_probabilities(scorer, embeddings, 0, probs, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_multilabel_probabilities(NULL, embeddings, 1, probs, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_multilabel_probabilities(scorer, NULL, 1, probs, 4), BMC_ERR_INVALID_ARGUMENT);
    embeddings[dim + 3] = NAN;
    CHECK_STATUS(bmc_multilabel_probabilities(scorer, embeddings, 2, probs, 4), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "embedding 1") != NULL, "names the row: %s", bmc_last_error());
    CHECK(probs[0] == -1 && probs[3] == -1, "nothing written on error");
    embeddings[dim + 3] = INFINITY;
    CHECK_STATUS(bmc_multilabel_probabilities(scorer, embeddings, 2, probs, 4), BMC_ERR_INVALID_ARGUMENT);
    /* A zero embedding is equally far from both prompts. */
    CHECK_STATUS(bmc_multilabel_probabilities(scorer, embeddings, 1, probs, 2), BMC_OK);
    CHECK(probs[0] == 0.5f && probs[1] == 0.5f, "zero embedding: %g %g", probs[0], probs[1]);
    float one[2];
    CHECK_STATUS(bmc_multilabel_classify(scorer, image_encoder, images[0], one, 1), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_multilabel_classify(scorer, image_encoder, NULL, one, 2), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_multilabel_classify(scorer, NULL, images[0], one, 2), BMC_ERR_INVALID_ARGUMENT);
    CHECK(bmc_multilabel_label_count(NULL) == 0 && bmc_multilabel_label(NULL, 0) == NULL, "NULL scorer");
    bmc_multilabel_free(scorer);
    bmc_multilabel_free(NULL);
}

/* ---- template sets ------------------------------------------------------------------------ */

static int holds_one_slot(const char *text)
{
    const char *slot = strstr(text, "{}");
    return slot && !strstr(slot + 2, "{}");
}

static void test_template_sets(void)
{
    /* The names and order the header lists; their contents are compared with the header's
     * listing by the Python suite (test_templates.py). */
    static const char *const names[] = {"generic", "chest-xray", "ct", "mri", "ultrasound",
                                        "histopathology", "dermatology", "fundus"};
    const size_t count = sizeof names / sizeof names[0];
    CHECK(bmc_template_set_count() == count, "%zu sets", bmc_template_set_count());
    for (size_t i = 0; i < count && i < bmc_template_set_count(); i++) {
        const char *name = bmc_template_set_name(i);
        CHECK(name && strcmp(name, names[i]) == 0, "set %zu is '%s', expected '%s'", i,
              name ? name : "(null)", names[i]);
        const char *const *positive = NULL, *const *negative = NULL;
        size_t positive_count = 0, negative_count = 0;
        CHECK_STATUS(bmc_template_set(names[i], &positive, &positive_count, &negative, &negative_count),
                     BMC_OK);
        CHECK(positive_count >= 1 && positive_count == negative_count, "%s: %zu positive, %zu negative",
              names[i], positive_count, negative_count);
        for (size_t t = 0; positive && negative && t < positive_count; t++)
            CHECK(holds_one_slot(positive[t]) && holds_one_slot(negative[t]), "%s template %zu", names[i], t);
        /* Any out-pointer may be NULL. */
        size_t only_count = 0;
        CHECK_STATUS(bmc_template_set(names[i], NULL, &only_count, NULL, NULL), BMC_OK);
        CHECK(only_count == positive_count, "count alone");
    }
    CHECK(bmc_template_set_name(count) == NULL, "name out of range");
    const char *const *untouched = NULL;
    CHECK_STATUS(bmc_template_set("chest_xray", &untouched, NULL, NULL, NULL), BMC_ERR_NOT_FOUND);
    CHECK(untouched == NULL, "out-pointer untouched on error");
    CHECK(strstr(bmc_last_error(), "chest_xray") && strstr(bmc_last_error(), "chest-xray") &&
              strstr(bmc_last_error(), "fundus"),
          "the message names the input and the sets: %s", bmc_last_error());
    CHECK_STATUS(bmc_template_set(NULL, NULL, NULL, NULL, NULL), BMC_ERR_INVALID_ARGUMENT);
}

static void test_template_set_classifier(void)
{
    /* A set passed straight to the classifier is the same as its templates spelled out. */
    const char *const *positive = NULL;
    size_t positive_count = 0;
    bmc_template_set("ct", &positive, &positive_count, NULL, NULL);
    const char *copies[8];
    for (size_t t = 0; t < positive_count && t < 8; t++)
        copies[t] = positive[t];
    const char *label_ptrs[] = {"liver lesion", "kidney stone", "normal abdomen"};
    bmc_classifier *from_set = NULL, *spelled = NULL;
    CHECK_STATUS(bmc_classifier_create(text_encoder, label_ptrs, 3, positive, positive_count, &from_set), BMC_OK);
    CHECK_STATUS(bmc_classifier_create(text_encoder, label_ptrs, 3, copies, positive_count, &spelled), BMC_OK);
    float embedding[1024], a[3] = {0}, b[3] = {1};
    CHECK_STATUS(bmc_image_encoder_encode(image_encoder, (const bmc_image *const *)images, 1, 0, embedding,
                                          (size_t)dim), BMC_OK);
    if (from_set && spelled) {
        bmc_classifier_probabilities(from_set, embedding, 1, a, 3);
        bmc_classifier_probabilities(spelled, embedding, 1, b, 3);
    }
    CHECK(memcmp(a, b, sizeof a) == 0, "classifier from the set = from its templates");
    bmc_classifier_free(from_set);
    bmc_classifier_free(spelled);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/model", harness_fixtures());
    RUN(test_template_sets);
    if (!read_fixtures()) {
        CHECK(0, "model fixtures missing in %s", dir);
        return harness_summary("test_multilabel");
    }
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.batch_size = 4;
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), NULL, &model), BMC_OK);
    int loaded = model != NULL;
    for (int i = 0; loaded && i < image_count; i++)
        if (bmc_image_load_file(path_of(image_files[i]), &images[i]) != BMC_OK)
            loaded = 0;
    CHECK(loaded, "model and images load: %s", bmc_last_error());
    if (loaded && bmc_text_encoder_create(model, &options, &text_encoder) == BMC_OK &&
        bmc_image_encoder_create(model, &options, &image_encoder) == BMC_OK) {
        RUN(test_template_set_classifier);
        RUN(test_multilabel_defaults);
        RUN(test_multilabel_template_set);
        RUN(test_multilabel_errors);
    }
    for (int i = 0; i < image_count; i++)
        bmc_image_free(images[i]);
    bmc_text_encoder_free(text_encoder);
    bmc_image_encoder_free(image_encoder);
    bmc_model_free(model);
    return harness_summary("test_multilabel");
}
