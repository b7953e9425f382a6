// SPDX-License-Identifier: MIT
//! Text-prompted segmentation: a CLIPSeg-style decoder over the model (`bmc_segmenter_*`).
use std::ffi::CStr;
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::error::{c_path, c_strings, check, Error, Result};
use crate::image::Image;
use crate::model::Model;
use crate::preprocess::PreprocessOptions;

/// A decoder archive loaded for a model; docs/segmentation.md has the format. Immutable:
/// `Send` and `Sync`. It borrows the model.
pub struct Segmenter<'m> {
    raw: NonNull<sys::bmc_segmenter>,
    _model: PhantomData<&'m Model>,
}

// SAFETY: the header says any number of threads may segment with one segmenter at once.
unsafe impl<'m> Send for Segmenter<'m> {}
unsafe impl<'m> Sync for Segmenter<'m> {}

impl<'m> Segmenter<'m> {
    /// Loads a decoder for `model` (`bmc_segmenter_load`). With `check_base_source` the model
    /// must be the very weights the decoder was made for.
    pub fn load<P: AsRef<Path>>(model: &'m Model, path: P, check_base_source: bool) -> Result<Self> {
        let path = c_path(path.as_ref())?;
        let mut options: sys::bmc_segmenter_options = unsafe { std::mem::zeroed() };
        // SAFETY: a valid, writable struct.
        unsafe { sys::bmc_segmenter_options_init(&mut options) };
        options.check_base_source = i32::from(check_base_source);
        let mut out = ptr::null_mut();
        // SAFETY: a live model, a valid C string, options and an out-pointer.
        check(unsafe { sys::bmc_segmenter_load(model.as_ptr(), path.as_ptr(), &options, &mut out) })?;
        Ok(Segmenter { raw: NonNull::new(out).expect("BMC_OK and no segmenter"), _model: PhantomData })
    }

    /// The decoder's name as its exporter recorded it.
    pub fn name(&self) -> &str {
        // SAFETY: a string owned by the segmenter, which &self keeps alive.
        unsafe { CStr::from_ptr(sys::bmc_segmenter_name(self.raw.as_ptr())) }.to_str().unwrap_or("")
    }

    /// Where the decoder came from.
    pub fn source(&self) -> &str {
        // SAFETY: as name().
        unsafe { CStr::from_ptr(sys::bmc_segmenter_source(self.raw.as_ptr())) }.to_str().unwrap_or("")
    }

    /// The side of the logits map (the model's image size).
    pub fn map_size(&self) -> usize {
        // SAFETY: a live segmenter.
        unsafe { sys::bmc_segmenter_map_size(self.raw.as_ptr()) as usize }
    }

    /// The decoder's preprocessing: [`preprocess_rgb8`](crate::preprocess_rgb8) with it shows
    /// what the decoder sees.
    pub fn preprocess_options(&self) -> Result<PreprocessOptions> {
        let mut raw = PreprocessOptions::default().to_raw();
        // SAFETY: an initialised struct.
        check(unsafe { sys::bmc_segmenter_preprocess_options(self.raw.as_ptr(), &mut raw) })?;
        PreprocessOptions::from_raw(&raw)
    }

    /// The decoder's logits: one map_size x map_size map per prompt, end to end, in the
    /// geometry of the preprocessed image (`bmc_segment_logits`).
    pub fn logits(&self, image: &Image, prompts: &[&str]) -> Result<Vec<f32>> {
        let (_owned, pointers) = c_strings(prompts, "a prompt")?;
        let side = self.map_size();
        let mut out = vec![0f32; prompts.len() * side * side];
        // SAFETY: live handles, prompts.len() C strings, out sized.
        check(unsafe {
            sys::bmc_segment_logits(self.raw.as_ptr(), image.as_ptr(), pointers.as_ptr(),
                                    prompts.len(), out.as_mut_ptr(), out.len())
        })?;
        Ok(out)
    }

    /// Probability maps on the image's own grid: one height x width map per prompt, end to
    /// end, values in 0..1 (`bmc_segment`).
    pub fn segment(&self, image: &Image, prompts: &[&str]) -> Result<Vec<f32>> {
        let (_owned, pointers) = c_strings(prompts, "a prompt")?;
        let mut out = vec![0f32; prompts.len() * image.width() * image.height()];
        // SAFETY: live handles, prompts.len() C strings, out sized.
        check(unsafe {
            sys::bmc_segment(self.raw.as_ptr(), image.as_ptr(), pointers.as_ptr(), prompts.len(),
                             out.as_mut_ptr(), out.len())
        })?;
        Ok(out)
    }
}

impl<'m> Drop for Segmenter<'m> {
    fn drop(&mut self) {
        // SAFETY: we own the segmenter; the model outlives it ('m).
        unsafe { sys::bmc_segmenter_free(self.raw.as_ptr()) }
    }
}

/// 255 where a probability exceeds `threshold`, else 0 (NaN: 0) (`bmc_mask_threshold`).
pub fn mask_threshold(probabilities: &[f32], threshold: f32) -> Result<Vec<u8>> {
    let mut mask = vec![0u8; probabilities.len()];
    // SAFETY: mask holds probabilities.len() bytes.
    check(unsafe {
        sys::bmc_mask_threshold(probabilities.as_ptr(), probabilities.len(), threshold,
                                mask.as_mut_ptr())
    })?;
    Ok(mask)
}

/// The image as width x height x 3 RGB bytes with `color` blended in at opacity `alpha`
/// wherever the mask (width x height bytes) is non-zero, as Pillow's composite of a blend
/// computes it (`bmc_mask_overlay`).
pub fn mask_overlay(image: &Image, mask: &[u8], color: [u8; 3], alpha: f32) -> Result<Vec<u8>> {
    if mask.len() < image.width() * image.height() {
        return Err(Error::invalid("the mask is smaller than the image"));
    }
    let mut rgb = vec![0u8; image.width() * image.height() * 3];
    // SAFETY: mask.len() bytes in, rgb sized for the image.
    check(unsafe {
        sys::bmc_mask_overlay(image.as_ptr(), mask.as_ptr(), mask.len(), color.as_ptr(), alpha,
                              rgb.as_mut_ptr(), rgb.len())
    })?;
    Ok(rgb)
}
