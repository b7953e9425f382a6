# SPDX-License-Identifier: MIT
"""Text-prompted segmentation: a CLIPSeg-style decoder over the model (bmc_segmenter_*)."""
import ctypes
from typing import Sequence, Tuple, Union

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import PathLike, fspath, pointer, text_array
from .errors import check
from .images import Image
from .model import Model
from .preprocess import PreprocessOptions


class Segmenter(Handle):
    """A decoder archive loaded for `model` (bmc_segmenter_load); docs/segmentation.md has the
    format. With check_base_source=True (the default) the model must be the very weights the
    decoder was made for. Immutable: threads may segment with one segmenter at once. Closing
    the model closes it."""

    def __init__(self, model: Model, path: PathLike, check_base_source: bool = True):
        options = _capi.bmc_segmenter_options()
        _capi.bmc_segmenter_options_init(ctypes.byref(options))
        options.check_base_source = 1 if check_base_source else 0
        out = ctypes.POINTER(_capi.bmc_segmenter)()
        check(_capi.bmc_segmenter_load(model._ptr, fspath(path), ctypes.byref(options),
                                       ctypes.byref(out)))
        self._own(out, _capi.bmc_segmenter_free, model)

    @property
    def name(self) -> str:
        return _capi.bmc_segmenter_name(self._ptr).decode("utf-8", "replace")

    @property
    def source(self) -> str:
        return _capi.bmc_segmenter_source(self._ptr).decode("utf-8", "replace")

    @property
    def map_size(self) -> int:
        """The side of the logits map (the model's image size)."""
        return _capi.bmc_segmenter_map_size(self._ptr)

    def preprocess_options(self) -> PreprocessOptions:
        """The decoder's preprocessing: preprocess_rgb8() with it shows what the decoder sees."""
        options = PreprocessOptions()._to_c()
        check(_capi.bmc_segmenter_preprocess_options(self._ptr, ctypes.byref(options)))
        return PreprocessOptions._from_c(options)

    def logits(self, image: Image, prompts: Sequence[str]) -> np.ndarray:
        """The decoder's logits, (prompts, S, S) float32, in the geometry of the preprocessed
        image (bmc_segment_logits)."""
        array, count = text_array(prompts, "prompts")
        size = self.map_size
        out = np.empty((count, size, size), np.float32)
        check(_capi.bmc_segment_logits(self._ptr, image._ptr, array, count,
                                       pointer(out, ctypes.c_float), out.size))
        return out

    def segment(self, image: Image, prompts: Sequence[str]) -> np.ndarray:
        """Probability maps on the image's own grid, (prompts, height, width) float32 in 0..1
        (bmc_segment)."""
        array, count = text_array(prompts, "prompts")
        width, height = image.size
        out = np.empty((count, height, width), np.float32)
        check(_capi.bmc_segment(self._ptr, image._ptr, array, count,
                                pointer(out, ctypes.c_float), out.size))
        return out


def mask_threshold(probabilities, threshold: float = 0.5) -> np.ndarray:
    """255 where probability > threshold, else 0 (NaN: 0), as uint8 of the same shape
    (bmc_mask_threshold)."""
    values = np.ascontiguousarray(probabilities, dtype=np.float32)
    mask = np.empty(values.shape, np.uint8)
    check(_capi.bmc_mask_threshold(pointer(values, ctypes.c_float), values.size, threshold,
                                   pointer(mask, ctypes.c_uint8)))
    return mask


def mask_overlay(image: Image, mask, color: Tuple[int, int, int] = (255, 0, 0),
                 alpha: Union[float, int] = 0.5) -> np.ndarray:
    """The image as (H, W, 3) uint8 RGB with `color` blended in at opacity `alpha` where the
    (H, W) mask is non-zero, as Pillow's composite of a blend computes it (bmc_mask_overlay)."""
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    width, height = image.size
    colour = np.array(color, dtype=np.uint8)
    if colour.shape != (3,):
        raise ValueError("color must be (R, G, B)")
    rgb = np.empty((height, width, 3), np.uint8)
    check(_capi.bmc_mask_overlay(image._ptr, pointer(mask, ctypes.c_uint8), mask.size,
                                 pointer(colour, ctypes.c_uint8), alpha,
                                 pointer(rgb, ctypes.c_uint8), rgb.nbytes))
    return rgb
