/* SPDX-License-Identifier: MIT */
/* biomedclip probe train | predict: few-shot linear probes (multinomial logistic regression on
 * image embeddings, trained by the library with L-BFGS). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(void)
{
    printf("Usage: biomedclip probe train --model BUNDLE --out PROBE [--c C] [--max-iter N]\n"
           "                              [--tolerance T] [--device D] [--dtype T] [--batch N] [--fast-jpeg] TSV\n"
           "       biomedclip probe predict --model BUNDLE --probe PROBE IMAGE... [--top K]\n"
           "                                [--device D] [--dtype T] [--batch N] [--fast-jpeg]\n"
           "                                [--pixels FILE --width W --height H --type T ...]\n"
           "\n"
           "train    embeds the labelled images of TSV, one \"IMAGE<TAB>LABEL\" per line (a\n"
           "         relative IMAGE is taken from the TSV's folder; blank lines are skipped),\n"
           "         fits multinomial logistic regression with L2 regularisation on the embeddings\n"
           "         (scikit-learn's LogisticRegression objective, solved with L-BFGS), saves it as\n"
           "         PROBE, and prints one JSON object:\n"
           "           {\"probe\": \"...\", \"examples\": 40, \"labels\": [{\"label\": \"...\", \"examples\": 8}, ...],\n"
           "            \"c\": 1, \"iterations\": 57, \"converged\": true}\n"
           "         Labels keep the order of their first appearance.\n"
           "predict  prints one JSON object per image and line, in input order, with the probe's\n"
           "         labels ranked by probability:\n"
           "           {\"image\": \"a.png\", \"labels\": [{\"label\": \"...\", \"probability\": 0.93}, ...]}\n"
           "\n"
           "  --model BUNDLE   the model bundle (.bmc.pt); a probe only loads for the model it\n"
           "                   was trained for\n"
           "  --out PROBE      the probe file to write (e.g. findings.bmcprobe)\n"
           "  --probe PROBE    the probe file to read\n"
           "  --c C            inverse regularisation strength, as scikit-learn's C (default 1)\n"
           "  --max-iter N     L-BFGS iterations at most (default 10000)\n"
           "  --tolerance T    gradient tolerance, relative to the start (default 1e-9)\n"
           "  --top K          print only the K most probable labels (default: all)\n"
           "  --device D       cpu (default), cuda or cuda:N\n"
           "  --dtype T        f32 (default); f16 on CUDA; bf16 on CUDA and CPUs with AVX512_BF16/AMX\n"
           "  --batch N        images per forward pass (default 32)\n"
           "  --fast-jpeg      decode large JPEGs at 1/2, 1/4 or 1/8 scale, not below the model's\n"
           "                   input size: faster, not bit-exact (docs/performance.md)\n");
    cli_pixel_usage();
}

typedef struct probe_args {
    const char *cmd;
    cli_model_args margs;
    cli_pixel_args pargs;
    const char *out, *probe, *c, *max_iter, *tolerance, *top;
    cli_args args;
    bmc_pixels view;
} probe_args;

/* ---- train ---------------------------------------------------------------------------------- */

/* The examples of a TSV: image paths (resolved against the TSV's folder), their class indices
 * and the labels in order of first appearance. */
typedef struct examples {
    cli_input *inputs;
    int32_t *classes;
    size_t count;
    char **labels;
    size_t label_count;
} examples;

static void examples_free(examples *e)
{
    for (size_t i = 0; i < e->count; i++)
        free((char *)e->inputs[i].path);
    for (size_t j = 0; j < e->label_count; j++)
        free(e->labels[j]);
    free(e->inputs);
    free(e->classes);
    free(e->labels);
}

/* `path` as seen from the current folder: relative paths are taken from the TSV's folder. */
static char *resolve(const char *tsv, const char *path)
{
    const char *slash = strrchr(tsv, '/');
    if (path[0] == '/' || !slash)
        return strdup(path);
    size_t folder = (size_t)(slash - tsv) + 1, length = strlen(path);
    char *full = malloc(folder + length + 1);
    if (full) {
        memcpy(full, tsv, folder);
        memcpy(full + folder, path, length + 1);
    }
    return full;
}

/* The class index of `label`, added to the list if new; -1 when out of memory. */
static int32_t class_of(examples *e, const char *label)
{
    for (size_t j = 0; j < e->label_count; j++)
        if (strcmp(e->labels[j], label) == 0)
            return (int32_t)j;
    char **grown = realloc(e->labels, (e->label_count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    e->labels = grown;
    if (!(e->labels[e->label_count] = strdup(label)))
        return -1;
    return (int32_t)e->label_count++;
}

static int add_example(examples *e, const char *tsv, const char *path, const char *label)
{
    cli_input *inputs = realloc(e->inputs, (e->count + 1) * sizeof *inputs);
    if (inputs)
        e->inputs = inputs;
    int32_t *classes = realloc(e->classes, (e->count + 1) * sizeof *classes);
    if (classes)
        e->classes = classes;
    char *resolved = inputs && classes ? resolve(tsv, path) : NULL;
    int32_t class_index = resolved ? class_of(e, label) : -1;
    if (class_index < 0) {
        free(resolved);
        return CLI_FAIL;
    }
    e->inputs[e->count] = (cli_input){.path = resolved};
    e->classes[e->count++] = class_index;
    return CLI_OK;
}

static int read_examples(const char *cmd, const char *tsv, examples *e)
{
    FILE *file = fopen(tsv, "r");
    if (!file)
        return cli_error(cmd, "cannot open '%s': %s", tsv, strerror(errno));
    char *line = NULL;
    size_t capacity = 0, length, number = 0;
    int rc = CLI_OK;
    while (rc == CLI_OK && cli_next_line(file, &line, &capacity, &length)) {
        number++;
        if (strspn(line, " \t") == length)
            continue;
        char *tab = strchr(line, '\t');
        if (strlen(line) != length)
            rc = cli_error(cmd, "%s:%zu: a NUL byte in the line", tsv, number);
        else if (!tab || tab == line || tab[1] == '\0' || strchr(tab + 1, '\t'))
            rc = cli_error(cmd, "%s:%zu: expected IMAGE<TAB>LABEL", tsv, number);
        else {
            *tab = '\0';
            if (add_example(e, tsv, line, tab + 1) != CLI_OK)
                rc = cli_error(cmd, "out of memory");
        }
    }
    if (rc == CLI_OK && ferror(file))
        rc = cli_error(cmd, "cannot read '%s'", tsv);
    fclose(file);
    free(line);
    if (rc == CLI_OK && e->count == 0)
        rc = cli_error(cmd, "'%s' holds no examples", tsv);
    return rc;
}

/* Collects the chunks of embeddings in one array. */
typedef struct collect {
    float *embeddings;
    size_t dim;
} collect;

static int collect_chunk(void *user_data, size_t first, size_t count, const float *embeddings)
{
    collect *c = user_data;
    memcpy(c->embeddings + first * c->dim, embeddings, count * c->dim * sizeof *embeddings);
    return CLI_OK;
}

static int parse_positive(const char *cmd, const char *name, const char *text, double max,
                          double *out)
{
    if (!text)
        return CLI_OK;
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !(value > 0.0 && value <= max))
        return cli_usage_error(cmd, "%s must be a number above 0 and at most %g, not '%s'", name,
                               max, text);
    *out = value;
    return CLI_OK;
}

static void print_training(const char *path, const examples *e, const bmc_probe *probe)
{
    double c = 0;
    int32_t iterations = 0, converged = 0;
    bmc_probe_training(probe, &c, &iterations, &converged);
    fputs("{\"probe\": ", stdout);
    cli_json_string(stdout, path);
    printf(", \"examples\": %zu, \"labels\": [", e->count);
    for (size_t j = 0; j < e->label_count; j++) {
        size_t n = 0;
        for (size_t i = 0; i < e->count; i++)
            n += (size_t)e->classes[i] == j;
        fputs(j ? ", {\"label\": " : "{\"label\": ", stdout);
        cli_json_string(stdout, e->labels[j]);
        printf(", \"examples\": %zu}", n);
    }
    printf("], \"c\": %.17g, \"iterations\": %d, \"converged\": %s}\n", c, iterations,
           converged ? "true" : "false");
}

static int train(probe_args *pa)
{
    const char *cmd = pa->cmd;
    if (!pa->out)
        return cli_usage_error(cmd, "--out PROBE is required");
    if (pa->probe || pa->top)
        return cli_usage_error(cmd, "--probe and --top are options of probe predict");
    if (pa->args.input_count != 1 || pa->args.inputs[0].raw)
        return cli_usage_error(cmd, "expected one TSV file of IMAGE<TAB>LABEL lines");
    bmc_probe_options options;
    bmc_probe_options_init(&options);
    int32_t max_iter = options.max_iterations;
    int rc;
    if ((rc = parse_positive(cmd, "--c", pa->c, 1e300, &options.c)) != CLI_OK ||
        (rc = parse_positive(cmd, "--tolerance", pa->tolerance, 1.0, &options.tolerance)) != CLI_OK ||
        (rc = cli_parse_int(cmd, "--max-iter", pa->max_iter, 1, INT32_MAX, &max_iter)) != CLI_OK)
        return rc;
    options.max_iterations = max_iter;
    examples e = {0};
    if ((rc = read_examples(cmd, pa->args.inputs[0].path, &e)) != CLI_OK) {
        examples_free(&e);
        return rc;
    }
    cli_progress progress = {cmd, 0, e.count};
    bmc_encoder_options eopts;
    bmc_model *model = NULL;
    bmc_image_encoder *encoder = NULL;
    bmc_probe *probe = NULL;
    collect c = {NULL, 0};
    if ((rc = cli_encoder_options(cmd, &pa->margs, &progress, &eopts)) != CLI_OK ||
        (rc = cli_load_model(cmd, &pa->margs, &model)) != CLI_OK) {
        examples_free(&e);
        return rc;
    }
    c.dim = (size_t)bmc_model_embed_dim(model);
    c.embeddings = malloc(e.count * c.dim * sizeof *c.embeddings);
    cli_encode_job job = {e.inputs, e.count, &pa->view, (size_t)eopts.batch_size,
                          bmc_model_embed_dim(model), 0, &progress};
    if (!c.embeddings)
        rc = cli_error(cmd, "out of memory for %zu embeddings", e.count);
    else if (bmc_image_encoder_create(model, &eopts, &encoder) != BMC_OK)
        rc = cli_library_error(cmd);
    else if ((rc = cli_encode_inputs(cmd, encoder, &job, collect_chunk, &c)) == CLI_OK) {
        if (bmc_probe_train(model, c.embeddings, e.count, e.classes,
                            (const char *const *)e.labels, e.label_count, &options, &probe) != BMC_OK ||
            bmc_probe_save(probe, pa->out) != BMC_OK)
            rc = cli_library_error(cmd);
        else
            print_training(pa->out, &e, probe);
    }
    bmc_probe_free(probe);
    bmc_image_encoder_free(encoder);
    bmc_model_free(model);
    free(c.embeddings);
    examples_free(&e);
    return rc;
}

/* ---- predict -------------------------------------------------------------------------------- */

typedef struct predict_run {
    const cli_input *inputs;
    const bmc_probe *probe;
    size_t label_count, top;
    float *probabilities; /* chunk x label_count */
    int32_t *ranked;      /* top */
} predict_run;

static int predict_chunk(void *user_data, size_t first, size_t count, const float *embeddings)
{
    predict_run *run = user_data;
    if (bmc_probe_probabilities(run->probe, embeddings, count, run->probabilities,
                                count * run->label_count) != BMC_OK)
        return cli_library_error("probe predict");
    for (size_t i = 0; i < count; i++) {
        const float *row = run->probabilities + i * run->label_count;
        if (bmc_top_k(row, run->label_count, run->top, run->ranked) != BMC_OK)
            return cli_library_error("probe predict");
        fputs("{\"image\": ", stdout);
        cli_json_string(stdout, run->inputs[first + i].path);
        fputs(", \"labels\": [", stdout);
        for (size_t r = 0; r < run->top; r++) {
            fputs(r ? ", {\"label\": " : "{\"label\": ", stdout);
            cli_json_string(stdout, bmc_probe_label(run->probe, (size_t)run->ranked[r]));
            printf(", \"probability\": %.9g}", (double)row[run->ranked[r]]);
        }
        fputs("]}\n", stdout);
    }
    return fflush(stdout) == 0 ? CLI_OK : cli_error("probe predict", "cannot write the results");
}

static int predict(probe_args *pa)
{
    const char *cmd = pa->cmd;
    if (!pa->probe)
        return cli_usage_error(cmd, "--probe PROBE is required");
    if (pa->out || pa->c || pa->max_iter || pa->tolerance)
        return cli_usage_error(cmd, "--out, --c, --max-iter and --tolerance are options of probe train");
    if (pa->args.input_count == 0)
        return cli_usage_error(cmd, "no images given");
    cli_progress progress = {cmd, 0, pa->args.input_count};
    bmc_encoder_options eopts;
    bmc_model *model = NULL;
    bmc_probe *probe = NULL;
    bmc_image_encoder *encoder = NULL;
    int rc;
    if ((rc = cli_encoder_options(cmd, &pa->margs, &progress, &eopts)) != CLI_OK ||
        (rc = cli_load_model(cmd, &pa->margs, &model)) != CLI_OK)
        return rc;
    predict_run run = {pa->args.inputs, NULL, 0, 0, NULL, NULL};
    if (bmc_probe_load(model, pa->probe, &probe) != BMC_OK) {
        rc = cli_library_error(cmd);
    } else {
        run.probe = probe;
        run.label_count = bmc_probe_label_count(probe);
        int32_t top = (int32_t)run.label_count;
        rc = cli_parse_int(cmd, "--top", pa->top, 1, (long)run.label_count, &top);
        run.top = (size_t)top;
    }
    size_t chunk = (size_t)eopts.batch_size * CLI_CHUNK_BATCHES;
    if (rc == CLI_OK) {
        run.probabilities = malloc(chunk * run.label_count * sizeof *run.probabilities);
        run.ranked = malloc(run.top * sizeof *run.ranked);
        if (!run.probabilities || !run.ranked)
            rc = cli_error(cmd, "out of memory");
    }
    cli_encode_job job = {pa->args.inputs, pa->args.input_count, &pa->view,
                          (size_t)eopts.batch_size, bmc_model_embed_dim(model), 0, &progress};
    if (rc == CLI_OK && bmc_image_encoder_create(model, &eopts, &encoder) != BMC_OK)
        rc = cli_library_error(cmd);
    if (rc == CLI_OK)
        rc = cli_encode_inputs(cmd, encoder, &job, predict_chunk, &run);
    free(run.probabilities);
    free(run.ranked);
    bmc_image_encoder_free(encoder);
    bmc_probe_free(probe);
    bmc_model_free(model);
    return rc;
}

int cli_probe(int argc, char **argv)
{
    static const char *const actions[] = {"train", "predict"};
    static const char *const cmds[] = {"probe train", "probe predict"};
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage();
        return CLI_OK;
    }
    size_t a = 0;
    while (a < 2 && (argc < 2 || strcmp(argv[1], actions[a]) != 0))
        a++;
    if (a == 2)
        return cli_usage_error("probe", "expected train or predict, not '%s'", argc < 2 ? "" : argv[1]);
    probe_args pa = {.cmd = cmds[a]};
    cli_option options[7 + CLI_MODEL_OPTION_COUNT + CLI_PIXEL_OPTION_COUNT] = {
        {"--fast-jpeg", NULL, &pa.margs.fast_jpeg, 0},
        {"--out", &pa.out, NULL, 0},
        {"--probe", &pa.probe, NULL, 0},
        {"--c", &pa.c, NULL, 0},
        {"--max-iter", &pa.max_iter, NULL, 0},
        {"--tolerance", &pa.tolerance, NULL, 0},
        {"--top", &pa.top, NULL, 0},
    };
    size_t option_count = 7;
    option_count += cli_model_options(&pa.margs, options + option_count);
    option_count += cli_pixel_options(&pa.pargs, options + option_count);
    int rc = cli_parse(pa.cmd, argc - 1, argv + 1, options, option_count, &pa.args);
    if (rc != CLI_OK)
        return rc;
    if (pa.args.help)
        usage();
    else if (!pa.margs.model)
        rc = cli_usage_error(pa.cmd, "--model BUNDLE is required");
    else if ((rc = cli_pixel_view(pa.cmd, &pa.pargs, &pa.args, &pa.view)) == CLI_OK)
        rc = a == 0 ? train(&pa) : predict(&pa);
    cli_args_free(&pa.args);
    return rc;
}
