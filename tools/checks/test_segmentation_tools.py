#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of the Python segmentation tools (run by tests/check_segmentation_tools.sh):

- the decoder (tools/reference/clipseg_decoder.py) against an independent functional composition of
  Hugging Face's CLIPSegDecoder.forward (torch's own nn.MultiheadAttention, F.layer_norm,
  the FiLM with CLIPSeg's permutes), refined and plain heads;
- the exporter: a Hugging Face layout state dict (decoder.* beside clip.*), a bare one and a
  training checkpoint become archives whose TorchScript equals the eager decoder, with
  decoder.json as docs/segmentation.md defines it; every missing, unexpected and mis-shaped key
  is named; decoders that do not fit the base are refused;
- the trainer's pieces: prompts, default taps, the exact folding of the FiLM standardisation,
  the synthetic scans;
- the reference pipeline: its open_clip transform equals the model fixtures' one, and maps go
  back to the image's geometry as documented.
Prints "segmentation_tools: N passed, N failed" and exits non-zero on any failure.
"""
import json
import os
import sys
import tempfile
import traceback

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tools.fixtures import make_model_fixtures
from tools.train import train_segmentation as training
from tools.reference.clipseg_decoder import ClipSegDecoder, DecoderConfig
from tools.export.export_decoder import (ExportError, export, main as export_main, parse_args,
                            read_base, save_checkpoint, write_decoder)
from tools.export.make_test_models import BUNDLE, make_test_model
from tools.reference.seg_reference import Preprocess, preprocess, to_image_geometry

passed = failed = 0


def check(cond, message):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {message}")


# ---- an independent CLIPSeg decoder forward ---------------------------------------------------

def reference_forward(state, cfg: DecoderConfig, activations, cond):
    """CLIPSegDecoder.forward step by step from the state dict."""
    def linear(x, name):
        return F.linear(x, state[f"{name}.weight"], state[f"{name}.bias"])

    r = cfg.reduce_dim
    output = None
    for i, activation in enumerate(activations[::-1]):
        reduced = linear(activation, f"reduces.{i}")
        output = reduced if output is None else reduced + output
        if i == cfg.conditional_layer:
            output = linear(cond, "film_mul") * output.permute(1, 0, 2) + linear(cond, "film_add")
            output = output.permute(1, 0, 2)
        p = f"layers.{i}."
        attention = torch.nn.MultiheadAttention(r, cfg.heads, batch_first=True)
        attention.in_proj_weight.data = torch.cat([state[p + f"self_attn.{n}_proj.weight"] for n in "qkv"])
        attention.in_proj_bias.data = torch.cat([state[p + f"self_attn.{n}_proj.bias"] for n in "qkv"])
        attention.out_proj.weight.data = state[p + "self_attn.out_proj.weight"]
        attention.out_proj.bias.data = state[p + "self_attn.out_proj.bias"]
        attended = attention.eval()(output, output, output, need_weights=False)[0]
        output = F.layer_norm(output + attended, (r,), state[p + "layer_norm1.weight"],
                              state[p + "layer_norm1.bias"], cfg.layer_norm_eps)
        mlp = linear(F.relu(linear(output, p + "mlp.fc1")), p + "mlp.fc2")
        output = F.layer_norm(output + mlp, (r,), state[p + "layer_norm2.weight"],
                              state[p + "layer_norm2.bias"], cfg.layer_norm_eps)
    output = output[:, 1:, :].permute(0, 2, 1)
    size = int(round(output.shape[2] ** 0.5))
    x = output.reshape(output.shape[0], output.shape[1], size, size)
    t = "transposed_convolution"
    if cfg.refined:
        k = cfg.patch_size // 4
        x = F.relu(F.conv2d(x, state[f"{t}.0.weight"], state[f"{t}.0.bias"], padding=1))
        x = F.relu(F.conv_transpose2d(x, state[f"{t}.2.weight"], state[f"{t}.2.bias"], stride=k))
        x = F.conv_transpose2d(x, state[f"{t}.4.weight"], state[f"{t}.4.bias"], stride=k)
    else:
        x = F.conv_transpose2d(x, state[f"{t}.weight"], state[f"{t}.bias"], stride=cfg.patch_size)
    return x.squeeze(1)


def random_inputs(cfg: DecoderConfig, batch: int = 2, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    tokens = cfg.grid_size ** 2 + 1
    return ([torch.randn(batch, tokens, cfg.vision_width, generator=gen) for _ in cfg.taps],
            torch.randn(batch, cfg.cond_dim, generator=gen))


def perturbed(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every parameter moved off its initial value (LayerNorms are not identities, biases
    not zero), so a swapped parameter would show."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    return module.eval()


def test_decoder_matches_reference():
    for refined, taps, heads in ((True, [4, 7, 10], 4), (False, [1, 2], 2), (True, [0], 2)):
        cfg = DecoderConfig(taps=taps, vision_width=48, cond_dim=24, reduce_dim=16, heads=heads,
                            mlp_dim=40, refined=refined, grid_size=5)
        torch.manual_seed(1)
        decoder = perturbed(ClipSegDecoder(cfg, attention="matmul"), 2)
        states, cond = random_inputs(cfg)
        with torch.no_grad():
            got = decoder(states, cond)
            want = reference_forward(decoder.state_dict(), cfg, states, cond)
            scripted = torch.jit.script(decoder)(states, cond)
        check(got.shape == (2, 80, 80), f"output shape {tuple(got.shape)}")
        check((got - want).abs().max().item() < 1e-5,
              f"refined={refined} taps={taps}: differs from CLIPSeg's forward by "
              f"{(got - want).abs().max().item():g}")
        check((scripted - got).abs().max().item() < 1e-5, "TorchScript differs from eager")
        other = cond.flip(0)
        with torch.no_grad():
            check((decoder(states, other) - got).abs().max().item() > 1e-3,
                  "the conditioning does not change the output")


# ---- exporter -------------------------------------------------------------------------------

def exported(path: str):
    files = {"decoder.json": ""}
    return torch.jit.load(path, map_location="cpu", _extra_files=files), json.loads(files["decoder.json"])


def raises(fn, *words) -> bool:
    try:
        fn()
    except (ExportError, ValueError) as e:
        if all(w in str(e) for w in words):
            return True
        print(f"  message was: {e}")
    return False


def test_exporter(tmp: str, bundle: str):
    _, meta, _ = read_base(bundle)
    vision = meta["vision"]
    cfg = DecoderConfig(taps=[1, 2], vision_width=vision["width"], cond_dim=meta["embed_dim"],
                        reduce_dim=16, heads=2, mlp_dim=32, refined=False,
                        patch_size=vision["patch_size"], grid_size=meta["image_size"] // vision["patch_size"])
    torch.manual_seed(5)
    decoder = perturbed(ClipSegDecoder(cfg), 6)
    hf = {f"decoder.{k}": v for k, v in decoder.state_dict().items()}
    hf["clip.logit_scale"] = torch.tensor(2.0)
    torch.save(hf, os.path.join(tmp, "hf.bin"))
    out = os.path.join(tmp, "hf.bmcseg.pt")
    code = export_main(["--base", bundle, "--checkpoint", os.path.join(tmp, "hf.bin"), "--out", out,
                        "--extract-layers", "0", "1", "--heads", "2", "--resize-mode", "shortest_crop",
                        "--interpolation", "bicubic", "--name", "t"])
    check(code == 0, "exporting a Hugging Face layout state dict failed")
    module, info = exported(out)
    check(info["taps"] == [1, 2], f"extract_layers 0 1 became taps {info['taps']}")
    check(info["format"] == "biomedclip-segmentation-decoder" and info["format_version"] == 1,
          "format fields")
    check(info["resize_mode"] == "shortest_crop" and info["interpolation"] == "bicubic"
          and info["image_mean"] == meta["image_mean"] and info["map_size"] == meta["image_size"],
          "preprocessing fields")
    check(info["base"] == {"name": meta["name"], "source": meta["source"], "embed_dim": meta["embed_dim"],
                           "image_size": meta["image_size"], "patch_size": vision["patch_size"],
                           "vision_width": vision["width"], "vision_layers": vision["layers"]},
          f"base facts {info['base']}")
    check(info["decoder"]["refined"] is False and info["decoder"]["heads"] == 2
          and info["decoder"]["reduce_dim"] == 16 and info["conditioning"] == "text_embedding",
          f"decoder fields {info['decoder']}")
    states, cond = random_inputs(cfg, batch=3)
    with torch.no_grad():
        diff = (module(states, cond) - decoder(states, cond)).abs().max().item()
    check(diff < 1e-5, f"exported archive differs from the eager decoder by {diff:g}")

    bare = os.path.join(tmp, "bare.pt")
    torch.save(decoder.state_dict(), bare)
    check(export_main(["--base", bundle, "--checkpoint", bare, "--out", os.path.join(tmp, "b.pt"),
                       "--taps", "1", "2", "--heads", "2"]) == 0, "a bare state dict")

    trained = os.path.join(tmp, "trained.ckpt")
    save_checkpoint(trained, cfg, Preprocess(resize_mode="shortest_crop", interpolation="bicubic"),
                    decoder.state_dict(), {"dice": 0.5})
    check(export_main(["--base", bundle, "--checkpoint", trained, "--out", os.path.join(tmp, "c.pt")]) == 0,
          "a training checkpoint")
    module, info = exported(os.path.join(tmp, "c.pt"))
    check(info["taps"] == [1, 2] and info["decoder"]["heads"] == 2 and info["resize_mode"] == "shortest_crop"
          and info["interpolation"] == "bicubic", f"a training checkpoint's own settings: {info}")
    with torch.no_grad():
        diff = (module(states, cond) - decoder(states, cond)).abs().max().item()
    check(diff < 1e-5, f"exported training checkpoint differs by {diff:g}")

    state = dict(decoder.state_dict())
    args = ["--base", bundle, "--out", os.path.join(tmp, "x.pt"), "--taps", "1", "2", "--heads", "2"]
    missing = {k: v for k, v in state.items() if k != "layers.1.mlp.fc2.bias"}
    torch.save(missing, os.path.join(tmp, "missing.pt"))
    check(raises(lambda: run_export(args + ["--checkpoint", os.path.join(tmp, "missing.pt")]),
                 "missing layers.1.mlp.fc2.bias"), "a missing key is named")
    extra = dict(state, **{"layers.0.extra": torch.zeros(1)})
    torch.save(extra, os.path.join(tmp, "extra.pt"))
    check(raises(lambda: run_export(args + ["--checkpoint", os.path.join(tmp, "extra.pt")]),
                 "unexpected layers.0.extra"), "an unexpected key is named")
    check(raises(lambda: run_export(args[:4] + ["--taps", "1", "2", "3", "--checkpoint", bare]),
                 "2 reduces", "3 taps"), "taps and reduces must agree")
    check(raises(lambda: run_export(args[:4] + ["--taps", "1", "9", "--checkpoint", bare]),
                 "tap 9"), "a tap past the base's blocks is refused")
    wide = DecoderConfig(**dict(vars(cfg), vision_width=96))
    check(raises(lambda: write_decoder(ClipSegDecoder(wide).state_dict(), wide, Preprocess(), meta,
                                       os.path.join(tmp, "w.pt")), "width 96"),
          "a decoder of another width is refused")
    check(not os.path.exists(os.path.join(tmp, "x.pt")) and not os.path.exists(os.path.join(tmp, "w.pt")),
          "a failed export leaves no file")


def run_export(argv):
    return export(parse_args(argv))


# ---- trainer pieces ---------------------------------------------------------------------------

def test_training_pieces():
    check(training.make_prompt(training.TEMPLATES[0], "liver", "abdomen", "CT")
          == "Segment the liver in the abdomen in the CT image", "the source document's prompt")
    check(training.default_taps(12) == [4, 7, 10] and training.default_taps(2) == [0, 1, 2],
          f"default taps {training.default_taps(12)} {training.default_taps(2)}")
    cfg = DecoderConfig(taps=[0, 1], vision_width=8, cond_dim=6, reduce_dim=8, heads=2, mlp_dim=8,
                        grid_size=2, patch_size=4)
    torch.manual_seed(0)
    decoder = perturbed(ClipSegDecoder(cfg), 1)
    states, cond = random_inputs(cfg, batch=4)
    mean, std = cond.mean(0) + 3.0, cond.std(0) * 0.1
    with torch.no_grad():
        before = decoder(states, (cond - mean) / std)
        training.fold_standardization(decoder, mean, std)
        after = decoder(states, cond)
    check((before - after).abs().max().item() < 1e-3 * before.abs().max().item(),
          f"folding the standardisation changes the output by {(before - after).abs().max().item():g}")
    image, masks = training.synthetic_scan(np.random.default_rng(0), 150, 120)
    pixels = np.asarray(image, dtype=np.float64) / 255
    check(image.size == (150, 120) and set(masks) == set(training.CLASSES), "scan size and classes")
    overlap = sum(m.astype(int) for m in masks.values()).max()
    check(overlap == 1, "objects overlap")
    for cls, mask in masks.items():
        level = training.OBJECTS[cls][2]
        check(mask.sum() > 50 and abs(pixels[mask].mean() - level) < 0.03,
              f"{cls}: {mask.sum()} pixels at mean {pixels[mask].mean():.3f}, expected {level}")


def test_tsv_examples(tmp: str):
    """A TSV of image, mask, class, region, modality: rows of one image make one example."""
    rng = np.random.default_rng(4)
    rows = ["image\tmask\tclass\tregion\tmodality"]
    scans = []
    for i in range(2):
        image, masks = training.synthetic_scan(rng, 120 + i, 100)
        image.save(os.path.join(tmp, f"scan{i}.png"))
        scans.append(masks)
        for cls in ("liver", "lesion"):
            Image.fromarray(masks[cls].astype(np.uint8) * 200).save(os.path.join(tmp, f"scan{i}.{cls}.png"))
            rows.append(f"scan{i}.png\tscan{i}.{cls}.png\t{cls}\tabdomen\tMRI")
    with open(os.path.join(tmp, "triplets.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    examples = training.tsv_examples(os.path.join(tmp, "triplets.tsv"))
    check(len(examples) == 2 and all(sorted(e.masks) == ["lesion", "liver"] for e in examples),
          "TSV rows grouped by image")
    check(all(np.array_equal(e.masks[c], scans[i][c]) for i, e in enumerate(examples) for c in e.masks)
          and examples[1].image.size == (121, 100) and examples[0].modality == "MRI",
          "TSV masks, images and attributes read back")


# ---- reference pipeline ------------------------------------------------------------------------

def test_reference_pipeline():
    crop = Preprocess(224, "shortest_crop", "bicubic")
    for width, height in ((320, 240), (200, 300), (224, 229), (97, 61)):
        image = make_model_fixtures.make_image(width, height, "RGB", 1)
        same = torch.equal(preprocess(image, crop), make_model_fixtures.preprocess(image, 224))
        check(same, f"{width}x{height}: the crop transform differs from the model fixtures' one")
    squash = Preprocess(224, "squash", "bilinear")
    prob = np.random.default_rng(0).random((224, 224)).astype(np.float32)
    check(np.array_equal(to_image_geometry(prob, 224, 224, squash), prob), "squash at 224 is the map")
    ones = np.ones((224, 224), np.float32)
    full = to_image_geometry(ones, 448, 300, crop)  # resized 334 x 224: crop columns 55..278
    inside = (np.arange(448) + 0.5) * 334 / 448
    inside = (inside >= 55) & (inside < 279)
    check(np.allclose(full[:, inside], 1.0, atol=1e-6) and np.all(full[:, ~inside] == 0),
          "crop: 1 inside the crop, 0 outside")
    check(full.shape == (300, 448), f"shape {full.shape}")


def main() -> int:
    torch.set_num_threads(1)
    tests = [test_decoder_matches_reference, test_training_pieces, test_reference_pipeline]
    with tempfile.TemporaryDirectory() as tmp:
        make_test_model("tiny", tmp, seed=0, safetensors=False)
        bundle = os.path.join(tmp, BUNDLE)
        for test in tests + [lambda: test_exporter(tmp, bundle), lambda: test_tsv_examples(tmp)]:
            try:
                test()
            except Exception:  # a crash is a failure of that test, the others still run
                check(False, f"a test raised:\n{traceback.format_exc()}")
    print(f"segmentation_tools: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
