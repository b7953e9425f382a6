#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The subsystems of lib/ depend one way (docs/architecture.md):
#   core <- image, text, index, captions <- model <- classify, retrieval, vqa, segment, probe
# Every quoted include in lib/ and shim/ is rooted at lib/ ("core/error.h") or is a shim header
# ("shim/shim.h"); this check fails on one that reaches a subsystem above or beside its own, on
# a relative include ("../"), and on a lib/ folder the table below does not know.
# Ends with "layers: N passed, N failed".
set -u
cd "$(dirname "$0")/.."

# What each folder may include besides itself and the public header. shim/ is the C face of
# libtorch: the model and the heads run their networks on it; it reads core's settings. It is
# also the C face of GDCM (shim/dicom.h), through which image decodes DICOM files: image may
# include that one header of the shim, not the libtorch ones.
declare -A allowed=(
    [core]=""
    [image]="core shim"
    [text]="core"
    [index]="core"
    [captions]="core"
    [model]="core image text index captions shim"
    [classify]="core image text index captions model"
    [retrieval]="core image text index captions model"
    [vqa]="core image text index captions model shim"
    [segment]="core image text index captions model shim"
    [probe]="core image text index captions model"
    [shim]="core"
)

passed=0
failed=0

# Prints the violations of one file, one per line.
violations_of() {
    local file=$1 own=$2
    local name target
    while IFS= read -r name; do
        case $name in
            biomedclip.h) continue ;;
            ../*|./*) echo "$file: relative include \"$name\""; continue ;;
            */*) target=${name%%/*} ;;
            *) echo "$file: include \"$name\" is not rooted at lib/ (write \"$own/$name\")"; continue ;;
        esac
        [ "$target" = "$own" ] && continue
        if [ "$own" = image ] && [ "$target" = shim ] && [ "$name" != shim/dicom.h ]; then
            echo "$file: image may include only the GDCM face of the shim (\"shim/dicom.h\"), not \"$name\""
            continue
        fi
        if [ -z "${allowed[$target]+x}" ]; then
            echo "$file: include \"$name\" names no subsystem"
        elif [[ " ${allowed[$own]} " != *" $target "* ]]; then
            echo "$file: $own must not include $target (\"$name\"): it runs against the dependency order"
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
}

check_folder() {
    local own=$1 dir=$2 report
    report=$(find "$dir" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) | sort |
             while read -r file; do violations_of "$file" "$own"; done)
    if [ -z "$report" ]; then
        passed=$((passed + 1))
    else
        echo "FAIL: $report"
        failed=$((failed + 1))
    fi
}

for dir in lib/*/; do
    own=$(basename "$dir")
    if [ -z "${allowed[$own]+x}" ]; then
        echo "FAIL: lib/$own is not in the dependency table of tests/check_layers.sh"
        failed=$((failed + 1))
        continue
    fi
    check_folder "$own" "$dir"
done
check_folder shim shim

# The check itself: an include against the order, a relative one and an unrooted one are caught.
probe=$(mktemp -d)
printf '#include "model/model.h"\n#include "../shim/shim.h"\n#include "error.h"\n' > "$probe/bad.c"
caught=$(violations_of "$probe/bad.c" image | wc -l)
rm -rf "$probe"
if [ "$caught" -eq 3 ]; then passed=$((passed + 1)); else
    echo "FAIL: the check caught $caught of 3 bad includes"; failed=$((failed + 1)); fi

# Basenames stay unique across lib/ (a file is named for what it holds, wherever it lives).
dupes=$(find lib -type f \( -name '*.c' -o -name '*.h' \) -printf '%f\n' | sort | uniq -d)
if [ -z "$dupes" ]; then passed=$((passed + 1)); else
    echo "FAIL: basenames used twice in lib/: $dupes"; failed=$((failed + 1)); fi

echo "layers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
