#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Python model tools (reference model, checkpoint loader, bundle exporter, test models,
# model fixtures): tools/checks/test_model_tools.py prints "model_tools: N passed, N failed".
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
cd "$(dirname "$0")/.." && exec "$PYTHON" -m tools.checks.test_model_tools
