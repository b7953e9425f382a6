#!/usr/bin/python3
"""Writes the small committed images: tests/data/samples/ (run by `make demo`) and the seed
corpus tests/data/fuzz/image/ of tests/fuzz_image.c. They are synthetic (drawn with numpy,
encoded by tools/make_image_fixtures.py's PNG encoder or by Pillow), so they carry no patient
data and no licence of their own. The output is deterministic; rerun to regenerate:

    /usr/bin/python3 tools/make_sample_images.py [REPOSITORY_ROOT]
"""
import io
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_image_fixtures import alpha_plane, content, encode_png, palette_for  # noqa: E402


def blobs(rng, h, w, count, sharpness):
    """Smooth anatomy-like shapes: a sum of random Gaussian blobs, scaled to 0..1."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    field = np.zeros((h, w))
    for _ in range(count):
        cy, cx = rng.random() * h, rng.random() * w
        sy, sx = (0.05 + rng.random() * 0.2) * h, (0.05 + rng.random() * 0.2) * w
        field += (rng.random() - 0.3) * np.exp(-(((y - cy) / sy) ** 2 + ((x - cx) / sx) ** 2) * sharpness)
    field -= field.min()
    return field / max(field.max(), 1e-9)


def jpeg(array, mode, **options):
    out = io.BytesIO()
    Image.fromarray(array.astype(np.uint8), mode).save(out, "JPEG", **options)
    return out.getvalue()


def samples(rng):
    """A few images that show the modes the preprocessing handles."""
    h, w = 256, 320
    xray = blobs(rng, h, w, 40, 1.0) * 0.85 + 0.1 * rng.random((h, w))
    yield "xray_like_gray8.png", encode_png(np.rint(np.clip(xray, 0, 1) * 255), 0, 8)

    tissue = blobs(rng, 225, 300, 60, 3.0)
    rgb = np.stack([200 + 55 * tissue, 120 + 100 * (1 - tissue), 170 + 60 * tissue], axis=2)
    rgb += rng.normal(0, 6, rgb.shape)
    yield "histology_like_rgb.jpg", jpeg(np.clip(rgb, 0, 255), "RGB", quality=88)

    # CT-like stored values: 16-bit grey opens as mode I, so the preprocessing clips at 255
    # (medical 16-bit data should go through bmc_pixels with a window instead).
    ct = blobs(rng, 192, 192, 30, 2.0) * 1800 + 100
    yield "ct_like_gray16.png", encode_png(np.rint(ct), 0, 16)

    indices = content(rng, 150, 200, 1, 15, noise=0.05)
    yield "diagram_palette_trns.png", encode_png(indices, 3, 4, palette=palette_for(rng, 16),
                                                 trns=bytes(range(0, 256, 16)))


def seeds(rng):
    """Tiny files of every kind the decoders take, as a starting corpus for the fuzzer."""
    h, w = 6, 8
    for depth in (1, 2, 4, 16):
        yield f"gray{depth}.png", encode_png(content(rng, h, w, 1, (1 << depth) - 1), 0, depth)
    ga = np.concatenate([content(rng, h, w, 1, 65535), alpha_plane(rng, h, w, 65535)], axis=2)
    yield "ga16.png", encode_png(ga, 4, 16)
    yield "pal4_trns.png", encode_png(content(rng, h, w, 1, 15), 3, 4, palette=palette_for(rng, 16),
                                      trns=bytes(range(16)))
    yield "rgb16.png", encode_png(content(rng, h, w, 3, 65535), 2, 16)
    rgba = np.concatenate([content(rng, h, w, 3, 255), alpha_plane(rng, h, w, 255)], axis=2)
    yield "rgba8_interlaced.png", encode_png(rgba, 6, 8, interlace=True)
    yield "gray.jpg", jpeg(content(rng, 16, 16, 1, 255)[:, :, 0], "L", quality=80)
    yield "progressive.jpg", jpeg(content(rng, 16, 24, 3, 255), "RGB", quality=80, progressive=True)
    yield "cmyk.jpg", jpeg(content(rng, 16, 16, 4, 255), "CMYK", quality=80)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    rng = np.random.default_rng(7)
    for folder, files in (("tests/data/samples", samples(rng)), ("tests/data/fuzz/image", seeds(rng))):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        for name, data in files:
            with open(os.path.join(root, folder, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
