# SPDX-License-Identifier: MIT
"""DICOM files and datasets to images, through the library's display pipeline.

Dicom opens a file (or its bytes) with the library itself (GDCM inside; no pydicom needed):
its attributes, window presets and frames as images. Image.open("scan.dcm") shows frame 0.

The functions below take a dataset that is already held as pydicom's; they work on any object with pydicom's Dataset interface (this module does not import pydicom):
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
import ctypes
from typing import List, NamedTuple, Optional, Tuple

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import PathLike, fspath
from .errors import check
from .images import Image


class Window(NamedTuple):
    """A window preset of a file: (0028,1050), (0028,1051) and its explanation (0028,1055)."""
    center: float
    width: float
    explanation: str


class Dicom(Handle):
    """A parsed DICOM file (bmc_dicom_open_file / _memory): attributes and frames.

    The attributes are read once at opening; frame_image() decodes the pixel data on first use.
    Any number of threads may use one object at once.
    """

    def __init__(self, _pointer=None):
        if _pointer is None:
            raise TypeError("use Dicom.open() or Dicom.from_bytes()")
        self._own(_pointer, _capi.bmc_dicom_free)
        info = _capi.bmc_dicom_info()
        _capi.bmc_dicom_info_init(ctypes.byref(info))
        check(_capi.bmc_dicom_get_info(self._ptr, ctypes.byref(info)))
        text = lambda field: getattr(info, field).decode("utf-8", "replace")
        self.frames: int = info.frames
        self.rows: int = info.rows
        self.columns: int = info.columns
        self.samples_per_pixel: int = info.samples_per_pixel
        self.bits_allocated: int = info.bits_allocated
        self.bits_stored: int = info.bits_stored
        self.pixel_representation: int = info.pixel_representation
        #: (slope, intercept), or None when the file has neither
        self.rescale: Optional[Tuple[float, float]] = (
            (info.rescale_slope, info.rescale_intercept) if info.has_rescale else None)
        self.has_voi_lut_sequence: bool = bool(info.has_voi_lut_sequence)
        self.photometric_interpretation: str = text("photometric")
        self.modality: str = text("modality")
        self.transfer_syntax: str = text("transfer_syntax")
        self.voi_lut_function: str = text("voi_lut_function")
        self.sop_instance_uid: str = text("sop_instance_uid")
        self.series_instance_uid: str = text("series_instance_uid")
        self.study_instance_uid: str = text("study_instance_uid")
        #: why the file has no image ("" when it has one)
        self.no_image_reason: str = text("no_image_reason")
        self.windows: List[Window] = []
        for i in range(info.window_count):
            center, width = ctypes.c_double(), ctypes.c_double()
            explanation = ctypes.c_char_p()
            check(_capi.bmc_dicom_window(self._ptr, i, ctypes.byref(center), ctypes.byref(width),
                                         ctypes.byref(explanation)))
            self.windows.append(Window(center.value, width.value,
                                       (explanation.value or b"").decode("utf-8", "replace")))

    @classmethod
    def open(cls, path: PathLike) -> "Dicom":
        """Parses a DICOM file (bmc_dicom_open_file)."""
        out = ctypes.POINTER(_capi.bmc_dicom)()
        check(_capi.bmc_dicom_open_file(fspath(path), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Dicom":
        """Parses a DICOM file held in memory (bmc_dicom_open_memory; the bytes are copied)."""
        data = bytes(data)
        out = ctypes.POINTER(_capi.bmc_dicom)()
        check(_capi.bmc_dicom_open_memory(data, len(data), ctypes.byref(out)))
        return cls(out)

    def frame_image(self, frame: int = 0, window: Optional[Tuple[float, float]] = None,
                    rescale: Optional[Tuple[float, float]] = None,
                    window_index: int = 0) -> Image:
        """Frame `frame` (0-based) as an 8-bit image (bmc_dicom_frame_image): the file's rescale
        and window preset `window_index`, or the (center, width) / (slope, intercept) given."""
        options = _capi.bmc_dicom_frame_options()
        _capi.bmc_dicom_frame_options_init(ctypes.byref(options))
        options.frame = frame
        options.window_index = window_index
        if window is not None:
            options.has_window = 1
            options.window_center, options.window_width = (float(v) for v in window)
        if rescale is not None:
            options.has_rescale = 1
            options.rescale_slope, options.rescale_intercept = (float(v) for v in rescale)
        out = ctypes.POINTER(_capi.bmc_image)()
        check(_capi.bmc_dicom_frame_image(self._ptr, ctypes.byref(options), ctypes.byref(out)))
        return Image(out)

    def __repr__(self) -> str:
        if self.closed:
            return "<biomedclip.Dicom (closed)>"
        return "<biomedclip.Dicom %s %s, %d frame(s) of %dx%d>" % (
            self.modality or "?", self.photometric_interpretation, self.frames, self.columns,
            self.rows)

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
