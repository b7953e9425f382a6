#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every fuzz target for a bounded time (BMC_FUZZ_SECONDS, default 5 each), starting from
# its seed corpus in tests/data/fuzz/NAME/ when there is one. A crash, leak or sanitizer report
# is a failure.
set -u
BUILD=${BUILD:-build}
# GDCM calls abandoned on one of its assertions lose what they allocated (shim/dicom.cpp).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
seconds=${BMC_FUZZ_SECONDS:-5}
passed=0; failed=0
for fuzzer in "$BUILD"/fuzz/fuzz_*; do
    case $fuzzer in *.o) continue ;; esac
    [ -x "$fuzzer" ] || continue
    name=$(basename "$fuzzer")
    corpus=$(mktemp -d)
    seeds=tests/data/fuzz/${name#fuzz_}
    dirs=("$corpus"); [ -d "$seeds" ] && dirs+=("$seeds")
    # The DICOM loader starts from pydicom's own test files (python3-pydicom), not copied here.
    if [ "$name" = fuzz_dicom ]; then
        pydicom_files=$(${PYTHON:-/usr/bin/python3} -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))' 2>/dev/null)
        [ -d "$pydicom_files" ] && dirs+=("$pydicom_files")
    fi
    # Leaks of abandoned GDCM calls are told apart by their stacks (tests/lsan.supp), which
    # must reach through libstdc++'s frames: unwind slowly in the targets that reach GDCM (the
    # image loader too: bytes without a PNG or JPEG signature are tried as DICOM).
    unwind=
    case $name in fuzz_dicom | fuzz_image) unwind=fast_unwind_on_malloc=0 ;; esac
    if ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+${unwind:+:}}$unwind "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$corpus/" "${dirs[@]}" >"$corpus.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); echo "FAIL: $name"; tail -n 60 "$corpus.log"
    fi
    rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
