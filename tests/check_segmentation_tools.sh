#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Python segmentation tools (decoder, exporter, trainer pieces, reference pipeline):
# tools/checks/test_segmentation_tools.py prints "segmentation_tools: N passed, N failed".
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
cd "$(dirname "$0")/.." && exec "$PYTHON" -m tools.checks.test_segmentation_tools
