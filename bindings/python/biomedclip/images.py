# SPDX-License-Identifier: MIT
"""Images: PNG/JPEG decoding, numpy pixel views with the DICOM display pipeline, PNG writing."""
import ctypes
from typing import Optional, Tuple

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import PathLike, fspath, pointer
from .errors import check

#: Pillow's names of the image modes (bmc_image_info's BMC_IMAGE_MODE_*).
MODE_NAMES = {
    _capi.BMC_IMAGE_MODE_1: "1", _capi.BMC_IMAGE_MODE_L: "L", _capi.BMC_IMAGE_MODE_LA: "LA",
    _capi.BMC_IMAGE_MODE_P: "P", _capi.BMC_IMAGE_MODE_RGB: "RGB",
    _capi.BMC_IMAGE_MODE_RGBA: "RGBA", _capi.BMC_IMAGE_MODE_CMYK: "CMYK",
    _capi.BMC_IMAGE_MODE_I: "I",
}

_SAMPLE_TYPES = {
    np.dtype(np.uint8): _capi.BMC_SAMPLE_U8, np.dtype(np.uint16): _capi.BMC_SAMPLE_U16,
    np.dtype(np.int16): _capi.BMC_SAMPLE_S16, np.dtype(np.float32): _capi.BMC_SAMPLE_F32,
}


def _viewable(array: np.ndarray) -> np.ndarray:
    """`array` itself when the library can read it in place, else a packed copy.

    The C view needs the samples of one row contiguous (channels interleaved, then pixels),
    and rows a fixed number of bytes apart: any positive or negative distance of at least a
    row. A stride of 0 (broadcast rows), overlapping rows, reversed or strided columns and
    foreign byte order are copied.
    """
    array = array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))
    item = array.itemsize
    channels = array.shape[2] if array.ndim == 3 else 1
    row_bytes = array.shape[1] * channels * item
    packed_row = array.strides[1] == channels * item and (array.ndim == 2 or array.strides[2] == item)
    if packed_row and abs(array.strides[0]) >= row_bytes:
        return array
    return np.ascontiguousarray(array)


def pixel_view(array, rescale: Optional[Tuple[float, float]] = None,
               window: Optional[Tuple[float, float]] = None, monochrome1: bool = False):
    """The bmc_pixels view of a numpy array and the array it points into (keep both alive).

    Exposed for tests and advanced use; Image.from_array() is the usual way in.
    """
    array = np.asarray(array)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ValueError("pixels must be a 2-D array (H, W) or 3-D (H, W, C) with C 1, 3 or 4; "
                         "got shape %s" % (array.shape,))
    if array.dtype.newbyteorder("=") not in _SAMPLE_TYPES:
        raise TypeError("pixel type %s is not one of uint8, uint16, int16, float32; convert "
                        "it first, e.g. array.astype(numpy.float32)" % array.dtype)
    array = _viewable(array)
    view = _capi.bmc_pixels()
    _capi.bmc_pixels_init(ctypes.byref(view))
    view.data = array.ctypes.data
    view.height, view.width = array.shape[0], array.shape[1]
    view.channels = array.shape[2] if array.ndim == 3 else 1
    view.sample_type = _SAMPLE_TYPES[array.dtype]
    view.row_stride = array.strides[0]
    if rescale is not None:
        view.has_rescale = 1
        view.rescale_slope, view.rescale_intercept = (float(v) for v in rescale)
    if window is not None:
        view.has_window = 1
        view.window_center, view.window_width = (float(v) for v in window)
    view.monochrome1 = 1 if monochrome1 else 0
    return view, array


class Image(Handle):
    """A decoded image, kept in the pixel layout Pillow would open it in (its mode).

    Make one with Image.open(), Image.from_bytes() or Image.from_array(). Immutable: any
    number of threads may use one image at once.
    """

    def __init__(self, _pointer=None):
        if _pointer is None:
            raise TypeError("use Image.open(), Image.from_bytes() or Image.from_array()")
        self._own(_pointer, _capi.bmc_image_free)

    @classmethod
    def open(cls, path: PathLike, draft: Optional[int] = None) -> "Image":
        """Decodes a PNG, JPEG or DICOM file (bmc_image_load_file; DICOM: frame 0, its own
        window). With `draft` (a size, e.g. the
        model's 224), a large JPEG is decoded at 1/2, 1/4 or 1/8 scale like Pillow's
        Image.draft('RGB', (draft, draft)): faster, not bit-exact (bmc_image_load_file_draft)."""
        out = ctypes.POINTER(_capi.bmc_image)()
        if draft is None:
            check(_capi.bmc_image_load_file(fspath(path), ctypes.byref(out)))
        else:
            check(_capi.bmc_image_load_file_draft(fspath(path), draft, ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Image":
        """Decodes a PNG, JPEG or DICOM file held in memory (bmc_image_load_memory)."""
        data = bytes(data)
        out = ctypes.POINTER(_capi.bmc_image)()
        check(_capi.bmc_image_load_memory(data, len(data), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_array(cls, pixels, *, rescale: Optional[Tuple[float, float]] = None,
                   window: Optional[Tuple[float, float]] = None,
                   monochrome1: bool = False) -> "Image":
        """Makes an image from pixels in a numpy array (bmc_image_from_pixels), e.g. a DICOM frame.

        `pixels`: shape (H, W) or (H, W, C) with C 1, 3 or 4; dtype uint8, uint16, int16 or
        float32. Any row stride, also negative (a flipped view), is read in place; other layouts
        are copied first. The library copies the pixels, so the array may change afterwards.

        uint8 pixels are taken as they are (1-channel ones inverted if `monochrome1`). Other
        types go through the DICOM display pipeline:
        `rescale` = (slope, intercept) is the modality LUT, `window` = (center, width) the linear
        VOI LUT (without it, the pixels' own min..max is stretched to 0..255), and
        `monochrome1` inverts the result (1-channel only). The result is an 8-bit image.
        """
        view, _keep = pixel_view(pixels, rescale, window, monochrome1)
        out = ctypes.POINTER(_capi.bmc_image)()
        check(_capi.bmc_image_from_pixels(ctypes.byref(view), ctypes.byref(out)))
        return cls(out)

    def _info(self):
        width, height, mode = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
        check(_capi.bmc_image_info(self._ptr, ctypes.byref(width), ctypes.byref(height),
                                   ctypes.byref(mode)))
        return width.value, height.value, mode.value

    @property
    def width(self) -> int:
        return self._info()[0]

    @property
    def height(self) -> int:
        return self._info()[1]

    @property
    def size(self) -> Tuple[int, int]:
        """(width, height), as Pillow's Image.size."""
        return self._info()[:2]

    @property
    def mode(self) -> str:
        """The pixel layout as Pillow names it: "L", "RGB", "RGBA", "I", ..."""
        return MODE_NAMES.get(self._info()[2], "?")

    def to_rgb8(self) -> np.ndarray:
        """The pixels converted as Pillow's convert('RGB'): a new (H, W, 3) uint8 array."""
        width, height, _ = self._info()
        rgb = np.empty((height, width, 3), np.uint8)
        check(_capi.bmc_image_to_rgb8(self._ptr, pointer(rgb, ctypes.c_uint8), rgb.nbytes))
        return rgb

    def save_png(self, path: PathLike) -> None:
        """Writes the image as an 8-bit RGB PNG (to_rgb8() then write_png())."""
        write_png(path, self.to_rgb8())

    def __repr__(self) -> str:
        if self.closed:
            return "<biomedclip.Image (closed)>"
        width, height, mode = self._info()
        return "<biomedclip.Image %dx%d %s>" % (width, height, MODE_NAMES.get(mode, "?"))


def write_png(path: PathLike, pixels) -> None:
    """Writes 8-bit pixels, shape (H, W) gray or (H, W, C) with C 1, 3 or 4, as a PNG file."""
    pixels = np.ascontiguousarray(pixels)
    if pixels.dtype != np.uint8:
        raise TypeError("write_png takes uint8 pixels, not %s" % pixels.dtype)
    if pixels.ndim not in (2, 3):
        raise ValueError("pixels must have shape (H, W) or (H, W, C)")
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    check(_capi.bmc_png_write_file(fspath(path), pointer(pixels, ctypes.c_uint8),
                                   pixels.shape[1],
                                   pixels.shape[0], channels))
