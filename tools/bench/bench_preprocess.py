#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Image decoding + preprocessing throughput, single thread, one process, same files:
libbiomedclip (through ctypes) against its reference, Pillow 9.4 + torch doing open_clip's
transform (Resize(224, BICUBIC) on the short side, CenterCrop(224), convert('RGB'),
ToTensor, Normalize). Before timing it checks that both give the same tensor. The images are
the fixtures' and a radiograph-sized 16-bit grey PNG made here (radiograph_png).

Usage: /usr/bin/python3 -m tools.bench.bench_preprocess BUILD_DIR
(needs BUILD_DIR/libbiomedclip.so and the image fixtures in BUILD_DIR/fixtures/image).
"""
import ctypes
import os
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image

MEAN = torch.as_tensor((0.48145466, 0.4578275, 0.40821073), dtype=torch.float32)[:, None, None]
STD = torch.as_tensor((0.26862954, 0.26130258, 0.27577711), dtype=torch.float32)[:, None, None]
IMAGES = ["images/jpeg_rgb_420.jpg", "images/png_rgb8.png", "images/png_gray16.png", "images/png_rgba8.png",
          "images/size_3000x17.png", "images/big_4096x4096.jpg"]


def radiograph_png(folder):
    """A stand-in for the commonest radiology input, a digital radiograph stored as 16-bit grey
    PNG: 2500 x 2048, smooth structure with film-like noise (so that it compresses as such
    images do, 8 MB here), written by Pillow; seeded, so every run times the same file."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:2048, 0:2500]
    body = 20000 + 15000 * np.sin(x / 300.0) * np.cos(y / 250.0) + rng.normal(0, 300, (2048, 2500))
    path = os.path.join(folder, "radiograph_2500x2048.png")
    Image.fromarray(body.clip(0, 65535).astype(np.uint16), mode="I;16").save(path)
    return path


def pillow_torch(path):
    im = Image.open(path)
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    if short != 224:
        new_long = int(224 * long / short)
        im = im.resize((224, new_long) if w <= h else (new_long, 224), Image.BICUBIC)
    w, h = im.size
    top, left = int(round((h - 224) / 2.0)), int(round((w - 224) / 2.0))
    im = im.crop((left, top, left + 224, top + 224)).convert("RGB")
    t = torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
    return t.sub_(MEAN).div_(STD)


class Library:
    def __init__(self, build):
        self.lib = ctypes.CDLL(os.path.join(build, "libbiomedclip.so"))
        self.lib.bmc_image_load_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        self.lib.bmc_preprocess.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        self.lib.bmc_image_free.argtypes = [ctypes.c_void_p]
        self.lib.bmc_last_error.restype = ctypes.c_char_p
        self.out = np.empty((3, 224, 224), dtype=np.float32)

    def preprocess(self, path):
        image = ctypes.c_void_p()
        status = self.lib.bmc_image_load_file(path.encode(), ctypes.byref(image))
        if status == 0:
            status = self.lib.bmc_preprocess(image, None, self.out.ctypes.data, self.out.size)
            self.lib.bmc_image_free(image)
        if status != 0:
            sys.exit(f"bench_preprocess: {path}: {self.lib.bmc_last_error().decode()}")
        return self.out


def seconds_per_call(fn, path, budget=1.0):
    """CPU time of this process per call: steadier than wall time on a shared machine, and the
    same measure for both sides (everything runs on this one thread)."""
    fn(path)
    calls, start = 0, time.process_time()
    while calls < 3 or time.process_time() - start < budget:
        fn(path)
        calls += 1
    return (time.process_time() - start) / calls


# glibc's mmap and trim thresholds move with the process's allocation history: with its
# defaults, Pillow + torch took anywhere from 1.7 to 6.7 ms on the same 333x250 JPEG in
# different runs of this benchmark, as each call's buffers were mapped, faulted in and trimmed
# again or not. Both sides therefore run with fixed thresholds, so the figures are the work done.
STEADY_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "67108864", "MALLOC_TRIM_THRESHOLD_": "268435456"}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if any(os.environ.get(k) != v for k, v in STEADY_MALLOC.items()):
        os.execve(sys.executable, [sys.executable, "-m", "tools.bench.bench_preprocess"] + sys.argv[1:],
                  dict(os.environ, **STEADY_MALLOC))
    build = sys.argv[1]
    fixtures = os.path.join(build, "fixtures", "image")
    torch.set_num_threads(1)
    lib = Library(build)
    print("preprocessing benchmark (decode + resize + crop + normalise, 1 thread, glibc's malloc "
          "thresholds fixed), CPU ms per image")
    print(f"  {'image':28s} {'size':>10s} {'libbiomedclip':>14s} {'Pillow+torch':>13s} {'ratio':>7s}")
    ratios = []
    with tempfile.TemporaryDirectory() as scratch:
        for path in [os.path.join(fixtures, rel) for rel in IMAGES] + [radiograph_png(scratch)]:
            if not os.path.exists(path):
                sys.exit(f"bench_preprocess: {path} is missing (make fixtures BUILD={build})")
            reference = pillow_torch(path).numpy()
            difference = float(np.abs(lib.preprocess(path) - reference).max())
            if difference > 1e-6:
                sys.exit(f"bench_preprocess: {path}: tensors differ by {difference}")
            ours, theirs = seconds_per_call(lib.preprocess, path), seconds_per_call(pillow_torch, path)
            ratios.append(theirs / ours)
            w, h = Image.open(path).size
            print(f"  {os.path.basename(path):28s} {f'{w}x{h}':>10s} {ours * 1e3:14.2f} {theirs * 1e3:13.2f} "
                  f"{theirs / ours:6.2f}x")
    print(f"  geometric mean speed-up: {float(np.exp(np.mean(np.log(ratios)))):.2f}x (same tensors, max diff 0)")


if __name__ == "__main__":
    main()
