# SPDX-License-Identifier: MIT
"""biomedclip.Dicom and Image.open of .dcm files (the library's own reader) against pydicom:
attributes as pydicom reads them, frames equal to pydicom's pixel_array through its
apply_modality_lut + apply_voi_lut (or the min..max stretch without a window), refusals."""
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixel_data_handlers.util import apply_voi_lut

import biomedclip as bmc


def shown(values, window=None) -> np.ndarray:
    """pydicom's display of modality values onto 0..255, rounded as the library rounds."""
    if window is None:
        y = (values - values.min()) * 255.0 / (values.max() - values.min())
    else:
        view = pydicom.Dataset()
        view.PhotometricInterpretation = "MONOCHROME2"
        view.BitsStored = 8
        view.PixelRepresentation = 0
        view.WindowCenter, view.WindowWidth = window
        y = apply_voi_lut(values, view)
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


def read(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(get_testdata_file(name))


def modality_values(dataset, frame=None):
    stored = dataset.pixel_array.astype(np.float64)
    if frame is not None:
        stored = stored[frame]
    return stored * float(dataset.get("RescaleSlope", 1)) + float(dataset.get("RescaleIntercept", 0))


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "SC_rgb_rle.dcm",
                                  "MR_small_RLE.dcm", "JPEG2000.dcm"])
def test_attributes_match_pydicom(name):
    ds = read(name)
    with bmc.Dicom.open(get_testdata_file(name)) as dicom:
        assert (dicom.rows, dicom.columns) == (ds.Rows, ds.Columns)
        assert dicom.frames == int(ds.get("NumberOfFrames", 1))
        assert dicom.samples_per_pixel == ds.SamplesPerPixel
        assert (dicom.bits_allocated, dicom.bits_stored) == (ds.BitsAllocated, ds.BitsStored)
        assert dicom.pixel_representation == ds.PixelRepresentation
        assert dicom.photometric_interpretation == ds.PhotometricInterpretation
        assert dicom.modality == ds.get("Modality", "")
        assert dicom.transfer_syntax == ds.file_meta.TransferSyntaxUID
        assert dicom.sop_instance_uid == ds.SOPInstanceUID
        assert dicom.study_instance_uid == ds.StudyInstanceUID
        assert dicom.series_instance_uid == ds.SeriesInstanceUID
        if "RescaleSlope" in ds or "RescaleIntercept" in ds:
            assert dicom.rescale == (float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0)))
        else:
            assert dicom.rescale is None
        centers = ds.get("WindowCenter")
        if centers is None:
            assert dicom.windows == []
        else:
            centers = list(centers) if isinstance(centers, pydicom.multival.MultiValue) else [centers]
            assert [w.center for w in dicom.windows] == [float(c) for c in centers]
        assert dicom.no_image_reason == ""


def test_every_frame_matches_pydicom():
    ds = read("rtdose.dcm")
    with bmc.Dicom.open(get_testdata_file("rtdose.dcm")) as dicom:
        assert dicom.frames == 15
        for frame in range(dicom.frames):
            got = dicom.frame_image(frame).to_rgb8()[:, :, 0]
            np.testing.assert_array_equal(got, shown(modality_values(ds, frame)))


def test_window_and_rescale_of_the_caller():
    ds = read("CT_small.dcm")
    stored = ds.pixel_array.astype(np.float64)
    with bmc.Dicom.open(get_testdata_file("CT_small.dcm")) as dicom:
        got = dicom.frame_image(window=(40, 400)).to_rgb8()[:, :, 0]
        np.testing.assert_array_equal(got, shown(modality_values(ds), (40, 400)))
        got = dicom.frame_image(window=(40, 400), rescale=(2.0, -3000.0)).to_rgb8()[:, :, 0]
        np.testing.assert_array_equal(got, shown(stored * 2.0 - 3000.0, (40, 400)))


def test_colour_file_as_pydicom():
    ds = read("SC_rgb_rle.dcm")
    with bmc.Dicom.open(get_testdata_file("SC_rgb_rle.dcm")) as dicom:
        image = dicom.frame_image()
        assert image.mode == "RGB"
        np.testing.assert_array_equal(image.to_rgb8(), ds.pixel_array)


def test_image_open_and_bytes_are_frame_zero():
    path = get_testdata_file("MR_small.dcm")
    with bmc.Dicom.open(path) as dicom:
        want = dicom.frame_image().to_rgb8()
    np.testing.assert_array_equal(bmc.Image.open(path).to_rgb8(), want)
    with open(path, "rb") as f:
        data = f.read()
    with bmc.Dicom.from_bytes(data) as dicom:
        np.testing.assert_array_equal(dicom.frame_image().to_rgb8(), want)
    np.testing.assert_array_equal(bmc.Image.from_bytes(data).to_rgb8(), want)
    ds = read("MR_small.dcm")
    first = lambda value: float(value[0] if isinstance(value, pydicom.multival.MultiValue) else value)
    window = (first(ds.WindowCenter), first(ds.WindowWidth))
    np.testing.assert_array_equal(want[:, :, 0], shown(modality_values(ds), window))


def test_refusals():
    with bmc.Dicom.open(get_testdata_file("rtplan.dcm")) as plan:
        assert plan.frames == 0 and "no pixel data" in plan.no_image_reason
        with pytest.raises(bmc.UnsupportedError, match="no pixel data"):
            plan.frame_image()
    with bmc.Dicom.open(get_testdata_file("CT_small.dcm")) as dicom:
        with pytest.raises(bmc.NotFoundError):
            dicom.frame_image(1)
        with pytest.raises(bmc.InvalidArgumentError):
            dicom.frame_image(window=(40, 0))
    with pytest.raises(bmc.CorruptDataError):
        bmc.Dicom.from_bytes(b"not a DICOM file at all")
    with pytest.raises(bmc.IoError):
        bmc.Dicom.open("no/such/file.dcm")
    with pytest.raises(TypeError):
        bmc.Dicom()
