# SPDX-License-Identifier: MIT
"""Linear probes against scikit-learn's LogisticRegression(C, multi_class="multinomial") fitted
on the same embeddings (the bars of docs/linear-probe.md: weights within 1e-3 of the lbfgs fit
relative to its largest weight and within 1e-5 of newton-cg's minimum, probabilities within
1e-4, identical predictions), against the CLI's probe train / predict (the C results: the same
probe file and probabilities bit for bit), the probe file as the docs describe it, and bad
input refused."""
import json
import os
import subprocess
import threading

import numpy as np
import pytest

import biomedclip
from conftest import BUILD, FIXTURES
from tools.checks import probe_check

VQA = os.path.join(FIXTURES, "vqa")
CLI = os.path.join(BUILD, "biomedclip")


def vqa_path(*parts):
    full = os.path.join(VQA, *parts)
    if not os.path.exists(full):
        pytest.fail("missing fixture %s (run `make fixtures`)" % full)
    return full


def answers(split, kind):
    """{image path: answer} of one question type of the VQA fixtures' synthetic images (one
    shape of one colour on one side each), in the dataset's order."""
    with open(vqa_path("dataset", "%s.json" % split), encoding="utf-8") as f:
        questions = json.load(f)
    return {vqa_path("dataset", "images", q["image_name"]): q["answer"]
            for q in questions if q["question_type"] == kind}


@pytest.fixture(scope="module")
def base():
    with biomedclip.Model(vqa_path("model.bmc.pt")) as model:
        yield model


@pytest.fixture(scope="module")
def embedded(base):
    """The train and test images' embeddings, as the CLI's probe train computes them."""
    with base.image_encoder() as encoder:
        return {split: encoder.encode_files(list(answers(split, "SHAPE"))) for split in
                ("train", "test")}


def labelled(split, kind):
    table = answers(split, kind)
    assert list(table) == list(answers(split, "SHAPE"))  # rows of `embedded`
    return list(table.values())


def reference(embeddings, names, labels, c, solver):
    """scikit-learn's fit, its weights (two rows for two labels) and its biases less their
    mean: what the probe's weights and biases must be (tools/checks/probe_check.py)."""
    return probe_check.fit_reference(embeddings.astype(np.float64), names, labels, c, solver)


def assert_matches_scikit_learn(probe, train, names, test, c):
    labels = probe.labels
    model, coef, intercept = reference(train, names, labels, c, "lbfgs")
    weights, biases = probe.weights.astype(np.float64), probe.biases.astype(np.float64)
    w_err, b_err = probe_check.weight_errors(weights, biases, coef, intercept)
    assert w_err <= 1e-3 and b_err <= 1e-3, (w_err, b_err)
    _, coef, intercept = reference(train, names, labels, c, "newton-cg")
    w_min, b_min = probe_check.weight_errors(weights, biases, coef, intercept)
    assert w_min <= 1e-5 and b_min <= 1e-5, (w_min, b_min)
    for x in (train, test):
        p_err = np.abs(probe.probabilities(x) - model.predict_proba(x.astype(np.float64))).max()
        assert p_err <= 1e-4, p_err
        assert probe.predict(x) == [labels[i] for i in model.predict(x.astype(np.float64))]


@pytest.mark.parametrize("kind,c", [("SHAPE", 0.1), ("SHAPE", 1.0), ("SHAPE", 10.0),
                                    ("COLOR", 10.0), ("POS", 1.0)])
def test_matches_scikit_learn_on_the_models_embeddings(base, embedded, kind, c):
    names = labelled("train", kind)
    probe = biomedclip.Probe(base, embedded["train"], names, c=c)
    assert probe.labels == list(dict.fromkeys(names))  # order of first appearance
    assert probe.dim == base.embed_dim == embedded["train"].shape[1]
    assert (probe.model_name, probe.model_source) == (base.name, base.source)
    training = probe.training
    assert training.c == c and training.converged and training.iterations >= 1
    assert abs(float(probe.biases.astype(np.float64).sum())) < 1e-5
    assert_matches_scikit_learn(probe, embedded["train"], names, embedded["test"], c)


@pytest.mark.parametrize("k,c", [(2, 0.5), (5, 1.0), (5, 50.0)])
def test_matches_scikit_learn_on_synthetic_embeddings(base, k, c):
    # Overlapping clusters of normalised vectors, with the labels given in an order of their
    # own (not that of first appearance), non-ASCII ones among them.
    rng = np.random.default_rng(16 + k)
    dim = base.embed_dim
    centres = rng.normal(size=(k, dim))
    classes = np.concatenate([np.arange(k), rng.integers(0, k, 60 - k)])
    x = centres[classes] * 0.3 + rng.normal(size=(60, dim))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    labels = ["épanchement", "normal", "nodule", "pneumothorax", "atélectasie"][:k][::-1]
    names = [labels[i] for i in classes]
    probe = biomedclip.Probe(base, x[:45], names[:45], labels=labels, c=c)
    assert probe.labels == labels
    assert_matches_scikit_learn(probe, x[:45], names[:45], x[45:], c)


def run_cli(*args):
    if not os.path.exists(CLI):
        pytest.fail("missing %s (run `make`)" % CLI)
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=300,
                          check=True).stdout


def test_identical_to_the_cli(base, embedded, tmp_path):
    table = answers("train", "SHAPE")
    tsv = tmp_path / "train.tsv"
    tsv.write_text("".join("%s\t%s\n" % item for item in table.items()), encoding="utf-8")
    probe_file = str(tmp_path / "shape.bmcprobe")
    report = json.loads(run_cli("probe", "train", "--model", vqa_path("model.bmc.pt"), "--out",
                                probe_file, "--c", "10", str(tsv)))
    ours = biomedclip.Probe(base, embedded["train"], list(table.values()), c=10)
    theirs = biomedclip.Probe.load(probe_file, base)
    # The same embeddings, labels and solver: the same probe, bit for bit.
    assert theirs.labels == ours.labels == [entry["label"] for entry in report["labels"]]
    assert theirs.training == ours.training
    assert (report["c"], report["iterations"], report["converged"]) == tuple(ours.training)
    assert np.array_equal(theirs.weights, ours.weights)
    assert np.array_equal(theirs.biases, ours.biases)

    # probe predict prints %.9g, which reads back as the same float32.
    images = list(answers("test", "SHAPE"))
    lines = run_cli("probe", "predict", "--model", vqa_path("model.bmc.pt"), "--probe",
                    probe_file, *images).splitlines()
    probabilities = ours.probabilities(embedded["test"])
    predicted = ours.predict(embedded["test"])
    assert len(lines) == len(images)
    for line, path, row, label in zip(lines, images, probabilities, predicted):
        result = json.loads(line)
        assert result["image"] == path
        assert {e["label"]: np.float32(e["probability"]) for e in result["labels"]} == \
            dict(zip(ours.labels, row))
        assert result["labels"][0]["label"] == label
    # classify() encodes one image by itself: the same ranking, probabilities to rounding.
    with base.image_encoder() as encoder:
        for line, path in list(zip(lines, images))[:5]:
            with biomedclip.Image.open(path) as image:
                ranked = ours.classify(encoder, image)
                top = ours.classify(encoder, image, k=1)
            expected = json.loads(line)["labels"]
            assert [label for label, _ in ranked] == [e["label"] for e in expected]
            assert max(abs(p - e["probability"]) for (_, p), e in zip(ranked, expected)) < 1e-6
            assert top == ranked[:1]


def test_file_round_trip(base, embedded, tmp_path):
    names = labelled("train", "COLOR")
    probe = biomedclip.Probe(base, embedded["train"], names, c=3)
    path = str(tmp_path / "colour.bmcprobe")
    probe.save(path)
    # The file as docs/linear-probe.md describes it, read by the tools' own reader.
    described = probe_check.read_probe(path)
    assert described["labels"] == probe.labels and described["dim"] == probe.dim
    assert (described["name"], described["source"]) == (base.name, base.source)
    assert (described["c"], described["iterations"], bool(described["converged"])) == \
        tuple(probe.training)
    assert np.array_equal(described["weights"], probe.weights)
    assert np.array_equal(described["biases"], probe.biases)
    for model in (base, None):
        with biomedclip.Probe.load(path, model) as loaded:
            assert loaded.labels == probe.labels and loaded.training == probe.training
            assert (loaded.model_name, loaded.model_source) == (base.name, base.source)
            assert np.array_equal(loaded.weights, probe.weights)
            assert np.array_equal(loaded.probabilities(embedded["test"]),
                                  probe.probabilities(embedded["test"]))
    assert repr(probe).startswith("<biomedclip.Probe 4 labels x 64")


def test_training_report(base, embedded):
    names = labelled("train", "SHAPE")
    stopped = biomedclip.Probe(base, embedded["train"], names, max_iterations=2)
    assert stopped.training == biomedclip.ProbeTraining(1.0, 2, False)
    loose = biomedclip.Probe(base, embedded["train"], names, tolerance=1e-2)
    tight = biomedclip.Probe(base, embedded["train"], names)
    assert loose.training.converged and loose.training.iterations < tight.training.iterations


def test_a_probe_outlives_its_model(embedded):
    names = labelled("train", "POS")
    model = biomedclip.Model(vqa_path("model.bmc.pt"))
    probe = biomedclip.Probe(model, embedded["train"], names)
    expected = probe.probabilities(embedded["test"])
    model.close()
    # It records the model; it does not refer to it.
    assert not probe.closed
    assert np.array_equal(probe.probabilities(embedded["test"]), expected)
    probe.close()
    assert probe.closed and repr(probe) == "<biomedclip.Probe (closed)>"
    with pytest.raises(ValueError):
        probe.probabilities(embedded["test"])


def test_threads_share_a_probe(base, embedded):
    probe = biomedclip.Probe(base, embedded["train"], labelled("train", "SHAPE"))
    expected = probe.probabilities(embedded["test"])
    results = [None] * 4

    def work(i):
        results[i] = [probe.probabilities(embedded["test"]) for _ in range(20)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(r, expected) for rs in results for r in rs)


def test_bad_training_sets_are_refused(base, embedded):
    x, names = embedded["train"], labelled("train", "SHAPE")
    Error = biomedclip.InvalidArgumentError
    with pytest.raises(Error, match="at least two"):
        biomedclip.Probe(base, x[:5], ["circle"] * 5)
    with pytest.raises(Error, match="'hexagon' has no examples"):
        biomedclip.Probe(base, x, names, labels=["circle", "square", "triangle", "hexagon"])
    nan = x.copy()
    nan[7, 3] = np.nan
    with pytest.raises(Error, match="embedding 7"):
        biomedclip.Probe(base, nan, names)
    inf = x.copy()
    inf[9, 0] = np.inf
    with pytest.raises(Error, match="embedding 9"):
        biomedclip.Probe(base, inf, names)
    with pytest.raises(Error, match="given twice"):
        biomedclip.Probe(base, x, names, labels=["circle", "square", "triangle", "circle"])
    with pytest.raises(Error, match="empty"):
        biomedclip.Probe(base, x[:2], ["", "circle"])
    with pytest.raises(Error, match="c must be positive"):
        biomedclip.Probe(base, x, names, c=0)
    with pytest.raises(Error, match="max_iterations"):
        biomedclip.Probe(base, x, names, max_iterations=0)
    with pytest.raises(Error, match="no examples"):
        biomedclip.Probe(base, np.empty((0, base.embed_dim), np.float32), [])
    # What the binding checks before calling the library.
    with pytest.raises(ValueError, match="not one of the labels"):
        biomedclip.Probe(base, x, names, labels=["circle", "square"])
    with pytest.raises(ValueError, match="100 embeddings but 99"):
        biomedclip.Probe(base, x, names[:99])
    with pytest.raises(ValueError, match="rows of 32 values"):
        biomedclip.Probe(base, x[:, :32], names)
    with pytest.raises(TypeError):
        biomedclip.Probe(base, x[:1], "circle")


def test_bad_embeddings_are_refused(base, embedded):
    probe = biomedclip.Probe(base, embedded["train"], labelled("train", "SHAPE"))
    with pytest.raises(ValueError, match="rows of 63 values"):
        probe.probabilities(embedded["test"][:, :63])
    nan = embedded["test"].copy()
    nan[2, 5] = np.nan
    with pytest.raises(biomedclip.InvalidArgumentError, match="embedding 2"):
        probe.probabilities(nan)
    with pytest.raises(biomedclip.InvalidArgumentError, match="count is 0"):
        probe.probabilities(np.empty((0, probe.dim), np.float32))
    with base.image_encoder() as encoder, \
            biomedclip.Image.open(list(answers("test", "SHAPE"))[0]) as image:
        with pytest.raises(ValueError, match="outside 1..3"):
            probe.classify(encoder, image, k=4)


def test_mismatched_and_damaged_files_are_refused(base, embedded, tmp_path):
    probe = biomedclip.Probe(base, embedded["train"], labelled("train", "SHAPE"))
    good = str(tmp_path / "good.bmcprobe")
    probe.save(good)

    def variant(name, *changes):
        path = str(tmp_path / name)
        probe_check.cmd_rewrite(good, path, *changes)
        return path

    other = variant("other.bmcprobe", "source=sha256 0123")
    with pytest.raises(biomedclip.ModelError, match="sha256 0123"):
        biomedclip.Probe.load(other, base)
    with pytest.raises(biomedclip.ModelError, match="trained for model 'biomedclip-other'"):
        biomedclip.Probe.load(variant("name.bmcprobe", "name=biomedclip-other"), base)
    with pytest.raises(biomedclip.ModelError, match="32-dimensional"):
        biomedclip.Probe.load(variant("dim.bmcprobe", "dim=32"), base)
    with pytest.raises(biomedclip.VersionError, match="format version 2"):
        biomedclip.Probe.load(variant("version.bmcprobe", "version=2"), base)
    # Read unchecked, it says what it was trained for, and classify() refuses the encoder.
    unchecked = biomedclip.Probe.load(other)
    assert unchecked.model_source == "sha256 0123"
    with base.image_encoder() as encoder, \
            biomedclip.Image.open(list(answers("test", "SHAPE"))[0]) as image:
        with pytest.raises(biomedclip.ModelError, match="trained for model"):
            unchecked.classify(encoder, image)

    with open(good, "rb") as f:
        data = f.read()
    truncated = tmp_path / "truncated.bmcprobe"
    truncated.write_bytes(data[:100])
    with pytest.raises(biomedclip.CorruptDataError):
        biomedclip.Probe.load(str(truncated), base)
    flipped = tmp_path / "flipped.bmcprobe"
    flipped.write_bytes(data[:200] + bytes([data[200] ^ 0x55]) + data[201:])
    with pytest.raises(biomedclip.CorruptDataError, match="checksum"):
        biomedclip.Probe.load(str(flipped), base)
    with pytest.raises(biomedclip.IoError):
        biomedclip.Probe.load(str(tmp_path / "missing.bmcprobe"), base)
    with pytest.raises(biomedclip.IoError):
        probe.save(str(tmp_path / "no" / "such" / "folder.bmcprobe"))
