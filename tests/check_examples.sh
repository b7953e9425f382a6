#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The C example programs, run on the tiny model fixtures: every example prints its usage and
# exits 2 without arguments; tokenize, embed and zeroshot_probs print what the references of
# tools/fixtures/make_model_fixtures.py computed (token ids exactly, embeddings and probabilities within
# float tolerance); classify ranks every label; bad input fails with a message, not a crash.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
F=${BMC_FIXTURES:-$BUILD/fixtures}/model
X=$BUILD/examples
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
passed=0; failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# Compares numbers printed by an example with a raw float32 reference file.
#   compare.py OUTPUT REFERENCE ROWS TOLERANCE [--normalise]
cat > "$dir/compare.py" <<'PY'
import sys
import numpy as np
output, reference, rows, tolerance = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
got = np.array([[float(v) for v in line.split()] for line in open(output) if line.strip()])
want = np.fromfile(reference, np.float32).reshape(-1, got.shape[1] if got.ndim == 2 else 1)[:rows]
if "--normalise" in sys.argv:
    want = want / np.linalg.norm(want, axis=1, keepdims=True)
error = np.abs(got - want).max() if got.shape == want.shape else float("inf")
print("max difference %.3g (shapes %s, %s)" % (error, got.shape, want.shape))
sys.exit(0 if error <= tolerance else 1)
PY

for program in "$X"/*; do
    [ -x "$program" ] || continue
    "$program" >/dev/null 2>"$dir/usage"
    rc=$?
    if [ "$rc" -eq 2 ] && grep -q "usage:" "$dir/usage"; then pass; else fail "$(basename "$program") without arguments: exit $rc, no usage"; fi
done

# The images in the references' order (manifest.txt: "image INDEX FILE WIDTH HEIGHT MODE").
mapfile -t images < <(awk -v dir="$F/images" '$1 == "image" { print dir "/" $3 }' "$F/manifest.txt")
mapfile -t texts < "$F/texts.txt"

# tokenize: each text's ids and padded row are the reference's.
for i in 0 1 2 3 4 5 6 9; do
    if "$X/tokenize" --model "$F/model.bmc.pt" --padded "${texts[$i]}" > "$dir/padded" &&
       "$X/tokenize" --model "$F/model.bmc.pt" "${texts[$i]}" > "$dir/ids" &&
       "$PYTHON" - "$dir" "$F" "$i" <<'PY'
import sys
import numpy as np
out, fixtures, i = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids = np.fromfile(fixtures + "/text_ids.i32", np.int32).reshape(-1, 256)[i]
length = int(np.fromfile(fixtures + "/text_lengths.i32", np.int32)[i])
padded = [int(v) for v in open(out + "/padded").read().split(":", 1)[1].split()]
unpadded = [int(v) for v in open(out + "/ids").readline().split(":", 1)[1].split() if v.isdigit()]
sys.exit(0 if padded == list(ids) and unpadded == list(ids[:length]) else 1)
PY
    then pass; else fail "tokenize: text $i differs from the reference ids"; fi
done
if "$X/tokenize" --vocab tests/data/bert-base-uncased-vocab.txt --context 5 "the heart is normal in size" > "$dir/short" &&
   grep -q "(truncated)" "$dir/short" && [ "$(head -1 "$dir/short" | wc -w)" -eq 7 ]; then
    pass; else fail "tokenize --vocab --context 5 does not truncate to 5 ids"; fi

# embed: raw embeddings of the images and texts are the reference model's.
args=()
for image in "${images[@]}"; do args+=(--image "$image"); done
for i in 0 1 2; do args+=(--text "${texts[$i]}"); done
if "$X/embed" --raw --dump "$F/model.bmc.pt" "${args[@]}" > "$dir/embed"; then
    # "KIND NAME: v1 v2 ...": the values follow the last ": " (names may hold colons).
    grep '^image ' "$dir/embed" | sed -E 's/^.*: //' > "$dir/image_emb"
    grep '^text ' "$dir/embed" | sed -E 's/^.*: //' > "$dir/text_emb"
    if "$PYTHON" "$dir/compare.py" "$dir/image_emb" "$F/image_embeddings.f32" "${#images[@]}" 1e-4; then pass; else fail "embed: image embeddings"; fi
    if "$PYTHON" "$dir/compare.py" "$dir/text_emb" "$F/text_embeddings_padded.f32" 3 1e-4; then pass; else fail "embed: text embeddings"; fi
else
    fail "embed exited with an error"
fi
if "$X/embed" --dump "$F/model.bmc.pt" --image "${images[0]}" | sed -E 's/^.*: //' > "$dir/unit" &&
   "$PYTHON" "$dir/compare.py" "$dir/unit" "$F/image_embeddings.f32" 1 1e-5 --normalise; then
    pass; else fail "embed: normalised embedding"; fi
if "$X/embed" "$F/model.bmc.pt" --image "${images[0]}" --text pneumothorax --text "normal lungs" > "$dir/scores" &&
   grep -q "^cosine similarity" "$dir/scores" && grep -q "^probabilities" "$dir/scores"; then
    pass; else fail "embed: no similarity/probability tables"; fi

# zeroshot_probs: the reference ensemble's probabilities.
if "$X/zeroshot_probs" "$F/model.bmc.pt" "$F/zeroshot_labels.txt" "$F/zeroshot_templates.txt" "${images[@]}" > "$dir/probs"; then
    labels=$(grep -c . "$F/zeroshot_labels.txt")
    cut -f3 "$dir/probs" | paste -d' ' $(printf -- '- %.0s' $(seq "$labels")) > "$dir/prob_rows"
    if "$PYTHON" "$dir/compare.py" "$dir/prob_rows" "$F/zeroshot_probs.f32" "${#images[@]}" 1e-5; then pass; else fail "zeroshot_probs: probabilities"; fi
else
    fail "zeroshot_probs exited with an error"
fi

# classify: every label ranked, probabilities summing to 100%.
if "$X/classify" "$F/model.bmc.pt" "pneumothorax,pleural effusion,normal lungs" "${images[0]}" "${images[1]}" > "$dir/classify" &&
   [ "$(grep -c '%' "$dir/classify")" -eq 6 ] &&
   awk '/%/ { sum += $1 } END { exit !(sum > 199.9 && sum < 200.1) }' "$dir/classify"; then
    pass; else fail "classify: output"; cat "$dir/classify"; fi

# dicom_classify: every frame of a multi-frame file (pydicom's rtdose.dcm, modality RTDOSE, so
# the generic template set) gets the label and probability the CLI's classify --frames all
# gives it; a file without an image is reported with the reason (exit 1).
dcm=$($PYTHON -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))')
if "$X/dicom_classify" "$F/model.bmc.pt" "pneumothorax,pleural effusion,normal lungs" "$dcm/rtdose.dcm" > "$dir/dicom" &&
   "$BUILD/biomedclip" classify --model "$F/model.bmc.pt" --labels "pneumothorax,pleural effusion,normal lungs" \
       --templates generic "$dcm/rtdose.dcm" --frames all > "$dir/dicom_cli" &&
   "$PYTHON" - "$dir/dicom" "$dir/dicom_cli" <<'PY'
import json, re, sys
got = [re.match(r"  frame (\d+): ([\d.]+)% (.*)", l).groups() for l in open(sys.argv[1]) if l.startswith("  frame")]
want = [json.loads(l)["labels"][0] for l in open(sys.argv[2])]
ok = len(got) == len(want) == 15 and all(
    g[2] == w["label"] and abs(float(g[1]) - 100 * w["probability"]) < 0.006 for g, w in zip(got, want))
sys.exit(0 if ok else 1)
PY
then pass; else fail "dicom_classify: frames differ from classify --frames all"; cat "$dir/dicom"; head -c 400 "$dir/dicom_cli"; fi
"$X/dicom_classify" "$F/model.bmc.pt" a,b "$dcm/rtplan.dcm" > "$dir/dicom_plan" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "no image: no pixel data" "$dir/dicom_plan"; then pass; else fail "dicom_classify on rtplan.dcm: exit $rc"; cat "$dir/dicom_plan"; fi

# Bad input: an error message and exit status 1, never a crash.
for run in "classify $F/model.bmc.pt a,b $F/texts.txt" "classify $F/broken/bad_version.bmc.pt a,b ${images[0]}" \
           "embed $dir/missing.bmc.pt --text x" "tokenize --model $F/broken/truncated.bmc.pt x" \
           "zeroshot_probs $F/model.bmc.pt $F/zeroshot_labels.txt $F/zeroshot_templates.txt $dir/missing.png" \
           "dicom_classify $F/model.bmc.pt a,b $F/texts.txt"; do
    set -- $run
    program=$1; shift
    "$X/$program" "$@" >/dev/null 2>"$dir/err"
    rc=$?
    if [ "$rc" -eq 1 ] && [ -s "$dir/err" ]; then pass; else fail "$program on bad input: exit $rc"; cat "$dir/err"; fi
done

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
