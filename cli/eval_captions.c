/* SPDX-License-Identifier: MIT */
/* biomedclip eval-captions: caption metrics (BLEU, ROUGE-L, METEOR, CIDEr-D) of candidate
 * captions against references, as JSON. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char *const CMD = "eval-captions";

static const struct {
    const char *name;
    int32_t metric;
} METRICS[] = {
    {"BLEU-1", BMC_CAPTION_BLEU_1}, {"BLEU-2", BMC_CAPTION_BLEU_2},
    {"BLEU-3", BMC_CAPTION_BLEU_3}, {"BLEU-4", BMC_CAPTION_BLEU_4},
    {"ROUGE-L", BMC_CAPTION_ROUGE_L}, {"METEOR", BMC_CAPTION_METEOR},
    {"CIDEr-D", BMC_CAPTION_CIDER_D},
};

#define METRIC_COUNT (sizeof METRICS / sizeof METRICS[0])

static void usage(void)
{
    printf("Usage: biomedclip eval-captions CANDIDATES REFERENCES [--metrics M1,M2,...]\n"
           "                                [--smoothing N] [--per-candidate]\n"
           "\n"
           "Scores candidate captions against reference captions and prints one JSON object:\n"
           "  {\"corpus\": {\"BLEU-1\": 0.61, ..., \"CIDEr-D\": 1.02}}\n"
           "with --per-candidate also each candidate's own scores, in order:\n"
           "  {\"corpus\": {...}, \"candidates\": [{\"BLEU-1\": 0.5, ...}, ...]}\n"
           "docs/caption-metrics.md defines the metrics and the implementations they reproduce.\n"
           "\n"
           "  CANDIDATES       UTF-8 text, one candidate caption per line\n"
           "  REFERENCES       line i holds the references of candidate i, separated by TABs\n"
           "                   (empty fields are skipped; at least one per line)\n"
           "  --metrics LIST   some of BLEU-1, BLEU-2, BLEU-3, BLEU-4, ROUGE-L, METEOR, CIDEr-D\n"
           "                   (any case; default: all)\n"
           "  --smoothing N    BLEU smoothing: 0 none (default), 1-4 nltk's method1-method4\n"
           "  --per-candidate  add every candidate's scores\n");
}

/* The metrics named in `list` ("bleu-4,CIDEr-D"), as flags in `selected`. */
static int parse_metrics(const char *list, int *selected)
{
    if (!list) {
        for (size_t m = 0; m < METRIC_COUNT; m++)
            selected[m] = 1;
        return CLI_OK;
    }
    while (*list) {
        size_t length = strcspn(list, ",");
        size_t m = 0;
        while (m < METRIC_COUNT && !(strlen(METRICS[m].name) == length &&
                                     strncasecmp(list, METRICS[m].name, length) == 0))
            m++;
        if (m == METRIC_COUNT)
            return cli_usage_error(CMD, "unknown metric '%.*s' in --metrics", (int)length, list);
        selected[m] = 1;
        list += length + (list[length] == ',');
    }
    return CLI_OK;
}

static int read_file_lines(const char *path, cli_lines *lines)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return cli_error(CMD, "cannot open '%s': %s", path, strerror(errno));
    int rc = cli_read_lines(CMD, file, lines);
    fclose(file);
    return rc;
}

/* The corpus as bmc_caption_score() takes it: candidates, and the references of all of them
 * in one list with a count per candidate. The strings point into the files' lines. */
typedef struct corpus {
    cli_lines candidates;
    cli_lines reference_lines; /* split in place at the TABs */
    const char **references;
    size_t *reference_counts;
} corpus;

static void corpus_free(corpus *c)
{
    cli_lines_free(&c->candidates);
    cli_lines_free(&c->reference_lines);
    free(c->references);
    free(c->reference_counts);
}

static int split_references(corpus *c)
{
    size_t fields = 0; /* an upper bound: one more than the TABs of each line */
    for (size_t i = 0; i < c->reference_lines.count; i++) {
        fields++;
        for (const char *p = c->reference_lines.text[i]; *p; p++)
            fields += *p == '\t';
    }
    c->references = malloc((fields ? fields : 1) * sizeof *c->references);
    c->reference_counts = calloc(c->reference_lines.count ? c->reference_lines.count : 1,
                                 sizeof *c->reference_counts);
    if (!c->references || !c->reference_counts)
        return cli_error(CMD, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < c->reference_lines.count; i++) {
        char *field = c->reference_lines.text[i];
        while (field) {
            char *tab = strchr(field, '\t');
            if (tab)
                *tab = '\0';
            if (*field) {
                c->references[n++] = field;
                c->reference_counts[i]++;
            }
            field = tab ? tab + 1 : NULL;
        }
    }
    return CLI_OK;
}

static int read_corpus(const char *candidates_path, const char *references_path, corpus *c)
{
    int rc;
    if ((rc = read_file_lines(candidates_path, &c->candidates)) != CLI_OK ||
        (rc = read_file_lines(references_path, &c->reference_lines)) != CLI_OK)
        return rc;
    if (c->candidates.count == 0)
        return cli_error(CMD, "'%s' holds no candidates", candidates_path);
    if (c->candidates.count != c->reference_lines.count)
        return cli_error(CMD, "'%s' has %zu lines but '%s' has %zu", candidates_path,
                         c->candidates.count, references_path, c->reference_lines.count);
    if ((rc = cli_lines_check_no_nul(CMD, &c->candidates)) != CLI_OK ||
        (rc = cli_lines_check_no_nul(CMD, &c->reference_lines)) != CLI_OK)
        return rc;
    return split_references(c);
}

static void print_scores(const int *selected, const double *scores, size_t stride)
{
    const char *separator = "{";
    for (size_t m = 0; m < METRIC_COUNT; m++) {
        if (!selected[m])
            continue;
        printf("%s\"%s\": %.17g", separator, METRICS[m].name, scores[m * stride]);
        separator = ", ";
    }
    putchar('}');
}

static int score(const corpus *c, const int *selected, const bmc_caption_options *options,
                 int per_candidate)
{
    size_t n = c->candidates.count;
    double totals[METRIC_COUNT] = {0};
    double *per = per_candidate ? malloc(METRIC_COUNT * n * sizeof *per) : NULL;
    if (per_candidate && !per)
        return cli_error(CMD, "out of memory");
    for (size_t m = 0; m < METRIC_COUNT; m++) {
        if (selected[m] &&
            bmc_caption_score(METRICS[m].metric, (const char *const *)c->candidates.text, n,
                              c->references, c->reference_counts, options, &totals[m],
                              per ? per + m * n : NULL) != BMC_OK) {
            free(per);
            return cli_error(CMD, "%s: %s", METRICS[m].name, bmc_last_error());
        }
    }
    fputs("{\"corpus\": ", stdout);
    print_scores(selected, totals, 1);
    if (per) {
        fputs(", \"candidates\": [", stdout);
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputs(", ", stdout);
            print_scores(selected, per + i, n);
        }
        putchar(']');
    }
    fputs("}\n", stdout);
    free(per);
    return CLI_OK;
}

int cli_eval_captions(int argc, char **argv)
{
    const char *metrics = NULL, *smoothing = NULL;
    int per_candidate = 0;
    const cli_option options[] = {
        {"--metrics", &metrics, NULL, 0},
        {"--smoothing", &smoothing, NULL, 0},
        {"--per-candidate", NULL, &per_candidate, 0},
    };
    cli_args args;
    int rc = cli_parse(CMD, argc, argv, options, sizeof options / sizeof options[0], &args);
    if (rc != CLI_OK)
        return rc;
    int selected[METRIC_COUNT] = {0};
    bmc_caption_options copts;
    bmc_caption_options_init(&copts);
    corpus c = {0};
    if (args.help)
        usage();
    else if (args.input_count != 2)
        rc = cli_usage_error(CMD, "give the CANDIDATES and REFERENCES files");
    else if ((rc = parse_metrics(metrics, selected)) == CLI_OK &&
             (rc = cli_parse_int(CMD, "--smoothing", smoothing, 0, 4, &copts.bleu_smoothing)) == CLI_OK &&
             (rc = read_corpus(args.inputs[0].path, args.inputs[1].path, &c)) == CLI_OK)
        rc = score(&c, selected, &copts, per_candidate);
    corpus_free(&c);
    cli_args_free(&args);
    return rc;
}
