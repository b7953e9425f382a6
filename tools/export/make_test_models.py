#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Make BiomedCLIP test models with seeded random weights, through the real conversion path.

    /usr/bin/python3 -m tools.export.make_test_models --size tiny|full --out DIR [--seed N] [--vocab FILE]

First writes a checkpoint in open_clip's exact layout, DIR/open_clip_pytorch_model.bin (and for
the tiny size also DIR/open_clip_model.safetensors with the same tensors), then converts the .bin
with the exporter into DIR/model.bmc.pt. The full size is the real architecture (ViT-B/16 +
BERT-base, about 196M parameters) for benchmarks; the tiny one keeps the real image size, patch
size and vocabulary with small widths and depths, for fast tests. The vocabulary defaults to
tests/data/bert-base-uncased-vocab.txt.
"""
import argparse
import math
import os
import sys
import time
from typing import Dict, Optional

import torch

from tools.reference.biomedclip_model import BiomedCLIP, ModelConfig, full_config, tiny_config
from tools.export.checkpoint import write_safetensors
from tools.export.export_bundle import describe, export, pad_id_of, read_vocab, vocab_tokens
from tools import ROOT

DEFAULT_VOCAB = os.path.join(ROOT, "tests", "data", "bert-base-uncased-vocab.txt")
CHECKPOINT_BIN = "open_clip_pytorch_model.bin"
CHECKPOINT_SAFETENSORS = "open_clip_model.safetensors"
BUNDLE = "model.bmc.pt"
# A trained-looking temperature: BiomedCLIP's is close to the clamp at ln(100).
LOGIT_SCALE = math.log(100.0) * 0.98


def random_state_dict(cfg: ModelConfig, seed: int) -> Dict[str, torch.Tensor]:
    """Weights in the checkpoint layout. Matrices and convolution kernels are N(0, 1/fan_in),
    so every layer keeps unit scale: attention is far from uniform and the embeddings depend
    on the whole input, as a trained model's do (with BERT's N(0, 0.02) everywhere, the
    pooled token hardly sees the other tokens and a wrong token would go unnoticed).
    Embeddings, tokens and biases are N(0, 0.02); LayerNorm weights 1 + N(0, 0.05), so no
    norm is an identity. Also the stale position_ids buffer older transformers saved."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, tensor in BiomedCLIP(cfg, attention="matmul").state_dict().items():
        noise = torch.empty(tensor.shape).normal_(0.0, 1.0, generator=gen)
        module = key.rsplit(".", 2)[-2].lower() if "." in key else ""
        if key.endswith(".weight") and "norm" in module:
            state[key] = 1.0 + 0.05 * noise
        elif key.endswith(".weight") and tensor.dim() >= 2 and "embeddings" not in module:
            state[key] = noise / math.sqrt(tensor[0].numel())
        else:
            state[key] = 0.02 * noise
    state["logit_scale"] = torch.tensor(LOGIT_SCALE, dtype=torch.float32)
    state["text.transformer.embeddings.position_ids"] = torch.arange(cfg.max_positions)[None]
    return state


def make_test_model(size: str, out_dir: str, seed: int = 0, vocab_path: str = DEFAULT_VOCAB,
                    safetensors: Optional[bool] = None) -> Dict:
    """Write the checkpoint(s) and the bundle into out_dir; returns the exporter's facts.
    safetensors: also write the .safetensors copy (default: for the tiny size only)."""
    vocab = read_vocab(vocab_path)
    tokens = vocab_tokens(vocab)
    cfg = tiny_config() if size == "tiny" else full_config()
    cfg.vocab_size, cfg.pad_id = len(tokens), pad_id_of(tokens)
    os.makedirs(out_dir, exist_ok=True)
    state = random_state_dict(cfg, seed)
    checkpoint = os.path.join(out_dir, CHECKPOINT_BIN)
    torch.save(state, checkpoint)
    if safetensors is None:
        safetensors = size == "tiny"
    if safetensors:
        write_safetensors(os.path.join(out_dir, CHECKPOINT_SAFETENSORS), state,
                          {"format": "pt"})
    del state
    return export(checkpoint, vocab_path, os.path.join(out_dir, BUNDLE),
                  name=f"biomedclip-{size}-random", source=f"random seed {seed}",
                  context_length=cfg.context_length, vision_heads=cfg.vision_heads,
                  text_heads=cfg.text_heads)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("tiny", "full"), required=True)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab", default=DEFAULT_VOCAB)
    args = parser.parse_args(argv)
    start = time.time()
    info = make_test_model(args.size, args.out, args.seed, args.vocab)
    print(describe(info, os.path.join(args.out, BUNDLE)) + f" [{time.time() - start:.0f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
