/* SPDX-License-Identifier: MIT */
/* Answering questions with a VQA head: preprocessing and tokenizing, the head's logits
 * (shim), then the post-processing that ranks answers: restriction to the answer set of a
 * closed or multiple-choice question, softmax over what is left, top-k, a probability floor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "vqa/vqa.h"

void bmc_vqa_options_init(bmc_vqa_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->question_type = BMC_VQA_AUTO;
    options->min_probability = 0.0f;
    options->choices = NULL;
    options->choice_count = 0;
}

static bmc_status check_options(const bmc_vqa_options *options)
{
    if (options->struct_size != sizeof *options)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_ask: options.struct_size is %zu, expected %zu "
                         "(call bmc_vqa_options_init)", options->struct_size, sizeof *options);
    if (options->question_type != BMC_VQA_AUTO && options->question_type != BMC_VQA_OPEN)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_ask: question_type %d is not BMC_VQA_AUTO or "
                         "BMC_VQA_OPEN", options->question_type);
    if (!(options->min_probability >= 0.0f && options->min_probability <= 1.0f))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_ask: min_probability must be in 0..1");
    if (options->choice_count > 0 && !options->choices)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_ask: choices is NULL with choice_count %zu",
                         options->choice_count);
    return BMC_OK;
}

/* Tokenizes the questions into a count x *length matrix padded with [PAD] (malloc'd). */
static bmc_status tokenize_questions(const bmc_model *model, const char *const *questions, size_t count,
                                     int64_t **ids, size_t *length)
{
    const size_t context = (size_t)model->context_length;
    int32_t *all = malloc(count * context * sizeof *all);
    size_t *lengths = malloc(count * sizeof *lengths);
    bmc_status status = all && lengths ? BMC_OK : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "vqa: out of memory");
    *length = 0;
    for (size_t q = 0; status == BMC_OK && q < count; q++) {
        int truncated = 0;
        if (!questions[q]) {
            status = bmci_fail(BMC_ERR_INVALID_ARGUMENT, "vqa: question %zu is NULL", q);
            break;
        }
        status = bmci_tokenizer_encode(model->tokenizer, questions[q], strlen(questions[q]),
                                       all + q * context, &lengths[q], &truncated);
        if (status != BMC_OK) {
            char where[48];
            snprintf(where, sizeof where, "vqa: question %zu", q);
            bmci_fail_context(status, where);
        } else if (lengths[q] > *length)
            *length = lengths[q];
    }
    *ids = status == BMC_OK ? malloc(count * *length * sizeof **ids) : NULL;
    if (status == BMC_OK && !*ids)
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "vqa: out of memory");
    const int64_t pad = model->tokenizer->special[BMC_TOKEN_PAD];
    for (size_t q = 0; status == BMC_OK && q < count; q++)
        for (size_t j = 0; j < *length; j++)
            (*ids)[q * *length + j] = j < lengths[q] ? all[q * context + j] : pad;
    free(all);
    free(lengths);
    return status;
}

bmc_status bmc_vqa_logits(const bmc_vqa *vqa, const bmc_image *image, const char *const *questions,
                          size_t count, float *logits, size_t capacity)
{
    if (!vqa || !image || !questions || !logits)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_logits: NULL argument");
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_logits: no questions");
    if (capacity / vqa->answer_count < count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_vqa_logits: logits holds %zu floats, %zu x %zu needed",
                         capacity, count, vqa->answer_count);
    const bmc_model *model = vqa->model;
    const size_t side = (size_t)model->preprocess.image_size, tensor_floats = 3 * side * side;
    float *pixels = malloc(tensor_floats * sizeof *pixels);
    if (!pixels)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "vqa: out of memory");
    int64_t *ids = NULL;
    size_t length = 0;
    bmc_status status = bmc_preprocess(image, &model->preprocess, pixels, tensor_floats);
    if (status == BMC_OK)
        status = tokenize_questions(model, questions, count, &ids, &length);
    if (status == BMC_OK)
        status = bmci_vqa_head_run(model->torch, vqa->head, &vqa->shape, pixels, (int64_t)side, ids,
                                   (int64_t)count, (int64_t)length,
                                   model->tokenizer->special[BMC_TOKEN_PAD], logits);
    free(pixels);
    free(ids);
    return status;
}

/* allowed[] = 1 for the caller's choices (answers of the head). */
static bmc_status mark_choices(const bmc_vqa *vqa, const bmc_vqa_options *options, uint8_t *allowed)
{
    memset(allowed, 0, vqa->answer_count);
    for (size_t c = 0; c < options->choice_count; c++) {
        const char *choice = options->choices[c];
        if (!choice)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_ask: choice %zu is NULL", c);
        size_t a = 0;
        while (a < vqa->answer_count && strcmp(vqa->answers[a], choice) != 0)
            a++;
        if (a == vqa->answer_count)
            return bmci_fail(BMC_ERR_NOT_FOUND, "bmc_vqa_ask: choice %zu ('%s') is not an answer of the head",
                             c, choice);
        allowed[a] = 1;
    }
    return BMC_OK;
}

/* allowed[] for one question: the caller's choices, every answer, or the head's rules. */
static bmc_status allowed_answers(const bmc_vqa *vqa, const char *question, const bmc_vqa_options *options,
                                  uint8_t *allowed)
{
    if (options->choice_count > 0)
        return mark_choices(vqa, options, allowed);
    if (options->question_type == BMC_VQA_OPEN) {
        memset(allowed, 1, vqa->answer_count);
        return BMC_OK;
    }
    int32_t rule;
    return bmci_vqa_match(vqa, question, &rule, allowed);
}

/* Softmax over the allowed answers of one row of logits, in double (the others get 0). */
static void restricted_softmax(const float *logits, const uint8_t *allowed, size_t n, double *probs)
{
    double max = -INFINITY, sum = 0.0;
    for (size_t a = 0; a < n; a++)
        if (allowed[a] && logits[a] > max)
            max = logits[a];
    for (size_t a = 0; a < n; a++) {
        probs[a] = allowed[a] ? exp((double)logits[a] - max) : 0.0;
        sum += probs[a];
    }
    for (size_t a = 0; a < n; a++)
        probs[a] /= sum;
}

typedef struct ranked {
    double probability;
    int32_t answer;
} ranked;

/* Most probable first; ties: the lower answer index first. */
static int compare_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->probability != y->probability)
        return x->probability > y->probability ? -1 : 1;
    return (x->answer > y->answer) - (x->answer < y->answer);
}

/* The k most probable allowed answers at or above the floor, into `order` (scratch of n
 * entries); the remaining slots get -1 and 0. */
static void rank_answers(const double *probs, const uint8_t *allowed, size_t n, size_t k, float floor_,
                         ranked *order, int32_t *answers, float *probabilities)
{
    size_t kept = 0;
    for (size_t a = 0; a < n; a++)
        if (allowed[a] && (float)probs[a] >= floor_)
            order[kept++] = (ranked){probs[a], (int32_t)a};
    qsort(order, kept, sizeof *order, compare_ranked);
    for (size_t r = 0; r < k; r++) {
        answers[r] = r < kept ? order[r].answer : -1;
        probabilities[r] = r < kept ? (float)order[r].probability : 0.0f;
    }
}

bmc_status bmc_vqa_ask(const bmc_vqa *vqa, const bmc_image *image, const char *const *questions,
                       size_t count, const bmc_vqa_options *options, size_t k, int32_t *answers,
                       float *probabilities, size_t capacity)
{
    bmc_vqa_options defaults;
    bmc_vqa_options_init(&defaults);
    if (!options)
        options = &defaults;
    if (!vqa || !image || !questions || !answers || !probabilities)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_ask: NULL argument");
    bmc_status status = check_options(options);
    if (status != BMC_OK)
        return status;
    if (k == 0 || k > vqa->answer_count)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_ask: k is %zu, must be 1..%zu", k, vqa->answer_count);
    if (count == 0 || capacity / k < count)
        return bmci_fail(count ? BMC_ERR_BUFFER_TOO_SMALL : BMC_ERR_INVALID_ARGUMENT,
                         "bmc_vqa_ask: %zu questions x k %zu do not fit in %zu slots", count, k, capacity);
    const size_t n = vqa->answer_count;
    float *logits = malloc(count * n * sizeof *logits);
    double *probs = malloc(n * sizeof *probs);
    uint8_t *allowed = malloc(n);
    ranked *order = malloc(n * sizeof *order);
    if (!logits || !probs || !allowed || !order)
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "vqa: out of memory");
    /* A bad choice is reported before the network runs. */
    if (status == BMC_OK && options->choice_count > 0)
        status = mark_choices(vqa, options, allowed);
    if (status == BMC_OK)
        status = bmc_vqa_logits(vqa, image, questions, count, logits, count * n);
    for (size_t q = 0; status == BMC_OK && q < count; q++) {
        status = allowed_answers(vqa, questions[q], options, allowed);
        if (status != BMC_OK)
            break;
        restricted_softmax(logits + q * n, allowed, n, probs);
        rank_answers(probs, allowed, n, k, options->min_probability, order, answers + q * k,
                     probabilities + q * k);
    }
    free(order);
    free(logits);
    free(probs);
    free(allowed);
    return status;
}
