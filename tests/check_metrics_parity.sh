#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Caption metrics against nltk 3.8: examples/caption_eval scores the corpus that
# tools/fixtures/make_metrics_fixtures.py generated, and every corpus and per-candidate BLEU-1..4 (with
# each smoothing, 0 = none) and METEOR must match nltk's corpus_bleu / sentence_bleu /
# meteor_score to 1e-9. (nltk's Porter stemmer is compared word by word in test_metrics.)
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
fixtures=${BMC_FIXTURES:-$BUILD/fixtures}/metrics
eval_bin=$BUILD/examples/caption_eval
if [ ! -f "$fixtures/expected.tsv" ] || [ ! -x "$eval_bin" ]; then
    echo "FAIL: need $fixtures/expected.tsv (make fixtures) and $eval_bin"
    echo "metrics_parity: 0 passed, 1 failed"
    exit 1
fi
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
for s in 0 1 2 3 4; do
    if ! "$eval_bin" --exact --per-caption --smoothing "$s" "$fixtures/candidates.txt" \
        "$fixtures/references.txt" >"$out/smoothing-$s.txt" 2>"$out/err"; then
        cat "$out/err"
        echo "metrics_parity: 0 passed, 1 failed"
        exit 1
    fi
done
"$PYTHON" - "$fixtures/expected.tsv" "$out" <<'PY'
import sys

expected_path, out = sys.argv[1], sys.argv[2]
TOLERANCE = 1e-9


def read_run(path):
    """caption_eval --exact --per-caption output: corpus lines, then a TSV table."""
    corpus, columns, rows = {}, None, []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if columns is None and len(fields) == 1:
                name, value = line.split()
                corpus[name] = float(value)
            elif columns is None:
                columns = fields[1:]
            else:
                rows.append([float(v) for v in fields[1:]])
    per = {name: [row[i] for row in rows] for i, name in enumerate(columns)}
    return corpus, per


runs = {s: read_run(f"{out}/smoothing-{s}.txt") for s in range(5)}
passed = failed = 0
with open(expected_path) as f:
    for line in f:
        fields = line.rstrip("\n").split("\t")
        name, reference = fields[0], [float(v) for v in fields[1:]]
        metric, smoothing = (name.split("/smoothing-") + ["0"])[:2]
        corpus, per = runs[int(smoothing)]
        ours = [corpus[metric]] + per[metric]
        errors = [abs(a - b) for a, b in zip(ours, reference)]
        worst = max(errors)
        ok = len(ours) == len(reference) and worst <= TOLERANCE
        print(f"  {name:22s} corpus {corpus[metric]:.12f} (nltk {reference[0]:.12f}), "
              f"max |error| over corpus and {len(reference) - 1} captions: {worst:.2e}"
              + ("" if ok else "  FAIL"))
        passed += ok
        failed += not ok
print(f"metrics_parity: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
