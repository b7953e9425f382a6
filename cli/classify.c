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
           "                           [--templates SET|FILE] [--top K] [--device D]\n"
           "                           [--dtype f32|f16|bf16] [--batch N] [--fast-jpeg]\n"
           "                           [--pixels FILE --width W --height H --type T ...]\n"
           "       biomedclip classify --multi-label --model BUNDLE IMAGE... --labels L1,L2,...\n"
           "                           [--templates SET|FILE [--negative-templates SET|FILE]] ...\n"
           "       biomedclip classify --list-templates\n"
           "\n"
           "Zero-shot classification: every label is put into the prompt templates, the prompt\n"
           "embeddings of a label are averaged (template ensembling), and each image's labels are\n"
           "ranked by probability (softmax of the model's logit scale x cosine similarity).\n"
           "Prints one JSON object per image and line, in input order:\n"
           "  {\"image\": \"a.png\", \"labels\": [{\"label\": \"...\", \"probability\": 0.93}, ...]}\n"
           "With --multi-label, every label gets its own probability, independent of the others\n"
           "(as CheXzero scores findings): the softmax over the label's pair of logits, with the\n"
           "positive templates and with the negative ones (default \"%s\" / \"%s\"). The\n"
           "labels are then listed in the order given, each with its probability.\n"
           "\n"
           "  --model BUNDLE    the model bundle (.bmc.pt)\n"
           "  --labels L1,...   the class labels, separated by commas\n"
           "  --templates T     prompt templates, \"{}\" where the label goes: a built-in set by\n"
           "                    name (see --list-templates; with --multi-label also its negative\n"
           "                    templates) or a file, one template per line (blank lines are\n"
           "                    skipped; write ./NAME for a file named like a set);\n"
           "                    default: \"%s\"\n"
           "  --negative-templates T  with --multi-label: the negative templates, a set's or a\n"
           "                    file's (required when --templates is a file)\n"
           "  --multi-label     an independent probability per label, as described above\n"
           "  --list-templates  print the built-in template sets and exit\n"
           "  --top K           print only the K most probable labels (default: all)\n"
           "  --device D        cpu (default), cuda or cuda:N\n"
           "  --dtype T         f32 (default); f16 on CUDA; bf16 on CUDA and CPUs with AVX512_BF16/AMX\n"
           "  --batch N         images (and prompts) per forward pass (default 32)\n"
           "  --fast-jpeg       decode large JPEGs at 1/2, 1/4 or 1/8 scale, not below the\n"
           "                    model's input size: faster, not bit-exact (docs/performance.md)\n",
           BMC_DEFAULT_POSITIVE_TEMPLATE, BMC_DEFAULT_NEGATIVE_TEMPLATE, BMC_DEFAULT_TEMPLATE);
    cli_pixel_usage();
}

/* Prompt templates as the command uses them: a built-in set's (static) or a file's lines. */
typedef struct template_list {
    const char *const *text; /* NULL: the library's default */
    size_t count;
    cli_lines lines;         /* the file's, when read from one */
} template_list;

/* The non-blank lines of the templates file, moved to the front of `lines`. */
static int read_templates(const char *option, const char *path, cli_lines *lines)
{
    FILE *file = fopen(path, "r");
    if (!file) {
        /* A plain word is more likely a mistyped set name than a missing file. */
        if (!strpbrk(path, "/."))
            return cli_error(CMD, "%s '%s' is neither a built-in template set (see "
                             "--list-templates) nor a file: %s", option, path, strerror(errno));
        return cli_error(CMD, "cannot open '%s': %s", path, strerror(errno));
    }
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

/* --templates or --negative-templates `value`: the positive (or negative) templates of the set
 * of that name, else the lines of the file. */
static int resolve_templates(const char *option, const char *value, int negative,
                             template_list *list)
{
    const char *const *positive_set, *const *negative_set;
    size_t positive_count, negative_count;
    if (bmc_template_set(value, &positive_set, &positive_count, &negative_set,
                         &negative_count) == BMC_OK) {
        list->text = negative ? negative_set : positive_set;
        list->count = negative ? negative_count : positive_count;
        return CLI_OK;
    }
    int rc = read_templates(option, value, &list->lines);
    if (rc == CLI_OK) {
        list->text = (const char *const *)list->lines.text;
        list->count = list->lines.count;
    }
    return rc;
}

/* --list-templates: each set's name, then its templates, "+ " positive and "- " negative. */
static int list_templates(void)
{
    for (size_t i = 0; i < bmc_template_set_count(); i++) {
        const char *name = bmc_template_set_name(i);
        const char *const *positive, *const *negative;
        size_t positive_count, negative_count;
        if (bmc_template_set(name, &positive, &positive_count, &negative, &negative_count) != BMC_OK)
            return cli_library_error(CMD);
        printf("%s\n", name);
        for (size_t t = 0; t < positive_count; t++)
            printf("  + %s\n", positive[t]);
        for (size_t t = 0; t < negative_count; t++)
            printf("  - %s\n", negative[t]);
    }
    return fflush(stdout) == 0 ? CLI_OK : cli_error(CMD, "cannot write the list");
}

typedef struct classify_run {
    const cli_input *inputs;
    const bmc_classifier *classifier;   /* one of the two */
    const bmc_multilabel *multilabel;
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

/* --multi-label: every label in the order given. */
static void print_labels(const classify_run *run, const char *image, const float *probabilities)
{
    fputs("{\"image\": ", stdout);
    cli_json_string(stdout, image);
    fputs(", \"labels\": [", stdout);
    for (size_t l = 0; l < run->label_count; l++) {
        fputs(l ? ", {\"label\": " : "{\"label\": ", stdout);
        cli_json_string(stdout, bmc_multilabel_label(run->multilabel, l));
        printf(", \"probability\": %.9g}", (double)probabilities[l]);
    }
    fputs("]}\n", stdout);
}

static int classify_chunk(void *user_data, size_t first, size_t count, const float *embeddings)
{
    classify_run *run = user_data;
    if (run->multilabel) {
        if (bmc_multilabel_probabilities(run->multilabel, embeddings, count, run->probabilities,
                                         count * run->label_count) != BMC_OK)
            return cli_library_error(CMD);
        for (size_t i = 0; i < count; i++)
            print_labels(run, run->inputs[first + i].path, run->probabilities + i * run->label_count);
        return fflush(stdout) == 0 ? CLI_OK : cli_error(CMD, "cannot write the results");
    }
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

/* What to classify with: labels, templates and the mode. */
typedef struct classify_spec {
    char **labels;
    size_t label_count;
    template_list templates, negative_templates;
    int multi_label;
    size_t top;
} classify_spec;

/* Builds the classifier (or multi-label scorer), then classifies the images chunk by chunk. */
static int classify_images(bmc_model *model, const bmc_encoder_options *eopts,
                           const cli_encode_job *job, const classify_spec *spec)
{
    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    classify_run run = {job->inputs, NULL, NULL, spec->label_count, spec->top, NULL, NULL};
    size_t chunk = job->batch_size * CLI_CHUNK_BATCHES;
    run.probabilities = malloc(chunk * spec->label_count * sizeof *run.probabilities);
    run.ranked = malloc(spec->top * sizeof *run.ranked);
    bmc_classifier *classifier = NULL;
    bmc_multilabel *multilabel = NULL;
    const char *const *labels = (const char *const *)spec->labels;
    int rc = CLI_OK;
    if (!run.probabilities || !run.ranked)
        rc = cli_error(CMD, "out of memory");
    else if (bmc_text_encoder_create(model, eopts, &text_encoder) != BMC_OK ||
             (spec->multi_label
                  ? bmc_multilabel_create(text_encoder, labels, spec->label_count,
                                          spec->templates.text, spec->templates.count,
                                          spec->negative_templates.text,
                                          spec->negative_templates.count, &multilabel)
                  : bmc_classifier_create(text_encoder, labels, spec->label_count,
                                          spec->templates.text, spec->templates.count,
                                          &classifier)) != BMC_OK ||
             bmc_image_encoder_create(model, eopts, &image_encoder) != BMC_OK)
        rc = cli_library_error(CMD);
    else {
        run.classifier = classifier;
        run.multilabel = multilabel;
        rc = cli_encode_inputs(CMD, image_encoder, job, classify_chunk, &run);
    }
    bmc_multilabel_free(multilabel);
    bmc_classifier_free(classifier);
    bmc_image_encoder_free(image_encoder);
    bmc_text_encoder_free(text_encoder);
    free(run.ranked);
    free(run.probabilities);
    return rc;
}

static int run_classify(const cli_args *args, const bmc_pixels *view,
                        const cli_model_args *margs, classify_spec *spec, const char *top_text)
{
    int32_t top = (int32_t)spec->label_count;
    int rc = cli_parse_int(CMD, "--top", top_text, 1, (long)spec->label_count, &top);
    if (rc != CLI_OK)
        return rc;
    spec->top = (size_t)top;
    cli_progress progress = {CMD, 0, args->input_count};
    bmc_encoder_options eopts;
    bmc_model *model;
    if ((rc = cli_encoder_options(CMD, margs, &progress, &eopts)) != CLI_OK ||
        (rc = cli_load_model(CMD, margs, &model)) != CLI_OK)
        return rc;
    cli_encode_job job = {args->inputs, args->input_count, view, (size_t)eopts.batch_size,
                          bmc_model_embed_dim(model), 0, &progress};
    rc = classify_images(model, &eopts, &job, spec);
    bmc_model_free(model);
    return rc;
}

/* The templates of both sides from the options; checks that they fit the mode. */
static int resolve_spec_templates(const char *templates, const char *negative, classify_spec *spec)
{
    if (negative && !spec->multi_label)
        return cli_usage_error(CMD, "--negative-templates needs --multi-label");
    int rc = CLI_OK;
    if (templates)
        rc = resolve_templates("--templates", templates, 0, &spec->templates);
    if (rc != CLI_OK || !spec->multi_label)
        return rc;
    if (negative)
        return resolve_templates("--negative-templates", negative, 1, &spec->negative_templates);
    if (!templates)
        return CLI_OK; /* the library's pair, "{}" and "no {}" */
    if (spec->templates.lines.count > 0)
        return cli_usage_error(CMD, "--multi-label with a templates file needs "
                               "--negative-templates (the file's templates negated)");
    return resolve_templates("--templates", templates, 1, &spec->negative_templates);
}

int cli_classify(int argc, char **argv)
{
    const char *labels_text = NULL, *templates_path = NULL, *negative_path = NULL, *top = NULL;
    int multi_label = 0, list = 0;
    cli_model_args margs = {0};
    cli_pixel_args pargs = {0};
    cli_option options[7 + CLI_MODEL_OPTION_COUNT + CLI_PIXEL_OPTION_COUNT] = {
        {"--fast-jpeg", NULL, &margs.fast_jpeg, 0},
        {"--labels", &labels_text, NULL, 0},
        {"--templates", &templates_path, NULL, 0},
        {"--negative-templates", &negative_path, NULL, 0},
        {"--top", &top, NULL, 0},
        {"--multi-label", NULL, &multi_label, 0},
        {"--list-templates", NULL, &list, 0},
    };
    size_t option_count = 7;
    option_count += cli_model_options(&margs, options + option_count);
    option_count += cli_pixel_options(&pargs, options + option_count);
    cli_args args;
    int rc = cli_parse(CMD, argc, argv, options, option_count, &args);
    if (rc != CLI_OK)
        return rc;
    bmc_pixels view;
    char *labels_copy = NULL;
    classify_spec spec = {0};
    spec.multi_label = multi_label;
    if (args.help)
        usage();
    else if (list)
        rc = argc == 2 ? list_templates()
                       : cli_usage_error(CMD, "--list-templates takes no other arguments");
    else if (!margs.model)
        rc = cli_usage_error(CMD, "--model BUNDLE is required");
    else if (args.input_count == 0)
        rc = cli_usage_error(CMD, "no images given");
    else if (!labels_text)
        rc = cli_usage_error(CMD, "--labels L1,L2,... is required");
    else if (multi_label && top)
        rc = cli_usage_error(CMD, "--top ranks one label against the others; --multi-label "
                             "prints every label's own probability");
    else if ((rc = cli_pixel_view(CMD, &pargs, &args, &view)) == CLI_OK) {
        labels_copy = strdup(labels_text);
        if (!labels_copy)
            rc = cli_error(CMD, "out of memory");
        else if ((rc = cli_split_list(CMD, "--labels", "label", labels_copy, &spec.labels,
                                         &spec.label_count)) == CLI_OK &&
                 (rc = resolve_spec_templates(templates_path, negative_path, &spec)) == CLI_OK)
            rc = run_classify(&args, &view, &margs, &spec, top);
    }
    cli_lines_free(&spec.templates.lines);
    cli_lines_free(&spec.negative_templates.lines);
    free(spec.labels);
    free(labels_copy);
    cli_args_free(&args);
    return rc;
}
