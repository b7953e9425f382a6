#!/usr/bin/env bash
# The Python segmentation tools (decoder, exporter, trainer pieces, reference pipeline):
# tools/test_segmentation_tools.py prints "segmentation_tools: N passed, N failed".
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
exec "$PYTHON" "$(dirname "$0")/../tools/test_segmentation_tools.py"
