# SPDX-License-Identifier: MIT
"""Captioning by retrieval and text-to-image search, against rankings of the reference
embeddings (tools/fixtures/make_model_fixtures.py) computed with numpy."""
import os

import numpy as np
import pytest

import biomedclip
from conftest import fixture_path
from test_tokenizer import fixture_texts


def unit_rows(name, rows):
    values = np.fromfile(fixture_path(name), np.float32).reshape(rows, -1).astype(np.float64)
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def assert_same_ranking(ids, scores, expected_ids, expected_scores):
    """Equal ids, except where near-equal scores may swap between float64 and the library."""
    assert np.abs(scores - expected_scores).max() < 1e-4
    for got, want, score, want_score in zip(ids, expected_ids, scores, expected_scores):
        assert got == want or abs(score - want_score) < 1e-4


def test_caption_bank(model, image_paths):
    texts = fixture_texts()
    images = unit_rows("image_embeddings.f32", len(image_paths))
    captions = unit_rows("text_embeddings_padded.f32", len(texts))
    with biomedclip.Index(model.embed_dim) as bank, model.text_encoder(batch_size=4) as te, \
            model.image_encoder() as ie:
        assert bank.add_text_file(te, fixture_path("texts.txt"), first_id=100) == len(texts)
        assert [bank.text(100 + i) for i in range(len(texts))] == texts
        for path, embedding in zip(image_paths, images):
            with biomedclip.Image.open(path) as image:
                ids, scores = bank.search_image(ie, image, 3)
            similarity = captions @ embedding
            order = np.argsort(-similarity, kind="stable")[:3]
            assert_same_ranking(ids, scores, 100 + order, similarity[order])


def test_image_collection(model, image_paths, tmp_path):
    texts = fixture_texts()[:4]
    captions = unit_rows("text_embeddings_padded.f32", len(fixture_texts()))[:4]
    images = unit_rows("image_embeddings.f32", len(image_paths))
    names = [os.path.basename(p) for p in image_paths]
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    for path in image_paths:
        os.symlink(path, tmp_path / os.path.basename(path))
    with biomedclip.Index(model.embed_dim, "float16") as collection, \
            model.image_encoder(batch_size=4) as ie, model.text_encoder() as te:
        added, skipped = collection.add_image_directory(ie, tmp_path, first_id=1)
        assert (added, skipped) == (len(image_paths), 1)
        # Entries come in byte order of the names; the skipped file keeps its id unused.
        ids = collection.ids()
        assert list(ids) == sorted(ids) and ids[0] >= 1
        assert [collection.text(int(i)) for i in ids] == sorted(names)
        for text, caption in zip(texts, captions):
            found, scores = collection.search_text(te, text, 2)
            similarity = images @ caption
            order = np.argsort(-similarity, kind="stable")[:2]
            # float16 storage: scores within about 1e-3
            assert np.abs(scores - similarity[order]).max() < 2e-3
            best = names.index(collection.text(int(found[0])))
            assert best == order[0] or abs(similarity[order[0]] - similarity[best]) < 2e-3


def test_progress_covers_the_whole_file(model):
    seen = []
    with biomedclip.Index(model.embed_dim) as bank, \
            model.text_encoder(batch_size=3, progress=lambda d, t: seen.append((d, t))) as te:
        bank.add_text_file(te, fixture_path("texts.txt"))
    assert seen and seen[-1][0] == seen[-1][1] == len(fixture_texts())


def test_errors(model, tmp_path):
    with biomedclip.Index(model.embed_dim + 1) as wrong, model.text_encoder() as te:
        with pytest.raises(biomedclip.InvalidArgumentError):
            wrong.add_text_file(te, fixture_path("texts.txt"))
    with biomedclip.Index(model.embed_dim) as bank, model.text_encoder() as te, \
            model.image_encoder() as ie:
        with pytest.raises(biomedclip.IoError):
            bank.add_text_file(te, tmp_path / "missing.txt")
        with pytest.raises(biomedclip.IoError):
            bank.add_image_directory(ie, tmp_path / "missing")
        (tmp_path / "bad.txt").write_bytes(b"fine\n\xff broken\n")
        with pytest.raises(biomedclip.InvalidUtf8Error):
            bank.add_text_file(te, tmp_path / "bad.txt")
        ids, scores = bank.search_text(te, "anything", 2)  # an empty bank: nothing found
        assert list(ids) == [-1, -1] and np.all(np.isinf(scores))


def test_composed_search(model, image_paths, tmp_path):
    """Composed queries against numpy: q = unit((1 - w) unit(image) + w unit(text)) on the
    model's own embeddings, and the collection ranked by q."""
    texts = fixture_texts()[:3]
    for path in image_paths:
        os.symlink(path, tmp_path / os.path.basename(path))
    with biomedclip.Index(model.embed_dim) as collection, model.image_encoder() as ie, \
            model.text_encoder() as te:
        collection.add_image_directory(ie, tmp_path)
        stored = np.stack([collection.vector(int(i)) for i in collection.ids()]).astype(np.float64)
        images = [biomedclip.Image.open(p) for p in image_paths]
        image_embeddings = ie.encode(images).astype(np.float64)
        text_embeddings = te.encode(texts).astype(np.float64)
        worst_query = worst_score = 0.0
        for image, image_embedding in zip(images, image_embeddings):
            for text, text_embedding in zip(texts, text_embeddings):
                for weight in (0.0, 0.3, 0.5, 1.0):
                    q = ((1 - weight) * image_embedding / np.linalg.norm(image_embedding)
                         + weight * text_embedding / np.linalg.norm(text_embedding))
                    q /= np.linalg.norm(q)
                    composed = biomedclip.compose_query(image_embedding.astype(np.float32),
                                                        text_embedding.astype(np.float32), weight)
                    worst_query = max(worst_query, np.abs(composed - q).max())
                    similarity = stored @ q
                    order = np.argsort(-similarity, kind="stable")
                    ids, scores = collection.search_composed(ie, te, image, text, len(order),
                                                             text_weight=weight)
                    assert_same_ranking(ids, scores, collection.ids()[order], similarity[order])
                    worst_score = max(worst_score, np.abs(scores - similarity[order]).max())
        assert worst_query <= 1e-6
        assert worst_score <= 1e-5
        with pytest.raises(biomedclip.InvalidArgumentError, match="text_weight"):
            collection.search_composed(ie, te, images[0], texts[0], 2, text_weight=1.5)
        with pytest.raises(biomedclip.InvalidArgumentError, match="cancel"):
            biomedclip.compose_query(image_embeddings[0], -image_embeddings[0], 0.5)
