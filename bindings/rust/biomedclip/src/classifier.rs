// SPDX-License-Identifier: MIT
//! Zero-shot classification with prompt templates and template ensembling.
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::error::{c_strings, check, Error, Result};
use crate::image::Image;
use crate::matrix::Matrix;
use crate::model::{rows_of, ImageEncoder, Model, TextEncoder};

/// The template BiomedCLIP's authors use.
pub const DEFAULT_TEMPLATE: &str = sys::BMC_DEFAULT_TEMPLATE;

/// One embedding per label, averaged over prompt templates. Immutable once made: `Send` and
/// `Sync`. It refers to the model it was made from, which it borrows.
pub struct Classifier<'m> {
    raw: NonNull<sys::bmc_classifier>,
    dim: usize,
    _model: PhantomData<&'m Model>,
}

// SAFETY: the header says a classifier is immutable once made and usable by any number of
// threads at once.
unsafe impl<'m> Send for Classifier<'m> {}
unsafe impl<'m> Sync for Classifier<'m> {}

/// One ranked label of [`Classifier::classify`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction<'c> {
    pub index: usize,
    pub label: &'c str,
    pub probability: f32,
}

impl<'m> Classifier<'m> {
    /// Builds the label embeddings with `encoder`: each template holds "{}" once, where the
    /// label goes; an empty `templates` uses [`DEFAULT_TEMPLATE`] (`bmc_classifier_create`).
    pub fn new(encoder: &mut TextEncoder<'m>, labels: &[&str], templates: &[&str]) -> Result<Self> {
        let (_labels, label_pointers) = c_strings(labels, "a label")?;
        let (_templates, template_pointers) = c_strings(templates, "a template")?;
        let templates_ptr =
            if templates.is_empty() { ptr::null() } else { template_pointers.as_ptr() };
        let mut out = ptr::null_mut();
        // SAFETY: valid C string arrays (kept alive above) and a live encoder.
        check(unsafe {
            sys::bmc_classifier_create(encoder.as_mut_ptr(), label_pointers.as_ptr(), labels.len(),
                                       templates_ptr, templates.len(), &mut out)
        })?;
        Ok(Classifier {
            raw: NonNull::new(out).expect("BMC_OK and no classifier"),
            dim: encoder.embed_dim(),
            _model: PhantomData,
        })
    }

    /// The number of labels.
    pub fn label_count(&self) -> usize {
        // SAFETY: a live classifier.
        unsafe { sys::bmc_classifier_label_count(self.raw.as_ptr()) }
    }

    /// Label `index` as given at creation.
    pub fn label(&self, index: usize) -> Option<&str> {
        // SAFETY: a live classifier; the string lives as long as it (so, as &self).
        let label = unsafe { sys::bmc_classifier_label(self.raw.as_ptr(), index) };
        if label.is_null() {
            None
        } else {
            unsafe { CStr::from_ptr(label) }.to_str().ok()
        }
    }

    /// The labels, in order.
    pub fn labels(&self) -> Vec<&str> {
        (0..self.label_count()).filter_map(|i| self.label(i)).collect()
    }

    /// Probabilities over the labels, in label order, for each image embedding (rows of
    /// embed_dim floats) (`bmc_classifier_probabilities`).
    pub fn probabilities(&self, image_embeddings: &[f32]) -> Result<Matrix> {
        let count = rows_of(image_embeddings, self.dim, "image_embeddings")?;
        let mut out = Matrix::zeros(count, self.label_count());
        // SAFETY: count rows of dim floats in; out sized count x labels.
        check(unsafe {
            sys::bmc_classifier_probabilities(self.raw.as_ptr(), image_embeddings.as_ptr(), count,
                                              out.data.as_mut_ptr(), out.data.len())
        })?;
        Ok(out)
    }

    /// The `k` most probable labels of one image, most probable first (`bmc_classify`).
    pub fn classify(
        &self,
        encoder: &mut ImageEncoder<'m>,
        image: &Image,
        k: usize,
    ) -> Result<Vec<Prediction<'_>>> {
        if k == 0 || k > self.label_count() {
            return Err(Error::invalid(format!("k = {} is outside 1..={}", k, self.label_count())));
        }
        let mut indices = vec![0i32; k];
        let mut probabilities = vec![0f32; k];
        // SAFETY: live handles; both buffers hold k entries.
        check(unsafe {
            sys::bmc_classify(self.raw.as_ptr(), encoder.as_mut_ptr(), image.as_ptr(), k,
                              indices.as_mut_ptr(), probabilities.as_mut_ptr())
        })?;
        Ok(indices
            .iter()
            .zip(probabilities)
            .map(|(&index, probability)| Prediction {
                index: index as usize,
                label: self.label(index as usize).unwrap_or(""),
                probability,
            })
            .collect())
    }
}

impl<'m> Drop for Classifier<'m> {
    fn drop(&mut self) {
        // SAFETY: we own the classifier; the model outlives it ('m).
        unsafe { sys::bmc_classifier_free(self.raw.as_ptr()) }
    }
}
