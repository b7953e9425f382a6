# SPDX-License-Identifier: MIT
"""DICOM datasets to images, through the library's display pipeline (modality + VOI LUT).

Works on any object with pydicom's Dataset interface (this module does not import pydicom):
the pixel data comes from ``dataset.pixel_array``, the pipeline's values from the standard
attributes:

  Rescale Slope / Intercept (0028,1053)/(0028,1052)  -> the modality LUT
  Window Center / Width (0028,1050)/(0028,1051)      -> the linear VOI LUT (the first window
                                                        when several are listed)
  Photometric Interpretation MONOCHROME1             -> inversion

Without a window in the dataset (and none given), the frame's own minimum..maximum is stretched
to 0..255. Not handled: a Modality LUT Sequence or VOI LUT Sequence (tables instead of the
linear functions), and VOI LUT Functions other than LINEAR; these raise ValueError unless a
window is given explicitly.
"""
from typing import Optional, Tuple

import numpy as np

from .images import Image

_STORED = (np.uint8, np.uint16, np.int16, np.float32)


def _first(value) -> float:
    """A DS value that may be multi-valued: its first number."""
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def display_parameters(dataset, window: Optional[Tuple[float, float]] = None):
    """(rescale, window, monochrome1) as Image.from_array() takes them, read from `dataset`;
    `window` = (center, width) replaces the dataset's own window."""
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric not in ("MONOCHROME1", "MONOCHROME2", "RGB"):
        raise ValueError("photometric interpretation %s is not supported" % photometric)
    if dataset.get("ModalityLUTSequence"):
        raise ValueError("a Modality LUT Sequence is not supported")
    rescale = None
    if dataset.get("RescaleSlope") is not None or dataset.get("RescaleIntercept") is not None:
        rescale = (float(dataset.get("RescaleSlope", 1.0)),
                   float(dataset.get("RescaleIntercept", 0.0)))
    if window is None and "WindowCenter" in dataset and "WindowWidth" in dataset:
        function = str(dataset.get("VOILUTFunction", "LINEAR")).upper()
        if function != "LINEAR":
            raise ValueError("VOI LUT Function %s is not supported; pass window=(center, width)"
                             % function)
        window = (_first(dataset.WindowCenter), _first(dataset.WindowWidth))
    elif window is None and dataset.get("VOILUTSequence"):
        raise ValueError("a VOI LUT Sequence is not supported; pass window=(center, width)")
    return rescale, window, photometric == "MONOCHROME1"


def image_from_dataset(dataset, frame: int = 0,
                       window: Optional[Tuple[float, float]] = None) -> Image:
    """The 8-bit image a viewer would show for one frame of a DICOM dataset.

    The stored values go to the library untouched (int16/uint16 as they are), which applies
    the rescale, the window (the dataset's, or `window` = (center, width)) and MONOCHROME1
    inversion in double precision. Other stored types (8-bit data that needs a rescale or
    window, 32-bit integers) are converted to float32 first; 8-bit data without them is shown
    as stored (inverted for MONOCHROME1).
    """
    pixels = dataset.pixel_array
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    if frames > 1:
        pixels = pixels[frame]
    elif frame != 0:
        raise IndexError("the dataset has one frame, not %d" % (frame + 1))
    rescale, window, monochrome1 = display_parameters(dataset, window)
    if samples == 1 and pixels.dtype == np.uint8 and (rescale or window):
        pixels = pixels.astype(np.float32)  # 8-bit views skip the LUTs; float32 is exact
    elif pixels.dtype.type not in _STORED:
        pixels = pixels.astype(np.float32)
    return Image.from_array(pixels, rescale=rescale, window=window, monochrome1=monochrome1)
