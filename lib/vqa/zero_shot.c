/* SPDX-License-Identifier: MIT */
/* Zero-shot answering without a head: each candidate answer becomes a statement built from
 * the question and the answer, and the candidates are ranked by the CLIP similarity of their
 * statement with the image. tools/reference/vqa_text.py is the reference of the statements. */
#include <stdlib.h>
#include <string.h>

#include "model/encoder.h"
#include "core/error.h"
#include "model/model.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ASCII case-insensitive equality of text[0..length) and a lowercase word. */
static int equals_word(const char *text, size_t length, const char *word)
{
    if (strlen(word) != length)
        return 0;
    for (size_t i = 0; i < length; i++) {
        char c = text[i] >= 'A' && text[i] <= 'Z' ? (char)(text[i] - 'A' + 'a') : text[i];
        if (c != word[i])
            return 0;
    }
    return 1;
}

static int equals_any(const char *text, size_t length, const char *const *words)
{
    for (; *words; words++)
        if (equals_word(text, length, *words))
            return 1;
    return 0;
}

/* text[0..*length) without the ASCII whitespace at both ends. */
static const char *trim(const char *text, size_t *length)
{
    size_t n = strlen(text);
    while (n > 0 && is_space(*text)) {
        text++;
        n--;
    }
    while (n > 0 && is_space(text[n - 1]))
        n--;
    *length = n;
    return text;
}

/* The next whitespace-separated token of text[*pos..end); 0 when there is none. */
static int next_token(const char *text, size_t end, size_t *pos, size_t *start, size_t *length)
{
    while (*pos < end && is_space(text[*pos]))
        (*pos)++;
    if (*pos == end)
        return 0;
    *start = *pos;
    while (*pos < end && !is_space(text[*pos]))
        (*pos)++;
    *length = *pos - *start;
    return 1;
}

/* "Is there a circle?" + yes/no -> "there is a circle" / "there is no circle"; writes to `out`
 * (room for the question's length + 8) and returns 1, or returns 0 if the rule does not apply. */
static int there_statement(const char *q, size_t q_length, int yes, char *out)
{
    static const char *const verbs[] = {"is", "are", "was", "were", NULL};
    static const char *const dropped[] = {"a", "an", "any", "some", NULL};
    size_t end = q_length;
    while (end > 0 && q[end - 1] == '?')
        end--;
    size_t pos = 0, verb, verb_length, there, there_length, first, first_length;
    if (!next_token(q, end, &pos, &verb, &verb_length) || !equals_any(q + verb, verb_length, verbs) ||
        !next_token(q, end, &pos, &there, &there_length) || !equals_word(q + there, there_length, "there") ||
        !next_token(q, end, &pos, &first, &first_length))
        return 0;
    size_t n = 0;
    memcpy(out + n, "there ", 6);
    n += 6;
    for (size_t i = 0; i < verb_length; i++)
        out[n++] = q[verb + i] >= 'A' && q[verb + i] <= 'Z' ? (char)(q[verb + i] - 'A' + 'a') : q[verb + i];
    if (!yes) {
        memcpy(out + n, " no", 3);
        n += 3;
        size_t probe = pos, second, second_length;
        /* "no a circle" reads badly: drop the determiner, unless it is the last word. */
        if (equals_any(q + first, first_length, dropped) && next_token(q, end, &probe, &second, &second_length))
            first = second, first_length = second_length, pos = probe;
    }
    /* The rest, one space between tokens. */
    for (size_t start = first, length = first_length;;) {
        out[n++] = ' ';
        memcpy(out + n, q + start, length);
        n += length;
        if (!next_token(q, end, &pos, &start, &length))
            break;
    }
    out[n] = '\0';
    return 1;
}

/* The statement for one answer, malloc'd; NULL when out of memory. */
static char *make_statement(const char *question, const char *answer)
{
    size_t q_length, a_length;
    const char *q = trim(question, &q_length), *a = trim(answer, &a_length);
    char *out = malloc(q_length + a_length + 16);
    if (!out)
        return NULL;
    int yes = equals_word(a, a_length, "yes"), no = equals_word(a, a_length, "no");
    if ((yes || no) && there_statement(q, q_length, yes, out))
        return out;
    memcpy(out, q, q_length);
    out[q_length] = ' ';
    memcpy(out + q_length + 1, a, a_length);
    out[q_length + 1 + a_length] = '\0';
    return out;
}

bmc_status bmc_vqa_statement(const char *question, const char *answer, char *statement, size_t capacity,
                             size_t *needed)
{
    if (!question || !answer)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_statement: NULL question or answer");
    char *text = make_statement(question, answer);
    if (!text)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_vqa_statement: out of memory");
    size_t size = strlen(text) + 1;
    bmc_status status = BMC_OK;
    if (statement && capacity < size)
        status = bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_vqa_statement: %zu bytes needed, %zu given", size,
                           capacity);
    else if (statement)
        memcpy(statement, text, size);
    if (needed)
        *needed = size;
    free(text);
    return status;
}

static bmc_status check_zero_shot_args(bmc_image_encoder *image_encoder, bmc_text_encoder *text_encoder,
                                       const bmc_image *image, const char *question,
                                       const char *const *candidates, size_t count,
                                       const float *probabilities, size_t capacity)
{
    if (!image_encoder || !text_encoder || !image || !question || !candidates || !probabilities)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_zero_shot: NULL argument");
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_zero_shot: no candidate answers");
    if (capacity < count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_vqa_zero_shot: probabilities holds %zu floats, %zu "
                         "needed", capacity, count);
    if (bmci_image_encoder_model(image_encoder) != bmci_text_encoder_model(text_encoder))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_zero_shot: the encoders were made from "
                         "different models");
    for (size_t c = 0; c < count; c++)
        if (!candidates[c])
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_vqa_zero_shot: candidate %zu is NULL", c);
    return BMC_OK;
}

bmc_status bmc_vqa_zero_shot(bmc_image_encoder *image_encoder, bmc_text_encoder *text_encoder,
                             const bmc_image *image, const char *question, const char *const *candidates,
                             size_t count, float *probabilities, size_t capacity)
{
    bmc_status status = check_zero_shot_args(image_encoder, text_encoder, image, question, candidates,
                                             count, probabilities, capacity);
    if (status != BMC_OK)
        return status;
    const bmc_model *model = bmci_image_encoder_model(image_encoder);
    const size_t dim = (size_t)model->embed_dim;
    char **statements = calloc(count, sizeof *statements);
    float *image_embedding = malloc(dim * sizeof *image_embedding);
    float *text_embeddings = malloc(count * dim * sizeof *text_embeddings);
    if (!statements || !image_embedding || !text_embeddings)
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_vqa_zero_shot: out of memory");
    for (size_t c = 0; status == BMC_OK && c < count; c++) {
        statements[c] = make_statement(question, candidates[c]);
        if (!statements[c])
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_vqa_zero_shot: out of memory");
    }
    if (status == BMC_OK)
        status = bmc_image_encoder_encode(image_encoder, &image, 1, 0, image_embedding, dim);
    if (status == BMC_OK)
        status = bmc_text_encoder_encode(text_encoder, (const char *const *)statements, count, 0,
                                         text_embeddings, count * dim);
    if (status == BMC_OK)
        status = bmc_model_logits(model, image_embedding, 1, text_embeddings, count, probabilities, capacity);
    if (status == BMC_OK)
        status = bmc_softmax(probabilities, 1, count);
    for (size_t c = 0; statements && c < count; c++)
        free(statements[c]);
    free(statements);
    free(image_embedding);
    free(text_embeddings);
    return status;
}
