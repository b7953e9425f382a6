// SPDX-License-Identifier: MIT
//! DICOM files read by the library itself (GDCM inside): attributes, window presets and every
//! frame through the DICOM display pipeline (`bmc_dicom_*`).
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::path::Path;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::error::{c_path, check, Result};
use crate::image::Image;

/// A parsed DICOM file. Its attributes are read at opening; the pixel data is decoded on the
/// first frame asked for (under the library's lock), so it is `Send` and `Sync`.
pub struct Dicom {
    raw: NonNull<sys::bmc_dicom>,
    info: sys::bmc_dicom_info,
}

// SAFETY: the header says any number of threads may use one handle at once; freeing needs
// exclusive access, which Drop has.
unsafe impl Send for Dicom {}
unsafe impl Sync for Dicom {}

/// A window preset of the file: (0028,1050), (0028,1051) and its explanation (0028,1055).
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub center: f64,
    pub width: f64,
    pub explanation: String,
}

/// How [`Dicom::frame_image`] shows a frame; the default is frame 0 with the file's rescale and
/// first window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameOptions {
    /// 0-based.
    pub frame: usize,
    /// Which of the file's windows to use.
    pub window_index: usize,
    /// (center, width) in place of the file's window.
    pub window: Option<(f64, f64)>,
    /// (slope, intercept) in place of the file's rescale.
    pub rescale: Option<(f64, f64)>,
}

fn text(field: &[c_char]) -> String {
    // SAFETY: the library NUL-terminates every text field of bmc_dicom_info.
    unsafe { CStr::from_ptr(field.as_ptr()) }.to_string_lossy().into_owned()
}

impl Dicom {
    fn from_raw(raw: *mut sys::bmc_dicom) -> Result<Dicom> {
        let raw = NonNull::new(raw).expect("the library returned BMC_OK and no handle");
        // SAFETY: zeroed is a valid bmc_dicom_info (integers, doubles and char arrays), then
        // initialised and filled from the live handle.
        let mut info: sys::bmc_dicom_info = unsafe { std::mem::zeroed() };
        unsafe { sys::bmc_dicom_info_init(&mut info) };
        if let Err(error) = check(unsafe { sys::bmc_dicom_get_info(raw.as_ptr(), &mut info) }) {
            // SAFETY: we own the handle and hand it out to no one.
            unsafe { sys::bmc_dicom_free(raw.as_ptr()) };
            return Err(error);
        }
        Ok(Dicom { raw, info })
    }

    /// Parses a DICOM file (`bmc_dicom_open_file`).
    pub fn open<P: AsRef<Path>>(path: P) -> Result<Dicom> {
        let path = c_path(path.as_ref())?;
        let mut out = ptr::null_mut();
        // SAFETY: valid C string and out-pointer.
        check(unsafe { sys::bmc_dicom_open_file(path.as_ptr(), &mut out) })?;
        Dicom::from_raw(out)
    }

    /// Parses a DICOM file held in memory (`bmc_dicom_open_memory`; the bytes are copied).
    pub fn from_memory(data: &[u8]) -> Result<Dicom> {
        let mut out = ptr::null_mut();
        // SAFETY: data is valid for data.len() bytes during the call.
        check(unsafe { sys::bmc_dicom_open_memory(data.as_ptr() as *const c_void, data.len(), &mut out) })?;
        Dicom::from_raw(out)
    }

    /// Number of Frames; 0 when the file has no image (see [`Dicom::no_image_reason`]).
    pub fn frames(&self) -> usize {
        self.info.frames as usize
    }
    pub fn rows(&self) -> usize {
        self.info.rows as usize
    }
    pub fn columns(&self) -> usize {
        self.info.columns as usize
    }
    pub fn samples_per_pixel(&self) -> i32 {
        self.info.samples_per_pixel
    }
    pub fn bits_allocated(&self) -> i32 {
        self.info.bits_allocated
    }
    pub fn bits_stored(&self) -> i32 {
        self.info.bits_stored
    }
    pub fn pixel_representation(&self) -> i32 {
        self.info.pixel_representation
    }
    /// (slope, intercept), or `None` when the file has neither.
    pub fn rescale(&self) -> Option<(f64, f64)> {
        (self.info.has_rescale != 0).then_some((self.info.rescale_slope, self.info.rescale_intercept))
    }
    pub fn has_voi_lut_sequence(&self) -> bool {
        self.info.has_voi_lut_sequence != 0
    }
    pub fn photometric_interpretation(&self) -> String {
        text(&self.info.photometric)
    }
    pub fn modality(&self) -> String {
        text(&self.info.modality)
    }
    pub fn transfer_syntax(&self) -> String {
        text(&self.info.transfer_syntax)
    }
    /// (0028,1056); "" means LINEAR.
    pub fn voi_lut_function(&self) -> String {
        text(&self.info.voi_lut_function)
    }
    pub fn sop_instance_uid(&self) -> String {
        text(&self.info.sop_instance_uid)
    }
    pub fn series_instance_uid(&self) -> String {
        text(&self.info.series_instance_uid)
    }
    pub fn study_instance_uid(&self) -> String {
        text(&self.info.study_instance_uid)
    }
    /// Why the file has no image; "" when it has one.
    pub fn no_image_reason(&self) -> String {
        text(&self.info.no_image_reason)
    }

    /// The file's window presets, in order.
    pub fn windows(&self) -> Result<Vec<Window>> {
        (0..self.info.window_count)
            .map(|i| {
                let (mut center, mut width, mut explanation) = (0.0, 0.0, ptr::null());
                // SAFETY: a live handle and valid out-pointers; i is below window_count.
                check(unsafe {
                    sys::bmc_dicom_window(self.raw.as_ptr(), i, &mut center, &mut width, &mut explanation)
                })?;
                let explanation = if explanation.is_null() {
                    String::new()
                } else {
                    // SAFETY: the string lives as long as the handle.
                    unsafe { CStr::from_ptr(explanation) }.to_string_lossy().into_owned()
                };
                Ok(Window { center, width, explanation })
            })
            .collect()
    }

    /// One frame as an 8-bit image (`bmc_dicom_frame_image`).
    pub fn frame_image(&self, options: &FrameOptions) -> Result<Image> {
        // SAFETY: zeroed, then filled by the init function.
        let mut raw: sys::bmc_dicom_frame_options = unsafe { std::mem::zeroed() };
        unsafe { sys::bmc_dicom_frame_options_init(&mut raw) };
        raw.frame = i32::try_from(options.frame).unwrap_or(i32::MAX);
        raw.window_index = i32::try_from(options.window_index).unwrap_or(i32::MAX);
        if let Some((center, width)) = options.window {
            raw.has_window = 1;
            raw.window_center = center;
            raw.window_width = width;
        }
        if let Some((slope, intercept)) = options.rescale {
            raw.has_rescale = 1;
            raw.rescale_slope = slope;
            raw.rescale_intercept = intercept;
        }
        let mut out = ptr::null_mut();
        // SAFETY: a live handle, an initialised options struct and an out-pointer.
        check(unsafe { sys::bmc_dicom_frame_image(self.raw.as_ptr(), &raw, &mut out) })?;
        Ok(Image::from_raw_image(out))
    }
}

impl Drop for Dicom {
    fn drop(&mut self) {
        // SAFETY: we own the handle and nothing else uses it any more.
        unsafe { sys::bmc_dicom_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Dicom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Dicom({} {}, {} frame(s) of {}x{})",
            self.modality(),
            self.photometric_interpretation(),
            self.frames(),
            self.columns(),
            self.rows()
        )
    }
}
