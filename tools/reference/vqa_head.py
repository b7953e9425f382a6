# SPDX-License-Identifier: MIT
"""VQA heads over frozen BiomedCLIP features, and their exporter.

A head turns the base model's features of one image and one question into logits over an
answer vocabulary. Two architectures:

  fusion  image tokens and question tokens (the towers' last hidden states) projected to a
          common width, then `layers` blocks in which the question tokens attend to themselves
          (masked at padding), then to the image tokens, then an MLP (pre-LayerNorm residual
          blocks); the masked mean of the question tokens goes through an MLP classifier.
  pooled  the two L2-normalised embeddings (joint space), their product and difference into
          an MLP classifier: a cheap baseline that reads only the pooled embeddings.

Every head has the same TorchScript signature, so the library calls any of them alike:

  forward(image_tokens [I, T, Wv], image_embedding [I, E], question_tokens [N, L, Wt],
          question_mask [N, L] (bool, True at real tokens), question_embedding [N, E],
          image_index [N] (int64: question n is about image image_index[n]))
      -> logits [N, answers]

Questions are padded to the longest; I images serve N questions (the library asks any number
of questions about one image: I = 1). Inputs a head does not read (see `inputs` in its
metadata) are passed as empty tensors.
export_head() writes the archive (docs/vqa.md: TorchScript + vqa_head.json) and checks it by
loading it back.
"""
import dataclasses
import json
import os
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tools.reference.biomedclip_model import make_attention, mask_fill_value, merge_heads, split_heads

FORMAT = "biomedclip-vqa-head"
FORMAT_VERSION = 1
HEAD_JSON = "vqa_head.json"
ARCHITECTURES = ("fusion", "pooled")
# What each architecture reads from the base model.
INPUTS = {"fusion": {"image": ["tokens"], "question": ["tokens"]},
          "pooled": {"image": ["embedding"], "question": ["embedding"]}}
ROUND_TRIP_TOLERANCE = 1e-5


@dataclasses.dataclass
class HeadConfig:
    architecture: str = "fusion"
    vision_width: int = 768
    text_width: int = 768
    embed_dim: int = 512
    answers: int = 2
    width: int = 256        # the fusion width (fusion) or hidden width (pooled)
    layers: int = 2         # fusion blocks
    heads: int = 4          # attention heads in a fusion block
    mlp_ratio: int = 2      # MLP hidden = mlp_ratio * width
    dropout: float = 0.1    # training only; TorchScript exports run in eval mode

    def validate(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"head: unknown architecture {self.architecture!r}")
        if self.answers < 1:
            raise ValueError("head: needs at least one answer")
        if self.width % self.heads:
            raise ValueError(f"head: width {self.width} is not divisible by heads {self.heads}")


class Attention(nn.Module):
    """Multi-head attention of queries over the keys/values of a context. The context rows
    may be shared: query row n reads context row context_index[n] (several questions about one
    image project the image once)."""

    def __init__(self, width: int, heads: int, impl: str):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)
        self.core = make_attention(width // heads, impl)

    def forward(self, x: Tensor, context: Tensor, context_index: Optional[Tensor],
                mask: Optional[Tensor]) -> Tensor:
        k, v = self.kv(context).chunk(2, dim=-1)
        k, v = split_heads(k, self.heads), split_heads(v, self.heads)
        if context_index is not None:
            k, v = k.index_select(0, context_index), v.index_select(0, context_index)
        out = self.core(split_heads(self.q(x), self.heads), k, v, mask)
        return self.out(merge_heads(out))


class FusionBlock(nn.Module):
    """Question self-attention, question-to-image cross-attention, MLP; pre-norm residuals."""

    def __init__(self, cfg: HeadConfig, impl: str):
        super().__init__()
        w = cfg.width
        self.norm_self = nn.LayerNorm(w)
        self.self_attn = Attention(w, cfg.heads, impl)
        self.norm_cross = nn.LayerNorm(w)
        self.cross_attn = Attention(w, cfg.heads, impl)
        self.norm_mlp = nn.LayerNorm(w)
        self.mlp = nn.Sequential(nn.Linear(w, cfg.mlp_ratio * w), nn.GELU(),
                                 nn.Linear(cfg.mlp_ratio * w, w))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, q: Tensor, image: Tensor, image_index: Tensor, key_mask: Tensor) -> Tensor:
        x = self.norm_self(q)
        q = q + self.drop(self.self_attn(x, x, None, key_mask))
        q = q + self.drop(self.cross_attn(self.norm_cross(q), image, image_index, None))
        return q + self.drop(self.mlp(self.norm_mlp(q)))


def classifier(width: int, hidden: int, answers: int, dropout: float) -> nn.Module:
    return nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU(),
                         nn.Dropout(dropout), nn.Linear(hidden, answers))


class FusionHead(nn.Module):
    def __init__(self, cfg: HeadConfig, impl: str = "auto"):
        super().__init__()
        w = cfg.width
        self.image_proj = nn.Linear(cfg.vision_width, w)
        self.image_norm = nn.LayerNorm(w)
        self.question_proj = nn.Linear(cfg.text_width, w)
        self.blocks = nn.ModuleList([FusionBlock(cfg, impl) for _ in range(cfg.layers)])
        self.classify = classifier(w, cfg.mlp_ratio * w, cfg.answers, cfg.dropout)

    def forward(self, image_tokens: Tensor, image_embedding: Tensor, question_tokens: Tensor,
                question_mask: Tensor, question_embedding: Tensor,
                image_index: Tensor) -> Tensor:
        image = self.image_norm(self.image_proj(image_tokens))
        q = self.question_proj(question_tokens)
        real = question_mask.to(q.dtype)
        key_mask = ((1.0 - real) * mask_fill_value(q.dtype))[:, None, None, :]
        for block in self.blocks:
            q = block(q, image, image_index, key_mask)
        pooled = (q * real[:, :, None]).sum(dim=1) / real.sum(dim=1, keepdim=True)
        return self.classify(pooled)


class PooledHead(nn.Module):
    def __init__(self, cfg: HeadConfig, impl: str = "auto"):
        super().__init__()
        self.classify = classifier(4 * cfg.embed_dim, cfg.width, cfg.answers, cfg.dropout)

    def forward(self, image_tokens: Tensor, image_embedding: Tensor, question_tokens: Tensor,
                question_mask: Tensor, question_embedding: Tensor,
                image_index: Tensor) -> Tensor:
        i = F.normalize(image_embedding, dim=-1).index_select(0, image_index)
        q = F.normalize(question_embedding, dim=-1)
        return self.classify(torch.cat([i, q, i * q, i - q], dim=-1))


def build_head(cfg: HeadConfig, impl: str = "auto") -> nn.Module:
    cfg.validate()
    return (FusionHead if cfg.architecture == "fusion" else PooledHead)(cfg, impl)


def head_metadata(cfg: HeadConfig, base: Dict, answers: List[str], rules: List[Dict],
                  name: str, training: Optional[Dict] = None) -> Dict:
    """vqa_head.json. `base` is the base bundle's bundle.json: the head records which model's
    features it was trained on (docs/vqa.md)."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "architecture": cfg.architecture,
        "config": dataclasses.asdict(cfg),
        "base": {"name": base["name"], "source": base["source"],
                 "embed_dim": base["embed_dim"], "image_size": base["image_size"],
                 "patch_size": base["vision"]["patch_size"],
                 "vision_width": base["vision"]["width"], "text_width": base["text"]["width"],
                 "context_length": base["context_length"]},
        "inputs": INPUTS[cfg.architecture],
        "answers": list(answers),
        "question_types": rules,
    }
    if training is not None:
        meta["training"] = training
    return meta


def example_inputs(cfg: HeadConfig, seed: int = 0):
    """Three questions of different lengths (padded) about two images of random features."""
    gen = torch.Generator().manual_seed(seed)
    images, n, tokens, length = 2, 3, 17, 9
    image_tokens = torch.randn(images, tokens, cfg.vision_width, generator=gen)
    question_tokens = torch.randn(n, length, cfg.text_width, generator=gen)
    mask = torch.ones(n, length, dtype=torch.bool)
    mask[1, 5:] = False
    mask[2, 2:] = False
    return (image_tokens, torch.randn(images, cfg.embed_dim, generator=gen), question_tokens,
            mask, torch.randn(n, cfg.embed_dim, generator=gen), torch.tensor([1, 0, 1]))


class ExportError(Exception):
    pass


def export_head(head: nn.Module, meta: Dict, out: str) -> float:
    """Script `head` (eval mode, float32, CPU) and write it with vqa_head.json to `out`,
    through OUT.tmp renamed only after the archive read back matches the eager head.
    Returns the largest difference seen."""
    head = head.float().eval()
    cfg = HeadConfig(**meta["config"])
    if len(meta["answers"]) != cfg.answers or len(set(meta["answers"])) != cfg.answers:
        raise ExportError("head: the answer list must have config.answers distinct entries")
    scripted = torch.jit.script(head)
    tmp = out + ".tmp"
    torch.jit.save(scripted, tmp, _extra_files={HEAD_JSON: json.dumps(meta, indent=2) + "\n"})
    try:
        files = {HEAD_JSON: ""}
        loaded = torch.jit.load(tmp, map_location="cpu", _extra_files=files)
        if json.loads(files[HEAD_JSON]) != meta:
            raise ExportError("vqa_head.json read back from the archive differs")
        inputs = example_inputs(cfg)
        with torch.no_grad():
            error = (loaded(*inputs) - head(*inputs)).abs().max().item()
        if not error <= ROUND_TRIP_TOLERANCE:
            raise ExportError(f"the saved TorchScript head differs from the eager one by {error:g}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return error


def save_checkpoint(head: nn.Module, meta: Dict, path: str) -> None:
    """The trainable form: state dict + metadata (tools/export/export_vqa_head.py converts it)."""
    torch.save({"metadata": meta, "state_dict": head.state_dict()}, path)


def load_checkpoint(path: str, impl: str = "auto"):
    """(eager head, metadata) from save_checkpoint's file, loaded strictly."""
    try:
        data = torch.load(path, map_location="cpu")
    except Exception as e:  # torch.load raises whatever unpickling a wrong file raises
        raise ExportError(f"{path}: not a VQA head checkpoint ({e})") from None
    if not isinstance(data, dict) or "metadata" not in data or "state_dict" not in data:
        raise ExportError(f"{path}: not a VQA head checkpoint (no metadata and state_dict)")
    meta = data["metadata"]
    head = build_head(HeadConfig(**meta["config"]), impl)
    try:
        head.load_state_dict(data["state_dict"], strict=True)
    except RuntimeError as e:
        raise ExportError(f"{path}: the weights do not fit the {meta['architecture']} head: {e}") from None
    return head.eval(), meta
