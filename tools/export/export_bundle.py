#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Convert an open_clip BiomedCLIP checkpoint into a model bundle for libbiomedclip.

    /usr/bin/python3 -m tools.export.export_bundle --checkpoint open_clip_pytorch_model.bin \
        --vocab vocab.txt --out biomedclip.bmc.pt [--name NAME]

The bundle is one TorchScript archive (torch.jit.save) holding the scripted model, float32 on
the CPU, with the methods encode_image and encode_text (leaner than the reference's, the same
result: tools/export/bundle_model.py), and two extra files: bundle.json (the metadata) and
vocab.txt (the vocabulary, byte for byte). docs/model-bundle.md is the format.
The checkpoint is loaded strictly; before reporting success the exporter loads the written
archive back and compares it with the eager model on a random batch.
"""
import argparse
import hashlib
import json
import os
import sys
from typing import Dict, Optional

import torch

from tools.reference.biomedclip_model import (BiomedCLIP, FusedAttention, ModelConfig,
                                              count_parameters)
from tools.export.bundle_model import BundleModel
from tools.export.checkpoint import CheckpointError, build_model, infer_config, load_checkpoint

FORMAT = "biomedclip-bundle"
FORMAT_VERSION = 1
# open_clip's OPENAI_DATASET_MEAN / _STD, which BiomedCLIP's preprocess config uses.
IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]
# Largest difference between the reloaded archive and the eager model that still passes: the
# bundle's encoders skip only work whose result is never read (bundle_model.py), so anything
# but rounding noise means a broken export.
ROUND_TRIP_TOLERANCE = 1e-4


class ExportError(Exception):
    pass


def read_vocab(path: str) -> bytes:
    """The vocabulary file's bytes, checked to be UTF-8 text with a [PAD] entry."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ExportError(f"{path}: vocabulary is not UTF-8: {e}") from None
    return data


def vocab_tokens(data: bytes):
    """One token per line, id = 0-based line number (a final newline ends the last line)."""
    text = data.decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def pad_id_of(tokens) -> int:
    try:
        return tokens.index("[PAD]")
    except ValueError:
        raise ExportError("vocabulary has no [PAD] entry") from None


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_metadata(cfg: ModelConfig, name: str, source: str, logit_scale: float) -> Dict:
    """bundle.json, as docs/model-bundle.md describes it."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "source": source,
        "embed_dim": cfg.embed_dim,
        "image_size": cfg.image_size,
        "image_mean": IMAGE_MEAN,
        "image_std": IMAGE_STD,
        "resize_mode": "shortest_crop",
        "interpolation": "bicubic",
        "context_length": cfg.context_length,
        "logit_scale": logit_scale,
        "pad_id": cfg.pad_id,
        "vision": {"patch_size": cfg.patch_size, "width": cfg.vision_width,
                   "layers": cfg.vision_layers, "heads": cfg.vision_heads,
                   "mlp_dim": cfg.vision_mlp},
        "text": {"vocab_size": cfg.vocab_size, "width": cfg.text_width,
                 "layers": cfg.text_layers, "heads": cfg.text_heads, "mlp_dim": cfg.text_mlp,
                 "max_positions": cfg.max_positions, "proj_hidden": cfg.proj_hidden},
        "tokenizer": {"lowercase": True, "clean": "whitespace"},
    }


def random_inputs(cfg: ModelConfig, seed: int = 0):
    """Two images and three id rows of different lengths padded with pad_id, as the library
    sends them (the longest row fills the batch)."""
    gen = torch.Generator().manual_seed(seed)
    pixels = torch.randn(2, 3, cfg.image_size, cfg.image_size, generator=gen)
    ids = torch.randint(0, cfg.vocab_size, (3, min(cfg.context_length, 40)), generator=gen)
    ids[ids == cfg.pad_id] = (cfg.pad_id + 1) % cfg.vocab_size  # no padding inside a text
    ids[1, 25:] = cfg.pad_id
    ids[2, 3:] = cfg.pad_id
    return pixels, ids


def round_trip_error(model: BiomedCLIP, scripted, cfg: ModelConfig) -> float:
    """Largest absolute difference between two models on a random batch."""
    pixels, ids = random_inputs(cfg)
    with torch.no_grad():
        image_diff = (scripted.encode_image(pixels) - model.encode_image(pixels)).abs().max()
        text_diff = (scripted.encode_text(ids) - model.encode_text(ids)).abs().max()
    return max(image_diff.item(), text_diff.item())


def lean_copy(model: BiomedCLIP, cfg: ModelConfig) -> BundleModel:
    """The bundle's model (tools/export/bundle_model.py) with `model`'s weights."""
    attention = "fused" if isinstance(model.visual.trunk.blocks[0].attn.core, FusedAttention) \
        else "matmul"
    lean = BundleModel(cfg, attention)
    lean.load_state_dict(model.state_dict(), strict=True)
    return lean.eval()


def write_bundle(model: BiomedCLIP, cfg: ModelConfig, vocab: bytes, out: str, name: str,
                 source: str) -> Dict:
    """Script the lean copy of `model` and write the bundle at `out` (through a temporary file,
    renamed only after the written archive was read back and matched the eager model). Returns
    facts about it: metadata, parameters, round_trip_error."""
    if len(vocab_tokens(vocab)) != cfg.vocab_size:
        raise ExportError(f"vocabulary has {len(vocab_tokens(vocab))} entries, the model's "
                          f"word embeddings {cfg.vocab_size}")
    model = model.float().eval()
    meta = bundle_metadata(cfg, name, source, float(model.logit_scale.item()))
    scripted = torch.jit.script(lean_copy(model, cfg))
    tmp = out + ".tmp"
    extra = {"bundle.json": json.dumps(meta, indent=2) + "\n", "vocab.txt": vocab}
    torch.jit.save(scripted, tmp, _extra_files=extra)
    try:
        back_files = {"bundle.json": "", "vocab.txt": ""}
        loaded = torch.jit.load(tmp, map_location="cpu", _extra_files=back_files)
        if back_files["vocab.txt"] != vocab:
            raise ExportError("vocab.txt read back from the archive differs from the input")
        if json.loads(back_files["bundle.json"]) != meta:
            raise ExportError("bundle.json read back from the archive differs")
        error = round_trip_error(model, loaded, cfg)
        if not error <= ROUND_TRIP_TOLERANCE:
            raise ExportError(f"the saved TorchScript differs from the eager model by {error:g}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return {"metadata": meta, "parameters": count_parameters(model), "round_trip_error": error}


def export(checkpoint: str, vocab_path: str, out: str, name: Optional[str] = None,
           source: Optional[str] = None, context_length: int = 256,
           vision_heads: Optional[int] = None, text_heads: Optional[int] = None,
           attention: str = "auto") -> Dict:
    """The whole conversion: read the vocabulary and the checkpoint, infer the sizes, load
    strictly, write the bundle. Raises CheckpointError or ExportError."""
    vocab = read_vocab(vocab_path)
    pad_id = pad_id_of(vocab_tokens(vocab))
    state = load_checkpoint(checkpoint)
    cfg = infer_config(state, context_length=context_length, pad_id=pad_id,
                       vision_heads=vision_heads, text_heads=text_heads)
    model = build_model(state, cfg, attention=attention)
    del state
    if source is None:
        source = f"checkpoint sha256 {file_sha256(checkpoint)}"
    if name is None:
        name = os.path.splitext(os.path.basename(out))[0].split(".")[0]
    return write_bundle(model, cfg, vocab, out, name, source)


def describe(info: Dict, out: str) -> str:
    meta = info["metadata"]
    v, t = meta["vision"], meta["text"]
    return (f"wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB): {meta['name']}, "
            f"{info['parameters']:,} parameters, embed_dim {meta['embed_dim']}, "
            f"vision {v['layers']}x{v['width']} ({v['heads']} heads), "
            f"text {t['layers']}x{t['width']} ({t['heads']} heads), "
            f"context {meta['context_length']}, logit_scale {meta['logit_scale']:.6f}; "
            f"TorchScript vs eager max abs diff {info['round_trip_error']:.3g}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True,
                        help="open_clip_pytorch_model.bin or a .safetensors checkpoint")
    parser.add_argument("--vocab", required=True, help="the text tower's WordPiece vocab.txt")
    parser.add_argument("--out", required=True, help="bundle to write (e.g. biomedclip.bmc.pt)")
    parser.add_argument("--name", help="model name stored in the bundle")
    parser.add_argument("--context-length", type=int, default=256,
                        help="tokens per text, [CLS] and [SEP] included (default 256)")
    parser.add_argument("--vision-heads", type=int, help="default: vision width / 64")
    parser.add_argument("--text-heads", type=int, help="default: text width / 64")
    parser.add_argument("--attention", choices=("auto", "fused", "matmul"), default="auto",
                        help="attention code in the bundle (auto: fused where torch has it)")
    args = parser.parse_args(argv)
    try:
        info = export(args.checkpoint, args.vocab, args.out, name=args.name,
                      context_length=args.context_length, vision_heads=args.vision_heads,
                      text_heads=args.text_heads, attention=args.attention)
    except (CheckpointError, ExportError, OSError) as e:
        print(f"export_bundle: error: {e}", file=sys.stderr)
        return 1
    print(describe(info, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
