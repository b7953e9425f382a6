#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Zero-shot classification of DICOM images with BiomedCLIP.

    dicom_classify.py MODEL [--labels "a,b,c"] [--window CENTER WIDTH] DICOM...

Each DICOM file is read with pydicom; its stored pixels go to the library as they are, with
the dataset's rescale slope/intercept and window (or --window) and MONOCHROME1 inversion, so
the library's display pipeline makes the 8-bit image a viewer would show. The image is then
embedded and classified against the labels (default: imaging modalities). pydicom's own test
files make a quick demo:

    python3 -c 'from pydicom.data import get_testdata_file as f; print(f("CT_small.dcm"))'
"""
import argparse
import sys
from typing import List, Sequence, Tuple

import pydicom
from pydicom.errors import InvalidDicomError

import biomedclip
from biomedclip.dicom import image_from_dataset

DEFAULT_LABELS = ["a CT scan", "an MRI scan", "a chest X-ray", "a histopathology slide"]
TEMPLATES = ["this is a photo of {}", "a medical image showing {}", "{}"]


def classify_files(model: biomedclip.Model, paths: Sequence[str], labels: Sequence[str],
                   window=None) -> List[Tuple[str, dict]]:
    """For every file: (path, result) with result's "embedding" (numpy float32 vector),
    "probabilities" (label -> probability, in label order) and "label" (the most probable)."""
    results = []
    with model.text_encoder() as text_encoder, model.image_encoder() as image_encoder, \
            biomedclip.Classifier(text_encoder, labels, TEMPLATES) as classifier:
        for path in paths:
            dataset = pydicom.dcmread(path)
            with image_from_dataset(dataset, window=window) as image:
                embedding = image_encoder.encode([image])[0]
            probabilities = classifier.probabilities(embedding)[0]
            ranked = dict(zip(classifier.labels, (float(p) for p in probabilities)))
            results.append((path, {"embedding": embedding, "probabilities": ranked,
                                   "label": max(ranked, key=ranked.get),
                                   "modality": str(dataset.get("Modality", "?"))}))
    return results


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model bundle (.bmc.pt)")
    parser.add_argument("dicom", nargs="+", help="DICOM files")
    parser.add_argument("--labels", help="comma-separated labels (default: modalities)")
    parser.add_argument("--window", nargs=2, type=float, metavar=("CENTER", "WIDTH"),
                        help="VOI window to use instead of the dataset's")
    args = parser.parse_args(argv)
    labels = [l.strip() for l in args.labels.split(",")] if args.labels else DEFAULT_LABELS
    try:
        with biomedclip.Model(args.model) as model:
            for path, result in classify_files(model, args.dicom, labels, args.window):
                print("%s (%s): %s" % (path, result["modality"], result["label"]))
                for label, probability in sorted(result["probabilities"].items(),
                                                 key=lambda item: -item[1]):
                    print("  %6.2f%%  %s" % (100 * probability, label))
    except (biomedclip.BiomedclipError, InvalidDicomError, OSError, ValueError) as error:
        print("dicom_classify: %s" % error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
