#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# biomedclip segment and ask against the Python references of the segmentation and VQA
# fixtures (tools/fixtures/make_segmentation_fixtures.py, make_vqa_fixtures.py): probability
# maps, masks, overlays and areas; head and zero-shot answer probabilities; raw pixel input
# against the same image as PNG; usage and library errors.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
S=${BMC_FIXTURES:-$BUILD/fixtures}/segmentation
V=${BMC_FIXTURES:-$BUILD/fixtures}/vqa
CLI=$BUILD/biomedclip
passed=0; failed=0
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

pass() { passed=$((passed + 1)); echo "ok   $1"; }
flunk() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$work/err" ] && sed 's/^/     /' "$work/err" | head -n 5; }
run() { local name=$1; shift; if "$@" 2>"$work/err"; then return 0; fi; flunk "$name: exit $?"; return 1; }
# python NAME SCRIPT ARGS...: a comparison in Python that prints its summary line.
python() {
    local name=$1 script=$2 out; shift 2
    if out=$("$PYTHON" -c "$script" "$@" 2>&1); then pass "$name: $out"; else rm -f "$work/err"; flunk "$name: $out"; fi
}
refuse() {
    local name=$1 want=$2 pattern=$3; shift 3
    "$@" >"$work/out" 2>"$work/err" </dev/null
    local rc=$?
    if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" "$work/err" && [ ! -s "$work/out" ]; then
        pass "$name: exit $rc, $(head -n 1 "$work/err")"
    else
        flunk "$name: exit $rc (expected $want), stderr should say '$pattern'"
    fi
}

if [ ! -x "$CLI" ] || [ ! -f "$S/trained.bmcseg.pt" ] || [ ! -f "$V/fusion.vqa.pt" ]; then
    echo "missing $CLI or the fixtures (run make check)"; echo "cli_tasks: 0 passed, 1 failed"; exit 1
fi
for cmd in segment ask probe; do
    "$CLI" "$cmd" --help >"$work/out" 2>&1 && grep -q "^Usage: biomedclip $cmd\b" "$work/out" && pass "$cmd --help" || flunk "$cmd --help"
done

# ---- segment --------------------------------------------------------------------------------------
mapfile -t prompts < <(awk '$1 == "prompt" { $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); print }' "$S/manifest.txt")
pargs=(); for p in "${prompts[@]}"; do pargs+=(--prompt "$p"); done
mkdir -p "$work/seg"
SEGMENT_CHECK='
import json, sys
import numpy as np
from PIL import Image
from tools.reference.seg_reference import overlay
fixtures, jsonl, decoder, prompt_count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
names = sys.argv[5:]
manifest = [l.split() for l in open(fixtures + "/manifest.txt")]
sizes = {l[2]: (int(l[3]), int(l[4]), int(l[1])) for l in manifest if l[0] == "image"}
results = [json.loads(l) for l in open(jsonl)]
assert [r["image"] for r in results] == [fixtures + "/images/" + n for n in names], "image order"
worst = 0.0
for r, name in zip(results, names):
    width, height, index = sizes[name]
    assert (r["width"], r["height"]) == (width, height), "geometry of " + name
    want = np.fromfile("%s/ref/%s.%d.prob.f32" % (fixtures, decoder, index), np.float32).reshape(-1, height, width)
    assert len(r["masks"]) == prompt_count
    image = Image.open(fixtures + "/images/" + name)
    for j, m in enumerate(r["masks"]):
        prob = np.load(m["probabilities"])
        worst = max(worst, float(np.abs(prob - want[j]).max()))
        mask = np.array(Image.open(m["mask"]))
        near = np.abs(want[j] - 0.5) <= 1e-4
        assert np.all((mask == np.where(want[j] > 0.5, 255, 0)) | near), "mask %s %d" % (name, j)
        assert np.array_equal(np.array(Image.open(m["overlay"]).convert("RGB")), overlay(image, mask, (255, 0, 0), 0.5)), "overlay"
        assert m["area"] == int(np.count_nonzero(mask)) and abs(m["fraction"] - m["area"] / (width * height)) < 1e-9
assert worst <= 1e-4, "probability error %.3g" % worst
print("%d images x %d prompts: maps within %.2g of the reference, masks, overlays and areas match" % (len(names), prompt_count, worst))
'
run "segment" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/trained.bmcseg.pt" "${pargs[@]}" --out "$work/seg" \
        --probabilities "$S/images/scan0.png" "$S/images/scan3.png" "$S/images/scan4.png" >"$work/seg.jsonl" &&
    python "segment vs the Python reference" "$SEGMENT_CHECK" "$S" "$work/seg.jsonl" trained "${#prompts[@]}" scan0.png scan3.png scan4.png

# Raw pixels: scan1 as an 8-bit raw buffer gives the PNG's maps exactly.
"$PYTHON" -c '
import sys
import numpy as np
from PIL import Image
image = Image.open(sys.argv[1])
pixels = np.array(image.convert("L") if image.mode in ("L", "I", "1", "P") else image.convert("RGB"))
pixels.tofile(sys.argv[2])
print(image.size[0], image.size[1], 1 if pixels.ndim == 2 else 3)' "$S/images/scan1.png" "$work/scan1.raw" >"$work/scan1.geometry"
read -r w h c <"$work/scan1.geometry"
mkdir -p "$work/png" "$work/raw"
run "segment PNG" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/trained.bmcseg.pt" --prompt "${prompts[0]}" \
        --out "$work/png" --probabilities "$S/images/scan1.png" >/dev/null &&
    run "segment --pixels" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/trained.bmcseg.pt" --prompt "${prompts[0]}" \
        --out "$work/raw" --probabilities --pixels "$work/scan1.raw" --width "$w" --height "$h" --type u8 --channels "$c" >/dev/null &&
    { cmp -s "$work/png/scan1.0.prob.npy" "$work/raw/scan1.0.prob.npy" && cmp -s "$work/png/scan1.0.mask.png" "$work/raw/scan1.0.mask.png" \
        && pass "segment --pixels = the same image as PNG" || flunk "segment --pixels differs from the PNG's results"; }

refuse "segment missing decoder" 1 "no-such.bmcseg.pt" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/no-such.bmcseg.pt" \
    --prompt liver --out "$work/seg" "$S/images/scan0.png"
refuse "segment of a bundle as decoder" 1 "" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/model.bmc.pt" \
    --prompt liver --out "$work/seg" "$S/images/scan0.png"
refuse "segment without --prompt" 2 "--prompt" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/trained.bmcseg.pt" --out "$work/seg" "$S/images/scan0.png"
refuse "segment --out not a folder" 1 "not a folder" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/trained.bmcseg.pt" \
    --prompt liver --out "$work/nodir" "$S/images/scan0.png"
refuse "segment same names" 2 "same files" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/trained.bmcseg.pt" \
    --prompt liver --out "$work/seg" "$S/images/scan0.png" "$work/png/../../$(basename "$work")/png/scan0.png"
refuse "segment --threshold" 2 "--threshold" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/trained.bmcseg.pt" \
    --prompt liver --out "$work/seg" --threshold 2 "$S/images/scan0.png"
refuse "segment --color" 2 "--color" "$CLI" segment --model "$S/model.bmc.pt" --decoder "$S/trained.bmcseg.pt" \
    --prompt liver --out "$work/seg" --color 1,2 "$S/images/scan0.png"

# ---- ask ------------------------------------------------------------------------------------------
# With the fusion head: the questions of the first two test images, against the reference's
# probabilities under BMC_VQA_AUTO (fusion_test_probs.f32, rows in test.tsv order).
ASK_HEAD_CHECK='
import json, sys
import numpy as np
fixtures, jsonl = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\n").split("\t") for l in open(fixtures + "/test.tsv")]
results = [json.loads(l) for l in open(jsonl)]
answers = int([l.split()[1] for l in open(fixtures + "/manifest.txt") if l.startswith("answers ")][0])
probs = np.fromfile(fixtures + "/fusion_test_probs.f32", np.float32).reshape(len(rows), answers)
import torch
files = {"vqa_head.json": ""}
torch.jit.load(fixtures + "/fusion.vqa.pt", _extra_files=files)
names = json.loads(files["vqa_head.json"])["answers"]
worst = 0.0
for i, r in enumerate(results):
    image, question = rows[i][0], rows[i][1]
    assert r["image"] == fixtures + "/" + image and r["question"] == question and r["mode"] == "head", "line %d" % i
    want = {names[a]: p for a, p in enumerate(probs[i]) if p > 0}
    got = {e["answer"]: e["probability"] for e in r["answers"]}
    assert set(got) == set(want), "line %d answers %s, expected %s" % (i, sorted(got), sorted(want))
    worst = max(worst, max(abs(got[a] - want[a]) for a in want))
    assert [e["probability"] for e in r["answers"]] == sorted(got.values(), reverse=True)
assert worst <= 1e-5, "probability error %.3g" % worst
print("%d questions: the allowed answers, ranked, within %.2g of the reference" % (len(results), worst))
'
mapfile -t lines < <(head -n 40 "$V/test.tsv")
first_image=$(cut -f1 <<<"${lines[0]}")
qargs=(); images=(); count=0
for line in "${lines[@]}"; do
    IFS=$'\t' read -r image question _ <<<"$line"
    [ "$image" = "$first_image" ] || break
    qargs+=(--question "$question"); count=$((count + 1))
done
run "ask --head" "$CLI" ask --model "$V/model.bmc.pt" --head "$V/fusion.vqa.pt" "${qargs[@]}" --top 100 "$V/$first_image" >"$work/ask.jsonl" &&
    python "ask --head vs the reference" "$ASK_HEAD_CHECK" "$V" "$work/ask.jsonl"

# Zero-shot: every case of zero_shot.tsv against zero_shot_probs.f32 (concatenated).
: >"$work/zero.jsonl"
while IFS=$'\t' read -r image question candidates; do
    run "ask zero-shot '$question'" "$CLI" ask --model "$V/model.bmc.pt" --question "$question" --answers "${candidates//|/,}" \
        --top 100 "$V/$image" >>"$work/zero.jsonl" || break
done <"$V/zero_shot.tsv"
python "ask zero-shot vs the reference" '
import json, sys
import numpy as np
fixtures, jsonl = sys.argv[1], sys.argv[2]
cases = [l.rstrip("\n").split("\t") for l in open(fixtures + "/zero_shot.tsv")]
probs = np.fromfile(fixtures + "/zero_shot_probs.f32", np.float32)
results = [json.loads(l) for l in open(jsonl)]
assert len(results) == len(cases)
at, worst = 0, 0.0
for (image, question, candidates), r in zip(cases, results):
    candidates = candidates.split("|")
    want = dict(zip(candidates, probs[at:at + len(candidates)]))
    at += len(candidates)
    got = {e["answer"]: e["probability"] for e in r["answers"]}
    assert r["mode"] == "zero-shot" and set(got) == set(want)
    worst = max(worst, max(abs(got[a] - want[a]) for a in want))
assert worst <= 1e-5, "probability error %.3g" % worst
print("%d cases within %.2g of the reference" % (len(cases), worst))' "$V" "$work/zero.jsonl"

refuse "ask missing head" 1 "no_such.vqa.pt" "$CLI" ask --model "$V/model.bmc.pt" --head "$V/no_such.vqa.pt" --question "is it?" "$V/$first_image"
refuse "ask head of another model" 1 "" "$CLI" ask --model "$V/model.bmc.pt" --head "$V/broken/other_source.vqa.pt" --question "is it?" "$V/$first_image"
refuse "ask choice not an answer" 1 "" "$CLI" ask --model "$V/model.bmc.pt" --head "$V/fusion.vqa.pt" --answers "maybe,yes" --question "is it?" "$V/$first_image"
refuse "ask without --question" 2 "--question" "$CLI" ask --model "$V/model.bmc.pt" "$V/$first_image"
refuse "ask --open without --head" 2 "--open needs --head" "$CLI" ask --model "$V/model.bmc.pt" --open --question "is it?" "$V/$first_image"
refuse "ask empty answer" 2 "empty answer" "$CLI" ask --model "$V/model.bmc.pt" --answers "yes,,no" --question "is it?" "$V/$first_image"
refuse "ask missing image" 1 "missing.png" "$CLI" ask --model "$V/model.bmc.pt" --question "is it?" "$work/missing.png"

echo "cli_tasks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
