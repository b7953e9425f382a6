/* SPDX-License-Identifier: MIT */
/* The tokenizer's helper for tests/check_tokenizer_parity.sh and tools/bench/bench_tokenizer.sh.
 *
 *   tool_tokenizer ids VOCAB CORPUS [CONTEXT [clean]]  ids of each line (no padding)
 *   tool_tokenizer clean CORPUS                     open_clip's cleaning of each line, escaped
 *   tool_tokenizer unescape CORPUS                  html.unescape of each line, escaped
 *   tool_tokenizer probe                            per-code-point normalizer answers
 *   tool_tokenizer bench VOCAB CORPUS               sentences per second, one thread
 *
 * Corpus lines escape backslash, LF and CR as \\, \n and \r (as tests/reference does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "biomedclip.h"
#include "text/generated/bert_unicode.h"
#include "text/text_clean.h"
#include "text/wordpiece.h"

typedef struct corpus {
    char **lines;
    size_t *lengths;
    size_t count;
} corpus;

static void die(const char *what)
{
    fprintf(stderr, "tool_tokenizer: %s: %s\n", what, bmc_last_error());
    exit(1);
}

static corpus read_corpus(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    corpus c = {0};
    size_t cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    while ((got = getline(&line, &line_cap, f)) >= 0) {
        size_t n = (size_t)got;
        if (n && line[n - 1] == '\n') n--;
        char *text = malloc(n + 1);
        size_t out = 0;
        for (size_t i = 0; i < n; i++) {
            char ch = line[i];
            if (ch == '\\' && i + 1 < n) {
                ch = line[++i];
                ch = ch == 'n' ? '\n' : ch == 'r' ? '\r' : ch;
            }
            text[out++] = ch;
        }
        text[out] = '\0';
        if (c.count == cap) {
            cap = cap ? 2 * cap : 1024;
            c.lines = realloc(c.lines, cap * sizeof *c.lines);
            c.lengths = realloc(c.lengths, cap * sizeof *c.lengths);
        }
        c.lines[c.count] = text;
        c.lengths[c.count++] = out;
    }
    free(line);
    fclose(f);
    return c;
}

static void print_escaped(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\') fputs("\\\\", stdout);
        else if (s[i] == '\n') fputs("\\n", stdout);
        else if (s[i] == '\r') fputs("\\r", stdout);
        else putchar(s[i]);
    }
    putchar('\n');
}

static bmc_tokenizer *load(const char *vocab, int context, int clean)
{
    bmc_tokenizer_options o;
    bmc_tokenizer_options_init(&o);
    o.context_length = context;
    o.clean = clean;
    bmc_tokenizer *t;
    if (bmc_tokenizer_create_file(vocab, &o, &t) != BMC_OK) die("create");
    return t;
}

static int cmd_ids(const char *vocab, const char *path, int context, int clean)
{
    bmc_tokenizer *t = load(vocab, context, clean);
    corpus c = read_corpus(path);
    int32_t *ids = malloc((size_t)context * sizeof *ids);
    for (size_t i = 0; i < c.count; i++) {
        size_t n;
        if (bmc_tokenizer_encode(t, c.lines[i], c.lengths[i], ids, (size_t)context, &n, NULL) != BMC_OK)
            die("encode");
        for (size_t j = 0; j < n; j++) printf(j ? " %d" : "%d", (int)ids[j]);
        putchar('\n');
    }
    free(ids);
    bmc_tokenizer_free(t);
    return 0;
}

static int cmd_text(const char *path, int unescape)
{
    corpus c = read_corpus(path);
    for (size_t i = 0; i < c.count; i++) {
        bmci_str out = {0};
        if (unescape) bmci_html_unescape(c.lines[i], c.lengths[i], &out);
        else if (bmci_clean_text(c.lines[i], c.lengths[i], &out) != BMC_OK) die("clean");
        print_escaped(out.data ? out.data : "", out.len);
        bmci_str_free(&out);
    }
    return 0;
}

static void print_cps(const uint32_t *cps, size_t n)
{
    for (size_t i = 0; i < n; i++) printf(i ? " %X" : "%X", (unsigned)cps[i]);
}

/* The columns of `node reference.cjs probe`, computed by the library's own code paths. */
static int cmd_probe(void)
{
    for (uint32_t c = 0; c <= 0x10FFFF; c++) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        uint32_t out[8];
        printf("%X\t", (unsigned)c);
        size_t n = bmci_wordpiece_normalize_char(c, 0, out);
        int cjk = n == 3 && out[0] == ' ' && out[2] == ' ' && c != ' ';
        if (n == 0) putchar('D');
        else if (n == 1 && out[0] == ' ') putchar('S');
        else putchar('K');
        printf("\t%d\t", cjk);
        /* strip_accents alone: NFD without the marks */
        utf8proc_int32_t parts[16];
        int bound = 0;
        utf8proc_ssize_t k = 1;
        parts[0] = (utf8proc_int32_t)c;
        if (!bmci_bert_keeps_composed(c))
            k = utf8proc_decompose_char((utf8proc_int32_t)c, parts, 16, UTF8PROC_DECOMPOSE, &bound);
        int first = 1;
        for (utf8proc_ssize_t i = 0; i < k; i++) {
            if (parts[i] >= 0x80 && bmci_bert_is_mark((uint32_t)parts[i])) continue;
            printf(first ? "%X" : " %X", (unsigned)parts[i]);
            first = 0;
        }
        putchar('\t');
        if (c == 0x130) printf("69 307");
        else printf("%X", (unsigned)(c < 0x80 && c >= 'A' && c <= 'Z' ? c + 32 : c < 0x80 ? c : bmci_bert_lowercase(c)));
        int pieces = bmci_bert_is_punctuation(c) ? 3 : bmci_bert_is_whitespace(c) ? 2 : 1;
        printf("\t%d\t", pieces);
        n = bmci_wordpiece_normalize_char(c, 1, out);
        print_cps(out, n);
        putchar('\t');
        n = bmci_wordpiece_normalize_char(c, 0, out);
        print_cps(out, n);
        putchar('\n');
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmd_bench(const char *vocab, const char *path)
{
    bmc_tokenizer *t = load(vocab, 256, 1);
    corpus c = read_corpus(path);
    int32_t ids[256];
    size_t n, done = 0;
    for (size_t i = 0; i < c.count && i < 2000; i++) /* warm-up */
        bmc_tokenizer_encode(t, c.lines[i], c.lengths[i], ids, 256, &n, NULL);
    double start = now(), elapsed;
    do {
        for (size_t i = 0; i < c.count; i++)
            if (bmc_tokenizer_encode(t, c.lines[i], c.lengths[i], ids, 256, &n, NULL) != BMC_OK) die("encode");
        done += c.count;
        elapsed = now() - start;
    } while (elapsed < 3.0);
    printf("libbiomedclip %.0f sentences/s\n", (double)done / elapsed);
    bmc_tokenizer_free(t);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "ids") && argc >= 4)
        return cmd_ids(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 1048576, argc > 5 && !strcmp(argv[5], "clean"));
    if (!strcmp(cmd, "clean") && argc == 3) return cmd_text(argv[2], 0);
    if (!strcmp(cmd, "unescape") && argc == 3) return cmd_text(argv[2], 1);
    if (!strcmp(cmd, "probe")) return cmd_probe();
    if (!strcmp(cmd, "bench") && argc == 4) return cmd_bench(argv[2], argv[3]);
    fprintf(stderr, "usage: tool_tokenizer ids|clean|unescape|probe|bench ...\n");
    return 2;
}
