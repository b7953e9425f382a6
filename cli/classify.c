/* SPDX-License-Identifier: MIT */
/* biomedclip classify: zero-shot classification, one JSON object per image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "classify";

static void usage(void)
{
    printf("Usage: biomedclip classify --model BUNDLE IMAGE... --labels L1,L2,...\n"
           "                           [--templates FILE] [--top K] [--device D]\n"
           "                           [--dtype f32|f16|bf16] [--batch N]\n"
           "                           [--pixels FILE --width W --height H --type T ...]\n"
           "\n"
           "Zero-shot classification: every label is put into the prompt templates, the prompt\n"
           "embeddings of a label are averaged (template ensembling), and each image's labels are\n"
           "ranked by probability (softmax of the model's logit scale x cosine similarity).\n"
           "Prints one JSON object per image and line, in input order:\n"
           "  {\"image\": \"a.png\", \"labels\": [{\"label\": \"...\", \"probability\": 0.93}, ...]}\n"
           "\n"
           "  --model BUNDLE    the model bundle (.bmc.pt)\n"
           "  --labels L1,...   the class labels, separated by commas\n"
           "  --templates FILE  prompt templates, one per line, \"{}\" where the label goes\n"
           "                    (blank lines are skipped; default: \"%s\")\n"
           "  --top K           print only the K most probable labels (default: all)\n"
           "  --device D        cpu (default), cuda or cuda:N\n"
           "  --dtype T         f32 (default); f16 on CUDA; bf16 on CUDA and CPUs with AVX512_BF16/AMX\n"
           "  --batch N         images (and prompts) per forward pass (default 32)\n",
           BMC_DEFAULT_TEMPLATE);
    cli_pixel_usage();
}

/* The labels of "a,b,c", split in place. */
static int split_labels(char *list, char ***labels, size_t *count)
{
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    char **result = malloc(n * sizeof *result);
    if (!result)
        return cli_error(CMD, "out of memory");
    for (size_t i = 0; i < n; i++) {
        result[i] = list;
        list += strcspn(list, ",");
        if (*list)
            *list++ = '\0';
        if (result[i][0] == '\0') {
            free(result);
            return cli_usage_error(CMD, "--labels has an empty label (number %zu)", i + 1);
        }
    }
    *labels = result;
    *count = n;
    return CLI_OK;
}

/* The non-blank lines of the templates file, moved to the front of `lines`. */
static int read_templates(const char *path, cli_lines *lines)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return cli_error(CMD, "cannot open '%s': %s", path, strerror(errno));
    int rc = cli_read_lines(CMD, file, lines);
    fclose(file);
    if (rc != CLI_OK)
        return rc;
    size_t kept = 0;
    for (size_t i = 0; i < lines->count; i++) {
        if (strspn(lines->text[i], " \t") == lines->length[i]) {
            free(lines->text[i]);
            continue;
        }
        lines->length[kept] = lines->length[i];
        lines->text[kept++] = lines->text[i];
    }
    lines->count = kept;
    if (kept == 0)
        return cli_error(CMD, "'%s' holds no templates", path);
    return CLI_OK;
}

typedef struct classify_run {
    const cli_input *inputs;
    const bmc_classifier *classifier;
    size_t label_count;
    size_t top;
    float *probabilities; /* chunk x label_count */
    int32_t *ranked;      /* top */
} classify_run;

static void print_result(const classify_run *run, const char *image, const float *probabilities)
{
    fputs("{\"image\": ", stdout);
    cli_json_string(stdout, image);
    fputs(", \"labels\": [", stdout);
    for (size_t r = 0; r < run->top; r++) {
        fputs(r ? ", {\"label\": " : "{\"label\": ", stdout);
        cli_json_string(stdout, bmc_classifier_label(run->classifier, (size_t)run->ranked[r]));
        printf(", \"probability\": %.9g}", (double)probabilities[run->ranked[r]]);
    }
    fputs("]}\n", stdout);
}

static int classify_chunk(void *user_data, size_t first, size_t count, const float *embeddings)
{
    classify_run *run = user_data;
    if (bmc_classifier_probabilities(run->classifier, embeddings, count, run->probabilities,
                                     count * run->label_count) != BMC_OK)
        return cli_library_error(CMD);
    for (size_t i = 0; i < count; i++) {
        const float *row = run->probabilities + i * run->label_count;
        if (bmc_top_k(row, run->label_count, run->top, run->ranked) != BMC_OK)
            return cli_library_error(CMD);
        print_result(run, run->inputs[first + i].path, row);
    }
    return fflush(stdout) == 0 ? CLI_OK : cli_error(CMD, "cannot write the results");
}

/* Builds the classifier, then classifies the images chunk by chunk. */
static int classify_images(bmc_model *model, const bmc_encoder_options *eopts,
                           const cli_encode_job *job, char **labels, size_t label_count,
                           const cli_lines *templates, size_t top)
{
    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    classify_run run = {job->inputs, NULL, label_count, top, NULL, NULL};
    size_t chunk = job->batch_size * CLI_CHUNK_BATCHES;
    run.probabilities = malloc(chunk * label_count * sizeof *run.probabilities);
    run.ranked = malloc(top * sizeof *run.ranked);
    bmc_classifier *classifier = NULL;
    int rc = CLI_OK;
    if (!run.probabilities || !run.ranked)
        rc = cli_error(CMD, "out of memory");
    else if (bmc_text_encoder_create(model, eopts, &text_encoder) != BMC_OK ||
             bmc_classifier_create(text_encoder, (const char *const *)labels, label_count,
                                   templates ? (const char *const *)templates->text : NULL,
                                   templates ? templates->count : 0, &classifier) != BMC_OK ||
             bmc_image_encoder_create(model, eopts, &image_encoder) != BMC_OK)
        rc = cli_library_error(CMD);
    else {
        run.classifier = classifier;
        rc = cli_encode_inputs(CMD, image_encoder, job, classify_chunk, &run);
    }
    bmc_classifier_free(classifier);
    bmc_image_encoder_free(image_encoder);
    bmc_text_encoder_free(text_encoder);
    free(run.ranked);
    free(run.probabilities);
    return rc;
}

static int run_classify(const cli_args *args, const bmc_pixels *view,
                        const cli_model_args *margs, char **labels, size_t label_count,
                        const cli_lines *templates, const char *top_text)
{
    int32_t top = (int32_t)label_count;
    int rc = cli_parse_int(CMD, "--top", top_text, 1, (long)label_count, &top);
    if (rc != CLI_OK)
        return rc;
    cli_progress progress = {CMD, 0, args->input_count};
    bmc_encoder_options eopts;
    bmc_model *model;
    if ((rc = cli_encoder_options(CMD, margs, &progress, &eopts)) != CLI_OK ||
        (rc = cli_load_model(CMD, margs, &model)) != CLI_OK)
        return rc;
    cli_encode_job job = {args->inputs, args->input_count, view, (size_t)eopts.batch_size,
                          bmc_model_embed_dim(model), 0, &progress};
    rc = classify_images(model, &eopts, &job, labels, label_count, templates, (size_t)top);
    bmc_model_free(model);
    return rc;
}

int cli_classify(int argc, char **argv)
{
    const char *labels_text = NULL, *templates_path = NULL, *top = NULL;
    cli_model_args margs = {0};
    cli_pixel_args pargs = {0};
    cli_option options[3 + CLI_MODEL_OPTION_COUNT + CLI_PIXEL_OPTION_COUNT] = {
        {"--labels", &labels_text, NULL, 0},
        {"--templates", &templates_path, NULL, 0},
        {"--top", &top, NULL, 0},
    };
    size_t option_count = 3;
    option_count += cli_model_options(&margs, options + option_count);
    option_count += cli_pixel_options(&pargs, options + option_count);
    cli_args args;
    int rc = cli_parse(CMD, argc, argv, options, option_count, &args);
    if (rc != CLI_OK)
        return rc;
    bmc_pixels view;
    char *labels_copy = NULL;
    char **labels = NULL;
    size_t label_count = 0;
    cli_lines templates = {0};
    if (args.help)
        usage();
    else if (!margs.model)
        rc = cli_usage_error(CMD, "--model BUNDLE is required");
    else if (args.input_count == 0)
        rc = cli_usage_error(CMD, "no images given");
    else if (!labels_text)
        rc = cli_usage_error(CMD, "--labels L1,L2,... is required");
    else if ((rc = cli_pixel_view(CMD, &pargs, &args, &view)) == CLI_OK) {
        labels_copy = strdup(labels_text);
        if (!labels_copy)
            rc = cli_error(CMD, "out of memory");
        else if ((rc = split_labels(labels_copy, &labels, &label_count)) == CLI_OK &&
                 (!templates_path || (rc = read_templates(templates_path, &templates)) == CLI_OK))
            rc = run_classify(&args, &view, &margs, labels, label_count,
                              templates_path ? &templates : NULL, top);
    }
    cli_lines_free(&templates);
    free(labels);
    free(labels_copy);
    cli_args_free(&args);
    return rc;
}
