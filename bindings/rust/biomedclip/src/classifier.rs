// SPDX-License-Identifier: MIT
//! Zero-shot classification with prompt templates and template ensembling: single-label
//! ([`Classifier`]), multi-label ([`MultiLabel`]) and the built-in template sets by modality.
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::error::{borrowed_str, c_string, c_strings, check, Error, Result};
use crate::image::Image;
use crate::matrix::Matrix;
use crate::model::{ImageEncoder, Model, TextEncoder};

/// The template BiomedCLIP's authors use.
pub const DEFAULT_TEMPLATE: &str = sys::BMC_DEFAULT_TEMPLATE;
/// CheXzero's prompt pair, the defaults of [`MultiLabel`].
pub const DEFAULT_POSITIVE_TEMPLATE: &str = sys::BMC_DEFAULT_POSITIVE_TEMPLATE;
pub const DEFAULT_NEGATIVE_TEMPLATE: &str = sys::BMC_DEFAULT_NEGATIVE_TEMPLATE;

/// The templates of a built-in set: `negative[i]` negates `positive[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSet {
    pub positive: Vec<&'static str>,
    pub negative: Vec<&'static str>,
}

/// A static C string of the library as a &str ("" if it is not UTF-8, which the sets never are).
fn static_str(text: *const std::os::raw::c_char) -> &'static str {
    // SAFETY: the library's template strings are static and NUL-terminated.
    unsafe { CStr::from_ptr(text) }.to_str().unwrap_or("")
}

/// The names of the built-in template sets, in the header's order (`bmc_template_set_name`).
pub fn template_sets() -> Vec<&'static str> {
    // SAFETY: no arguments; names are static strings for indices below the count.
    let count = unsafe { sys::bmc_template_set_count() };
    (0..count).map(|i| static_str(unsafe { sys::bmc_template_set_name(i) })).collect()
}

/// The templates of the built-in set `name`, such as "chest-xray" (`bmc_template_set`); an
/// unknown name is [`Status::NotFound`](crate::Status::NotFound).
pub fn template_set(name: &str) -> Result<TemplateSet> {
    let name = c_string(name, "the set name")?;
    let (mut positive, mut negative) = (ptr::null(), ptr::null());
    let (mut positive_count, mut negative_count) = (0usize, 0usize);
    // SAFETY: a valid C string and four out-pointers.
    check(unsafe {
        sys::bmc_template_set(name.as_ptr(), &mut positive, &mut positive_count, &mut negative,
                              &mut negative_count)
    })?;
    // SAFETY: on BMC_OK the arrays are static and hold the counts given.
    let list = |array: *const *const std::os::raw::c_char, count: usize| -> Vec<&'static str> {
        (0..count).map(|i| static_str(unsafe { *array.add(i) })).collect()
    };
    Ok(TemplateSet {
        positive: list(positive, positive_count),
        negative: list(negative, negative_count),
    })
}

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
        // SAFETY: a live classifier; the string (or NULL) lives as long as it (so, as &self).
        unsafe { borrowed_str(sys::bmc_classifier_label(self.raw.as_ptr(), index)) }
    }

    /// The labels, in order.
    pub fn labels(&self) -> Vec<&str> {
        (0..self.label_count()).filter_map(|i| self.label(i)).collect()
    }

    /// Probabilities over the labels, in label order, for each image embedding (rows of
    /// embed_dim floats) (`bmc_classifier_probabilities`).
    pub fn probabilities(&self, image_embeddings: &[f32]) -> Result<Matrix> {
        let (dim, labels) = (self.dim, self.label_count());
        Matrix::per_row(image_embeddings, dim, "image_embeddings", labels, |input, rows, out, len| {
            // SAFETY: a live classifier; per_row passes rows of dim floats and len floats out.
            unsafe { sys::bmc_classifier_probabilities(self.raw.as_ptr(), input, rows, out, len) }
        })
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

/// Multi-label zero-shot scoring as CheXzero does it (`bmc_multilabel_create`): every label gets
/// its own probability, the softmax over its pair of logits with the positive and with the
/// negative templates, independent of the other labels. Immutable once made: `Send` and
/// `Sync`. It borrows the model it was made from.
pub struct MultiLabel<'m> {
    raw: NonNull<sys::bmc_multilabel>,
    dim: usize,
    _model: PhantomData<&'m Model>,
}

// SAFETY: the header says a scorer is immutable once made and usable by any number of threads
// at once.
unsafe impl<'m> Send for MultiLabel<'m> {}
unsafe impl<'m> Sync for MultiLabel<'m> {}

impl<'m> MultiLabel<'m> {
    /// Builds the label embeddings with `encoder`: each template holds "{}" once; an empty
    /// `positive` uses [`DEFAULT_POSITIVE_TEMPLATE`], an empty `negative`
    /// [`DEFAULT_NEGATIVE_TEMPLATE`].
    pub fn new(
        encoder: &mut TextEncoder<'m>,
        labels: &[&str],
        positive: &[&str],
        negative: &[&str],
    ) -> Result<Self> {
        let (_labels, label_pointers) = c_strings(labels, "a label")?;
        let (_positive, positive_pointers) = c_strings(positive, "a template")?;
        let (_negative, negative_pointers) = c_strings(negative, "a template")?;
        let or_null = |pointers: &Vec<*const std::os::raw::c_char>| {
            if pointers.is_empty() { ptr::null() } else { pointers.as_ptr() }
        };
        let mut out = ptr::null_mut();
        // SAFETY: valid C string arrays (kept alive above) and a live encoder.
        let status = unsafe {
            sys::bmc_multilabel_create(encoder.as_mut_ptr(), label_pointers.as_ptr(), labels.len(),
                                       or_null(&positive_pointers), positive.len(),
                                       or_null(&negative_pointers), negative.len(), &mut out)
        };
        encoder.finish_call(status)?;
        Ok(MultiLabel {
            raw: NonNull::new(out).expect("BMC_OK and no scorer"),
            dim: encoder.embed_dim(),
            _model: PhantomData,
        })
    }

    /// A scorer with both sides of the built-in set `name` ([`template_set`]).
    pub fn with_template_set(encoder: &mut TextEncoder<'m>, labels: &[&str], name: &str) -> Result<Self> {
        let set = template_set(name)?;
        MultiLabel::new(encoder, labels, &set.positive, &set.negative)
    }

    /// The number of labels.
    pub fn label_count(&self) -> usize {
        // SAFETY: a live scorer.
        unsafe { sys::bmc_multilabel_label_count(self.raw.as_ptr()) }
    }

    /// Label `index` as given at creation.
    pub fn label(&self, index: usize) -> Option<&str> {
        // SAFETY: a live scorer; the string (or NULL) lives as long as it (so, as &self).
        unsafe { borrowed_str(sys::bmc_multilabel_label(self.raw.as_ptr(), index)) }
    }

    /// The labels, in order.
    pub fn labels(&self) -> Vec<&str> {
        (0..self.label_count()).filter_map(|i| self.label(i)).collect()
    }

    /// Each label's probability, in label order, for each image embedding (rows of embed_dim
    /// floats) (`bmc_multilabel_probabilities`).
    pub fn probabilities(&self, image_embeddings: &[f32]) -> Result<Matrix> {
        let (dim, labels) = (self.dim, self.label_count());
        Matrix::per_row(image_embeddings, dim, "image_embeddings", labels, |input, rows, out, len| {
            // SAFETY: a live scorer; per_row passes rows of dim floats and len floats out.
            unsafe { sys::bmc_multilabel_probabilities(self.raw.as_ptr(), input, rows, out, len) }
        })
    }

    /// Each label's probability for one image, in label order (`bmc_multilabel_classify`).
    pub fn classify(&self, encoder: &mut ImageEncoder<'m>, image: &Image) -> Result<Vec<f32>> {
        let mut out = vec![0f32; self.label_count()];
        // SAFETY: live handles; out holds label_count floats.
        let status = unsafe {
            sys::bmc_multilabel_classify(self.raw.as_ptr(), encoder.as_mut_ptr(), image.as_ptr(),
                                         out.as_mut_ptr(), out.len())
        };
        encoder.finish_call(status)?;
        Ok(out)
    }
}

impl<'m> Drop for MultiLabel<'m> {
    fn drop(&mut self) {
        // SAFETY: we own the scorer; the model outlives it ('m).
        unsafe { sys::bmc_multilabel_free(self.raw.as_ptr()) }
    }
}
