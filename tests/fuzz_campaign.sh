#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fuzz campaigns, outside `make check`: `make fuzz-campaign` runs each fuzz target (or those
# named in FUZZ_TARGETS) until its campaign has made FUZZ_RUNS executions (the bundle loader,
# whose single run loads a TorchScript archive, FUZZ_BUNDLE_RUNS), one after the other,
# optionally capped at FUZZ_SECONDS each run. A single allocation over 1 GiB is a finding
# (-malloc_limit_mb): the targets lower the image limits, so only a length read from the input
# and trusted can ask for that much. Corpora persist in $BUILD/fuzz-campaign/NAME/corpus, so a
# campaign run again goes on from where the last one stopped; what a target finds is written to
# $BUILD/fuzz-campaign/NAME/findings (crash-*, leak-*, timeout-*, oom-*) and its log beside it.
# Several runs of one target may share its corpus and ledger at once (one per core), each
# with its own FUZZ_JOB name, which names its log (log.NAME).
# A finding becomes a regression seed in tests/data/fuzz/NAME once it is fixed.
# A timeout or slow-unit report is kept as a finding only if the input is also slow when run
# alone afterwards (libFuzzer measures wall time; a starved campaign reports fast inputs).
# A campaign may be split over several runs (a 2-core machine cannot give one target 10 million
# executions of a slow parser in one sitting): each run appends a line to
# $BUILD/fuzz-campaign/NAME/ledger (date, executions, cov, ft, findings, exit status), and the
# total over the ledger is the campaign's, since every run goes on from the same corpus. A run
# makes only the executions still missing from the goal; a target that has reached it is skipped.
# The last lines give, per target, this run's executions, the ledger's total, libFuzzer's final
# coverage (cov: edges, ft: features) and the number of findings, then
# "fuzz-campaign: N passed, N failed".
set -u
BUILD=${BUILD:-build}
runs=${FUZZ_RUNS:-10000000}
bundle_runs=${FUZZ_BUNDLE_RUNS:-100000}
seconds=${FUZZ_SECONDS:-0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
targets=${FUZZ_TARGETS:-}
job=${FUZZ_JOB:-}
if [ -z "$targets" ]; then
    for fuzzer in "$BUILD"/fuzz/fuzz_*; do
        case $fuzzer in *.o) continue ;; esac
        [ -x "$fuzzer" ] && targets="$targets $(basename "$fuzzer")"
    done
fi
passed=0; failed=0; summary=
# Executions recorded in a target's ledger, 0 without one.
ledger_total() { [ -f "$1/ledger" ] && awk '{ n += $2 } END { print n + 0 }' "$1/ledger" || echo 0; }
for name in $targets; do
    name=fuzz_${name#fuzz_}
    fuzzer=$BUILD/fuzz/$name
    [ -x "$fuzzer" ] || { echo "no $fuzzer (make fuzzers)"; failed=$((failed + 1)); continue; }
    dir=$BUILD/fuzz-campaign/$name
    mkdir -p "$dir/corpus" "$dir/findings"
    seeds=tests/data/fuzz/${name#fuzz_}
    dirs=("$dir/corpus"); [ -d "$seeds" ] && dirs+=("$seeds")
    if [ "$name" = fuzz_dicom ]; then
        pydicom_files=$(${PYTHON:-/usr/bin/python3} -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files"))' 2>/dev/null)
        [ -d "$pydicom_files" ] && dirs+=("$pydicom_files")
    fi
    unwind=
    case $name in fuzz_dicom | fuzz_image) unwind=fast_unwind_on_malloc=0 ;; esac
    goal=$runs; [ "$name" = fuzz_bundle ] && goal=$bundle_runs
    done_before=$(ledger_total "$dir")
    n=$((goal - done_before))
    if [ "$n" -le 0 ]; then
        line=$(printf '%-16s goal of %d executions reached earlier (%d in its ledger)' "$name" "$goal" "$done_before")
        summary="$summary$line"$'\n'; echo "$line"; passed=$((passed + 1)); continue
    fi
    limit=(); [ "$seconds" -gt 0 ] && limit=(-max_total_time="$seconds")
    echo "$name: $n runs${limit:+, at most $seconds s}, log $dir/log${job:+.$job}"
    log=$dir/log${job:+.$job}
    start_mark=$dir/.run-start${job:+.$job}
    touch "$start_mark"
    asan=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+${unwind:+:}}$unwind
    ASAN_OPTIONS=$asan "$fuzzer" -runs="$n" "${limit[@]}" \
        -rss_limit_mb=4096 -malloc_limit_mb=1024 -timeout=20 -print_final_stats=1 -artifact_prefix="$dir/findings/" \
        "${dirs[@]}" >"$log" 2>&1
    rc=$?
    written=$(grep -c 'Test unit written to' "$log")
    # A timeout or slow unit counts only if the input is slow when run alone: libFuzzer measures
    # wall time, and a campaign at nice 19 beside other work can be starved for seconds (a
    # 120 ms input was reported at 22 s). Inputs that run fast alone go to findings/unreproduced.
    starved=0
    rerun_artifacts=$(mktemp -d)  # a rerun that is slow again writes its input once more: not kept
    while IFS= read -r unit; do
        [ -n "$unit" ] || continue
        if ASAN_OPTIONS=$asan "$fuzzer" -timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=1024 \
            -artifact_prefix="$rerun_artifacts/" "$unit" >>"$log" 2>&1; then
            mkdir -p "$dir/findings/unreproduced"
            mv "$unit" "$dir/findings/unreproduced/"
            echo "$(basename "$unit"): under 10 s when run alone, not a finding (moved to findings/unreproduced)" >>"$log"
            starved=$((starved + 1))
        fi
    done < <(find "$dir/findings" -maxdepth 1 -type f \( -name 'timeout-*' -o -name 'slow-unit-*' \) -newer "$start_mark")
    rm -rf "$rerun_artifacts"
    [ "$rc" -eq 70 ] && [ "$starved" -gt 0 ] && rc=0  # 70: libFuzzer stopped at the timeout
    final=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    # libFuzzer's final count, or, from a run stopped before it printed one, its last status line
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' <<<"$final" | tr -d '#')
    cov=$(grep -oE 'cov: [0-9]+' <<<"$final" | grep -oE '[0-9]+'); ft=$(grep -oE 'ft: [0-9]+' <<<"$final" | grep -oE '[0-9]+')
    # This run's own findings (two runs may share the folder), less the inputs found fast alone
    findings=$((written - starved))
    printf '%s %s %s %s %d %d\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${execs:-0}" "${cov:-?}" "${ft:-?}" \
        "$findings" "$rc" >>"$dir/ledger"
    total=$(ledger_total "$dir")
    run_count=$(wc -l <"$dir/ledger")
    line=$(printf '%-16s executions %10s  in all %11s (%d runs)  cov %6s  ft %7s  findings %d  exit %d' \
        "$name" "${execs:-?}" "$total" "$run_count" "${cov:-?}" "${ft:-?}" "$findings" "$rc")
    summary="$summary$line"$'\n'
    echo "$line"
    if [ "$rc" -eq 0 ] && [ "$findings" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); tail -n 40 "$log"; fi
done
printf '%s' "$summary"
echo "fuzz-campaign: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
