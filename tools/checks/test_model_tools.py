#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of the Python model tools (run by tests/check_model_tools.sh):

- the reference model against an independent composition of torch's own
  nn.TransformerEncoderLayer (pre-norm for the ViT, post-norm for BERT) and functional ops;
- the checkpoint loader: .bin (bare, wrapped, "module." prefix) and .safetensors give the same
  tensors; every missing, unexpected and mis-shaped key is named; malformed safetensors files
  are refused with a message; sizes are inferred for the tiny and the full model;
- the exporter: bundle.json as docs/model-bundle.md defines it, vocab.txt byte for byte, the
  TorchScript equal to the eager model, dynamic batch and length, padding masked, errors
  reported without a traceback;
- the fixture tokenizer against the Rust tokenizers reference when it is installed.
Prints "model_tools: N passed, N failed" and exits non-zero on any failure.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback

import numpy as np
import torch
import torch.nn.functional as F


from tools.reference import bert_tokenizer
from tools import ROOT
from tools.fixtures import make_model_fixtures
from tools.reference.biomedclip_model import BiomedCLIP, full_config, has_fused_attention, tiny_config
from tools.export.checkpoint import (CheckpointError, check_state_dict, infer_config, load_checkpoint,
                        load_model, read_safetensors, write_safetensors)
from tools.export.export_bundle import export, random_inputs
from tools.export.make_test_models import (CHECKPOINT_BIN, CHECKPOINT_SAFETENSORS, DEFAULT_VOCAB,
                              make_test_model, random_state_dict)

passed = failed = 0


def check(cond, message):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {message}")


def max_diff(a, b):
    return (a - b).abs().max().item()


def raises(fn, *words):
    """Whether fn raises CheckpointError whose text contains every word."""
    try:
        fn()
    except CheckpointError as e:
        missing = [w for w in words if w not in str(e)]
        if missing:
            print(f"  message lacks {missing}: {e}")
        return not missing
    return False


# ---- an independent reference ----------------------------------------------------------------

def encoder_layer(width, heads, mlp, eps, norm_first, weights):
    """torch's own transformer layer with the given weights (in_proj = q, k, v rows)."""
    layer = torch.nn.TransformerEncoderLayer(width, heads, mlp, dropout=0.0, activation="gelu",
                                             layer_norm_eps=eps, batch_first=True,
                                             norm_first=norm_first)
    layer.load_state_dict(weights)
    return layer.eval()


def independent_image(state, cfg, pixels):
    p = "visual.trunk."
    x = F.conv2d(pixels, state[p + "patch_embed.proj.weight"], state[p + "patch_embed.proj.bias"],
                 stride=cfg.patch_size).flatten(2).transpose(1, 2)
    x = torch.cat([state[p + "cls_token"].expand(len(x), -1, -1), x], 1) + state[p + "pos_embed"]
    for i in range(cfg.vision_layers):
        b = f"{p}blocks.{i}."
        x = encoder_layer(cfg.vision_width, cfg.vision_heads, cfg.vision_mlp, 1e-6, True, {
            "self_attn.in_proj_weight": state[b + "attn.qkv.weight"],
            "self_attn.in_proj_bias": state[b + "attn.qkv.bias"],
            "self_attn.out_proj.weight": state[b + "attn.proj.weight"],
            "self_attn.out_proj.bias": state[b + "attn.proj.bias"],
            "linear1.weight": state[b + "mlp.fc1.weight"], "linear1.bias": state[b + "mlp.fc1.bias"],
            "linear2.weight": state[b + "mlp.fc2.weight"], "linear2.bias": state[b + "mlp.fc2.bias"],
            "norm1.weight": state[b + "norm1.weight"], "norm1.bias": state[b + "norm1.bias"],
            "norm2.weight": state[b + "norm2.weight"], "norm2.bias": state[b + "norm2.bias"],
        })(x)
    x = F.layer_norm(x, (cfg.vision_width,), state[p + "norm.weight"], state[p + "norm.bias"], 1e-6)
    return x[:, 0] @ state["visual.head.proj.weight"].T


def independent_text(state, cfg, ids):
    p = "text.transformer."
    e = p + "embeddings."
    x = (state[e + "word_embeddings.weight"][ids] + state[e + "token_type_embeddings.weight"][0]
         + state[e + "position_embeddings.weight"][: ids.shape[1]])
    x = F.layer_norm(x, (cfg.text_width,), state[e + "LayerNorm.weight"], state[e + "LayerNorm.bias"],
                     1e-12)
    for i in range(cfg.text_layers):
        b = f"{p}encoder.layer.{i}."
        a = b + "attention."
        x = encoder_layer(cfg.text_width, cfg.text_heads, cfg.text_mlp, 1e-12, False, {
            "self_attn.in_proj_weight": torch.cat([state[a + f"self.{n}.weight"]
                                                   for n in ("query", "key", "value")]),
            "self_attn.in_proj_bias": torch.cat([state[a + f"self.{n}.bias"]
                                                 for n in ("query", "key", "value")]),
            "self_attn.out_proj.weight": state[a + "output.dense.weight"],
            "self_attn.out_proj.bias": state[a + "output.dense.bias"],
            "norm1.weight": state[a + "output.LayerNorm.weight"],
            "norm1.bias": state[a + "output.LayerNorm.bias"],
            "linear1.weight": state[b + "intermediate.dense.weight"],
            "linear1.bias": state[b + "intermediate.dense.bias"],
            "linear2.weight": state[b + "output.dense.weight"],
            "linear2.bias": state[b + "output.dense.bias"],
            "norm2.weight": state[b + "output.LayerNorm.weight"],
            "norm2.bias": state[b + "output.LayerNorm.bias"],
        })(x, src_key_padding_mask=ids == cfg.pad_id)
    hidden = F.gelu(x[:, 0] @ state["text.proj.0.weight"].T)
    return hidden @ state["text.proj.2.weight"].T


# ---- tests ----------------------------------------------------------------------------------

def test_reference_against_torch_layers(tmp):
    cfg = tiny_config()
    state = random_state_dict(cfg, seed=3)
    del state["text.transformer.embeddings.position_ids"]
    model = BiomedCLIP(cfg, attention="matmul").eval()
    model.load_state_dict(state)
    pixels, ids = random_inputs(cfg, seed=5)
    with torch.no_grad():
        d_img = max_diff(model.encode_image(pixels), independent_image(state, cfg, pixels))
        d_txt = max_diff(model.encode_text(ids), independent_text(state, cfg, ids))
        scale = model.encode_text(ids).abs().max().item()
    print(f"  reference vs nn.TransformerEncoderLayer: image {d_img:.3g}, text {d_txt:.3g}")
    check(d_img < 1e-5, f"image tower differs from the independent reference by {d_img}")
    check(d_txt < 1e-5, f"text tower differs from the independent reference by {d_txt}")
    check(scale > 0.1, f"text embeddings are degenerate (max |x| {scale})")


def test_param_counts(tmp):
    tiny = sum(p.numel() for p in BiomedCLIP(tiny_config()).parameters())
    full_model = BiomedCLIP(full_config())
    full = sum(p.numel() for p in full_model.parameters())
    print(f"  parameters: tiny {tiny:,}, full {full:,}")
    check(full == 195_902_721, f"full model has {full} parameters")
    state = {k: v for k, v in full_model.state_dict().items()}
    check(infer_config(state) == full_config(), "full config not inferred from its shapes")
    check(infer_config(random_state_dict(tiny_config(), 0)) == tiny_config(),
          "tiny config not inferred from its shapes")


def test_attention_choice(tmp):
    cfg = tiny_config()
    if has_fused_attention():
        torch.manual_seed(0)
        a = BiomedCLIP(cfg, attention="matmul").eval()
        b = BiomedCLIP(cfg, attention="fused").eval()
        b.load_state_dict(a.state_dict())
        pixels, ids = random_inputs(cfg)
        with torch.no_grad():
            d = max(max_diff(a.encode_image(pixels), b.encode_image(pixels)),
                    max_diff(a.encode_text(ids), b.encode_text(ids)))
        check(d < 1e-5, f"fused and matmul attention differ by {d}")
    else:
        try:
            BiomedCLIP(cfg, attention="fused")
            check(False, "fused attention built on a torch without it")
        except ValueError as e:
            check("scaled_dot_product_attention" in str(e), f"unclear message: {e}")
        scripted = torch.jit.script(BiomedCLIP(cfg, attention="auto"))
        check(scripted is not None, "auto attention does not script")


def test_loader_forms(tmp):
    make_test_model("tiny", tmp, seed=1)
    bin_path = os.path.join(tmp, CHECKPOINT_BIN)
    st_path = os.path.join(tmp, CHECKPOINT_SAFETENSORS)
    a, b = load_checkpoint(bin_path), load_checkpoint(st_path)
    check(a.keys() == b.keys(), ".bin and .safetensors hold different keys")
    check(all(torch.equal(a[k], b[k]) for k in a), ".bin and .safetensors tensors differ")
    check("text.transformer.embeddings.position_ids" not in a, "position_ids not ignored")
    raw = torch.load(bin_path)
    check("text.transformer.embeddings.position_ids" in raw, "test checkpoint lacks position_ids")
    wrapped = os.path.join(tmp, "wrapped.bin")
    torch.save({"epoch": 3, "state_dict": {"module." + k: v for k, v in raw.items()}}, wrapped)
    c = load_checkpoint(wrapped)
    check(c.keys() == a.keys() and all(torch.equal(a[k], c[k]) for k in a),
          "wrapped state dict with module. prefix not read the same")
    half = os.path.join(tmp, "half.safetensors")
    write_safetensors(half, {k: v.half() for k, v in a.items()})
    d = load_checkpoint(half)
    check(all(d[k].dtype == torch.float32 and torch.equal(d[k], a[k].half().float()) for k in a),
          "float16 safetensors not widened exactly")


def test_loader_errors(tmp):
    cfg = tiny_config()
    model = BiomedCLIP(cfg)
    state = random_state_dict(cfg, 0)
    del state["text.transformer.embeddings.position_ids"]
    del state["visual.trunk.blocks.1.attn.qkv.bias"]
    del state["text.proj.2.weight"]
    state["visual.trunk.fc_norm.weight"] = torch.ones(3)
    state["text.transformer.pooler.dense.weight"] = torch.ones(3)
    state["visual.trunk.norm.bias"] = torch.zeros(7)
    check(raises(lambda: check_state_dict(state, model),
                 "2 missing", "visual.trunk.blocks.1.attn.qkv.bias", "text.proj.2.weight",
                 "2 unexpected", "visual.trunk.fc_norm.weight", "text.transformer.pooler.dense.weight",
                 "1 wrong shape", "visual.trunk.norm.bias: checkpoint [7], model [128]"),
          "check_state_dict does not name every bad key")
    path = os.path.join(tmp, "bad.bin")
    torch.save(state, path)
    check(raises(lambda: load_model(path), "visual.trunk.blocks.1.attn.qkv.bias", "fc_norm",
                 "visual.trunk.norm.bias"), "load_model does not report the bad keys")
    small = {k: v for k, v in state.items() if not k.startswith("visual.trunk.cls_token")}
    check(raises(lambda: infer_config(small), "missing key visual.trunk.cls_token"),
          "infer_config does not name the key it needs")
    nondict = os.path.join(tmp, "list.bin")
    torch.save([1, 2, 3], nondict)
    check(raises(lambda: load_checkpoint(nondict), "not a state dict"), "list checkpoint accepted")
    text = os.path.join(tmp, "text.bin")
    with open(text, "w") as f:
        f.write("hello")
    check(raises(lambda: load_checkpoint(text), "cannot read as a torch checkpoint"),
          "text file accepted as a checkpoint")
    ints = os.path.join(tmp, "ints.bin")
    torch.save({"logit_scale": torch.tensor(3)}, ints)
    check(raises(lambda: load_checkpoint(ints), "logit_scale", "floating point"),
          "integer weights accepted")


def safetensors_bytes(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def test_safetensors_format(tmp):
    # A file written by hand from the format description, read by the reader.
    values = np.arange(6, dtype="<f4").reshape(2, 3)
    bf16 = (np.array([1.5, -2.25], dtype="<f4").view("<u4") >> 16).astype("<u2")
    blob = values.tobytes() + bf16.tobytes()
    path = os.path.join(tmp, "hand.safetensors")
    with open(path, "wb") as f:
        f.write(safetensors_bytes({"__metadata__": {"format": "pt"},
                                   "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                                   "b": {"dtype": "BF16", "shape": [2], "data_offsets": [24, 28]}},
                                  blob))
    t = read_safetensors(path)
    check(torch.equal(t["a"], torch.from_numpy(values)), "F32 tensor read wrong")
    check(t["b"].tolist() == [1.5, -2.25], f"BF16 tensor read wrong: {t['b']}")
    # The writer's output, read back, and its layout by the format's rules.
    out = os.path.join(tmp, "w.safetensors")
    tensors = {"x": torch.randn(3, 4), "y": torch.arange(5)}
    write_safetensors(out, tensors, {"k": "v"})
    back = read_safetensors(out)
    check(all(torch.equal(back[k], tensors[k]) for k in tensors), "writer/reader round trip")
    with open(out, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    check(header["__metadata__"] == {"k": "v"} and header["x"]["data_offsets"] == [0, 48]
          and header["y"]["dtype"] == "I64" and n % 8 == 0, f"writer header {header}")
    bad = {
        "short": b"\x01\x02",
        "length past end": struct.pack("<Q", 1 << 40) + b"{}",
        "not json": struct.pack("<Q", 3) + b"{{{",
        "offsets past end": safetensors_bytes({"a": {"dtype": "F32", "shape": [4],
                                                     "data_offsets": [0, 16]}}, b"\0" * 8),
        "size mismatch": safetensors_bytes({"a": {"dtype": "F32", "shape": [3],
                                                  "data_offsets": [0, 8]}}, b"\0" * 8),
        "unknown dtype": safetensors_bytes({"a": {"dtype": "C64", "shape": [1],
                                                  "data_offsets": [0, 8]}}, b"\0" * 8),
        "negative shape": safetensors_bytes({"a": {"dtype": "F32", "shape": [-1],
                                                   "data_offsets": [0, 0]}}),
        "missing field": safetensors_bytes({"a": {"dtype": "F32", "shape": [1]}}, b"\0" * 4),
    }
    for what, data in bad.items():
        p = os.path.join(tmp, "bad.safetensors")
        with open(p, "wb") as f:
            f.write(data)
        check(raises(lambda: read_safetensors(p), "bad.safetensors"), f"{what}: accepted")


def read_bundle(path):
    files = {"bundle.json": "", "vocab.txt": ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=files)
    return module, json.loads(files["bundle.json"]), files["vocab.txt"]


def test_bundle(tmp):
    info = make_test_model("tiny", tmp, seed=2)
    module, meta, vocab = read_bundle(os.path.join(tmp, "model.bmc.pt"))
    with open(DEFAULT_VOCAB, "rb") as f:
        check(vocab == f.read(), "vocab.txt in the bundle is not the input, byte for byte")
    expected = {
        "format": "biomedclip-bundle", "format_version": 1, "name": "biomedclip-tiny-random",
        "source": "random seed 2", "embed_dim": 64, "image_size": 224,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "resize_mode": "shortest_crop", "interpolation": "bicubic", "context_length": 256,
        "logit_scale": meta.get("logit_scale"), "pad_id": 0,
        "vision": {"patch_size": 16, "width": 128, "layers": 2, "heads": 2, "mlp_dim": 256},
        "text": {"vocab_size": 30522, "width": 128, "layers": 2, "heads": 2, "mlp_dim": 256,
                 "max_positions": 512, "proj_hidden": 96},
        "tokenizer": {"lowercase": True, "clean": "whitespace"},
    }
    check(meta == expected, f"bundle.json is {meta}")
    check(meta["logit_scale"] == float(np.float32(np.log(100.0) * 0.98)),
          f"logit_scale {meta['logit_scale']} is not the float32 parameter at full precision")
    # The bundle's encoders skip rows the result never reads (tools/export/bundle_model.py):
    # the same values up to the order of float additions.
    check(info["round_trip_error"] < 1e-5, f"round trip error {info['round_trip_error']}")
    check(set(m for m in ("encode_image", "encode_text") if hasattr(module, m))
          == {"encode_image", "encode_text"}, "bundle lacks a method")

    eager, _ = load_model(os.path.join(tmp, CHECKPOINT_BIN), context_length=256)
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for n in (1, 3):
            pixels = torch.randn(n, 3, 224, 224, generator=gen)
            out = module.encode_image(pixels)
            check(out.shape == (n, 64) and out.dtype == torch.float32, f"image output {out.shape}")
            check(max_diff(out, eager.encode_image(pixels)) < 1e-5, f"image N={n}: script != eager")
        ids = torch.randint(1000, 30000, (4, 256), generator=gen)
        ids[:, 0], lengths = 101, [256, 40, 7, 2]
        for row, n in enumerate(lengths):
            ids[row, n - 1] = 102
            ids[row, n:] = 0
        padded = module.encode_text(ids)
        check(max_diff(padded, eager.encode_text(ids)) < 1e-5, "text: script != eager")
        alone = torch.cat([module.encode_text(ids[i:i + 1, :n]) for i, n in enumerate(lengths)])
        d = max_diff(padded, alone)
        print(f"  padded-256 vs unpadded text (scripted): {d:.3g}")
        check(d < 1e-5, f"padded and unpadded text differ by {d}")
        # Padding where the library never puts it: inside a text, and at the pooled position.
        odd = ids[:, :40].clone()
        odd[1, 5], odd[2, 0] = 0, 0
        check(max_diff(module.encode_text(odd), eager.encode_text(odd)) < 1e-5,
              "text with padding inside or first: script != eager")
        longest = module.encode_text(ids[1:, :40])
        check(max_diff(longest, padded[1:]) < 1e-5, "padding to the longest row changes results")
        swapped = ids.clone()
        swapped[2, 3] = 2000
        check(max_diff(module.encode_text(swapped)[2], padded[2]) > 1e-3,
              "changing one token does not change the text embedding")


def test_bin_and_safetensors_bundles(tmp):
    make_test_model("tiny", tmp, seed=4)
    outs = {}
    for name in (CHECKPOINT_BIN, CHECKPOINT_SAFETENSORS):
        out = os.path.join(tmp, name + ".bmc.pt")
        export(os.path.join(tmp, name), DEFAULT_VOCAB, out, name="same")
        outs[name] = read_bundle(out)
    (m1, j1, v1), (m2, j2, v2) = outs.values()
    check(j1["source"].startswith("checkpoint sha256 ") and len(j1["source"]) == 18 + 64,
          f"source {j1['source']}")
    j1.pop("source"), j2.pop("source")
    check(j1 == j2 and v1 == v2, "bundle metadata from .bin and .safetensors differ")
    check(all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(),
                                                 m2.state_dict().values())),
          "bundle weights from .bin and .safetensors differ")


def test_cli_errors(tmp):
    make_test_model("tiny", tmp, seed=0)
    script = ["-m", "tools.export.export_bundle"]
    short_vocab = os.path.join(tmp, "short.txt")
    with open(short_vocab, "w") as f:
        f.write("[PAD]\n[UNK]\n")
    no_pad = os.path.join(tmp, "nopad.txt")
    with open(no_pad, "w") as f:
        f.write("[UNK]\n" * 30522)
    cases = [
        ([os.path.join(tmp, "missing.bin"), DEFAULT_VOCAB], "missing.bin"),
        ([os.path.join(tmp, CHECKPOINT_BIN), short_vocab], "vocabulary has 2 entries"),
        ([os.path.join(tmp, CHECKPOINT_BIN), no_pad], "no [PAD] entry"),
    ]
    for (ckpt, vocab), words in cases:
        out = os.path.join(tmp, "x.bmc.pt")
        r = subprocess.run([sys.executable, *script, "--checkpoint", ckpt, "--vocab", vocab,
                            "--out", out], capture_output=True, text=True, cwd=ROOT)
        check(r.returncode == 1 and words in r.stderr and "Traceback" not in r.stderr
              and not os.path.exists(out) and not os.path.exists(out + ".tmp"),
              f"export with {os.path.basename(ckpt)}/{os.path.basename(vocab)}: rc "
              f"{r.returncode}, stderr {r.stderr.strip()}")
    r = subprocess.run([sys.executable, *script, "--checkpoint", os.path.join(tmp, CHECKPOINT_BIN),
                        "--vocab", DEFAULT_VOCAB, "--out", os.path.join(tmp, "ok.bmc.pt"),
                        "--name", "demo"], capture_output=True, text=True, cwd=ROOT)
    diff = re.search(r"TorchScript vs eager max abs diff (\S+)$", r.stdout.strip())
    check(r.returncode == 0 and diff and float(diff.group(1)) < 1e-5,
          f"export CLI: {r.stdout}{r.stderr}")


def test_fixtures(tmp):
    make_model_fixtures.main(["make_model_fixtures.py", tmp])
    manifest = [l.split() for l in open(os.path.join(tmp, "manifest.txt")) if not l.startswith("#")]
    keys = {l[0]: l[1:] for l in manifest}
    n_img, n_txt, e = int(keys["images"][0]), int(keys["texts"][0]), int(keys["embed_dim"][0])
    ctx = int(keys["context_length"][0])
    load = lambda name, dt, shape: np.fromfile(os.path.join(tmp, name), dt).reshape(shape)  # noqa
    pixels = load("image_pixels.f32", "<f4", (n_img, 3, 224, 224))
    ids = load("text_ids.i32", "<i4", (n_txt, ctx))
    lengths = load("text_lengths.i32", "<i4", (n_txt,))
    module, meta, _ = read_bundle(os.path.join(tmp, keys["bundle"][0]))
    with torch.no_grad():
        img = module.encode_image(torch.from_numpy(pixels)).numpy()
        txt = module.encode_text(torch.from_numpy(ids).long()).numpy()
    ref_img = load("image_embeddings.f32", "<f4", (n_img, e))
    ref_txt = load("text_embeddings_padded.f32", "<f4", (n_txt, e))
    unpadded = load("text_embeddings_unpadded.f32", "<f4", (n_txt, e))
    check(np.abs(img - ref_img).max() < 1e-5, "bundle vs image_embeddings")
    check(np.abs(txt - ref_txt).max() < 1e-5, "bundle vs text_embeddings_padded")
    check(np.abs(unpadded - ref_txt).max() < 1e-5, "unpadded vs padded reference")
    check(lengths.max() == ctx and lengths.min() >= 3, f"text lengths {lengths}")
    check(all((ids[i, :n] != 0).all() and (ids[i, n:] == 0).all() for i, n in enumerate(lengths)),
          "text ids not [CLS]..[SEP] then padding")
    texts = open(os.path.join(tmp, "texts.txt")).read().split("\n")[:-1]
    check(texts == make_model_fixtures.TEXTS, "texts.txt differs from the texts")
    modes = [l[5] for l in manifest if l[0] == "image"]
    check({"L", "RGB", "RGBA"} <= set(modes), f"image modes {modes}")
    logits = load("logits.f32", "<f4", (n_img, n_txt))
    a = ref_img / np.linalg.norm(ref_img, axis=1, keepdims=True)
    b = ref_txt / np.linalg.norm(ref_txt, axis=1, keepdims=True)
    check(np.abs(logits - np.exp(meta["logit_scale"]) * a @ b.T).max() < 1e-4, "logits")
    check(logits.std() > 1.0, "logits are degenerate")


def test_tokenizer_against_rust(tmp):
    """The fixture tokenizer against the Hugging Face tokenizers library (Rust), through the
    tokenizer tests' Node reference, when that reference is installed."""
    ref = os.path.join(ROOT, "tests", "reference", "tokenizer")
    if not (shutil.which("node") and os.path.isdir(os.path.join(ref, "node_modules", "tokenizers"))):
        print("  skipped: the Rust tokenizers reference is not installed")
        return
    corpus = os.path.join(tmp, "corpus.txt")
    texts = make_model_fixtures.TEXTS
    with open(corpus, "w") as f:
        f.writelines(bert_tokenizer.clean(t).replace("\\", "\\\\") + "\n" for t in texts)
    tok_json = os.path.join(tmp, "tok.json")
    subprocess.run(["node", "reference.cjs", "json", DEFAULT_VOCAB, tok_json], cwd=ref, check=True)
    out = subprocess.run(["node", "reference.cjs", "encode", "rust", tok_json, corpus], cwd=ref,
                         check=True, capture_output=True, text=True).stdout.split("\n")
    vocab = bert_tokenizer.load_vocab(DEFAULT_VOCAB)
    for text, line in zip(texts, out):
        rust = [int(x) for x in line.split()]
        rust = rust[:255] + rust[-1:] if len(rust) > 256 else rust
        check(bert_tokenizer.encode(text, vocab, 256, pad=False) == rust,
              f"tokenizer differs from Rust on {text[:40]!r}")


def main():
    torch.manual_seed(0)
    tests = [test_reference_against_torch_layers, test_param_counts, test_attention_choice,
             test_loader_forms, test_loader_errors, test_safetensors_format, test_bundle,
             test_bin_and_safetensors_bundles, test_cli_errors, test_fixtures,
             test_tokenizer_against_rust]
    global failed
    for test in tests:
        print(test.__name__)
        tmp = tempfile.mkdtemp(prefix="bmc-model-tools-")
        try:
            test(tmp)
        except Exception:
            failed += 1
            print(f"FAIL: {test.__name__} raised")
            traceback.print_exc(file=sys.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"model_tools: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
