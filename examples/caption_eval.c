/* SPDX-License-Identifier: MIT */
/* caption_eval: score candidate captions against reference captions.
 *
 *   caption_eval [--smoothing N] [--per-caption] [--exact] CANDIDATES REFERENCES
 *
 * CANDIDATES holds one caption a line. Line i of REFERENCES holds the references of candidate
 * i, separated by TAB characters (at least one; empty fields are skipped). Both files are
 * UTF-8; a trailing "\r" on a line is ignored. Prints the corpus BLEU-1..4, ROUGE-L, METEOR
 * and CIDEr-D (docs/caption-metrics.md defines them); --per-caption adds a table with every
 * candidate's own scores, --exact prints 17 significant digits, --smoothing N uses nltk's
 * BLEU smoothing method N (1..4). */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biomedclip.h"

static int usage(const char *program)
{
    fprintf(stderr,
            "usage: %s [--smoothing N] [--per-caption] [--exact] CANDIDATES REFERENCES\n"
            "  CANDIDATES: one caption a line. REFERENCES: line i holds candidate i's\n"
            "  references, separated by TABs.\n",
            program);
    return 2;
}

/* A growing array of strings. */
typedef struct list {
    char **items;
    size_t count, capacity;
} list;

static void push(list *l, char *item)
{
    if (l->count == l->capacity) {
        l->capacity = l->capacity ? l->capacity * 2 : 64;
        l->items = realloc(l->items, l->capacity * sizeof *l->items);
        if (!l->items) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    l->items[l->count++] = item;
}

/* Read the lines of `path` (without line endings) into `lines`; 0 on failure. */
static int read_lines(const char *path, list *lines)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 0;
    }
    char *line = NULL;
    size_t size = 0;
    ssize_t length;
    while ((length = getline(&line, &size, f)) >= 0) {
        while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
            line[--length] = '\0';
        push(lines, strdup(line));
    }
    free(line);
    fclose(f);
    return 1;
}

int main(int argc, char **argv)
{
    bmc_caption_options options;
    bmc_caption_options_init(&options);
    int per_caption = 0, exact = 0;
    const char *paths[2] = {NULL, NULL};
    int path_count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoothing") == 0 && i + 1 < argc)
            options.bleu_smoothing = atoi(argv[++i]);
        else if (strcmp(argv[i], "--per-caption") == 0)
            per_caption = 1;
        else if (strcmp(argv[i], "--exact") == 0)
            exact = 1;
        else if (argv[i][0] == '-' || path_count == 2)
            return usage(argv[0]);
        else
            paths[path_count++] = argv[i];
    }
    if (path_count != 2)
        return usage(argv[0]);

    list candidates = {0}, reference_lines = {0}, references = {0};
    if (!read_lines(paths[0], &candidates) || !read_lines(paths[1], &reference_lines))
        return 1;
    if (candidates.count != reference_lines.count) {
        fprintf(stderr, "%s has %zu lines but %s has %zu\n", paths[0], candidates.count, paths[1],
                reference_lines.count);
        return 1;
    }
    /* Split each reference line at TABs into the flat list the library takes. */
    size_t *reference_counts = calloc(candidates.count + 1, sizeof *reference_counts);
    for (size_t i = 0; i < reference_lines.count; i++) {
        for (char *field = strtok(reference_lines.items[i], "\t"); field; field = strtok(NULL, "\t")) {
            push(&references, field);
            reference_counts[i]++;
        }
    }

    static const char *const names[] = {"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4",
                                        "ROUGE-L", "METEOR", "CIDEr-D"};
    double corpus[7];
    double *per = malloc(7 * (candidates.count + 1) * sizeof *per);
    for (int m = 0; m < 7; m++) {
        bmc_status status = bmc_caption_score(BMC_CAPTION_BLEU_1 + m,
                                              (const char *const *)candidates.items, candidates.count,
                                              (const char *const *)references.items,
                                              reference_counts, &options, &corpus[m],
                                              per + (size_t)m * candidates.count);
        if (status != BMC_OK) {
            fprintf(stderr, "%s: %s (%s)\n", names[m], bmc_status_string(status), bmc_last_error());
            return 1;
        }
        printf(exact ? "%-8s %.17g\n" : "%-8s %.6f\n", names[m], corpus[m]);
    }
    if (per_caption) {
        printf("caption");
        for (int m = 0; m < 7; m++)
            printf("\t%s", names[m]);
        printf("\n");
        for (size_t i = 0; i < candidates.count; i++) {
            printf("%zu", i);
            for (int m = 0; m < 7; m++)
                printf(exact ? "\t%.17g" : "\t%.6f", per[(size_t)m * candidates.count + i]);
            printf("\n");
        }
    }
    for (size_t i = 0; i < candidates.count; i++) {
        free(candidates.items[i]);
        free(reference_lines.items[i]);
    }
    free(candidates.items);
    free(reference_lines.items);
    free(references.items);
    free(reference_counts);
    free(per);
    return 0;
}
