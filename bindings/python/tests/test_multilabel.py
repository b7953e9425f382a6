# SPDX-License-Identifier: MIT
"""Multi-label zero-shot scoring and the built-in template sets: the scorer against CheXzero's
rule restated in numpy on the model's own embeddings (each prompt encoded by the text encoder),
and the sets against the listing in include/biomedclip.h."""
import os
import re

import numpy as np
import pytest

import biomedclip
from conftest import ROOT, read_lines


def unit(rows):
    rows = np.asarray(rows, np.float64)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def ensemble(te, labels, templates):
    """CLIP's template ensemble per label: the normalised mean of the normalised prompt
    embeddings (numpy over the encoder's embeddings of every filled-in prompt)."""
    prompts = [t.replace("{}", label, 1) for label in labels for t in templates]
    embeddings = unit(te.encode(prompts)).reshape(len(labels), len(templates), -1)
    return unit(embeddings.mean(axis=1))


def restate(model, te, image_embeddings, labels, positive, negative):
    """Each label's softmax over its own pair of logits (logit scale x cosine)."""
    scale = np.float64(model.logit_scale)
    images = unit(image_embeddings)
    logits = np.stack([scale * images @ ensemble(te, labels, positive).T,
                       scale * images @ ensemble(te, labels, negative).T])
    logits -= logits.max(axis=0)
    return np.exp(logits[0]) / np.exp(logits).sum(axis=0)


@pytest.mark.parametrize("templates", [None, "chest-xray", "generic", "histopathology"])
def test_multilabel_against_numpy(model, image_paths, templates):
    labels = read_lines("zeroshot_labels.txt")
    images = [biomedclip.Image.open(p) for p in image_paths]
    if templates is None:
        positive = [biomedclip.DEFAULT_POSITIVE_TEMPLATE]
        negative = [biomedclip.DEFAULT_NEGATIVE_TEMPLATE]
    else:
        positive, negative = biomedclip.template_set(templates)
    with model.text_encoder(batch_size=5) as te, model.image_encoder() as ie, \
            biomedclip.MultiLabel(te, labels, templates) as scorer:
        assert scorer.labels == labels
        embeddings = ie.encode(images)
        expected = restate(model, te, embeddings, labels, positive, negative)
        got = scorer.probabilities(embeddings)
        assert got.shape == (len(images), len(labels)) and got.dtype == np.float32
        assert np.abs(got - expected).max() <= 1e-6
        for image, row in zip(images, expected):
            pairs = scorer.classify(ie, image)
            assert [label for label, _ in pairs] == labels
            assert np.abs(np.array([p for _, p in pairs]) - row).max() <= 1e-6
    for image in images:
        image.close()


def test_multilabel_explicit_templates(model, image_paths):
    """Positive and negative lists of different lengths; a set name only on one side."""
    labels = ["pleural effusion", "cardiomegaly"]
    positive = ["a chest X-ray showing {}.", "{} on a radiograph"]
    negative = ["a chest X-ray without {}."]
    with model.text_encoder() as te, model.image_encoder() as ie, \
            biomedclip.MultiLabel(te, labels, positive, negative) as scorer, \
            biomedclip.MultiLabel(te, labels, positive, "ct") as mixed:
        embeddings = ie.encode([biomedclip.Image.open(image_paths[0])])
        assert np.abs(scorer.probabilities(embeddings)
                      - restate(model, te, embeddings, labels, positive, negative)).max() <= 1e-6
        ct_negative = biomedclip.template_set("ct")[1]
        assert np.abs(mixed.probabilities(embeddings)
                      - restate(model, te, embeddings, labels, positive, ct_negative)).max() <= 1e-6


def test_multilabel_errors(model):
    with model.text_encoder() as te:
        with pytest.raises(biomedclip.InvalidArgumentError, match="negative template 0"):
            biomedclip.MultiLabel(te, ["x"], None, ["no slot"])
        with pytest.raises(biomedclip.InvalidArgumentError, match="no labels"):
            biomedclip.MultiLabel(te, [])
        with pytest.raises(biomedclip.NotFoundError, match="chest-xray"):
            biomedclip.MultiLabel(te, ["x"], "chest_xray")
        with biomedclip.MultiLabel(te, ["x", "y"]) as scorer:
            with pytest.raises(ValueError):
                scorer.probabilities(np.zeros((1, model.embed_dim + 1), np.float32))
            bad = np.zeros((2, model.embed_dim), np.float32)
            bad[1, 0] = np.nan
            with pytest.raises(biomedclip.InvalidArgumentError, match="embedding 1"):
                scorer.probabilities(bad)
            assert np.array_equal(scorer.probabilities(bad[:1]), [[0.5, 0.5]])


def header_template_sets():
    """The sets as include/biomedclip.h lists them: {name: (positive, negative)}."""
    with open(os.path.join(ROOT, "include", "biomedclip.h"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("The sets (positive | negative):")
    block = text[start:text.index("*/", start)]
    sets, current = {}, None
    for line in block.split("\n")[1:]:
        name = re.fullmatch(r" \*   ([a-z-]+):", line)
        pair = re.fullmatch(r' \*     "(.*)" \| "(.*)"', line)
        if name:
            current = sets.setdefault(name.group(1), ([], []))
        elif pair:
            current[0].append(pair.group(1))
            current[1].append(pair.group(2))
    return sets


def test_template_sets_match_the_header():
    listed = header_template_sets()
    assert list(listed) == biomedclip.template_sets()
    assert set(listed) >= {"chest-xray", "ct", "mri", "ultrasound", "histopathology",
                           "dermatology", "fundus", "generic"}
    for name, (positive, negative) in listed.items():
        assert biomedclip.template_set(name) == (positive, negative), name


def test_classifier_takes_a_set_name(model, image_paths):
    labels = ["liver lesion", "normal abdomen"]
    with model.text_encoder() as te, model.image_encoder() as ie, \
            biomedclip.Classifier(te, labels, "ct") as by_name, \
            biomedclip.Classifier(te, labels, biomedclip.template_set("ct")[0]) as spelled:
        embeddings = ie.encode([biomedclip.Image.open(image_paths[1])])
        assert np.array_equal(by_name.probabilities(embeddings), spelled.probabilities(embeddings))
