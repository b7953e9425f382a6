# SPDX-License-Identifier: MIT
"""Index sets against numpy's exact search over the concatenated shards and against one Index
holding every shard (tools/fixtures/make_index_set_fixtures.py writes the shards, manifests
and references from the documented formats)."""
import os
import zlib

import numpy as np
import pytest

import biomedclip
from conftest import FIXTURES

SETS = os.path.join(FIXTURES, "index_set")
DTYPES = [("float32", "f32"), ("float16", "f16"), ("bfloat16", "bf16")]


def meta():
    path = os.path.join(SETS, "meta.txt")
    if not os.path.exists(path):
        pytest.fail("missing fixture %s (run `make fixtures`)" % path)
    with open(path) as f:
        return tuple(int(v) for v in f.read().split())  # rows, dim, queries, k, shards


def raw(name, dtype, cols=None):
    values = np.fromfile(os.path.join(SETS, name), dtype)
    return values if cols is None else values.reshape(-1, cols)


def shard_paths(suffix, shards):
    return [os.path.join(SETS, "shard_%s_%d.bmcidx" % (suffix, s)) for s in range(shards)]


@pytest.mark.parametrize("dtype,suffix", DTYPES)
def test_search_matches_numpy_and_one_index(dtype, suffix):
    rows, dim, _, k, shards = meta()
    queries = raw("queries.f32", np.float32, dim)
    expected_ids = raw("top_%s.i64" % suffix, np.int64, k)
    expected_scores = raw("top_%s.f64" % suffix, np.float64, k)
    with biomedclip.IndexSet(shard_paths(suffix, shards)) as index_set:
        assert (len(index_set), index_set.dim, index_set.dtype, index_set.shard_count) == \
            (rows, dim, dtype, shards)
        ids, scores = index_set.search(queries, k)
        # the fixture has exact ties across shards and no near ties: numpy's stable order holds
        assert np.array_equal(ids, expected_ids)
        assert np.max(np.abs(scores - expected_scores)) < 2e-6
        one = biomedclip.Index(dim, dtype)
        for s in range(shards):
            one.append(index_set.shard(s))
        for kk in (1, k, rows + 3):
            for threads in (1, 0, 3):
                a = index_set.search(queries, kk, threads=threads)
                b = one.search(queries, kk, threads=1)
                assert np.array_equal(a[0], b[0])
                assert np.array_equal(a[1].view(np.uint32), b[1].view(np.uint32))
        with biomedclip.IndexSet.open_manifest(os.path.join(SETS, "set_%s.bmcset" % suffix),
                                               check_vectors=False) as by_manifest:
            again = by_manifest.search(queries, k)
            assert np.array_equal(again[0], ids) and np.array_equal(again[1], scores)


def test_entries_and_shards():
    rows, dim, _, _, shards = meta()
    ids, units = raw("ids.i64", np.int64), raw("unit_f32.f32", np.float32, dim)
    index_set = biomedclip.IndexSet(shard_paths("f32", shards))
    for row in (0, 399, 400, 657, rows - 1):
        assert index_set.find(int(ids[row])) == int(ids[row]) >> 32
        assert index_set.text(int(ids[row])) == "row %d" % row
        assert np.array_equal(index_set.vector(int(ids[row])), units[row])
    with pytest.raises(biomedclip.NotFoundError):
        index_set.find(12345678901234)
    shard = index_set.shard(2)
    assert len(shard) == 257
    with pytest.raises(IndexError):
        index_set.shard(shards)
    index_set.close()
    assert shard.closed  # a shard belongs to its set


def python_manifest(folder, names):
    """A manifest as docs/index-format.md describes it, written here with zlib."""
    lines = []
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        if not lines:
            lines = ["BMCINDEXSET 1\n", "dim %d\n" % int.from_bytes(data[16:20], "little"),
                     "dtype %d\n" % int.from_bytes(data[12:16], "little"),
                     "shards %d\n" % len(names)]
        lines.append("shard %d %d %08x %s\n" % (int.from_bytes(data[24:32], "little"), len(data),
                                                zlib.crc32(data[:60]), name))
    text = "".join(lines).encode()
    return text + b"crc32 %08x\n" % zlib.crc32(text)


def test_shards_written_here(tmp_path):
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    names = []
    one = biomedclip.Index(16)
    for s, (start, stop) in enumerate(((0, 120), (120, 121), (121, 300))):
        shard = biomedclip.Index(16)
        shard.add(vectors[start:stop], np.arange(start, stop) + (s << 40),
                  ["image_%d.png" % i for i in range(start, stop)])
        names.append("part-%05d.bmcidx" % s)
        shard.save(tmp_path / names[-1])
        one.append(shard)
    manifest = tmp_path / "archive.bmcset"
    biomedclip.IndexSet.write_manifest(manifest, names)
    assert manifest.read_bytes() == python_manifest(str(tmp_path), names)
    queries = rng.standard_normal((7, 16)).astype(np.float32)
    with biomedclip.IndexSet.open_manifest(manifest) as index_set:
        got, want = index_set.search(queries, 9), one.search(queries, 9)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert index_set.text(int(got[0][0, 0])) == one.text(int(got[0][0, 0]))
    # a damaged manifest, a shard rewritten since, ids in two shards
    damaged = bytearray(manifest.read_bytes())
    damaged[20] ^= 1
    (tmp_path / "damaged.bmcset").write_bytes(bytes(damaged))
    with pytest.raises(biomedclip.CorruptDataError):
        biomedclip.IndexSet.open_manifest(tmp_path / "damaged.bmcset")
    rewritten = biomedclip.Index(16)
    rewritten.add(-vectors[120:121], [120 + (1 << 40)], ["image_120.png"])
    rewritten.save(tmp_path / names[1])
    with pytest.raises(biomedclip.CorruptDataError, match="checksum"):
        biomedclip.IndexSet.open_manifest(manifest)
    with pytest.raises(biomedclip.InvalidArgumentError, match="unique"):
        biomedclip.IndexSet([tmp_path / names[0], tmp_path / names[0]])
    with pytest.raises(TypeError):
        biomedclip.IndexSet(str(tmp_path / names[0]))
    with pytest.raises(ValueError):
        biomedclip.IndexSet([])
