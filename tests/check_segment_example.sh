#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/segment on the segmentation fixtures: for each class prompt on a held-out scan, the
# mask PNG is the reference probability map thresholded at 0.5 (except where that probability
# is within 1e-4 of it) and the overlay PNG is Pillow's blend + composite of that mask; a
# missing decoder or image fails with a message and exit 1.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
F=${BMC_FIXTURES:-$BUILD/fixtures}/segmentation
X=$BUILD/examples/segment
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
passed=0; failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

mapfile -t prompts < <(awk '$1 == "prompt" { $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); print }' "$F/manifest.txt")
size=$(awk '$1 == "image" && $2 == 0 { print $4, $5 }' "$F/manifest.txt")
[ "${#prompts[@]}" -eq 3 ] && [ -n "$size" ] && pass || fail "no prompts or images in $F/manifest.txt"

for i in "${!prompts[@]}"; do
    if "$X" "$F/model.bmc.pt" "$F/trained.bmcseg.pt" "$F/images/scan0.png" "${prompts[$i]}" "$dir/p$i" > "$dir/out$i" &&
       grep -q "mask covers" "$dir/out$i" &&
       "$PYTHON" - "$F" "$dir/p$i" "$i" $size <<'PY'
import sys
import numpy as np
from PIL import Image
from tools.reference.seg_reference import overlay
fixtures, prefix, index, width, height = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
prob = np.fromfile(f"{fixtures}/ref/trained.0.prob.f32", np.float32).reshape(-1, height, width)[index]
mask = np.array(Image.open(prefix + ".mask.png"))
want = np.where(prob > 0.5, 255, 0)
ok = np.all((mask == want) | (np.abs(prob - 0.5) <= 1e-4)) and mask.any()
image = Image.open(f"{fixtures}/images/scan0.png")
ok = ok and np.array_equal(np.array(Image.open(prefix + ".overlay.png").convert("RGB")),
                           overlay(image, mask, (255, 0, 0), 0.5))
sys.exit(0 if ok else 1)
PY
    then pass; else fail "prompt $i: mask or overlay differs from the reference"; fi
done

"$X" "$F/model.bmc.pt" "$F/no-such-decoder.pt" "$F/images/scan0.png" "liver" "$dir/x" > /dev/null 2> "$dir/err"
[ $? -eq 1 ] && grep -q "^segment: " "$dir/err" && pass || fail "a missing decoder does not fail with a message"
"$X" "$F/model.bmc.pt" "$F/trained.bmcseg.pt" "$F/no-such-image.png" "liver" "$dir/x" > /dev/null 2> "$dir/err"
[ $? -eq 1 ] && grep -q "^segment: " "$dir/err" && pass || fail "a missing image does not fail with a message"

echo "segment_example: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
