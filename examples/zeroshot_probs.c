/* SPDX-License-Identifier: MIT */
/* zeroshot_probs — every label's zero-shot probability for each image, at full precision.
 *
 *   zeroshot_probs MODEL LABELS.txt TEMPLATES.txt IMAGE...
 *
 * LABELS.txt and TEMPLATES.txt hold one label / one prompt template ("{}" marks the label) per
 * line. For each image and label, in label order, it prints
 *
 *   IMAGE<TAB>LABEL<TAB>PROBABILITY
 *
 * with the probability as %.9g, which reads back as exactly the same float. The Python and
 * Rust bindings' tests run this program and compare their own results with it bit for bit.
 * Batch scoring in the library's terms: bmc_image_encoder_encode() then
 * bmc_classifier_probabilities() (bmc_classify() is the one-call version for a top-k). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <biomedclip.h>

#define MAX_LINES 256
#define MAX_LINE 1024

static int fail(const char *what)
{
    fprintf(stderr, "zeroshot_probs: %s: %s\n", what, bmc_last_error());
    return 1;
}

static char *copy_string(const char *text)
{
    size_t size = strlen(text) + 1;
    char *copy = malloc(size);
    return copy ? memcpy(copy, text, size) : NULL;
}

/* Reads up to MAX_LINES non-empty lines into `lines` (freed by free_lines); -1 on error. */
static int read_lines(const char *path, char **lines)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char buffer[MAX_LINE];
    int count = 0;
    while (count < MAX_LINES && fgets(buffer, sizeof buffer, f)) {
        buffer[strcspn(buffer, "\r\n")] = '\0';
        if (buffer[0] != '\0' && (lines[count] = copy_string(buffer)) != NULL)
            count++;
    }
    fclose(f);
    return count;
}

static void free_lines(char **lines, int count)
{
    for (int i = 0; i < count; i++)
        free(lines[i]);
}

/* Encodes one image and prints its probability for every label. */
static int print_probabilities(const bmc_model *model, const bmc_classifier *classifier,
                               bmc_image_encoder *encoder, const char *path)
{
    size_t dim = (size_t)bmc_model_embed_dim(model);
    size_t labels = bmc_classifier_label_count(classifier);
    float *embedding = malloc(dim * sizeof *embedding);
    float *probabilities = malloc(labels * sizeof *probabilities);
    bmc_image *image = NULL;
    int result = 1;
    if (!embedding || !probabilities)
        fprintf(stderr, "zeroshot_probs: out of memory\n");
    else if (bmc_image_load_file(path, &image) != BMC_OK ||
             bmc_image_encoder_encode(encoder, (const bmc_image *const *)&image, 1, 0, embedding,
                                      dim) != BMC_OK ||
             bmc_classifier_probabilities(classifier, embedding, 1, probabilities, labels) != BMC_OK)
        fail(path);
    else {
        for (size_t i = 0; i < labels; i++)
            printf("%s\t%s\t%.9g\n", path, bmc_classifier_label(classifier, i), probabilities[i]);
        result = 0;
    }
    bmc_image_free(image);
    free(embedding);
    free(probabilities);
    return result;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL LABELS.txt TEMPLATES.txt IMAGE...\n"
                        "  Print each image's zero-shot probability for every label (%%.9g).\n",
                argv[0]);
        return 2;
    }
    char *labels[MAX_LINES], *templates[MAX_LINES];
    int label_count = read_lines(argv[2], labels);
    int template_count = read_lines(argv[3], templates);
    if (label_count <= 0 || template_count <= 0) {
        fprintf(stderr, "zeroshot_probs: need at least one label and one template\n");
        free_lines(labels, label_count);
        free_lines(templates, template_count);
        return 1;
    }

    bmc_model *model = NULL;
    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    bmc_classifier *classifier = NULL;
    int result = 1;
    if (bmc_model_load(argv[1], NULL, &model) != BMC_OK)
        fail(argv[1]);
    else if (bmc_text_encoder_create(model, NULL, &text_encoder) != BMC_OK ||
             bmc_image_encoder_create(model, NULL, &image_encoder) != BMC_OK ||
             bmc_classifier_create(text_encoder, (const char *const *)labels, (size_t)label_count,
                                   (const char *const *)templates, (size_t)template_count,
                                   &classifier) != BMC_OK)
        fail("setting up");
    else {
        result = 0;
        for (int i = 4; i < argc; i++)
            result |= print_probabilities(model, classifier, image_encoder, argv[i]);
    }
    bmc_classifier_free(classifier);
    bmc_image_encoder_free(image_encoder);
    bmc_text_encoder_free(text_encoder);
    bmc_model_free(model);
    free_lines(labels, label_count);
    free_lines(templates, template_count);
    return result;
}
