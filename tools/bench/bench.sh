#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: every benchmark against its reference peer, run in turn (BUILD and PYTHON set).
set -eu
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
bash tools/bench/bench_tokenizer.sh
tools/export/make_default_model.sh "$BUILD/models/default"
"$PYTHON" -m tools.bench.bench_model "$BUILD" "$BUILD/models/default/model.bmc.pt"
BUILD="$BUILD" "$PYTHON" -m tools.bench.bench_index
[ -f "$BUILD/fixtures/image/manifest.txt" ] || "$PYTHON" -m tools.fixtures.make_image_fixtures "$BUILD/fixtures/image"
"$PYTHON" -m tools.bench.bench_preprocess "$BUILD"
"$PYTHON" -m tools.bench.bench_orthanc "$BUILD" "$BUILD/models/default/model.bmc.pt"
