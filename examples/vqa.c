/* SPDX-License-Identifier: MIT */
/* Ask a question about an image.
 *
 *   vqa MODEL IMAGE QUESTION [--head HEAD] [--answers A,B,...] [--top K]
 *
 * With --head, a VQA head trained by tools/train/train_vqa.py answers from its answer vocabulary
 * (closed questions restricted to their answer set by the head's rules; --answers makes the
 * question multiple choice among those answers of the head). Without one, zero-shot answering
 * ranks the --answers (default "yes,no") by how well the statement each makes with the
 * question matches the image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biomedclip.h"

#define MAX_ANSWERS 64

static int fail(const char *what)
{
    fprintf(stderr, "vqa: %s: %s\n", what, bmc_last_error());
    return 1;
}

/* Splits "a,b,c" in place into at most MAX_ANSWERS strings. */
static size_t split_list(char *list, const char **items)
{
    size_t n = 0;
    for (char *item = strtok(list, ","); item && n < MAX_ANSWERS; item = strtok(NULL, ","))
        items[n++] = item;
    return n;
}

static int ask_head(const bmc_model *model, const char *head_path, const bmc_image *image,
                    const char *question, const char **choices, size_t choice_count, size_t k)
{
    bmc_vqa *vqa = NULL;
    if (bmc_vqa_load(model, head_path, &vqa) != BMC_OK)
        return fail("loading the head");
    bmc_vqa_options options;
    bmc_vqa_options_init(&options);
    options.choices = choice_count ? choices : NULL;
    options.choice_count = choice_count;
    if (k > bmc_vqa_answer_count(vqa))
        k = bmc_vqa_answer_count(vqa);
    int32_t answers[MAX_ANSWERS];
    float probabilities[MAX_ANSWERS];
    int status = bmc_vqa_ask(vqa, image, &question, 1, &options, k, answers, probabilities, k);
    if (status == BMC_OK) {
        int32_t rule = -1;
        bmc_vqa_question_rule(vqa, question, &rule);
        printf("head %s, %s question\n", bmc_vqa_name(vqa), rule < 0 ? "open" : bmc_vqa_rule_name(vqa, (size_t)rule));
        for (size_t r = 0; r < k && answers[r] >= 0; r++)
            printf("  %6.2f%%  %s\n", 100.0 * probabilities[r], bmc_vqa_answer(vqa, (size_t)answers[r]));
    }
    bmc_vqa_free(vqa);
    return status == BMC_OK ? 0 : fail("answering");
}

static int ask_zero_shot(const bmc_model *model, const bmc_image *image, const char *question,
                         const char **candidates, size_t count, size_t k)
{
    bmc_image_encoder *images = NULL;
    bmc_text_encoder *texts = NULL;
    float probabilities[MAX_ANSWERS];
    int32_t order[MAX_ANSWERS];
    int status = bmc_image_encoder_create(model, NULL, &images);
    if (status == BMC_OK)
        status = bmc_text_encoder_create(model, NULL, &texts);
    if (status == BMC_OK)
        status = bmc_vqa_zero_shot(images, texts, image, question, candidates, count, probabilities, count);
    if (k > count)
        k = count;
    if (status == BMC_OK)
        status = bmc_top_k(probabilities, count, k, order);
    if (status == BMC_OK) {
        printf("zero-shot\n");
        for (size_t r = 0; r < k; r++) {
            char statement[1024];
            bmc_vqa_statement(question, candidates[order[r]], statement, sizeof statement, NULL);
            printf("  %6.2f%%  %-12s (\"%s\")\n", 100.0 * probabilities[order[r]], candidates[order[r]], statement);
        }
    }
    bmc_image_encoder_free(images);
    bmc_text_encoder_free(texts);
    return status == BMC_OK ? 0 : fail("zero-shot answering");
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL IMAGE QUESTION [--head HEAD] [--answers A,B,...] [--top K]\n", argv[0]);
        return 2;
    }
    const char *head = NULL;
    char *answer_list = NULL;
    size_t k = 5;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--head"))
            head = argv[i + 1];
        else if (!strcmp(argv[i], "--answers"))
            answer_list = argv[i + 1];
        else if (!strcmp(argv[i], "--top"))
            k = (size_t)strtoul(argv[i + 1], NULL, 10);
    }
    char yes_no[] = "yes,no";
    const char *answers[MAX_ANSWERS];
    size_t answer_count = split_list(answer_list ? answer_list : yes_no, answers);
    if (k < 1)
        k = 1;

    bmc_model *model = NULL;
    bmc_image *image = NULL;
    if (bmc_model_load(argv[1], NULL, &model) != BMC_OK)
        return fail(argv[1]);
    if (bmc_image_load_file(argv[2], &image) != BMC_OK) {
        bmc_model_free(model);
        return fail(argv[2]);
    }
    printf("%s: %s\n", argv[2], argv[3]);
    int rc = head ? ask_head(model, head, image, argv[3], answers, answer_list ? answer_count : 0, k)
                  : ask_zero_shot(model, image, argv[3], answers, answer_count, k);
    bmc_image_free(image);
    bmc_model_free(model);
    return rc;
}
