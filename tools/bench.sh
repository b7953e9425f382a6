#!/usr/bin/env bash
# `make bench`: every benchmark against its reference peer, run in turn (BUILD and PYTHON set).
set -eu
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
bash tools/bench_tokenizer.sh
tools/make_default_model.sh "$BUILD/models/default"
"$PYTHON" tools/bench_model.py "$BUILD" "$BUILD/models/default/model.bmc.pt"
BUILD="$BUILD" "$PYTHON" tools/bench_index.py
[ -f "$BUILD/fixtures/image/manifest.txt" ] || "$PYTHON" tools/make_image_fixtures.py "$BUILD/fixtures/image"
"$PYTHON" tools/bench_preprocess.py "$BUILD"
