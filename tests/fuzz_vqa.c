/* SPDX-License-Identifier: MIT */
/* Fuzz target: a VQA head's vqa_head.json and a question. The first line of the input is the
 * question, the rest the JSON, read as the head loader reads it for a tiny base model; when it
 * is accepted, the question goes through the head's rules, and question and JSON's first bytes
 * through the zero-shot statement builder. Nothing may crash, leak or trip a sanitizer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "biomedclip.h"
#include "model/model.h"
#include "vqa/vqa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *json = strchr(text, '\n');
    json = json ? (*json = '\0', json + 1) : text + size;
    const char *question = text;

    char source[] = "random seed 0";
    struct bmc_model model;
    memset(&model, 0, sizeof model);
    model.embed_dim = 64;
    model.preprocess.image_size = 224;
    model.source = source;
    bmc_vqa *vqa = calloc(1, sizeof *vqa);
    if (vqa) {
        vqa->model = &model;
        if (bmci_vqa_read_metadata(vqa, json) == BMC_OK) {
            int32_t rule;
            uint8_t *allowed = malloc(vqa->answer_count);
            bmc_vqa_question_rule(vqa, question, &rule);
            if (allowed)
                bmci_vqa_match(vqa, question, &rule, allowed);
            free(allowed);
        }
        bmc_vqa_free(vqa);
    }
    char statement[64];
    size_t needed;
    bmc_vqa_statement(question, json, statement, sizeof statement, &needed);
    free(text);
    return 0;
}
