/* SPDX-License-Identifier: MIT */
/* Question-type rules of VQA heads: which answers a question may get. tools/reference/vqa_text.py is the
 * reference these functions are tested against. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "vqa/vqa.h"

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

char *bmci_vqa_join_words(const char *text)
{
    /* Every word byte is kept and every word adds at most one space: the output is at most
     * the input plus two bytes and the NUL. */
    size_t length = strlen(text);
    char *joined = malloc(length + 3);
    if (!joined)
        return NULL;
    size_t out = 0;
    joined[out++] = ' ';
    for (size_t i = 0; i < length;) {
        if (!is_word_byte((unsigned char)text[i])) {
            i++;
            continue;
        }
        for (; i < length && is_word_byte((unsigned char)text[i]); i++) {
            char c = text[i];
            joined[out++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        joined[out++] = ' ';
    }
    joined[out] = '\0';
    return joined;
}

/* Whether `words` (joined) starts with the one word `word` (joined, " is "). */
static int starts_with(const char *words, const char *word)
{
    return strncmp(words, word, strlen(word)) == 0;
}

/* Whether rule applies to the question's joined words; fills `allowed` when it does. */
static int rule_applies(const bmc_vqa *vqa, const bmci_vqa_rule *rule, const char *words,
                        uint8_t *allowed)
{
    if (rule->match == BMCI_VQA_MATCH_FIRST_WORD) {
        size_t w = 0;
        while (w < rule->word_count && !starts_with(words, rule->words[w]))
            w++;
        if (w == rule->word_count)
            return 0;
        if (allowed) {
            memset(allowed, 0, vqa->answer_count);
            for (size_t a = 0; a < rule->answer_count; a++)
                allowed[rule->answers[a]] = 1;
        }
        return 1;
    }
    /* BMCI_VQA_MATCH_CHOICE: the word "or" and at least two answers named in the question. */
    if (!strstr(words, " or "))
        return 0;
    size_t named = 0;
    for (size_t a = 0; a < vqa->answer_count; a++) {
        const char *answer = vqa->answer_words[a];
        int found = answer[1] != '\0' && strstr(words, answer) != NULL;
        named += (size_t)found;
        if (allowed)
            allowed[a] = (uint8_t)found;
    }
    return named >= 2;
}

bmc_status bmci_vqa_match(const bmc_vqa *vqa, const char *question, int32_t *rule, uint8_t *allowed)
{
    char *words = bmci_vqa_join_words(question);
    if (!words)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "vqa: out of memory");
    *rule = -1;
    for (size_t r = 0; r < vqa->rule_count && *rule < 0; r++)
        if (rule_applies(vqa, &vqa->rules[r], words, allowed))
            *rule = (int32_t)r;
    if (*rule < 0 && allowed)
        memset(allowed, 1, vqa->answer_count);
    free(words);
    return BMC_OK;
}
