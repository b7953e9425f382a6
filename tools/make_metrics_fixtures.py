#!/usr/bin/env python3
"""Reference values for the caption metrics, computed with nltk 3.8 (Debian python3-nltk).

    /usr/bin/python3 tools/make_metrics_fixtures.py OUTDIR

Writes:
  candidates.txt   one candidate caption a line (a generated corpus of report-like text)
  references.txt   line i: the references of candidate i, separated by TABs
  expected.tsv     NAME, corpus score, then the per-candidate scores, TAB-separated (repr):
                   BLEU-n/smoothing-s from nltk's corpus_bleu and sentence_bleu
                   (s = 0: no smoothing; 1-4: SmoothingFunction().method1-4), METEOR from
                   nltk's meteor_score with a WordNet that has no synsets (the library has no
                   synonym stage), corpus = mean
  porter_words.txt, porter_stems.txt
                   words (the alphabetic entries of tests/data/bert-base-uncased-vocab.txt
                   and inflected forms of them) and nltk's PorterStemmer().stem() of each

Both sides tokenise with the library's documented rule: lowercase, then split on ASCII
whitespace and ASCII punctuation, dropping them.
"""
import os
import random
import re
import sys
import warnings

from nltk.stem.porter import PorterStemmer
from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu, sentence_bleu
from nltk.translate.meteor_score import meteor_score

SEPARATORS = re.compile(r"[ \t\n\v\f\r!-/:-@\[-`{-~]+")
HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "..", "tests", "data", "bert-base-uncased-vocab.txt")


def tokenize(text):
    return [t for t in SEPARATORS.split(text.lower()) if t]


class NoWordNet:
    """Stands in for nltk.corpus.wordnet in meteor_score: no word has synonyms."""

    @staticmethod
    def synsets(word):
        return []


def vocabulary():
    with open(VOCAB, encoding="utf-8") as f:
        return [w for w in (line.strip() for line in f) if w.isalpha() and w.isascii()]


INFLECTIONS = ["s", "es", "ed", "ing", "ly", "ness", "ment", "ation", "ational", "izer", "ies",
               "ied", "er", "est", "ful", "ive", "ize", "alli", "ousli", "iviti", "biliti",
               "logi", "fulli", "ability", "ement", "ance", "ence", "ion", "ism", "ous", "al"]


def porter_words(words, rng):
    """The vocabulary plus suffixed forms, plus words made to hit the stemmer's corners
    (y runs, short words, the irregular forms)."""
    out = list(words)
    for w in rng.sample(words, 6000):
        out.append(w + rng.choice(INFLECTIONS))
    out += ["sky", "skies", "dying", "lying", "tying", "news", "innings", "inning", "outings",
            "canning", "howe", "proceed", "exceed", "succeed", "dies", "died", "flies", "spied",
            "yyy", "syzygy", "toy", "enjoy", "happy", "yay", "ayyy", "yyyyying", "a", "ab",
            "abs", "is", "as", "ow", "controll", "roll", "generalli", "rationalli", "analogi",
            "geologi", "feed", "agreed", "hopping", "falling", "hissing", "fizzed", "failing",
            "filing", "conflated", "troubled", "sized", "relational", "conditional", "valenci",
            "digitizer", "radicalli", "vietnamization", "operator", "feudalism", "hopefulness",
            "callousness", "formaliti", "sensitiviti", "sensibiliti", "triplicate", "formative",
            "formalize", "electriciti", "electrical", "hopeful", "goodness", "revival",
            "allowance", "inference", "airliner", "gyroscopic", "adjustable", "defensible",
            "irritant", "replacement", "adjustment", "dependent", "adoption", "homologou",
            "communism", "activate", "angulariti", "homologous", "effective", "bowdlerize",
            "probate", "rate", "cease", "wyvern", "yelled", "payed", "buyer", "ied", "eed", "ing"]
    return out


def make_sentence(rng, words, weights, length):
    return [rng.choices(words, weights)[0] for _ in range(length)]


def decorate(rng, tokens):
    """Render tokens as raw text with capitals and punctuation the tokenizer removes."""
    parts = []
    for t in tokens:
        r = rng.random()
        if r < 0.08:
            t = t.capitalize()
        elif r < 0.11:
            t = t.upper()
        parts.append(t)
        r = rng.random()
        if r < 0.06:
            parts.append(rng.choice([",", ";", ":", " -", "/"]))
    text = " ".join(parts)
    text = text.replace(" ,", ",").replace(" ;", ";").replace(" :", ":")
    if rng.random() < 0.6:
        text += rng.choice([".", "!", "?", " ."])
    if rng.random() < 0.1:
        text = "(" + text + ")"
    return text


def perturb(rng, tokens, words, weights):
    """A candidate made from a reference: drop, substitute, inflect, swap, repeat words."""
    out = []
    for t in tokens:
        r = rng.random()
        if r < 0.10:
            continue
        if r < 0.22:
            out.append(make_sentence(rng, words, weights, 1)[0])
        elif r < 0.32:
            out.append(t + rng.choice(["s", "ed", "ing", "ly", "ness", "ation"]))
        else:
            out.append(t)
        if rng.random() < 0.04:
            out.append(out[-1])
    for _ in range(rng.randrange(3)):
        if len(out) > 1:
            i = rng.randrange(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def make_corpus(rng, words):
    common = rng.sample(words, 400)
    weights = [1.0 / (i + 1) for i in range(len(common))]  # Zipf-like: n-grams repeat
    candidates, references = [], []
    for i in range(400):
        refs = [make_sentence(rng, common, weights, rng.randrange(3, 22))
                for _ in range(rng.randrange(1, 6))]
        kind = rng.random()
        if kind < 0.03:
            cand = []
        elif kind < 0.06:
            cand = list(refs[0])
        elif kind < 0.10:
            cand = make_sentence(rng, common, weights, rng.randrange(1, 8))
        elif kind < 0.13:
            cand = make_sentence(rng, common, weights, rng.randrange(1, 4))
        else:
            cand = perturb(rng, rng.choice(refs), common, weights)
        ref_texts = [decorate(rng, r) for r in refs]
        if rng.random() < 0.02:
            ref_texts.append("...")  # a reference with no tokens
        candidates.append(decorate(rng, cand) if cand else rng.choice(["", "--", "."]))
        references.append(ref_texts)
    return candidates, references


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(5)
    words = vocabulary()
    candidates, references = make_corpus(rng, words)
    with open(os.path.join(out, "candidates.txt"), "w", encoding="utf-8") as f:
        f.write("".join(c + "\n" for c in candidates))
    with open(os.path.join(out, "references.txt"), "w", encoding="utf-8") as f:
        f.write("".join("\t".join(r) + "\n" for r in references))

    hyps = [tokenize(c) for c in candidates]
    refs = [[tokenize(r) for r in rs] for rs in references]
    smoothing = SmoothingFunction()
    methods = [None, smoothing.method1, smoothing.method2, smoothing.method3, smoothing.method4]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns about zero n-gram counts
        for n in range(1, 5):
            weights = tuple([1.0 / n] * n)
            for s, method in enumerate(methods):
                corpus = corpus_bleu(refs, hyps, weights, smoothing_function=method)
                per = [sentence_bleu(r, h, weights, smoothing_function=method)
                       for r, h in zip(refs, hyps)]
                rows.append([f"BLEU-{n}/smoothing-{s}", corpus] + per)
    stemmer = PorterStemmer()
    per = [meteor_score(r, h, stemmer=stemmer, wordnet=NoWordNet()) for r, h in zip(refs, hyps)]
    rows.append(["METEOR", sum(per) / len(per)] + per)
    with open(os.path.join(out, "expected.tsv"), "w") as f:
        for row in rows:
            f.write(row[0] + "\t" + "\t".join(repr(float(v)) for v in row[1:]) + "\n")

    words_for_porter = porter_words(words, rng)
    with open(os.path.join(out, "porter_words.txt"), "w", encoding="utf-8") as f:
        f.write("".join(w + "\n" for w in words_for_porter))
    with open(os.path.join(out, "porter_stems.txt"), "w", encoding="utf-8") as f:
        f.write("".join(stemmer.stem(w) + "\n" for w in words_for_porter))


if __name__ == "__main__":
    main()
