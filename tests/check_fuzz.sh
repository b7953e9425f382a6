#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every fuzz target for a bounded time (BMC_FUZZ_SECONDS, default 20 each), starting from
# its seed corpus in tests/data/fuzz/NAME/ when there is one. A crash, leak or sanitizer report
# is a failure.
set -u
BUILD=${BUILD:-build}
seconds=${BMC_FUZZ_SECONDS:-20}
passed=0; failed=0
for fuzzer in "$BUILD"/fuzz/fuzz_*; do
    case $fuzzer in *.o) continue ;; esac
    [ -x "$fuzzer" ] || continue
    name=$(basename "$fuzzer")
    corpus=$(mktemp -d)
    seeds=tests/data/fuzz/${name#fuzz_}
    dirs=("$corpus"); [ -d "$seeds" ] && dirs+=("$seeds")
    if "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$corpus/" "${dirs[@]}" >"$corpus.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); echo "FAIL: $name"; tail -n 60 "$corpus.log"
    fi
    rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
