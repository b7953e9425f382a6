#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Model throughput: libbiomedclip against the engines a user would pick instead, in one run.

    /usr/bin/python3 -m tools.bench.bench_model BUILD MODEL [--device cpu|cuda] [--quick]

Model only: the image tower on preprocessed tensors (batch 1 and 32) and the text tower on
short prompts (batch 32) and long reports (batch 8), for the library in float32 and, where the
CPU runs it natively, bfloat16; ONNX Runtime's CPU provider (npm onnxruntime-node) on the same
weights exported by tools/export/export_onnx.py, at 1 and 2 intra-op threads, given token ids
already padded to the longest text; and the reference model (open_clip's computation, with the
bundle's weights) under torch.jit in Python. Each row prints items/s, the GFLOP/s that makes
(matrix products counted from the bundle's sizes) and the ratio to ONNX Runtime's better thread
count; the machine's matrix-product peak (4096^3 in oneDNN on a packed operand, the engine of
the library's products: tests/tool_matmul_peak.c) is printed beside them. Text rows count the
products of the batch padded to its longest text, the work ONNX Runtime does; the library runs
a batch's texts in groups of similar length, and the bundle's encoders keep padding rows out of
the linear layers and run the last layer for the pooled row only (tools/export/bundle_model.py),
so its GFLOP/s and share of the peak read high, by up to the ratio of the longest length to the
mean (both printed in the row's title) times about 1.07.

End to end: files (JPEG and PNG of several sizes, up to 2048x1536) -> L2-normalised
embeddings. The library runs tests/tool_bench_model.c (decode, Pillow-exact preprocessing in
C, the bundle through the shim) in its best dtype; the peer decodes with Pillow, applies
open_clip's transform the torchvision way and runs the reference model scripted with torch.jit
in float32, as a Python host running open_clip would. The library runs once decoding each batch
before encoding it and once through bmc_image_encoder_encode_files, which decodes the next
batch while the model runs. Texts likewise: the peer gets its token ids for free and pads to
the context length as open_clip does; the library tokenizes inside the timed region.

Every engine runs in its own process, one after the other, with its own default threads unless
a row says otherwise. The library and ONNX Runtime at 2 threads, whose ratio the goals are set
on, run in turn PAIRED_RUNS times per row and each prints its best: on a shared machine whose
speed drifts by 10-30% from minute to minute, one run of each a minute apart moved that ratio
by as much. The end-to-end rows run the library (and its encode_files form) and the peer in
turn the same way.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image

from tools import ROOT
from tools.export import export_onnx
from tools.reference import bert_tokenizer

ORT_RUNNER = os.path.join(ROOT, "tests", "reference", "onnxruntime", "run.cjs")
PAIRED_RUNS = 3
ORT_PAIRED = "onnxruntime f32, 2 thread(s)"

MEAN = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(3, 1, 1)
STD = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(3, 1, 1)

SHORT_PROMPTS = [f"{t} {label}" for label in (
    "pneumothorax", "pleural effusion", "cardiomegaly", "pneumonia", "a normal chest",
    "adenocarcinoma", "squamous cell carcinoma", "a liver lesion")
    for t in ("this is a photo of", "a chest X-ray showing", "a radiograph of", "an image of")]

REPORT = ("Findings: the heart size is normal and the mediastinal contours are within normal "
          "limits. There is a small left pleural effusion with adjacent basilar atelectasis. No "
          "focal consolidation or pneumothorax is seen. Degenerative changes of the thoracic spine "
          "are noted. Impression: small left effusion, otherwise no acute cardiopulmonary process; "
          "follow-up radiograph is recommended to document resolution. ")


def make_images(folder: str, count: int):
    """Photographic-like content in the sizes a PACS export has, half JPEG half PNG."""
    rng = np.random.default_rng(0)
    sizes = [(512, 512), (640, 480), (1024, 768), (256, 256), (800, 600), (2048, 1536)]
    paths = []
    for i in range(count):
        w, h = sizes[i % len(sizes)]
        y, x = np.mgrid[0:h, 0:w]
        base = 128 + 90 * np.sin(x / (11 + i) + y / 17.0)
        noise = rng.normal(0, 20, (h, w, 3))
        pixels = np.clip(base[..., None] + noise, 0, 255).astype(np.uint8)
        mode_gray = i % 3 == 0
        image = Image.fromarray(pixels[..., 0], "L") if mode_gray else Image.fromarray(pixels, "RGB")
        path = os.path.join(folder, f"bench_{i:02d}." + ("jpg" if i % 2 else "png"))
        image.save(path, quality=90) if path.endswith("jpg") else image.save(path)
        paths.append(path)
    return paths


def preprocess(path: str) -> torch.Tensor:
    with Image.open(path) as image:
        w, h = image.size
        short, long = min(w, h), max(w, h)
        if short != 224:
            scaled = int(224 * long / short)
            image = image.resize((224, scaled) if w <= h else (scaled, 224), Image.BICUBIC)
        w, h = image.size
        top, left = int(round((h - 224) / 2.0)), int(round((w - 224) / 2.0))
        image = image.crop((left, top, left + 224, top + 224)).convert("RGB")
        x = torch.from_numpy(np.array(image)).permute(2, 0, 1).float().div(255)
    return (x - MEAN) / STD


def time_rounds(fn, rounds: int) -> float:
    fn()  # warm-up: the TorchScript executor specialises on its first calls
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return time.perf_counter() - start


def peer_images(model, paths, batch: int, rounds: int, device: str) -> float:
    def one_round():
        with torch.inference_mode():
            for start in range(0, len(paths), batch):
                x = torch.stack([preprocess(p) for p in paths[start:start + batch]]).to(device)
                emb = model.encode_image(x)
                (emb / emb.norm(dim=1, keepdim=True)).cpu()
    return len(paths) * rounds / time_rounds(one_round, rounds)


def peer_texts(model, ids: torch.Tensor, batch: int, rounds: int, device: str) -> float:
    def one_round():
        with torch.inference_mode():
            for start in range(0, len(ids), batch):
                emb = model.encode_text(ids[start:start + batch].to(device))
                (emb / emb.norm(dim=1, keepdim=True)).cpu()
    return len(ids) * rounds / time_rounds(one_round, rounds)


def library(build: str, args, dtype: str = "f32", pipeline: bool = False) -> float:
    env = dict(os.environ, BMC_BENCH_DTYPE=dtype, BMC_BENCH_PIPELINE="1" if pipeline else "0")
    out = subprocess.run([os.path.join(build, "tools", "tool_bench_model")] + [str(a) for a in args],
                         check=True, capture_output=True, text=True, env=env).stdout
    return float(out.split()[0])


def onnx_runtime(onnx: str, input_name: str, array: np.ndarray, batch: int, rounds: int,
                 threads: int, folder: str) -> float:
    """ONNX Runtime's CPU provider on the same weights (tests/reference/onnxruntime/run.cjs)."""
    source = os.path.join(folder, input_name + ".raw")
    array.tofile(source)
    kind = "int64" if array.dtype == np.int64 else "float32"
    out = subprocess.run(["node", ORT_RUNNER, "time", onnx, input_name, kind,
                          ",".join(str(n) for n in array.shape), source, str(batch), str(rounds),
                          str(threads)], check=True, capture_output=True, text=True).stdout
    return float(out.split()[0])


def best_of_alternated(runs: dict) -> dict:
    """name -> function returning items/s: the functions run in turn, PAIRED_RUNS rounds; each
    name's best rate."""
    best = {name: 0.0 for name in runs}
    for _ in range(PAIRED_RUNS):
        for name, run in runs.items():
            best[name] = max(best[name], run())
    return best


def engine_rows(dtypes, run_library, run_onnx_runtime) -> dict:
    """A model-only row's engines: the library in each dtype (run_library(dtype) -> items/s) and
    ONNX Runtime at 2 threads (run_onnx_runtime(threads) -> items/s) best of alternated runs,
    ONNX Runtime at 1 thread once."""
    runs = {f"library {d}": (lambda d=d: run_library(d)) for d in dtypes}
    runs[ORT_PAIRED] = lambda: run_onnx_runtime(2)
    best = best_of_alternated(runs)
    rows = {f"library {d}": best[f"library {d}"] for d in dtypes}
    rows["onnxruntime f32, 1 thread(s)"] = run_onnx_runtime(1)
    rows[ORT_PAIRED] = best[ORT_PAIRED]
    return rows


def write_texts(folder: str, texts) -> str:
    """The texts as the library's tool reads them, one a line; returns the file's path."""
    path = os.path.join(folder, "texts.txt")
    with open(path, "w") as f:
        f.write("\n".join(texts) + "\n")
    return path


def report(what: str, lib: float, peer: float) -> None:
    print(f"  {what:<34} library {lib:9.2f}/s   peer {peer:9.2f}/s   ratio {lib / peer:5.2f}x",
          flush=True)


def tower_flops(meta: dict, kind: str, length: int = 0) -> float:
    """Multiply-adds x 2 of one item through a tower (the matrix products; the rest is noise)."""
    if kind == "image":
        v, side = meta["vision"], meta["image_size"]
        grid = side // v["patch_size"]
        tokens, width = grid * grid + 1, v["width"]
        per_layer = 2 * tokens * width * (4 * width + 2 * v["mlp_dim"]) + 4 * tokens * tokens * width
        patches = 2 * grid * grid * 3 * v["patch_size"] ** 2 * width
        return v["layers"] * per_layer + patches + 2 * width * meta["embed_dim"]
    t, width = meta["text"], meta["text"]["width"]
    per_layer = 2 * length * width * (4 * width + 2 * t["mlp_dim"]) + 4 * length * length * width
    return t["layers"] * per_layer + 2 * width * t["proj_hidden"] + 2 * t["proj_hidden"] * meta["embed_dim"]


def matmul_peak(build: str, dtype: str) -> tuple:
    """(GFLOP/s, engine) of a 4096^3 matrix product on the engine the library's products run on:
    oneDNN on a right operand packed once (tests/tool_matmul_peak.c), the best of five. Where
    the library is built without oneDNN its float32 products go to OpenBLAS through libtorch,
    and that is measured instead (torch.mm)."""
    tool = subprocess.run([os.path.join(build, "tools", "tool_matmul_peak"), dtype],
                          capture_output=True, text=True)
    if tool.returncode == 0:
        return float(tool.stdout.split()[0]), "oneDNN"
    a = torch.randn(4096, 4096).to(torch.bfloat16 if dtype == "bf16" else torch.float32)
    b = torch.randn(4096, 4096).to(a.dtype)
    with torch.inference_mode():
        torch.mm(a, b)
        best = min(time_rounds(lambda: torch.mm(a, b), 1) for _ in range(3))
    return 2 * 4096 ** 3 / best / 1e9, "libtorch"


def onnx_models(bundle: str) -> dict:
    """image.onnx and text.onnx of the bundle, exported once beside it."""
    folder = os.path.join(os.path.dirname(os.path.abspath(bundle)), "onnx")
    paths = {k: os.path.join(folder, k + ".onnx") for k in ("image", "text")}
    if not all(os.path.exists(p) and os.path.getmtime(p) >= os.path.getmtime(bundle) for p in paths.values()):
        export_onnx.export(bundle, folder)
    return paths


def print_rows(title: str, rows: dict, flops: float, peaks: dict) -> None:
    """rows: name -> items/s. Ratios against ONNX Runtime's best thread count; the GFLOP/s also
    as a share of the matrix-product peak of the row's dtype."""
    ort = max(v for k, v in rows.items() if k.startswith("onnxruntime"))
    print(f"  {title}")
    for name, rate in rows.items():
        peak = peaks.get("bf16" if "bf16" in name else "f32", (0.0, ""))[0]
        share = f"  {100 * rate * flops / 1e9 / peak:3.0f}% of peak" if peak else ""
        print(f"    {name:<30} {rate:9.2f}/s  {rate * flops / 1e9:7.1f} GFLOP/s  "
              f"{rate / ort:5.2f}x ONNX Runtime{share}", flush=True)


def bench_towers(build: str, bundle: str, model, meta: dict, device: str, quick: bool,
                 folder: str, peaks: dict) -> None:
    vocab = read_vocab(bundle)
    onnx = onnx_models(bundle)
    dtypes = ["f32", "bf16"] if cpu_runs_bf16() else ["f32"]
    size = meta["image_size"]
    image_flops = tower_flops(meta, "image")
    print(f"model only (the image tower on preprocessed tensors; texts tokenized for the peers), "
          f"{image_flops / 1e9:.1f} GFLOP per image; the library and ONNX Runtime at 2 threads: best of "
          f"{PAIRED_RUNS} runs in turn")
    # 24 images at batch 1: with 8, one run's ratios to ONNX Runtime moved by +-5% between runs.
    for batch, count in ((1, 4 if quick else 24), (32, 32)):
        pixels = np.random.default_rng(0).standard_normal((count, 3, size, size)).astype(np.float32)
        rows = engine_rows(dtypes, lambda d: library(build, ["tensors", bundle, batch, 1, count], d),
                           lambda t: onnx_runtime(onnx["image"], "pixels", pixels, batch, 1, t, folder))
        x = torch.from_numpy(pixels)
        rows["python torch.jit f32"] = count / time_rounds(lambda: [model.encode_image(x[i:i + batch])
                                                                  for i in range(0, count, batch)], 1)
        print_rows(f"images, batch {batch}", rows, image_flops, peaks)
    for name, texts, batch in (("short prompts", SHORT_PROMPTS, 32),
                               ("long reports", [REPORT * 2] * (8 if quick else 32), 8)):
        text_file = write_texts(folder, texts)
        tokens = [bert_tokenizer.encode(t, vocab, meta["context_length"]) for t in texts]
        real = [len([i for i in row if i != meta["pad_id"]]) for row in tokens]
        longest = max(real)
        ids = np.array([row[:longest] for row in tokens], dtype=np.int64)
        rows = engine_rows(dtypes, lambda d: library(build, ["texts", bundle, batch, 1, text_file], d),
                           lambda t: onnx_runtime(onnx["text"], "ids", ids, batch, 1, t, folder))
        padded = torch.tensor(tokens)
        rows["python torch.jit f32 (256)"] = len(texts) / time_rounds(
            lambda: [model.encode_text(padded[i:i + batch]) for i in range(0, len(texts), batch)], 1)
        print_rows(f"texts, {name} ({longest} tokens padded, {sum(real) / len(real):.1f} on average), "
                   f"batch {batch}", rows,
                   tower_flops(meta, "text", longest), peaks)
    print("  matrix-product peak of this machine (4096^3, the library's engine): " +
          ", ".join(f"{d} {v:.0f} GFLOP/s ({engine})" for d, (v, engine) in peaks.items()))


def reference_model(bundle: str, device: str):
    """The peers' model: the reference architecture (what open_clip runs) holding the bundle's
    weights, scripted. Not the bundle's own methods, which skip work open_clip does."""
    model, _ = export_onnx.eager_from_bundle(bundle)
    return torch.jit.script(model.to(device)).eval()


def read_vocab(bundle: str) -> dict:
    files = {"vocab.txt": ""}
    torch.jit.load(bundle, map_location="cpu", _extra_files=files)
    text = files["vocab.txt"]
    text = text.decode("utf-8") if isinstance(text, bytes) else text
    return {token.rstrip(): i for i, token in enumerate(text.split("\n"))}


def read_meta(bundle: str) -> dict:
    files = {"bundle.json": ""}
    torch.jit.load(bundle, map_location="cpu", _extra_files=files)
    return json.loads(files["bundle.json"])


def cpu_runs_bf16() -> bool:
    flags = open("/proc/cpuinfo").read()
    return " avx512_bf16" in flags or " amx_bf16" in flags


def main(argv) -> int:
    if len(argv) < 3:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    build, bundle = argv[1], argv[2]
    device = argv[argv.index("--device") + 1] if "--device" in argv else "cpu"
    quick = "--quick" in argv
    model = reference_model(bundle, device)
    meta = read_meta(bundle)
    vocab = read_vocab(bundle)
    print(f"model benchmark: {bundle} on {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} intra-op thread(s); load average {os.getloadavg()[0]:.2f}")
    peaks = {"f32": matmul_peak(build, "f32")}
    if cpu_runs_bf16():
        peaks["bf16"] = matmul_peak(build, "bf16")
    best_dtype = "bf16" if cpu_runs_bf16() else "f32"
    with tempfile.TemporaryDirectory() as folder, torch.inference_mode():
        bench_towers(build, bundle, model, meta, device, quick, folder, peaks)
        print(f"end to end (files -> normalised embeddings; the library in {best_dtype}, the peer "
              f"Pillow + torchvision-style transform + torch.jit f32; best of {PAIRED_RUNS} runs in turn)")
        paths = make_images(folder, 8 if quick else 32)
        for batch, files in ((1, paths[:4 if quick else 8]), (len(paths), paths)):
            args = ["images", bundle, batch, 1, *files]
            rates = best_of_alternated({
                "peer": lambda: peer_images(model, files, batch, 1, device),
                "library": lambda: library(build, args, best_dtype),
                "encode_files": lambda: library(build, args, best_dtype, pipeline=True)})
            report(f"images, files -> embedding, batch {batch}", rates["library"], rates["peer"])
            report("  the same through encode_files", rates["encode_files"], rates["peer"])
        for name, texts, batch in (("short prompts", SHORT_PROMPTS, 32),
                                   ("long reports", [REPORT * 2] * (8 if quick else 32), 8)):
            text_file = write_texts(folder, texts)
            ids = torch.tensor([bert_tokenizer.encode(t, vocab, 256) for t in texts])
            rates = best_of_alternated({
                "library": lambda: library(build, ["texts", bundle, batch, 1, text_file], best_dtype),
                "peer": lambda: peer_texts(model, ids, batch, 1, device)})
            report(f"texts, {name}, batch {batch}", rates["library"], rates["peer"])
    print(f"load average after the run {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
