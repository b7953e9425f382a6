#!/usr/bin/python3
"""Model parity fixtures: a tiny BiomedCLIP bundle and what the reference computes with it.

    /usr/bin/python3 tools/make_model_fixtures.py [--size full] OUTDIR

The tiny model is the default (make check's fixtures); --size full makes the same fixtures for
the full-size stand-in (ViT-B/16 + BERT-base), without the broken bundles. Everything is made here, deterministically (seeded), in about ten seconds. Layout of OUTDIR
(all binary files raw little-endian, row-major, no header):

  model.bmc.pt                  the tiny bundle (make_test_models.py --size tiny --seed 0)
  open_clip_pytorch_model.bin   the checkpoint it was converted from, and the same tensors as
  open_clip_model.safetensors   safetensors
  manifest.txt                  what follows, as "key value..." lines ('#' starts a comment):
                                  embed_dim E / image_size S / context_length C / logit_scale X /
                                  images N / texts T, then one line per image
                                  "image INDEX FILE WIDTH HEIGHT MODE" (MODE as Pillow names it)
                                  and one per text "text INDEX LENGTH" (tokens incl. [CLS]/[SEP])
  images/FILE                   the test PNGs (8-bit gray, RGB, RGBA; several sizes)
  image_pixels.f32              float32 [N, 3, S, S]: each image through Pillow as open_clip
                                preprocesses it (Resize(S, BICUBIC) of the short side,
                                CenterCrop(S), convert('RGB'), /255, normalise with the bundle's
                                mean and std)
  image_embeddings.f32          float32 [N, E]: encode_image of the eager reference model (loaded
                                from the .bin, not the TorchScript) on image_pixels, raw
  texts.txt                     T lines, one ASCII text each (tabs may occur inside a line)
  text_ids.i32                  int32 [T, C]: [CLS] ... [SEP] truncated to C and padded with
                                [PAD] (0) to C, as open_clip feeds the model
  text_lengths.i32              int32 [T]: tokens before the padding (= LENGTH above)
  text_embeddings_padded.f32    float32 [T, E]: eager encode_text on text_ids (the reference)
  text_embeddings_unpadded.f32  float32 [T, E]: eager encode_text on each text's first LENGTH
                                ids alone (what the library runs); equal to the padded ones up to
                                float rounding
  logits.f32                    float32 [N, T]: exp(logit_scale) * cosine(image, text padded),
                                computed in float64
  zeroshot_labels.txt           L labels and M prompt templates ("{}" marks the label), a line
  zeroshot_templates.txt        each
  zeroshot_probs.f32            float32 [N, L]: zero-shot probabilities of each image: every
                                label's M prompts through the eager text tower, normalised,
                                averaged, normalised again; softmax of exp(logit_scale) * cosine
  broken/                       bundles that must be refused: bad_version.bmc.pt (format_version
                                99), no_metadata.bmc.pt (TorchScript without bundle.json),
                                truncated.bmc.pt (the first half of the bundle), bad_json.bmc.pt
                                (bundle.json that is not JSON), no_text.bmc.pt (no encode_text)
"""
import json
import os
import sys
from typing import List

import numpy as np
import torch
from PIL import Image

import bert_tokenizer
from checkpoint import load_model
from export_bundle import IMAGE_MEAN, IMAGE_STD
from make_test_models import BUNDLE, CHECKPOINT_BIN, DEFAULT_VOCAB, make_test_model

# (file name, width, height, Pillow mode). Sizes cover downscaling, upscaling, an image whose
# short side is already the model's (no resize) and a centre crop offset of 2.5 (Python's
# round() gives 2).
IMAGES = [
    ("rgb_320x240.png", 320, 240, "RGB"),
    ("gray_200x300.png", 200, 300, "L"),
    ("rgb_224x229.png", 224, 229, "RGB"),
    ("rgb_97x61.png", 97, 61, "RGB"),
    ("gray_512x384.png", 512, 384, "L"),
    ("rgba_256x200.png", 256, 200, "RGBA"),
]

_LONG_TEXT = " ".join(
    ["Findings: the heart is normal in size and the mediastinal contours are unremarkable.",
     "There is a small left pleural effusion with adjacent atelectasis, and no pneumothorax.",
     "Impression: interval improvement of the right lower lobe consolidation since 2019-03-14,",
     "consistent with resolving pneumonia (follow-up radiograph recommended in 6 weeks)."] * 4)

TEXTS = [
    "a chest X-ray showing pneumothorax",
    "This is a photo of adenocarcinoma histopathology.",
    "CT scan of the abdomen: liver, spleen & kidneys (axial view).",
    "MRI",
    "  Multiple   spaces\tand tabs  around   WORDS  ",
    "Dr. O'Neil's report: 3.5cm mass in the right upper lobe; no effusion!",
    "hematoxylin and eosin stained section demonstrating granulomatous inflammation "
    "with multinucleated giant cells",
    "tumor &amp; edema, see " + "pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    "segment the liver in the abdominal CT image",
    _LONG_TEXT,
]


def make_image(width: int, height: int, mode: str, seed: int) -> Image.Image:
    """Smooth gradients, a disc and noise: structure for the resampler and the model."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin(x / (7 + seed) + y / 23)
    g = 255 * x / max(width - 1, 1)
    disc = (x - width * 0.6) ** 2 + (y - height * 0.4) ** 2 < (min(width, height) * 0.3) ** 2
    b = np.where(disc, 220.0, 40.0) + 30 * np.cos(y / 5)
    a = 255 * (0.3 + 0.7 * y / max(height - 1, 1))
    channels = np.stack([r, g, b, a], axis=-1) + rng.normal(0, 12, (height, width, 4))
    pixels = np.clip(np.rint(channels), 0, 255).astype(np.uint8)
    if mode == "L":
        return Image.fromarray(pixels[..., 0], "L")
    return Image.fromarray(pixels[..., :len(mode)], mode)


def preprocess(image: Image.Image, size: int) -> torch.Tensor:
    """open_clip's inference transform for BiomedCLIP, as torchvision does it on a PIL image."""
    width, height = image.size
    short, long = min(width, height), max(width, height)
    if short != size:
        scaled = int(size * long / short)
        image = image.resize((size, scaled) if width <= height else (scaled, size),
                             Image.BICUBIC)
    width, height = image.size
    top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
    image = image.crop((left, top, left + size, top + size)).convert("RGB")
    x = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).float().div(255)
    mean = torch.tensor(IMAGE_MEAN, dtype=torch.float32)[:, None, None]
    std = torch.tensor(IMAGE_STD, dtype=torch.float32)[:, None, None]
    return x.sub(mean).div(std)


ZEROSHOT_LABELS = ["pneumothorax", "pleural effusion", "normal lungs", "adenocarcinoma"]
ZEROSHOT_TEMPLATES = ["this is a photo of {}", "a chest X-ray showing {}.", "{} on a radiograph"]


class _ImageOnly(torch.nn.Module):
    """A scripted module with encode_image but no encode_text: a bundle missing a method."""

    @torch.jit.export
    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels.flatten(1)


def zeroshot_probabilities(model, cfg, vocab, image_emb: torch.Tensor, logit_scale: float):
    """CLIP template ensembling, computed in float64 from the eager text tower."""
    classes = []
    for label in ZEROSHOT_LABELS:
        prompts = [t.replace("{}", label) for t in ZEROSHOT_TEMPLATES]
        ids = torch.tensor([bert_tokenizer.encode(p, vocab, cfg.context_length) for p in prompts])
        with torch.no_grad():
            emb = model.encode_text(ids).double()
        emb = emb / emb.norm(dim=1, keepdim=True)
        mean = emb.mean(dim=0)
        classes.append(mean / mean.norm())
    classes = torch.stack(classes)
    img = image_emb.double() / image_emb.double().norm(dim=1, keepdim=True)
    return torch.softmax(float(np.exp(logit_scale)) * img @ classes.T, dim=1)


def write_broken_bundles(bundle: str, out: str) -> List[str]:
    """Variants of a good bundle that the loader must refuse, each for one reason."""
    os.makedirs(out, exist_ok=True)
    extra = {"bundle.json": "", "vocab.txt": ""}
    scripted = torch.jit.load(bundle, map_location="cpu", _extra_files=extra)
    meta = json.loads(extra["bundle.json"])
    variants = {
        "bad_version.bmc.pt": (scripted, dict(extra, **{"bundle.json": json.dumps(dict(meta, format_version=99))})),
        "no_metadata.bmc.pt": (scripted, {"vocab.txt": extra["vocab.txt"]}),
        "bad_json.bmc.pt": (scripted, dict(extra, **{"bundle.json": "{ not json"})),
        "no_text.bmc.pt": (torch.jit.script(_ImageOnly()), extra),
    }
    for name, (module, files) in variants.items():
        torch.jit.save(module, os.path.join(out, name), _extra_files=files)
    with open(bundle, "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.bmc.pt"), "wb") as f:
        f.write(data[:len(data) // 2])
    return sorted(variants) + ["truncated.bmc.pt"]


def write_raw(path: str, array: np.ndarray, dtype: str) -> None:
    np.ascontiguousarray(array, dtype=np.dtype(dtype)).tofile(path)


def main(argv) -> int:
    size_name = "tiny"
    if len(argv) == 4 and argv[1] == "--size" and argv[2] in ("tiny", "full"):
        size_name, argv = argv[2], argv[:1] + argv[3:]
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    info = make_test_model(size_name, out, seed=0, safetensors=size_name == "tiny")
    meta = info["metadata"]
    model, cfg = load_model(os.path.join(out, CHECKPOINT_BIN),
                            context_length=meta["context_length"], pad_id=meta["pad_id"])
    size, context = cfg.image_size, cfg.context_length

    pixels = []
    for seed, (name, width, height, mode) in enumerate(IMAGES):
        path = os.path.join(out, "images", name)
        make_image(width, height, mode, seed).save(path)
        with Image.open(path) as image:
            pixels.append(preprocess(image, size))
    pixels = torch.stack(pixels)

    vocab = bert_tokenizer.load_vocab(DEFAULT_VOCAB)
    ids = torch.tensor([bert_tokenizer.encode(t, vocab, context) for t in TEXTS])
    lengths = (ids != cfg.pad_id).sum(dim=1)

    with torch.no_grad():
        image_emb = model.encode_image(pixels)
        text_padded = model.encode_text(ids)
        text_unpadded = torch.cat([model.encode_text(ids[i:i + 1, :int(n)])
                                   for i, n in enumerate(lengths)])
    img = image_emb.double() / image_emb.double().norm(dim=1, keepdim=True)
    txt = text_padded.double() / text_padded.double().norm(dim=1, keepdim=True)
    logits = float(np.exp(meta["logit_scale"])) * img @ txt.T

    write_raw(os.path.join(out, "image_pixels.f32"), pixels.numpy(), "<f4")
    write_raw(os.path.join(out, "image_embeddings.f32"), image_emb.numpy(), "<f4")
    write_raw(os.path.join(out, "text_ids.i32"), ids.numpy(), "<i4")
    write_raw(os.path.join(out, "text_lengths.i32"), lengths.numpy(), "<i4")
    write_raw(os.path.join(out, "text_embeddings_padded.f32"), text_padded.numpy(), "<f4")
    write_raw(os.path.join(out, "text_embeddings_unpadded.f32"), text_unpadded.numpy(), "<f4")
    write_raw(os.path.join(out, "logits.f32"), logits.numpy(), "<f4")
    probs = zeroshot_probabilities(model, cfg, vocab, image_emb, meta["logit_scale"])
    write_raw(os.path.join(out, "zeroshot_probs.f32"), probs.numpy(), "<f4")
    for name, lines_ in (("zeroshot_labels.txt", ZEROSHOT_LABELS),
                         ("zeroshot_templates.txt", ZEROSHOT_TEMPLATES)):
        with open(os.path.join(out, name), "w", encoding="ascii", newline="\n") as f:
            f.writelines(line + "\n" for line in lines_)
    if size_name == "tiny":
        write_broken_bundles(os.path.join(out, BUNDLE), os.path.join(out, "broken"))
    with open(os.path.join(out, "texts.txt"), "w", encoding="ascii", newline="\n") as f:
        f.writelines(t + "\n" for t in TEXTS)

    lines = ["# model parity fixtures from tools/make_model_fixtures.py (layout: its docstring)",
             f"size {size_name}",
             f"bundle {BUNDLE}", f"embed_dim {cfg.embed_dim}", f"image_size {size}",
             f"context_length {context}", f"logit_scale {meta['logit_scale']!r}",
             f"images {len(IMAGES)}", f"texts {len(TEXTS)}"]
    lines += [f"image {i} {n} {w} {h} {m}" for i, (n, w, h, m) in enumerate(IMAGES)]
    lines += [f"text {i} {int(n)}" for i, n in enumerate(lengths)]
    with open(os.path.join(out, "manifest.txt"), "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")

    gap = (text_padded - text_unpadded).abs().max().item()
    print(f"model fixtures in {out}: {len(IMAGES)} images, {len(TEXTS)} texts "
          f"(lengths {lengths.tolist()}); padded vs unpadded text max abs diff {gap:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
