// SPDX-License-Identifier: MIT
//! biomedclip::Dicom and Image::open of .dcm files against pydicom (run as /usr/bin/python3,
//! or $PYTHON): attributes as pydicom reads them, frames equal to pydicom's pixel_array through
//! its apply_voi_lut (or the min..max stretch without a window), refusals.
use std::path::PathBuf;
use std::process::Command;

use biomedclip::{Dicom, FrameOptions, Image, Status};

/// Runs Python with pydicom; prints one line of space-separated values per request.
const REFERENCE: &str = r#"
import os, sys, warnings, numpy as np, pydicom
from pydicom.pixel_data_handlers.util import apply_voi_lut
warnings.simplefilter("ignore")
folder = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
print(folder)
def shown(values, window=None):
    if window is None:
        y = (values - values.min()) * 255.0 / (values.max() - values.min())
    else:
        view = pydicom.Dataset(); view.PhotometricInterpretation = "MONOCHROME2"
        view.BitsStored = 8; view.PixelRepresentation = 0
        view.WindowCenter, view.WindowWidth = window
        y = apply_voi_lut(values, view)
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)
for name in ("CT_small.dcm", "rtdose.dcm", "MR_small_RLE.dcm"):
    ds = pydicom.dcmread(os.path.join(folder, name))
    print(name, ds.Rows, ds.Columns, int(ds.get("NumberOfFrames", 1)), ds.get("Modality", ""),
          ds.PhotometricInterpretation, ds.SOPInstanceUID, ds.StudyInstanceUID, ds.file_meta.TransferSyntaxUID)
dose = pydicom.dcmread(os.path.join(folder, "rtdose.dcm")).pixel_array.astype(np.float64)
for f in range(dose.shape[0]):
    print(" ".join(map(str, shown(dose[f]).ravel())))
ct = pydicom.dcmread(os.path.join(folder, "CT_small.dcm"))
v = ct.pixel_array.astype(np.float64) * float(ct.RescaleSlope) + float(ct.RescaleIntercept)
print(" ".join(map(str, shown(v, (40, 400)).ravel())))
print(" ".join(map(str, shown(ct.pixel_array.astype(np.float64) * 2.0 - 3000.0, (40, 400)).ravel())))
"#;

struct Reference {
    folder: PathBuf,
    attributes: Vec<Vec<String>>,
    dose_frames: Vec<Vec<u8>>,
    ct_window: Vec<u8>,
    ct_rescale_window: Vec<u8>,
}

fn reference() -> Reference {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let output = Command::new(&python).arg("-c").arg(REFERENCE).output().expect("python3 with pydicom");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let bytes = |line: &str| line.split(' ').map(|v| v.parse::<u8>().unwrap()).collect::<Vec<u8>>();
    Reference {
        folder: PathBuf::from(lines[0]),
        attributes: lines[1..4].iter().map(|l| l.split(' ').map(String::from).collect()).collect(),
        dose_frames: lines[4..19].iter().map(|l| bytes(l)).collect(),
        ct_window: bytes(lines[19]),
        ct_rescale_window: bytes(lines[20]),
    }
}

fn gray(image: &Image) -> Vec<u8> {
    image.to_rgb8().unwrap().chunks(3).map(|p| p[0]).collect()
}

#[test]
fn attributes_match_pydicom() {
    let r = reference();
    for a in &r.attributes {
        let dicom = Dicom::open(r.folder.join(&a[0])).unwrap();
        assert_eq!(dicom.rows().to_string(), a[1], "{}", a[0]);
        assert_eq!(dicom.columns().to_string(), a[2], "{}", a[0]);
        assert_eq!(dicom.frames().to_string(), a[3], "{}", a[0]);
        assert_eq!(dicom.modality(), a[4], "{}", a[0]);
        assert_eq!(dicom.photometric_interpretation(), a[5], "{}", a[0]);
        assert_eq!(dicom.sop_instance_uid(), a[6], "{}", a[0]);
        assert_eq!(dicom.study_instance_uid(), a[7], "{}", a[0]);
        assert_eq!(dicom.transfer_syntax(), a[8], "{}", a[0]);
        assert_eq!(dicom.no_image_reason(), "");
    }
}

#[test]
fn frames_and_windows_match_pydicom() {
    let r = reference();
    let dose = Dicom::open(r.folder.join("rtdose.dcm")).unwrap();
    assert_eq!(dose.frames(), 15);
    for (frame, want) in r.dose_frames.iter().enumerate() {
        let image = dose.frame_image(&FrameOptions { frame, ..Default::default() }).unwrap();
        assert_eq!(&gray(&image), want, "frame {}", frame);
    }
    let ct = Dicom::open(r.folder.join("CT_small.dcm")).unwrap();
    let windowed = ct.frame_image(&FrameOptions { window: Some((40.0, 400.0)), ..Default::default() }).unwrap();
    assert_eq!(gray(&windowed), r.ct_window);
    let options = FrameOptions { window: Some((40.0, 400.0)), rescale: Some((2.0, -3000.0)), ..Default::default() };
    assert_eq!(gray(&ct.frame_image(&options).unwrap()), r.ct_rescale_window);
}

#[test]
fn image_open_and_memory_are_frame_zero() {
    let r = reference();
    let path = r.folder.join("MR_small_RLE.dcm");
    let want = Dicom::open(&path).unwrap().frame_image(&FrameOptions::default()).unwrap().to_rgb8().unwrap();
    assert_eq!(Image::open(&path).unwrap().to_rgb8().unwrap(), want);
    let bytes = std::fs::read(&path).unwrap();
    let from_memory = Dicom::from_memory(&bytes).unwrap();
    assert_eq!(from_memory.frame_image(&FrameOptions::default()).unwrap().to_rgb8().unwrap(), want);
    assert_eq!(Image::from_memory(&bytes).unwrap().to_rgb8().unwrap(), want);
}

#[test]
fn refusals_are_errors() {
    let r = reference();
    let plan = Dicom::open(r.folder.join("rtplan.dcm")).unwrap();
    assert_eq!(plan.frames(), 0);
    assert!(plan.no_image_reason().contains("no pixel data"));
    assert_eq!(plan.frame_image(&FrameOptions::default()).unwrap_err().status, Status::Unsupported);
    let ct = Dicom::open(r.folder.join("CT_small.dcm")).unwrap();
    assert_eq!(ct.frame_image(&FrameOptions { frame: 1, ..Default::default() }).unwrap_err().status, Status::NotFound);
    assert!(ct.windows().unwrap().is_empty());
    assert_eq!(Dicom::from_memory(b"not a DICOM file").unwrap_err().status, Status::CorruptData);
    assert_eq!(Dicom::open("no/such/file.dcm").unwrap_err().status, Status::Io);
}
