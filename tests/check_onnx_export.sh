#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ONNX export of the tiny test bundle against the eager reference, run by ONNX Runtime
# (tools/checks/check_onnx_export.py): the peer of `make bench` must compute what the library
# computes. Installs the runtime with `npm ci` when it is missing. Ends with
# "onnx_export: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
fixtures=${BMC_FIXTURES:-$BUILD/fixtures}
REF=tests/reference/onnxruntime
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ ! -d "$REF/node_modules/onnxruntime-node" ]; then
    (cd "$REF" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 || {
        cat "$work/npm.log"; echo "onnx_export: 0 passed, 1 failed"; exit 1; }
fi
exec "$PYTHON" -m tools.checks.check_onnx_export "$fixtures/model/model.bmc.pt" "$work/onnx"
