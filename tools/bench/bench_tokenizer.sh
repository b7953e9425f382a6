#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tokenizer throughput, single thread, same corpus and machine: libbiomedclip (cleaning on,
# context 256) against the Hugging Face tokenizers (Rust, Node binding) and the pure-JS port
# @huggingface/tokenizers (both without the cleaning step, which only open_clip's Python has).
# Prints sentences/s for each and the ratios.
set -eu
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
REF=tests/reference/tokenizer
VOCAB=tests/data/bert-base-uncased-vocab.txt
fixtures=$BUILD/fixtures/tokenizer
[ -f "$fixtures/corpus.txt" ] || "$PYTHON" -m tools.fixtures.make_tokenizer_fixtures "$fixtures" >/dev/null
[ -d "$REF/node_modules/tokenizers" ] || (cd "$REF" && npm ci --no-audit --no-fund --loglevel=error)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
node "$REF/reference.cjs" json "$VOCAB" "$work/tokenizer.json"
# The corpus as a whole (multilingual, random strings, long texts) and its captions alone.
grep -aE '^(a |Findings|This is|[A-Z][A-Za-z -]+ of a patient|[a-zA-Z -]+: )' "$fixtures/corpus.txt" | head -n 5000 >"$work/captions.txt"
for corpus in "$fixtures/corpus.txt" "$work/captions.txt"; do
    echo "tokenizer benchmark: $(wc -l <"$corpus") lines of $(basename "$corpus")"
    lib=$("$BUILD/tools/tool_tokenizer" bench "$VOCAB" "$corpus" | awk '{print $2}')
    rust=$(RAYON_NUM_THREADS=1 node "$REF/reference.cjs" bench rust "$work/tokenizer.json" "$corpus" | awk '{print $2}')
    js=$(node "$REF/reference.cjs" bench js "$work/tokenizer.json" "$corpus" | awk '{print $2}')
    printf '  %-40s %10s sentences/s\n' "libbiomedclip (C, with cleaning)" "$lib" \
        "tokenizers 0.23.2 (Rust via Node)" "$rust" "@huggingface/tokenizers 0.2.0 (JS)" "$js"
    awk -v l="$lib" -v r="$rust" -v j="$js" 'BEGIN { printf "  ratio: %.1fx the JS port, %.1fx the Rust tokenizers\n", l / j, l / r }'
done
