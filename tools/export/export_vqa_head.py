#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Export a trained VQA head checkpoint as the head archive the library loads.

    /usr/bin/python3 -m tools.export.export_vqa_head --checkpoint HEAD.ckpt --out HEAD.vqa.pt \
        [--model BASE.bmc.pt] [--name NAME] [--attention auto|fused|matmul]

The checkpoint is what tools/train/train_vqa.py --checkpoint saves (the state dict and the head's
metadata); it is loaded strictly into the architecture its metadata names and written through
the same exporter as train_vqa.py uses (tools/reference/vqa_head.py: TorchScript + vqa_head.json, read
back and compared with the eager head). --attention picks the attention code in the archive
(auto: PyTorch's fused attention where the exporting torch has it, e.g. for GPUs). With
--model, the base bundle must be the one the head was trained on (same source and sizes).
"""
import argparse
import json
import sys

import torch

from tools.reference import vqa_head


def check_base(meta: dict, bundle: str) -> None:
    files = {"bundle.json": ""}
    torch.jit.load(bundle, map_location="cpu", _extra_files=files)
    base = json.loads(files["bundle.json"])
    want = meta["base"]
    have = {"source": base["source"], "embed_dim": base["embed_dim"], "image_size": base["image_size"],
            "vision_width": base["vision"]["width"], "text_width": base["text"]["width"]}
    wrong = [f"{k} {want[k]!r} (the bundle has {v!r})" for k, v in have.items() if want.get(k) != v]
    if wrong:
        raise vqa_head.ExportError(f"{bundle} is not the model the head was trained on: " + ", ".join(wrong))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a checkpoint of tools/train/train_vqa.py")
    parser.add_argument("--out", required=True, help="the head archive to write (e.g. head.vqa.pt)")
    parser.add_argument("--model", help="the base bundle, to check the head belongs to it")
    parser.add_argument("--name", help="a new name for the head")
    parser.add_argument("--attention", choices=("auto", "fused", "matmul"), default="auto")
    args = parser.parse_args(argv)
    try:
        head, meta = vqa_head.load_checkpoint(args.checkpoint, impl=args.attention)
        if args.model:
            check_base(meta, args.model)
        if args.name:
            meta["name"] = args.name
        error = vqa_head.export_head(head, meta, args.out)
    except (vqa_head.ExportError, OSError, KeyError, RuntimeError, ValueError) as e:
        print(f"export_vqa_head: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {meta['name']}, {meta['architecture']} head, {len(meta['answers'])} answers, "
          f"base {meta['base']['name']} ({meta['base']['source']}); TorchScript vs eager max abs diff "
          f"{error:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
