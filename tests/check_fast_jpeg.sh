#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The opt-in JPEG draft decode (fast_jpeg, bmc_image_load_file_draft, --fast-jpeg): pixels
# against Pillow's own draft('RGB', (224, 224)) at every scale, embeddings' cosine to the exact
# path on large JPEGs (tools/checks/fast_jpeg_check.py), and the CLI flag against the binding.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
F=${BMC_FIXTURES:-$BUILD/fixtures}
CLI=$BUILD/biomedclip
export BIOMEDCLIP_LIBRARY="$PWD/$BUILD/libbiomedclip.so" PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$PWD/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
MODEL=$F/model/model.bmc.pt
BIG=$F/image/images/big_4096x4096.jpg
if [ ! -x "$CLI" ] || [ ! -f "$MODEL" ] || [ ! -f "$BIG" ]; then
    echo "missing $CLI, $MODEL or $BIG (run make fixtures)"; echo "fast_jpeg: 0 passed, 1 failed"; exit 1
fi

"$PYTHON" -m tools.checks.fast_jpeg_check "$MODEL" "$F/image/images" "$work" | tee "$work/log"
passed=$(sed -n 's/^fast_jpeg: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$work/log")
failed=$(sed -n 's/^fast_jpeg: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$work/log")
passed=${passed:-0}; failed=${failed:-1}

# The CLI: --fast-jpeg gives the binding's fast_jpeg embeddings; without it, the exact ones.
pass() { passed=$((passed + 1)); echo "ok   $1"; }
flunk() { failed=$((failed + 1)); echo "FAIL $1"; }
images=("$BIG" "$F/image/images/jpeg_rgb_444.jpg" "$F/image/images/png_rgb8.png")
if "$CLI" embed-image --model "$MODEL" --fast-jpeg "${images[@]}" --out "$work/fast.npy" 2>"$work/err" &&
   "$CLI" embed-image --model "$MODEL" "${images[@]}" --out "$work/exact.npy" 2>>"$work/err"; then
    if "$PYTHON" - "$MODEL" "$work" "${images[@]}" <<'PY'
import sys
import numpy as np
import biomedclip
model_path, work, *images = sys.argv[1:]
model = biomedclip.Model(model_path)
fast = model.image_encoder(fast_jpeg=True).encode_files(images)
exact = model.image_encoder().encode_files(images)
ok = (np.array_equal(np.load(f"{work}/fast.npy"), fast) and np.array_equal(np.load(f"{work}/exact.npy"), exact)
      and not np.array_equal(fast[0], exact[0]))
sys.exit(0 if ok else 1)
PY
    then pass "embed-image --fast-jpeg equals the binding's fast_jpeg encode_files; without it, the exact path"
    else flunk "embed-image --fast-jpeg differs from the binding"; fi
else
    flunk "embed-image --fast-jpeg: $(head -n 3 "$work/err")"
fi
"$CLI" embed-text --model "$MODEL" --fast-jpeg --out "$work/t.npy" </dev/null >/dev/null 2>&1
[ $? -eq 2 ] && pass "embed-text refuses --fast-jpeg (usage error)" || flunk "embed-text accepted --fast-jpeg"

echo "fast_jpeg: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
