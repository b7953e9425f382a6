/* SPDX-License-Identifier: MIT */
/* biomedclip ask: visual question answering, with a VQA head or zero-shot over candidate
 * answers; one JSON line per image and question. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "ask";

static void usage(void)
{
    printf("Usage: biomedclip ask --model BUNDLE --question TEXT [--question TEXT...] IMAGE...\n"
           "                      [--head HEAD [--open]] [--answers A,B,...] [--top K]\n"
           "                      [--device D] [--dtype T]\n"
           "                      [--pixels FILE --width W --height H --type T ...]\n"
           "\n"
           "With --head, a VQA head (docs/vqa.md) answers from its answer vocabulary: its rules\n"
           "restrict a closed question to its answer set (yes/no, \"X or Y\") unless --open is\n"
           "given, and --answers makes every question multiple choice among those answers of\n"
           "the head. Without a head, zero-shot answering ranks the --answers (default yes,no) by\n"
           "the similarity of the image with the statement each makes with the question.\n"
           "Prints one JSON object per image and question, images in input order and the\n"
           "questions of each image in command-line order:\n"
           "  {\"image\": \"a.png\", \"question\": \"...\", \"mode\": \"head\", \"rule\": \"yes/no\",\n"
           "   \"answers\": [{\"answer\": \"yes\", \"probability\": 0.91}, ...]}\n"
           "(mode \"head\" or \"zero-shot\"; rule: the head's rule that applied, \"open\" when none\n"
           "did or --open was given, \"choices\" with --answers, absent zero-shot; zero-shot answers\n"
           "also carry their \"statement\"). Answers rank by probability; answers a rule rules out\n"
           "are not listed.\n"
           "\n"
           "  --model BUNDLE   the model bundle (.bmc.pt)\n"
           "  --question TEXT  a question about the images; repeat it for several\n"
           "  --head HEAD      a VQA head archive (.vqa.pt) made for the model\n"
           "  --open           with --head: every question may get every answer\n"
           "  --answers A,...  zero-shot: the candidate answers (default yes,no); with --head:\n"
           "                   the choices, answers of the head\n"
           "  --top K          print at most K answers per question (default 5)\n"
           "  --device D       cpu (default), cuda or cuda:N\n"
           "  --dtype T        f32 (default); f16 on CUDA; bf16 on CUDA and CPUs with AVX512_BF16/AMX\n");
    cli_pixel_usage();
}

#define DEFAULT_TOP 5

typedef struct ask_settings {
    const cli_strings *questions;
    const char **answers; /* NULL: none given */
    size_t answer_count;
    int open;
    int32_t top;
} ask_settings;

static void print_head(const char *image, const char *question, const char *rule)
{
    fputs("{\"image\": ", stdout);
    cli_json_string(stdout, image);
    fputs(", \"question\": ", stdout);
    cli_json_string(stdout, question);
    if (rule) {
        fputs(", \"mode\": \"head\", \"rule\": ", stdout);
        cli_json_string(stdout, rule);
    } else {
        fputs(", \"mode\": \"zero-shot\"", stdout);
    }
    fputs(", \"answers\": [", stdout);
}

static int ask_with_head(const ask_settings *s, const bmc_vqa *vqa, const char *path,
                         const bmc_image *image)
{
    const size_t q = s->questions->count;
    size_t k = (size_t)s->top;
    if (k > bmc_vqa_answer_count(vqa))
        k = bmc_vqa_answer_count(vqa);
    bmc_vqa_options options;
    bmc_vqa_options_init(&options);
    options.question_type = s->open ? BMC_VQA_OPEN : BMC_VQA_AUTO;
    options.choices = s->answers;
    options.choice_count = s->answers ? s->answer_count : 0;
    int32_t *answers = malloc(q * k * sizeof *answers);
    float *probabilities = malloc(q * k * sizeof *probabilities);
    int rc = CLI_OK;
    if (!answers || !probabilities)
        rc = cli_error(CMD, "out of memory");
    else if (bmc_vqa_ask(vqa, image, s->questions->items, q, &options, k, answers, probabilities,
                         q * k) != BMC_OK)
        rc = cli_error(CMD, "'%s': %s", path, bmc_last_error());
    for (size_t i = 0; rc == CLI_OK && i < q; i++) {
        int32_t rule = -1;
        if (!s->answers && !s->open && bmc_vqa_question_rule(vqa, s->questions->items[i], &rule) != BMC_OK) {
            rc = cli_library_error(CMD);
            break;
        }
        print_head(path, s->questions->items[i],
                   s->answers ? "choices" : rule < 0 ? "open" : bmc_vqa_rule_name(vqa, (size_t)rule));
        for (size_t r = 0, printed = 0; r < k; r++) {
            int32_t a = answers[i * k + r];
            if (a < 0)
                continue;
            fputs(printed++ ? ", {\"answer\": " : "{\"answer\": ", stdout);
            cli_json_string(stdout, bmc_vqa_answer(vqa, (size_t)a));
            printf(", \"probability\": %.9g}", (double)probabilities[i * k + r]);
        }
        fputs("]}\n", stdout);
    }
    free(answers);
    free(probabilities);
    return rc;
}

static int ask_zero_shot(const ask_settings *s, bmc_image_encoder *images, bmc_text_encoder *texts,
                         const char *path, const bmc_image *image)
{
    const size_t n = s->answer_count;
    size_t k = (size_t)s->top < n ? (size_t)s->top : n;
    float *probabilities = malloc(n * sizeof *probabilities);
    int32_t *order = malloc(n * sizeof *order);
    int rc = probabilities && order ? CLI_OK : cli_error(CMD, "out of memory");
    for (size_t i = 0; rc == CLI_OK && i < s->questions->count; i++) {
        const char *question = s->questions->items[i];
        if (bmc_vqa_zero_shot(images, texts, image, question, s->answers, n, probabilities, n) != BMC_OK ||
            bmc_top_k(probabilities, n, k, order) != BMC_OK) {
            rc = cli_error(CMD, "'%s': %s", path, bmc_last_error());
            break;
        }
        print_head(path, question, NULL);
        for (size_t r = 0; rc == CLI_OK && r < k; r++) {
            const char *answer = s->answers[order[r]];
            size_t needed = 0;
            char *statement = NULL;
            if (bmc_vqa_statement(question, answer, NULL, 0, &needed) != BMC_OK ||
                !(statement = malloc(needed)) ||
                bmc_vqa_statement(question, answer, statement, needed, NULL) != BMC_OK) {
                free(statement);
                rc = cli_error(CMD, "cannot make the statement of '%s': %s", answer, bmc_last_error());
                break;
            }
            fputs(r ? ", {\"answer\": " : "{\"answer\": ", stdout);
            cli_json_string(stdout, answer);
            printf(", \"probability\": %.9g, \"statement\": ", (double)probabilities[order[r]]);
            cli_json_string(stdout, statement);
            fputc('}', stdout);
            free(statement);
        }
        fputs(rc == CLI_OK ? "]}\n" : "\n", stdout);
    }
    free(probabilities);
    free(order);
    return rc;
}

static int run_ask(const cli_args *args, const bmc_pixels *view, const cli_model_args *margs,
                   const char *head, const ask_settings *s)
{
    bmc_model *model = NULL;
    bmc_vqa *vqa = NULL;
    bmc_image_encoder *images = NULL;
    bmc_text_encoder *texts = NULL;
    int rc = cli_load_model(CMD, margs, &model);
    if (rc != CLI_OK)
        return rc;
    if (head ? bmc_vqa_load(model, head, &vqa) != BMC_OK
             : bmc_image_encoder_create(model, NULL, &images) != BMC_OK ||
                   bmc_text_encoder_create(model, NULL, &texts) != BMC_OK)
        rc = cli_library_error(CMD);
    /* One image at a time: each is asked every question, and memory stays that of one image. */
    for (size_t i = 0; rc == CLI_OK && i < args->input_count; i++) {
        bmc_image *image = NULL;
        if ((rc = cli_load_images(CMD, &args->inputs[i], 1, view, &image)) != CLI_OK)
            break;
        rc = head ? ask_with_head(s, vqa, args->inputs[i].path, image)
                  : ask_zero_shot(s, images, texts, args->inputs[i].path, image);
        bmc_image_free(image);
        if (rc == CLI_OK && fflush(stdout) != 0)
            rc = cli_error(CMD, "cannot write the results");
    }
    bmc_text_encoder_free(texts);
    bmc_image_encoder_free(images);
    bmc_vqa_free(vqa);
    bmc_model_free(model);
    return rc;
}

int cli_ask(int argc, char **argv)
{
    const char *head = NULL, *answers_text = NULL, *top = NULL;
    cli_strings questions = {0};
    ask_settings s = {.questions = &questions, .top = DEFAULT_TOP};
    cli_model_args margs = {0};
    cli_pixel_args pargs = {0};
    cli_option options[5 + CLI_MODEL_OPTION_COUNT + CLI_PIXEL_OPTION_COUNT] = {
        {"--question", &questions.last, NULL, CLI_OPTION_LIST},
        {"--head", &head, NULL, 0},
        {"--open", NULL, &s.open, 0},
        {"--answers", &answers_text, NULL, 0},
        {"--top", &top, NULL, 0},
    };
    size_t option_count = 5;
    option_count += cli_model_options(&margs, options + option_count);
    option_count += cli_pixel_options(&pargs, options + option_count);
    cli_args args;
    int rc = cli_parse(CMD, argc, argv, options, option_count, &args);
    if (rc != CLI_OK) {
        free(questions.items);
        return rc;
    }
    bmc_pixels view;
    char *answers_copy = NULL;
    char **split = NULL; /* the answers, pointing into answers_copy */
    char default_answers[] = "yes,no";
    if (args.help)
        usage();
    else if (!margs.model)
        rc = cli_usage_error(CMD, "--model BUNDLE is required");
    else if (questions.count == 0)
        rc = cli_usage_error(CMD, "--question TEXT is required");
    else if (args.input_count == 0)
        rc = cli_usage_error(CMD, "no images given");
    else if (s.open && !head)
        rc = cli_usage_error(CMD, "--open needs --head");
    else if (s.open && answers_text)
        rc = cli_usage_error(CMD, "--open and --answers exclude each other");
    else if ((rc = cli_parse_int(CMD, "--top", top, 1, INT32_MAX, &s.top)) == CLI_OK &&
             (rc = cli_pixel_view(CMD, &pargs, &args, &view)) == CLI_OK) {
        answers_copy = strdup(answers_text ? answers_text : default_answers);
        if (!answers_copy)
            rc = cli_error(CMD, "out of memory");
        else if ((rc = cli_split_list(CMD, "--answers", "answer", answers_copy, &split,
                                         &s.answer_count)) == CLI_OK) {
            s.answers = (const char **)split;
            if (head && !answers_text) {
                free(s.answers);
                s.answers = NULL;
                s.answer_count = 0;
            }
            rc = run_ask(&args, &view, &margs, head, &s);
        }
    }
    free(s.answers);
    free(answers_copy);
    free(questions.items);
    cli_args_free(&args);
    return rc;
}
