#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/vqa on the VQA fixtures (tools/fixtures/make_vqa_fixtures.py): with a head it prints the answer
# the Python reference ranks first, zero-shot it ranks the candidates as the reference does, and
# a missing head fails with a message.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
F=${BMC_FIXTURES:-$BUILD/fixtures}/vqa
VQA=$BUILD/examples/vqa
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
passed=0; failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# The reference's best answer in row ROW of a float32 [rows, COLUMNS] file, named from a
# "|"-separated list:  best FILE COLUMNS ROW "a|b|..."
best() {
    "$PYTHON" -c '
import sys
import numpy as np
path, columns, row, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split("|")
values = np.fromfile(path, np.float32)
print(names[int(np.argmax(values[row * columns:(row + 1) * columns]))])' "$@"
}

# The fusion head's answers, "|"-separated, from its vqa_head.json.
answers=$("$PYTHON" -c '
import json, sys, torch
files = {"vqa_head.json": ""}
torch.jit.load(sys.argv[1], _extra_files=files)
print("|".join(json.loads(files["vqa_head.json"])["answers"]))' "$F/fusion.vqa.pt")
columns=$(awk -F'|' '{print NF}' <<<"$answers")

# With the fusion head: the first rows of the test split.
for row in 0 1 2 3 4 5 6 7; do
    IFS=$'\t' read -r image question _ < <(sed -n "$((row + 1))p" "$F/test.tsv")
    want=$(best "$F/fusion_test_probs.f32" "$columns" "$row" "$answers")
    got=$("$VQA" "$F/model.bmc.pt" "$F/$image" "$question" --head "$F/fusion.vqa.pt" --top 1 | awk 'NR == 3 {print $2}')
    if [ "$got" = "$want" ]; then pass; else fail "head, '$question': printed '$got', the reference ranks '$want' first"; fi
done

# Zero-shot: the first case of zero_shot.tsv.
IFS=$'\t' read -r image question candidates < <(head -1 "$F/zero_shot.tsv")
count=$(awk -F'|' '{print NF}' <<<"$candidates")
want=$(best "$F/zero_shot_probs.f32" "$count" 0 "$candidates")
got=$("$VQA" "$F/model.bmc.pt" "$F/$image" "$question" --answers "${candidates//|/,}" | awk 'NR == 3 {print $2}')
if [ "$got" = "$want" ]; then pass; else fail "zero-shot '$question': printed '$got', expected '$want'"; fi

# A head that does not exist.
if "$VQA" "$F/model.bmc.pt" "$F/$image" "$question" --head "$F/no_such.vqa.pt" 2>"$dir/error" >/dev/null; then
    fail "a missing head succeeded"
elif grep -q "vqa: loading the head: .*no_such.vqa.pt" "$dir/error"; then pass
else fail "missing head message: $(cat "$dir/error")"; fi

echo "vqa_example: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
