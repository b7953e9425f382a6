#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Orthanc plugin (bindings/orthanc) inside Debian's real Orthanc, against the library called
# directly through the Python binding on the same files (tools/checks/orthanc_check.py: search,
# similar, classify, segment, ask; status codes; deletion; restart and catch-up; bad
# configurations). Orthanc runs on a free loopback port with a temporary configuration and is
# stopped, and its folders removed, whatever happens.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
FIXTURES=${BMC_FIXTURES:-$BUILD/fixtures}
# ORTHANC_PLUGIN: another build of the plugin, e.g. an installed one.
PLUGIN=${ORTHANC_PLUGIN:-$BUILD/orthanc/libOrthancBiomedClip.so}
export BIOMEDCLIP_LIBRARY="$PWD/$BUILD/libbiomedclip.so" PYTHONPATH="$PWD/bindings/python"
export PYTHONDONTWRITEBYTECODE=1

ORTHANC_BIN=${ORTHANC_BIN:-$(command -v Orthanc || echo /usr/sbin/Orthanc)}
export ORTHANC_BIN
if [ ! -x "$ORTHANC_BIN" ] || [ ! -f "$PLUGIN" ] ||
   [ ! -f "$FIXTURES/segmentation/trained.bmcseg.pt" ] || [ ! -f "$FIXTURES/vqa/fusion.vqa.pt" ] ||
   [ ! -f "$FIXTURES/dicom/manifest.txt" ]; then
    echo "missing Orthanc (tools/install-deps.sh), $PLUGIN (make, with orthanc-dev) or the fixtures"
    echo "orthanc: 0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d)
stop_orthanc() {
    # The check keeps the pid of the Orthanc it runs here, so that it is stopped even when the
    # check itself is killed.
    if [ -f "$work/orthanc.pid" ]; then
        local pid
        pid=$(cat "$work/orthanc.pid")
        kill "$pid" 2>/dev/null && for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap stop_orthanc EXIT
trap 'exit 130' INT TERM

"$PYTHON" -m tools.checks.orthanc_check --work "$work" --plugin "$PLUGIN" --fixtures "$FIXTURES"
