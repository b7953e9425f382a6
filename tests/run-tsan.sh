#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the ThreadSanitizer builds of the threaded tests (make tsan) and prints
# "tsan: N passed, N failed": a test passes when its own checks pass and ThreadSanitizer
# reported nothing. The reports are kept in $BUILD/tsan/reports/TEST.log.
# libtorch and the other libraries are not instrumented; tests/tsan.supp says what is
# suppressed in them and why (docs/threading-and-memory.md has the findings).
set -u
BUILD=${BUILD:-build}
TESTS=${TESTS:-$BUILD/tsan/tests/test_threads}
export BMC_FIXTURES=${BMC_FIXTURES:-$BUILD/fixtures}
export BMC_TEST_DATA=${BMC_TEST_DATA:-tests/data}
# Fewer stress calls than the normal build's 10,000: each runs many times slower here.
export BMC_THREAD_CALLS=${BMC_THREAD_CALLS:-1000}
# No thread pools inside the uninstrumented libraries: OpenBLAS's workers and OpenMP teams hand
# work over through spin-waits TSan cannot see, so it would report their fork and join as
# races (it did: OpenBLAS's sgemm_beta zeroing a libtorch buffer on a worker thread). With one
# thread each, a library call runs on the thread that makes it, and every thread TSan sees is
# the library's or the test's.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
reports=$BUILD/tsan/reports
mkdir -p "$reports"
passed=0; failed=0
for t in $TESTS; do
    name=$(basename "$t")
    log=$reports/$name.log
    rm -f "$log".*
    TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp history_size=4 second_deadlock_stack=1 log_path=$log exitcode=66" \
        "$t" > "$reports/$name.out" 2>&1
    rc=$?
    found=$(cat "$log".* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer' || true)
    summary=$(grep -E '^[A-Za-z0-9_]+: [0-9]+ passed, [0-9]+ failed' "$reports/$name.out" | tail -n 1)
    if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]; then
        passed=$((passed + 1))
        echo "  $name: ${summary:-no summary}; no ThreadSanitizer report"
    else
        failed=$((failed + 1))
        echo "  $name: exit $rc, ${summary:-no summary}; $found ThreadSanitizer reports (in $log.*)"
        tail -n 20 "$reports/$name.out"
        cat "$log".* 2>/dev/null | head -n 60
    fi
done
echo "tsan: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
