#!/usr/bin/env python3
"""Reference data for tests/test_index.c, computed with numpy (and zlib for checksums).

    /usr/bin/python3 tools/make_index_fixtures.py OUTDIR

Writes raw little-endian arrays plus meta.txt ("rows dim queries k"):
  vectors.f32        rows x dim float32, random normal, some rows scaled far from unit length
  ids.i64            rows distinct int64 ids in random order
  queries.f32        queries x dim float32
  unit_f32.f32       the rows L2-normalised in float64, rounded to float32
  unit_f16.u16       the same rounded again to float16 (bit patterns), as a float16 index stores
  top_f32.i64/.f64   exact top-k ids and cosine scores (float64) of the queries over unit_f32
  top_f16.i64/.f64   the same over the float16 vectors
  half_in.f32        float32 values around every float16 rounding case
  half_out.u16       numpy's float16 of each of them
  crc_data.bin       random bytes; crc.txt: zlib.crc32 of its first 0, 1, 7, 8, 9, 1000, all bytes
  python_f32.bmcidx, python_f16.bmcidx
                     index files of the first 500 rows written here from the format description
                     in include/biomedclip.h (texts include UTF-8 and empty ones); texts.txt
                     holds their texts one per line
"""
import os
import sys
import zlib

import numpy as np

ROWS, DIM, QUERIES, K = 3000, 100, 37, 15
FILE_ROWS = 500


def top_k(units, queries, ids, k):
    scores = queries.astype(np.float64) @ units.astype(np.float64).T
    # stable argsort of -score: equal scores keep the lower position first, as the index does
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ids[order], np.take_along_axis(scores, order, axis=1)


def half_cases(rng):
    """Float32 values that exercise rounding to float16: normals, subnormals, exact ties,
    overflow, signed zeros, infinities and NaN."""
    h = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16).astype(np.float32)
    h = h[np.isfinite(h)]
    lo = h[:-1].astype(np.float64)
    hi = h[1:].astype(np.float64)
    mids = ((lo + hi) / 2).astype(np.float32)  # exact ties between neighbours
    just = np.nextafter(mids, np.float32(np.inf))
    below = np.nextafter(mids, np.float32(-np.inf))
    sample = rng.choice(len(mids), 4000, replace=False)
    values = np.concatenate([
        h[::7], mids[sample], just[sample], below[sample],
        rng.standard_normal(2000).astype(np.float32),
        (rng.standard_normal(500) * 1e-6).astype(np.float32),
        np.array([0.0, -0.0, 65504, 65519.99, 65520, 1e9, np.inf, -np.inf, 2.0**-25,
                  2.0**-25 * 1.0000001, 2.0**-24, 2.0**-26, -2.0**-14], dtype=np.float32),
    ]).astype(np.float32)
    values = np.concatenate([values, -values])
    with np.errstate(over="ignore"):  # overflow to infinity is one of the cases
        return values, values.astype(np.float16).view(np.uint16)


def write_index(path, units, ids, texts, dtype_code):
    """An index file as include/biomedclip.h documents the format."""
    count, dim = units.shape
    vectors = units.astype(np.float32 if dtype_code == 1 else np.float16).tobytes()
    id_bytes = np.asarray(ids, dtype="<i8").tobytes()
    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.cumsum([0] + [len(e) for e in encoded]).astype("<u8").tobytes()
    blob = b"".join(encoded)
    sections = [vectors, id_bytes, offsets, blob]
    header = bytearray(64)
    header[0:8] = b"BMCINDEX"
    header[8:12] = (1).to_bytes(4, "little")
    header[12:16] = dtype_code.to_bytes(4, "little")
    header[16:20] = dim.to_bytes(4, "little")
    header[24:32] = count.to_bytes(8, "little")
    header[32:40] = len(blob).to_bytes(8, "little")
    for i, section in enumerate(sections):
        header[40 + 4 * i:44 + 4 * i] = zlib.crc32(section).to_bytes(4, "little")
    header[60:64] = zlib.crc32(bytes(header[:60])).to_bytes(4, "little")
    out = bytearray(header)
    for section in sections:
        out += bytes(-len(out) % 64)
        out += section
    with open(path, "wb") as f:
        f.write(out)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240611)
    vectors = rng.standard_normal((ROWS, DIM)).astype(np.float32)
    vectors[::50] *= 1000.0
    vectors[1::50] *= 0.001
    ids = rng.permutation(10 * ROWS).astype(np.int64)[:ROWS] * 7919 + 3
    queries = rng.standard_normal((QUERIES, DIM)).astype(np.float32)

    v64 = vectors.astype(np.float64)
    unit_f32 = (v64 / np.sqrt(np.sum(v64 * v64, axis=1, keepdims=True))).astype(np.float32)
    unit_f16 = unit_f32.astype(np.float16)
    q64 = queries.astype(np.float64)
    unit_queries = q64 / np.sqrt(np.sum(q64 * q64, axis=1, keepdims=True))

    def save(name, array):
        array.tofile(os.path.join(out, name))

    save("vectors.f32", vectors)
    save("ids.i64", ids)
    save("queries.f32", queries)
    save("unit_f32.f32", unit_f32)
    save("unit_f16.u16", unit_f16.view(np.uint16))
    for name, units in (("f32", unit_f32), ("f16", unit_f16)):
        top_ids, top_scores = top_k(units, unit_queries, ids, K)
        save(f"top_{name}.i64", top_ids.astype(np.int64))
        save(f"top_{name}.f64", top_scores.astype(np.float64))

    half_in, half_out = half_cases(rng)
    save("half_in.f32", half_in)
    save("half_out.u16", half_out)

    data = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    with open(os.path.join(out, "crc_data.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(out, "crc.txt"), "w") as f:
        for n in (0, 1, 7, 8, 9, 1000, len(data)):
            f.write(f"{n} {zlib.crc32(data[:n])}\n")

    words = ["pleural effusion", "", "cardiomégalie", "肺炎", "no acute findings",
             "image_%d.png", "left-sided pneumothorax \u2013 small"]
    texts = [words[i % len(words)].replace("%d", str(i)) for i in range(FILE_ROWS)]
    with open(os.path.join(out, "texts.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(texts) + "\n")
    write_index(os.path.join(out, "python_f32.bmcidx"), unit_f32[:FILE_ROWS], ids[:FILE_ROWS], texts, 1)
    write_index(os.path.join(out, "python_f16.bmcidx"), unit_f32[:FILE_ROWS], ids[:FILE_ROWS], texts, 2)

    with open(os.path.join(out, "meta.txt"), "w") as f:
        f.write(f"{ROWS} {DIM} {QUERIES} {K} {FILE_ROWS}\n")


if __name__ == "__main__":
    main()
