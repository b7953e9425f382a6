#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Export a bundle's two towers to ONNX, so that ONNX Runtime runs the very weights the library
runs (the peer of `make bench`).

    /usr/bin/python3 -m tools.export.export_onnx BUNDLE OUTDIR

Writes OUTDIR/image.onnx (input `pixels` float32 [N, 3, S, S], normalised as the library's
preprocessing leaves them -> output `embedding` float32 [N, E], raw) and OUTDIR/text.onnx
(input `ids` int64 [N, L], L <= the context length, padding = the bundle's pad_id -> output
`embedding` float32 [N, E], raw); opset 17, dynamic batch, and dynamic length for text. The
weights are read out of the bundle's TorchScript into the eager reference model
(tools/reference/biomedclip_model.py, plain matmul attention, which every opset has), and the
sizes from its bundle.json. OUTDIR/reference.npz keeps the eager outputs on a random batch, so
a runtime can be checked against them (tests/check_onnx_export.sh).
"""
import json
import os
import sys

import numpy as np
import torch

from tools.export.checkpoint import build_model, infer_config
from tools.export.export_bundle import random_inputs

OPSET = 17


class _Tower(torch.nn.Module):
    """One encode_* method of the model as a module's forward, for torch.onnx.export."""

    def __init__(self, model, method: str):
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, x):
        return getattr(self.model, self.method)(x)


def eager_from_bundle(bundle: str):
    """The eager reference model holding the bundle's weights, and its config."""
    files = {"bundle.json": ""}
    scripted = torch.jit.load(bundle, map_location="cpu", _extra_files=files)
    meta = json.loads(files["bundle.json"])
    state = {k: v.float() for k, v in scripted.state_dict().items()}
    cfg = infer_config(state, context_length=meta["context_length"], pad_id=meta["pad_id"],
                       vision_heads=meta["vision"]["heads"], text_heads=meta["text"]["heads"])
    return build_model(state, cfg, attention="matmul"), cfg


def export(bundle: str, out_dir: str) -> dict:
    """Write image.onnx, text.onnx and reference.npz into out_dir; returns their paths."""
    model, cfg = eager_from_bundle(bundle)
    os.makedirs(out_dir, exist_ok=True)
    pixels, ids = random_inputs(cfg)
    written = {}
    for name, method, example, axes in (
            ("image", "encode_image", pixels, {0: "batch"}),
            ("text", "encode_text", ids, {0: "batch", 1: "length"})):
        path = os.path.join(out_dir, name + ".onnx")
        tmp = path + ".tmp"
        input_name = "pixels" if name == "image" else "ids"
        with torch.no_grad():
            torch.onnx.export(_Tower(model, method), (example,), tmp, opset_version=OPSET,
                              input_names=[input_name], output_names=["embedding"],
                              dynamic_axes={input_name: axes, "embedding": {0: "batch"}},
                              do_constant_folding=True)
        os.replace(tmp, path)
        written[name] = path
    with torch.no_grad():
        reference = {"pixels": pixels.numpy(), "ids": ids.numpy(),
                     "image_embedding": model.encode_image(pixels).numpy(),
                     "text_embedding": model.encode_text(ids).numpy()}
    written["reference"] = os.path.join(out_dir, "reference.npz")
    np.savez(written["reference"], **reference)
    return written


def main(argv) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    for name, path in export(argv[1], argv[2]).items():
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
