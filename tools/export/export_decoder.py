#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write a segmentation decoder archive for libbiomedclip from a CLIPSeg decoder state dict.

    /usr/bin/python3 -m tools.export.export_decoder --base model.bmc.pt --checkpoint WEIGHTS \
        --out decoder.bmcseg.pt [--taps 4 7 10 | --extract-layers 3 6 9] [--heads 4] \
        [--resize-mode squash|shortest_crop] [--interpolation bilinear|bicubic] [--name NAME]

WEIGHTS is one of
  - a Hugging Face CLIPSegForImageSegmentation checkpoint (pytorch_model.bin or
    model.safetensors): the `decoder.*` tensors are taken, everything else (`clip.*`) ignored;
  - a bare CLIPSegDecoder state dict (keys reduces.N..., film_mul..., layers.N...,
    transposed_convolution...);
  - a checkpoint of tools/train/train_segmentation.py (it carries its taps and preprocessing; the
    options here override them).
Taps are in the numbering of the bundle's image_hidden_states (0 = the embeddings, k = the
output of ViT block k); Hugging Face's extract_layers [3, 6, 9] are hidden states 4, 7, 10
(--extract-layers adds the one). Head counts are not in the weights (default 4, CLIPSeg's).

The archive is one TorchScript file (torch.jit.save of the scripted decoder, float32, CPU),
forward(activations: List[Tensor], conditional: Tensor) -> [N, S, S] logits, with an extra
file decoder.json; docs/segmentation.md describes it. The base bundle is read for the facts
the decoder must agree with (embedding size, vision width and depth, image size) and its
identity (name, source), which the library checks at load. Before the file is renamed into
place it is read back and compared with the eager decoder on random activations.
"""
import argparse
import dataclasses
import json
import os
import sys
import tempfile
from typing import Dict, Optional, Tuple

import torch

from tools.reference import bert_tokenizer
from tools.export.checkpoint import CheckpointError, load_checkpoint
from tools.reference.clipseg_decoder import ClipSegDecoder, DecoderConfig, load_decoder, state_dict_config
from tools.reference.seg_reference import Preprocess

FORMAT = "biomedclip-segmentation-decoder"
FORMAT_VERSION = 1
ROUND_TRIP_TOLERANCE = 1e-4


class ExportError(Exception):
    pass


def read_base(path: str):
    """(scripted base module, its bundle.json as a dict, its vocabulary {token: id})."""
    files = {"bundle.json": "", "vocab.txt": ""}
    try:
        module = torch.jit.load(path, map_location="cpu", _extra_files=files)
    except (RuntimeError, ValueError) as e:
        raise ExportError(f"{path}: not a TorchScript bundle: {e}") from None
    if not files["bundle.json"]:
        raise ExportError(f"{path}: not a biomedclip bundle (no bundle.json)")
    meta = json.loads(files["bundle.json"])
    with tempfile.NamedTemporaryFile("wb", suffix=".txt") as vocab_file:
        vocab_file.write(files["vocab.txt"] if isinstance(files["vocab.txt"], bytes)
                         else files["vocab.txt"].encode("utf-8"))
        vocab_file.flush()
        vocab = bert_tokenizer.load_vocab(vocab_file.name)
    return module.eval(), meta, vocab


def base_facts(meta: Dict) -> Dict:
    """What decoder.json records about the base model."""
    vision = meta["vision"]
    return {"name": meta.get("name", ""), "source": meta.get("source", ""),
            "embed_dim": meta["embed_dim"], "image_size": meta["image_size"],
            "patch_size": vision["patch_size"], "vision_width": vision["width"],
            "vision_layers": vision["layers"]}


def check_fits_base(cfg: DecoderConfig, pre: Preprocess, meta: Dict) -> None:
    vision = meta["vision"]
    problems = []
    if cfg.vision_width != vision["width"]:
        problems.append(f"reduces read width {cfg.vision_width}, the base's ViT is {vision['width']} wide")
    if cfg.cond_dim != meta["embed_dim"]:
        problems.append(f"FiLM reads {cfg.cond_dim}-d text embeddings, the base makes {meta['embed_dim']}-d")
    if max(cfg.taps) > vision["layers"]:
        problems.append(f"tap {max(cfg.taps)} is past the base's {vision['layers']} blocks")
    if pre.image_size != meta["image_size"] or cfg.map_size != meta["image_size"]:
        problems.append(f"the decoder works at {pre.image_size}, the base at {meta['image_size']}")
    if problems:
        raise ExportError("the decoder does not fit the base model: " + "; ".join(problems))


def decoder_metadata(cfg: DecoderConfig, pre: Preprocess, base_meta: Dict, name: str,
                     source: str) -> Dict:
    """decoder.json, as docs/segmentation.md describes it."""
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name, "source": source,
            "architecture": "clipseg", "taps": list(cfg.taps), "conditioning": "text_embedding",
            "map_size": cfg.map_size}
    meta.update(pre.as_json())
    arch = dataclasses.asdict(cfg)
    del arch["taps"]
    meta["decoder"] = arch
    meta["base"] = base_facts(base_meta)
    return meta


def round_trip_error(eager: ClipSegDecoder, scripted, cfg: DecoderConfig) -> float:
    gen = torch.Generator().manual_seed(0)
    tokens = cfg.grid_size ** 2 + 1
    states = [torch.randn(2, tokens, cfg.vision_width, generator=gen) for _ in cfg.taps]
    cond = torch.randn(2, cfg.cond_dim, generator=gen)
    with torch.no_grad():
        return (scripted(states, cond) - eager(states, cond)).abs().max().item()


def write_decoder(state: Dict[str, torch.Tensor], cfg: DecoderConfig, pre: Preprocess,
                  base_meta: Dict, out: str, name: str = "clipseg-decoder",
                  source: str = "") -> Dict:
    """Script the decoder with `state` and write the archive at `out` (through a temporary
    file, renamed after a successful read-back). Returns decoder.json."""
    check_fits_base(cfg, pre, base_meta)
    try:
        eager = load_decoder(state, cfg)
    except ValueError as e:
        raise ExportError(str(e)) from None
    meta = decoder_metadata(cfg, pre, base_meta, name, source)
    tmp = out + ".tmp"
    torch.jit.save(torch.jit.script(eager), tmp,
                   _extra_files={"decoder.json": json.dumps(meta, indent=2) + "\n"})
    try:
        files = {"decoder.json": ""}
        loaded = torch.jit.load(tmp, map_location="cpu", _extra_files=files)
        if json.loads(files["decoder.json"]) != meta:
            raise ExportError("decoder.json read back from the archive differs")
        error = round_trip_error(eager, loaded, cfg)
        if not error <= ROUND_TRIP_TOLERANCE:
            raise ExportError(f"the saved TorchScript differs from the eager decoder by {error:g}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return meta


CHECKPOINT_FORMAT = "biomedclip-segmentation-checkpoint"


def save_checkpoint(path: str, cfg: DecoderConfig, pre: Preprocess,
                    state: Dict[str, torch.Tensor], metrics: Dict) -> None:
    """tools/train/train_segmentation.py's checkpoint: the state dict and, as one JSON string (which
    torch.load(weights_only=True) reads, unlike floats in a pickle), the config, the
    preprocessing and the held-out metrics."""
    settings = {"config": dataclasses.asdict(cfg), "preprocess": pre.as_json(), "metrics": metrics}
    torch.save({"format": CHECKPOINT_FORMAT, "settings": json.dumps(settings),
                "state_dict": state}, path)


def read_weights(path: str) -> Tuple[Dict[str, torch.Tensor], Optional[Dict]]:
    """The decoder's tensors without prefix, and the training checkpoint's settings (config,
    preprocess, metrics) if it is one."""
    extras = None
    if not path.endswith(".safetensors"):
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # torch raises many types for a bad file
            raise ExportError(f"{path}: cannot read as a torch checkpoint: {e}") from None
        if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
            return {k: v.float() for k, v in obj["state_dict"].items()}, json.loads(obj["settings"])
    try:
        state = load_checkpoint(path)
    except CheckpointError as e:
        raise ExportError(str(e)) from None
    if any(k.startswith("decoder.") for k in state):
        state = {k[len("decoder."):]: v for k, v in state.items() if k.startswith("decoder.")}
    return state, extras


def export(args) -> Dict:
    _, base_meta, _ = read_base(args.base)
    state, extras = read_weights(args.checkpoint)
    vision = base_meta["vision"]
    saved_cfg = extras["config"] if extras else {}
    saved_pre = Preprocess.from_json(extras["preprocess"]) if extras else None
    taps = (args.taps or ([e + 1 for e in args.extract_layers] if args.extract_layers else None)
            or saved_cfg.get("taps"))
    if not taps:
        raise ExportError("give --taps (hidden states) or --extract-layers (Hugging Face's)")
    pre = Preprocess(base_meta["image_size"],
                     args.resize_mode or (saved_pre.resize_mode if saved_pre else "squash"),
                     args.interpolation or (saved_pre.interpolation if saved_pre else "bilinear"),
                     tuple(base_meta["image_mean"]), tuple(base_meta["image_std"]))
    try:
        cfg = state_dict_config(state, taps, heads=args.heads or saved_cfg.get("heads", 4),
                                patch_size=vision["patch_size"],
                                grid_size=base_meta["image_size"] // vision["patch_size"],
                                layer_norm_eps=args.layer_norm_eps or saved_cfg.get("layer_norm_eps", 1e-5),
                                conditional_layer=saved_cfg.get("conditional_layer", 0))
    except ValueError as e:
        raise ExportError(str(e)) from None
    source = args.source or f"{os.path.basename(args.checkpoint)}"
    return write_decoder(state, cfg, pre, base_meta, args.out, name=args.name, source=source)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the BiomedCLIP bundle the decoder runs on")
    parser.add_argument("--checkpoint", required=True, help="decoder weights (see above)")
    parser.add_argument("--out", required=True, help="decoder archive to write")
    taps = parser.add_mutually_exclusive_group()
    taps.add_argument("--taps", type=int, nargs="+", help="hidden states (0 = embeddings)")
    taps.add_argument("--extract-layers", type=int, nargs="+",
                      help="Hugging Face CLIPSeg's extract_layers (hidden state = layer + 1)")
    parser.add_argument("--heads", type=int, help="decoder attention heads (default 4)")
    parser.add_argument("--layer-norm-eps", type=float, help="decoder LayerNorm eps (default 1e-5)")
    parser.add_argument("--resize-mode", choices=("squash", "shortest_crop"),
                        help="image transform (default: the checkpoint's, else squash)")
    parser.add_argument("--interpolation", choices=("bilinear", "bicubic"),
                        help="Pillow filter of the transform (default: the checkpoint's, else bilinear)")
    parser.add_argument("--name", default="clipseg-decoder")
    parser.add_argument("--source", help="provenance text (default: the weights' file name)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        meta = export(args)
    except (ExportError, OSError) as e:
        print(f"export_decoder: error: {e}", file=sys.stderr)
        return 1
    d = meta["decoder"]
    print(f"wrote {args.out}: {meta['name']}, taps {meta['taps']}, reduce_dim {d['reduce_dim']}, "
          f"{len(meta['taps'])} layers x {d['heads']} heads, {'refined' if d['refined'] else 'plain'} "
          f"head, {meta['resize_mode']} {meta['interpolation']} {meta['image_size']}, "
          f"base {meta['base']['name']} ({meta['base']['source']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
