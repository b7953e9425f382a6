# SPDX-License-Identifier: MIT
"""Preprocessing against Pillow and against the tensors the reference made (image_pixels.f32)."""
import numpy as np
import pytest
from PIL import Image as PILImage

import biomedclip
from conftest import fixture_path


def pillow_crop(path, size):
    """open_clip's Resize(size, BICUBIC) + CenterCrop(size) + convert('RGB'), in Pillow."""
    with PILImage.open(path) as image:
        width, height = image.size
        short, long = min(width, height), max(width, height)
        if short != size:
            scaled = int(size * long / short)
            image = image.resize((size, scaled) if width <= height else (scaled, size),
                                 PILImage.BICUBIC)
        width, height = image.size
        top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
        return np.array(image.crop((left, top, left + size, top + size)).convert("RGB"))


@pytest.mark.parametrize("size", [224, 96, 300])
def test_rgb8_is_pillow_exact(image_paths, size):
    options = biomedclip.PreprocessOptions(image_size=size)
    for path in image_paths:
        with biomedclip.Image.open(path) as image:
            assert np.array_equal(biomedclip.preprocess_rgb8(image, options),
                                  pillow_crop(path, size)), path


def test_squash_is_pillow_exact(image_paths):
    options = biomedclip.PreprocessOptions(image_size=64, resize_mode=biomedclip.RESIZE_SQUASH)
    for path in image_paths:
        with biomedclip.Image.open(path) as image, PILImage.open(path) as reference:
            expected = np.array(reference.resize((64, 64), PILImage.BICUBIC).convert("RGB"))
            assert np.array_equal(biomedclip.preprocess_rgb8(image, options), expected), path


def test_tensor_matches_reference_pixels(model, image_paths):
    reference = np.fromfile(fixture_path("image_pixels.f32"), np.float32)
    options = model.preprocess_options()
    reference = reference.reshape(len(image_paths), 3, options.image_size, options.image_size)
    for path, expected in zip(image_paths, reference):
        with biomedclip.Image.open(path) as image:
            tensor = biomedclip.preprocess(image, options)
        assert tensor.shape == expected.shape and tensor.dtype == np.float32
        assert np.abs(tensor - expected).max() <= 1e-6, path


def test_defaults_are_open_clips():
    options = biomedclip.PreprocessOptions()
    assert options.image_size == 224 and options.resize_mode == biomedclip.RESIZE_SHORTEST_CROP
    assert options.filter == biomedclip.FILTER_BICUBIC
    assert np.allclose(options.mean, (0.48145466, 0.4578275, 0.40821073))
    assert np.allclose(options.std, (0.26862954, 0.26130258, 0.27577711))


def test_bad_options_raise(image_paths):
    with biomedclip.Image.open(image_paths[0]) as image:
        for options in (biomedclip.PreprocessOptions(image_size=0),
                        biomedclip.PreprocessOptions(image_size=100000),
                        biomedclip.PreprocessOptions(resize_mode=99)):
            with pytest.raises(biomedclip.InvalidArgumentError):
                biomedclip.preprocess(image, options)
