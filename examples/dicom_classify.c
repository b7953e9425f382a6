/* SPDX-License-Identifier: MIT */
/* dicom_classify — zero-shot classification of every frame of DICOM files.
 *
 *   dicom_classify [--window CENTER,WIDTH] MODEL "label one,label two,..." FILE.dcm...
 *
 * Each file is parsed once (bmc_dicom_open_file); its attributes and window presets are
 * printed, then every frame is shown through the DICOM display pipeline (the file's rescale
 * and first window, or the window given) and classified with the "ct" template set when the
 * modality is CT, "mri" for MR, else the generic one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <biomedclip.h>

#define MAX_LABELS 64

static int fail(const char *what)
{
    fprintf(stderr, "dicom_classify: %s: %s\n", what, bmc_last_error());
    return 1;
}

static size_t split_labels(char *list, const char **labels)
{
    size_t count = 0;
    for (char *label = strtok(list, ","); label && count < MAX_LABELS; label = strtok(NULL, ","))
        labels[count++] = label;
    return count;
}

/* A classifier of the labels with the template set that suits the modality. Template
 * embeddings are computed per classifier, so the three are made only when needed. */
static bmc_classifier *classifier_for(bmc_text_encoder *text_encoder, const char **labels,
                                      size_t label_count, const char *modality,
                                      bmc_classifier *cache[3])
{
    int which = strcmp(modality, "CT") == 0 ? 1 : strcmp(modality, "MR") == 0 ? 2 : 0;
    static const char *const sets[3] = {"generic", "ct", "mri"};
    if (!cache[which]) {
        const char *const *templates;
        size_t template_count;
        if (bmc_template_set(sets[which], &templates, &template_count, NULL, NULL) != BMC_OK ||
            bmc_classifier_create(text_encoder, labels, label_count, templates, template_count,
                                  &cache[which]) != BMC_OK)
            return NULL;
    }
    return cache[which];
}

static int classify_file(bmc_text_encoder *text_encoder, bmc_image_encoder *encoder,
                         const char **labels, size_t label_count, bmc_classifier *cache[3],
                         const char *path, const bmc_dicom_frame_options *base)
{
    bmc_dicom *dicom;
    if (bmc_dicom_open_file(path, &dicom) != BMC_OK)
        return fail(path);
    bmc_dicom_info info;
    bmc_dicom_info_init(&info);
    bmc_dicom_get_info(dicom, &info);
    printf("%s: %s %s, %d frame(s) of %dx%d, %d bits stored\n", path,
           info.modality[0] ? info.modality : "(no modality)", info.photometric, info.frames,
           info.columns, info.rows, info.bits_stored);
    for (int32_t w = 0; w < info.window_count; w++) {
        double center, width;
        const char *explanation;
        bmc_dicom_window(dicom, w, &center, &width, &explanation);
        printf("  window %d: center %g, width %g %s\n", w, center, width, explanation);
    }
    int result = 0;
    if (info.frames == 0) {
        printf("  no image: %s\n", info.no_image_reason);
        result = 1;
    }
    bmc_classifier *classifier = info.frames > 0 ? classifier_for(text_encoder, labels, label_count,
                                                                  info.modality, cache) : NULL;
    if (info.frames > 0 && !classifier)
        result = fail("setting up the classifier");
    for (int32_t frame = 0; classifier && frame < info.frames; frame++) {
        bmc_dicom_frame_options options = *base;
        options.frame = frame;
        bmc_image *image;
        if (bmc_dicom_frame_image(dicom, &options, &image) != BMC_OK) {
            result = fail(path);
            break;
        }
        int32_t ranked[MAX_LABELS];
        float probabilities[MAX_LABELS];
        bmc_status status = bmc_classify(classifier, encoder, image, label_count, ranked, probabilities);
        bmc_image_free(image);
        if (status != BMC_OK) {
            result = fail(path);
            break;
        }
        printf("  frame %d: %.2f%% %s\n", frame, 100.0 * probabilities[0],
               bmc_classifier_label(classifier, ranked[0]));
    }
    bmc_dicom_free(dicom);
    return result;
}

int main(int argc, char **argv)
{
    bmc_dicom_frame_options options;
    bmc_dicom_frame_options_init(&options);
    if (argc > 2 && strcmp(argv[1], "--window") == 0) {
        if (sscanf(argv[2], "%lf,%lf", &options.window_center, &options.window_width) != 2) {
            fprintf(stderr, "dicom_classify: --window takes CENTER,WIDTH\n");
            return 2;
        }
        options.has_window = 1;
        argv += 2;
        argc -= 2;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: %s [--window CENTER,WIDTH] MODEL \"label one,label two,...\" FILE.dcm...\n",
                argv[0]);
        return 2;
    }
    const char *labels[MAX_LABELS];
    size_t label_count = split_labels(argv[2], labels);
    bmc_model *model;
    if (bmc_model_load(argv[1], NULL, &model) != BMC_OK)
        return fail(argv[1]);
    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    bmc_classifier *cache[3] = {NULL, NULL, NULL};
    int result = 1;
    if (bmc_text_encoder_create(model, NULL, &text_encoder) != BMC_OK ||
        bmc_image_encoder_create(model, NULL, &image_encoder) != BMC_OK) {
        fail("setting up");
    } else {
        result = 0;
        for (int i = 3; i < argc; i++)
            result |= classify_file(text_encoder, image_encoder, labels, label_count, cache, argv[i],
                                    &options);
    }
    for (int i = 0; i < 3; i++)
        bmc_classifier_free(cache[i]);
    bmc_image_encoder_free(image_encoder);
    bmc_text_encoder_free(text_encoder);
    bmc_model_free(model);
    return result;
}
