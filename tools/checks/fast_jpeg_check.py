#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks for tests/check_fast_jpeg.sh: the opt-in JPEG draft decode (fast_jpeg).

    /usr/bin/python3 -m tools.checks.fast_jpeg_check MODEL IMAGE_FIXTURES WORK

The reference is Pillow 9.4 itself: Image.open(path); draft('RGB', (S, S)); convert('RGB')
must give the very pixels (and size) of bmc_image_load_file_draft(path, S) for JPEGs at every
scale (1/1, 1/2, 1/4, 1/8), every colour layout the fixtures have, and PNGs (draft ignored).
The embeddings of the fast path are then compared with the exact path's on the large JPEGs:
their cosine must be >= MIN_COSINE, and each figure is printed (docs/performance.md quotes
them).
Prints one "ok"/"FAIL" line per check and "fast_jpeg: N passed, N failed"; exits 1 on failure.
"""
import os
import sys

import numpy as np
from PIL import Image as PILImage

import biomedclip

# The tiny test model's embeddings stay >= 0.995 from the exact path except where a 1/8
# decode leaves the short side just above 224 (1801 x 2333 -> 226 x 292: 0.974 measured): the
# 1/8 inverse DCT is close to an 8 x 8 box average, which then replaces most of the bicubic
# filter's antialiasing. The bar is set below that worst case, not at it.
MIN_COSINE = 0.97
SIZE = 224


def make_jpegs(fixtures, work):
    """Large JPEGs at each draft scale, resampled from the 4096 x 4096 fixture (natural-ish
    content) so that each scale and colour layout is exercised; returns their paths."""
    big = PILImage.open(os.path.join(fixtures, "big_4096x4096.jpg")).convert("RGB")
    made = []
    for name, size, mode, options in [
        ("rgb_1000x700_s2", (1000, 700), "RGB", {"quality": 90}),
        ("gray_1500x1000_s4", (1500, 1000), "L", {"quality": 85}),
        ("cmyk_900x950_s4", (900, 950), "CMYK", {"quality": 90}),
        ("rgb_2000x1800_progressive_s8", (2000, 1800), "RGB", {"quality": 85, "progressive": True}),
        ("rgb_1801x2333_422_s8", (1801, 2333), "RGB", {"quality": 80, "subsampling": 1}),
        ("rgb_447x900_s1", (447, 900), "RGB", {"quality": 90}),
    ]:
        path = os.path.join(work, name + ".jpg")
        big.resize(size, PILImage.BICUBIC).convert(mode).save(path, "JPEG", **options)
        made.append(path)
    return made


def main():
    model_path, fixtures, work = sys.argv[1:]
    passed = failed = 0

    def report(ok, message):
        nonlocal passed, failed
        passed, failed = passed + ok, failed + (not ok)
        print(("ok   " if ok else "FAIL ") + message)

    jpegs = [os.path.join(fixtures, n) for n in sorted(os.listdir(fixtures)) if n.endswith(".jpg")]
    jpegs += make_jpegs(fixtures, work)
    pngs = [os.path.join(fixtures, n) for n in ("png_rgb8.png", "gray_17x3000.png")]

    # Pixels: the library's draft decode against Pillow's draft decode.
    for path in jpegs + pngs:
        name = os.path.basename(path)
        reference = PILImage.open(path)
        full = reference.size
        if path.endswith(".jpg"):
            reference.draft("RGB", (SIZE, SIZE))
        reference = np.asarray(reference.convert("RGB"))
        ours = biomedclip.Image.open(path, draft=SIZE)
        got = ours.to_rgb8()
        same = got.shape == reference.shape and np.array_equal(got, reference)
        short = min(ours.size)
        report(same and short >= min(SIZE, min(full)),
               f"{name}: {full[0]}x{full[1]} -> {ours.width}x{ours.height}, "
               f"{'equal to' if same else 'DIFFERENT from'} Pillow's draft('RGB', ({SIZE}, {SIZE}))")

    # Bad sizes are refused.
    for bad in (0, -1, 4097):
        try:
            biomedclip.Image.open(jpegs[0], draft=bad)
            report(False, f"draft size {bad} accepted")
        except biomedclip.InvalidArgumentError:
            report(True, f"draft size {bad} refused")

    # Embeddings: fast path vs exact path, and the fast encode_files vs encode of draft images.
    model = biomedclip.Model(model_path)
    large = [p for p in jpegs if min(PILImage.open(p).size) >= 2 * SIZE]
    exact = model.image_encoder().encode_files(large)
    fast = model.image_encoder(fast_jpeg=True).encode_files(large)
    drafts = model.image_encoder().encode([biomedclip.Image.open(p, draft=SIZE) for p in large])
    report(np.array_equal(fast, drafts),
           "fast_jpeg encode_files equals encode() of the draft-loaded images, bit for bit")
    for path, a, b in zip(large, exact, fast):
        cosine = float(np.dot(a.astype(np.float64), b.astype(np.float64)) /
                       (np.linalg.norm(a.astype(np.float64)) * np.linalg.norm(b.astype(np.float64))))
        report(cosine >= MIN_COSINE,
               f"{os.path.basename(path)}: cosine to the exact path {cosine:.6f} (>= {MIN_COSINE})")
    # Small JPEGs and PNGs: the fast path is the exact path.
    rest = [p for p in jpegs if p not in large] + pngs
    report(np.array_equal(model.image_encoder(fast_jpeg=True).encode_files(rest),
                          model.image_encoder().encode_files(rest)),
           f"{len(rest)} small JPEGs and PNGs: fast_jpeg embeddings equal the exact ones")

    print(f"fast_jpeg: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
