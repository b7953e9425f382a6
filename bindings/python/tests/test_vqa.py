# SPDX-License-Identifier: MIT
"""VQA against the Python reference of tools/fixtures/make_vqa_fixtures.py: logits within 1e-4,
probabilities within 1e-5, rules, statements and zero-shot answering."""
import os

import numpy as np
import pytest

import biomedclip
from conftest import FIXTURES

VQA = os.path.join(FIXTURES, "vqa")


def path(*parts):
    full = os.path.join(VQA, *parts)
    if not os.path.exists(full):
        pytest.fail("missing fixture %s (run `make fixtures`)" % full)
    return full


def unescape(field):
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 1 < len(field):
            out.append({"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}[field[i + 1]])
            i += 2
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def table(name):
    with open(path(name), encoding="utf-8") as f:
        return [[unescape(v) for v in line.rstrip("\n").split("\t")] for line in f if line.strip()]


@pytest.fixture(scope="module")
def base():
    with biomedclip.Model(path("model.bmc.pt")) as model:
        yield model


@pytest.fixture(scope="module")
def heads(base):
    loaded = {name: biomedclip.Vqa(base, path("%s.vqa.pt" % name)) for name in ("fusion", "pooled")}
    yield loaded
    for head in loaded.values():
        head.close()


def test_test_split_matches_the_reference(heads):
    rows = table("test.tsv")
    for name, head in heads.items():
        answers = head.answers
        ref_logits = np.fromfile(path("%s_test_logits.f32" % name), np.float32).reshape(len(rows), -1)
        ref_probs = np.fromfile(path("%s_test_probs.f32" % name), np.float32).reshape(len(rows), -1)
        for image_file in sorted({r[0] for r in rows})[:6]:
            indices = [i for i, r in enumerate(rows) if r[0] == image_file]
            questions = [rows[i][1] for i in indices]
            with biomedclip.Image.open(path(image_file)) as image:
                logits = head.logits(image, questions)
                ranked = head.ask(image, questions, k=len(answers))
            assert np.abs(logits - ref_logits[indices]).max() <= 1e-4, name
            for i, pairs in zip(indices, ranked):
                probs = np.zeros(len(answers))
                for answer, p in pairs:
                    probs[answers.index(answer)] = p
                assert np.abs(probs - ref_probs[i]).max() <= 1e-5, (name, rows[i][1])
                assert [p for _, p in pairs] == sorted((p for _, p in pairs), reverse=True)


def test_choices_and_open_questions(heads):
    cases = table("cases.tsv")
    ref = np.fromfile(path("cases_probs.f32"), np.float32).reshape(len(cases), -1)
    for (name, image_file, mode, question), expected in zip(cases, ref):
        head = heads[name]
        answers = head.answers
        with biomedclip.Image.open(path(image_file)) as image:
            if mode.startswith("choices:"):
                choices = mode[len("choices:"):].split("|")
                pairs = head.ask(image, [question], k=len(answers), choices=choices)[0]
                assert sorted(a for a, _ in pairs) == sorted(choices)
            else:
                pairs = head.ask(image, [question], k=len(answers), question_type="open")[0]
        probs = np.zeros(len(answers))
        for answer, p in pairs:
            probs[answers.index(answer)] = p
        assert np.abs(probs - expected).max() <= 1e-5, (name, mode, question)


def test_rules(heads):
    head = heads["fusion"]
    assert head.rules
    for question, rule, allowed in table("rules.tsv"):
        assert head.question_rule(question) == (None if int(rule) < 0 else int(rule)), question


def test_statements():
    for question, answer, statement in table("statements.tsv"):
        assert biomedclip.vqa_statement(question, answer) == statement


def test_zero_shot(base):
    cases = table("zero_shot.tsv")
    ref = np.fromfile(path("zero_shot_probs.f32"), np.float32)
    offset = 0
    with base.image_encoder() as ie, base.text_encoder() as te:
        for image_file, question, candidates in cases:
            candidates = candidates.split("|")
            with biomedclip.Image.open(path(image_file)) as image:
                probs = biomedclip.vqa_zero_shot(ie, te, image, question, candidates)
            expected = ref[offset:offset + len(candidates)]
            offset += len(candidates)
            assert np.abs(probs - expected).max() <= 1e-5, question
    assert offset == ref.size


def test_min_probability_and_errors(heads, base):
    head = heads["fusion"]
    with biomedclip.Image.open(path(table("test.tsv")[0][0])) as image:
        full = head.ask(image, ["what colour is the shape?"], k=3)[0]
        kept = head.ask(image, ["what colour is the shape?"], k=3,
                        min_probability=full[0][1] - 1e-6)[0]
        assert kept == full[:1]
        with pytest.raises(biomedclip.NotFoundError):
            head.ask(image, ["what shape?"], k=1, choices=["not an answer"])
        with pytest.raises(biomedclip.InvalidArgumentError):
            head.ask(image, ["what shape?"], k=len(head.answers) + 1)
    for broken in sorted(os.listdir(path("broken"))):
        with pytest.raises(biomedclip.BiomedclipError):
            biomedclip.Vqa(base, path("broken", broken))
