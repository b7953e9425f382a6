#!/usr/bin/python3
"""Segmentation fixtures: a decoder trained by tools/train_segmentation.py on the tiny model,
decoders converted by tools/export_decoder.py, and what the Python reference
(tools/seg_reference.py: Pillow + the eager models) computes with them.

    /usr/bin/python3 tools/make_segmentation_fixtures.py OUTDIR

Deterministic (seeded, one torch thread); about a minute, most of it training. Layout of OUTDIR
(binary files raw little-endian, row-major, no header):

  model.bmc.pt, open_clip_pytorch_model.bin   the tiny base (make_test_models.py, seed 0) and
                                the checkpoint the eager reference loads
  trained.bmcseg.pt             the trained decoder: squash resize, bilinear (as the published
                                BiomedCLIP + CLIPSeg work), taps 0 1 2
  trained_crop.bmcseg.pt        the same weights with open_clip's resize + centre crop, bicubic
  hf_plain.bmcseg.pt            a random decoder in Hugging Face's layout (decoder.* keys next
                                to clip.* ones, plain transposed convolution, 2 heads),
                                converted with --extract-layers 0 1 (taps 1 2)
  train.ckpt, train_metrics.json   the training checkpoint and its held-out metrics
  hf_decoder.bin                the Hugging Face-layout state dict hf_plain was made from
  images/FILE                   test scans (synthetic_scan, never trained on; grey, RGB, RGBA)
  truth/IMAGE.CLASS.u8          uint8 [H, W]: 1 inside the object of CLASS, else 0
  ref/DECODER.IMAGE.logits.f32  float32 [P, S, S]: reference logits for the image's prompts
  ref/DECODER.IMAGE.prob.f32    float32 [P, H, W]: sigmoid, back on the image's grid
  ref/overlay.u8                uint8 [H, W, 3]: overlay of image 0, prompt 0 (threshold 0.5,
                                colour 255 64 0, alpha 0.45)
  broken/                       decoders the loader must refuse (manifest "broken" lines)
  manifest.txt                  "key value..." lines:
      size S / threshold T / classes C...
      decoder NAME FILE                       the decoders with reference outputs
      image INDEX FILE WIDTH HEIGHT           the test images
      prompt INDEX CLASS TEXT...              the prompts (the same for every image)
      case DECODER IMAGE                      a reference pair under ref/
      broken FILE STATUS                      a decoder to refuse, and the bmc_status expected
      metric KEY VALUE                        the training tool's held-out metrics
"""
import json
import os
import sys
from typing import Dict, List

import numpy as np
import torch
from PIL import Image

import bert_tokenizer
import train_segmentation as training
from checkpoint import load_model
from clipseg_decoder import ClipSegDecoder, DecoderConfig, load_decoder
from export_decoder import main as export_main, read_base, read_weights, write_decoder
from make_test_models import BUNDLE, CHECKPOINT_BIN, make_test_model
from seg_reference import (Preprocess, overlay, preprocess, segment_logits, threshold,
                           to_image_geometry)

THRESHOLD = 0.5
OVERLAY_COLOUR = (255, 64, 0)
OVERLAY_ALPHA = 0.45
# A small, fast decoder for the tiny model: one prompt template (the source document's).
TRAINING = ["--synthetic", "160", "--steps", "200", "--batch", "3", "--lr", "2e-3",
            "--templates", "1", "--reduce-dim", "32", "--heads", "2",
            "--mlp-dim", "64", "--seed", "0"]
# (width, height, Pillow mode): down- and upscales, a short side of exactly 224 (no resize in
# the crop mode), odd sizes and a crop offset of 2.5 (Python's round gives 2).
IMAGES = [(256, 192, "L"), (200, 300, "RGB"), (224, 229, "L"), (97, 61, "L"), (300, 224, "RGBA"),
          (181, 181, "L"), (240, 160, "L"), (170, 260, "L"), (320, 250, "L"), (150, 150, "RGB")]
HF_TAPS = [1, 2]


def write_raw(path: str, array: np.ndarray, dtype: str) -> None:
    np.ascontiguousarray(array, dtype=np.dtype(dtype)).tofile(path)


def test_images(out: str) -> List[training.Example]:
    rng = np.random.default_rng(2024)
    examples = []
    for index, (width, height, mode) in enumerate(IMAGES):
        image, masks = training.synthetic_scan(rng, width, height)
        image = image.convert(mode)
        image.save(os.path.join(out, "images", f"scan{index}.png"))
        with Image.open(os.path.join(out, "images", f"scan{index}.png")) as saved:
            saved.load()
            examples.append(training.Example(saved, masks, "abdomen", "CT"))
        for cls, mask in masks.items():
            write_raw(os.path.join(out, "truth", f"scan{index}.{cls}.u8"), mask, "u1")
    return examples


def hf_state_dict(cfg: DecoderConfig) -> Dict[str, torch.Tensor]:
    """A random decoder saved as CLIPSegForImageSegmentation would: decoder.* and clip.*."""
    torch.manual_seed(7)
    state = {f"decoder.{k}": v for k, v in ClipSegDecoder(cfg).state_dict().items()}
    state["clip.logit_scale"] = torch.tensor(2.6592)
    state["clip.text_model.embeddings.token_embedding.weight"] = torch.randn(10, 4)
    return state


def write_broken(out: str, trained: str, base_meta: Dict, state, cfg: DecoderConfig,
                 pre: Preprocess) -> List[str]:
    """Decoders to refuse, each for one reason, as 'FILE STATUS' lines."""
    folder = os.path.join(out, "broken")
    os.makedirs(folder, exist_ok=True)
    files = {"decoder.json": ""}
    module = torch.jit.load(trained, map_location="cpu", _extra_files=files)
    meta = json.loads(files["decoder.json"])

    def save(name: str, changed: Dict, status: str) -> str:
        torch.jit.save(module, os.path.join(folder, name),
                       _extra_files={"decoder.json": json.dumps(dict(meta, **changed))})
        return f"broken/{name} {status}"

    lines = [save("bad_version.bmcseg.pt", {"format_version": 99}, "BMC_ERR_VERSION"),
             save("other_base.bmcseg.pt", {"base": dict(meta["base"], source="random seed 1")},
                  "BMC_ERR_MODEL"),
             save("bad_taps.bmcseg.pt", {"taps": [0, 1, 7]}, "BMC_ERR_MODEL"),
             # consistent on paper (a 12-block base), but this base has 2 blocks: the probe
             save("deep_taps.bmcseg.pt", {"taps": [0, 1, 7],
                                          "base": dict(meta["base"], vision_layers=12)},
                  "BMC_ERR_MODEL"),
             save("no_taps.bmcseg.pt", {"taps": []}, "BMC_ERR_MODEL"),
             save("bad_mode.bmcseg.pt", {"resize_mode": "pad"}, "BMC_ERR_MODEL")]
    torch.jit.save(module, os.path.join(folder, "no_json.bmcseg.pt"))
    lines.append("broken/no_json.bmcseg.pt BMC_ERR_MODEL")
    lines.append(f"{BUNDLE} BMC_ERR_MODEL")  # a model bundle is not a decoder
    with open(trained, "rb") as f:
        data = f.read()
    with open(os.path.join(folder, "truncated.bmcseg.pt"), "wb") as f:
        f.write(data[:len(data) // 2])
    lines.append("broken/truncated.bmcseg.pt BMC_ERR_CORRUPT_DATA")
    # Made for a base with another vision width: decoder.json agrees with itself, the taps do
    # not fit this base, which the load-time probe finds.
    wide = DecoderConfig(**dict(vars(cfg), vision_width=96))
    torch.manual_seed(3)
    wide_state = ClipSegDecoder(wide).state_dict()
    wide_base = dict(base_meta, vision=dict(base_meta["vision"], width=96))
    write_decoder(wide_state, wide, pre, wide_base, os.path.join(folder, "other_width.bmcseg.pt"))
    lines.append("broken/other_width.bmcseg.pt BMC_ERR_MODEL")
    return lines


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    out = argv[1]
    torch.set_num_threads(1)
    for sub in ("images", "truth", "ref"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    info = make_test_model("tiny", out, seed=0, safetensors=False)
    bundle = os.path.join(out, BUNDLE)
    _, base_meta, vocab = read_base(bundle)

    trained = os.path.join(out, "trained.bmcseg.pt")
    checkpoint = os.path.join(out, "train.ckpt")
    if training.main(["--base", bundle, "--out", trained, "--checkpoint", checkpoint,
                      "--metrics", os.path.join(out, "train_metrics.json"), "--name",
                      "synthetic-scans", *TRAINING]) != 0:
        return 1
    state, saved = read_weights(checkpoint)
    cfg = DecoderConfig(**saved["config"])
    squash = Preprocess.from_json(saved["preprocess"])
    crop = Preprocess(squash.image_size, "shortest_crop", "bicubic", squash.mean, squash.std)
    write_decoder(state, cfg, crop, base_meta, os.path.join(out, "trained_crop.bmcseg.pt"),
                  name="synthetic-scans-crop", source="train.ckpt")

    hf_cfg = DecoderConfig(taps=HF_TAPS, vision_width=cfg.vision_width, cond_dim=cfg.cond_dim,
                           reduce_dim=16, heads=2, mlp_dim=32, refined=False,
                           patch_size=cfg.patch_size, grid_size=cfg.grid_size)
    hf_state = hf_state_dict(hf_cfg)
    torch.save(hf_state, os.path.join(out, "hf_decoder.bin"))
    if export_main(["--base", bundle, "--checkpoint", os.path.join(out, "hf_decoder.bin"),
                    "--out", os.path.join(out, "hf_plain.bmcseg.pt"), "--extract-layers",
                    *[str(t - 1) for t in HF_TAPS], "--heads", "2", "--name", "hf-plain"]) != 0:
        return 1
    hf_decoder = load_decoder({k[len("decoder."):]: v for k, v in hf_state.items()
                               if k.startswith("decoder.")}, hf_cfg)

    base, _ = load_model(os.path.join(out, CHECKPOINT_BIN), context_length=base_meta["context_length"],
                         pad_id=base_meta["pad_id"])
    decoders = {"trained": (load_decoder(state, cfg), cfg.taps, squash),
                "trained_crop": (load_decoder(state, cfg), cfg.taps, crop),
                "hf_plain": (hf_decoder, HF_TAPS, squash)}
    examples = test_images(out)
    prompts = [(cls, training.make_prompt(training.TEMPLATES[0], cls, "abdomen", "CT"))
               for cls in training.CLASSES]
    encoded = [bert_tokenizer.encode(text, vocab, pad=False) for _, text in prompts]
    longest = max(len(ids) for ids in encoded)
    pad = vocab["[PAD]"]
    ids = torch.tensor([row + [pad] * (longest - len(row)) for row in encoded])

    lines = [f"size {squash.image_size}", f"threshold {THRESHOLD}",
             "classes " + " ".join(training.CLASSES)]
    lines += [f"decoder {name} {name}.bmcseg.pt" for name in decoders]
    lines += [f"image {i} scan{i}.png {e.image.width} {e.image.height}" for i, e in enumerate(examples)]
    lines += [f"prompt {i} {cls} {text}" for i, (cls, text) in enumerate(prompts)]
    for name, (decoder, taps, pre) in decoders.items():
        for i, e in enumerate(examples):
            if name != "trained" and i >= 4:
                continue  # the other decoders on the first four images
            logits = segment_logits(base, decoder, taps, preprocess(e.image, pre), ids)
            prob = torch.sigmoid(logits).numpy()
            full = np.stack([to_image_geometry(p, e.image.width, e.image.height, pre) for p in prob])
            write_raw(os.path.join(out, "ref", f"{name}.{i}.logits.f32"), logits.numpy(), "f4")
            write_raw(os.path.join(out, "ref", f"{name}.{i}.prob.f32"), full, "f4")
            lines.append(f"case {name} {i}")
            if name == "trained" and i == 0:
                mask = threshold(full[0], THRESHOLD)
                write_raw(os.path.join(out, "ref", "overlay.u8"),
                          overlay(e.image, mask, OVERLAY_COLOUR, OVERLAY_ALPHA), "u1")
    lines += [f"broken {line}" for line in write_broken(out, trained, base_meta, state, cfg, squash)]
    with open(os.path.join(out, "train_metrics.json")) as f:
        lines += [f"metric {k} {v}" for k, v in json.load(f).items()]
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"segmentation fixtures in {out}: {len(examples)} images, "
          f"{sum(l.startswith('case') for l in lines)} reference cases")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
