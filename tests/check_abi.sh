#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The built library's ABI against the one recorded in tests/data/abi/libbiomedclip.abi
# (abidw from abigail-tools; `make abi` refreshes it). Additions are compatible: new functions,
# and members added at the end of a public struct (the option structs start with struct_size
# and only grow at the end, tests/data/abi/suppressions.abignore). Anything else (a function
# removed or its signature or a type it reaches changed) fails, unless the soname's major
# version changed as well, which is how a deliberate break is released.
#
# The verdict is then tried on libraries changed on purpose, beside an unchanged one: a
# function added (compatible), a struct member added at the end (compatible), a function
# removed (incompatible), a member inserted in the middle of a struct (incompatible), and that
# break again with a new soname major (accepted).
set -u
BUILD=${BUILD:-build}
baseline=tests/data/abi/libbiomedclip.abi
suppressions=tests/data/abi/suppressions.abignore
passed=0; failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! command -v abidw >/dev/null || ! command -v abidiff >/dev/null; then
    fail "abidw/abidiff not found: install abigail-tools (tools/install-deps.sh)"
    echo "abi: $passed passed, $failed failed"; exit 1
fi

# abi_verdict OLD NEW [HEADERS_OLD] HEADERS_NEW: exit 0 when NEW (a library) may replace OLD
# (a library, or abidw's record of one), 1 when not, 2 when abidiff itself failed; prints the
# reason, and leaves abidiff's report in $tmp/report. Only what the exported functions reach
# counts (the shim's C++ types are no part of the ABI); the headers folders say which types are
# public (a record has only those already).
abi_verdict() {
    local old=$1 new=$2 hd1=$3 hd2=$4 old_soname new_soname
    old_soname=$(soname_of "$old"); new_soname=$(soname_of "$new")
    if [ -z "$old_soname" ] || [ -z "$new_soname" ]; then
        echo "no soname in $old or $new"; return 2
    fi
    if [ "${old_soname##*.so.}" != "${new_soname##*.so.}" ]; then
        echo "soname major changed ($old_soname -> $new_soname): any change is allowed (refresh the record with make abi)"
        return 0
    fi
    abidiff --suppressions "$suppressions" --exported-interfaces-only ${hd1:+--hd1 "$hd1"} --hd2 "$hd2" \
        --drop-private-types --no-show-locs "$old" "$new" >"$tmp/report" 2>&1
    local rc=$?
    if [ $((rc & 3)) -ne 0 ]; then
        echo "abidiff failed (exit $rc)"; cat "$tmp/report"; return 2
    fi
    # Count what the summaries list as removed or changed (what they filtered out does not count).
    local bad
    bad=$(grep -E 'changes summary:' "$tmp/report" | sed -E 's/\([^)]*\)//g' |
        grep -oE '[0-9]+ (Removed|Changed)' | awk '{s += $1} END {print s + 0}')
    if [ $((rc & 8)) -ne 0 ] || [ "$bad" -ne 0 ]; then
        echo "incompatible: $bad removed or changed (abidiff exit $rc)"; return 1
    fi
    echo "compatible (abidiff exit $rc)"
    return 0
}

soname_of() {
    case $1 in
    *.abi) grep -oE "soname='[^']*'" "$1" | head -n 1 | cut -d"'" -f2 ;;
    *) objdump -p "$1" 2>/dev/null | awk '$1 == "SONAME" {print $2}' ;;
    esac
}

# 1. The build against the record.
lib=$(ls "$BUILD"/libbiomedclip.so.*.*.* 2>/dev/null | head -n 1)
if [ -z "$lib" ] || [ ! -f "$baseline" ]; then
    fail "no built library in $BUILD or no record at $baseline"
else
    verdict=$(abi_verdict "$baseline" "$lib" "" include); rc=$?
    echo "record vs build: $verdict"
    if [ $rc -eq 0 ]; then pass; else fail "the build's ABI is not compatible with $baseline:"; sed -n 1,80p "$tmp/report"; fi
fi

# 2. The verdict on libraries broken on purpose: lib/core (versions, statuses, the runtime
# configuration) compiled against the header as it is and against edited copies of it, and
# linked on its own (the rest of the library's symbols stay undefined, which a shared library
# may). Every object of a variant sees the same header: abidiff, like the linker, takes one
# definition of a type by name.
CFLAGS_LIB="-std=c11 -O2 -g -fPIC -fvisibility=hidden -DBMC_BUILDING_LIBRARY -D_GNU_SOURCE -Ilib -I. $(pkg-config --cflags libutf8proc libcjson 2>/dev/null)"

# compile_core NAME [SED_SCRIPT]: lib/core/*.c into $tmp/NAME/, against the header edited by
# SED_SCRIPT (which must change it).
compile_core() {
    local name=$1 script=${2:-}
    mkdir -p "$tmp/$name/include"
    sed -E "$script" include/biomedclip.h >"$tmp/$name/include/biomedclip.h"
    if [ -n "$script" ] && cmp -s include/biomedclip.h "$tmp/$name/include/biomedclip.h"; then
        echo "the edit '$script' changed nothing in the header"; return 1
    fi
    local c
    for c in lib/core/*.c; do
        # shellcheck disable=SC2086
        # (an edited header may draw warnings from positional initialisers: expected here)
        cc $CFLAGS_LIB -I"$tmp/$name/include" -c "$c" -o "$tmp/$name/$(basename "$c" .c).o" \
            2>>"$tmp/$name.cc" || { cat "$tmp/$name.cc"; return 1; }
    done
}

# relink NAME OBJECTS_OF SONAME_MAJOR VERSION_SCRIPT [EXTRA_OBJECT]
relink() {
    local name=$1 from=$2 major=$3 map=$4 extra=${5:-}
    cc -shared -Wl,-soname,libbiomedclip.so.$major -Wl,--version-script="$map" -o "$tmp/$name.so" \
        "$tmp/$from"/*.o $extra 2>"$tmp/$name.link" || { cat "$tmp/$name.link"; return 1; }
}

try_variant() {
    local what=$1 expect=$2 name=$3
    local verdict rc
    local headers=$tmp/$name/include
    [ -d "$headers" ] || headers=$tmp/original/include
    verdict=$(abi_verdict "$tmp/base.so" "$tmp/$name.so" "$tmp/original/include" "$headers"); rc=$?
    echo "$what: $verdict"
    if [ "$expect" = compatible ] && [ $rc -eq 0 ]; then pass
    elif [ "$expect" = incompatible ] && [ $rc -eq 1 ]; then pass
    else fail "$what: expected $expect"; sed -n 1,40p "$tmp/report"; fi
}

printf '{ global: bmc_*; local: bmc_version_string; *; };\n' >"$tmp/removed.map"
printf '__attribute__((visibility("default"))) int bmc_abi_check_added(int x) { return x + 1; }\n' >"$tmp/added.c"
if compile_core original && relink base original 0 lib/exports.map && relink same original 0 lib/exports.map &&
    cc -std=c11 -O2 -g -fPIC -c "$tmp/added.c" -o "$tmp/added.o" &&
    relink added original 0 lib/exports.map "$tmp/added.o" &&
    relink removed original 0 "$tmp/removed.map" &&
    compile_core grown 's/^(\s*int64_t max_image_pixels;.*)$/\1\n    int64_t added_at_the_end;/' &&
    relink grown grown 0 lib/exports.map &&
    compile_core inserted 's/^(\s*bmc_log_fn log_fn;)/    int64_t inserted_in_the_middle;\n\1/' &&
    relink inserted inserted 0 lib/exports.map && relink inserted_major inserted 1 lib/exports.map; then
    try_variant "an unchanged relink" compatible same
    try_variant "a function added" compatible added
    try_variant "a member added at the end of bmc_runtime_config" compatible grown
    # ... which abidiff does see, and lets through only by the suppression
    abidiff --exported-interfaces-only --hd1 "$tmp/original/include" --hd2 "$tmp/grown/include" --drop-private-types \
        "$tmp/base.so" "$tmp/grown.so" >"$tmp/report" 2>&1
    rc=$?
    if [ $((rc & 4)) -ne 0 ] && grep -q added_at_the_end "$tmp/report"; then pass
    else fail "abidiff without the suppressions did not report the member added at the end (exit $rc)"; fi
    try_variant "bmc_version_string removed" incompatible removed
    try_variant "a member inserted in the middle of bmc_runtime_config" incompatible inserted
    try_variant "that insertion with soname major 1" compatible inserted_major
else
    fail "could not build the deliberately changed libraries"
fi

echo "abi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
