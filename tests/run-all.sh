#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test program (normal and sanitizer builds) and every tests/check_*.sh suite,
# then prints the total as the last line: "check: N passed, N failed".
# A step that exits non-zero without reporting a failure counts as one failure.
set -u
BUILD=${BUILD:-build}
export BMC_FIXTURES=${BMC_FIXTURES:-$BUILD/fixtures}
export BMC_TEST_DATA=${BMC_TEST_DATA:-tests/data}
export BUILD PYTHON=${PYTHON:-/usr/bin/python3}
# libtorch keeps some allocations alive until exit on purpose; they are not the library's.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

total_passed=0
total_failed=0

run_step() {
    local name=$1; shift
    local log
    log=$(mktemp)
    "$@" >"$log" 2>&1
    local rc=$?
    local summary
    summary=$(grep -E '^([A-Za-z0-9_./-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    local passed=0 failed=0
    if [ -n "$summary" ]; then
        passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+')
        failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+')
    fi
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    if [ "$failed" -ne 0 ]; then
        echo "---- $name (exit $rc) ----"
        tail -n 40 "$log"
    fi
    printf '  %-44s %5d passed, %3d failed\n' "$name" "$passed" "$failed"
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    rm -f "$log"
}

for t in "$BUILD"/tests/test_*; do
    case $t in *.o) continue ;; esac
    [ -x "$t" ] && run_step "${t#$BUILD/}" "$t"
done
for t in "$BUILD"/asan/tests/test_*; do
    case $t in *.o) continue ;; esac
    [ -x "$t" ] && run_step "${t#$BUILD/}" "$t"
done
for s in tests/check_*.sh; do
    [ -f "$s" ] && run_step "$s" bash "$s"
done

echo "check: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
