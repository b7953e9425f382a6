#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Python VQA tools (text rules, heads and their exporter, the training tool and its command
# line): tools/checks/test_vqa_tools.py prints "vqa_tools: N passed, N failed".
set -u
PYTHON=${PYTHON:-/usr/bin/python3}
cd "$(dirname "$0")/.." && exec "$PYTHON" -m tools.checks.test_vqa_tools
