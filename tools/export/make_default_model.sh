#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Makes the default model bundle for the demo and the benchmarks: OUTDIR/model.bmc.pt.
#
#   BIOMEDCLIP_CHECKPOINT=open_clip_pytorch_model.bin BIOMEDCLIP_VOCAB=vocab.txt \
#       tools/export/make_default_model.sh OUTDIR
#
# With BIOMEDCLIP_CHECKPOINT set, the real BiomedCLIP checkpoint is converted (its vocab.txt
# from BIOMEDCLIP_VOCAB; see docs/converting-weights.md). Without it, the stand-in is made: the
# full-size architecture (ViT-B/16 + BERT-base) with seeded random weights, written as an
# open_clip checkpoint first and converted through the same exporter. OUTDIR/SOURCE remembers
# which, and a digest of the exporter's code, so the bundle is remade only when the choice or
# the exporter changes.
set -euo pipefail
out=${1:?usage: make_default_model.sh OUTDIR}
python=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"
if [ -n "${BIOMEDCLIP_CHECKPOINT:-}" ]; then
    vocab=${BIOMEDCLIP_VOCAB:?set BIOMEDCLIP_VOCAB to the vocab.txt of BiomedBERT (docs/converting-weights.md)}
    want="checkpoint $(realpath "$BIOMEDCLIP_CHECKPOINT")"
else
    want="stand-in full-size model, random seed 0"
fi
here=$(dirname "$0")
want="$want; exporter $(cat "$here"/*.py "$here"/../reference/*.py | sha256sum | cut -c1-16)"
if [ -f "$out/model.bmc.pt" ] && [ "$(cat "$out/SOURCE" 2>/dev/null)" = "$want" ]; then
    exit 0
fi
rm -f "$out/SOURCE"
if [ -n "${BIOMEDCLIP_CHECKPOINT:-}" ]; then
    echo "converting the BiomedCLIP checkpoint $BIOMEDCLIP_CHECKPOINT" >&2
    "$python" -m tools.export.export_bundle --checkpoint "$BIOMEDCLIP_CHECKPOINT" --vocab "$vocab" \
        --out "$out/model.bmc.pt" --name biomedclip
else
    echo "BIOMEDCLIP_CHECKPOINT is not set: making the stand-in model (real architecture," >&2
    echo "seeded random weights; its labels mean nothing, the pipeline is the real one)" >&2
    "$python" -m tools.export.make_test_models --size full --out "$out" --seed 0
    rm -f "$out/open_clip_pytorch_model.bin"
fi
echo "$want" > "$out/SOURCE"
