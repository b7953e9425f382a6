# SPDX-License-Identifier: MIT
"""Segmentation against the Python reference of tools/fixtures/make_segmentation_fixtures.py (Pillow +
the eager models): logits and probability maps within 1e-4, masks, overlays byte for byte."""
import os

import numpy as np
import pytest

import biomedclip
from conftest import FIXTURES

SEGMENTATION = os.path.join(FIXTURES, "segmentation")
STATUSES = {name: getattr(biomedclip._capi, name) for name in dir(biomedclip._capi)
            if name.startswith("BMC_ERR_")}


def path(*parts):
    full = os.path.join(SEGMENTATION, *parts)
    if not os.path.exists(full):
        pytest.fail("missing fixture %s (run `make fixtures`)" % full)
    return full


def manifest():
    info = {"decoder": {}, "image": {}, "prompt": [], "case": [], "broken": []}
    with open(path("manifest.txt"), encoding="utf-8") as f:
        for line in f:
            key, *values = line.split()
            if key == "decoder":
                info["decoder"][values[0]] = values[1]
            elif key == "image":
                info["image"][int(values[0])] = (values[1], int(values[2]), int(values[3]))
            elif key == "prompt":
                info["prompt"].append(" ".join(values[2:]))
            elif key in ("case", "broken"):
                info[key].append(values)
            elif key in ("size", "threshold"):
                info[key] = float(values[0])
    return info


@pytest.fixture(scope="module")
def base():
    with biomedclip.Model(path("model.bmc.pt")) as model:
        yield model


def test_logits_and_probabilities_match_the_reference(base):
    info = manifest()
    prompts = info["prompt"]
    size = int(info["size"])
    segmenters = {name: biomedclip.Segmenter(base, path(file))
                  for name, file in info["decoder"].items()}
    for name, index in info["case"]:
        file, width, height = info["image"][int(index)]
        segmenter = segmenters[name]
        assert segmenter.map_size == size
        with biomedclip.Image.open(path("images", file)) as image:
            logits = segmenter.logits(image, prompts)
            probabilities = segmenter.segment(image, prompts)
        ref_logits = np.fromfile(path("ref", "%s.%s.logits.f32" % (name, index)), np.float32)
        ref_probs = np.fromfile(path("ref", "%s.%s.prob.f32" % (name, index)), np.float32)
        assert logits.shape == (len(prompts), size, size)
        assert probabilities.shape == (len(prompts), height, width)
        # Relative: float32 sums in another order (oneDNN's products against libtorch's), on
        # logits that reach about 33 for the trained decoder.
        largest = max(1.0, float(np.abs(ref_logits).max()))
        assert np.abs(logits.ravel() - ref_logits).max() <= 1e-5 * largest, (name, index)
        assert np.abs(probabilities.ravel() - ref_probs).max() <= 1e-4, (name, index)
        masks = biomedclip.mask_threshold(probabilities, info["threshold"])
        ref_masks = np.where(ref_probs > info["threshold"], 255, 0).reshape(masks.shape)
        near = np.abs(ref_probs - info["threshold"]).reshape(masks.shape) <= 1e-4
        assert np.array_equal(masks[~near], ref_masks[~near])
    for segmenter in segmenters.values():
        segmenter.close()


def test_overlay_is_pillows(base):
    info = manifest()
    file, width, height = info["image"][0]
    probabilities = np.fromfile(path("ref", "trained.0.prob.f32"), np.float32)
    mask = biomedclip.mask_threshold(probabilities[: width * height].reshape(height, width),
                                     info["threshold"])
    with biomedclip.Image.open(path("images", file)) as image:
        overlay = biomedclip.mask_overlay(image, mask, (255, 64, 0), 0.45)
        with pytest.raises(biomedclip.InvalidArgumentError):
            biomedclip.mask_overlay(image, mask, (255, 64, 0), 1.5)
        with pytest.raises(biomedclip.InvalidArgumentError):
            biomedclip.mask_overlay(image, mask[:-1], (255, 64, 0), 0.5)
    expected = np.fromfile(path("ref", "overlay.u8"), np.uint8).reshape(height, width, 3)
    assert np.array_equal(overlay, expected)


def test_metadata_and_preprocessing(base):
    info = manifest()
    with biomedclip.Segmenter(base, path(info["decoder"]["trained_crop"])) as crop:
        assert crop.name and crop.source
        options = crop.preprocess_options()
        assert options.resize_mode == biomedclip.RESIZE_SHORTEST_CROP
        assert options.image_size == crop.map_size
    with biomedclip.Segmenter(base, path(info["decoder"]["trained"])) as squash:
        assert squash.preprocess_options().resize_mode == biomedclip.RESIZE_SQUASH


def test_broken_decoders_are_refused(base):
    for file, status in manifest()["broken"]:
        with pytest.raises(biomedclip.BiomedclipError) as error:
            biomedclip.Segmenter(base, path(file))
        assert error.value.status == STATUSES[status], file


def test_closing_the_model_closes_the_segmenter():
    info = manifest()
    model = biomedclip.Model(path("model.bmc.pt"))
    segmenter = biomedclip.Segmenter(model, path(info["decoder"]["trained"]))
    model.close()
    assert segmenter.closed
    with pytest.raises(ValueError):
        segmenter.map_size
