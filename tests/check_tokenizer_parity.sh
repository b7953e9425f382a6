#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Differential tests of the tokenizer against its references:
#   - every code point: the library's normalizer and character classes vs the Hugging Face
#     tokenizers (Rust, through its Node binding);
#   - the corpus (>= 20,000 lines from tools/fixtures/make_tokenizer_fixtures.py), cleaning off: ids vs
#     the Rust tokenizers, untruncated and truncated to 256; and vs the pure-JS port
#     @huggingface/tokenizers on every line where the two references agree (the JS port differs
#     from Rust on some characters; the library follows Rust, which open_clip runs);
#   - html.unescape cases vs Python's html.unescape, cleaning cases vs the Python reference, and
#     the two together (cleaning on) vs the Rust tokenizers on the Python-cleaned text.
# Installs the reference packages with `npm ci` when they are missing.
set -u
BUILD=${BUILD:-build}
FIXTURES=${BMC_FIXTURES:-$BUILD/fixtures}/tokenizer
TOOL=$BUILD/tools/tool_tokenizer
REF=tests/reference/tokenizer
VOCAB=tests/data/bert-base-uncased-vocab.txt
passed=0; failed=0
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

result() { # name, mismatching line numbers file, total lines
    local bad; bad=$(wc -l <"$2")
    if [ "$bad" -eq 0 ]; then
        passed=$((passed + 1)); echo "ok   $1: $3 lines, 0 mismatches"
    else
        failed=$((failed + 1)); echo "FAIL $1: $3 lines, $bad mismatches; first ones:"
        head -n 5 "$2"
    fi
}

# Line numbers where two files differ, with both lines.
differ() {
    awk -v name="$3" 'NR == FNR { want[FNR] = $0; next }
        want[FNR] != $0 { print "  line " FNR ": " name " [" want[FNR] "] vs [" $0 "]" }
        END { if (FNR != length(want)) print "  line counts differ" }' "$1" "$2"
}

if [ ! -x "$TOOL" ] || [ ! -f "$FIXTURES/corpus.txt" ]; then
    echo "missing $TOOL or $FIXTURES (run make check)"; echo "tokenizer_parity: 0 passed, 1 failed"; exit 1
fi
if [ ! -d "$REF/node_modules/tokenizers" ] || [ ! -d "$REF/node_modules/@huggingface/tokenizers" ]; then
    (cd "$REF" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 || {
        cat "$work/npm.log"; echo "tokenizer_parity: 0 passed, 1 failed"; exit 1; }
fi
node "$REF/reference.cjs" json "$VOCAB" "$work/tokenizer.json" || { echo "tokenizer_parity: 0 passed, 1 failed"; exit 1; }

# Every code point.
node "$REF/reference.cjs" probe >"$work/probe.ref"
"$TOOL" probe >"$work/probe.lib"
differ "$work/probe.ref" "$work/probe.lib" "U+" >"$work/bad"
result "per-code-point normalizer (Rust)" "$work/bad" "$(wc -l <"$work/probe.ref")"

# The corpus, untruncated and at 256.
corpus=$FIXTURES/corpus.txt
lines=$(wc -l <"$corpus")
node "$REF/reference.cjs" encode rust "$work/tokenizer.json" "$corpus" >"$work/rust.ids"
node "$REF/reference.cjs" encode js "$work/tokenizer.json" "$corpus" >"$work/js.ids"
"$TOOL" ids "$VOCAB" "$corpus" >"$work/lib.ids"
differ "$work/rust.ids" "$work/lib.ids" "rust vs lib" >"$work/bad"
result "corpus ids vs Rust tokenizers" "$work/bad" "$lines"
node "$REF/reference.cjs" encode rust "$work/tokenizer.json" "$corpus" 256 >"$work/rust256.ids"
"$TOOL" ids "$VOCAB" "$corpus" 256 >"$work/lib256.ids"
differ "$work/rust256.ids" "$work/lib256.ids" "rust vs lib" >"$work/bad"
result "corpus ids truncated to 256 vs Rust tokenizers" "$work/bad" "$lines"
paste -d '\t' "$work/rust.ids" "$work/js.ids" "$work/lib.ids" |
    awk -F'\t' '$1 == $2 && $2 != $3 { print "  line " NR ": js [" $2 "] vs lib [" $3 "]" }' >"$work/bad"
agree=$(paste -d '\t' "$work/rust.ids" "$work/js.ids" | awk -F'\t' '$1 == $2' | wc -l)
result "corpus ids vs @huggingface/tokenizers where it agrees with Rust" "$work/bad" "$agree"
echo "     (the JS port disagrees with the Rust tokenizers on $((lines - agree)) of $lines lines)"

# Cleaning.
"$TOOL" unescape "$FIXTURES/unescape.txt" >"$work/unescape.lib"
differ "$FIXTURES/unescape.expected.txt" "$work/unescape.lib" "python vs lib" >"$work/bad"
result "html.unescape vs Python" "$work/bad" "$(wc -l <"$FIXTURES/unescape.txt")"
"$TOOL" clean "$FIXTURES/clean.txt" >"$work/clean.lib"
differ "$FIXTURES/clean.expected.txt" "$work/clean.lib" "python vs lib" >"$work/bad"
result "open_clip cleaning vs the Python reference" "$work/bad" "$(wc -l <"$FIXTURES/clean.txt")"

# Cleaning and tokenizing together: the library with cleaning on vs the Rust tokenizers on the
# Python-cleaned text.
node "$REF/reference.cjs" encode rust "$work/tokenizer.json" "$FIXTURES/clean.expected.txt" 256 >"$work/clean.rust.ids"
"$TOOL" ids "$VOCAB" "$FIXTURES/clean.txt" 256 clean >"$work/clean.lib.ids"
differ "$work/clean.rust.ids" "$work/clean.lib.ids" "rust vs lib" >"$work/bad"
result "cleaning + ids vs Python cleaning + Rust tokenizers" "$work/bad" "$(wc -l <"$FIXTURES/clean.txt")"

echo "tokenizer_parity: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
