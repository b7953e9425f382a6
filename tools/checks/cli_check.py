#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Comparisons for tests/check_cli.sh: the biomedclip tool's outputs against the references.

    /usr/bin/python3 -m tools.checks.cli_check COMMAND ARGS...

Each command prints one line saying what it compared (and the largest error) and exits 0 when
the output matches, 1 when it does not. The references are the model fixtures of
tools/fixtures/make_model_fixtures.py (raw little-endian arrays), Pillow, the Python tokenizer reference
tools/reference/bert_tokenizer.py, and, for the raw pixel input, buffers made here with the DICOM display
pipeline written out from its definition (PS3.3 C.11.2.1.2.1) as the header states it.
"""
import json
import math
import os
import re
import sys

import numpy as np
from PIL import Image

from tools.reference import bert_tokenizer

# open_clip's normalisation for BiomedCLIP (OPENAI_DATASET_MEAN / STD), as float32 like torch.
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def fail(message):
    print("FAIL " + message)
    sys.exit(1)


def passed(message):
    print("ok   " + message)
    sys.exit(0)


def check_npy_format(path, dtype, shape):
    """The file is NumPy format 1.0 with the data 64-byte aligned, and holds dtype x shape."""
    with open(path, "rb") as f:
        head = f.read(10)
    if head[:8] != b"\x93NUMPY\x01\x00":
        fail("%s: not a version 1.0 .npy file (starts %r)" % (path, head[:8]))
    header_length = int.from_bytes(head[8:10], "little")
    if (10 + header_length) % 64 != 0:
        fail("%s: data starts at %d, not 64-byte aligned" % (path, 10 + header_length))
    array = np.load(path, allow_pickle=False)
    if array.dtype != np.dtype(dtype) or array.shape != tuple(shape):
        fail("%s: %s %s, expected %s %s" % (path, array.dtype, array.shape, np.dtype(dtype),
                                            tuple(shape)))
    if array.dtype.byteorder not in "<|=" or not array.flags.c_contiguous:
        fail("%s: not little-endian C order" % path)
    return array


def raw(path, dtype, shape):
    return np.fromfile(path, dtype=dtype).reshape(shape)


def unit_rows(a):
    a = a.astype(np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def pillow_rgb8(image, size=224):
    """open_clip's Resize(size, BICUBIC) + CenterCrop(size) + convert('RGB'), with Pillow."""
    width, height = image.size
    short, long = min(width, height), max(width, height)
    if short != size:
        scaled = int(size * long / short)
        image = image.resize((size, scaled) if width <= height else (scaled, size), Image.BICUBIC)
    width, height = image.size
    top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
    return np.array(image.crop((left, top, left + size, top + size)).convert("RGB"), np.uint8)


def normalise(rgb8):
    """x / 255, then (x - mean) / std in float32, as a CHW tensor."""
    x = rgb8.astype(np.float32) / np.float32(255)
    return ((x - MEAN) / STD).transpose(2, 0, 1)


# ---- commands ---------------------------------------------------------------------------------


def cmd_ids(out, text_ids, text_lengths):
    """tokenize --model: each line equals the fixture's ids before the padding."""
    ids = np.fromfile(text_ids, "<i4")
    lengths = np.fromfile(text_lengths, "<i4")
    ids = ids.reshape(len(lengths), -1)
    with open(out) as f:
        lines = f.read().split("\n")[:-1]
    if len(lines) != len(lengths):
        fail("%d lines of ids, expected %d" % (len(lines), len(lengths)))
    for i, line in enumerate(lines):
        want = " ".join(str(v) for v in ids[i, :lengths[i]])
        if line != want:
            fail("text %d: [%s] expected [%s]" % (i, line[:80], want[:80]))
    passed("tokenize --model: %d texts equal the reference ids" % len(lines))


def cmd_ref_ids(vocab_path, context, texts):
    """The Python reference's ids of each line of `texts`, one line each (for diff)."""
    vocab = bert_tokenizer.load_vocab(vocab_path)
    with open(texts, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines[-1] == "":  # the text ended with a newline
        lines.pop()
    for line in lines:
        if line.endswith("\r"):
            line = line[:-1]
        ids = bert_tokenizer.encode(line, vocab, int(context), pad=False)
        print(" ".join(str(i) for i in ids))


def cmd_pixels(out, reference, count):
    """preprocess: float32 N x 3 x 224 x 224 equal to the fixture's tensors (<= 1e-6)."""
    count = int(count)
    got = check_npy_format(out, "<f4", (count, 3, 224, 224))
    want = raw(reference, "<f4", (count, 3, 224, 224))
    err = float(np.abs(got - want).max())
    if err > 1e-6:
        fail("preprocess: max abs error %.3g > 1e-6" % err)
    passed("preprocess: %d images, max abs error %.3g" % (count, err))


def cmd_pixels_u8(out, *images):
    """preprocess --uint8: N x 224 x 224 x 3 equal to Pillow's resized, cropped RGB."""
    got = check_npy_format(out, "|u1", (len(images), 224, 224, 3))
    for i, path in enumerate(images):
        with Image.open(path) as image:
            want = pillow_rgb8(image)
        differ = int(np.count_nonzero(got[i] != want))
        if differ:
            fail("preprocess --uint8: %s differs from Pillow in %d values" % (path, differ))
    passed("preprocess --uint8: %d images equal Pillow's pixels" % len(images))


def cmd_embeddings(out, reference, rows, dim, mode, repeat="1"):
    """embed-*: N x dim float32 against reference rows (repeated `repeat` times in order):
    mode 'unit' compares with the normalised reference, 'raw' with the reference as it is
    (error relative to each row's norm); both within 1e-5."""
    rows, dim, repeat = int(rows), int(dim), int(repeat)
    got = check_npy_format(out, "<f4", (rows * repeat, dim)).astype(np.float64)
    want = np.tile(raw(reference, "<f4", (rows, dim)).astype(np.float64), (repeat, 1))
    if mode == "unit":
        norms = np.linalg.norm(got, axis=1)
        if np.abs(norms - 1).max() > 1e-5:
            fail("rows are not unit vectors (norms %s)" % norms[:4])
        err = float(np.abs(got - unit_rows(want)).max())
    else:
        err = float((np.abs(got - want).max(axis=1) / np.linalg.norm(want, axis=1)).max())
    if err > 1e-5:
        fail("%s embeddings: max error %.3g > 1e-5" % (mode, err))
    passed("%s embeddings: %d x %d, max error %.3g" % (mode, rows * repeat, dim, err))


def read_json_lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def check_ranking(results, images, labels, probs, top):
    """Each result names its image, ranks `top` labels by probability, and the probabilities
    equal `probs` (rows per image, columns per label) within 1e-5."""
    if len(results) != len(images):
        fail("%d JSON lines, expected %d" % (len(results), len(images)))
    err = 0.0
    for i, result in enumerate(results):
        if result.get("image") != images[i]:
            fail("line %d names %r, expected %r" % (i, result.get("image"), images[i]))
        ranked = result["labels"]
        if len(ranked) != top:
            fail("line %d has %d labels, expected %d" % (i, len(ranked), top))
        order = np.argsort(-probs[i], kind="stable")[:top]
        for r, entry in enumerate(ranked):
            want_label = labels[order[r]]
            if entry["label"] != want_label and abs(probs[i][order[r]] - entry["probability"]) > 1e-6:
                fail("line %d rank %d: %r, expected %r" % (i, r, entry["label"], want_label))
            err = max(err, abs(entry["probability"] - probs[i][labels.index(entry["label"])]))
        if any(ranked[r]["probability"] < ranked[r + 1]["probability"] for r in range(top - 1)):
            fail("line %d is not sorted by probability" % i)
    if err > 1e-5:
        fail("probabilities: max abs error %.3g > 1e-5" % err)
    return err


def cmd_classify(out, probs_path, labels_path, top, *images):
    """classify: the JSON lines against the fixture's zero-shot probabilities."""
    with open(labels_path, encoding="utf-8") as f:
        labels = f.read().split("\n")[:-1]
    probs = raw(probs_path, "<f4", (len(images), len(labels))).astype(np.float64)
    err = check_ranking(read_json_lines(out), list(images), labels, probs, int(top))
    passed("classify: %d images, top %s, max probability error %.3g" % (len(images), top, err))


def cmd_classify_own(out, image_npy, text_npy, logit_scale, labels, *images):
    """classify with the default template against the tool's own embed-image / embed-text
    outputs: softmax(exp(logit_scale) * cosine) over the labels (logit_scale as the manifest
    gives it, the model's parameter before exp)."""
    labels = labels.split(",")
    logits = math.exp(float(logit_scale)) * unit_rows(np.load(image_npy)) @ unit_rows(np.load(text_npy)).T
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    err = check_ranking(read_json_lines(out), list(images), labels, probs, len(labels))
    passed("classify (default template) vs embed-image/embed-text: max error %.3g" % err)


def cmd_json_strings(out, image, *labels):
    """The JSON parses and gives back the exact image name and labels (escaping)."""
    results = read_json_lines(out)
    if len(results) != 1 or results[0]["image"] != image:
        fail("image name %r did not survive, expected %r" % (results[0].get("image"), image))
    got = sorted(entry["label"] for entry in results[0]["labels"])
    if got != sorted(labels):
        fail("labels %r, expected %r" % (got, sorted(labels)))
    passed("JSON escaping: image name and %d labels round-trip" % len(labels))


# ---- multi-label, template sets, composed queries ----------------------------------------------


def header_template_sets(header):
    """The built-in template sets as include/biomedclip.h lists them: {name: (positive,
    negative)}, in the listed order."""
    with open(header, encoding="utf-8") as f:
        text = f.read()
    start = text.index("The sets (positive | negative):")
    sets, current = {}, None
    for line in text[start:text.index("*/", start)].split("\n")[1:]:
        name = re.fullmatch(r" \*   ([a-z-]+):", line)
        pair = re.fullmatch(r' \*     "(.*)" \| "(.*)"', line)
        if name:
            current = sets.setdefault(name.group(1), ([], []))
        elif pair:
            current[0].append(pair.group(1))
            current[1].append(pair.group(2))
    return sets


def set_templates(header, name, side):
    """The templates of one side of a set; "chexzero" is CheXzero's pair, the library's default."""
    if name == "chexzero":
        return ["{}"] if side == "positive" else ["no {}"]
    return header_template_sets(header)[name][0 if side == "positive" else 1]


def cmd_prompts(header, name, side, labels):
    """Prints every label put into every template of a set's side, label by label: the prompts
    the library encodes, in its order."""
    for label in labels.split(","):
        for template in set_templates(header, name, side):
            print(template.replace("{}", label, 1))


def cmd_templates(header, name, side):
    """Prints a set's templates of one side as the header lists them, one per line."""
    print("\n".join(set_templates(header, name, side)))


def cmd_list_templates(out, header):
    """classify --list-templates lists the header's sets: name, "  + positive", "  - negative"."""
    want = []
    for name, (positive, negative) in header_template_sets(header).items():
        want += [name] + ["  + " + t for t in positive] + ["  - " + t for t in negative]
    with open(out, encoding="utf-8") as f:
        got = f.read().split("\n")[:-1]
    if got != want:
        fail("--list-templates differs from the header's listing: %r" % got[:4])
    passed("--list-templates: the header's %d sets, %d lines"
           % (len(header_template_sets(header)), len(want)))


def cmd_multilabel(out, image_npy, positive_npy, negative_npy, logit_scale, labels, *images):
    """classify --multi-label against numpy on the tool's own embed-image / embed-text outputs:
    per label the ensemble of its positive and of its negative prompts (label by label, templates
    within), and the softmax over the label's pair of logits, within 1e-6, in label order."""
    labels = labels.split(",")
    scale = math.exp(float(logit_scale))

    def ensemble(npy):
        rows = unit_rows(np.load(npy))
        rows = rows.reshape(len(labels), rows.shape[0] // len(labels), rows.shape[1]).mean(axis=1)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)
    x = unit_rows(np.load(image_npy))
    logits = np.stack([scale * x @ ensemble(positive_npy).T, scale * x @ ensemble(negative_npy).T])
    logits -= logits.max(axis=0)
    probs = np.exp(logits[0]) / np.exp(logits).sum(axis=0)
    results = read_json_lines(out)
    if len(results) != len(images):
        fail("%d JSON lines, expected %d" % (len(results), len(images)))
    err = 0.0
    for i, result in enumerate(results):
        if result.get("image") != images[i]:
            fail("line %d names %r, expected %r" % (i, result.get("image"), images[i]))
        got = [entry["label"] for entry in result["labels"]]
        if got != labels:
            fail("line %d lists %r, expected the labels in order %r" % (i, got, labels))
        err = max(err, max(abs(e["probability"] - p) for e, p in zip(result["labels"], probs[i])))
    if err > 1e-6:
        fail("multi-label probabilities: max abs error %.3g > 1e-6" % err)
    passed("classify --multi-label: %d images x %d labels, max probability error %.3g"
           % (len(images), len(labels), err))


def cmd_composed(out, image, image_npy, row, text, text_npy, weight, top, names):
    """index search --image --text: one JSON line whose results rank the collection (the tool's
    own embed-image rows, entry texts in `names`) by the numpy composed query
    unit((1 - w) unit(image) + w unit(text)), scores within 1e-5."""
    weight, top = float(weight), int(top)
    entries = unit_rows(np.load(image_npy))
    q = (1 - weight) * entries[int(row)] + weight * unit_rows(np.load(text_npy))[0]
    q /= np.linalg.norm(q)
    scores = entries @ q
    results = read_json_lines(out)
    if len(results) != 1:
        fail("%d JSON lines, expected 1" % len(results))
    query = results[0].get("query")
    if query != {"image": image, "text": text, "text_weight": weight}:
        fail("query %r" % (query,))
    got, names = results[0]["results"], read_names(names)
    want = np.argsort(-scores, kind="stable")[:top]
    if len(got) != len(want):
        fail("%d results, expected %d" % (len(got), len(want)))
    err = 0.0
    for r, entry in enumerate(got):
        if entry["id"] != want[r] and abs(scores[entry["id"]] - scores[want[r]]) > 1e-5:
            fail("rank %d: id %d, expected %d" % (r, entry["id"], want[r]))
        if entry["text"] != names[entry["id"]]:
            fail("rank %d: text %r, expected %r" % (r, entry["text"], names[entry["id"]]))
        err = max(err, abs(entry["score"] - scores[entry["id"]]))
    if err > 1e-5:
        fail("composed search: max score error %.3g > 1e-5" % err)
    passed("index search --image --text --text-weight %g: top %d, max score error %.3g"
           % (weight, top, err))


# ---- raw pixel input ---------------------------------------------------------------------------


def display_pipeline(stored, slope=None, intercept=None, window=None, monochrome1=False):
    """The DICOM grayscale display pipeline of biomedclip.h, in float64, to uint8."""
    v = stored.astype(np.float64)
    if slope is not None:
        v = v * slope + intercept
    if window is not None:
        c, w = window
        y = ((v - (c - 0.5)) / (w - 1) + 0.5) * 255
        y = np.where(v <= c - 0.5 - (w - 1) / 2, 0, np.where(v > c - 0.5 + (w - 1) / 2, 255, y))
    else:
        lo, hi = v.min(), v.max()
        y = np.zeros_like(v) if hi == lo else (v - lo) * 255 / (hi - lo)
    y = np.floor(y + 0.5)
    if monochrome1:
        y = 255 - y
    return np.clip(y, 0, 255).astype(np.uint8)


# name: (sample dtype, height, width, channels, display options). Values of each buffer are
# drawn from a seeded generator; the 224 x 224 ones skip the resize, the others go through it.
PIXEL_CASES = {
    "u16_window": ("<u2", 224, 224, 1, dict(window=(1800.0, 1200.0))),
    "s16_ct": ("<i2", 250, 300, 1, dict(slope=1.0, intercept=-1024.0, window=(40.0, 400.0))),
    "u16_mono1": ("<u2", 224, 224, 1, dict(slope=0.5, intercept=10.0, window=(600.0, 900.0),
                                           monochrome1=True)),
    "f32_stretch": ("<f4", 230, 224, 1, dict()),
    "u16_rgb_stretch": ("<u2", 224, 260, 3, dict()),
}


def make_case(name, outdir):
    dtype, height, width, channels, opts = PIXEL_CASES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    shape = (height, width, channels)
    if dtype == "<f4":
        stored = rng.normal(100.0, 40.0, shape).astype(dtype)
    else:
        info = np.iinfo(np.dtype(dtype))
        lo, hi = (-2000, 3000) if info.min < 0 else (0, 4095)
        # a smooth ramp plus noise, so the resize sees structure
        ramp = np.linspace(lo, hi, width)[None, :, None] * np.ones(shape)
        stored = np.clip(ramp + rng.normal(0, 300, shape), lo, hi).astype(dtype)
    stored.tofile(os.path.join(outdir, name + ".raw"))
    eight = display_pipeline(stored, opts.get("slope"), opts.get("intercept"), opts.get("window"),
                             opts.get("monochrome1", False))
    mode = {1: "L", 3: "RGB"}[channels]
    image = Image.fromarray(eight[..., 0] if channels == 1 else eight, mode)
    image.save(os.path.join(outdir, name + ".png"))
    return image


def cmd_make_pixels(outdir):
    """Writes NAME.raw (the samples), NAME.png (the 8-bit image the display pipeline makes)
    and NAME.args (the tool's pixel options) for every case."""
    for name, (dtype, height, width, channels, opts) in PIXEL_CASES.items():
        make_case(name, outdir)
        kind = {"<u2": "u16", "<i2": "s16", "<f4": "f32"}[dtype]
        args = ["--width", str(width), "--height", str(height), "--type", kind,
                "--channels", str(channels)]
        if "slope" in opts:
            args += ["--rescale", "%r,%r" % (opts["slope"], opts["intercept"])]
        if "window" in opts:
            args += ["--window", "%r,%r" % opts["window"]]
        if opts.get("monochrome1"):
            args.append("--monochrome1")
        with open(os.path.join(outdir, name + ".args"), "w") as f:
            f.write(" ".join(args) + "\n")
    print(" ".join(PIXEL_CASES))


def cmd_pixel_case(outdir, name, u8_npy, f32_npy):
    """The tool's --uint8 and float outputs for one raw buffer against Pillow's preprocessing
    of the hand-made 8-bit image (exact, and within 1e-6)."""
    with Image.open(os.path.join(outdir, name + ".png")) as image:
        want = pillow_rgb8(image)
    got = check_npy_format(u8_npy, "|u1", (1, 224, 224, 3))[0]
    differ = int(np.count_nonzero(got != want))
    if differ:
        fail("--pixels %s: %d of %d values differ from the expected pixels" % (name, differ,
                                                                               want.size))
    got_f = check_npy_format(f32_npy, "<f4", (1, 3, 224, 224))[0]
    err = float(np.abs(got_f - normalise(want)).max())
    if err > 1e-6:
        fail("--pixels %s: float max abs error %.3g > 1e-6" % (name, err))
    passed("--pixels %s: uint8 exact, float max abs error %.3g" % (name, err))


def read_names(path):
    with open(path, encoding="utf-8", newline="") as f:
        names = f.read().split("\n")
    return names[:-1] if names[-1] == "" else names


def cmd_search(out, queries_ref, entries_ref, dim, top, tol, query_names, entry_names):
    """index search: for every query (reference embeddings queries_ref, names in the file
    query_names) the JSON line lists the `top` entries (reference entries_ref, texts in the file
    entry_names, ids their positions) of highest cosine similarity, best first, with scores
    within tol."""
    dim, top, tol = int(dim), int(top), float(tol)
    queries, entries = read_names(query_names), read_names(entry_names)
    q = unit_rows(raw(queries_ref, "<f4", (len(queries), dim)))
    e = unit_rows(raw(entries_ref, "<f4", (len(entries), dim)))
    scores = q @ e.T
    results = read_json_lines(out)
    if len(results) != len(queries):
        fail("%d JSON lines, expected %d" % (len(results), len(queries)))
    err = 0.0
    for i, result in enumerate(results):
        if result.get("query") != queries[i]:
            fail("line %d: query %r, expected %r" % (i, result.get("query"), queries[i]))
        got = result["results"]
        want = np.argsort(-scores[i], kind="stable")[:min(top, len(entries))]
        if len(got) != len(want):
            fail("line %d: %d results, expected %d" % (i, len(got), len(want)))
        for r, entry in enumerate(got):
            if entry["id"] != want[r] and abs(scores[i][entry["id"]] - scores[i][want[r]]) > tol:
                fail("line %d rank %d: id %d, expected %d" % (i, r, entry["id"], want[r]))
            if entry["text"] != entries[entry["id"]]:
                fail("line %d rank %d: text %r, expected %r" % (i, r, entry["text"],
                                                               entries[entry["id"]]))
            err = max(err, abs(entry["score"] - scores[i][entry["id"]]))
    if err > tol:
        fail("index search: max score error %.3g > %g" % (err, tol))
    passed("index search: %d queries x top %d of %d entries, max score error %.3g"
           % (len(queries), top, len(entries), err))


def caption_scores(path):
    """eval-captions --per-candidate output: {metric: [corpus, candidate 0, candidate 1, ...]}."""
    with open(path, encoding="utf-8") as f:
        result = json.loads(f.read())
    return {name: [value] + [c[name] for c in result["candidates"]]
            for name, value in result["corpus"].items()}


def cmd_captions(expected_tsv, *runs):
    """eval-captions against nltk: every BLEU-n/smoothing-s and METEOR line of the metrics
    fixtures' expected.tsv (corpus, then per-candidate scores) within 1e-9; runs[s] is the
    tool's output with --smoothing s."""
    scores = [caption_scores(run) for run in runs]
    compared, worst = 0, 0.0
    with open(expected_tsv) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            metric, smoothing = (fields[0].split("/smoothing-") + ["0"])[:2]
            want = [float(v) for v in fields[1:]]
            got = scores[int(smoothing)][metric]
            if len(got) != len(want):
                fail("%s: %d values, expected %d" % (fields[0], len(got), len(want)))
            err = max(abs(a - b) for a, b in zip(got, want))
            if err > 1e-9:
                fail("%s: max error %.3g > 1e-9 against nltk" % (fields[0], err))
            compared += 1
            worst = max(worst, err)
    passed("eval-captions vs nltk: %d metric/smoothing series, max error %.3g" % (compared, worst))


def cmd_captions_lib(out, caption_eval_out, *metrics):
    """eval-captions against examples/caption_eval --exact --per-caption (the library's own
    results) for the given metrics: the same numbers."""
    got = caption_scores(out)
    want, columns = {}, None
    with open(caption_eval_out) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if columns is None and len(fields) == 1:
                name, value = line.split()
                want[name] = [float(value)]
            elif columns is None:
                columns = fields[1:]
            else:
                for name, value in zip(columns, fields[1:]):
                    want[name].append(float(value))
    for metric in metrics:
        if len(got[metric]) != len(want[metric]) or any(
                abs(a - b) > 1e-12 * max(1.0, abs(b)) for a, b in zip(got[metric], want[metric])):
            fail("%s differs from examples/caption_eval" % metric)
    passed("eval-captions %s equal examples/caption_eval on %d candidates"
           % (", ".join(metrics), len(got[metrics[0]]) - 1))


def cmd_same(a, b, tol):
    """Two .npy arrays of the same shape agree within tol."""
    x, y = np.load(a), np.load(b)
    if x.shape != y.shape:
        fail("%s %s vs %s %s" % (a, x.shape, b, y.shape))
    err = float(np.abs(x.astype(np.float64) - y).max())
    if err > float(tol):
        fail("%s vs %s: max abs error %.3g > %s" % (a, b, err, tol))
    passed("%s = %s (max abs error %.3g)" % (os.path.basename(a), os.path.basename(b), err))


def cmd_rows(a, indices, b):
    """Rows `indices` (comma-separated) of a equal b exactly (order of mixed inputs)."""
    x = np.load(a)[[int(i) for i in indices.split(",")]]
    y = np.load(b)
    if x.shape != y.shape or not np.array_equal(x, y):
        fail("rows %s of %s differ from %s" % (indices, a, b))
    passed("rows %s of %s equal %s" % (indices, os.path.basename(a), os.path.basename(b)))


COMMANDS = {
    "ids": cmd_ids, "ref-ids": cmd_ref_ids, "pixels": cmd_pixels, "pixels-u8": cmd_pixels_u8,
    "embeddings": cmd_embeddings, "classify": cmd_classify, "classify-own": cmd_classify_own,
    "json-strings": cmd_json_strings, "make-pixels": cmd_make_pixels,
    "pixel-case": cmd_pixel_case, "same": cmd_same, "rows": cmd_rows, "search": cmd_search,
    "captions": cmd_captions, "captions-lib": cmd_captions_lib, "prompts": cmd_prompts,
    "templates": cmd_templates, "list-templates": cmd_list_templates,
    "multilabel": cmd_multilabel, "composed": cmd_composed,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit("usage: cli_check.py {%s} ARGS..." % ",".join(COMMANDS))
    COMMANDS[sys.argv[1]](*sys.argv[2:])
