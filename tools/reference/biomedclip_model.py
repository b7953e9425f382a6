# SPDX-License-Identifier: MIT
"""BiomedCLIP in plain PyTorch: the reference the library is tested against and what the
exporter scripts into a bundle.

The parameter names are exactly the keys of open_clip's checkpoint of
microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224 (timm ViT-B/16 under `visual.trunk`,
Hugging Face BERT under `text.transformer`), so a checkpoint loads with load_state_dict(strict).
The computation follows timm's VisionTransformer and Hugging Face's BertModel as open_clip
drives them for inference (dropout off): see docs/model-bundle.md and DESIGN §6.

Runs with Debian's torch 1.13 (no scaled_dot_product_attention) and with newer torch, where
the attention core uses the fused function; the core is chosen when the model is built, so
TorchScript only ever compiles the one that exists.
"""
import dataclasses
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclasses.dataclass
class ModelConfig:
    """Sizes of the two towers. The defaults are the real BiomedCLIP (ViT-B/16 + BERT-base)."""
    embed_dim: int = 512
    image_size: int = 224
    patch_size: int = 16
    vision_width: int = 768
    vision_layers: int = 12
    vision_heads: int = 12
    vision_mlp: int = 3072
    vocab_size: int = 30522
    text_width: int = 768
    text_layers: int = 12
    text_heads: int = 12
    text_mlp: int = 3072
    max_positions: int = 512
    type_vocab_size: int = 2
    proj_hidden: int = 640
    context_length: int = 256
    pad_id: int = 0

    def validate(self) -> None:
        """Raise ValueError when the sizes cannot describe a working model."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            minimum = 0 if field.name == "pad_id" else 1
            if not isinstance(value, int) or value < minimum:
                raise ValueError(f"config: {field.name} must be an integer >= {minimum}, "
                                 f"got {value!r}")
        if self.image_size % self.patch_size:
            raise ValueError(f"config: image_size {self.image_size} is not a multiple of "
                             f"patch_size {self.patch_size}")
        if self.vision_width % self.vision_heads:
            raise ValueError(f"config: vision_width {self.vision_width} is not divisible by "
                             f"vision_heads {self.vision_heads}")
        if self.text_width % self.text_heads:
            raise ValueError(f"config: text_width {self.text_width} is not divisible by "
                             f"text_heads {self.text_heads}")
        if self.context_length > self.max_positions:
            raise ValueError(f"config: context_length {self.context_length} exceeds "
                             f"max_positions {self.max_positions}")
        if self.pad_id >= self.vocab_size:
            raise ValueError(f"config: pad_id {self.pad_id} is outside the vocabulary "
                             f"({self.vocab_size} entries)")

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size


def full_config() -> ModelConfig:
    """The real BiomedCLIP sizes (about 196M parameters)."""
    return ModelConfig()


def tiny_config() -> ModelConfig:
    """The same architecture, small enough for fast tests. Image size and patch stay those of
    the real model so the real preprocessing applies; widths keep 64 per head (the rule the
    checkpoint loader uses to infer head counts) with 2 heads, so multi-head code paths run."""
    return ModelConfig(embed_dim=64, vision_width=128, vision_layers=2, vision_heads=2,
                       vision_mlp=256, text_width=128, text_layers=2, text_heads=2, text_mlp=256,
                       proj_hidden=(128 + 64) // 2)


# ---- attention cores --------------------------------------------------------------------
# Both take q, k, v as [N, heads, L, head_dim] and an optional additive mask broadcastable to
# [N, heads, L, L]; they hold no parameters, so they do not change the checkpoint keys.

class MatmulAttention(nn.Module):
    """softmax(q k^T / sqrt(d) + mask) v with plain matmuls (torch < 2.0)."""

    def __init__(self, head_dim: int):
        super().__init__()
        self.scale = head_dim ** -0.5

    def forward(self, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor]) -> Tensor:
        scores = torch.matmul(q * self.scale, k.transpose(-2, -1))
        if mask is not None:
            scores = scores + mask
        return torch.matmul(scores.softmax(dim=-1), v)


class FusedAttention(nn.Module):
    """The same through torch.nn.functional.scaled_dot_product_attention (torch >= 2.0),
    which picks a fused kernel on GPUs. Only built where that function exists."""

    def __init__(self, head_dim: int):
        super().__init__()

    def forward(self, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor]) -> Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def has_fused_attention() -> bool:
    return hasattr(F, "scaled_dot_product_attention")


def make_attention(head_dim: int, impl: str) -> nn.Module:
    """impl: "auto" (fused when this torch has it), "fused" or "matmul"."""
    if impl == "auto":
        impl = "fused" if has_fused_attention() else "matmul"
    if impl == "fused":
        if not has_fused_attention():
            raise ValueError(f"torch {torch.__version__} has no scaled_dot_product_attention")
        return FusedAttention(head_dim)
    if impl == "matmul":
        return MatmulAttention(head_dim)
    raise ValueError(f"unknown attention implementation {impl!r}")


def split_heads(x: Tensor, heads: int) -> Tensor:
    """[N, L, W] -> [N, heads, L, W / heads]"""
    n, length, width = x.shape
    return x.view(n, length, heads, width // heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """[N, heads, L, d] -> [N, L, heads * d]"""
    n, heads, length, head_dim = x.shape
    return x.transpose(1, 2).reshape(n, length, heads * head_dim)


# ---- vision tower: timm VisionTransformer (pre-norm) -----------------------------------------

class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, width: int):
        super().__init__()
        self.proj = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size)

    def forward(self, pixels: Tensor) -> Tensor:
        return self.proj(pixels).flatten(2).transpose(1, 2)


class VisionAttention(nn.Module):
    def __init__(self, width: int, heads: int, impl: str):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.core = make_attention(width // heads, impl)

    def forward(self, x: Tensor) -> Tensor:
        n, length, width = x.shape
        # qkv rows are ordered q, k, v, each split into heads.
        qkv = self.qkv(x).view(n, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        out = self.core(qkv[0], qkv[1], qkv[2], None)
        return self.proj(merge_heads(out))


class VisionMlp(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class VisionBlock(nn.Module):
    def __init__(self, width: int, heads: int, mlp: int, impl: str):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = VisionAttention(width, heads, impl)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = VisionMlp(width, mlp)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTrunk(nn.Module):
    """timm vit_base_patch16_224 without its classifier; output is the normed class token."""

    def __init__(self, cfg: ModelConfig, impl: str):
        super().__init__()
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.vision_width)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.vision_width))
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.grid_size ** 2 + 1, cfg.vision_width))
        self.blocks = nn.ModuleList(
            [VisionBlock(cfg.vision_width, cfg.vision_heads, cfg.vision_mlp, impl)
             for _ in range(cfg.vision_layers)])
        self.norm = nn.LayerNorm(cfg.vision_width, eps=1e-6)

    def embed(self, pixels: Tensor) -> Tensor:
        x = self.patch_embed(pixels)
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed

    def tokens(self, pixels: Tensor) -> Tensor:
        """Every token after the final LayerNorm: [N, 1 + grid^2, width], class token first."""
        x = self.embed(pixels)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def hidden_states(self, pixels: Tensor, layers: List[int]) -> List[Tensor]:
        """Hugging Face's hidden_states numbering: 0 is the embeddings, k the output of block k
        (before the final norm). Returned in the order asked."""
        x = self.embed(pixels)
        states = [x]
        for block in self.blocks:
            x = block(x)
            states.append(x)
        return [states[layer] for layer in layers]

    def forward(self, pixels: Tensor) -> Tensor:
        return self.tokens(pixels)[:, 0]


class VisionHead(nn.Module):
    def __init__(self, width: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Linear(width, embed_dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


class VisionTower(nn.Module):
    def __init__(self, cfg: ModelConfig, impl: str):
        super().__init__()
        self.trunk = VisionTrunk(cfg, impl)
        self.head = VisionHead(cfg.vision_width, cfg.embed_dim)

    def forward(self, pixels: Tensor) -> Tensor:
        return self.head(self.trunk(pixels))


# ---- text tower: Hugging Face BertModel (post-norm), no pooler --------------------------------

class BertEmbeddings(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.position_embeddings = nn.Embedding(cfg.max_positions, cfg.text_width)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.text_width)
        self.LayerNorm = nn.LayerNorm(cfg.text_width, eps=1e-12)

    def forward(self, ids: Tensor) -> Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        # Every token has type 0; the sum is in Hugging Face's order.
        x = self.word_embeddings(ids) + self.token_type_embeddings.weight[0]
        x = x + self.position_embeddings(positions)
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, impl: str):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.core = make_attention(width // heads, impl)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        q = split_heads(self.query(x), self.heads)
        k = split_heads(self.key(x), self.heads)
        v = split_heads(self.value(x), self.heads)
        return merge_heads(self.core(q, k, v, mask))


class BertDenseNorm(nn.Module):
    """dense, then LayerNorm of (result + residual): BertSelfOutput and BertOutput."""

    def __init__(self, in_width: int, width: int):
        super().__init__()
        self.dense = nn.Linear(in_width, width)
        self.LayerNorm = nn.LayerNorm(width, eps=1e-12)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class BertAttention(nn.Module):
    def __init__(self, width: int, heads: int, impl: str):
        super().__init__()
        self.self = BertSelfAttention(width, heads, impl)
        self.output = BertDenseNorm(width, width)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return self.output(self.self(x, mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.dense = nn.Linear(width, hidden)

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, width: int, heads: int, mlp: int, impl: str):
        super().__init__()
        self.attention = BertAttention(width, heads, impl)
        self.intermediate = BertIntermediate(width, mlp)
        self.output = BertDenseNorm(mlp, width)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = self.attention(x, mask)
        return self.output(self.intermediate(x), x)


class BertEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig, impl: str):
        super().__init__()
        self.layer = nn.ModuleList(
            [BertLayer(cfg.text_width, cfg.text_heads, cfg.text_mlp, impl)
             for _ in range(cfg.text_layers)])

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        for layer in self.layer:
            x = layer(x, mask)
        return x


def mask_fill_value(dtype: torch.dtype) -> float:
    """The most negative finite value of dtype, which Hugging Face adds at masked keys (a
    finite value keeps a fully masked row finite where -inf would give NaN)."""
    if dtype == torch.float16:
        return -65504.0
    if dtype == torch.bfloat16:
        return -3.3895313892515355e38
    return -3.4028234663852886e38


class BertModel(nn.Module):
    def __init__(self, cfg: ModelConfig, impl: str):
        super().__init__()
        self.pad_id = cfg.pad_id
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = BertEncoder(cfg, impl)

    def forward(self, ids: Tensor) -> Tensor:
        x = self.embeddings(ids)
        # Additive mask over keys: 0 where the token is real, very negative at padding.
        padding = (ids == self.pad_id).to(x.dtype)
        mask = (padding * mask_fill_value(x.dtype))[:, None, None, :]
        return self.encoder(x, mask)


class TextTower(nn.Module):
    """open_clip HFTextEncoder: BERT, pool token 0 (cls_last_hidden_state_pooler), MLP proj."""

    def __init__(self, cfg: ModelConfig, impl: str):
        super().__init__()
        self.transformer = BertModel(cfg, impl)
        self.proj = nn.Sequential(nn.Linear(cfg.text_width, cfg.proj_hidden, bias=False),
                                  nn.GELU(),
                                  nn.Linear(cfg.proj_hidden, cfg.embed_dim, bias=False))

    def forward(self, ids: Tensor) -> Tensor:
        return self.proj(self.transformer(ids)[:, 0])


# ---- the whole model ------------------------------------------------------------------------

class BiomedCLIP(nn.Module):
    """encode_image: [N, 3, S, S] normalised float pixels -> [N, E] raw (not normalised).
    encode_text: [N, L] int64 ids (L <= max_positions, pad_id masked) -> [N, E] raw."""

    def __init__(self, cfg: ModelConfig, attention: str = "auto"):
        super().__init__()
        cfg.validate()
        self.visual = VisionTower(cfg, attention)
        self.text = TextTower(cfg, attention)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    @torch.jit.export
    def encode_image(self, pixels: Tensor) -> Tensor:
        return self.visual(pixels)

    @torch.jit.export
    def encode_text(self, ids: Tensor) -> Tensor:
        return self.text(ids)

    # Features for task heads (VQA, segmentation): what the towers compute before pooling.

    @torch.jit.export
    def encode_image_tokens(self, pixels: Tensor) -> Tensor:
        """[N, 3, S, S] -> [N, 1 + grid^2, vision width], after the trunk's final LayerNorm."""
        return self.visual.trunk.tokens(pixels)

    @torch.jit.export
    def image_hidden_states(self, pixels: Tensor, layers: List[int]) -> List[Tensor]:
        """[N, 3, S, S] -> the outputs of the given ViT blocks (0 = embeddings, k = block k),
        each [N, 1 + grid^2, vision width]: the taps of a CLIPSeg-style decoder."""
        return self.visual.trunk.hidden_states(pixels, layers)

    @torch.jit.export
    def encode_text_tokens(self, ids: Tensor) -> Tensor:
        """[N, L] -> [N, L, text width], BERT's last hidden state (padding rows included)."""
        return self.text.transformer(ids)

    def forward(self, pixels: Tensor, ids: Tensor) -> Tuple[Tensor, Tensor]:
        return self.encode_image(pixels), self.encode_text(ids)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
