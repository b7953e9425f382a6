# SPDX-License-Identifier: MIT
"""Images: decoding against Pillow, numpy pixel views (types, layouts, strides), PNG writing."""
import io

import numpy as np
import pytest
from PIL import Image as PILImage

import biomedclip
from biomedclip.images import pixel_view


def pillow_rgb(path):
    with PILImage.open(path) as image:
        return np.array(image.convert("RGB"))


def test_open_matches_pillow(image_paths):
    for path in image_paths:
        with biomedclip.Image.open(path) as image, PILImage.open(path) as reference:
            assert image.size == reference.size
            assert image.mode == reference.mode
            assert np.array_equal(image.to_rgb8(), pillow_rgb(path))


def test_from_bytes_equals_open(image_paths):
    with open(image_paths[0], "rb") as f:
        data = f.read()
    with biomedclip.Image.from_bytes(data) as image:
        assert np.array_equal(image.to_rgb8(), pillow_rgb(image_paths[0]))


def test_decoding_errors_carry_status_and_message(tmp_path):
    with pytest.raises(biomedclip.IoError) as error:
        biomedclip.Image.open(tmp_path / "missing.png")
    assert error.value.status == 3 and "missing.png" in error.value.message
    with pytest.raises(biomedclip.UnsupportedError) as error:
        biomedclip.Image.from_bytes(b"GIF89a not a png")
    assert error.value.status == 5
    png = io.BytesIO()
    PILImage.new("RGB", (40, 30)).save(png, "PNG")
    with pytest.raises(biomedclip.CorruptDataError):
        biomedclip.Image.from_bytes(png.getvalue()[:60])
    assert isinstance(error.value, biomedclip.BiomedclipError)


def test_uint8_arrays_are_taken_as_they_are():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (17, 23), dtype=np.uint8)
    rgb = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (17, 23, 4), dtype=np.uint8)
    with biomedclip.Image.from_array(gray) as image:
        assert (image.mode, image.size) == ("L", (23, 17))
        assert np.array_equal(image.to_rgb8(), np.repeat(gray[:, :, None], 3, axis=2))
    with biomedclip.Image.from_array(rgb) as image:
        assert image.mode == "RGB" and np.array_equal(image.to_rgb8(), rgb)
    with biomedclip.Image.from_array(rgba) as image:
        # Pillow's RGBA -> RGB conversion drops alpha.
        assert image.mode == "RGBA"
        assert np.array_equal(image.to_rgb8(), np.array(PILImage.fromarray(rgba).convert("RGB")))


@pytest.mark.parametrize("make_view", [
    lambda a: a[::-1],             # negative row stride
    lambda a: a[3:15, 2:20],       # a window into a larger buffer: row stride > row
    lambda a: a[::2],              # every other row
    lambda a: a[::-2, 1:-1],       # both
])
def test_row_strides_are_read_in_place(make_view):
    base = np.random.default_rng(2).integers(0, 60000, (20, 24, 3), dtype=np.uint16)
    view = make_view(base)
    _, used = pixel_view(view)
    assert used is view, "a view with packed rows must not be copied"
    with biomedclip.Image.from_array(view) as strided, \
            biomedclip.Image.from_array(np.ascontiguousarray(view)) as packed:
        assert np.array_equal(strided.to_rgb8(), packed.to_rgb8())


@pytest.mark.parametrize("make_view", [
    lambda a: a[:, ::-1],                                   # reversed columns
    lambda a: a[:, ::2],                                    # strided columns
    lambda a: a[:, :, ::-1],                                # BGR -> RGB channel view
    lambda a: np.broadcast_to(a[:1], a.shape),              # stride 0 (broadcast rows)
    lambda a: np.asfortranarray(a),                         # column-major
    lambda a: a.astype(a.dtype.newbyteorder(">")),          # big-endian samples
])
def test_other_layouts_are_copied_correctly(make_view):
    base = np.random.default_rng(3).integers(-3000, 3000, (9, 11, 3), dtype=np.int16)
    view = make_view(base)
    assert view.dtype.kind == "i"
    _, used = pixel_view(view)
    assert used is not view
    with biomedclip.Image.from_array(view) as copied, \
            biomedclip.Image.from_array(np.ascontiguousarray(view, dtype=np.int16)) as packed:
        assert np.array_equal(copied.to_rgb8(), packed.to_rgb8())


def test_bad_arrays_are_refused():
    with pytest.raises(TypeError):
        biomedclip.Image.from_array(np.zeros((4, 4), np.float64))
    with pytest.raises(ValueError):
        biomedclip.Image.from_array(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError):
        biomedclip.Image.from_array(np.zeros(16, np.uint8))
    with pytest.raises(biomedclip.InvalidArgumentError) as error:
        biomedclip.Image.from_array(np.zeros((0, 4), np.uint8))
    assert error.value.status == 1
    with pytest.raises(biomedclip.InvalidArgumentError):
        biomedclip.Image.from_array(np.zeros((4, 4), np.uint16), window=(100, 0.5))


def stretch_reference(values: np.ndarray) -> np.ndarray:
    """The header's no-window rule, in float64: (v - min) * 255 / (max - min), halves up."""
    values = values.astype(np.float64)
    low, high = values.min(), values.max()
    return np.floor((values - low) * 255.0 / (high - low) + 0.5).astype(np.uint8)


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.float32])
def test_full_range_stretch(dtype):
    rng = np.random.default_rng(4)
    values = rng.integers(-2000 if dtype != np.uint16 else 0, 4000, (31, 29)).astype(dtype)
    with biomedclip.Image.from_array(values) as image:
        assert np.array_equal(image.to_rgb8()[:, :, 0], stretch_reference(values))


def test_monochrome1_inverts():
    values = np.random.default_rng(5).integers(0, 4096, (12, 10)).astype(np.uint16)
    with biomedclip.Image.from_array(values, window=(2048, 4096)) as normal, \
            biomedclip.Image.from_array(values, window=(2048, 4096), monochrome1=True) as inverted:
        assert np.array_equal(inverted.to_rgb8(), 255 - normal.to_rgb8())
    gray = values.astype(np.uint8)  # 8-bit: shown as stored, inverted for MONOCHROME1
    with biomedclip.Image.from_array(gray, monochrome1=True) as inverted:
        assert np.array_equal(inverted.to_rgb8()[:, :, 0], 255 - gray)


def test_write_png_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    for shape in [(13, 7), (13, 7, 3), (13, 7, 4)]:
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        path = tmp_path / ("out_%d.png" % len(shape))
        biomedclip.write_png(path, pixels[::-1])  # a strided view is packed first
        with PILImage.open(path) as written:
            assert np.array_equal(np.array(written), pixels[::-1])
    with pytest.raises(TypeError):
        biomedclip.write_png(tmp_path / "x.png", np.zeros((2, 2), np.uint16))
    with pytest.raises(biomedclip.IoError):
        biomedclip.write_png(tmp_path / "no" / "such" / "dir.png", np.zeros((2, 2), np.uint8))


def test_closed_image_refuses_use():
    image = biomedclip.Image.from_array(np.zeros((2, 2), np.uint8))
    image.close()
    image.close()  # twice is fine
    assert image.closed
    with pytest.raises(ValueError):
        image.to_rgb8()
    assert "closed" in repr(image)
