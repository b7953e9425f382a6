// SPDX-License-Identifier: MIT
//! Images: PNG/JPEG decoding, pixel views of caller memory with the DICOM display pipeline,
//! PNG writing.
use std::os::raw::c_void;
use std::path::Path;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::error::{c_path, check, Error, Result};

/// A decoded image, in the pixel layout Pillow would open it in (its [`Mode`]).
/// Immutable, so it is `Send` and `Sync`: threads may read one image at once.
pub struct Image {
    raw: NonNull<sys::bmc_image>,
}

// SAFETY: the header says an image is immutable once created and may be read by any number of
// threads at once; freeing needs exclusive access, which Drop has.
unsafe impl Send for Image {}
unsafe impl Sync for Image {}

/// Pixel layouts, with Pillow's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// "1": 1-bit bilevel.
    Bilevel,
    L,
    LA,
    P,
    Rgb,
    Rgba,
    Cmyk,
    /// "I": 32-bit integer grayscale (a 16-bit grayscale PNG).
    I,
    Other(i32),
}

impl Mode {
    fn from_code(code: i32) -> Mode {
        match code {
            sys::BMC_IMAGE_MODE_1 => Mode::Bilevel,
            sys::BMC_IMAGE_MODE_L => Mode::L,
            sys::BMC_IMAGE_MODE_LA => Mode::LA,
            sys::BMC_IMAGE_MODE_P => Mode::P,
            sys::BMC_IMAGE_MODE_RGB => Mode::Rgb,
            sys::BMC_IMAGE_MODE_RGBA => Mode::Rgba,
            sys::BMC_IMAGE_MODE_CMYK => Mode::Cmyk,
            sys::BMC_IMAGE_MODE_I => Mode::I,
            other => Mode::Other(other),
        }
    }
}

/// Sample types a [`PixelView`] can describe: `u8`, `u16`, `i16` and `f32`.
pub trait Sample: Copy + private::Sealed {
    #[doc(hidden)]
    const SAMPLE_TYPE: i32;
}

mod private {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for i16 {}
    impl Sealed for f32 {}
}

impl Sample for u8 {
    const SAMPLE_TYPE: i32 = sys::BMC_SAMPLE_U8;
}
impl Sample for u16 {
    const SAMPLE_TYPE: i32 = sys::BMC_SAMPLE_U16;
}
impl Sample for i16 {
    const SAMPLE_TYPE: i32 = sys::BMC_SAMPLE_S16;
}
impl Sample for f32 {
    const SAMPLE_TYPE: i32 = sys::BMC_SAMPLE_F32;
}

/// Pixels in the caller's memory (e.g. a DICOM frame), for [`Image::from_pixels`].
///
/// `channels` samples per pixel (1, 3 or 4), interleaved; rows `row_stride` samples apart
/// (default: packed). A negative stride reads rows bottom-up: the first row read is then the
/// last one in the slice. Every row read must lie inside the slice; this is checked.
///
/// `u8` samples are taken as they are (1-channel ones inverted for MONOCHROME1). Other types
/// go through the DICOM display pipeline:
/// [`rescale`](PixelView::rescale) (modality LUT), [`window`](PixelView::window) (linear VOI
/// LUT; without it the view's own min..max is stretched to 0..255) and
/// [`monochrome1`](PixelView::monochrome1) (inversion).
#[derive(Debug, Clone, Copy)]
pub struct PixelView<'a, T: Sample> {
    data: &'a [T],
    width: usize,
    height: usize,
    channels: usize,
    row_stride: isize,
    rescale: Option<(f64, f64)>,
    window: Option<(f64, f64)>,
    monochrome1: bool,
}

impl<'a, T: Sample> PixelView<'a, T> {
    /// A view of packed rows: `data` holds height x width x channels samples.
    pub fn new(data: &'a [T], width: usize, height: usize, channels: usize) -> Self {
        PixelView {
            data,
            width,
            height,
            channels,
            row_stride: (width * channels) as isize,
            rescale: None,
            window: None,
            monochrome1: false,
        }
    }

    /// The distance between rows, in samples (negative: bottom-up).
    pub fn row_stride(mut self, samples: isize) -> Self {
        self.row_stride = samples;
        self
    }

    /// The modality LUT: value = stored * slope + intercept.
    pub fn rescale(mut self, slope: f64, intercept: f64) -> Self {
        self.rescale = Some((slope, intercept));
        self
    }

    /// The linear VOI LUT window (width >= 1).
    pub fn window(mut self, center: f64, width: f64) -> Self {
        self.window = Some((center, width));
        self
    }

    /// Photometric interpretation MONOCHROME1: invert the displayed values.
    pub fn monochrome1(mut self, monochrome1: bool) -> Self {
        self.monochrome1 = monochrome1;
        self
    }

    /// The C view, after checking that every row it reads lies inside `data`.
    fn raw_view(&self) -> Result<sys::bmc_pixels> {
        if !matches!(self.channels, 1 | 3 | 4) {
            return Err(Error::invalid(format!("channels must be 1, 3 or 4, not {}", self.channels)));
        }
        let row = self.width * self.channels;
        let stride = self.row_stride.unsigned_abs();
        if self.width == 0 || self.height == 0 || stride < row {
            return Err(Error::invalid(format!(
                "a {}x{} view with rows of {} samples {} apart is not valid",
                self.width, self.height, row, self.row_stride
            )));
        }
        let extent = (self.height - 1)
            .checked_mul(stride)
            .and_then(|n| n.checked_add(row))
            .filter(|&n| n <= self.data.len())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "the view needs more than the slice's {} samples",
                    self.data.len()
                ))
            })?;
        let first_row = if self.row_stride < 0 { extent - row } else { 0 };
        let size = std::mem::size_of::<T>() as i64;
        let mut raw: sys::bmc_pixels = unsafe { std::mem::zeroed() };
        // SAFETY: raw is a valid, writable bmc_pixels.
        unsafe { sys::bmc_pixels_init(&mut raw) };
        // From the whole slice's pointer, so that a negative stride may read back from it.
        // SAFETY: first_row < data.len() (extent fits the slice).
        raw.data = unsafe { self.data.as_ptr().add(first_row) } as *const c_void;
        raw.width = i32::try_from(self.width).map_err(|_| Error::invalid("width too large"))?;
        raw.height = i32::try_from(self.height).map_err(|_| Error::invalid("height too large"))?;
        raw.channels = self.channels as i32;
        raw.sample_type = T::SAMPLE_TYPE;
        raw.row_stride = self.row_stride as i64 * size;
        if let Some((slope, intercept)) = self.rescale {
            raw.has_rescale = 1;
            raw.rescale_slope = slope;
            raw.rescale_intercept = intercept;
        }
        if let Some((center, width)) = self.window {
            raw.has_window = 1;
            raw.window_center = center;
            raw.window_width = width;
        }
        raw.monochrome1 = i32::from(self.monochrome1);
        Ok(raw)
    }
}

impl Image {
    fn from_raw(raw: *mut sys::bmc_image) -> Image {
        Image { raw: NonNull::new(raw).expect("the library returned BMC_OK and no image") }
    }

    pub(crate) fn from_raw_image(raw: *mut sys::bmc_image) -> Image {
        Image::from_raw(raw)
    }

    pub(crate) fn as_ptr(&self) -> *const sys::bmc_image {
        self.raw.as_ptr()
    }

    /// Decodes a PNG, JPEG or DICOM file (`bmc_image_load_file`; DICOM: frame 0, its own window).
    pub fn open<P: AsRef<Path>>(path: P) -> Result<Image> {
        let path = c_path(path.as_ref())?;
        let mut out = ptr::null_mut();
        // SAFETY: valid C string and out-pointer.
        check(unsafe { sys::bmc_image_load_file(path.as_ptr(), &mut out) })?;
        Ok(Image::from_raw(out))
    }

    /// Decodes a PNG, JPEG or DICOM file held in memory (`bmc_image_load_memory`).
    pub fn from_memory(data: &[u8]) -> Result<Image> {
        let mut out = ptr::null_mut();
        // SAFETY: data is valid for data.len() bytes during the call.
        check(unsafe {
            sys::bmc_image_load_memory(data.as_ptr() as *const c_void, data.len(), &mut out)
        })?;
        Ok(Image::from_raw(out))
    }

    /// Makes an 8-bit image from a pixel view, copying the pixels (`bmc_image_from_pixels`).
    pub fn from_pixels<T: Sample>(view: &PixelView<'_, T>) -> Result<Image> {
        let raw = view.raw_view()?;
        let mut out = ptr::null_mut();
        // SAFETY: raw_view checked that every row the library reads lies inside the slice.
        check(unsafe { sys::bmc_image_from_pixels(&raw, &mut out) })?;
        Ok(Image::from_raw(out))
    }

    fn info(&self) -> (usize, usize, i32) {
        let (mut width, mut height, mut mode) = (0, 0, 0);
        // SAFETY: a live image; cannot fail for a non-NULL image.
        unsafe { sys::bmc_image_info(self.as_ptr(), &mut width, &mut height, &mut mode) };
        (width as usize, height as usize, mode)
    }

    pub fn width(&self) -> usize {
        self.info().0
    }

    pub fn height(&self) -> usize {
        self.info().1
    }

    /// The pixel layout, as Pillow names it.
    pub fn mode(&self) -> Mode {
        Mode::from_code(self.info().2)
    }

    /// The pixels converted as Pillow's `convert('RGB')`: height x width x 3 bytes.
    pub fn to_rgb8(&self) -> Result<Vec<u8>> {
        let (width, height, _) = self.info();
        let mut rgb = vec![0u8; width * height * 3];
        // SAFETY: rgb has rgb.len() writable bytes.
        check(unsafe { sys::bmc_image_to_rgb8(self.as_ptr(), rgb.as_mut_ptr(), rgb.len()) })?;
        Ok(rgb)
    }

    /// Writes the image as an 8-bit RGB PNG.
    pub fn save_png<P: AsRef<Path>>(&self, path: P) -> Result<()> {
        write_png(path, &self.to_rgb8()?, self.width(), self.height(), 3)
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: we own the image and nothing else uses it any more.
        unsafe { sys::bmc_image_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (width, height, mode) = self.info();
        write!(f, "Image({}x{}, {:?})", width, height, Mode::from_code(mode))
    }
}

/// Writes packed 8-bit pixels (1 gray, 3 RGB or 4 RGBA channels) as a PNG file.
pub fn write_png<P: AsRef<Path>>(
    path: P,
    pixels: &[u8],
    width: usize,
    height: usize,
    channels: usize,
) -> Result<()> {
    if width.checked_mul(height).and_then(|n| n.checked_mul(channels)) != Some(pixels.len()) {
        return Err(Error::invalid(format!(
            "{} bytes are not {}x{} pixels of {} channels",
            pixels.len(),
            width,
            height,
            channels
        )));
    }
    let path = c_path(path.as_ref())?;
    let dimension = |n: usize| i32::try_from(n).map_err(|_| Error::invalid("image too large"));
    // SAFETY: pixels holds exactly width * height * channels bytes.
    check(unsafe {
        sys::bmc_png_write_file(
            path.as_ptr(),
            pixels.as_ptr(),
            dimension(width)?,
            dimension(height)?,
            dimension(channels)?,
        )
    })
}
