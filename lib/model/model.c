/* SPDX-License-Identifier: MIT */
/* bmc_model: a bundle's TorchScript encoders (through the shim) and its metadata. */
#include "model/model.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/archive.h"
#include "core/error.h"
#include "text/tokenizer.h"

void bmc_model_options_init(bmc_model_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->device = NULL;
    options->dtype = BMC_DTYPE_F32;
}

static char *duplicate(const char *text)
{
    size_t size = strlen(text) + 1;
    char *copy = malloc(size);
    if (copy)
        memcpy(copy, text, size);
    return copy;
}

/* Reads the number `key` of `object` as an integer in [min, max]. */
static bmc_status read_int(const cJSON *object, const char *key, int32_t min, int32_t max,
                           int32_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsNumber(item))
        return bmci_fail(BMC_ERR_MODEL, "bundle.json: '%s' is missing or not a number", key);
    double value = item->valuedouble;
    if (value != floor(value) || value < min || value > max)
        return bmci_fail(BMC_ERR_MODEL, "bundle.json: '%s' is %g, expected an integer in %d..%d", key,
                         value, min, max);
    *out = (int32_t)value;
    return BMC_OK;
}

static bmc_status read_floats(const cJSON *object, const char *key, float *out, int count)
{
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsArray(array) || cJSON_GetArraySize(array) != count)
        return bmci_fail(BMC_ERR_MODEL, "bundle.json: '%s' must be an array of %d numbers", key, count);
    for (int i = 0; i < count; i++) {
        const cJSON *item = cJSON_GetArrayItem(array, i);
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
            return bmci_fail(BMC_ERR_MODEL, "bundle.json: '%s'[%d] is not a finite number", key, i);
        out[i] = (float)item->valuedouble;
    }
    return BMC_OK;
}

static const char *read_string(const cJSON *object, const char *key, const char *fallback)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(item) ? item->valuestring : fallback;
}

static bmc_status check_format(const cJSON *root)
{
    if (strcmp(read_string(root, "format", ""), "biomedclip-bundle") != 0)
        return bmci_fail(BMC_ERR_MODEL, "bundle.json: 'format' is not \"biomedclip-bundle\"");
    int32_t version;
    bmc_status status = read_int(root, "format_version", 0, INT32_MAX, &version);
    if (status != BMC_OK)
        return status;
    if (version != BMCI_BUNDLE_FORMAT_VERSION)
        return bmci_fail(BMC_ERR_VERSION,
                         "bundle format version %d; this library (%s) reads version %d: re-export "
                         "the model with this release's tools/export/export_bundle.py",
                         version, BMC_VERSION_STRING, BMCI_BUNDLE_FORMAT_VERSION);
    return BMC_OK;
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
            return bmci_fail(BMC_ERR_MODEL, "bundle.json: image_std[%d] must be positive", c);
    const char *resize = read_string(root, "resize_mode", "shortest_crop");
    if (strcmp(resize, "shortest_crop") == 0)
        pre->resize_mode = BMC_RESIZE_SHORTEST_CROP;
    else if (strcmp(resize, "squash") == 0)
        pre->resize_mode = BMC_RESIZE_SQUASH;
    else
        return bmci_fail(BMC_ERR_MODEL, "bundle.json: unknown resize_mode '%s'", resize);
    const char *filter = read_string(root, "interpolation", "bicubic");
    if (strcmp(filter, "bicubic") == 0)
        pre->filter = BMC_FILTER_BICUBIC;
    else if (strcmp(filter, "bilinear") == 0)
        pre->filter = BMC_FILTER_BILINEAR;
    else
        return bmci_fail(BMC_ERR_MODEL, "bundle.json: unknown interpolation '%s'", filter);
    return BMC_OK;
}

/* Fills the model's metadata from bundle.json; the torch part is already loaded. */
static bmc_status read_metadata(bmc_model *model, const char *json)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return bmci_fail(BMC_ERR_MODEL, "bundle.json is not valid JSON");
    bmc_status status = check_format(root);
    if (status == BMC_OK)
        status = read_int(root, "embed_dim", 1, 65536, &model->embed_dim);
    if (status == BMC_OK)
        status = read_int(root, "context_length", 3, 65536, &model->context_length);
    if (status == BMC_OK)
        status = read_preprocessing(root, &model->preprocess);
    if (status == BMC_OK) {
        const cJSON *scale = cJSON_GetObjectItemCaseSensitive(root, "logit_scale");
        if (!cJSON_IsNumber(scale) || !isfinite(scale->valuedouble) || scale->valuedouble > 20)
            status = bmci_fail(BMC_ERR_MODEL, "bundle.json: 'logit_scale' is missing or out of range");
        else
            model->logit_scale = (float)exp(scale->valuedouble);
    }
    if (status == BMC_OK) {
        model->name = duplicate(read_string(root, "name", ""));
        model->source = duplicate(read_string(root, "source", ""));
        if (!model->name || !model->source)
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "model: out of memory");
    }
    cJSON_Delete(root);
    return status;
}

/* The bundle's vocabulary with BiomedCLIP's tokenizer settings and the bundle's context. */
static bmc_status create_tokenizer(bmc_model *model, const bmci_bundle_files *files)
{
    bmc_tokenizer_options options;
    bmc_tokenizer_options_init(&options);
    options.context_length = model->context_length;
    bmc_status status = bmc_tokenizer_create_memory(files->vocab, files->vocab_size, &options,
                                                    &model->tokenizer);
    return status == BMC_OK ? status : bmci_fail_context(status, "vocab.txt");
}

bmc_status bmc_model_load(const char *path, const bmc_model_options *options, bmc_model **out)
{
    if (!path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_model_load: path and out must not be NULL");
    bmc_model_options defaults;
    bmc_model_options_init(&defaults);
    if (!options)
        options = &defaults;
    if (options->struct_size != sizeof *options)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_model_load: options.struct_size is %zu, "
                         "expected %zu (call bmc_model_options_init)", options->struct_size,
                         sizeof *options);

    bmc_model *model = calloc(1, sizeof *model);
    if (!model)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_model_load: out of memory");
    bmci_bundle_files files = {NULL, NULL, 0};
    bmc_status status = bmci_archive_check(path, "model");
    if (status == BMC_OK)
        status = bmci_torch_load(path, options->device, options->dtype, &model->torch, &files);
    if (status == BMC_OK)
        status = read_metadata(model, files.bundle_json);
    if (status == BMC_OK)
        status = create_tokenizer(model, &files);
    free(files.bundle_json);
    free(files.vocab);
    if (status != BMC_OK) {
        bmci_fail_context(status, path);
        bmc_model_free(model);
        return status;
    }
    *out = model;
    return BMC_OK;
}

void bmc_model_free(bmc_model *model)
{
    if (!model)
        return;
    bmci_torch_free(model->torch);
    bmc_tokenizer_free(model->tokenizer);
    free(model->name);
    free(model->source);
    free(model);
}

int32_t bmc_model_embed_dim(const bmc_model *model)
{
    return model ? model->embed_dim : 0;
}

int32_t bmc_model_context_length(const bmc_model *model)
{
    return model ? model->context_length : 0;
}

float bmc_model_logit_scale(const bmc_model *model)
{
    return model ? model->logit_scale : 0.0f;
}

const char *bmc_model_name(const bmc_model *model)
{
    return model && model->name ? model->name : "";
}

const char *bmc_model_source(const bmc_model *model)
{
    return model && model->source ? model->source : "";
}

bmc_status bmc_model_preprocess_options(const bmc_model *model, bmc_preprocess_options *options)
{
    if (!model || !options)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_model_preprocess_options: NULL argument");
    if (options->struct_size != sizeof *options)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_model_preprocess_options: options.struct_size "
                         "is %zu, expected %zu", options->struct_size, sizeof *options);
    *options = model->preprocess;
    return BMC_OK;
}

const bmc_tokenizer *bmc_model_tokenizer(const bmc_model *model)
{
    return model ? model->tokenizer : NULL;
}
