// SPDX-License-Identifier: MIT
//! Preprocessing: open_clip's BiomedCLIP image transform, bit-exact with Pillow 9.4.
use biomedclip_sys as sys;

use crate::error::{check, Error, Result};
use crate::image::Image;

/// How an image is brought to `image_size` x `image_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeMode {
    /// open_clip: resize the short side, then centre-crop.
    ShortestCrop,
    /// Resize both sides, ignoring the aspect ratio.
    Squash,
}

/// Pillow's resampling filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Nearest,
    Bilinear,
    Bicubic,
}

/// The transform from an image to the model's input (`bmc_preprocess_options`). The default
/// is BiomedCLIP's; [`Model::preprocess_options`](crate::Model::preprocess_options) gives a
/// model's own.
#[derive(Debug, Clone, PartialEq)]
pub struct PreprocessOptions {
    pub image_size: i32,
    pub resize_mode: ResizeMode,
    pub filter: Filter,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        let mut raw: sys::bmc_preprocess_options = unsafe { std::mem::zeroed() };
        // SAFETY: raw is a valid, writable struct.
        unsafe { sys::bmc_preprocess_options_init(&mut raw) };
        PreprocessOptions::from_raw(&raw).expect("the library's defaults are valid")
    }
}

impl PreprocessOptions {
    pub(crate) fn from_raw(raw: &sys::bmc_preprocess_options) -> Result<Self> {
        let resize_mode = match raw.resize_mode {
            sys::BMC_RESIZE_SHORTEST_CROP => ResizeMode::ShortestCrop,
            sys::BMC_RESIZE_SQUASH => ResizeMode::Squash,
            other => return Err(Error::invalid(format!("unknown resize mode {}", other))),
        };
        let filter = match raw.filter {
            sys::BMC_FILTER_NEAREST => Filter::Nearest,
            sys::BMC_FILTER_BILINEAR => Filter::Bilinear,
            sys::BMC_FILTER_BICUBIC => Filter::Bicubic,
            other => return Err(Error::invalid(format!("unknown filter {}", other))),
        };
        Ok(PreprocessOptions {
            image_size: raw.image_size,
            resize_mode,
            filter,
            mean: raw.mean,
            std: raw.std,
        })
    }

    pub(crate) fn to_raw(&self) -> sys::bmc_preprocess_options {
        let mut raw: sys::bmc_preprocess_options = unsafe { std::mem::zeroed() };
        // SAFETY: raw is a valid, writable struct.
        unsafe { sys::bmc_preprocess_options_init(&mut raw) };
        raw.image_size = self.image_size;
        raw.resize_mode = match self.resize_mode {
            ResizeMode::ShortestCrop => sys::BMC_RESIZE_SHORTEST_CROP,
            ResizeMode::Squash => sys::BMC_RESIZE_SQUASH,
        };
        raw.filter = match self.filter {
            Filter::Nearest => sys::BMC_FILTER_NEAREST,
            Filter::Bilinear => sys::BMC_FILTER_BILINEAR,
            Filter::Bicubic => sys::BMC_FILTER_BICUBIC,
        };
        raw.mean = self.mean;
        raw.std = self.std;
        raw
    }

    /// Pixels per side of the output, when it is one the library accepts (1..=4096); else 0,
    /// so that the library reports the bad option instead of a huge allocation happening here.
    fn side(&self) -> usize {
        if (1..=4096).contains(&self.image_size) {
            self.image_size as usize
        } else {
            0
        }
    }
}

/// Resize, crop and `convert('RGB')` as Pillow does: image_size x image_size x 3 bytes
/// (`bmc_preprocess_rgb8`).
pub fn preprocess_rgb8(image: &Image, options: &PreprocessOptions) -> Result<Vec<u8>> {
    let side = options.side();
    let mut rgb = vec![0u8; side * side * 3];
    let raw = options.to_raw();
    // SAFETY: rgb has rgb.len() writable bytes.
    check(unsafe { sys::bmc_preprocess_rgb8(image.as_ptr(), &raw, rgb.as_mut_ptr(), rgb.len()) })?;
    Ok(rgb)
}

/// The full transform: a 3 x S x S float tensor, channel planes, normalised (`bmc_preprocess`).
pub fn preprocess(image: &Image, options: &PreprocessOptions) -> Result<Vec<f32>> {
    let side = options.side();
    let mut tensor = vec![0f32; 3 * side * side];
    let raw = options.to_raw();
    // SAFETY: tensor has tensor.len() writable floats.
    check(unsafe {
        sys::bmc_preprocess(image.as_ptr(), &raw, tensor.as_mut_ptr(), tensor.len())
    })?;
    Ok(tensor)
}
