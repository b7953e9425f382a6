#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# biomedclip probe train / predict on the VQA fixtures' synthetic images (tools/train/
# vqa_synthetic.py: one shape of one colour on one side per image), labelled by shape, colour
# and side: the probe file's weights and probe predict's probabilities against scikit-learn's
# LogisticRegression fitted on the same embeddings (the tool's own embed-image output), with
# the same C (tools/checks/probe_check.py); bad training sets and mismatched probes refused.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
F=${BMC_FIXTURES:-$BUILD/fixtures}/vqa
CLI=$BUILD/biomedclip
CHECK="$PYTHON -m tools.checks.probe_check"
passed=0; failed=0
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

pass() { passed=$((passed + 1)); echo "ok   $1"; }
flunk() { failed=$((failed + 1)); echo "FAIL $1"; [ -f "$work/err" ] && sed 's/^/     /' "$work/err" | head -n 5; }
run() { local name=$1; shift; if "$@" 2>"$work/err"; then return 0; fi; flunk "$name: exit $?"; return 1; }
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

if [ ! -x "$CLI" ] || [ ! -f "$F/model.bmc.pt" ]; then
    echo "missing $CLI or $F (run make check)"; echo "probe: 0 passed, 1 failed"; exit 1
fi
MODEL=$F/model.bmc.pt
# The TSVs name images relative to their own folder, through a link to the fixtures' images.
ln -s "$(cd "$F/dataset/images" && pwd)" "$work/images"

# split KIND: work/SPLIT.KIND.tsv for each split, one "images/NAME<TAB>ANSWER" per image.
"$PYTHON" - "$F/dataset" "$work" <<'PY' || flunk "making the training sets"
import json, sys
dataset, work = sys.argv[1:]
for split in ("train", "test"):
    with open(f"{dataset}/{split}.json") as f:
        questions = json.load(f)
    for kind in ("SHAPE", "COLOR", "POS"):
        answers = {}
        for q in questions:
            if q["question_type"] == kind:
                answers[q["image_name"]] = q["answer"]
        with open(f"{work}/{split}.{kind}.tsv", "w") as f:
            f.writelines(f"images/{name}\t{answer}\n" for name, answer in answers.items())
PY
mapfile -t train_images < <(cut -f1 "$work/train.SHAPE.tsv" | sed "s|^|$work/|")
mapfile -t test_images < <(cut -f1 "$work/test.SHAPE.tsv" | sed "s|^|$work/|")
run "embed-image (train)" "$CLI" embed-image --model "$MODEL" "${train_images[@]}" --out "$work/train.npy"
run "embed-image (test)" "$CLI" embed-image --model "$MODEL" "${test_images[@]}" --out "$work/test.npy"

# parity KIND C [REFERENCE]: train on the KIND labels with C, predict the test split, compare
# with scikit-learn's lbfgs fit (or, for a large C, where scipy's L-BFGS-B stops short of the
# minimum by more than the bars, with newton-cg's).
parity() {
    local kind=$1 c=$2 reference=${3:-lbfgs} probe=$work/$1.$2.bmcprobe out
    for f in train test; do
        cut -f1 "$work/$f.$kind.tsv" | cmp -s - <(cut -f1 "$work/$f.SHAPE.tsv") || { flunk "$kind: image lists differ"; return; }
    done
    run "probe train $kind C=$c" "$CLI" probe train --model "$MODEL" --out "$probe" --c "$c" "$work/train.$kind.tsv" \
            >"$work/train.json" || return
    "$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["converged"] and r["examples"] == int(sys.argv[2])' \
        "$work/train.json" "${#train_images[@]}" 2>"$work/err" || { flunk "probe train $kind: $(cat "$work/train.json")"; return; }
    run "probe predict $kind C=$c" "$CLI" probe predict --model "$MODEL" --probe "$probe" --batch 7 "${test_images[@]}" \
            >"$work/predict.jsonl" || return
    if out=$($CHECK parity "$reference" "$probe" "$work/train.npy" "$work/train.$kind.tsv" "$c" "$work/test.npy" \
             "$work/predict.jsonl" "${test_images[@]}" 2>&1); then
        pass "$kind: ${out#ok   }"
    else
        rm -f "$work/err"; flunk "$kind: $out"
    fi
}
for c in 0.1 1 10; do parity SHAPE "$c"; done
parity SHAPE 1000 newton-cg
parity COLOR 10
parity POS 1

# --top and the JSON shape.
run "probe predict --top 1" "$CLI" probe predict --model "$MODEL" --probe "$work/SHAPE.1.bmcprobe" --top 1 \
        "${test_images[0]}" >"$work/top1.jsonl" &&
    { "$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); assert len(r["labels"]) == 1 and r["image"] == sys.argv[2]' \
          "$work/top1.jsonl" "${test_images[0]}" 2>/dev/null && pass "probe predict --top 1" || flunk "probe predict --top 1: $(cat "$work/top1.jsonl")"; }

# ---- refusals ------------------------------------------------------------------------------------
head -n 5 "$work/train.SHAPE.tsv" | sed 's/\t.*/\tcircle/' >"$work/one.tsv"
refuse "one class" 1 "at least two classes" "$CLI" probe train --model "$MODEL" --out "$work/x.bmcprobe" "$work/one.tsv"
printf 'images/no_such.png\tcircle\n' | cat - "$work/train.SHAPE.tsv" >"$work/missing.tsv"
refuse "missing image" 1 "no_such.png" "$CLI" probe train --model "$MODEL" --out "$work/x.bmcprobe" "$work/missing.tsv"
printf 'images/a.png circle\n' >"$work/notab.tsv"
refuse "line without a tab" 1 "notab.tsv:1: expected IMAGE<TAB>LABEL" "$CLI" probe train --model "$MODEL" --out "$work/x.bmcprobe" "$work/notab.tsv"
: >"$work/empty.tsv"
refuse "empty TSV" 1 "holds no examples" "$CLI" probe train --model "$MODEL" --out "$work/x.bmcprobe" "$work/empty.tsv"
[ ! -e "$work/x.bmcprobe" ] && pass "no probe file left after a refusal" || flunk "a refused run wrote $work/x.bmcprobe"
refuse "bad --c" 2 "--c" "$CLI" probe train --model "$MODEL" --out "$work/x.bmcprobe" --c 0 "$work/train.SHAPE.tsv"
refuse "probe predict without --probe" 2 "--probe" "$CLI" probe predict --model "$MODEL" "${test_images[0]}"
refuse "probe without an action" 2 "expected train or predict" "$CLI" probe
refuse "bad --top" 2 "--top" "$CLI" probe predict --model "$MODEL" --probe "$work/SHAPE.1.bmcprobe" --top 4 "${test_images[0]}"
# Probes recording another model (name, weights, embedding size) or a newer format.
for change in "name=biomedclip-other" "source=sha256 0123" "dim=32" "version=2"; do
    $CHECK rewrite "$work/SHAPE.1.bmcprobe" "$work/other.bmcprobe" "$change"
    case $change in
        name=*) want="trained for model 'biomedclip-other'" ;;
        source=*) want="sha256 0123" ;;
        dim=*) want="reads 32-dimensional embeddings" ;;
        version=*) want="format version 2" ;;
    esac
    refuse "probe with $change" 1 "$want" "$CLI" probe predict --model "$MODEL" --probe "$work/other.bmcprobe" "${test_images[0]}"
done
head -c 100 "$work/SHAPE.1.bmcprobe" >"$work/truncated.bmcprobe"
refuse "truncated probe" 1 "truncated.bmcprobe" "$CLI" probe predict --model "$MODEL" --probe "$work/truncated.bmcprobe" "${test_images[0]}"
cp "$work/SHAPE.1.bmcprobe" "$work/flipped.bmcprobe"
printf '\x55' | dd of="$work/flipped.bmcprobe" bs=1 seek=200 conv=notrunc 2>/dev/null
refuse "damaged probe" 1 "checksum" "$CLI" probe predict --model "$MODEL" --probe "$work/flipped.bmcprobe" "${test_images[0]}"

echo "probe: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
