#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Parity of the full-size model (ViT-B/16 + BERT-base stand-in with seeded random weights)
# against the eager PyTorch reference: the model test program on full-size fixtures, where every
# embedding must reach cosine >= 0.99999. Making the fixtures takes about a minute the first
# time; they are kept in $BUILD/fixtures/model-full.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
fixtures=$BUILD/fixtures/model-full
# Remade when their generator or the model and export code it imports changed.
stale() {
    local f
    for f in tools/fixtures/make_model_fixtures.py tools/reference/*.py tools/export/*.py; do
        [ "$f" -nt "$fixtures/.done" ] && return 0
    done
    return 1
}
if [ ! -f "$fixtures/.done" ] || stale; then
    rm -rf "$fixtures"
    "$PYTHON" -m tools.fixtures.make_model_fixtures --size full "$fixtures" || { echo "full_model: 0 passed, 1 failed"; exit 1; }
    touch "$fixtures/.done"
fi
BMC_MODEL_FIXTURES=$fixtures "$BUILD/tests/test_model"
