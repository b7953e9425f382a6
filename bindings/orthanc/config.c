/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Reads the "BiomedClip" section of Orthanc's configuration. Every value is checked here, at
 * start, so that a typo is reported once in Orthanc's log instead of failing a request later. */
#include "config.h"

#include <biomedclip.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SECTION "BiomedClip"

static int config_fail(char *error, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(error, size, SECTION ": ");
    va_start(ap, fmt);
    vsnprintf(error + n, size > (size_t)n ? size - (size_t)n : 0, fmt, ap);
    va_end(ap);
    return -1;
}

/* A string option; absent gives `fallback` (copied, may be NULL). */
static int get_string(const cJSON *section, const char *key, const char *fallback, char **out,
                      char *error, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(section, key);
    const char *value = fallback;
    if (item) {
        if (!cJSON_IsString(item) || item->valuestring[0] == '\0')
            return config_fail(error, size, "\"%s\" must be a non-empty string", key);
        value = item->valuestring;
    }
    *out = NULL;
    if (value && !(*out = strdup(value)))
        return config_fail(error, size, "out of memory");
    return 0;
}

static int get_int(const cJSON *section, const char *key, int32_t fallback, int32_t min,
                   int32_t max, int32_t *out, char *error, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(section, key);
    if (!item) {
        *out = fallback;
        return 0;
    }
    if (!cJSON_IsNumber(item) || item->valuedouble != (double)(int64_t)item->valuedouble ||
        item->valuedouble < min || item->valuedouble > max)
        return config_fail(error, size, "\"%s\" must be an integer in %d..%d", key, (int)min, (int)max);
    *out = (int32_t)item->valuedouble;
    return 0;
}

/* A list of non-empty strings, each at most max_length bytes. */
static int get_list(const cJSON *section, const char *key, size_t max_length, char ***out,
                    size_t *count, char *error, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(section, key), *element;
    *out = NULL;
    *count = 0;
    if (!item)
        return 0;
    if (!cJSON_IsArray(item))
        return config_fail(error, size, "\"%s\" must be a list of strings", key);
    size_t n = (size_t)cJSON_GetArraySize(item);
    if (n == 0)
        return 0;
    if (!(*out = calloc(n, sizeof **out)))
        return config_fail(error, size, "out of memory");
    cJSON_ArrayForEach(element, item) {
        if (!cJSON_IsString(element) || element->valuestring[0] == '\0' ||
            strlen(element->valuestring) > max_length)
            return config_fail(error, size, "\"%s\" must hold non-empty strings of at most %zu bytes",
                        key, max_length);
        if (!((*out)[*count] = strdup(element->valuestring)))
            return config_fail(error, size, "out of memory");
        (*count)++;
    }
    return 0;
}

static int get_bool(const cJSON *section, const char *key, int fallback, int *out, char *error,
                    size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(section, key);
    if (item && !cJSON_IsBool(item))
        return config_fail(error, size, "\"%s\" must be true or false", key);
    *out = item ? cJSON_IsTrue(item) : fallback;
    return 0;
}

static int parse_dtype(const char *key, const char *text, int32_t *dtype, char *error, size_t size)
{
    if (strcmp(text, "f32") == 0 || strcmp(text, "float32") == 0)
        *dtype = BMC_DTYPE_F32;
    else if (strcmp(text, "f16") == 0 || strcmp(text, "float16") == 0)
        *dtype = BMC_DTYPE_F16;
    else if (strcmp(text, "bf16") == 0 || strcmp(text, "bfloat16") == 0)
        *dtype = BMC_DTYPE_BF16;
    else
        return config_fail(error, size, "\"%s\" must be \"f32\", \"f16\" or \"bf16\", not \"%s\"", key,
                    text);
    return 0;
}

static int readable_file(const char *key, const char *path, char *error, size_t size)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return config_fail(error, size, "\"%s\": no file at \"%s\"", key, path);
    return 0;
}

/* "Templates": the name of a built-in set (its positive templates), or a list of templates,
 * each holding "{}" exactly once as the classifier requires. */
static int get_templates(const cJSON *section, bmco_config *config, char *error, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(section, "Templates");
    if (item && cJSON_IsString(item)) {
        const char *const *set;
        size_t n;
        if (bmc_template_set(item->valuestring, &set, &n, NULL, NULL) != BMC_OK)
            return config_fail(error, size, "\"Templates\": %s", bmc_last_error());
        if (!(config->templates = calloc(n, sizeof *config->templates)))
            return config_fail(error, size, "out of memory");
        for (size_t i = 0; i < n; i++) {
            if (!(config->templates[i] = strdup(set[i])))
                return config_fail(error, size, "out of memory");
            config->template_count++;
        }
        return 0;
    }
    if (get_list(section, "Templates", 512, &config->templates, &config->template_count, error,
                 size) != 0)
        return config_fail(error, size, "\"Templates\" must be a built-in set name or a list of templates");
    for (size_t i = 0; i < config->template_count; i++) {
        const char *first = strstr(config->templates[i], "{}");
        if (!first || strstr(first + 2, "{}"))
            return config_fail(error, size, "\"Templates\": \"%s\" must hold \"{}\" exactly once",
                        config->templates[i]);
    }
    return 0;
}

int bmco_config_parse(const char *json, bmco_config *config, char *error, size_t size)
{
    memset(config, 0, sizeof *config);
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return config_fail(error, size, "Orthanc's configuration is not JSON");
    int rc = -1;
    const cJSON *section = cJSON_GetObjectItemCaseSensitive(root, SECTION);
    char *dtype = NULL, *index_dtype = NULL;
    if (!section) {
        config_fail(error, size, "no \"" SECTION "\" section in the configuration");
        goto done;
    }
    if (!cJSON_IsObject(section)) {
        config_fail(error, size, "the section must be an object");
        goto done;
    }
    if (get_bool(section, "Enabled", 1, &config->enabled, error, size) != 0 ||
        get_bool(section, "CheckDecoderBase", 1, &config->check_decoder_base, error, size) != 0 ||
        get_string(section, "Model", NULL, &config->model, error, size) != 0 ||
        get_string(section, "Device", "cpu", &config->device, error, size) != 0 ||
        get_string(section, "Dtype", "f32", &dtype, error, size) != 0 ||
        get_string(section, "IndexDtype", "f32", &index_dtype, error, size) != 0 ||
        get_string(section, "DataDirectory", NULL, &config->data_dir, error, size) != 0 ||
        get_string(section, "SegmentationDecoder", NULL, &config->segmenter, error, size) != 0 ||
        get_string(section, "VqaHead", NULL, &config->vqa_head, error, size) != 0 ||
        get_int(section, "Threads", 0, 0, 1024, &config->threads, error, size) != 0 ||
        get_int(section, "BatchSize", 16, 1, 1024, &config->batch_size, error, size) != 0 ||
        get_int(section, "MaxFramesPerInstance", 0, 0, 100000, &config->max_frames, error,
                size) != 0 ||
        get_int(section, "SaveInterval", 10, 1, 86400, &config->save_interval, error, size) != 0 ||
        get_list(section, "Modalities", 16, &config->modalities, &config->modality_count, error,
                 size) != 0 ||
        get_list(section, "SopClasses", 64, &config->sop_classes, &config->sop_class_count, error,
                 size) != 0 ||
        get_list(section, "Labels", 256, &config->labels, &config->label_count, error, size) != 0 ||
        get_templates(section, config, error, size) != 0 ||
        parse_dtype("Dtype", dtype, &config->dtype, error, size) != 0 ||
        parse_dtype("IndexDtype", index_dtype, &config->index_dtype, error, size) != 0)
        goto done;
    if (!config->model) {
        config_fail(error, size, "\"Model\" (the model bundle) is required");
        goto done;
    }
    if (!config->data_dir) {
        config_fail(error, size, "\"DataDirectory\" (where the index is kept) is required");
        goto done;
    }
    if (readable_file("Model", config->model, error, size) != 0 ||
        (config->segmenter &&
         readable_file("SegmentationDecoder", config->segmenter, error, size) != 0) ||
        (config->vqa_head && readable_file("VqaHead", config->vqa_head, error, size) != 0))
        goto done;
    if (strcmp(config->device, "cpu") != 0 && strncmp(config->device, "cuda", 4) != 0) {
        config_fail(error, size, "\"Device\" must be \"cpu\", \"cuda\" or \"cuda:N\", not \"%s\"",
             config->device);
        goto done;
    }
    rc = 0;
done:
    free(dtype);
    free(index_dtype);
    cJSON_Delete(root);
    return rc;
}

static void free_list(char **list, size_t count)
{
    for (size_t i = 0; list && i < count; i++)
        free(list[i]);
    free(list);
}

void bmco_config_free(bmco_config *config)
{
    free(config->model);
    free(config->device);
    free(config->data_dir);
    free(config->segmenter);
    free(config->vqa_head);
    free_list(config->modalities, config->modality_count);
    free_list(config->sop_classes, config->sop_class_count);
    free_list(config->labels, config->label_count);
    free_list(config->templates, config->template_count);
    memset(config, 0, sizeof *config);
}
