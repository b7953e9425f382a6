/* SPDX-License-Identifier: MIT */
/* Caption metrics: ROUGE-L and CIDEr-D on examples worked by hand from their published
 * definitions (the arithmetic is in the comments), BLEU and METEOR on nltk's own docstring
 * example (values from nltk 3.8), the Porter stemmer against nltk's on a word list
 * (tools/fixtures/make_metrics_fixtures.py), the tokenisation rules, and bad arguments. The corpus-wide
 * parity with nltk is tests/check_metrics_parity.sh. */
#include <math.h>

#include "biomedclip.h"
#include "harness.h"
#include "captions/caption.h"

static double score(int32_t metric, const char *const *candidates, size_t count,
                    const char *const *references, const size_t *reference_counts,
                    const bmc_caption_options *options, double *per_candidate)
{
    double corpus = NAN;
    CHECK_STATUS(bmc_caption_score(metric, candidates, count, references, reference_counts,
                                   options, &corpus, per_candidate), BMC_OK);
    return corpus;
}

#define CLOSE(a, b) (fabs((a) - (b)) <= 1e-12 * (fabs(b) > 1 ? fabs(b) : 1))

/* ---- ROUGE-L: Lin (2004) LCS F-measure as coco-caption combines it -------------------- */

static void test_rouge_l_worked_example(void)
{
    /* Candidate 1, "small left pleural effusion" (4 tokens), against
     *   r1 "small left lung apex nodule seen"  LCS "small left" = 2:          P 2/4, R 2/6
     *   r2 "pleural effusion"                  LCS "pleural effusion" = 2:    P 2/4, R 2/2
     *   r3 "small apex left lung pleural"      LCS "small left pleural" = 3:  P 3/4, R 3/5
     * coco-caption takes the best P (3/4, from r3) and the best R (1, from r2) separately:
     *   F = (1 + 1.2^2) P R / (R + 1.2^2 P) = 2.44 * 0.75 / (1 + 1.08) = 1.83 / 2.08 = 183/208.
     * Candidate 2, "No acute findings." (3 tokens), against "no findings": LCS 2, P 2/3, R 1:
     *   F = 2.44 * (2/3) / (1 + 1.44 * 2/3) = (4.88/3) / 1.96 = 122/147.
     * Candidate 3, "." has no tokens: 0. Corpus: the mean of the three. */
    const char *candidates[] = {"small left pleural effusion", "No acute findings.", "."};
    const char *references[] = {"small left lung apex nodule seen", "pleural effusion",
                                "small apex left lung pleural", "no findings", "normal study"};
    const size_t counts[] = {3, 1, 1};
    double per[3];
    double corpus = score(BMC_CAPTION_ROUGE_L, candidates, 3, references, counts, NULL, per);
    CHECK(CLOSE(per[0], 183.0 / 208.0), "candidate 1: %.17g", per[0]);
    CHECK(CLOSE(per[1], 122.0 / 147.0), "candidate 2: %.17g", per[1]);
    CHECK(per[2] == 0.0, "empty candidate: %g", per[2]);
    CHECK(CLOSE(corpus, (183.0 / 208.0 + 122.0 / 147.0 + 0.0) / 3.0), "corpus %.17g", corpus);

    /* beta = 1 is the plain harmonic mean: 2 * 0.75 * 1 / (0.75 + 1) = 6/7. */
    bmc_caption_options options;
    bmc_caption_options_init(&options);
    options.rouge_beta = 1.0;
    score(BMC_CAPTION_ROUGE_L, candidates, 1, references, counts, &options, per);
    CHECK(CLOSE(per[0], 6.0 / 7.0), "beta 1: %.17g", per[0]);
}

/* ---- CIDEr-D: Vedantam et al. (2015) as coco-caption computes it ------------------------- */

static void test_cider_d_worked_example(void)
{
    /* Three images (N = 3), words a..e standing for clinical terms:
     *   1: candidate "a a b", references "a b" and "b c"
     *   2: candidate "b",     reference  "b"
     *   3: candidate "d",     reference  "e"
     * Document frequencies over the references of each image: b appears for images 1 and 2
     * (df 2); a, c, e, "a b", "b c" for one image (df 1); candidate-only n-grams ("a a",
     * "a a b", d) have df 0, counted as 1. So with L = ln 3 and M = ln 3 - ln 2:
     *   weight(df <= 1) = tf * L,  weight(b) = tf * M.
     * Candidate 1: unigrams a 2L, b M (norm sqrt(4L^2 + M^2)); bigrams "a a" L, "a b" L
     * (norm sqrt(2) L); trigram "a a b" L; length = 2 bigrams.
     *   vs "a b" (a L, b M, norm sqrt(L^2 + M^2); "a b" L; length 1, delta 1):
     *     n=1: (min(2L, L) L + M M) / (sqrt(4L^2+M^2) sqrt(L^2+M^2))
     *        = sqrt(L^2 + M^2) / sqrt(4L^2 + M^2)                      (clipping: 2L -> L)
     *     n=2: L L / (sqrt(2) L * L) = 1/sqrt(2);  n=3, 4: 0 (the reference has none)
     *   vs "b c" (b M, c L; "b c" L; delta 1):
     *     n=1: M M / (sqrt(4L^2+M^2) sqrt(M^2+L^2));  n=2..4: 0
     *   each times the length penalty e^(-1^2 / (2 * 6^2)) = e^(-1/72);
     *   score = 10 * (sum over n of the summed sims) / 4 / 2 references       ~ 1.595260
     * Candidate 2: "b" vs "b": n=1 M M / (M M) = 1, delta 0: 10 * 1 / 4 = 2.5.
     * Candidate 3: "d" vs "e": nothing shared: 0.
     * Corpus: (1.595260 + 2.5 + 0) / 3. */
    const char *candidates[] = {"pleural pleural effusion", "effusion", "cardiomegaly"};
    const char *references[] = {"pleural effusion", "effusion unchanged", "effusion", "atelectasis"};
    const size_t counts[] = {2, 1, 1};
    double L = log(3.0), M = log(3.0) - log(2.0), penalty = exp(-1.0 / 72.0);
    double n1 = penalty * (sqrt(L * L + M * M) / sqrt(4 * L * L + M * M) +
                           M * M / (sqrt(4 * L * L + M * M) * sqrt(M * M + L * L)));
    double n2 = penalty / sqrt(2.0);
    double expected1 = 10.0 * ((n1 + n2) / 4.0) / 2.0;
    double per[3];
    double corpus = score(BMC_CAPTION_CIDER_D, candidates, 3, references, counts, NULL, per);
    CHECK(CLOSE(per[0], expected1) && fabs(expected1 - 1.595260) < 1e-6, "candidate 1: %.17g vs %.17g",
          per[0], expected1);
    CHECK(CLOSE(per[1], 2.5), "candidate 2: %.17g", per[1]);
    CHECK(per[2] == 0.0, "candidate 3: %.17g", per[2]);
    CHECK(CLOSE(corpus, (expected1 + 2.5 + 0.0) / 3.0), "corpus %.17g", corpus);

    /* Two images with one reference each: "a b" / "a b" and "c" / "c d". Every reference
     * n-gram has df 1, so every weight is ln 2 =: L and cancels in the cosines.
     *   image 1: n=1: 2L^2 / (sqrt(2)L)^2 = 1, n=2: 1, n=3,4: 0, delta 0: 10 * 2/4 = 5.
     *   image 2: "c" (length 0) vs "c d" (length 1): n=1: L^2 / (L * sqrt(2) L) = 1/sqrt(2),
     *            delta -1: 10 * e^(-1/72) / sqrt(2) / 4 = 2.5 e^(-1/72) / sqrt(2).
     * A larger sigma weakens the length penalty: sigma 1e6 leaves ~2.5 / sqrt(2). */
    const char *c2[] = {"pleural effusion", "normal"};
    const char *r2[] = {"pleural effusion", "normal heart"};
    const size_t n2counts[] = {1, 1};
    score(BMC_CAPTION_CIDER_D, c2, 2, r2, n2counts, NULL, per);
    CHECK(CLOSE(per[0], 5.0), "identical caption: %.17g", per[0]);
    CHECK(CLOSE(per[1], 2.5 * exp(-1.0 / 72.0) / sqrt(2.0)), "shorter caption: %.17g", per[1]);
    bmc_caption_options options;
    bmc_caption_options_init(&options);
    options.cider_sigma = 1e6;
    score(BMC_CAPTION_CIDER_D, c2, 2, r2, n2counts, &options, per);
    CHECK(fabs(per[1] - 2.5 / sqrt(2.0)) < 1e-9, "sigma 1e6: %.17g", per[1]);
}

/* ---- BLEU and METEOR on nltk's docstring example ---------------------------------------- */

static void test_nltk_docstring_example(void)
{
    /* corpus_bleu's docstring corpus (nltk/translate/bleu_score.py); the values below are
     * what nltk 3.8 returns for it under this library's tokenisation (lowercase, no
     * punctuation): 0.5920778868801042 is also the docstring's "0.5920...". */
    const char *candidates[] = {
        "It is a guide to action which ensures that the military always obeys the commands of the party",
        "he read the book because he was interested in world history"};
    const char *references[] = {
        "It is a guide to action that ensures that the military will forever heed Party commands",
        "It is the guiding principle which guarantees the military forces always being under the command of the Party",
        "It is the practical guide for the army always to heed the directions of the party",
        "he was interested in world history because he read the book"};
    const size_t counts[] = {3, 1};
    const double bleu[4] = {0.9655172413793104, 0.8242803277698696, 0.7069430098960677,
                            0.5920778868801042};
    for (int n = 1; n <= 4; n++) {
        double value = score(BMC_CAPTION_BLEU_1 + n - 1, candidates, 2, references, counts, NULL, NULL);
        CHECK(CLOSE(value, bleu[n - 1]), "BLEU-%d %.17g, nltk %.17g", n, value, bleu[n - 1]);
    }
    /* meteor_score (docstring: 0.6944 for the first; WordNet adds nothing there) */
    double per[2];
    score(BMC_CAPTION_METEOR, candidates, 2, references, counts, NULL, per);
    CHECK(CLOSE(per[0], 0.6944444444444445), "METEOR 1: %.17g", per[0]);
    CHECK(CLOSE(per[1], 0.9759579263711495), "METEOR 2: %.17g", per[1]);
    /* sentence_bleu without smoothing when no bigram matches: nltk keeps going with
     * sys.float_info.min for the zero precisions, so the score is tiny, not 0. */
    const char *short_candidate[] = {"the the the"};
    const char *short_reference[] = {"the cat is on the mat"};
    const size_t one[] = {1};
    double tiny = score(BMC_CAPTION_BLEU_4, short_candidate, 1, short_reference, one, NULL, NULL);
    CHECK(tiny > 0 && CLOSE(tiny, 6.056071959384271e-232), "tiny BLEU %.17g", tiny);
}

/* ---- Porter stemmer against nltk ------------------------------------------------------- */

static size_t read_lines(const char *name, char ***lines)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics/%s", harness_fixtures(), name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t count = 0, capacity = 1024;
    *lines = malloc(capacity * sizeof **lines);
    char buffer[1024];
    while (fgets(buffer, sizeof buffer, f)) {
        buffer[strcspn(buffer, "\n")] = '\0';
        if (count == capacity)
            *lines = realloc(*lines, (capacity *= 2) * sizeof **lines);
        (*lines)[count++] = strdup(buffer);
    }
    fclose(f);
    return count;
}

static void test_porter_matches_nltk(void)
{
    char **words = NULL, **stems = NULL;
    size_t n = read_lines("porter_words.txt", &words);
    size_t m = read_lines("porter_stems.txt", &stems);
    CHECK(n > 20000 && n == m, "porter fixtures: %zu words, %zu stems", n, m);
    size_t wrong = 0;
    for (size_t i = 0; i < n && i < m; i++) {
        uint32_t code_points[1024];
        size_t length = strlen(words[i]); /* the word list is ASCII */
        for (size_t k = 0; k < length; k++)
            code_points[k] = (unsigned char)words[i][k];
        length = bmci_porter_stem(code_points, length);
        char stem[1024];
        for (size_t k = 0; k < length; k++)
            stem[k] = (char)code_points[k];
        stem[length] = '\0';
        if (strcmp(stem, stems[i]) != 0 && wrong++ < 10)
            fprintf(stderr, "  %s: nltk %s, ours %s\n", words[i], stems[i], stem);
    }
    CHECK(wrong == 0, "%zu of %zu stems differ from nltk", wrong, n);
    printf("  porter: %zu words, %zu differ from nltk\n", n, wrong);
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    for (size_t i = 0; i < m; i++)
        free(stems[i]);
    free(words);
    free(stems);
    /* a long run of y's stems in linear time (nltk itself would hit its recursion limit) */
    static uint32_t ys[200000];
    for (size_t i = 0; i < 200000; i++)
        ys[i] = 'y';
    CHECK(bmci_porter_stem(ys, 200000) <= 200000, "long word");
}

/* ---- tokenisation ------------------------------------------------------------------------ */

static void test_tokenisation(void)
{
    const char *candidates[] = {"Left-sided EFFUSION. (Épanchement)", "a\tb\r\nc_d", "!!!"};
    const char *references[] = {"ref", "ref", "ref"};
    const size_t counts[] = {1, 1, 1};
    bmci_caption_corpus corpus;
    CHECK_STATUS(bmci_caption_corpus_build(&corpus, candidates, 3, references, counts), BMC_OK);
    const char *expected[] = {"left", "sided", "effusion", "épanchement"};
    CHECK(corpus.candidates[0].length == 4, "%zu tokens", corpus.candidates[0].length);
    for (size_t i = 0; i < 4 && i < corpus.candidates[0].length; i++) {
        size_t length;
        const char *word = bmci_intern_key(&corpus.words, corpus.candidates[0].tokens[i], &length);
        CHECK(length == strlen(expected[i]) && memcmp(word, expected[i], length) == 0,
              "token %zu: %.*s", i, (int)length, word);
    }
    CHECK(corpus.candidates[1].length == 4, "whitespace and _ separate: %zu", corpus.candidates[1].length);
    CHECK(corpus.candidates[2].length == 0, "punctuation only: %zu", corpus.candidates[2].length);
    CHECK(corpus.references[2].length == 1 && corpus.references[2].tokens[0] == corpus.references[0].tokens[0],
          "equal words share an id");
    bmci_caption_corpus_free(&corpus);

    const char *bad[] = {"fine", "bro\xC3ken"};
    double value = 7.0;
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_BLEU_1, bad, 1, bad + 1, counts, NULL, &value, NULL),
                 BMC_ERR_INVALID_UTF8);
    CHECK(strstr(bmc_last_error(), "reference 0") != NULL, "message: %s", bmc_last_error());
    CHECK(value == 7.0, "corpus score untouched on failure");
}

/* ---- bad arguments ---------------------------------------------------------------------- */

static void test_bad_arguments(void)
{
    const char *c[] = {"a b", NULL};
    const char *r[] = {"a b", "c"};
    const size_t counts[] = {1, 1}, no_refs[] = {0};
    double value = 3.0, per[2] = {4.0, 4.0};
    CHECK_STATUS(bmc_caption_score(0, c, 1, r, counts, NULL, &value, per), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_caption_score(8, c, 1, r, counts, NULL, &value, per), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_BLEU_4, NULL, 1, r, counts, NULL, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_BLEU_4, c, 1, NULL, counts, NULL, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_BLEU_4, c, 1, r, NULL, NULL, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_BLEU_4, c, 0, r, counts, NULL, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_BLEU_4, c, 1, r, no_refs, NULL, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_BLEU_4, c, 2, r, counts, NULL, &value, per),
                 BMC_ERR_INVALID_ARGUMENT); /* candidate 1 is NULL */
    const char *null_ref[] = {NULL};
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_METEOR, c, 1, null_ref, counts, NULL, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    bmc_caption_options options;
    bmc_caption_options_init(&options);
    CHECK(options.struct_size == sizeof options && options.rouge_beta == 1.2 &&
              options.cider_sigma == 6.0 && options.meteor_alpha == 0.9 && options.bleu_smoothing == 0,
          "defaults");
    options.bleu_smoothing = 5;
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_BLEU_4, c, 1, r, counts, &options, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    bmc_caption_options_init(&options);
    options.cider_sigma = 0.0;
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_CIDER_D, c, 1, r, counts, &options, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    bmc_caption_options_init(&options);
    options.meteor_gamma = NAN;
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_METEOR, c, 1, r, counts, &options, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    bmc_caption_options_init(&options);
    options.struct_size = 8;
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_METEOR, c, 1, r, counts, &options, &value, per),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK(value == 3.0 && per[0] == 4.0, "outputs untouched on failure");
    /* both outputs are optional */
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_CIDER_D, c, 1, r, counts, NULL, NULL, NULL), BMC_OK);
    CHECK_STATUS(bmc_caption_score(BMC_CAPTION_ROUGE_L, c, 1, r, counts, NULL, NULL, per), BMC_OK);
    CHECK(per[0] == 1.0, "identical caption ROUGE-L %g", per[0]);
    bmc_caption_options_init(NULL);
}

int main(void)
{
    RUN(test_rouge_l_worked_example);
    RUN(test_cider_d_worked_example);
    RUN(test_nltk_docstring_example);
    RUN(test_tokenisation);
    RUN(test_bad_arguments);
    RUN(test_porter_matches_nltk);
    return harness_summary("test_metrics");
}
