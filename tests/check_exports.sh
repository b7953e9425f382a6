#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The shared library exports only bmc_* symbols, and every function the header declares.
set -u
BUILD=${BUILD:-build}
lib="$BUILD/libbiomedclip.so"
passed=0; failed=0
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
unexpected=$(grep -v '^bmc_' <<<"$exported" | grep -vE '^(_init|_fini|_edata|_end|__bss_start)$' || true)
if [ -z "$unexpected" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: unexpected exports:"; echo "$unexpected" | head -20; fi
declared=$(grep -oE 'BMC_API [^;]*\bbmc_[a-z0-9_]+\(' include/biomedclip.h | grep -oE 'bmc_[a-z0-9_]+\($' | tr -d '(' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
if [ -z "$missing" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: declared but not exported:"; echo "$missing"; fi
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
if [ "$soname" = "libbiomedclip.so.0" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: soname is '$soname'"; fi
echo "exports: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
