# SPDX-License-Identifier: MIT
"""The model a bundle holds: the reference BiomedCLIP with leaner encode_image and encode_text.

Both compute what the reference computes (the exporter checks it on every bundle it writes)
but skip work whose result the embeddings never read:

- The last block of either tower feeds only the pooled class token ([CLS] for text), so there
  it runs the attention's query, its output projection and the MLP for that one row; keys and
  values still come from every token. That is about 7% of a forward's products.
- encode_text drops the padding rows of a batch from every linear layer: a batch's texts are
  padded to its longest, and short prompts of 6 to 15 tokens spend a third of the products on
  padding. The real rows are packed into one [tokens, width] matrix for the linear layers, the
  layer norms and GELU (all row by row), and laid back out as [N, L, width] only for the
  attention, where padding keys stay masked as in the reference.

The state dict is the reference's, key for key; the other methods (token features, hidden
states) are the reference's own. docs/model-bundle.md describes the methods.
"""
from typing import Tuple

import torch
from torch import Tensor, nn

from tools.reference.biomedclip_model import (BertLayer, BiomedCLIP, ModelConfig, VisionBlock,
                                              mask_fill_value, merge_heads, split_heads)


def unpack_rows(rows: Tensor, index: Tensor, n: int, length: int) -> Tensor:
    """[tokens, width] packed rows -> [n, length, width], zeros at the padding."""
    width = rows.shape[1]
    if rows.shape[0] == n * length:  # no padding: packing kept every row, in order
        return rows.view(n, length, width)
    padded = rows.new_zeros(n * length, width).index_copy_(0, index, rows)
    return padded.view(n, length, width)


def pack_rows(x: Tensor, index: Tensor) -> Tensor:
    """[n, length, width] -> the [tokens, width] rows at `index` (flattened positions)."""
    rows = x.reshape(-1, x.shape[2])
    if index.shape[0] == rows.shape[0]:
        return rows
    return rows.index_select(0, index)


def packed_positions(ids: Tensor, pad_id: int) -> Tuple[Tensor, Tensor]:
    """The flattened positions of the rows to keep (every non-padding token, and position 0,
    which is pooled whatever it holds) and where each text's first row lands among them."""
    keep = ids != pad_id
    keep[:, 0] = True
    counts = keep.sum(dim=1)
    first = torch.cumsum(counts, dim=0) - counts
    return keep.flatten().nonzero().squeeze(1), first


class LeanVisionBlock(VisionBlock):
    def class_token(self, x: Tensor) -> Tensor:
        """forward(x)[:, :1]: the class token's row, its attention reading every token."""
        n, length, width = x.shape
        qkv = self.attn.qkv(self.norm1(x)).view(n, length, 3, self.attn.heads,
                                                width // self.attn.heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        attended = self.attn.core(qkv[0][:, :, :1], qkv[1], qkv[2], None)
        y = x[:, :1] + self.attn.proj(merge_heads(attended))
        return y + self.mlp(self.norm2(y))


class PackedBertLayer(BertLayer):
    def heads_of(self, rows: Tensor, index: Tensor, n: int, length: int) -> Tensor:
        """Packed [tokens, width] -> [n, heads, length, head_dim], zeros at the padding."""
        return split_heads(unpack_rows(rows, index, n, length), self.attention.self.heads)

    def packed(self, x: Tensor, index: Tensor, n: int, length: int, mask: Tensor) -> Tensor:
        """forward on packed rows ([tokens, width]): the same result for every real token."""
        attn = self.attention.self
        q = self.heads_of(attn.query(x), index, n, length)
        k = self.heads_of(attn.key(x), index, n, length)
        v = self.heads_of(attn.value(x), index, n, length)
        attended = pack_rows(merge_heads(attn.core(q, k, v, mask)), index)
        x = self.attention.output(attended, x)
        return self.output(self.intermediate(x), x)

    def class_token(self, x: Tensor, index: Tensor, first: Tensor, n: int, length: int,
                    mask: Tensor) -> Tensor:
        """packed(...) at the [CLS] rows only (`first` in the packed rows): [n, width]."""
        attn = self.attention.self
        cls = x.index_select(0, first)
        q = split_heads(attn.query(cls).unsqueeze(1), attn.heads)
        k = self.heads_of(attn.key(x), index, n, length)
        v = self.heads_of(attn.value(x), index, n, length)
        attended = merge_heads(attn.core(q, k, v, mask)).squeeze(1)
        y = self.attention.output(attended, cls)
        return self.output(self.intermediate(y), y)


class BundleModel(BiomedCLIP):
    def __init__(self, cfg: ModelConfig, attention: str = "auto"):
        super().__init__(cfg, attention)
        # The same layers (same parameter names), of the classes that have the lean methods.
        self.visual.trunk.blocks = nn.ModuleList(
            [LeanVisionBlock(cfg.vision_width, cfg.vision_heads, cfg.vision_mlp, attention)
             for _ in range(cfg.vision_layers)])
        self.text.transformer.encoder.layer = nn.ModuleList(
            [PackedBertLayer(cfg.text_width, cfg.text_heads, cfg.text_mlp, attention)
             for _ in range(cfg.text_layers)])

    @torch.jit.export
    def encode_image(self, pixels: Tensor) -> Tensor:
        trunk = self.visual.trunk
        x = trunk.embed(pixels)
        last = len(trunk.blocks) - 1
        for i, block in enumerate(trunk.blocks):
            if i < last:
                x = block(x)
            else:
                x = block.class_token(x)
        return self.visual.head(trunk.norm(x[:, 0]))

    @torch.jit.export
    def encode_text(self, ids: Tensor) -> Tensor:
        bert = self.text.transformer
        n, length = ids.shape[0], ids.shape[1]
        x = bert.embeddings(ids)
        padding = (ids == bert.pad_id).to(x.dtype)
        mask = (padding * mask_fill_value(x.dtype))[:, None, None, :]
        index, first = packed_positions(ids, bert.pad_id)
        x = pack_rows(x, index)
        last = len(bert.encoder.layer) - 1
        for i, layer in enumerate(bert.encoder.layer):
            if i < last:
                x = layer.packed(x, index, n, length, mask)
            else:
                x = layer.class_token(x, index, first, n, length, mask)
        return self.text.proj(x)
