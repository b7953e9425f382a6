/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The per-image routes: classify, segment and ask about one frame of a stored instance. The
 * frame is decoded from the instance's file as the indexer decodes it (the file's own
 * window), so a route, the index and the library called on the same file agree. */
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "plugin.h"
#include "routes.h"

/* Decode frame `frame` of instance `id`; answers the error itself and returns -1 on failure. */
static int load_frame(bmco_request *r, OrthancPluginRestOutput *output, const char *id,
                      int32_t frame, bmc_image **image)
{
    bmco_plugin *p = &bmco_the_plugin;
    char uri[128];
    OrthancPluginMemoryBuffer body;
    snprintf(uri, sizeof uri, "/instances/%s/file", id);
    OrthancPluginErrorCode code = bmco_rest_get(uri, &body);
    if (code != OrthancPluginErrorCode_Success) {
        if (code == OrthancPluginErrorCode_UnknownResource)
            bmco_answer_error(output, r->uri, 404, "no instance %s", id);
        else
            bmco_answer_error(output, r->uri, 500, "Orthanc could not read instance %s", id);
        return -1;
    }
    bmc_dicom *dicom = NULL;
    bmc_dicom_frame_options options;
    bmc_dicom_frame_options_init(&options);
    options.frame = frame;
    bmc_status st = bmc_dicom_open_memory(body.data, body.size, &dicom);
    OrthancPluginFreeMemoryBuffer(p->context, &body);
    if (st == BMC_OK)
        st = bmc_dicom_frame_image(dicom, &options, image);
    bmc_dicom_free(dicom);
    if (st != BMC_OK) {
        bmco_answer_error(output, r->uri, bmco_http_status(st), "instance %s, frame %d: %s", id,
                          (int)frame, bmc_last_error());
        return -1;
    }
    return 0;
}

/* The embedding of a frame: the indexed vector when the index keeps float32 (the same the
 * image tower gave), else the frame through the image tower. */
static int embed_frame(bmco_request *r, OrthancPluginRestOutput *output, const char *id,
                       int32_t frame, float *embedding, size_t dim)
{
    bmco_plugin *p = &bmco_the_plugin;
    if (p->config.index_dtype == BMC_DTYPE_F32 &&
        bmco_store_vector(p->store, id, frame, embedding, dim) == 0)
        return 0;
    bmc_image *image = NULL;
    if (load_frame(r, output, id, frame, &image) != 0)
        return -1;
    bmc_image_encoder *encoder = NULL;
    bmc_status st = bmc_image_encoder_create(p->model, NULL, &encoder);
    if (st == BMC_OK)
        st = bmc_image_encoder_encode(encoder, (const bmc_image *const *)&image, 1, 0, embedding,
                                      dim);
    bmc_image_encoder_free(encoder);
    bmc_image_free(image);
    if (st != BMC_OK) {
        bmco_answer_error(output, r->uri, bmco_http_status(st), "%s", bmc_last_error());
        return -1;
    }
    return 0;
}

/* "templates": a built-in set name, or templates separated by '|'; else the configured ones. */
static int templates_arg(bmco_request *r, char ***owned, size_t *owned_count,
                         const char *const **templates, size_t *count)
{
    const char *value = bmco_arg(r, "templates");
    *owned = NULL;
    *owned_count = 0;
    if (value && value[0] && !strstr(value, "{}")) {
        if (bmc_template_set(value, templates, count, NULL, NULL) != BMC_OK) {
            snprintf(r->message, sizeof r->message, "templates: %s", bmc_last_error());
            return 400;
        }
        return 0;
    }
    int rc = bmco_arg_list(r, "templates", '|', owned, owned_count);
    if (rc != 0)
        return rc;
    if (*owned) {
        *templates = (const char *const *)*owned;
        *count = *owned_count;
    } else {
        *templates = (const char *const *)bmco_the_plugin.config.templates;
        *count = bmco_the_plugin.config.template_count;
    }
    return 0;
}

void bmco_route_classify(bmco_request *r, OrthancPluginRestOutput *output, const char *id)
{
    bmco_plugin *p = &bmco_the_plugin;
    char **labels = NULL, **owned_templates = NULL;
    size_t label_count = 0, owned_count = 0, template_count = 0;
    const char *const *templates = NULL;
    int32_t frame;
    int rc;
    if ((rc = bmco_arg_int(r, "frame", 0, 0, 1 << 30, &frame)) != 0 ||
        (rc = bmco_arg_list(r, "labels", ',', &labels, &label_count)) != 0 ||
        (rc = templates_arg(r, &owned_templates, &owned_count, &templates, &template_count)) != 0) {
        bmco_answer_error(output, r->uri, rc, "%s", r->message);
        goto done;
    }
    const char *const *names = labels ? (const char *const *)labels
                                      : (const char *const *)p->config.labels;
    size_t n = labels ? label_count : p->config.label_count;
    if (n < 2) {
        bmco_answer_error(output, r->uri, 400, "%s", labels ? "give at least two labels"
                          : "give at least two labels (\"labels=a,b\"): none are configured");
        goto done;
    }
    size_t dim = (size_t)bmc_model_embed_dim(p->model);
    float *embedding = malloc(dim * sizeof *embedding), *probabilities = malloc(n * sizeof(float));
    bmc_text_encoder *encoder = NULL;
    bmc_classifier *classifier = NULL;
    bmc_status st = BMC_ERR_OUT_OF_MEMORY;
    if (embedding && probabilities && embed_frame(r, output, id, frame, embedding, dim) != 0) {
        st = BMC_OK; /* answered */
    } else if (embedding && probabilities &&
               (st = bmc_text_encoder_create(p->model, NULL, &encoder)) == BMC_OK &&
               (st = bmc_classifier_create(encoder, names, n, templates, template_count,
                                           &classifier)) == BMC_OK &&
               (st = bmc_classifier_probabilities(classifier, embedding, 1, probabilities, n)) ==
                   BMC_OK) {
        int32_t *order = malloc(n * sizeof *order);
        cJSON *json = cJSON_CreateObject(), *list;
        if (order && bmc_top_k(probabilities, n, n, order) == BMC_OK && json &&
            cJSON_AddStringToObject(json, "ID", id) &&
            cJSON_AddNumberToObject(json, "Frame", frame) &&
            (list = cJSON_AddArrayToObject(json, "Labels"))) {
            for (size_t i = 0; i < n; i++) {
                cJSON *item = cJSON_CreateObject();
                cJSON_AddItemToArray(list, item);
                cJSON_AddStringToObject(item, "Label", names[order[i]]);
                cJSON_AddItemToObject(item, "Probability", bmco_json_number(probabilities[order[i]]));
            }
            bmco_answer_json(output, r->uri, json);
        } else {
            cJSON_Delete(json);
            bmco_answer_error(output, r->uri, 500, "out of memory");
        }
        free(order);
    }
    if (st != BMC_OK)
        bmco_answer_error(output, r->uri, bmco_http_status(st), "%s", bmc_last_error());
    bmc_classifier_free(classifier);
    bmc_text_encoder_free(encoder);
    free(embedding);
    free(probabilities);
done:
    bmco_free_list(labels, label_count);
    bmco_free_list(owned_templates, owned_count);
}

void bmco_route_segment(bmco_request *r, OrthancPluginRestOutput *output, const char *id)
{
    bmco_plugin *p = &bmco_the_plugin;
    const char *prompt;
    int32_t frame, overlay;
    float threshold;
    int rc;
    if (!p->segmenter) {
        bmco_answer_error(output, r->uri, 501, "no \"SegmentationDecoder\" is configured");
        return;
    }
    if ((rc = bmco_arg_text(r, "prompt", 1, BMCO_MAX_TEXT, &prompt)) != 0 ||
        (rc = bmco_arg_int(r, "frame", 0, 0, 1 << 30, &frame)) != 0 ||
        (rc = bmco_arg_int(r, "overlay", 0, 0, 1, &overlay)) != 0 ||
        (rc = bmco_arg_float(r, "threshold", 0.5f, 0.0f, 1.0f, &threshold)) != 0) {
        bmco_answer_error(output, r->uri, rc, "%s", r->message);
        return;
    }
    bmc_image *image = NULL;
    if (load_frame(r, output, id, frame, &image) != 0)
        return;
    int32_t width = 0, height = 0, mode = 0;
    bmc_image_info(image, &width, &height, &mode);
    size_t pixels = (size_t)width * (size_t)height;
    float *probabilities = malloc(pixels * sizeof *probabilities);
    uint8_t *mask = malloc(pixels), *rgb = overlay ? malloc(pixels * 3) : NULL;
    static const uint8_t red[3] = {255, 0, 0};
    bmc_status st = BMC_ERR_OUT_OF_MEMORY;
    if (probabilities && mask && (!overlay || rgb) &&
        (st = bmc_segment(p->segmenter, image, &prompt, 1, probabilities, pixels)) == BMC_OK &&
        (st = bmc_mask_threshold(probabilities, pixels, threshold, mask)) == BMC_OK &&
        (!overlay || (st = bmc_mask_overlay(image, mask, pixels, red, 0.5f, rgb, pixels * 3)) ==
                         BMC_OK)) {
        if (overlay)
            OrthancPluginCompressAndAnswerPngImage(p->context, output,
                                                   OrthancPluginPixelFormat_RGB24, (uint32_t)width,
                                                   (uint32_t)height, (uint32_t)width * 3, rgb);
        else
            OrthancPluginCompressAndAnswerPngImage(p->context, output,
                                                   OrthancPluginPixelFormat_Grayscale8,
                                                   (uint32_t)width, (uint32_t)height,
                                                   (uint32_t)width, mask);
    } else {
        bmco_answer_error(output, r->uri, bmco_http_status(st), "%s",
                          st == BMC_ERR_OUT_OF_MEMORY ? "out of memory" : bmc_last_error());
    }
    free(probabilities);
    free(mask);
    free(rgb);
    bmc_image_free(image);
}

/* Answers and probabilities, most probable first, as JSON. */
static cJSON *answers_json(const char *id, int32_t frame, const char *question, const char *mode,
                           const char *const *answers, const float *probabilities, size_t count)
{
    cJSON *json = cJSON_CreateObject(), *list;
    if (!json || !cJSON_AddStringToObject(json, "ID", id) ||
        !cJSON_AddNumberToObject(json, "Frame", frame) ||
        !cJSON_AddStringToObject(json, "Question", question) ||
        !cJSON_AddStringToObject(json, "Mode", mode) ||
        !(list = cJSON_AddArrayToObject(json, "Answers"))) {
        cJSON_Delete(json);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddItemToArray(list, item);
        cJSON_AddStringToObject(item, "Answer", answers[i]);
        cJSON_AddItemToObject(item, "Probability", bmco_json_number(probabilities[i]));
    }
    return json;
}

void bmco_route_ask(bmco_request *r, OrthancPluginRestOutput *output, const char *id)
{
    bmco_plugin *p = &bmco_the_plugin;
    const char *question;
    int32_t frame, top;
    char **choices = NULL;
    size_t choice_count = 0;
    int rc;
    if ((rc = bmco_arg_text(r, "q", 1, BMCO_MAX_TEXT, &question)) != 0 ||
        (rc = bmco_arg_int(r, "frame", 0, 0, 1 << 30, &frame)) != 0 ||
        (rc = bmco_arg_int(r, "top", 5, 1, 1000, &top)) != 0 ||
        (rc = bmco_arg_list(r, "answers", ',', &choices, &choice_count)) != 0) {
        bmco_answer_error(output, r->uri, rc, "%s", r->message);
        return;
    }
    static const char *const yes_no[] = {"yes", "no"};
    const char *const *candidates = choices ? (const char *const *)choices : yes_no;
    size_t n = choices ? choice_count : 2;
    bmc_image *image = NULL;
    if (load_frame(r, output, id, frame, &image) != 0) {
        bmco_free_list(choices, choice_count);
        return;
    }
    size_t k = (size_t)top;
    size_t size = p->vqa ? bmc_vqa_answer_count(p->vqa) : n;
    if (k > size)
        k = size;
    int32_t *order = malloc(size * sizeof *order);
    float *probabilities = malloc(size * sizeof *probabilities), *ranked = malloc(k * sizeof *ranked);
    const char **names = malloc(k * sizeof *names);
    bmc_status st = BMC_ERR_OUT_OF_MEMORY;
    size_t found = 0;
    const char *mode = p->vqa ? "head" : "zero-shot";
    if (order && probabilities && ranked && names && p->vqa) {
        /* The head answers from its vocabulary; "answers" makes the question multiple choice. */
        bmc_vqa_options options;
        bmc_vqa_options_init(&options);
        options.choices = choices ? (const char *const *)choices : NULL;
        options.choice_count = choices ? choice_count : 0;
        st = bmc_vqa_ask(p->vqa, image, &question, 1, &options, k, order, ranked, k);
        for (size_t i = 0; st == BMC_OK && i < k && order[i] >= 0; i++)
            names[found++] = bmc_vqa_answer(p->vqa, (size_t)order[i]);
    } else if (order && probabilities && ranked && names) {
        bmc_image_encoder *images = NULL;
        bmc_text_encoder *texts = NULL;
        if ((st = bmc_image_encoder_create(p->model, NULL, &images)) == BMC_OK &&
            (st = bmc_text_encoder_create(p->model, NULL, &texts)) == BMC_OK &&
            (st = bmc_vqa_zero_shot(images, texts, image, question, candidates, n, probabilities,
                                    n)) == BMC_OK &&
            (st = bmc_top_k(probabilities, n, k, order)) == BMC_OK)
            for (; found < k; found++) {
                names[found] = candidates[order[found]];
                ranked[found] = probabilities[order[found]];
            }
        bmc_image_encoder_free(images);
        bmc_text_encoder_free(texts);
    }
    if (st == BMC_OK)
        bmco_answer_json(output, r->uri,
                         answers_json(id, frame, question, mode, names, ranked, found));
    else if (st == BMC_ERR_NOT_FOUND && p->vqa && choices)
        bmco_answer_error(output, r->uri, 400, "answers: %s", bmc_last_error());
    else
        bmco_answer_error(output, r->uri, bmco_http_status(st), "%s",
                          st == BMC_ERR_OUT_OF_MEMORY ? "out of memory" : bmc_last_error());
    free(order);
    free(probabilities);
    free(ranked);
    free(names);
    bmc_image_free(image);
    bmco_free_list(choices, choice_count);
}
