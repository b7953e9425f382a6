/* SPDX-License-Identifier: MIT */
/* bmc_vqa: a VQA head archive (through the shim) and its vqa_head.json, checked against the
 * base model it is loaded for. docs/vqa.md is the format. */
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/archive.h"
#include "core/error.h"
#include "model/model.h"
#include "vqa/vqa.h"

static char *duplicate(const char *text)
{
    size_t size = strlen(text) + 1;
    char *copy = malloc(size);
    if (copy)
        memcpy(copy, text, size);
    return copy;
}

static bmc_status out_of_memory(void)
{
    return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "vqa: out of memory");
}

static bmc_status read_int(const cJSON *object, const char *where, const char *key, int32_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble) ||
        item->valuedouble < 0 || item->valuedouble > 1 << 30)
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: '%s%s' is missing or not a non-negative integer",
                         where, key);
    *out = (int32_t)item->valuedouble;
    return BMC_OK;
}

static const char *read_string(const cJSON *object, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* Copies a JSON array of strings into a malloc'd array of *count malloc'd strings. */
static bmc_status read_strings(const cJSON *array, const char *what, char ***out, size_t *count)
{
    if (!cJSON_IsArray(array))
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: '%s' is missing or not an array", what);
    size_t n = (size_t)cJSON_GetArraySize(array);
    char **strings = calloc(n ? n : 1, sizeof *strings);
    if (!strings)
        return out_of_memory();
    *out = strings;
    *count = n;
    size_t i = 0;
    for (const cJSON *item = array->child; item; item = item->next, i++) {
        if (!cJSON_IsString(item))
            return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: '%s'[%zu] is not a string", what, i);
        strings[i] = duplicate(item->valuestring);
        if (!strings[i])
            return out_of_memory();
    }
    return BMC_OK;
}

static void free_strings(char **strings, size_t count)
{
    for (size_t i = 0; strings && i < count; i++)
        free(strings[i]);
    free(strings);
}

static bmc_status check_format(const cJSON *root)
{
    const char *format = read_string(root, "format");
    if (!format || strcmp(format, "biomedclip-vqa-head") != 0)
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: 'format' is not \"biomedclip-vqa-head\"");
    int32_t version;
    bmc_status status = read_int(root, "", "format_version", &version);
    if (status == BMC_OK && version != BMCI_VQA_FORMAT_VERSION)
        return bmci_fail(BMC_ERR_VERSION, "VQA head format version %d; this library (%s) reads version %d: "
                         "re-export the head with this release's tools", version, BMC_VERSION_STRING,
                         BMCI_VQA_FORMAT_VERSION);
    return status;
}

/* The head was trained on one base model's features: the same weights (source), and so the
 * same embedding size and image size. */
static bmc_status check_base(bmc_vqa *vqa, const cJSON *root)
{
    const bmc_model *model = vqa->model;
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(root, "base");
    if (!cJSON_IsObject(base))
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: 'base' is missing");
    int32_t embed_dim, image_size, vision_width, text_width;
    bmc_status status = read_int(base, "base.", "embed_dim", &embed_dim);
    if (status == BMC_OK)
        status = read_int(base, "base.", "image_size", &image_size);
    if (status == BMC_OK)
        status = read_int(base, "base.", "vision_width", &vision_width);
    if (status == BMC_OK)
        status = read_int(base, "base.", "text_width", &text_width);
    if (status != BMC_OK)
        return status;
    const char *source = read_string(base, "source");
    if (!source)
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: 'base.source' is missing");
    if (embed_dim != model->embed_dim || image_size != model->preprocess.image_size)
        return bmci_fail(BMC_ERR_MODEL, "vqa: the head was trained on a model with embed_dim %d and image "
                         "size %d, this model has %d and %d", embed_dim, image_size, model->embed_dim,
                         model->preprocess.image_size);
    if (strcmp(source, model->source ? model->source : "") != 0)
        return bmci_fail(BMC_ERR_MODEL, "vqa: the head was trained on the features of the model with "
                         "source '%s', this model's source is '%s'", source, model->source ? model->source : "");
    vqa->shape.embed_dim = embed_dim;
    vqa->shape.vision_width = vision_width;
    vqa->shape.text_width = text_width;
    return BMC_OK;
}

/* "inputs": {"image": [...], "question": [...]} with "tokens" and/or "embedding". */
static bmc_status read_inputs(bmc_vqa *vqa, const cJSON *root)
{
    static const struct {
        const char *side, *kind;
        uint32_t flag;
    } known[] = {{"image", "tokens", BMCI_VQA_IMAGE_TOKENS},
                 {"image", "embedding", BMCI_VQA_IMAGE_EMBEDDING},
                 {"question", "tokens", BMCI_VQA_QUESTION_TOKENS},
                 {"question", "embedding", BMCI_VQA_QUESTION_EMBEDDING}};
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    if (!cJSON_IsObject(inputs))
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: 'inputs' is missing");
    for (const cJSON *side = inputs->child; side; side = side->next) {
        if (!cJSON_IsArray(side))
            return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: 'inputs.%s' is not an array", side->string);
        for (const cJSON *item = side->child; item; item = item->next) {
            size_t k = 0;
            while (k < sizeof known / sizeof known[0] &&
                   !(strcmp(side->string, known[k].side) == 0 && cJSON_IsString(item) &&
                     strcmp(item->valuestring, known[k].kind) == 0))
                k++;
            if (k == sizeof known / sizeof known[0])
                return bmci_fail(BMC_ERR_UNSUPPORTED, "vqa_head.json: the head reads an input this library "
                                 "does not know (inputs.%s: %s)", side->string,
                                 cJSON_IsString(item) ? item->valuestring : "not a string");
            vqa->shape.features |= known[k].flag;
        }
    }
    if (!(vqa->shape.features & (BMCI_VQA_IMAGE_TOKENS | BMCI_VQA_IMAGE_EMBEDDING)) ||
        !(vqa->shape.features & (BMCI_VQA_QUESTION_TOKENS | BMCI_VQA_QUESTION_EMBEDDING)))
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: 'inputs' must name an image and a question feature");
    return BMC_OK;
}

static bmc_status read_answers(bmc_vqa *vqa, const cJSON *root)
{
    bmc_status status = read_strings(cJSON_GetObjectItemCaseSensitive(root, "answers"), "answers",
                                     &vqa->answers, &vqa->answer_count);
    if (status != BMC_OK)
        return status;
    if (vqa->answer_count == 0 || vqa->answer_count > INT32_MAX)
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: 'answers' is empty");
    vqa->shape.answers = (int64_t)vqa->answer_count;
    vqa->answer_words = calloc(vqa->answer_count, sizeof *vqa->answer_words);
    if (!vqa->answer_words)
        return out_of_memory();
    for (size_t i = 0; i < vqa->answer_count; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(vqa->answers[i], vqa->answers[j]) == 0)
                return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: the answer '%s' is listed twice", vqa->answers[i]);
        vqa->answer_words[i] = bmci_vqa_join_words(vqa->answers[i]);
        if (!vqa->answer_words[i])
            return out_of_memory();
    }
    return BMC_OK;
}

static int32_t find_answer(const bmc_vqa *vqa, const char *answer)
{
    for (size_t i = 0; i < vqa->answer_count; i++)
        if (strcmp(vqa->answers[i], answer) == 0)
            return (int32_t)i;
    return -1;
}

/* A first_word rule: one-word entries in "words", head answers in "answers". */
static bmc_status read_first_word_rule(const bmc_vqa *vqa, const cJSON *item, bmci_vqa_rule *rule)
{
    bmc_status status = read_strings(cJSON_GetObjectItemCaseSensitive(item, "words"), "question_types[].words",
                                     &rule->words, &rule->word_count);
    char **answers = NULL;
    size_t answer_count = 0;
    if (status == BMC_OK)
        status = read_strings(cJSON_GetObjectItemCaseSensitive(item, "answers"), "question_types[].answers",
                              &answers, &answer_count);
    for (size_t w = 0; status == BMC_OK && w < rule->word_count; w++) {
        char *joined = bmci_vqa_join_words(rule->words[w]);
        if (!joined) {
            status = out_of_memory();
        } else if (joined[1] == '\0' || strchr(joined + 1, ' ') != joined + strlen(joined) - 1) {
            status = bmci_fail(BMC_ERR_MODEL, "vqa_head.json: rule '%s': '%s' is not one word", rule->name,
                               rule->words[w]);
            free(joined);
        } else {
            free(rule->words[w]);
            rule->words[w] = joined;
        }
    }
    rule->answers = status == BMC_OK ? malloc((answer_count ? answer_count : 1) * sizeof *rule->answers) : NULL;
    if (status == BMC_OK && !rule->answers)
        status = out_of_memory();
    for (size_t a = 0; status == BMC_OK && a < answer_count; a++) {
        rule->answers[a] = find_answer(vqa, answers[a]);
        if (rule->answers[a] < 0)
            status = bmci_fail(BMC_ERR_MODEL, "vqa_head.json: rule '%s' allows '%s', which is not an answer "
                               "of the head", rule->name, answers[a]);
    }
    if (status == BMC_OK && answer_count == 0)
        status = bmci_fail(BMC_ERR_MODEL, "vqa_head.json: rule '%s' allows no answer", rule->name);
    rule->answer_count = answer_count;
    free_strings(answers, answer_count);
    return status;
}

/* "question_types": optional; rules are tried in their order. */
static bmc_status read_rules(bmc_vqa *vqa, const cJSON *root)
{
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(root, "question_types");
    if (!array)
        return BMC_OK;
    if (!cJSON_IsArray(array))
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: 'question_types' is not an array");
    size_t count = (size_t)cJSON_GetArraySize(array);
    vqa->rules = calloc(count ? count : 1, sizeof *vqa->rules);
    if (!vqa->rules)
        return out_of_memory();
    vqa->rule_count = count;
    size_t r = 0;
    for (const cJSON *item = array->child; item; item = item->next, r++) {
        bmci_vqa_rule *rule = &vqa->rules[r];
        const char *name = read_string(item, "name"), *match = read_string(item, "match");
        if (!name || !match)
            return bmci_fail(BMC_ERR_MODEL, "vqa_head.json: question_types[%zu] needs a name and a match", r);
        rule->name = duplicate(name);
        if (!rule->name)
            return out_of_memory();
        if (strcmp(match, "choice") == 0) {
            rule->match = BMCI_VQA_MATCH_CHOICE;
        } else if (strcmp(match, "first_word") == 0) {
            rule->match = BMCI_VQA_MATCH_FIRST_WORD;
            bmc_status status = read_first_word_rule(vqa, item, rule);
            if (status != BMC_OK)
                return status;
        } else {
            return bmci_fail(BMC_ERR_UNSUPPORTED, "vqa_head.json: rule '%s' matches by '%s', which this "
                             "library does not know", name, match);
        }
    }
    return BMC_OK;
}

bmc_status bmci_vqa_read_metadata(bmc_vqa *vqa, const char *json)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return bmci_fail(BMC_ERR_MODEL, "vqa_head.json is not valid JSON");
    bmc_status status = check_format(root);
    if (status == BMC_OK)
        status = check_base(vqa, root);
    if (status == BMC_OK)
        status = read_inputs(vqa, root);
    if (status == BMC_OK)
        status = read_answers(vqa, root);
    if (status == BMC_OK)
        status = read_rules(vqa, root);
    if (status == BMC_OK) {
        const char *name = read_string(root, "name");
        vqa->name = duplicate(name ? name : "");
        if (!vqa->name)
            status = out_of_memory();
    }
    cJSON_Delete(root);
    return status;
}

bmc_status bmc_vqa_load(const bmc_model *model, const char *path, bmc_vqa **out)
{
    if (!model || !path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_load: NULL argument");
    bmc_vqa *vqa = calloc(1, sizeof *vqa);
    if (!vqa)
        return out_of_memory();
    vqa->model = model;
    char *json = NULL;
    bmc_status status = bmci_archive_check(path, "VQA head");
    if (status == BMC_OK)
        status = bmci_vqa_head_load(model->torch, path, &vqa->head, &json);
    if (status == BMC_OK)
        status = bmci_vqa_read_metadata(vqa, json);
    if (status == BMC_OK)
        status = bmci_vqa_head_check(model->torch, vqa->head, &vqa->shape);
    free(json);
    if (status != BMC_OK) {
        bmci_fail_context(status, path);
        bmc_vqa_free(vqa);
        return status;
    }
    *out = vqa;
    return BMC_OK;
}

void bmc_vqa_free(bmc_vqa *vqa)
{
    if (!vqa)
        return;
    bmci_vqa_head_free(vqa->head);
    free_strings(vqa->answers, vqa->answer_count);
    free_strings(vqa->answer_words, vqa->answer_count);
    for (size_t r = 0; vqa->rules && r < vqa->rule_count; r++) {
        free(vqa->rules[r].name);
        free_strings(vqa->rules[r].words, vqa->rules[r].word_count);
        free(vqa->rules[r].answers);
    }
    free(vqa->rules);
    free(vqa->name);
    free(vqa);
}

const char *bmc_vqa_name(const bmc_vqa *vqa)
{
    return vqa && vqa->name ? vqa->name : "";
}

size_t bmc_vqa_answer_count(const bmc_vqa *vqa)
{
    return vqa ? vqa->answer_count : 0;
}

const char *bmc_vqa_answer(const bmc_vqa *vqa, size_t index)
{
    return vqa && index < vqa->answer_count ? vqa->answers[index] : NULL;
}

size_t bmc_vqa_rule_count(const bmc_vqa *vqa)
{
    return vqa ? vqa->rule_count : 0;
}

const char *bmc_vqa_rule_name(const bmc_vqa *vqa, size_t index)
{
    return vqa && index < vqa->rule_count ? vqa->rules[index].name : NULL;
}

bmc_status bmc_vqa_question_rule(const bmc_vqa *vqa, const char *question, int32_t *rule)
{
    if (!vqa || !question || !rule)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_question_rule: NULL argument");
    int32_t found;
    bmc_status status = bmci_vqa_match(vqa, question, &found, NULL);
    if (status == BMC_OK)
        *rule = found;
    return status;
}
