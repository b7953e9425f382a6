# SPDX-License-Identifier: MIT
"""The acceptance test: the same zero-shot classification gives bit-identical probabilities in
C (examples/zeroshot_probs, printing %.9g, which reads back as the same float32) and here."""
import os
import subprocess

import numpy as np
import pytest

import biomedclip
from conftest import BUILD, fixture_path, read_lines


def c_probabilities(image_paths):
    program = os.path.join(BUILD, "examples", "zeroshot_probs")
    if not os.path.exists(program):
        pytest.fail("missing %s (run `make examples`)" % program)
    run = subprocess.run([program, fixture_path("model.bmc.pt"), fixture_path("zeroshot_labels.txt"),
                          fixture_path("zeroshot_templates.txt")] + list(image_paths),
                         capture_output=True, text=True, timeout=300, check=True)
    rows = [line.split("\t") for line in run.stdout.splitlines()]
    return [(path, label, np.float32(value)) for path, label, value in rows]


def test_python_probabilities_are_identical_to_c(model, image_paths):
    expected = c_probabilities(image_paths)
    labels, templates = read_lines("zeroshot_labels.txt"), read_lines("zeroshot_templates.txt")
    ours = []
    with model.text_encoder() as te, model.image_encoder() as ie, \
            biomedclip.Classifier(te, labels, templates) as classifier:
        for path in image_paths:
            with biomedclip.Image.open(path) as image:
                row = classifier.probabilities(ie.encode([image]))[0]
                ranked = classifier.classify(ie, image)
            ours += [(path, label, p) for label, p in zip(labels, row)]
            # bmc_classify is the same computation, ranked: the same floats.
            assert sorted(ranked, key=lambda x: -x[1]) == ranked
            assert {label: p for label, p in ranked} == {l: float(p) for l, p in zip(labels, row)}
    assert len(ours) == len(expected) == len(image_paths) * len(labels)
    for (path, label, value), (c_path, c_label, c_value) in zip(ours, expected):
        assert (path, label) == (c_path, c_label)
        assert value.tobytes() == c_value.tobytes(), (path, label, value, c_value)
