# SPDX-License-Identifier: MIT
"""Preprocessing: open_clip's BiomedCLIP image transform, bit-exact with Pillow 9.4."""
import ctypes
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from . import _capi
from ._util import pointer
from .errors import check
from .images import Image

RESIZE_SHORTEST_CROP = _capi.BMC_RESIZE_SHORTEST_CROP  #: resize the short side, centre-crop
RESIZE_SQUASH = _capi.BMC_RESIZE_SQUASH  #: resize both sides, ignoring the aspect ratio
FILTER_NEAREST = _capi.BMC_FILTER_NEAREST
FILTER_BILINEAR = _capi.BMC_FILTER_BILINEAR
FILTER_BICUBIC = _capi.BMC_FILTER_BICUBIC


def _defaults() -> _capi.bmc_preprocess_options:
    options = _capi.bmc_preprocess_options()
    _capi.bmc_preprocess_options_init(ctypes.byref(options))
    return options


@dataclass
class PreprocessOptions:
    """How an image becomes the model's input (bmc_preprocess_options).

    The defaults are BiomedCLIP's: 224 pixels, shortest-side resize + centre crop, bicubic,
    open_clip's mean and std. Model.preprocess_options() gives a model's own values.
    """

    image_size: int = field(default_factory=lambda: _defaults().image_size)
    resize_mode: int = field(default_factory=lambda: _defaults().resize_mode)
    filter: int = field(default_factory=lambda: _defaults().filter)
    mean: Tuple[float, float, float] = field(default_factory=lambda: tuple(_defaults().mean))
    std: Tuple[float, float, float] = field(default_factory=lambda: tuple(_defaults().std))

    @classmethod
    def _from_c(cls, options: _capi.bmc_preprocess_options) -> "PreprocessOptions":
        return cls(options.image_size, options.resize_mode, options.filter,
                   tuple(options.mean), tuple(options.std))

    def _to_c(self) -> _capi.bmc_preprocess_options:
        options = _defaults()
        options.image_size, options.resize_mode = self.image_size, self.resize_mode
        options.filter = self.filter
        options.mean[:] = [float(v) for v in self.mean]
        options.std[:] = [float(v) for v in self.std]
        return options


def _options(options: Optional[PreprocessOptions]) -> PreprocessOptions:
    return options if options is not None else PreprocessOptions()


def _buffer(shape, dtype, size: int) -> np.ndarray:
    # An out-of-range size gets an empty buffer: the library then reports the bad option
    # instead of Python trying to allocate it first.
    return np.empty(shape, dtype) if 0 < size <= _MAX_SIZE else np.empty(0, dtype)


_MAX_SIZE = 4096  # the header's limit on image_size


def preprocess_rgb8(image: Image, options: Optional[PreprocessOptions] = None) -> np.ndarray:
    """Resize, crop and convert('RGB') as Pillow does: a new (S, S, 3) uint8 array
    (bmc_preprocess_rgb8)."""
    options = _options(options)
    size = options.image_size
    rgb = _buffer((size, size, 3), np.uint8, size)
    check(_capi.bmc_preprocess_rgb8(image._ptr, ctypes.byref(options._to_c()),
                                    pointer(rgb, ctypes.c_uint8), rgb.nbytes))
    return rgb


def preprocess(image: Image, options: Optional[PreprocessOptions] = None) -> np.ndarray:
    """The full transform: a new (3, S, S) float32 tensor, channel planes, normalised
    (bmc_preprocess)."""
    options = _options(options)
    size = options.image_size
    tensor = _buffer((3, size, size), np.float32, size)
    check(_capi.bmc_preprocess(image._ptr, ctypes.byref(options._to_c()),
                               pointer(tensor, ctypes.c_float), tensor.size))
    return tensor
