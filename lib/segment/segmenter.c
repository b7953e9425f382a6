/* SPDX-License-Identifier: MIT */
/* bmc_segmenter: a segmentation decoder archive (through the shim) over a loaded model, its
 * decoder.json, and the segment calls from image + prompts to maps. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim/segment.h"
#include "core/archive.h"
#include "core/error.h"
#include "segment/mask.h"
#include "segment/segmenter.h"
#include "model/model.h"
#include "text/tokenizer.h"

void bmc_segmenter_options_init(bmc_segmenter_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->check_base_source = 1;
}

/* ---- decoder.json --------------------------------------------------------------------------- */

static bmc_status read_int(const cJSON *object, const char *key, int32_t min, int32_t max, int32_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsNumber(item))
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: '%s' is missing or not a number", key);
    double value = item->valuedouble;
    if (value != floor(value) || value < min || value > max)
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: '%s' is %g, expected an integer in %d..%d", key, value,
                         min, max);
    *out = (int32_t)value;
    return BMC_OK;
}

static bmc_status read_floats(const cJSON *object, const char *key, float *out, int count)
{
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsArray(array) || cJSON_GetArraySize(array) != count)
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: '%s' must be an array of %d numbers", key, count);
    for (int i = 0; i < count; i++) {
        const cJSON *item = cJSON_GetArrayItem(array, i);
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
            return bmci_fail(BMC_ERR_MODEL, "decoder.json: '%s'[%d] is not a finite number", key, i);
        out[i] = (float)item->valuedouble;
    }
    return BMC_OK;
}

static const char *read_string(const cJSON *object, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static const cJSON *read_object(const cJSON *object, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsObject(item) ? item : NULL;
}

static bmc_status check_format(const cJSON *root)
{
    const char *format = read_string(root, "format");
    if (!format || strcmp(format, "biomedclip-segmentation-decoder") != 0)
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: 'format' is not \"biomedclip-segmentation-decoder\"");
    int32_t version;
    bmc_status status = read_int(root, "format_version", 0, INT32_MAX, &version);
    if (status == BMC_OK && version != BMCI_DECODER_FORMAT_VERSION)
        return bmci_fail(BMC_ERR_VERSION,
                         "decoder format version %d; this library (%s) reads version %d: re-export the "
                         "decoder with this release's tools/export/export_decoder.py",
                         version, BMC_VERSION_STRING, BMCI_DECODER_FORMAT_VERSION);
    if (status == BMC_OK) {
        const char *architecture = read_string(root, "architecture");
        const char *conditioning = read_string(root, "conditioning");
        if (!architecture || strcmp(architecture, "clipseg") != 0)
            return bmci_fail(BMC_ERR_MODEL, "decoder.json: 'architecture' is not \"clipseg\"");
        if (!conditioning || strcmp(conditioning, "text_embedding") != 0)
            return bmci_fail(BMC_ERR_MODEL, "decoder.json: 'conditioning' is not \"text_embedding\"");
    }
    return status;
}

static bmc_status read_preprocessing(const cJSON *root, bmc_preprocess_options *pre)
{
    bmc_preprocess_options_init(pre);
    bmc_status status = read_int(root, "image_size", 1, 4096, &pre->image_size);
    if (status == BMC_OK)
        status = read_floats(root, "image_mean", pre->mean, 3);
    if (status == BMC_OK)
        status = read_floats(root, "image_std", pre->std, 3);
    if (status != BMC_OK)
        return status;
    for (int c = 0; c < 3; c++)
        if (!(pre->std[c] > 0))
            return bmci_fail(BMC_ERR_MODEL, "decoder.json: image_std[%d] must be positive", c);
    const char *resize = read_string(root, "resize_mode");
    const char *filter = read_string(root, "interpolation");
    if (resize && strcmp(resize, "shortest_crop") == 0)
        pre->resize_mode = BMC_RESIZE_SHORTEST_CROP;
    else if (resize && strcmp(resize, "squash") == 0)
        pre->resize_mode = BMC_RESIZE_SQUASH;
    else
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: 'resize_mode' is not \"shortest_crop\" or \"squash\"");
    if (filter && strcmp(filter, "bicubic") == 0)
        pre->filter = BMC_FILTER_BICUBIC;
    else if (filter && strcmp(filter, "bilinear") == 0)
        pre->filter = BMC_FILTER_BILINEAR;
    else
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: 'interpolation' is not \"bicubic\" or \"bilinear\"");
    return BMC_OK;
}

static bmc_status read_taps(const cJSON *root, bmc_segmenter *seg)
{
    const cJSON *taps = cJSON_GetObjectItemCaseSensitive(root, "taps");
    int count = cJSON_IsArray(taps) ? cJSON_GetArraySize(taps) : 0;
    if (count < 1 || count > BMCI_DECODER_MAX_TAPS)
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: 'taps' must be an array of 1..%d block numbers",
                         BMCI_DECODER_MAX_TAPS);
    for (int i = 0; i < count; i++) {
        const cJSON *item = cJSON_GetArrayItem(taps, i);
        double value = cJSON_IsNumber(item) ? item->valuedouble : -1;
        if (value != floor(value) || value < 0 || value > BMCI_DECODER_MAX_TAP_INDEX)
            return bmci_fail(BMC_ERR_MODEL, "decoder.json: taps[%d] is not a block number", i);
        seg->taps[i] = (int64_t)value;
    }
    seg->tap_count = count;
    return BMC_OK;
}

static bmc_status read_architecture(const cJSON *root, bmc_segmenter *seg, int32_t *cond_dim)
{
    const cJSON *arch = read_object(root, "decoder");
    if (!arch)
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: 'decoder' is missing or not an object");
    int32_t map_size, patch_size;
    bmc_status status = read_taps(root, seg);
    if (status == BMC_OK)
        status = read_int(root, "map_size", 1, 4096, &map_size);
    if (status == BMC_OK)
        status = read_int(arch, "grid_size", 1, 4096, &seg->grid_size);
    if (status == BMC_OK)
        status = read_int(arch, "patch_size", 1, 4096, &patch_size);
    if (status == BMC_OK)
        status = read_int(arch, "vision_width", 1, 65536, &seg->vision_width);
    if (status == BMC_OK)
        status = read_int(arch, "cond_dim", 1, 65536, cond_dim);
    if (status == BMC_OK && (map_size != seg->preprocess.image_size || map_size != seg->grid_size * patch_size))
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: map_size %d does not equal image_size %d and "
                         "grid_size x patch_size %d x %d", map_size, seg->preprocess.image_size,
                         seg->grid_size, patch_size);
    return status;
}

/* The version check against the base: same sizes and, unless disabled, the same weights. */
static bmc_status check_base(const cJSON *root, const bmc_segmenter *seg, int32_t cond_dim,
                             const bmc_segmenter_options *options)
{
    const bmc_model *model = seg->model;
    const cJSON *base = read_object(root, "base");
    const char *source = base ? read_string(base, "source") : NULL;
    if (!source)
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: 'base' with the base model's 'source' is missing");
    int32_t layers, width;
    bmc_status status = read_int(base, "vision_layers", 1, BMCI_DECODER_MAX_TAP_INDEX, &layers);
    if (status == BMC_OK)
        status = read_int(base, "vision_width", 1, 65536, &width);
    if (status != BMC_OK)
        return status;
    for (int32_t i = 0; i < seg->tap_count; i++)
        if (seg->taps[i] > layers)
            return bmci_fail(BMC_ERR_MODEL, "decoder.json: tap %lld is past the base's %d blocks",
                             (long long)seg->taps[i], layers);
    if (width != seg->vision_width)
        return bmci_fail(BMC_ERR_MODEL, "decoder.json: the decoder reads width %d, its base is %d wide",
                         seg->vision_width, width);
    if (cond_dim != model->embed_dim)
        return bmci_fail(BMC_ERR_MODEL, "the decoder reads %d-d text embeddings, the model makes %d-d ones: "
                         "it was made for another base model", cond_dim, model->embed_dim);
    if (seg->preprocess.image_size != model->preprocess.image_size)
        return bmci_fail(BMC_ERR_MODEL, "the decoder works on %d-pixel images, the model on %d-pixel ones",
                         seg->preprocess.image_size, model->preprocess.image_size);
    if (options->check_base_source && strcmp(source, bmc_model_source(model)) != 0)
        return bmci_fail(BMC_ERR_MODEL, "the decoder was made for the base model '%s', this model is '%s' "
                         "(set check_base_source to 0 to use it anyway)", source, bmc_model_source(model));
    return BMC_OK;
}

static char *duplicate(const char *text)
{
    size_t size = strlen(text) + 1;
    char *copy = malloc(size);
    if (copy)
        memcpy(copy, text, size);
    return copy;
}

bmc_status bmci_segmenter_read_metadata(bmc_segmenter *seg, const char *json, const bmc_segmenter_options *options)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return bmci_fail(BMC_ERR_MODEL, "decoder.json is not valid JSON");
    int32_t cond_dim = 0;
    bmc_status status = check_format(root);
    if (status == BMC_OK)
        status = read_preprocessing(root, &seg->preprocess);
    if (status == BMC_OK)
        status = read_architecture(root, seg, &cond_dim);
    if (status == BMC_OK)
        status = check_base(root, seg, cond_dim, options);
    if (status == BMC_OK) {
        const char *name = read_string(root, "name"), *source = read_string(root, "source");
        seg->name = duplicate(name ? name : "");
        seg->source = duplicate(source ? source : "");
        if (!seg->name || !seg->source)
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "decoder: out of memory");
    }
    cJSON_Delete(root);
    return status;
}

/* ---- running ------------------------------------------------------------------------------ */

/* Tokenizes the prompts into a count x *length matrix padded with [PAD] to the longest one
 * (padded positions are masked, so this equals padding to the full context). */
static bmc_status tokenize_prompts(const bmc_model *model, const char *const *prompts, size_t count,
                                   int64_t **ids, int64_t *length)
{
    const size_t context = (size_t)model->context_length;
    if (count > SIZE_MAX / sizeof(int64_t) / context)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "segment: %zu prompts do not fit in memory", count);
    int32_t *one = malloc(context * sizeof *one);
    int64_t *all = malloc(count * context * sizeof *all);
    size_t *lengths = malloc(count * sizeof *lengths);
    bmc_status status = one && all && lengths ? BMC_OK
                        : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "segment: no memory for %zu prompts", count);
    size_t longest = 0;
    for (size_t i = 0; status == BMC_OK && i < count; i++) {
        int truncated = 0;
        if (!prompts[i]) {
            status = bmci_fail(BMC_ERR_INVALID_ARGUMENT, "segment: prompt %zu is NULL", i);
            break;
        }
        status = bmci_tokenizer_encode(model->tokenizer, prompts[i], strlen(prompts[i]), one, &lengths[i],
                                       &truncated);
        if (status != BMC_OK) {
            char where[48];
            snprintf(where, sizeof where, "prompt %zu", i);
            bmci_fail_context(status, where);
            break;
        }
        for (size_t j = 0; j < lengths[i]; j++)
            all[i * context + j] = one[j];
        longest = lengths[i] > longest ? lengths[i] : longest;
    }
    if (status == BMC_OK) {
        const int64_t pad = model->tokenizer->special[BMC_TOKEN_PAD];
        for (size_t i = 0; i < count; i++)
            for (size_t j = 0; j < longest; j++)
                all[i * longest + j] = j < lengths[i] ? all[i * context + j] : pad;
        *ids = all;
        *length = (int64_t)longest;
    } else {
        free(all);
    }
    free(one);
    free(lengths);
    return status;
}

/* The decoder on preprocessed pixels: count x map^2 logits. */
static bmc_status run_decoder(const bmc_segmenter *seg, const float *pixels, const char *const *prompts,
                              size_t count, float *logits)
{
    int64_t *ids = NULL, length = 0;
    bmc_status status = tokenize_prompts(seg->model, prompts, count, &ids, &length);
    if (status != BMC_OK)
        return status;
    const int64_t grid = seg->grid_size;
    bmci_decoder_shape shape = {seg->taps, seg->tap_count, seg->preprocess.image_size, grid * grid + 1,
                                seg->vision_width, seg->preprocess.image_size};
    status = bmci_decoder_run(seg->model->torch, seg->decoder, &shape, pixels, ids, (int64_t)count, length,
                              logits);
    free(ids);
    return status;
}

/* Loading's fit check: a blank image and an empty prompt through model and decoder. A failure
 * here means the two do not work together (e.g. taps the model does not have, widths that
 * differ), whatever libtorch called it. */
static bmc_status probe(const bmc_segmenter *seg)
{
    const size_t side = (size_t)seg->preprocess.image_size;
    float *pixels = calloc(3 * side * side, sizeof *pixels);
    float *logits = malloc(side * side * sizeof *logits);
    const char *empty = "";
    bmc_status status = pixels && logits ? run_decoder(seg, pixels, &empty, 1, logits)
                        : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "decoder: out of memory");
    free(pixels);
    free(logits);
    if (status == BMC_ERR_INTERNAL) {
        char why[512];
        snprintf(why, sizeof why, "%s", bmc_last_error());
        status = bmci_fail(BMC_ERR_MODEL, "the decoder does not run on this model: %s", why);
    }
    return status;
}

bmc_status bmc_segmenter_load(const bmc_model *model, const char *path, const bmc_segmenter_options *options,
                              bmc_segmenter **out)
{
    if (!model || !path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_segmenter_load: model, path and out must not be NULL");
    bmc_segmenter_options defaults;
    bmc_segmenter_options_init(&defaults);
    if (!options)
        options = &defaults;
    if (options->struct_size != sizeof *options)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_segmenter_load: options.struct_size is %zu, expected "
                         "%zu (call bmc_segmenter_options_init)", options->struct_size, sizeof *options);
    bmc_segmenter *seg = calloc(1, sizeof *seg);
    if (!seg)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_segmenter_load: out of memory");
    seg->model = model;
    char *json = NULL;
    bmc_status status = bmci_archive_check(path, "decoder");
    if (status == BMC_OK)
        status = bmci_decoder_load(model->torch, path, &seg->decoder, &json);
    if (status == BMC_OK)
        status = bmci_segmenter_read_metadata(seg, json, options);
    if (status == BMC_OK)
        status = probe(seg);
    free(json);
    if (status != BMC_OK) {
        bmci_fail_context(status, path);
        bmc_segmenter_free(seg);
        return status;
    }
    *out = seg;
    return BMC_OK;
}

void bmc_segmenter_free(bmc_segmenter *segmenter)
{
    if (!segmenter)
        return;
    bmci_decoder_free(segmenter->decoder);
    free(segmenter->name);
    free(segmenter->source);
    free(segmenter);
}

const char *bmc_segmenter_name(const bmc_segmenter *segmenter)
{
    return segmenter && segmenter->name ? segmenter->name : "";
}

const char *bmc_segmenter_source(const bmc_segmenter *segmenter)
{
    return segmenter && segmenter->source ? segmenter->source : "";
}

int32_t bmc_segmenter_map_size(const bmc_segmenter *segmenter)
{
    return segmenter ? segmenter->preprocess.image_size : 0;
}

bmc_status bmc_segmenter_preprocess_options(const bmc_segmenter *segmenter, bmc_preprocess_options *options)
{
    if (!segmenter || !options)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_segmenter_preprocess_options: NULL argument");
    if (options->struct_size != sizeof *options)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_segmenter_preprocess_options: options.struct_size is "
                         "%zu, expected %zu", options->struct_size, sizeof *options);
    *options = segmenter->preprocess;
    return BMC_OK;
}

/* Checks the arguments of a segment call whose output needs count x per_prompt floats. */
static bmc_status check_call(const char *fn, const bmc_segmenter *seg, const bmc_image *image,
                             const char *const *prompts, size_t count, const float *out, size_t capacity,
                             size_t per_prompt)
{
    if (!seg || !image || !prompts || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: no prompts", fn);
    if (capacity / per_prompt < count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "%s: output holds %zu floats, %zu prompts x %zu needed", fn,
                         capacity, count, per_prompt);
    return BMC_OK;
}

/* The image through the decoder's preprocessing and the decoder: count x map^2 logits. */
static bmc_status segment_logits(const bmc_segmenter *seg, const bmc_image *image, const char *const *prompts,
                                 size_t count, float *logits)
{
    const size_t side = (size_t)seg->preprocess.image_size;
    float *pixels = malloc(3 * side * side * sizeof *pixels);
    if (!pixels)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "segment: out of memory");
    bmc_status status = bmc_preprocess(image, &seg->preprocess, pixels, 3 * side * side);
    if (status == BMC_OK)
        status = run_decoder(seg, pixels, prompts, count, logits);
    free(pixels);
    return status;
}

bmc_status bmc_segment_logits(const bmc_segmenter *segmenter, const bmc_image *image, const char *const *prompts,
                              size_t count, float *logits, size_t capacity)
{
    size_t side = segmenter ? (size_t)segmenter->preprocess.image_size : 1;
    bmc_status status = check_call("bmc_segment_logits", segmenter, image, prompts, count, logits, capacity,
                                   side * side);
    return status == BMC_OK ? segment_logits(segmenter, image, prompts, count, logits) : status;
}

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

bmc_status bmc_segment(const bmc_segmenter *segmenter, const bmc_image *image, const char *const *prompts,
                       size_t count, float *probabilities, size_t capacity)
{
    int32_t width = 0, height = 0;
    if (image)
        bmc_image_info(image, &width, &height, NULL);
    const size_t pixels = (size_t)width * (size_t)height;
    bmc_status status = check_call("bmc_segment", segmenter, image, prompts, count, probabilities, capacity,
                                   pixels ? pixels : 1);
    if (status != BMC_OK)
        return status;
    const size_t side = (size_t)segmenter->preprocess.image_size, map = side * side;
    float *logits = count <= SIZE_MAX / sizeof(float) / map ? malloc(count * map * sizeof *logits) : NULL;
    if (!logits)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_segment: no memory for %zu maps", count);
    status = segment_logits(segmenter, image, prompts, count, logits);
    for (size_t p = 0; status == BMC_OK && p < count; p++) {
        float *prob = logits + p * map;
        for (size_t i = 0; i < map; i++)
            prob[i] = sigmoid(prob[i]);
        status = bmci_map_to_image(prob, &segmenter->preprocess, width, height, probabilities + p * pixels);
    }
    free(logits);
    return status;
}
