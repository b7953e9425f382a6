#!/usr/bin/env bash
# The Python VQA tools (text rules, heads and their exporter, the training tool and its command
# line): tools/test_vqa_tools.py prints "vqa_tools: N passed, N failed".
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
exec "$PYTHON" "$(dirname "$0")/../tools/test_vqa_tools.py"
