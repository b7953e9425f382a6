#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The ONNX export of a bundle (tools/export/export_onnx.py) against the eager reference,
run by ONNX Runtime: the peer of `make bench` must compute what the library computes.

    /usr/bin/python3 -m tools.checks.check_onnx_export BUNDLE WORKDIR

Both towers, on batch sizes and text lengths other than the ones the export traced with (the
axes must really be dynamic), within 1e-4 of the eager model in absolute value and at a cosine
of at least 0.99999. Needs `npm ci` in tests/reference/onnxruntime. Prints
"onnx_export: N passed, N failed".
"""
import os
import subprocess
import sys

import numpy as np
import torch

from tools import ROOT
from tools.export import export_onnx

RUNNER = os.path.join(ROOT, "tests", "reference", "onnxruntime", "run.cjs")
TOLERANCE = 1e-4
MIN_COSINE = 0.99999

passed = failed = 0


def check(ok: bool, message: str) -> None:
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {message}")


def run_onnx(model: str, input_name: str, array: np.ndarray, work: str) -> np.ndarray:
    kind = "int64" if array.dtype == np.int64 else "float32"
    source, result = os.path.join(work, input_name + ".raw"), os.path.join(work, "out.raw")
    array.tofile(source)
    shape = ",".join(str(n) for n in array.shape)
    subprocess.run(["node", RUNNER, "infer", model, input_name, kind, shape, source, result, "1"],
                   check=True, capture_output=True, text=True)
    return np.fromfile(result, "<f4").reshape(array.shape[0], -1)


def compare(what: str, got: np.ndarray, want: np.ndarray) -> None:
    diff = float(np.abs(got - want).max())
    cosine = float(np.min(np.sum(got * want, 1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))))
    print(f"{what}: max abs diff {diff:.3g}, 1 - min cosine {1 - cosine:.3g}")
    check(got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}")
    check(diff <= TOLERANCE, f"{what}: ONNX Runtime differs from the eager model by {diff:g}")
    check(cosine >= MIN_COSINE, f"{what}: cosine {cosine:.7f}")


def main(argv) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    bundle, work = argv[1], argv[2]
    os.makedirs(work, exist_ok=True)
    written = export_onnx.export(bundle, work)
    model, cfg = export_onnx.eager_from_bundle(bundle)
    reference = np.load(written["reference"])
    compare("image tower, the traced batch", run_onnx(written["image"], "pixels", reference["pixels"], work),
            reference["image_embedding"])
    compare("text tower, the traced batch", run_onnx(written["text"], "ids", reference["ids"], work),
            reference["text_embedding"])

    gen = torch.Generator().manual_seed(1)
    pixels = torch.randn(3, 3, cfg.image_size, cfg.image_size, generator=gen)
    ids = torch.randint(1, cfg.vocab_size, (5, 17), generator=gen)
    ids[ids == cfg.pad_id] = (cfg.pad_id + 1) % cfg.vocab_size
    ids[3, 9:] = cfg.pad_id
    with torch.no_grad():
        want_images = model.encode_image(pixels).numpy()
        want_texts = model.encode_text(ids).numpy()
    compare("image tower, batch 3", run_onnx(written["image"], "pixels", pixels.numpy(), work), want_images)
    compare("text tower, batch 5 of length 17 with padding",
            run_onnx(written["text"], "ids", ids.numpy(), work), want_texts)
    print(f"onnx_export: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
