#!/usr/bin/env bash
# The Python model tools (reference model, checkpoint loader, bundle exporter, test models,
# model fixtures): tools/test_model_tools.py prints "model_tools: N passed, N failed".
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
exec "$PYTHON" "$(dirname "$0")/../tools/test_model_tools.py"
