#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A small synthetic VQA dataset in the VQA-RAD layout, whose images answer the questions.

    /usr/bin/python3 -m tools.train.vqa_synthetic OUTDIR [--train N] [--test N] [--questions Q]
        [--size S] [--seed N]

Each image is a noisy dark square with one coloured shape (red, green, blue or yellow; circle,
square or triangle) in its left or right half. Questions ask about the colour, the shape and
the side, as open questions ("what colour is the shape?"), yes/no questions ("is there a
circle?", "is the shape red?") and choices ("is the shape red or blue?"). Writes
OUTDIR/images/*.png, OUTDIR/train.json and OUTDIR/test.json: lists of {"qid", "image_name",
"question", "answer", "answer_type" ("OPEN" or "CLOSED"), "question_type"} as in VQA-RAD.
The features of even a random-weight BiomedCLIP carry colour and position, so a head can
learn this; the answers are balanced so that no question can be answered blind.
"""
import argparse
import json
import os
import sys
from typing import Dict, List

import numpy as np
from PIL import Image, ImageDraw

COLOURS = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (50, 80, 230),
           "yellow": (230, 210, 40)}
SHAPES = ("circle", "square", "triangle")
SIDES = ("left", "right")


def draw_image(rng: np.random.Generator, size: int, colour: str, shape: str, side: str) -> Image.Image:
    background = rng.normal(30, 8, (size, size, 3))
    image = Image.fromarray(np.clip(np.rint(background), 0, 255).astype(np.uint8), "RGB")
    radius = size * rng.uniform(0.14, 0.2)
    cx = size * (rng.uniform(0.2, 0.32) if side == "left" else rng.uniform(0.68, 0.8))
    cy = size * rng.uniform(0.3, 0.7)
    fill = tuple(int(np.clip(c + rng.normal(0, 12), 0, 255)) for c in COLOURS[colour])
    draw = ImageDraw.Draw(image)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)],
                     fill=fill)
    return image


def other(rng: np.random.Generator, options, value: str) -> str:
    return str(rng.choice([o for o in options if o != value]))


def questions_for(rng: np.random.Generator, colour: str, shape: str, side: str) -> List[Dict]:
    """Every kind of question about one image; the caller picks a few."""
    yes_no = lambda truth: "yes" if truth else "no"
    asked_shape = shape if rng.random() < 0.5 else other(rng, SHAPES, shape)
    asked_colour = colour if rng.random() < 0.5 else other(rng, COLOURS, colour)
    asked_side = str(rng.choice(SIDES))
    pair = [colour, other(rng, COLOURS, colour)]
    rng.shuffle(pair)
    shape_pair = [shape, other(rng, SHAPES, shape)]
    rng.shuffle(shape_pair)
    return [
        {"question": "what colour is the shape?", "answer": colour, "answer_type": "OPEN",
         "question_type": "COLOR"},
        {"question": "what shape is in the image?", "answer": shape, "answer_type": "OPEN",
         "question_type": "SHAPE"},
        {"question": "which side of the image is the shape on?", "answer": side,
         "answer_type": "OPEN", "question_type": "POS"},
        {"question": f"is there a {asked_shape}?", "answer": yes_no(asked_shape == shape),
         "answer_type": "CLOSED", "question_type": "PRES"},
        {"question": f"is the shape {asked_colour}?", "answer": yes_no(asked_colour == colour),
         "answer_type": "CLOSED", "question_type": "COLOR"},
        {"question": f"is the shape on the {asked_side}?", "answer": yes_no(asked_side == side),
         "answer_type": "CLOSED", "question_type": "POS"},
        {"question": f"is the shape {pair[0]} or {pair[1]}?", "answer": colour,
         "answer_type": "CLOSED", "question_type": "COLOR"},
        {"question": f"is it a {shape_pair[0]} or a {shape_pair[1]}?", "answer": shape,
         "answer_type": "CLOSED", "question_type": "SHAPE"},
    ]


def make_split(out: str, split: str, count: int, size: int, per_image: int,
               rng: np.random.Generator, first_qid: int) -> List[Dict]:
    entries = []
    for i in range(count):
        colour = str(rng.choice(list(COLOURS)))
        shape = str(rng.choice(SHAPES))
        side = str(rng.choice(SIDES))
        name = f"{split}_{i:04d}.png"
        draw_image(rng, size, colour, shape, side).save(os.path.join(out, "images", name))
        candidates = questions_for(rng, colour, shape, side)
        for k in sorted(rng.choice(len(candidates), per_image, replace=False)):
            entry = {"qid": first_qid + len(entries), "image_name": name}
            entry.update(candidates[int(k)])
            entries.append(entry)
    return entries


def make_dataset(out: str, train: int = 100, test: int = 40, size: int = 64,
                 per_image: int = 8, seed: int = 0) -> Dict[str, List[Dict]]:
    """Writes the set; returns the entries of each split."""
    if not 1 <= per_image <= len(questions_for(np.random.default_rng(0), "red", "circle", "left")):
        raise ValueError(f"questions per image must be 1..8, not {per_image}")
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    rng = np.random.default_rng(seed)
    splits = {}
    for split, count in (("train", train), ("test", test)):
        first = sum(len(v) for v in splits.values())
        splits[split] = make_split(out, split, count, size, per_image, rng, first)
        with open(os.path.join(out, f"{split}.json"), "w", encoding="utf-8") as f:
            json.dump(splits[split], f, indent=1)
    return splits


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--train", type=int, default=100, help="training images")
    parser.add_argument("--test", type=int, default=40, help="test images")
    parser.add_argument("--questions", type=int, default=8, help="questions per image (1..8)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    splits = make_dataset(args.out, args.train, args.test, args.size, args.questions, args.seed)
    print(f"synthetic VQA set in {args.out}: " +
          ", ".join(f"{k} {len(v)} questions" for k, v in splits.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
