# SPDX-License-Identifier: MIT
"""The CLIPSeg segmentation decoder over BiomedCLIP's image features, in plain PyTorch.

The parameter names are those of Hugging Face transformers' CLIPSegDecoder (the `decoder.`
part of CLIPSegForImageSegmentation's state dict, without that prefix), so its weights load
with load_state_dict(strict=True):

  film_mul, film_add          Linear(cond_dim -> reduce_dim): FiLM from the text embedding
  reduces.N                   Linear(vision_width -> reduce_dim), one per tapped ViT block
  layers.N                    post-LN transformer layers of width reduce_dim:
                              self_attn.{q,k,v,out}_proj, layer_norm1, mlp.fc1/fc2 (ReLU),
                              layer_norm2
  transposed_convolution      refined: Sequential(Conv2d 3x3 pad 1, ReLU,
                              ConvTranspose2d(R -> R/2, k, s = patch/4), ReLU,
                              ConvTranspose2d(R/2 -> 1, k, s = patch/4));
                              plain: ConvTranspose2d(R -> 1, k = s = patch)

forward(activations, conditional) follows CLIPSegDecoder.forward: the activations (the tapped
block outputs, [N, 1 + grid^2, vision_width], in tap order) are visited deepest first; step i
adds reduces[i](activation) to the running output (step 0 starts it), applies FiLM at step
`conditional_layer` (film_mul(c) * x + film_add(c)), then layers[i]; the class token is dropped,
the tokens become a grid x grid map and the transposed convolutions bring it to
(grid * patch)^2 logits, [N, S, S].
"""
import dataclasses
from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tools.reference.biomedclip_model import make_attention, merge_heads, split_heads


@dataclasses.dataclass
class DecoderConfig:
    """Sizes of a decoder and the base features it reads. The defaults are CLIPSeg's
    rd64-refined on the real BiomedCLIP (ViT-B/16, 512-d text projection)."""
    taps: List[int] = dataclasses.field(default_factory=lambda: [4, 7, 10])
    vision_width: int = 768
    cond_dim: int = 512
    reduce_dim: int = 64
    heads: int = 4
    mlp_dim: int = 2048
    refined: bool = True
    patch_size: int = 16
    grid_size: int = 14
    conditional_layer: int = 0
    layer_norm_eps: float = 1e-5

    def validate(self) -> None:
        """Raise ValueError when the sizes cannot describe a working decoder."""
        if not self.taps or any(not isinstance(t, int) or t < 0 for t in self.taps):
            raise ValueError(f"decoder: taps must be a non-empty list of block numbers >= 0, "
                             f"got {self.taps!r}")
        for name in ("vision_width", "cond_dim", "reduce_dim", "heads", "mlp_dim",
                     "patch_size", "grid_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"decoder: {name} must be an integer >= 1, got {value!r}")
        if self.reduce_dim % self.heads:
            raise ValueError(f"decoder: reduce_dim {self.reduce_dim} is not divisible by "
                             f"heads {self.heads}")
        if self.refined and (self.patch_size % 4 or self.reduce_dim % 2):
            raise ValueError("decoder: the refined head needs patch_size divisible by 4 and an "
                             "even reduce_dim")
        if not 0 <= self.conditional_layer < len(self.taps):
            raise ValueError(f"decoder: conditional_layer {self.conditional_layer} is not a "
                             f"step of the {len(self.taps)} taps")

    @property
    def map_size(self) -> int:
        """Side of the logits map: the model's image size."""
        return self.grid_size * self.patch_size


class DecoderAttention(nn.Module):
    def __init__(self, width: int, heads: int, impl: str):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)
        self.core = make_attention(width // heads, impl)

    def forward(self, x: Tensor) -> Tensor:
        q = split_heads(self.q_proj(x), self.heads)
        k = split_heads(self.k_proj(x), self.heads)
        v = split_heads(self.v_proj(x), self.heads)
        return self.out_proj(merge_heads(self.core(q, k, v, None)))


class DecoderMlp(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.relu(self.fc1(x)))


class DecoderLayer(nn.Module):
    """CLIPSegDecoderLayer: the normalisation comes after each residual sum (post-LN)."""

    def __init__(self, cfg: DecoderConfig, impl: str):
        super().__init__()
        self.self_attn = DecoderAttention(cfg.reduce_dim, cfg.heads, impl)
        self.layer_norm1 = nn.LayerNorm(cfg.reduce_dim, eps=cfg.layer_norm_eps)
        self.mlp = DecoderMlp(cfg.reduce_dim, cfg.mlp_dim)
        self.layer_norm2 = nn.LayerNorm(cfg.reduce_dim, eps=cfg.layer_norm_eps)

    def forward(self, x: Tensor) -> Tensor:
        x = self.layer_norm1(x + self.self_attn(x))
        return self.layer_norm2(x + self.mlp(x))


def make_head(cfg: DecoderConfig) -> nn.Module:
    """The transposed convolutions from the grid to the map (CLIPSeg's two variants)."""
    r = cfg.reduce_dim
    if not cfg.refined:
        return nn.ConvTranspose2d(r, 1, cfg.patch_size, stride=cfg.patch_size)
    k = cfg.patch_size // 4
    return nn.Sequential(nn.Conv2d(r, r, kernel_size=3, padding=1), nn.ReLU(),
                         nn.ConvTranspose2d(r, r // 2, kernel_size=k, stride=k), nn.ReLU(),
                         nn.ConvTranspose2d(r // 2, 1, kernel_size=k, stride=k))


class ClipSegDecoder(nn.Module):
    """forward(activations: tapped block outputs in tap order, conditional: [N, cond_dim]
    raw text embeddings) -> [N, S, S] logits."""

    def __init__(self, cfg: DecoderConfig, attention: str = "auto"):
        super().__init__()
        cfg.validate()
        self.depth = len(cfg.taps)
        self.conditional_layer = cfg.conditional_layer
        self.grid_size = cfg.grid_size
        self.film_mul = nn.Linear(cfg.cond_dim, cfg.reduce_dim)
        self.film_add = nn.Linear(cfg.cond_dim, cfg.reduce_dim)
        self.reduces = nn.ModuleList([nn.Linear(cfg.vision_width, cfg.reduce_dim)
                                      for _ in cfg.taps])
        self.layers = nn.ModuleList([DecoderLayer(cfg, attention) for _ in cfg.taps])
        self.transposed_convolution = make_head(cfg)

    def forward(self, activations: List[Tensor], conditional: Tensor) -> Tensor:
        output = torch.zeros(0)
        for i, (reduce, layer) in enumerate(zip(self.reduces, self.layers)):
            reduced = reduce(activations[self.depth - 1 - i])  # deepest first
            output = reduced if i == 0 else reduced + output
            if i == self.conditional_layer:
                output = self.film_mul(conditional)[:, None, :] * output \
                    + self.film_add(conditional)[:, None, :]
            output = layer(output)
        grid = output[:, 1:, :].permute(0, 2, 1)
        grid = grid.reshape(grid.shape[0], grid.shape[1], self.grid_size, self.grid_size)
        return self.transposed_convolution(grid).squeeze(1)


def state_dict_config(state: Dict[str, Tensor], taps: List[int], heads: int,
                      patch_size: int, grid_size: int, layer_norm_eps: float = 1e-5,
                      conditional_layer: int = 0) -> DecoderConfig:
    """The sizes of the decoder a (prefix-free) state dict holds, read from its shapes; what
    shapes do not tell (taps, heads, patch and grid) is given. Raises ValueError."""
    def shape(key: str, ndim: int):
        if key not in state:
            raise ValueError(f"decoder state dict has no {key}")
        if state[key].dim() != ndim:
            raise ValueError(f"decoder state dict: {key} has shape {list(state[key].shape)}, "
                             f"expected {ndim} dimensions")
        return tuple(state[key].shape)

    reduce_dim, width = shape("reduces.0.weight", 2)
    depth = len({k.split(".")[1] for k in state if k.startswith("reduces.")})
    if depth != len(taps):
        raise ValueError(f"decoder state dict has {depth} reduces but {len(taps)} taps were given")
    cfg = DecoderConfig(taps=list(taps), vision_width=width,
                        cond_dim=shape("film_mul.weight", 2)[1], reduce_dim=reduce_dim,
                        heads=heads, mlp_dim=shape("layers.0.mlp.fc1.weight", 2)[0],
                        refined="transposed_convolution.0.weight" in state,
                        patch_size=patch_size, grid_size=grid_size,
                        conditional_layer=conditional_layer, layer_norm_eps=layer_norm_eps)
    cfg.validate()
    return cfg


def load_decoder(state: Dict[str, Tensor], cfg: DecoderConfig,
                 attention: str = "auto") -> ClipSegDecoder:
    """A decoder of size cfg with `state` loaded strictly; ValueError names every missing,
    unexpected and mis-shaped key."""
    model = ClipSegDecoder(cfg, attention)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    problems = [f"missing {k}" for k in sorted(expected) if k not in state]
    problems += [f"unexpected {k}" for k in sorted(state) if k not in expected]
    problems += [f"{k} has shape {list(state[k].shape)}, the decoder {list(expected[k])}"
                 for k in sorted(expected) if k in state and tuple(state[k].shape) != expected[k]]
    if problems:
        raise ValueError("state dict does not match the CLIPSeg decoder:\n    "
                         + "\n    ".join(problems))
    model.load_state_dict(state, strict=True)
    return model.eval()
