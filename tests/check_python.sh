#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Python binding's pytest suite (bindings/python/tests) on this build's library, with the
# model, image and index fixtures. Ends with "python: N passed, N failed" from pytest's counts;
# a run that fails without failed tests (exit 5: nothing collected, a crash) counts as a failure.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
export BUILD BIOMEDCLIP_LIBRARY="$PWD/$BUILD/libbiomedclip.so" PYTHONDONTWRITEBYTECODE=1
BMC_FIXTURES=$(realpath "${BMC_FIXTURES:-$BUILD/fixtures}")
export BMC_FIXTURES
log=$(mktemp); trap 'rm -f "$log"' EXIT

"$PYTHON" -m pytest -p no:cacheprovider -q -rfE bindings/python/tests >"$log" 2>&1
rc=$?
cat "$log"
count() { grep -oE "[0-9]+ $1" <<<"$summary" | grep -oE '^[0-9]+' || echo 0; }
summary=$(tail -n 1 "$log")
passed=$(count passed)
failed=$(( $(count failed) + $(count errors?) ))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1
fi
echo "python: $passed passed, $failed failed"
[ "$rc" -eq 0 ]
