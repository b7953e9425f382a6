# SPDX-License-Identifier: MIT
"""Model, encoders, scoring and the zero-shot classifier against the eager PyTorch reference
(the fixtures of tools/fixtures/make_model_fixtures.py)."""
import threading

import numpy as np
import pytest

import biomedclip
from conftest import fixture_path, read_lines
from test_tokenizer import fixture_texts


def reference(name, rows):
    return np.fromfile(fixture_path(name), np.float32).reshape(rows, -1)


def normalised(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_metadata(model, info):
    assert model.embed_dim == int(info["embed_dim"])
    assert model.context_length == int(info["context_length"])
    assert model.logit_scale == pytest.approx(np.exp(float(info["logit_scale"])), rel=1e-6)
    assert model.name and model.source
    assert model.preprocess_options().image_size == int(info["image_size"])


def test_image_embeddings(model, image_paths):
    expected = reference("image_embeddings.f32", len(image_paths))
    images = [biomedclip.Image.open(p) for p in image_paths]
    with model.image_encoder(batch_size=4) as encoder:
        raw = encoder.encode(images, raw=True)
        unit = encoder.encode(images)
        pixels = np.stack([biomedclip.preprocess(i, model.preprocess_options()) for i in images])
        from_tensors = encoder.encode_tensors(pixels, raw=True)
    assert raw.shape == expected.shape and raw.dtype == np.float32
    assert np.abs(raw - expected).max() < 1e-4
    assert np.abs(unit - normalised(expected)).max() < 1e-5
    assert np.abs(from_tensors - raw).max() < 1e-5


@pytest.mark.parametrize("batch_size, count", [(4, 6), (2, 6), (3, 11), (1, 1), (32, 6)])
def test_encode_files_is_the_serial_result(model, image_paths, batch_size, count):
    paths = [image_paths[i % len(image_paths)] for i in range(count)]
    seen_serial, seen_files = [], []
    with model.image_encoder(batch_size=batch_size,
                             progress=lambda d, t: seen_serial.append((d, t))) as encoder:
        serial = encoder.encode([biomedclip.Image.open(p) for p in paths], raw=True)
    with model.image_encoder(batch_size=batch_size,
                             progress=lambda d, t: seen_files.append((d, t))) as encoder:
        files = encoder.encode_files(paths, raw=True)
        unit = encoder.encode_files(paths)
    assert files.shape == (count, model.embed_dim) and files.dtype == np.float32
    assert np.array_equal(files, serial)  # bit for bit
    assert seen_files[:len(seen_serial)] == seen_serial
    assert np.abs(unit - normalised(serial)).max() < 1e-6


def test_encode_files_errors(model, image_paths, tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png")
    with model.image_encoder(batch_size=2) as encoder:
        with pytest.raises(biomedclip.UnsupportedError, match="file 3.*junk.png"):
            encoder.encode_files(image_paths[:3] + [junk] + image_paths[3:])
        with pytest.raises(biomedclip.IoError, match="missing.png"):
            encoder.encode_files([tmp_path / "missing.png"])
        with pytest.raises(biomedclip.InvalidArgumentError):
            encoder.encode_files([])
        with pytest.raises(TypeError):
            encoder.encode_files(image_paths[0])
    with model.image_encoder(batch_size=2, progress=lambda d, t: d >= 2) as encoder:
        with pytest.raises(biomedclip.CancelledError):
            encoder.encode_files(image_paths)


def test_text_embeddings(model, info):
    texts = fixture_texts()
    expected = reference("text_embeddings_padded.f32", len(texts))
    with model.text_encoder(batch_size=3) as encoder:
        raw = encoder.encode(texts, raw=True)
        unit = encoder.encode(texts)
    assert np.abs(raw - expected).max() < 1e-4
    assert np.abs(unit - normalised(expected)).max() < 1e-5


def test_logits_and_scoring(model, image_paths):
    texts = fixture_texts()
    expected = reference("logits.f32", len(image_paths))
    images = [biomedclip.Image.open(p) for p in image_paths]
    with model.image_encoder() as ie, model.text_encoder() as te:
        image_emb, text_emb = ie.encode(images), te.encode(texts)
    logits = model.logits(image_emb, text_emb)
    assert np.abs(logits - expected).max() < 1e-3
    cosine = biomedclip.cosine_similarity(image_emb, text_emb)
    assert np.abs(cosine * model.logit_scale - logits).max() < 1e-4
    probabilities = biomedclip.softmax(logits)
    e = np.exp(expected.astype(np.float64) - expected.max(axis=1, keepdims=True))
    assert np.abs(probabilities - e / e.sum(axis=1, keepdims=True)).max() < 1e-5
    order = biomedclip.top_k(logits[0], 3)
    assert list(order) == list(np.argsort(-logits[0], kind="stable")[:3])


def test_zero_shot_probabilities(model, image_paths):
    labels, templates = read_lines("zeroshot_labels.txt"), read_lines("zeroshot_templates.txt")
    expected = reference("zeroshot_probs.f32", len(image_paths))
    images = [biomedclip.Image.open(p) for p in image_paths]
    with model.text_encoder() as te, model.image_encoder() as ie, \
            biomedclip.Classifier(te, labels, templates) as classifier:
        assert classifier.labels == labels
        probabilities = classifier.probabilities(ie.encode(images))
        assert np.abs(probabilities - expected).max() < 1e-5
        for image, row in zip(images, probabilities):
            ranked = classifier.classify(ie, image, k=2)
            assert [label for label, _ in ranked] == [labels[i] for i in np.argsort(-row)[:2]]
            assert np.allclose([p for _, p in ranked], np.sort(row)[::-1][:2], atol=1e-6)


def test_default_template(model):
    with model.text_encoder() as te, biomedclip.Classifier(te, ["a", "b"]) as classifier, \
            biomedclip.Classifier(te, ["a", "b"], [biomedclip.DEFAULT_TEMPLATE]) as explicit, \
            model.image_encoder() as ie:
        image = biomedclip.Image.from_array(np.zeros((30, 30), np.uint8))
        embedding = ie.encode([image])
        assert np.array_equal(classifier.probabilities(embedding), explicit.probabilities(embedding))


def test_errors(model):
    with pytest.raises(biomedclip.ModelError):
        biomedclip.Model(fixture_path("broken", "no_text.bmc.pt"))
    with pytest.raises(biomedclip.VersionError):
        biomedclip.Model(fixture_path("broken", "bad_version.bmc.pt"))
    with pytest.raises(biomedclip.IoError):
        biomedclip.Model(fixture_path("broken") + "/missing.bmc.pt")
    with pytest.raises(biomedclip.DeviceError):
        biomedclip.Model(fixture_path("model.bmc.pt"), device="tpu")
    with model.text_encoder(truncate=False) as strict:
        with pytest.raises(biomedclip.LimitError):
            strict.encode(["word " * 400])
    with model.text_encoder() as te:
        with pytest.raises(biomedclip.InvalidArgumentError):
            biomedclip.Classifier(te, ["x"], ["no slot"])
        with pytest.raises(biomedclip.InvalidArgumentError):
            te.encode([])
        with pytest.raises(TypeError):
            te.encode("one string, not a list")


def test_progress_and_cancellation(model):
    seen = []
    with model.text_encoder(batch_size=2, progress=lambda d, t: seen.append((d, t))) as te:
        te.encode(["a", "b", "c", "d", "e"])
    assert seen and seen[-1][1] == 5
    with model.text_encoder(batch_size=2, progress=lambda d, t: d >= 2) as te:
        with pytest.raises(biomedclip.CancelledError) as error:
            te.encode(["a", "b", "c", "d", "e"])
        assert error.value.status == 12

    def explode(done, total):
        raise KeyError("from the callback")
    with model.image_encoder(batch_size=1, progress=explode) as ie:
        image = biomedclip.Image.from_array(np.zeros((8, 8), np.uint8))
        with pytest.raises(KeyError):
            ie.encode([image, image])


def test_closing_the_model_closes_what_was_made_from_it():
    model = biomedclip.Model(fixture_path("model.bmc.pt"))
    te, ie = model.text_encoder(), model.image_encoder()
    classifier = biomedclip.Classifier(te, ["a", "b"])
    te.close()  # the classifier does not need its text encoder any more
    assert classifier.labels == ["a", "b"]
    model.close()
    assert te.closed and ie.closed and classifier.closed and model.closed
    for call in (lambda: ie.encode([]), lambda: classifier.labels, lambda: model.embed_dim):
        with pytest.raises(ValueError):
            call()


def test_threads_share_a_model(model, image_paths):
    images = [biomedclip.Image.open(p) for p in image_paths]
    with model.image_encoder() as ie:
        expected = ie.encode(images)
    results, errors = {}, []

    def work(n):
        try:
            with model.image_encoder(batch_size=n + 1) as own:  # one encoder per thread
                results[n] = own.encode(images)
        except Exception as error:  # reported below
            errors.append(error)
    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for n in range(4):
        assert np.abs(results[n] - expected).max() < 1e-5
