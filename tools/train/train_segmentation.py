#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Fine-tune a CLIPSeg decoder on a BiomedCLIP bundle from (image, mask, prompt) triplets.

    /usr/bin/python3 -m tools.train.train_segmentation --base model.bmc.pt --out decoder.bmcseg.pt \
        (--synthetic N | --data triplets.tsv) [--steps S] [--taps 4 7 10] ...

The base model is frozen: its tapped block outputs and its text embeddings are computed once
and cached, and only the decoder learns, with Dice + binary cross-entropy on the logits at the
decoder's resolution. Prompts come from the source document's automated prompt generation:
each example has a class, a region and a modality, and a template such as
"Segment the {class} in the {region} in the {modality} image" turns them into text; training
draws a template at random per example, evaluation uses the first one.

Data:
  --synthetic N   N generated "scans" (synthetic_scan below), each holding one object of every
                  class (liver, kidney, lesion), so the prompt alone decides which to segment;
                  N / 5 more images, never trained on, are held out for evaluation.
  --data FILE     a TSV file with a header line and the columns image, mask, class, region,
                  modality (paths relative to the file; a mask is an 8-bit image, non-zero =
                  object); one row in five is held out.

Reports, on the held-out images: Dice and IoU of the thresholded map (0.5) at the decoder's
resolution and at the image's own; and, for images with several classes, prompt dependence:
for every image and class, whether the mask the class's prompt gives overlaps that class's
object best (selection accuracy; a model that ignores the text cannot beat 1 / classes), and
the mean Dice against the prompted object versus against the best other object.

Writes the decoder archive (tools/export/export_decoder.py's format) to --out, the training
checkpoint (config, preprocessing, state dict, metrics) to --checkpoint if given, and the
metrics as JSON to --metrics if given. Seeded: the same arguments give the same decoder.
"""
import argparse
import csv
import json
import math
import os
import random
import sys
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tools.reference.clipseg_decoder import ClipSegDecoder, DecoderConfig
from tools.export.export_decoder import read_base, save_checkpoint, write_decoder
from tools.reference.seg_reference import Preprocess, dice_iou, preprocess, to_decoder_geometry, to_image_geometry

# The source document's prompt: the first template; the others vary the wording for training.
TEMPLATES = [
    "Segment the {cls} in the {region} in the {modality} image",
    "Identify and segment the {cls} region in the {modality} image",
    "{cls} in the {region}",
    "a {modality} image of the {region} showing the {cls}",
]
CLASSES = ["liver", "kidney", "lesion"]
REGIONS = ["abdomen", "abdominal region"]
MODALITIES = ["CT", "MRI"]
THRESHOLD = 0.5


def make_prompt(template: str, cls: str, region: str, modality: str) -> str:
    return template.format(cls=cls, region=region, modality=modality)


# ---- synthetic scans ----------------------------------------------------------------------
# One object per class in a grey "body": each class has its own size range and brightness,
# so the image shows all of them and only the prompt says which one is wanted.

OBJECTS = {  # class: (smallest radius, largest radius, grey level 0..1)
    "liver": (0.14, 0.19, 0.65),
    "kidney": (0.08, 0.11, 0.9),
    "lesion": (0.06, 0.085, 0.45),
}


def place_objects(rng: np.random.Generator, body_rx: float,
                  body_ry: float) -> Dict[str, Tuple[float, float, float, float]]:
    """Non-overlapping ellipses (cx, cy, rx, ry) in unit coordinates, inside the body (an
    ellipse of radii body_rx, body_ry around the centre)."""
    while True:
        shapes = {}
        for cls, (low, high, _) in OBJECTS.items():
            rx, ry = rng.uniform(low, high, 2)
            for _ in range(100):
                cx, cy = rng.uniform(0.5 - body_rx, 0.5 + body_rx), rng.uniform(0.5 - body_ry, 0.5 + body_ry)
                inside = (((abs(cx - 0.5) + rx) / body_rx) ** 2
                          + ((abs(cy - 0.5) + ry) / body_ry) ** 2) <= 1.0
                clear = all(math.hypot(cx - ox, cy - oy) > max(rx, ry) + max(orx, ory) + 0.02
                            for ox, oy, orx, ory in shapes.values())
                if inside and clear:
                    shapes[cls] = (cx, cy, rx, ry)
                    break
        if len(shapes) == len(OBJECTS):
            return shapes


def ellipse_mask(shape, width: int, height: int) -> np.ndarray:
    cx, cy, rx, ry = shape
    u = (np.arange(width) + 0.5) / width
    v = (np.arange(height) + 0.5) / height
    return ((u[None, :] - cx) / rx) ** 2 + ((v[:, None] - cy) / ry) ** 2 <= 1.0


def synthetic_scan(rng: np.random.Generator, width: int, height: int):
    """(8-bit grey PIL image, {class: bool mask [height, width]})."""
    body_rx, body_ry = rng.uniform(0.43, 0.48), rng.uniform(0.41, 0.47)
    body = ellipse_mask((0.5, 0.5, body_rx, body_ry), width, height)
    pixels = np.where(body, 0.25, 0.0)
    shapes = place_objects(rng, body_rx, body_ry)
    masks = {}
    for cls, shape in shapes.items():
        masks[cls] = ellipse_mask(shape, width, height)
        pixels = np.where(masks[cls], OBJECTS[cls][2], pixels)
    pixels = pixels + rng.normal(0, 0.04, pixels.shape)
    image = Image.fromarray(np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8), "L")
    return image, masks


class Example:
    """One image with its masks: {class: bool [H, W]}, region and modality."""

    def __init__(self, image: Image.Image, masks: Dict[str, np.ndarray], region: str,
                 modality: str):
        self.image, self.masks, self.region, self.modality = image, masks, region, modality


def synthetic_examples(count: int, seed: int) -> List[Example]:
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(count):
        width, height = (int(v) for v in rng.integers(160, 320, 2))
        image, masks = synthetic_scan(rng, width, height)
        examples.append(Example(image, masks, str(rng.choice(REGIONS)),
                                str(rng.choice(MODALITIES))))
    return examples


def tsv_examples(path: str) -> List[Example]:
    """Rows of image, mask, class, region, modality; rows of one image merge into one example."""
    folder = os.path.dirname(os.path.abspath(path))
    by_image: Dict[str, Example] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            image_path = os.path.join(folder, row["image"])
            if image_path not in by_image:
                with Image.open(image_path) as image:
                    image.load()
                    by_image[image_path] = Example(image, {}, row["region"], row["modality"])
            with Image.open(os.path.join(folder, row["mask"])) as mask:
                by_image[image_path].masks[row["class"]] = np.array(mask.convert("L")) > 0
    return list(by_image.values())


# ---- cached frozen features -----------------------------------------------------------------

class Cache:
    """Tapped block outputs of every image and text embeddings of every prompt, computed once
    with the frozen base bundle."""

    def __init__(self, base, vocab: Dict[str, int], taps: List[int], pre: Preprocess):
        self.base, self.vocab, self.taps, self.pre = base, vocab, taps, pre
        self.text: Dict[str, torch.Tensor] = {}

    def image_states(self, examples: Sequence[Example], batch: int = 32) -> List[torch.Tensor]:
        """Per tap, [N, tokens, width] for the examples' images."""
        parts = []
        with torch.no_grad():
            for start in range(0, len(examples), batch):
                pixels = torch.stack([preprocess(e.image, self.pre)
                                      for e in examples[start:start + batch]])
                parts.append(self.base.image_hidden_states(pixels, self.taps))
        return [torch.cat([p[t] for p in parts]) for t in range(len(self.taps))]

    def embed(self, prompts: Sequence[str]) -> torch.Tensor:
        """[P, E] raw text embeddings, each prompt run alone (no padding)."""
        from tools.reference.bert_tokenizer import encode
        missing = [p for p in dict.fromkeys(prompts) if p not in self.text]
        with torch.no_grad():
            for prompt in missing:
                ids = torch.tensor([encode(prompt, self.vocab, pad=False)])
                self.text[prompt] = self.base.encode_text(ids)[0]
        return torch.stack([self.text[p] for p in prompts])


def targets(examples: Sequence[Example], pre: Preprocess) -> List[Dict[str, torch.Tensor]]:
    """Each example's masks at the decoder's geometry (fractions at borders)."""
    return [{cls: torch.from_numpy(to_decoder_geometry(mask, pre)) for cls, mask in e.masks.items()}
            for e in examples]


# ---- training ---------------------------------------------------------------------------------

def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy plus soft Dice loss, averaged over the batch."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits).flatten(1)
    target = target.flatten(1)
    dice = (2 * (prob * target).sum(1) + 1) / (prob.sum(1) + target.sum(1) + 1)
    return bce + (1 - dice).mean()


def standardization(cache: Cache, examples: Sequence[Example], templates: Sequence[str]):
    """Mean and spread, per dimension, of the embeddings of every prompt training can draw."""
    prompts = sorted({make_prompt(t, cls, e.region, e.modality)
                      for e in examples for cls in e.masks for t in templates})
    embeddings = cache.embed(prompts)
    mean, std = embeddings.mean(0), embeddings.std(0) if len(prompts) > 1 else torch.ones(1)
    return mean, std + 1e-3 * std.mean() + 1e-12


def fold_standardization(decoder: ClipSegDecoder, mean: torch.Tensor, std: torch.Tensor) -> None:
    """film(c) = W ((c - mean) / std) + b rewritten as (W / std) c + (b - W (mean / std)): the
    FiLM layers then read raw embeddings, as the decoder format says."""
    with torch.no_grad():
        for film in (decoder.film_mul, decoder.film_add):
            film.bias -= film.weight @ (mean / std)
            film.weight /= std[None, :]


def train(decoder: ClipSegDecoder, states: List[torch.Tensor], masks, examples, cache: Cache,
          steps: int, batch: int, lr: float, seed: int, templates: Sequence[str],
          log=print) -> None:
    """AdamW with a one-cycle schedule.

    A batch holds `batch` images, each with every class it has, so the same features appear
    under different prompts and only the text tells the targets apart: the gradient that
    teaches prompt use is in every step. Prompt embeddings share a large common part (all
    prompts are images of organs), so FiLM sees them standardised per dimension during
    training, which makes their differences as large as their common part; the
    standardisation is folded into the FiLM weights at the end, an exact rewrite."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    mean, std = standardization(cache, examples, templates)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps,
                                                   pct_start=0.1)
    decoder.train()
    start = time.time()
    for step in range(steps):
        chosen = [(i, cls) for i in rng.sample(range(len(examples)), min(batch, len(examples)))
                  for cls in sorted(examples[i].masks)]
        index = torch.tensor([i for i, _ in chosen])
        prompts = [make_prompt(rng.choice(templates), cls, examples[i].region,
                               examples[i].modality) for i, cls in chosen]
        target = torch.stack([masks[i][cls] for i, cls in chosen])
        logits = decoder([s[index] for s in states], (cache.embed(prompts) - mean) / std)
        loss = loss_fn(logits, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0 or step == steps - 1:
            log(f"  step {step:4d}  loss {loss.item():.4f}  [{time.time() - start:.0f} s]")
    decoder.eval()
    fold_standardization(decoder, mean, std)


# ---- evaluation -------------------------------------------------------------------------------

def evaluate(decoder: ClipSegDecoder, states, examples: Sequence[Example], cache: Cache,
             pre: Preprocess) -> Dict:
    """Held-out metrics (module docstring), with the first template."""
    dice_map, iou_map, dice_full, iou_full = [], [], [], []
    selected = own = other = trials = 0
    for i, e in enumerate(examples):
        classes = sorted(e.masks)
        prompts = [make_prompt(TEMPLATES[0], c, e.region, e.modality) for c in classes]
        with torch.no_grad():
            logits = decoder([s[i:i + 1].expand(len(classes), -1, -1) for s in states],
                             cache.embed(prompts))
        prob = torch.sigmoid(logits).numpy()
        for k, cls in enumerate(classes):
            truth_map = to_decoder_geometry(e.masks[cls], pre) > 0.5
            d, j = dice_iou(prob[k] > THRESHOLD, truth_map)
            dice_map.append(d)
            iou_map.append(j)
            full = to_image_geometry(prob[k], e.image.width, e.image.height, pre) > THRESHOLD
            d, j = dice_iou(full, e.masks[cls])
            dice_full.append(d)
            iou_full.append(j)
            if len(classes) > 1:
                scores = {c: dice_iou(full, e.masks[c])[0] for c in classes}
                selected += max(scores, key=scores.get) == cls
                own += scores[cls]
                other += max(v for c, v in scores.items() if c != cls)
                trials += 1
    metrics = {"images": len(examples), "masks": len(dice_map),
               "dice": float(np.mean(dice_map)), "iou": float(np.mean(iou_map)),
               "dice_image_geometry": float(np.mean(dice_full)),
               "iou_image_geometry": float(np.mean(iou_full)), "threshold": THRESHOLD}
    if trials:
        metrics.update(prompt_trials=trials, selection_accuracy=selected / trials,
                       dice_prompted_object=own / trials, dice_best_other_object=other / trials)
    return metrics


def describe_metrics(m: Dict) -> str:
    text = (f"held-out {m['images']} images / {m['masks']} masks: Dice {m['dice']:.3f}, "
            f"IoU {m['iou']:.3f} at the decoder's resolution; Dice "
            f"{m['dice_image_geometry']:.3f}, IoU {m['iou_image_geometry']:.3f} at the images' own")
    if "selection_accuracy" in m:
        text += (f"\nprompt dependence over {m['prompt_trials']} (image, prompt) pairs: the mask "
                 f"overlaps the prompted object best in {100 * m['selection_accuracy']:.1f}%; "
                 f"Dice with the prompted object {m['dice_prompted_object']:.3f}, with the best "
                 f"other object {m['dice_best_other_object']:.3f}")
    return text


# ---- the whole run ----------------------------------------------------------------------------

def run(args, log=print) -> Dict:
    """Train and write the outputs; returns the metrics."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    base, base_meta, vocab = read_base(args.base)
    pre = Preprocess(base_meta["image_size"], args.resize_mode, args.interpolation,
                     tuple(base_meta["image_mean"]), tuple(base_meta["image_std"]))
    if args.synthetic:
        train_set = synthetic_examples(args.synthetic, args.seed)
        held_out = synthetic_examples(max(1, args.synthetic // 5), args.seed + 1)
    else:
        examples = tsv_examples(args.data)
        held_out, train_set = examples[::5], [e for k, e in enumerate(examples) if k % 5]
        if not train_set or not held_out:
            raise ValueError(f"{args.data}: need at least 2 images")
    vision = base_meta["vision"]
    taps = args.taps if args.taps else default_taps(vision["layers"])
    cfg = DecoderConfig(taps=taps, vision_width=vision["width"], cond_dim=base_meta["embed_dim"],
                        reduce_dim=args.reduce_dim, heads=args.heads, mlp_dim=args.mlp_dim,
                        patch_size=vision["patch_size"],
                        grid_size=base_meta["image_size"] // vision["patch_size"])
    cache = Cache(base, vocab, taps, pre)
    start = time.time()
    train_states, test_states = cache.image_states(train_set), cache.image_states(held_out)
    log(f"cached taps {taps} of {len(train_set)} training and {len(held_out)} held-out images "
        f"[{time.time() - start:.0f} s]")
    decoder = ClipSegDecoder(cfg, attention="matmul")
    train(decoder, train_states, targets(train_set, pre), train_set, cache, args.steps,
          args.batch, args.lr, args.seed, TEMPLATES[:args.templates], log)
    metrics = evaluate(decoder, test_states, held_out, cache, pre)
    log(describe_metrics(metrics))
    source = args.source or (f"train_segmentation.py: {'synthetic %d' % args.synthetic if args.synthetic else os.path.basename(args.data)}, "
                             f"{args.steps} steps, seed {args.seed}")
    state = {k: v.detach().clone() for k, v in decoder.state_dict().items()}
    write_decoder(state, cfg, pre, base_meta, args.out, name=args.name, source=source)
    if args.checkpoint:
        save_checkpoint(args.checkpoint, cfg, pre, state, metrics)
    if args.metrics:
        with open(args.metrics, "w") as f:
            json.dump(metrics, f, indent=2)
    return metrics


def default_taps(layers: int) -> List[int]:
    """Three taps spread like CLIPSeg's over the trunk (hidden-state numbering: 0 is the
    embeddings, k the output of block k): blocks 4, 7, 10 of 12; 0, 1, 2 of 2."""
    if layers >= 12:
        return [round(layers * k / 12) for k in (4, 7, 10)]
    return [max(0, layers - 2), layers - 1, layers] if layers >= 2 else [0, layers]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the BiomedCLIP bundle (frozen)")
    parser.add_argument("--out", required=True, help="decoder archive to write")
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--synthetic", type=int, metavar="N", help="N generated training images")
    data.add_argument("--data", help="TSV of image, mask, class, region, modality")
    parser.add_argument("--taps", type=int, nargs="+", help="hidden states to tap (default: "
                        "4 7 10 of a 12-block trunk)")
    parser.add_argument("--reduce-dim", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--mlp-dim", type=int, default=2048)
    parser.add_argument("--resize-mode", choices=("squash", "shortest_crop"), default="squash")
    parser.add_argument("--interpolation", choices=("bilinear", "bicubic"), default="bilinear")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8, help="images per step (each with all "
                        "its classes)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--templates", type=int, default=len(TEMPLATES),
                        help=f"train with the first N prompt templates (default all {len(TEMPLATES)})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--name", default="clipseg-decoder")
    parser.add_argument("--source", help="provenance text stored in the archive")
    parser.add_argument("--checkpoint", help="also save the training checkpoint here")
    parser.add_argument("--metrics", help="also write the held-out metrics here (JSON)")
    args = parser.parse_args(argv)
    try:
        run(args)
    except (ValueError, OSError) as e:
        print(f"train_segmentation: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
