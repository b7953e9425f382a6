#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of the Python VQA tools (run by tests/check_vqa_tools.sh):

- the text rules (words, question-type rules, statements, answer normalisation) on cases
  worked out by hand from their definitions in docs/vqa.md;
- the heads: a padded question gives the logits of the unpadded one, questions sharing an
  image give the logits of separate calls, the exported TorchScript equals the eager head,
  the exporter refuses an answer list that does not fit;
- the training tool: VQA-RAD and SLAKE style JSON, errors without a traceback, the answer
  vocabulary, and a short end-to-end run of the command line (features cached, report,
  checkpoint) followed by tools/export/export_vqa_head.py on its checkpoint.
Prints "vqa_tools: N passed, N failed" and exits non-zero on any failure.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

import torch


from tools import ROOT
from tools.train import train_vqa
from tools.reference import vqa_head
from tools.train import vqa_synthetic
from tools.reference import vqa_text
from tools.export.make_test_models import BUNDLE, make_test_model

passed = failed = 0


def check(cond, message):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {message}")


def run_tool(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT)


def base_model(tmp):
    """The fixtures' tiny model when make fixtures made it, else a fresh one (seed 0)."""
    fixture = os.path.join(os.environ.get("BMC_FIXTURES", "build/fixtures"), "vqa", BUNDLE)
    if os.path.exists(fixture):
        return fixture
    make_test_model("tiny", os.path.join(tmp, "model"), seed=0, safetensors=False)
    return os.path.join(tmp, "model", BUNDLE)


def test_text_rules(tmp):
    check(vqa_text.words("Is THE shape red-or-blue?") == ["is", "the", "shape", "red", "or", "blue"], "words")
    check(vqa_text.words("\u00d6dem? CT_2") == ["\u00d6dem", "ct", "2"], "non-ASCII kept, ASCII lowered")
    answers = ["yes", "no", "red", "blue", "left", "right"]
    rules = vqa_text.default_rules()
    cases = [("is it red or blue?", 0, [2, 3]), ("Is the lesion on the LEFT or the right", 0, [4, 5]),
             ("is it red or green?", 1, [0, 1]), ("Does it show a mass?", 1, [0, 1]),
             ("what colour is it?", None, list(range(6))), ("red or blue", 0, [2, 3]),
             ("island or red?", None, list(range(6))), ("", None, list(range(6)))]
    for question, rule, allowed in cases:
        check(vqa_text.classify_question(rules, question, answers) == rule, f"rule of {question!r}")
        check(vqa_text.allowed_answers(rules, question, answers) == allowed, f"answers of {question!r}")
    statements = [("Is there a circle?", "yes", "there is a circle"),
                  ("Is there a circle?", "no", "there is no circle"),
                  ("ARE there any cysts??", "No", "there are no cysts"),
                  ("Was there an effusion", "no", "there was no effusion"),
                  ("Is there fluid?", "no", "there is no fluid"),
                  ("Is there a?", "no", "there is no a"),
                  ("Is the heart enlarged?", "yes", "Is the heart enlarged? yes"),
                  ("  What organ is shown? ", " liver ", "What organ is shown? liver")]
    for question, answer, expected in statements:
        got = vqa_text.statement(question, answer)
        check(got == expected, f"statement({question!r}, {answer!r}) = {got!r}")
    check(vqa_text.normalize_answer("  Yes. ") == "yes", "answer normalisation")
    check(vqa_text.normalize_answer("Left  Lung") == "left lung", "answer whitespace")


def small_config(architecture):
    return vqa_head.HeadConfig(architecture=architecture, vision_width=24, text_width=20, embed_dim=12,
                               answers=5, width=16, layers=2, heads=2)


def test_head_invariances(tmp):
    torch.manual_seed(0)
    cfg = small_config("fusion")
    head = vqa_head.build_head(cfg).eval()
    image = torch.randn(2, 7, 24)
    question = torch.randn(1, 4, 20)
    padded = torch.cat([question, 100 * torch.randn(1, 3, 20)], dim=1)
    mask = torch.tensor([[True] * 4 + [False] * 3])
    empty = torch.zeros(0)
    with torch.no_grad():
        alone = head(image[1:], empty, question, torch.ones(1, 4, dtype=torch.bool), empty, torch.tensor([0]))
        with_padding = head(image, empty, padded, mask, empty, torch.tensor([1]))
        both = head(image, empty, torch.cat([padded, padded]), torch.cat([mask, mask]), empty, torch.tensor([0, 1]))
        first = head(image[:1], empty, padded, mask, empty, torch.tensor([0]))
    check((alone - with_padding).abs().max().item() < 1e-5, "padding changes the logits")
    check((both[1] - with_padding[0]).abs().max().item() < 1e-5 and
          (both[0] - first[0]).abs().max().item() < 1e-5, "image_index does not pick the image")
    check((both[0] - both[1]).abs().max().item() > 1e-4, "the image does not matter")


def test_export(tmp):
    base = {"name": "b", "source": "random seed 9", "embed_dim": 12, "image_size": 224,
            "context_length": 256, "vision": {"patch_size": 16, "width": 24}, "text": {"width": 20}}
    answers = ["yes", "no", "red", "blue", "left"]
    for architecture in vqa_head.ARCHITECTURES:
        cfg = small_config(architecture)
        head = vqa_head.build_head(cfg).eval()
        meta = vqa_head.head_metadata(cfg, base, answers, vqa_text.default_rules(), "h")
        out = os.path.join(tmp, f"{architecture}.vqa.pt")
        error = vqa_head.export_head(head, meta, out)
        files = {vqa_head.HEAD_JSON: ""}
        loaded = torch.jit.load(out, _extra_files=files)
        inputs = vqa_head.example_inputs(cfg, seed=3)
        with torch.no_grad():
            diff = (loaded(*inputs) - head(*inputs)).abs().max().item()
        check(error <= 1e-5 and diff <= 1e-5, f"{architecture}: TorchScript differs by {diff}")
        check(json.loads(files[vqa_head.HEAD_JSON]) == meta, f"{architecture}: metadata read back")
        check(meta["inputs"] == vqa_head.INPUTS[architecture] and meta["base"]["vision_width"] == 24,
              f"{architecture}: inputs and base recorded")
        bad = dict(meta, answers=answers[:4])
        try:
            vqa_head.export_head(head, bad, os.path.join(tmp, "bad.vqa.pt"))
            check(False, "an answer list of the wrong length was exported")
        except vqa_head.ExportError as e:
            check("answer" in str(e) and not os.path.exists(os.path.join(tmp, "bad.vqa.pt.tmp")),
                  f"export error: {e}")


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f)


def test_dataset_reading(tmp):
    os.makedirs(os.path.join(tmp, "img"))
    for name in ("a.png", "b.jpg"):
        open(os.path.join(tmp, "img", name), "wb").close()
    write_json(os.path.join(tmp, "rad.json"), [
        {"image_name": "a.png", "question": " Is there a mass? ", "answer": "Yes.", "answer_type": "CLOSED"},
        {"image_name": "b.jpg", "question": "What organ?", "answer": "Liver", "answer_type": "open"}])
    rad = train_vqa.read_dataset(os.path.join(tmp, "rad.json"), os.path.join(tmp, "img"))
    check([(e["question"], e["answer"], e["answer_type"]) for e in rad] ==
          [("Is there a mass?", "yes", "CLOSED"), ("What organ?", "liver", "OPEN")], f"VQA-RAD entries {rad}")
    write_json(os.path.join(tmp, "slake.json"), [
        {"img_name": "a.png", "question": "肝脏在哪里?", "answer": "左", "q_lang": "zh"},
        {"img_name": "a.png", "question": "Where is the liver?", "answer": "Left", "q_lang": "en"}])
    slake = train_vqa.read_dataset(os.path.join(tmp, "slake.json"), os.path.join(tmp, "img"))
    check(len(slake) == 1 and slake[0]["answer"] == "left" and slake[0]["answer_type"] is None,
          f"SLAKE entries {slake}")
    for content, words in (([{"image_name": "c.png", "question": "q", "answer": "a"}], "no image file"),
                           ({"questions": []}, "JSON list"), ([{"question": "q"}], "image name"), ([], "no questions")):
        write_json(os.path.join(tmp, "bad.json"), content)
        try:
            train_vqa.read_dataset(os.path.join(tmp, "bad.json"), os.path.join(tmp, "img"))
            check(False, f"{content} was read")
        except train_vqa.DatasetError as e:
            check(words in str(e), f"message {e!r} lacks {words!r}")


def test_vocabulary(tmp):
    entries = [{"answer": a} for a in ["no", "yes", "yes", "red", "no", "blue", "yes"]]
    check(train_vqa.answer_vocabulary(entries) == ["yes", "no", "blue", "red"], "vocabulary order")
    check(train_vqa.answer_vocabulary(entries, min_count=2) == ["yes", "no"], "min_count")
    check([r["name"] for r in train_vqa.rules_for(["yes", "no", "red"])] == ["choice", "yes/no"], "rules")
    check([r["name"] for r in train_vqa.rules_for(["yes", "red"])] == ["choice"], "yes/no needs both answers")


def test_command_line(tmp):
    model = base_model(tmp)
    data = os.path.join(tmp, "data")
    vqa_synthetic.make_dataset(data, train=6, test=3, size=32, per_image=8, seed=1)
    common = ["--model", model, "--images", os.path.join(data, "images"), "--train", os.path.join(data, "train.json"),
              "--test", os.path.join(data, "test.json"), "--epochs", "2", "--width", "16", "--layers", "1",
              "--cache", os.path.join(tmp, "cache"), "--quiet"]
    head = os.path.join(tmp, "h.vqa.pt")
    result = run_tool("tools.train.train_vqa", *common, "--out", head, "--report",
                      os.path.join(tmp, "r.json"), "--checkpoint", os.path.join(tmp, "h.ckpt"))
    check(result.returncode == 0 and "test accuracy" in result.stdout, f"train_vqa: {result.stdout}{result.stderr}")
    if result.returncode != 0:
        return
    with open(os.path.join(tmp, "r.json")) as f:
        report = json.load(f)
    check(report["test_questions"] == 24 and set(report["test"]) >= {"all", "open", "closed"} and
          "majority" in report["baselines"], f"report {report}")
    check(len(os.listdir(os.path.join(tmp, "cache"))) == 1, "one cache file")
    again = run_tool("tools.train.train_vqa", *common, "--out", os.path.join(tmp, "h2.vqa.pt"))
    check(again.returncode == 0 and len(os.listdir(os.path.join(tmp, "cache"))) == 1, "the cache is reused")
    files = {vqa_head.HEAD_JSON: ""}
    scripted = torch.jit.load(head, _extra_files=files)
    meta = json.loads(files[vqa_head.HEAD_JSON])
    check(meta["format"] == "biomedclip-vqa-head" and meta["training"]["epochs"] == 2, "head metadata")

    exported = os.path.join(tmp, "e.vqa.pt")
    result = run_tool("tools.export.export_vqa_head", "--checkpoint", os.path.join(tmp, "h.ckpt"),
                      "--out", exported, "--model", model)
    check(result.returncode == 0, f"export_vqa_head: {result.stdout}{result.stderr}")
    if result.returncode == 0:
        cfg = vqa_head.HeadConfig(**meta["config"])
        inputs = vqa_head.example_inputs(cfg)
        with torch.no_grad():
            diff = (torch.jit.load(exported)(*inputs) - scripted(*inputs)).abs().max().item()
        check(diff <= 1e-6, f"the exported checkpoint differs from the trained head by {diff}")

    checkpoint = torch.load(os.path.join(tmp, "h.ckpt"))
    checkpoint["metadata"]["base"]["source"] = "random seed 5"
    torch.save(checkpoint, os.path.join(tmp, "other.ckpt"))
    result = run_tool("tools.export.export_vqa_head", "--checkpoint", os.path.join(tmp, "other.ckpt"),
                      "--out", exported, "--model", model)
    check(result.returncode == 1 and "not the model the head was trained on" in result.stderr and
          "Traceback" not in result.stderr, f"export to another base: {result.stderr}")
    result = run_tool("tools.export.export_vqa_head", "--checkpoint", model, "--out", exported)
    check(result.returncode == 1 and "not a VQA head checkpoint" in result.stderr, f"bad checkpoint: {result.stderr}")
    os.remove(os.path.join(data, "images", "test_0000.png"))
    result = run_tool("tools.train.train_vqa", *common, "--out", os.path.join(tmp, "h3.vqa.pt"))
    check(result.returncode == 1 and "no image file" in result.stderr and "Traceback" not in result.stderr,
          f"missing image: {result.stderr}")


def main():
    torch.manual_seed(0)
    tests = [test_text_rules, test_head_invariances, test_export, test_dataset_reading, test_vocabulary,
             test_command_line]
    global failed
    for test in tests:
        print(test.__name__, flush=True)
        tmp = tempfile.mkdtemp(prefix="bmc-vqa-tools-")
        try:
            test(tmp)
        except Exception:
            failed += 1
            print(f"FAIL: {test.__name__} raised")
            traceback.print_exc(file=sys.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"vqa_tools: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
