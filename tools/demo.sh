#!/usr/bin/env bash
# The demo behind `make demo`: runs the example programs on the sample images.
set -euo pipefail
BUILD=${BUILD:-build}
for image in tests/data/samples/*; do
    [ -f "$image" ] || continue
    "$BUILD/examples/preprocess" "$image"
done
