/* SPDX-License-Identifier: MIT */
/* Internal view of a VQA head (bmc_vqa) and its question-type rules. */
#ifndef BMC_LIB_VQA_H
#define BMC_LIB_VQA_H

#include "biomedclip.h"
#include "shim/vqa.h"

/* The vqa_head.json format versions this library reads. */
#define BMCI_VQA_FORMAT_VERSION 1

/* How a rule decides that it applies to a question (docs/vqa.md, tools/reference/vqa_text.py). */
#define BMCI_VQA_MATCH_FIRST_WORD 1 /* the first word is one of `words`; allows `answers` */
#define BMCI_VQA_MATCH_CHOICE     2 /* "... X or Y ...": allows the answers the question names */

typedef struct bmci_vqa_rule {
    char *name;
    int32_t match;        /* BMCI_VQA_MATCH_* */
    char **words;         /* FIRST_WORD: its words, each in the " word " form of join_words */
    size_t word_count;
    int32_t *answers;     /* FIRST_WORD: indices into the head's answers */
    size_t answer_count;
} bmci_vqa_rule;

struct bmc_vqa {
    const bmc_model *model;
    bmci_vqa_head *head;
    bmci_vqa_shape shape;
    char *name;
    size_t answer_count;
    char **answers;       /* as stored in the head */
    char **answer_words;  /* each answer in the " w1 w2 " form of join_words */
    size_t rule_count;
    bmci_vqa_rule *rules;
};

/* Fills `vqa` (its model set, everything else zero) from the text of vqa_head.json: format
 * version, base model check, inputs, answers, rules, name. On failure the fields filled so far
 * are left for bmc_vqa_free(). Errors: BMC_ERR_MODEL, BMC_ERR_VERSION, BMC_ERR_UNSUPPORTED,
 * BMC_ERR_OUT_OF_MEMORY. */
bmc_status bmci_vqa_read_metadata(bmc_vqa *vqa, const char *json);

/* The words of `text` (maximal runs of ASCII letters, ASCII digits and bytes >= 0x80; ASCII
 * letters lowercased) joined as " w1 w2 ... wn " (a lone " " when there are none), so that
 * strstr() finds a run of whole words. malloc'd; NULL when out of memory. */
char *bmci_vqa_join_words(const char *text);

/* The rule that applies to `question` (its index, or -1 for none), and when `allowed` is not
 * NULL, allowed[i] = 1 for the answers that rule allows, 0 for the others (all 1 without a
 * rule). Errors: BMC_ERR_OUT_OF_MEMORY. */
bmc_status bmci_vqa_match(const bmc_vqa *vqa, const char *question, int32_t *rule, uint8_t *allowed);

#endif
