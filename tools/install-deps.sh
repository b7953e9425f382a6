#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages libbiomedclip needs to build, test and run its demo.
# Run as root (or with sudo) on Debian 12 or later.
set -euo pipefail
packages=(
    build-essential pkg-config clang libclang-rt-14-dev  # compilers, sanitizer and fuzzer runtimes
    abigail-tools                                        # abidw/abidiff: the ABI check (tests/check_abi.sh)
    libtorch-dev libopenblas0-pthread                    # libtorch 1.13 (CPU) with an optimised BLAS
    libdnnl-dev                                          # oneDNN: linear layers packed at load (shim/)
    libpng-dev libturbojpeg0-dev libjpeg62-turbo-dev     # image decoding
    libdeflate-dev                                       # PNG image data inflated whole (lib/image/png_rows.c)
    libutf8proc-dev                                      # Unicode for the tokenizer
    libcjson-dev                                         # model bundle metadata (JSON)
    zlib1g-dev                                           # deflated archive entries and DICOM data sets
    libgdcm-dev                                          # DICOM decoding (shim/dicom.cpp)
    python3 python3-torch python3-numpy python3-pil      # tools/: reference model, exporter, fixtures
    python3-pytest python3-pydicom                       # Python binding tests, DICOM samples
    dcmtk                                                # DICOM references: dcmdjpeg/dcmdjpls decode JPEG, JPEG-LS
    cargo                                                # Rust binding tests (cargo test --offline)
    python3-nltk python3-faiss                           # caption metric references, index benchmark peer
    python3-sklearn                                      # linear probe reference (LogisticRegression)
    python3-dask python3-distributed                     # biomedclip.distributed (Dask scale-out) and its tests
    orthanc orthanc-dev                                  # the Orthanc plugin (bindings/orthanc) and its test
)
# The reference tokenizer for the differential tests runs on Node.js; keep an existing one.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"

# Debian's orthanc package enables its own service (HTTP 8042, DICOM 4242). The plugin's test
# runs an Orthanc of its own on a free port, and nothing here needs the system one: stop it and
# keep it from starting at boot, so that it never holds the ports or the plugins folder's files.
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now orthanc.service >/dev/null 2>&1 || systemctl disable orthanc.service || true
fi
if [ -x /etc/init.d/orthanc ]; then
    /etc/init.d/orthanc stop >/dev/null 2>&1 || true
    update-rc.d orthanc disable >/dev/null 2>&1 || true
fi

# ONNX Runtime (npm onnxruntime-node, CPU provider; its native library ships in the package):
# the check of the ONNX export and the peer of `make bench`. Its install script reaches the
# network for optional extras, which a closed machine refuses; the CPU provider needs none.
(cd "$(dirname "$0")/../tests/reference/onnxruntime" &&
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
