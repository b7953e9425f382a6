#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo behind `make demo`: makes the default model (the real BiomedCLIP checkpoint when
# BIOMEDCLIP_CHECKPOINT points at one, else the full-size stand-in) and runs the example
# programs on the sample images: real CT and MR slices from pydicom's DICOM test files
# rendered through the library's own DICOM display pipeline, plus the committed samples.
set -euo pipefail
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
model_dir=$BUILD/models/default
samples=$BUILD/samples

tools/export/make_default_model.sh "$model_dir"
model=$model_dir/model.bmc.pt
mkdir -p "$samples"
if [ -f tools/fixtures/render_dicom_samples.py ]; then
    BIOMEDCLIP_LIBRARY=$BUILD/libbiomedclip.so "$PYTHON" -m tools.fixtures.render_dicom_samples "$samples"
fi
images=("$samples"/*.png tests/data/samples/*)

echo
echo "== preprocessing (open_clip's transform, Pillow-exact) =="
for image in "${images[@]}"; do
    "$BUILD/examples/preprocess" "$image"
done

echo
echo "== zero-shot classification =="
case $(cat "$model_dir/SOURCE") in
    checkpoint*) echo "model: the BiomedCLIP checkpoint ($(cat "$model_dir/SOURCE"))" ;;
    *) echo "model: STAND-IN with random weights (set BIOMEDCLIP_CHECKPOINT for the real one);"
       echo "       the ranking below exercises the real pipeline but means nothing medically" ;;
esac
"$BUILD/examples/classify" --templates generic "$model" \
    "chest X-ray,brain MRI,abdominal CT,histopathology slide,knee radiograph" "${images[@]}"

echo
echo "== multi-label findings (CheXzero-style, built-in template set chest-xray) =="
# Each finding gets its own probability from its pair of prompts ("a chest X-ray showing {}." /
# "a chest X-ray showing no {}.", ...), independent of the other findings.
"$BUILD/biomedclip" classify --model "$model" --multi-label --templates chest-xray \
    --labels "pleural effusion,pneumothorax,cardiomegaly,pulmonary nodule" tests/data/samples/xray_like_gray8.png

echo
echo "== captioning by retrieval (caption bank: tests/data/captions.txt) =="
"$BUILD/examples/caption" "$model" tests/data/captions.txt "$samples"/*.png

echo
echo "== text-to-image search over $samples =="
"$BUILD/examples/search" "$model" "$samples" "an axial CT slice of the abdomen" "a brain MRI"

echo
echo "== visual question answering (zero-shot: each answer's statement scored against the image) =="
# A head trained on the synthetic set (tools/train/train_vqa.py) is not used here: on the full-size
# model its features alone take minutes on a CPU (the image tower is ~0.6 s per image).
"$BUILD/examples/vqa" "$model" "${images[0]}" "Is there a fracture?"
"$BUILD/examples/vqa" "$model" "${images[0]}" "Which imaging modality is this?" \
    --answers "CT,MRI,X-ray,ultrasound"

echo
echo "== text-prompted segmentation (tiny stand-in model, decoder trained on synthetic scans) =="
# The decoder is the segmentation fixtures' one (tools/train/train_segmentation.py on the tiny model;
# about 30 s of CPU the first time, reused by make check): the full-size stand-in has no trained
# decoder, and one for the real BiomedCLIP is trained on real scans (docs/segmentation.md).
seg=$BUILD/fixtures/segmentation
if [ ! -f "$seg/.done" ]; then
    mkdir -p "$seg"
    "$PYTHON" -m tools.fixtures.make_segmentation_fixtures "$seg" >/dev/null
    touch "$seg/.done"
fi
for organ in liver kidney lesion; do
    "$BUILD/examples/segment" "$seg/model.bmc.pt" "$seg/trained.bmcseg.pt" "$seg/images/scan0.png" \
        "Segment the $organ in the abdomen in the CT image" "$samples/segment_$organ"
done
