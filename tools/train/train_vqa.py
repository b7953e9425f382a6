#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Train a VQA head on frozen BiomedCLIP features and export it for the library.

    /usr/bin/python3 -m tools.train.train_vqa --model MODEL.bmc.pt --images DIR --train TRAIN.json \
        --test TEST.json --out HEAD.vqa.pt [--architecture fusion|pooled] [--epochs N] ...

The dataset is in the VQA-RAD / SLAKE style: a folder of images and JSON lists of questions,
each {"image_name" (or "img_name" / "image"), "question", "answer", "answer_type"
("OPEN"/"CLOSED", optional)}; entries with a "q_lang" other than --lang are skipped (SLAKE).
The base model's features of every image and question are computed once with the bundle itself
and cached (--cache); the head trains on them with AdamW and cross-entropy over the answers of
the training set. The report gives test accuracy on all, open and closed questions, with the
question-type rules applied as the library applies them, next to two baselines: the majority
answer of the training set, and the most frequent training answer of the same question text
(what a head that ignores the image could reach). The head is written through the exporter of
tools/reference/vqa_head.py, and a training checkpoint beside it (HEAD.ckpt) if --checkpoint is given.
"""
import argparse
import collections
import hashlib
import json
import os
import sys
import time
from typing import Dict, List, Optional, Sequence

import torch
from PIL import Image

from tools.reference import bert_tokenizer
from tools.reference import vqa_head
from tools.reference import vqa_text
from tools.fixtures.make_model_fixtures import preprocess


# The base bundle's method behind each input a head reads.
BASE_METHODS = {("image", "tokens"): "encode_image_tokens", ("image", "embedding"): "encode_image",
                ("question", "tokens"): "encode_text_tokens", ("question", "embedding"): "encode_text"}


class DatasetError(Exception):
    pass


# ---- dataset --------------------------------------------------------------------------------

def read_dataset(path: str, images: str, lang: Optional[str] = "en") -> List[Dict]:
    """Entries {"image": path, "question", "answer" (normalised), "answer_type"}."""
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if not isinstance(raw, list):
        raise DatasetError(f"{path}: expected a JSON list of questions")
    entries = []
    for i, item in enumerate(raw):
        if lang and "q_lang" in item and item["q_lang"] != lang:
            continue
        name = item.get("image_name", item.get("img_name", item.get("image")))
        if not isinstance(name, str) or "question" not in item or "answer" not in item:
            raise DatasetError(f"{path}: entry {i} needs an image name, a question and an answer")
        image = os.path.join(images, name)
        if not os.path.isfile(image):
            raise DatasetError(f"{path}: entry {i}: no image file {image}")
        kind = item.get("answer_type")
        entries.append({"image": image, "question": str(item["question"]).strip(),
                        "answer": vqa_text.normalize_answer(str(item["answer"])),
                        "answer_type": kind.upper() if isinstance(kind, str) else None})
    if not entries:
        raise DatasetError(f"{path}: no questions")
    return entries


def answer_vocabulary(entries: Sequence[Dict], min_count: int = 1) -> List[str]:
    """Training answers seen at least min_count times, most frequent first (ties by name)."""
    counts = collections.Counter(e["answer"] for e in entries)
    kept = [a for a, n in counts.items() if n >= min_count]
    return sorted(kept, key=lambda a: (-counts[a], a))


def rules_for(answers: Sequence[str]) -> List[Dict]:
    """The default rules whose fixed answers all exist in this vocabulary."""
    return [r for r in vqa_text.default_rules()
            if all(a in answers for a in r.get("answers", []))]


# ---- base model features --------------------------------------------------------------------

def load_base(path: str):
    """(scripted module, bundle.json dict, vocabulary dict) of a model bundle."""
    files = {"bundle.json": "", "vocab.txt": ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=files)
    meta = json.loads(files["bundle.json"])
    text = files["vocab.txt"]
    lines = (text.decode("utf-8") if isinstance(text, bytes) else text).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return module.eval(), meta, {line.rstrip(): i for i, line in enumerate(lines)}


def question_ids(question: str, vocab: Dict[str, int], context_length: int) -> torch.Tensor:
    return torch.tensor(bert_tokenizer.encode(question, vocab, context_length, pad=False))


def pixels_of(path: str, image_size: int) -> torch.Tensor:
    with Image.open(path) as image:
        return preprocess(image, image_size)


def compute_features(base, meta: Dict, vocab: Dict[str, int], images: Sequence[str],
                     questions: Sequence[str], inputs: Dict, batch: int = 16) -> Dict:
    """The features a head reads: per image "tokens" [T, Wv] and/or "embedding" [E], per
    question "tokens" [L, Wt] (unpadded) and/or "embedding" [E], as lists in input order."""
    feats = {"image_tokens": [], "image_embedding": [], "question_tokens": [],
             "question_embedding": []}
    with torch.no_grad():
        for start in range(0, len(images), batch):
            pixels = torch.stack([pixels_of(p, meta["image_size"]) for p in images[start:start + batch]])
            if "tokens" in inputs["image"]:
                feats["image_tokens"] += list(base.encode_image_tokens(pixels))
            if "embedding" in inputs["image"]:
                feats["image_embedding"] += list(base.encode_image(pixels))
        for question in questions:
            ids = question_ids(question, vocab, meta["context_length"])[None]
            if "tokens" in inputs["question"]:
                feats["question_tokens"].append(base.encode_text_tokens(ids)[0])
            if "embedding" in inputs["question"]:
                feats["question_embedding"].append(base.encode_text(ids)[0])
    return feats


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_features(model_path: str, base, meta, vocab, images, questions, inputs,
                    cache: Optional[str]) -> Dict:
    """compute_features, kept in `cache` under a key of everything they depend on."""
    if not cache:
        return compute_features(base, meta, vocab, images, questions, inputs)
    key = hashlib.sha256(json.dumps(
        [file_sha256(model_path), inputs, [[p, file_sha256(p)] for p in images], list(questions)]
    ).encode()).hexdigest()[:24]
    path = os.path.join(cache, f"vqa-features-{key}.pt")
    if os.path.exists(path):
        return torch.load(path)
    feats = compute_features(base, meta, vocab, images, questions, inputs)
    os.makedirs(cache, exist_ok=True)
    torch.save(feats, path + ".tmp")
    os.replace(path + ".tmp", path)
    return feats


class Examples:
    """Dataset entries as indices into the unique images, questions and answers."""

    def __init__(self, entries: Sequence[Dict], images: List[str], questions: List[str],
                 answers: Sequence[str]):
        image_index = {p: i for i, p in enumerate(images)}
        question_index = {q: i for i, q in enumerate(questions)}
        answer_index = {a: i for i, a in enumerate(answers)}
        self.entries = list(entries)
        self.image = torch.tensor([image_index[e["image"]] for e in entries])
        self.question = torch.tensor([question_index[e["question"]] for e in entries])
        self.answer = torch.tensor([answer_index.get(e["answer"], -1) for e in entries])


def collate(feats: Dict, image_ids: torch.Tensor, question_ids_: torch.Tensor):
    """The head's six inputs for a batch, as the library passes them: each distinct image
    once, questions padded to the longest, unused inputs empty."""
    empty = torch.zeros(0)
    images, image_index = torch.unique(image_ids, return_inverse=True)
    image_tokens = (torch.stack([feats["image_tokens"][i] for i in images])
                    if feats["image_tokens"] else empty)
    image_embedding = (torch.stack([feats["image_embedding"][i] for i in images])
                       if feats["image_embedding"] else empty)
    question_embedding = (torch.stack([feats["question_embedding"][i] for i in question_ids_])
                          if feats["question_embedding"] else empty)
    if feats["question_tokens"]:
        rows = [feats["question_tokens"][i] for i in question_ids_]
        length = max(r.shape[0] for r in rows)
        question_tokens = torch.zeros(len(rows), length, rows[0].shape[1])
        mask = torch.zeros(len(rows), length, dtype=torch.bool)
        for j, r in enumerate(rows):
            question_tokens[j, :r.shape[0]] = r
            mask[j, :r.shape[0]] = True
    else:
        question_tokens, mask = empty, torch.ones(len(question_ids_), 1, dtype=torch.bool)
    return image_tokens, image_embedding, question_tokens, mask, question_embedding, image_index


def image_grouped_order(image: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A random order of the examples in which the questions of one image come together, so a
    batch projects few distinct images."""
    image_rank = torch.randperm(int(image.max()) + 1, generator=gen)
    jitter = torch.rand(len(image), generator=gen)
    return torch.argsort(image_rank[image].double() + jitter.double())


# ---- training and evaluation ----------------------------------------------------------------

def train_head(head, feats: Dict, examples: Examples, epochs: int, lr: float,
               weight_decay: float, batch_size: int, seed: int, log=None) -> None:
    torch.manual_seed(seed)
    keep = examples.answer >= 0
    image, question, answer = examples.image[keep], examples.question[keep], examples.answer[keep]
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * ((len(answer) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps,
                                                   pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    head.train()
    for epoch in range(epochs):
        order = image_grouped_order(image, gen)
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            logits = head(*collate(feats, image[idx], question[idx]))
            loss = torch.nn.functional.cross_entropy(logits, answer[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / len(order):.4f}")
    head.eval()


def restricted_probabilities(logits: torch.Tensor, allowed: Sequence[int]) -> torch.Tensor:
    """Softmax over the allowed answers only (in float64); the others get 0."""
    probs = torch.zeros(logits.shape[-1], dtype=torch.float64)
    index = torch.tensor(list(allowed))
    probs[index] = torch.softmax(logits.double()[index], dim=-1)
    return probs


def predict(head, feats: Dict, examples: Examples, answers: Sequence[str], rules,
            batch_size: int = 64) -> List[int]:
    """Top answer of every example, with the question-type rules applied."""
    predictions = []
    with torch.no_grad():
        for start in range(0, len(examples.entries), batch_size):
            sl = slice(start, start + batch_size)
            logits = head(*collate(feats, examples.image[sl], examples.question[sl]))
            for row, entry in zip(logits, examples.entries[sl]):
                allowed = vqa_text.allowed_answers(rules, entry["question"], answers)
                predictions.append(int(restricted_probabilities(row, allowed).argmax()))
    return predictions


def accuracy(entries: Sequence[Dict], predicted: Sequence[str], rules, answers) -> Dict:
    """Accuracy on all, open and closed questions (answer_type, else the rules decide)."""
    groups = collections.defaultdict(list)
    for entry, guess in zip(entries, predicted):
        kind = entry["answer_type"]
        if kind not in ("OPEN", "CLOSED"):
            closed = vqa_text.classify_question(rules, entry["question"], answers) is not None
            kind = "CLOSED" if closed else "OPEN"
        hit = guess == entry["answer"]
        groups["all"].append(hit)
        groups[kind.lower()].append(hit)
    return {k: {"accuracy": sum(v) / len(v), "count": len(v)} for k, v in sorted(groups.items())}


def baselines(train: Sequence[Dict], test: Sequence[Dict], rules, answers) -> Dict:
    """The majority answer of the training set, and the most frequent training answer of the
    same question (the majority answer for unseen questions)."""
    majority = collections.Counter(e["answer"] for e in train).most_common(1)[0][0]
    by_question = collections.defaultdict(collections.Counter)
    for e in train:
        by_question[e["question"]][e["answer"]] += 1
    prior = [by_question[e["question"]].most_common(1)[0][0] if e["question"] in by_question
             else majority for e in test]
    return {"majority": {"answer": majority, **accuracy(test, [majority] * len(test), rules, answers)},
            "question_prior": accuracy(test, prior, rules, answers)}


def train_and_export(model_path: str, train_entries: Sequence[Dict], test_entries: Sequence[Dict],
                     out: str, architecture: str = "fusion", epochs: int = 40, lr: float = 1e-3,
                     weight_decay: float = 0.01, batch_size: int = 32, width: Optional[int] = None,
                     layers: int = 2, heads: int = 4, min_count: int = 1, seed: int = 0,
                     cache: Optional[str] = None, name: Optional[str] = None,
                     checkpoint: Optional[str] = None, log=None) -> Dict:
    """The whole tool as a function; returns the report (also stored in the head)."""
    started = time.time()
    base, meta, vocab = load_base(model_path)
    answers = answer_vocabulary(train_entries, min_count)
    rules = rules_for(answers)
    inputs = vqa_head.INPUTS[architecture]
    for method in (BASE_METHODS[side, kind] for side in inputs for kind in inputs[side]):
        if not hasattr(base, method):
            raise ValueError(f"{model_path} has no {method} method: re-export it with this release's "
                             "tools/export/export_bundle.py")
    images = sorted({e["image"] for e in list(train_entries) + list(test_entries)})
    questions = sorted({e["question"] for e in list(train_entries) + list(test_entries)})
    feats = cached_features(model_path, base, meta, vocab, images, questions, inputs, cache)
    featured = time.time()
    cfg = vqa_head.HeadConfig(architecture=architecture, vision_width=meta["vision"]["width"],
                              text_width=meta["text"]["width"], embed_dim=meta["embed_dim"],
                              answers=len(answers), layers=layers, heads=heads,
                              width=width or min(256, meta["vision"]["width"]))
    torch.manual_seed(seed)
    head = vqa_head.build_head(cfg)
    train_set = Examples(train_entries, images, questions, answers)
    test_set = Examples(test_entries, images, questions, answers)
    train_head(head, feats, train_set, epochs, lr, weight_decay, batch_size, seed, log)
    predicted = [answers[i] for i in predict(head, feats, test_set, answers, rules)]
    report = {"train_questions": len(train_entries), "test_questions": len(test_entries),
              "answers": len(answers), "architecture": architecture, "epochs": epochs,
              "seed": seed, "test": accuracy(test_entries, predicted, rules, answers),
              "baselines": baselines(train_entries, test_entries, rules, answers),
              "seconds": {"features": round(featured - started, 1),
                          "training": round(time.time() - featured, 1)}}
    head_meta = vqa_head.head_metadata(cfg, meta, answers, rules,
                                       name or os.path.basename(out).split(".")[0], report)
    if checkpoint:
        vqa_head.save_checkpoint(head, head_meta, checkpoint)
    report["round_trip_error"] = vqa_head.export_head(head, head_meta, out)
    return report


def describe(report: Dict) -> str:
    t, b = report["test"], report["baselines"]
    parts = [f"{k} {v['accuracy']:.3f} ({v['count']})" for k, v in t.items()]
    return (f"test accuracy: {', '.join(parts)}; majority answer '{b['majority']['answer']}' "
            f"{b['majority']['all']['accuracy']:.3f}, question prior "
            f"{b['question_prior']['all']['accuracy']:.3f}; {report['answers']} answers; "
            f"features {report['seconds']['features']} s, training {report['seconds']['training']} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the base model bundle (.bmc.pt)")
    parser.add_argument("--images", required=True, help="folder the image names refer to")
    parser.add_argument("--train", required=True, help="training questions (JSON list)")
    parser.add_argument("--test", required=True, help="test questions (JSON list)")
    parser.add_argument("--out", required=True, help="the head to write (e.g. head.vqa.pt)")
    parser.add_argument("--architecture", choices=vqa_head.ARCHITECTURES, default="fusion")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, help="fusion width (default min(256, vision width))")
    parser.add_argument("--layers", type=int, default=2, help="fusion blocks")
    parser.add_argument("--heads", type=int, default=4, help="attention heads per block")
    parser.add_argument("--min-count", type=int, default=1,
                        help="keep training answers seen at least this often")
    parser.add_argument("--lang", default="en", help="keep questions with this q_lang (SLAKE)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", help="folder to keep the base model's features in")
    parser.add_argument("--name", help="head name stored in the file")
    parser.add_argument("--checkpoint", help="also save the trainable state dict here")
    parser.add_argument("--report", help="write the report as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch losses")
    args = parser.parse_args(argv)
    log = None if args.quiet else (lambda line: print(line, flush=True))
    try:
        train = read_dataset(args.train, args.images, args.lang)
        test = read_dataset(args.test, args.images, args.lang)
        report = train_and_export(args.model, train, test, args.out, args.architecture,
                                  args.epochs, args.lr, args.weight_decay, args.batch_size,
                                  args.width, args.layers, args.heads, args.min_count,
                                  args.seed, args.cache, args.name, args.checkpoint, log)
    except (DatasetError, vqa_head.ExportError, OSError, ValueError) as e:
        print(f"train_vqa: error: {e}", file=sys.stderr)
        return 1
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    print(f"wrote {args.out}: " + describe(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
