#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Model throughput: libbiomedclip against its peer, the same pipeline in Python, in one run.

    /usr/bin/python3 -m tools.bench.bench_model BUILD MODEL [--device cpu|cuda] [--quick]

Images: files (JPEG and PNG of several sizes) -> L2-normalised embeddings. The library runs
tests/tool_bench_model.c (decode, Pillow-exact preprocessing in C, the bundle's TorchScript
through the shim); the peer decodes with Pillow, applies open_clip's transform the torchvision
way (Resize(224, BICUBIC), CenterCrop, ToTensor, Normalize) and runs the same bundle with
torch.jit.load, as a Python host would. Batch 1 and batch 32.

Texts: short prompts and long reports -> embeddings. The peer gets the token ids for free
(tokenized before the clock starts) and pads to the context length as open_clip does; the
library tokenizes inside the timed region and pads each batch to its longest text.

Both sides run in their own process with libtorch's default threads on the same machine, one
after the other; the ratio is library / peer throughput.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image

from tools.reference import bert_tokenizer

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


def library(build: str, args) -> float:
    out = subprocess.run([os.path.join(build, "tools", "tool_bench_model")] + [str(a) for a in args],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[0])


def report(what: str, lib: float, peer: float) -> None:
    print(f"  {what:<34} library {lib:9.2f}/s   peer {peer:9.2f}/s   ratio {lib / peer:5.2f}x",
          flush=True)


def main(argv) -> int:
    if len(argv) < 3:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    build, bundle = argv[1], argv[2]
    device = argv[argv.index("--device") + 1] if "--device" in argv else "cpu"
    quick = "--quick" in argv
    model = torch.jit.load(bundle, map_location=device).eval()
    vocab_file = {"vocab.txt": ""}
    torch.jit.load(bundle, map_location="cpu", _extra_files=vocab_file)
    text = vocab_file["vocab.txt"]
    text = text.decode("utf-8") if isinstance(text, bytes) else text
    vocab = {token.rstrip(): i for i, token in enumerate(text.split("\n"))}
    print(f"model benchmark: {bundle} on {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} intra-op thread(s)")
    with tempfile.TemporaryDirectory() as folder:
        paths = make_images(folder, 8 if quick else 32)
        for batch, files in ((1, paths[:4 if quick else 8]), (len(paths), paths)):
            lib = library(build, ["images", bundle, batch, 1, *files])
            peer = peer_images(model, files, batch, 1, device)
            report(f"images, files -> embedding, batch {batch}", lib, peer)
        for name, texts, batch in (("short prompts", SHORT_PROMPTS, 32),
                                   ("long reports", [REPORT * 2] * (8 if quick else 32), 8)):
            text_file = os.path.join(folder, "texts.txt")
            with open(text_file, "w") as f:
                f.write("\n".join(texts) + "\n")
            ids = torch.tensor([bert_tokenizer.encode(t, vocab, 256) for t in texts])
            lib = library(build, ["texts", bundle, batch, 1, text_file])
            peer = peer_texts(model, ids, batch, 1, device)
            report(f"texts, {name}, batch {batch}", lib, peer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
