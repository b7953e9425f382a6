#!/usr/bin/python3
"""VQA fixtures: heads trained by tools/train_vqa.py on the synthetic set, and what the Python
reference computes with them.

    /usr/bin/python3 tools/make_vqa_fixtures.py OUTDIR

Everything is made here, seeded, in about a minute of CPU time. Layout of OUTDIR (binary files
raw little-endian float32, row-major, no header; .tsv files one case a line, tab-separated, with
backslash, tab, newline and carriage return inside a field written as \\\\, \\t, \\n, \\r):

  model.bmc.pt, open_clip_pytorch_model.bin
                        the tiny base model (make_test_models.py --size tiny --seed 0) and the
                        checkpoint the eager reference loads
  dataset/              the synthetic set (tools/vqa_synthetic.py): images/, train.json, test.json
  fusion.vqa.pt         heads trained by train_vqa.train_and_export on the set: the fusion
  pooled.vqa.pt         architecture (image and question tokens) and the pooled one (the two
  fusion.ckpt, ...      embeddings), and their training checkpoints (state dict + metadata)
  report.json           both training reports (accuracy, baselines, timings)
  manifest.txt          "key value" lines: answers A, test_questions Q, the accuracies of the
                        heads and of the baselines on the test split
  test.tsv              Q lines "IMAGE<TAB>QUESTION<TAB>ANSWER": the test split in order (the
                        questions of one image are consecutive)
  HEAD_test_logits.f32  [Q, A] the eager head's logits on the eager base model's features of
                        each question alone (unpadded)
  HEAD_test_probs.f32   [Q, A] the probabilities the library must give with BMC_VQA_AUTO:
                        softmax (float64) over the answers the head's rules allow, 0 elsewhere
  cases.tsv             "HEAD<TAB>IMAGE<TAB>MODE<TAB>QUESTION" with MODE "open" (every answer)
                        or "choices:A|B|..." (multiple choice)
  cases_probs.f32       [cases, A] the reference probabilities of those cases
  rules.tsv             "QUESTION<TAB>RULE<TAB>ALLOWED": the fusion head's rule for a question
                        (-1: none) and the allowed answer indices, comma-separated
  statements.tsv        "QUESTION<TAB>ANSWER<TAB>STATEMENT" from vqa_text.statement
  zero_shot.tsv         "IMAGE<TAB>QUESTION<TAB>CANDIDATES" (candidates "|"-separated)
  zero_shot_probs.f32   the reference zero-shot probabilities of each case, concatenated
  broken/               heads the loader must refuse, named for the reason (see BROKEN)
"""
import copy
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

import bert_tokenizer
import train_vqa
import vqa_head
import vqa_synthetic
import vqa_text
from checkpoint import load_model
from make_model_fixtures import preprocess
from make_test_models import BUNDLE, CHECKPOINT_BIN, DEFAULT_VOCAB, make_test_model

# Training settings of the fixture heads: small enough for make check on a loaded machine.
FUSION = dict(architecture="fusion", epochs=20, lr=3e-3, batch_size=64, width=64, layers=1, heads=4)
POOLED = dict(architecture="pooled", epochs=30, lr=2e-3, batch_size=64, width=128)
DATASET = dict(train=100, test=40, size=64, per_image=8, seed=0)

CHOICE_CASES = [("open", "is there a circle?"), ("open", "is the shape red or blue?"),
                ("choices:circle|square", "what shape is in the image?"),
                ("choices:yes|no|left", "which side of the image is the shape on?")]

RULE_QUESTIONS = ["is the shape red or blue?", "Is it a circle or a square", "is there a circle?",
                  "IS THERE A CIRCLE", "what colour is the shape?", "is the shape red or purple?",
                  "red or blue?", "Does it show a circle?", "what is it: red, or blue?",
                  "isthere a circle", "", "Left or right?", "  are\tthe shapes yellow  ",
                  "is it green-or-yellow?", "or", "is it left or right or red?"]

STATEMENT_CASES = [("Is there a circle?", "yes"), ("Is there a circle?", "no"),
                   ("  are THERE any  nodules ??  ", "No"), ("Is there a?", "no"),
                   ("is there", "yes"), ("What organ is shown?", "liver"),
                   ("\tWas there  bleeding?\r", "YES"), ("is there a mass", " yes "),
                   ("Is there an \u00f6dem?", "no"), ("Is the heart enlarged?", "yes"),
                   ("", "yes"), ("?", "no"), ("were there some cysts?", "no"),
                   ("Is there some?", "no"), ("Is there fluid?", "maybe")]

ZERO_SHOT_CASES = [("is there a circle?", ["yes", "no"]),
                   ("what colour is the shape?", ["red", "green", "blue", "yellow"]),
                   ("Are there any lesions?", ["yes", "no"]),
                   ("which side of the image is the shape on?", ["left", "right"])]


def escape(text: str) -> str:
    """A .tsv field: backslash, tab, newline and carriage return written as \\ \\t \\n \\r."""
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def write_raw(path, array) -> None:
    np.ascontiguousarray(array, dtype="<f4").tofile(path)


class Reference:
    """The eager base model (from the checkpoint) and eager heads, run one question at a time."""

    def __init__(self, out: str, meta: dict):
        self.model, self.cfg = load_model(os.path.join(out, CHECKPOINT_BIN),
                                          context_length=meta["context_length"], pad_id=meta["pad_id"])
        self.vocab = bert_tokenizer.load_vocab(DEFAULT_VOCAB)
        self.logit_scale = float(np.exp(meta["logit_scale"]))
        self.images = {}

    def pixels(self, path: str) -> torch.Tensor:
        if path not in self.images:
            with Image.open(path) as image:
                self.images[path] = preprocess(image, self.cfg.image_size)[None]
        return self.images[path]

    def ids(self, text: str) -> torch.Tensor:
        return torch.tensor(bert_tokenizer.encode(text, self.vocab, self.cfg.context_length, pad=False))[None]

    def head_logits(self, head, image: str, question: str) -> torch.Tensor:
        with torch.no_grad():
            pixels, ids = self.pixels(image), self.ids(question)
            return head(self.model.encode_image_tokens(pixels), self.model.encode_image(pixels),
                        self.model.encode_text_tokens(ids), torch.ones(ids.shape, dtype=torch.bool),
                        self.model.encode_text(ids), torch.zeros(1, dtype=torch.long))[0]

    def zero_shot(self, image: str, question: str, candidates) -> torch.Tensor:
        with torch.no_grad():
            img = self.model.encode_image(self.pixels(image))[0].double()
            texts = torch.stack([self.model.encode_text(self.ids(vqa_text.statement(question, c)))[0]
                                 for c in candidates]).double()
        img = img / img.norm()
        texts = texts / texts.norm(dim=1, keepdim=True)
        return torch.softmax(self.logit_scale * texts @ img, dim=0)


def train_heads(out: str, train, test):
    model = os.path.join(out, BUNDLE)
    reports, heads = {}, {}
    for name, settings in (("fusion", FUSION), ("pooled", POOLED)):
        reports[name] = train_vqa.train_and_export(
            model, train, test, os.path.join(out, f"{name}.vqa.pt"), seed=0, name=f"synthetic-{name}",
            checkpoint=os.path.join(out, f"{name}.ckpt"), **settings)
        heads[name] = vqa_head.load_checkpoint(os.path.join(out, f"{name}.ckpt"))
        print(f"{name}: " + train_vqa.describe(reports[name]), flush=True)
    return reports, heads


def write_test_references(out: str, ref: Reference, heads, test) -> None:
    with open(os.path.join(out, "test.tsv"), "w", encoding="utf-8", newline="\n") as f:
        for e in test:
            f.write(f"{os.path.relpath(e['image'], out)}\t{escape(e['question'])}\t{escape(e['answer'])}\n")
    for name, (head, meta) in heads.items():
        logits = torch.stack([ref.head_logits(head, e["image"], e["question"]) for e in test])
        probs = torch.stack([train_vqa.restricted_probabilities(
            row, vqa_text.allowed_answers(meta["question_types"], e["question"], meta["answers"]))
            for row, e in zip(logits, test)])
        write_raw(os.path.join(out, f"{name}_test_logits.f32"), logits.numpy())
        write_raw(os.path.join(out, f"{name}_test_probs.f32"), probs.numpy())


def write_cases(out: str, ref: Reference, heads, test) -> None:
    rows, lines = [], []
    for name, (head, meta) in heads.items():
        for i, (mode, question) in enumerate(CHOICE_CASES):
            image = test[8 * i]["image"]
            if mode == "open":
                allowed = list(range(len(meta["answers"])))
            else:
                allowed = [meta["answers"].index(a) for a in mode.split(":", 1)[1].split("|")]
            rows.append(train_vqa.restricted_probabilities(ref.head_logits(head, image, question), allowed))
            lines.append(f"{name}\t{os.path.relpath(image, out)}\t{mode}\t{escape(question)}\n")
    write_raw(os.path.join(out, "cases_probs.f32"), torch.stack(rows).numpy())
    with open(os.path.join(out, "cases.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(lines)


def write_text_cases(out: str, meta: dict) -> None:
    rules, answers = meta["question_types"], meta["answers"]
    with open(os.path.join(out, "rules.tsv"), "w", encoding="utf-8", newline="\n") as f:
        for q in RULE_QUESTIONS:
            rule = vqa_text.classify_question(rules, q, answers)
            allowed = vqa_text.allowed_answers(rules, q, answers)
            f.write(f"{escape(q)}\t{-1 if rule is None else rule}\t{','.join(map(str, allowed))}\n")
    with open(os.path.join(out, "statements.tsv"), "w", encoding="utf-8", newline="\n") as f:
        for q, a in STATEMENT_CASES:
            f.write(f"{escape(q)}\t{escape(a)}\t{escape(vqa_text.statement(q, a))}\n")


def write_zero_shot(out: str, ref: Reference, test) -> None:
    probs, lines = [], []
    for i, (question, candidates) in enumerate(ZERO_SHOT_CASES):
        image = test[8 * i + 1]["image"]
        probs.append(ref.zero_shot(image, question, candidates))
        lines.append(f"{os.path.relpath(image, out)}\t{escape(question)}\t{'|'.join(candidates)}\n")
    write_raw(os.path.join(out, "zero_shot_probs.f32"), torch.cat(probs).numpy())
    with open(os.path.join(out, "zero_shot.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(lines)


def broken_variants(meta: dict) -> dict:
    """vqa_head.json edits the loader must refuse, by file name."""
    def edit(change):
        m = copy.deepcopy(meta)
        change(m)
        return json.dumps(m)
    return {
        "bad_version.vqa.pt": edit(lambda m: m.update(format_version=99)),
        "bad_json.vqa.pt": "{ not json",
        "other_source.vqa.pt": edit(lambda m: m["base"].update(source="random seed 1")),
        "other_embed.vqa.pt": edit(lambda m: m["base"].update(embed_dim=512)),
        "wrong_width.vqa.pt": edit(lambda m: m["base"].update(text_width=256)),
        "extra_answer.vqa.pt": edit(lambda m: m["answers"].append("maybe")),
        "duplicate_answer.vqa.pt": edit(lambda m: m["answers"].__setitem__(1, m["answers"][0])),
        "rule_answer.vqa.pt": edit(lambda m: m["question_types"][1].update(answers=["yes", "maybe"])),
        "rule_word.vqa.pt": edit(lambda m: m["question_types"][1].update(words=["is it"])),
        "unknown_rule.vqa.pt": edit(lambda m: m["question_types"].append({"name": "x", "match": "regex"})),
        "unknown_input.vqa.pt": edit(lambda m: m["inputs"].update(image=["heatmap"])),
        "no_answers.vqa.pt": edit(lambda m: m.pop("answers")),
    }


def write_broken(out: str) -> None:
    folder = os.path.join(out, "broken")
    os.makedirs(folder, exist_ok=True)
    files = {vqa_head.HEAD_JSON: ""}
    scripted = torch.jit.load(os.path.join(out, "fusion.vqa.pt"), map_location="cpu", _extra_files=files)
    meta = json.loads(files[vqa_head.HEAD_JSON])
    for name, text in broken_variants(meta).items():
        torch.jit.save(scripted, os.path.join(folder, name), _extra_files={vqa_head.HEAD_JSON: text})
    torch.jit.save(scripted, os.path.join(folder, "no_json.vqa.pt"))
    with open(os.path.join(out, "fusion.vqa.pt"), "rb") as f:
        data = f.read()
    with open(os.path.join(folder, "truncated.vqa.pt"), "wb") as f:
        f.write(data[:len(data) // 2])


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    info = make_test_model("tiny", out, seed=0, safetensors=False)
    vqa_synthetic.make_dataset(os.path.join(out, "dataset"), **DATASET)
    images = os.path.join(out, "dataset", "images")
    train = train_vqa.read_dataset(os.path.join(out, "dataset", "train.json"), images)
    test = train_vqa.read_dataset(os.path.join(out, "dataset", "test.json"), images)
    reports, heads = train_heads(out, train, test)
    with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as f:
        json.dump(reports, f, indent=2)

    ref = Reference(out, info["metadata"])
    write_test_references(out, ref, heads, test)
    write_cases(out, ref, heads, test)
    write_text_cases(out, heads["fusion"][1])
    write_zero_shot(out, ref, test)
    write_broken(out)

    baselines = reports["fusion"]["baselines"]
    lines = ["# VQA fixtures from tools/make_vqa_fixtures.py (layout: its docstring)",
             f"answers {len(heads['fusion'][1]['answers'])}", f"test_questions {len(test)}",
             f"cases {2 * len(CHOICE_CASES)}", f"zero_shot {len(ZERO_SHOT_CASES)}",
             f"majority_accuracy {baselines['majority']['all']['accuracy']!r}",
             f"question_prior_accuracy {baselines['question_prior']['all']['accuracy']!r}"]
    lines += [f"{name}_accuracy {r['test']['all']['accuracy']!r}" for name, r in reports.items()]
    with open(os.path.join(out, "manifest.txt"), "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"vqa fixtures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
