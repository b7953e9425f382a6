# SPDX-License-Identifier: MIT
"""Caption metrics against nltk 3.8 (tools/fixtures/make_metrics_fixtures.py) and hand-computed
ROUGE-L and CIDEr-D properties."""
import os

import numpy as np
import pytest

import biomedclip
from conftest import FIXTURES

METRICS = os.path.join(FIXTURES, "metrics")


def corpus():
    if not os.path.exists(os.path.join(METRICS, "expected.tsv")):
        pytest.fail("missing %s/expected.tsv (run `make fixtures`)" % METRICS)
    with open(os.path.join(METRICS, "candidates.txt"), encoding="utf-8") as f:
        candidates = f.read().split("\n")[:-1]
    with open(os.path.join(METRICS, "references.txt"), encoding="utf-8") as f:
        references = [line.split("\t") for line in f.read().split("\n")[:-1]]
    expected = {}
    with open(os.path.join(METRICS, "expected.tsv"), encoding="utf-8") as f:
        for line in f:
            name, corpus_score, *per = line.rstrip("\n").split("\t")
            expected[name] = (float(corpus_score), np.array([float(v) for v in per]))
    return candidates, references, expected


def close(a, b):
    return np.all(np.abs(np.asarray(a) - np.asarray(b)) <= 1e-9 * np.maximum(1, np.abs(b)))


def test_bleu_and_meteor_match_nltk():
    candidates, references, expected = corpus()
    checked = 0
    for name, (want_corpus, want_per) in expected.items():
        if name.startswith("BLEU-"):
            n, smoothing = name[len("BLEU-"):].split("/smoothing-")
            got_corpus, got_per = biomedclip.caption_score(
                "bleu" + n, candidates, references, bleu_smoothing=int(smoothing))
        elif name == "METEOR":
            got_corpus, got_per = biomedclip.caption_score("meteor", candidates, references)
        else:
            continue
        assert close(got_corpus, want_corpus), name
        assert close(got_per, want_per), name
        checked += 1
    assert checked >= 5


def test_rouge_l_by_hand():
    # LCS("a b c d", "a c d e") = 3: precision = recall = 3/4, so F = 3/4 for any beta.
    corpus_score, per = biomedclip.caption_score(
        "rouge_l", ["a b c d", "Left-sided effusion."], [["a c d e"], ["left sided effusion"]])
    assert per[0] == pytest.approx(0.75, abs=1e-15) and per[1] == 1.0
    assert corpus_score == pytest.approx(0.875, abs=1e-15)


def test_cider_d_of_identical_captions():
    # Each candidate equals its only reference and has 4 words, none shared between captions
    # (so every n-gram has a positive idf): each of the 4 n-gram cosines is 1, the length
    # penalty is 1 and the score is 10 x their mean = 10.
    texts = ["small left pleural effusion", "no pneumothorax was seen", "heart size is normal"]
    corpus_score, per = biomedclip.caption_score("cider_d", texts, [[t] for t in texts])
    assert np.allclose(per, 10.0) and corpus_score == pytest.approx(10.0)


def test_errors():
    with pytest.raises(ValueError):
        biomedclip.caption_score("bleu5", ["a"], [["a"]])
    with pytest.raises(TypeError):
        biomedclip.caption_score("bleu1", ["a"], ["a"])
    with pytest.raises(biomedclip.InvalidArgumentError):
        biomedclip.caption_score("bleu1", ["a"], [[]])
    with pytest.raises(biomedclip.InvalidArgumentError):
        biomedclip.caption_score("bleu1", ["a"], [["a"]], bleu_smoothing=9)
    with pytest.raises(biomedclip.InvalidUtf8Error):
        biomedclip.caption_score("meteor", [b"\xff"], [["a"]])
