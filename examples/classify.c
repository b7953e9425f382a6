/* SPDX-License-Identifier: MIT */
/* classify — zero-shot classification of images with a BiomedCLIP model bundle.
 *
 *   classify [--templates SET] MODEL "label one,label two,..." IMAGE...
 *
 * Each label is put into the prompt templates of a built-in set (default "generic"; others:
 * chest-xray, ct, mri, ultrasound, histopathology, dermatology, fundus); the template
 * embeddings are averaged per label (prompt ensembling) and every image gets its labels
 * ranked by probability. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <biomedclip.h>

#define MAX_LABELS 64

static int fail(const char *what)
{
    fprintf(stderr, "classify: %s: %s\n", what, bmc_last_error());
    return 1;
}

/* Splits "a,b,c" in place into at most MAX_LABELS labels. */
static size_t split_labels(char *list, const char **labels)
{
    size_t count = 0;
    for (char *label = strtok(list, ","); label && count < MAX_LABELS; label = strtok(NULL, ","))
        labels[count++] = label;
    return count;
}

static int classify_image(const bmc_classifier *classifier, bmc_image_encoder *encoder,
                          const char *path)
{
    bmc_image *image;
    if (bmc_image_load_file(path, &image) != BMC_OK)
        return fail(path);
    size_t k = bmc_classifier_label_count(classifier);
    int32_t ranked[MAX_LABELS];
    float probabilities[MAX_LABELS];
    bmc_status status = bmc_classify(classifier, encoder, image, k, ranked, probabilities);
    bmc_image_free(image);
    if (status != BMC_OK)
        return fail(path);
    printf("%s\n", path);
    for (size_t i = 0; i < k; i++)
        printf("  %6.2f%%  %s\n", 100.0 * probabilities[i], bmc_classifier_label(classifier, ranked[i]));
    return 0;
}

int main(int argc, char **argv)
{
    const char *set = "generic";
    if (argc > 2 && strcmp(argv[1], "--templates") == 0) {
        set = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: %s [--templates SET] MODEL \"label one,label two,...\" IMAGE...\n",
                argv[0]);
        return 2;
    }
    const char *const *templates;
    size_t template_count;
    if (bmc_template_set(set, &templates, &template_count, NULL, NULL) != BMC_OK)
        return fail("--templates");
    const char *labels[MAX_LABELS];
    size_t label_count = split_labels(argv[2], labels);

    bmc_model *model;
    if (bmc_model_load(argv[1], NULL, &model) != BMC_OK)
        return fail(argv[1]);
    printf("model %s, weights: %s\n", bmc_model_name(model), bmc_model_source(model));

    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    bmc_classifier *classifier = NULL;
    int result = 1;
    if (bmc_text_encoder_create(model, NULL, &text_encoder) != BMC_OK ||
        bmc_image_encoder_create(model, NULL, &image_encoder) != BMC_OK ||
        bmc_classifier_create(text_encoder, labels, label_count, templates, template_count,
                              &classifier) != BMC_OK) {
        fail("setting up");
    } else {
        result = 0;
        for (int i = 3; i < argc; i++)
            result |= classify_image(classifier, image_encoder, argv[i]);
    }
    bmc_classifier_free(classifier);
    bmc_image_encoder_free(image_encoder);
    bmc_text_encoder_free(text_encoder);
    bmc_model_free(model);
    return result;
}
