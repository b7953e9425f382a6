/* SPDX-License-Identifier: MIT */
/* The Porter stemmer as nltk's PorterStemmer computes it in its default NLTK_EXTENSIONS mode
 * (nltk 3.8, nltk/stem/porter.py): Porter's 1980 rules with Martin Porter's later changes
 * and nltk's own (irregular forms, 'ies'/'ied' on 4-letter words, 'y' -> 'i' only after a
 * consonant of a stem longer than one letter, the 'alli' and 'logi' rules, 'fulli', the
 * two-letter *o case, and words of at most two letters left alone).
 *
 * Words are arrays of Unicode code points, already lowercase. Only ASCII letters take part in
 * the rules (a, e, i, o, u are vowels, y depends on its left neighbour), as in nltk, where
 * any other character counts as a consonant. Every rule shortens the word or keeps its
 * length, so stemming works in place. */
#include "captions/caption.h"

#include <string.h>

typedef struct word {
    uint32_t *c;
    size_t n;
} word;

/* nltk's _is_consonant for c[i], given whether c[i - 1] is one: not a vowel, and 'y' only
 * after a vowel (or first). nltk recurses to the left; scanning left to right computes the
 * same thing in linear time, so no word can make stemming slow. */
static int next_is_consonant(uint32_t x, size_t i, int previous_is_consonant)
{
    if (x == 'a' || x == 'e' || x == 'i' || x == 'o' || x == 'u')
        return 0;
    if (x == 'y')
        return i == 0 ? 1 : !previous_is_consonant;
    return 1;
}

static int is_consonant(const uint32_t *c, size_t i)
{
    int consonant = 1;
    for (size_t j = 0; j <= i; j++)
        consonant = next_is_consonant(c[j], j, consonant);
    return consonant;
}

/* m, the number of vowel-consonant transitions in c[0 .. length). */
static size_t measure(const uint32_t *c, size_t length)
{
    size_t m = 0;
    int consonant = 1;
    for (size_t i = 0; i < length; i++) {
        int next = next_is_consonant(c[i], i, consonant);
        if (i > 0 && !consonant && next)
            m++;
        consonant = next;
    }
    return m;
}

static int contains_vowel(const uint32_t *c, size_t length)
{
    int consonant = 1;
    for (size_t i = 0; i < length; i++) {
        consonant = next_is_consonant(c[i], i, consonant);
        if (!consonant)
            return 1;
    }
    return 0;
}

/* *d: ends with a double consonant. */
static int ends_double_consonant(const uint32_t *c, size_t length)
{
    return length >= 2 && c[length - 1] == c[length - 2] && is_consonant(c, length - 1);
}

/* *o: ends consonant-vowel-consonant, the last not w, x or y; nltk also accepts a two-letter
 * vowel-consonant stem (without the w/x/y exception). */
static int ends_cvc(const uint32_t *c, size_t length)
{
    if (length >= 3 && is_consonant(c, length - 3) && !is_consonant(c, length - 2) &&
        is_consonant(c, length - 1) && c[length - 1] != 'w' && c[length - 1] != 'x' &&
        c[length - 1] != 'y')
        return 1;
    return length == 2 && !is_consonant(c, 0) && is_consonant(c, 1);
}

static int ends_with(const word *w, const char *suffix)
{
    size_t k = strlen(suffix);
    if (k > w->n)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (w->c[w->n - k + i] != (unsigned char)suffix[i])
            return 0;
    return 1;
}

/* Cut the word to `stem` characters and append `replacement`. */
static void replace_tail(word *w, size_t stem, const char *replacement)
{
    size_t k = strlen(replacement);
    for (size_t i = 0; i < k; i++)
        w->c[stem + i] = (unsigned char)replacement[i];
    w->n = stem + k;
}

typedef enum condition {
    ALWAYS,
    M_ABOVE_0,          /* m(stem) > 0 */
    M_ABOVE_1,          /* m(stem) > 1 */
    CONSONANT_BEFORE_Y, /* step 1c: the stem is longer than one letter and ends in a consonant */
    LOGI,               /* step 2: m(stem + "l") > 0 */
    S_OR_T_BEFORE_ION,  /* step 4: m(stem) > 1 and the stem ends in s or t */
} condition;

typedef struct rule {
    const char *suffix, *replacement;
    condition when;
} rule;

static int holds(condition when, const word *w, size_t stem)
{
    switch (when) {
    case ALWAYS: return 1;
    case M_ABOVE_0: return measure(w->c, stem) > 0;
    case M_ABOVE_1: return measure(w->c, stem) > 1;
    case CONSONANT_BEFORE_Y: return stem > 1 && is_consonant(w->c, stem - 1);
    case LOGI: return measure(w->c, stem + 1) > 0;
    case S_OR_T_BEFORE_ION:
        return measure(w->c, stem) > 1 && (w->c[stem - 1] == 's' || w->c[stem - 1] == 't');
    }
    return 0;
}

/* nltk's _apply_rule_list: the first rule whose suffix matches decides; if its condition
 * fails, the word stays as it is (later rules are not tried). */
static void apply_rules(word *w, const rule *rules, size_t count)
{
    for (size_t r = 0; r < count; r++) {
        if (!ends_with(w, rules[r].suffix))
            continue;
        size_t stem = w->n - strlen(rules[r].suffix);
        if (holds(rules[r].when, w, stem))
            replace_tail(w, stem, rules[r].replacement);
        return;
    }
}

#define COUNT(a) (sizeof(a) / sizeof *(a))

static void step1a(word *w)
{
    static const rule rules[] = {
        {"sses", "ss", ALWAYS}, {"ies", "i", ALWAYS}, {"ss", "ss", ALWAYS}, {"s", "", ALWAYS}};
    if (ends_with(w, "ies") && w->n == 4) { /* nltk: 'dies' -> 'die', but 'flies' -> 'fli' */
        replace_tail(w, 1, "ie");
        return;
    }
    apply_rules(w, rules, COUNT(rules));
}

static void step1b(word *w)
{
    if (ends_with(w, "ied")) { /* nltk: 'died' -> 'die', 'spied' -> 'spi' */
        replace_tail(w, w->n - 3, w->n == 4 ? "ie" : "i");
        return;
    }
    if (ends_with(w, "eed")) {
        if (measure(w->c, w->n - 3) > 0)
            w->n -= 1; /* eed -> ee */
        return;
    }
    if (ends_with(w, "ed") && contains_vowel(w->c, w->n - 2))
        w->n -= 2;
    else if (ends_with(w, "ing") && contains_vowel(w->c, w->n - 3))
        w->n -= 3;
    else
        return;
    /* After -ed or -ing: restore an e, undouble a final consonant, or add an e to a short
     * cvc stem, in that order of precedence. */
    if (ends_with(w, "at") || ends_with(w, "bl") || ends_with(w, "iz")) {
        replace_tail(w, w->n, "e");
    } else if (ends_double_consonant(w->c, w->n)) {
        uint32_t last = w->c[w->n - 1];
        if (last != 'l' && last != 's' && last != 'z')
            w->n -= 1;
    } else if (measure(w->c, w->n) == 1 && ends_cvc(w->c, w->n)) {
        replace_tail(w, w->n, "e");
    }
}

static void step1c(word *w)
{
    static const rule rules[] = {{"y", "i", CONSONANT_BEFORE_Y}};
    apply_rules(w, rules, COUNT(rules));
}

static void step2(word *w)
{
    static const rule rules[] = {
        {"ational", "ate", M_ABOVE_0}, {"tional", "tion", M_ABOVE_0}, {"enci", "ence", M_ABOVE_0},
        {"anci", "ance", M_ABOVE_0},   {"izer", "ize", M_ABOVE_0},    {"bli", "ble", M_ABOVE_0},
        {"alli", "al", M_ABOVE_0},     {"entli", "ent", M_ABOVE_0},   {"eli", "e", M_ABOVE_0},
        {"ousli", "ous", M_ABOVE_0},   {"ization", "ize", M_ABOVE_0}, {"ation", "ate", M_ABOVE_0},
        {"ator", "ate", M_ABOVE_0},    {"alism", "al", M_ABOVE_0},    {"iveness", "ive", M_ABOVE_0},
        {"fulness", "ful", M_ABOVE_0}, {"ousness", "ous", M_ABOVE_0}, {"aliti", "al", M_ABOVE_0},
        {"iviti", "ive", M_ABOVE_0},   {"biliti", "ble", M_ABOVE_0},  {"fulli", "ful", M_ABOVE_0},
        {"logi", "log", LOGI}};
    /* nltk applies alli -> al first and, when it fires, runs step 2 again on the result. */
    while (ends_with(w, "alli") && measure(w->c, w->n - 4) > 0)
        replace_tail(w, w->n - 4, "al");
    apply_rules(w, rules, COUNT(rules));
}

static void step3(word *w)
{
    static const rule rules[] = {
        {"icate", "ic", M_ABOVE_0}, {"ative", "", M_ABOVE_0}, {"alize", "al", M_ABOVE_0},
        {"iciti", "ic", M_ABOVE_0}, {"ical", "ic", M_ABOVE_0}, {"ful", "", M_ABOVE_0},
        {"ness", "", M_ABOVE_0}};
    apply_rules(w, rules, COUNT(rules));
}

static void step4(word *w)
{
    static const rule rules[] = {
        {"al", "", M_ABOVE_1},   {"ance", "", M_ABOVE_1}, {"ence", "", M_ABOVE_1},
        {"er", "", M_ABOVE_1},   {"ic", "", M_ABOVE_1},   {"able", "", M_ABOVE_1},
        {"ible", "", M_ABOVE_1}, {"ant", "", M_ABOVE_1},  {"ement", "", M_ABOVE_1},
        {"ment", "", M_ABOVE_1}, {"ent", "", M_ABOVE_1},  {"ion", "", S_OR_T_BEFORE_ION},
        {"ou", "", M_ABOVE_1},   {"ism", "", M_ABOVE_1},  {"ate", "", M_ABOVE_1},
        {"iti", "", M_ABOVE_1},  {"ous", "", M_ABOVE_1},  {"ive", "", M_ABOVE_1},
        {"ize", "", M_ABOVE_1}};
    apply_rules(w, rules, COUNT(rules));
}

static void step5(word *w)
{
    /* 5a: both rules are tried (unlike the rule lists above) */
    if (ends_with(w, "e")) {
        size_t m = measure(w->c, w->n - 1);
        if (m > 1 || (m == 1 && !ends_cvc(w->c, w->n - 1)))
            w->n -= 1;
    }
    /* 5b: -ll -> -l when m(word without its last letter) > 1 */
    if (ends_with(w, "ll") && measure(w->c, w->n - 1) > 1)
        w->n -= 1;
}

/* nltk's table of irregular forms: word -> stem. */
static const char *const irregular[][2] = {
    {"sky", "sky"},         {"skies", "sky"},       {"dying", "die"},     {"lying", "lie"},
    {"tying", "tie"},       {"news", "news"},       {"innings", "inning"}, {"inning", "inning"},
    {"outings", "outing"},  {"outing", "outing"},   {"cannings", "canning"},
    {"canning", "canning"}, {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"},
    {"succeed", "succeed"}};

size_t bmci_porter_stem(uint32_t *c, size_t length)
{
    word w = {c, length};
    for (size_t i = 0; i < COUNT(irregular); i++) {
        if (strlen(irregular[i][0]) == length && ends_with(&w, irregular[i][0])) {
            replace_tail(&w, 0, irregular[i][1]);
            return w.n;
        }
    }
    if (length <= 2)
        return length;
    step1a(&w);
    step1b(&w);
    step1c(&w);
    step2(&w);
    step3(&w);
    step4(&w);
    step5(&w);
    return w.n;
}
