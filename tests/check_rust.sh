#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Rust crates' tests (bindings/rust: cargo test --offline, no crates from outside) against
# this build's shared library and fixtures. Ends with "rust: N passed, N failed", the sum of
# cargo's "test result" lines; a build failure or a missing cargo counts as a failure.
set -u
BUILD=${BUILD:-build}
root=$PWD
export BIOMEDCLIP_LIB_DIR="$root/$BUILD" BMC_BUILD="$root/$BUILD"
export LD_LIBRARY_PATH="$root/$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
BMC_FIXTURES=$(realpath "${BMC_FIXTURES:-$BUILD/fixtures}")
export BMC_FIXTURES
if ! command -v cargo >/dev/null 2>&1; then
    echo "FAIL: cargo not found (tools/install-deps.sh installs Debian's)"
    echo "rust: 0 passed, 1 failed"
    exit 1
fi
log=$(mktemp); trap 'rm -f "$log"' EXIT
(cd bindings/rust && cargo test --offline --quiet 2>&1) >"$log"
rc=$?
cat "$log"
sum() { grep -oE "[0-9]+ $1;" "$log" | awk '{ s += $1 } END { print s + 0 }'; }
passed=$(sum passed); passed=${passed:-0}
failed=$(sum failed); failed=${failed:-0}
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1
fi
echo "rust: $passed passed, $failed failed"
[ "$rc" -eq 0 ]
