# SPDX-License-Identifier: MIT
"""The reference of text-prompted segmentation, with Pillow and the eager PyTorch models: what
libbiomedclip's segmenter computes, written the plain Python way (docs/segmentation.md).

    pixels   = preprocess(image, pre)                  Pillow resize (+ centre crop), RGB, /255,
                                                       normalise: [3, S, S] float32
    logits   = decoder(base.image_hidden_states(pixels, taps), base.encode_text(ids))  [S, S]
    prob     = sigmoid(logits)
    full     = to_image_geometry(prob, width, height, pre)   [height, width] float32
    mask     = full > threshold                         0 / 255
    overlay  = Image.composite(Image.blend(rgb, colour, alpha), rgb, mask)

to_image_geometry inverts the preprocessing with Pillow's mode "F" resize (BILINEAR):
  squash       the map is resized to the image's size;
  shortest_crop the map covers the centre crop of the resized image. It is placed in a canvas of
               the resized size whose outside repeats the map's edge pixels, the canvas is
               resized to the image's size, and every pixel whose centre falls outside the crop
               (x + 0.5) * resized_w / w outside [left, left + S), likewise for y, gets 0: the
               model never saw it.
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

FILTERS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}
# How probability maps go back to the image's geometry (convex weights: stays in [0, 1]).
MASK_FILTER = Image.BILINEAR


@dataclass
class Preprocess:
    """A decoder's own image transform (decoder.json: image_size, resize_mode, interpolation,
    image_mean, image_std)."""
    image_size: int = 224
    resize_mode: str = "squash"          # or "shortest_crop" (open_clip's)
    interpolation: str = "bilinear"      # or "bicubic"
    mean: Tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    std: Tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)

    def as_json(self) -> dict:
        return {"image_size": self.image_size, "resize_mode": self.resize_mode,
                "interpolation": self.interpolation, "image_mean": list(self.mean),
                "image_std": list(self.std)}

    @staticmethod
    def from_json(meta: dict) -> "Preprocess":
        return Preprocess(meta["image_size"], meta["resize_mode"], meta["interpolation"],
                          tuple(meta["image_mean"]), tuple(meta["image_std"]))


def plan(width: int, height: int, pre: Preprocess) -> Tuple[int, int, int, int]:
    """(resized width, resized height, crop left, crop top) as torchvision computes them."""
    size = pre.image_size
    if pre.resize_mode == "squash":
        return size, size, 0, 0
    if pre.resize_mode != "shortest_crop":
        raise ValueError(f"unknown resize_mode {pre.resize_mode!r}")
    short, long = min(width, height), max(width, height)
    if short == size:
        new_w, new_h = width, height
    else:
        scaled = int(size * long / short)
        new_w, new_h = (size, scaled) if width <= height else (scaled, size)
    return new_w, new_h, int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))


def preprocess_rgb(image: Image.Image, pre: Preprocess) -> Image.Image:
    """The S x S RGB image the model sees (resize, crop, then convert('RGB'), as open_clip)."""
    new_w, new_h, left, top = plan(image.width, image.height, pre)
    if (new_w, new_h) != image.size:
        image = image.resize((new_w, new_h), FILTERS[pre.interpolation])
    size = pre.image_size
    return image.crop((left, top, left + size, top + size)).convert("RGB")


def preprocess(image: Image.Image, pre: Preprocess) -> torch.Tensor:
    """[3, S, S] float32: x / 255, then (x - mean) / std, in float32 as torchvision does."""
    rgb = np.array(preprocess_rgb(image, pre), dtype=np.uint8)
    x = torch.from_numpy(rgb).permute(2, 0, 1).float().div(255)
    mean = torch.tensor(pre.mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(pre.std, dtype=torch.float32)[:, None, None]
    return x.sub(mean).div(std)


def resize_f(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pillow's mode "F" resize of a float map to width x height (BILINEAR)."""
    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), "F")
    if image.size != (width, height):
        image = image.resize((width, height), MASK_FILTER)
    return np.array(image, dtype=np.float32)


def to_image_geometry(prob: np.ndarray, width: int, height: int, pre: Preprocess) -> np.ndarray:
    """An S x S probability map back on the image's width x height grid (module docstring)."""
    size = pre.image_size
    new_w, new_h, left, top = plan(width, height, pre)
    if pre.resize_mode == "squash":
        return resize_f(prob, width, height)
    canvas = np.pad(prob.astype(np.float32), ((top, new_h - top - size), (left, new_w - left - size)),
                    mode="edge")
    full = resize_f(canvas, width, height)
    xs = (np.arange(width) + 0.5) * new_w / width
    ys = (np.arange(height) + 0.5) * new_h / height
    inside_x = (xs >= left) & (xs < left + size)
    inside_y = (ys >= top) & (ys < top + size)
    full[~(inside_y[:, None] & inside_x[None, :])] = 0.0
    return full


def to_decoder_geometry(mask: np.ndarray, pre: Preprocess) -> np.ndarray:
    """A ground-truth mask (height x width, 0/1) as the decoder sees it: resized like the
    image (mode "F", BILINEAR, so border pixels get fractions) and cropped: [S, S] float32."""
    height, width = mask.shape
    new_w, new_h, left, top = plan(width, height, pre)
    size = pre.image_size
    resized = resize_f(mask.astype(np.float32), new_w, new_h)
    return resized[top:top + size, left:left + size]


def threshold(prob: np.ndarray, level: float) -> np.ndarray:
    """uint8 mask: 255 where the probability is above `level`, else 0."""
    return np.where(prob > np.float32(level), 255, 0).astype(np.uint8)


def overlay(image: Image.Image, mask: np.ndarray, colour: Sequence[int], alpha: float) -> np.ndarray:
    """The image in RGB with `colour` blended in at `alpha` where mask is non-zero, as Pillow's
    Image.blend and Image.composite do it: [height, width, 3] uint8."""
    rgb = image.convert("RGB")
    tinted = Image.blend(rgb, Image.new("RGB", rgb.size, tuple(colour)), alpha)
    selector = Image.fromarray(np.where(mask != 0, 255, 0).astype(np.uint8), "L")
    return np.array(Image.composite(tinted, rgb, selector), dtype=np.uint8)


def segment_logits(base, decoder, taps: List[int], pixels: torch.Tensor,
                   ids: torch.Tensor) -> torch.Tensor:
    """[P, S, S] logits for one image's [3, S, S] pixels and P prompts' token ids [P, L]."""
    with torch.no_grad():
        states = base.image_hidden_states(pixels[None], taps)
        states = [s.expand(ids.shape[0], -1, -1) for s in states]
        return decoder(states, base.encode_text(ids))


def dice_iou(pred: np.ndarray, truth: np.ndarray) -> Tuple[float, float]:
    """Dice and IoU of two boolean masks (both empty: 1, 1)."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    inter = np.logical_and(pred, truth).sum()
    total = pred.sum() + truth.sum()
    union = np.logical_or(pred, truth).sum()
    if total == 0:
        return 1.0, 1.0
    return float(2 * inter / total), float(inter / union)
