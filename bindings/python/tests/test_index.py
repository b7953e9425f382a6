# SPDX-License-Identifier: MIT
"""The embedding index against numpy's exact search (tools/fixtures/make_index_fixtures.py's data)."""
import os
import threading

import numpy as np
import pytest

import biomedclip
from conftest import FIXTURES

INDEX = os.path.join(FIXTURES, "index")


def raw(name, dtype, cols=None):
    path = os.path.join(INDEX, name)
    if not os.path.exists(path):
        pytest.fail("missing fixture %s (run `make fixtures`)" % path)
    values = np.fromfile(path, dtype)
    return values if cols is None else values.reshape(-1, cols)


def meta():
    with open(os.path.join(INDEX, "meta.txt")) as f:
        rows, dim, queries, k, file_rows = (int(v) for v in f.read().split())
    return rows, dim, queries, k, file_rows


@pytest.mark.parametrize("dtype,suffix", [("float32", "f32"), ("float16", "f16"), ("bfloat16", "bf16")])
def test_search_matches_numpy(dtype, suffix):
    rows, dim, _, k, _ = meta()
    vectors, ids = raw("vectors.f32", np.float32, dim), raw("ids.i64", np.int64)
    queries = raw("queries.f32", np.float32, dim)
    expected_ids = raw("top_%s.i64" % suffix, np.int64, k)
    expected_scores = raw("top_%s.f64" % suffix, np.float64, k)
    with biomedclip.Index(dim, dtype) as index:
        index.add(vectors[: rows // 2], ids[: rows // 2])
        index.add(vectors[rows // 2:], ids[rows // 2:])
        assert len(index) == rows and index.dim == dim and index.dtype == dtype
        assert np.array_equal(index.ids(), ids)
        for threads in (1, 0):
            found, scores = index.search(queries, k, threads=threads)
            assert np.abs(scores - expected_scores).max() < 1e-5
            # Near-equal scores may swap places between float64 and the kernels' float32.
            mismatch = found != expected_ids
            assert np.all(np.abs(scores[mismatch] - expected_scores[mismatch]) < 1e-5)


def test_python_written_file_and_texts(tmp_path):
    _, dim, _, _, file_rows = meta()
    with open(os.path.join(INDEX, "texts.txt"), encoding="utf-8") as f:
        texts = f.read().split("\n")[:file_rows]
    ids = raw("ids.i64", np.int64)[:file_rows]
    units = raw("unit_f32.f32", np.float32, dim)[:file_rows]
    with biomedclip.Index.load(os.path.join(INDEX, "python_f32.bmcidx")) as loaded, \
            biomedclip.Index.map(os.path.join(INDEX, "python_f32.bmcidx")) as mapped:
        for index in (loaded, mapped):
            assert len(index) == file_rows
            assert [index.text(int(i)) for i in ids[:50]] == texts[:50]
            assert np.array_equal(index.vector(int(ids[7])), units[7])
        with pytest.raises(biomedclip.UnsupportedError):
            mapped.add(units[:1], [10 ** 12])
        loaded.save(tmp_path / "copy.bmcidx")
    with biomedclip.Index.load(tmp_path / "copy.bmcidx") as copy:
        assert np.array_equal(copy.ids(), ids)


def test_edit_operations():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, 8)).astype(np.float32)
    with biomedclip.Index(8) as index, biomedclip.Index(8, "float16") as other:
        index.add(vectors[:4], [10, 11, 12, 13], ["a", "b", "", "d"])
        other.add(vectors[4:], [20, 21])
        index.append(other)
        assert list(index.ids()) == [10, 11, 12, 13, 20, 21]
        assert index.remove([11, 99]) == 1
        assert list(index.ids()) == [10, 12, 13, 20, 21]
        assert index.text(12) == "" and index.text(20) == ""
        found, scores = index.search(vectors[0], 7)
        assert found[0, 0] == 10 and scores[0, 0] == pytest.approx(1.0, abs=1e-6)
        assert list(found[0, 5:]) == [-1, -1] and np.all(np.isinf(scores[0, 5:]))
        with pytest.raises(biomedclip.InvalidArgumentError):
            index.add(vectors[:1], [10])  # a duplicate id
        with pytest.raises(biomedclip.InvalidArgumentError):
            index.add(np.zeros((1, 8), np.float32), [30])
        with pytest.raises(biomedclip.NotFoundError):
            index.vector(11)
        with pytest.raises(ValueError):
            index.add(vectors[:2], [1])


def test_corrupt_file(tmp_path):
    with open(os.path.join(INDEX, "python_f16.bmcidx"), "rb") as f:
        data = bytearray(f.read())
    data[-1] ^= 0xFF
    (tmp_path / "bad.bmcidx").write_bytes(bytes(data))
    with pytest.raises(biomedclip.CorruptDataError):
        biomedclip.Index.load(tmp_path / "bad.bmcidx")


def test_concurrent_searches():
    _, dim, _, k, _ = meta()
    vectors, ids = raw("vectors.f32", np.float32, dim), raw("ids.i64", np.int64)
    queries = raw("queries.f32", np.float32, dim)
    with biomedclip.Index(dim) as index:
        index.add(vectors, ids)
        expected = index.search(queries, k)
        results = []
        threads = [threading.Thread(target=lambda: results.append(index.search(queries, k)))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 4
        for found, scores in results:
            assert np.array_equal(found, expected[0]) and np.array_equal(scores, expected[1])
