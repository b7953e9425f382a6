// SPDX-License-Identifier: MIT
//! Few-shot linear probes: multinomial logistic regression with L2 regularisation trained in the
//! library on image embeddings (`bmc_probe_*`); docs/linear-probe.md has the solver and file.
use std::ffi::CStr;
use std::path::Path;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::classifier::Prediction;
use crate::error::{borrowed_str, c_path, c_strings, check, Error, Result, Status};
use crate::image::Image;
use crate::matrix::Matrix;
use crate::model::{rows_of, ImageEncoder, Model};
use crate::scoring::top_k;

/// Training options of [`Probe::train`]; the default is the library's (C 1, 10000 iterations,
/// tolerance 1e-9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeOptions {
    /// Inverse regularisation strength, scikit-learn's C: > 0 and finite.
    pub c: f64,
    /// L-BFGS iterations at most, >= 1.
    pub max_iterations: i32,
    /// Stop when the largest gradient component is at most this times max(1, its value at the
    /// start), in 0..1.
    pub tolerance: f64,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        let mut raw: sys::bmc_probe_options = unsafe { std::mem::zeroed() };
        // SAFETY: raw is a valid, writable struct.
        unsafe { sys::bmc_probe_options_init(&mut raw) };
        ProbeOptions { c: raw.c, max_iterations: raw.max_iterations, tolerance: raw.tolerance }
    }
}

/// How a probe's training went (`bmc_probe_training`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeTraining {
    /// The C it used.
    pub c: f64,
    /// The L-BFGS iterations it ran.
    pub iterations: i32,
    /// Whether the gradient tolerance was met (false: max_iterations stopped it).
    pub converged: bool,
}

/// A linear probe: scikit-learn's `LogisticRegression(C=c, multi_class="multinomial")` on
/// image embeddings, trained by the library with L-BFGS.
///
/// A probe records the model it was trained for (name, source, embedding size) but does not
/// borrow it: it outlives the model, and [`Probe::load`] checks the record against a model.
/// Immutable: `Send` and `Sync`.
pub struct Probe {
    raw: NonNull<sys::bmc_probe>,
}

// SAFETY: the header says a probe is immutable once made and usable by any number of threads
// at once; freeing needs exclusive access, which Drop has.
unsafe impl Send for Probe {}
unsafe impl Sync for Probe {}

impl Probe {
    fn from_raw(raw: *mut sys::bmc_probe) -> Probe {
        Probe { raw: NonNull::new(raw).expect("BMC_OK and no probe") }
    }

    /// Trains a probe for `model` on `embeddings` (rows of embed_dim floats, most often
    /// [`ImageEncoder::encode_files`]' output), where `example_labels[i]` is the label of row
    /// i (`bmc_probe_train`). The probe's labels are `labels` in that order, each example's
    /// label one of them; an empty `labels` takes the distinct example labels in order of
    /// first appearance. There must be at least two, each with an example. Stopping at
    /// max_iterations is not an error: [`training`](Probe::training) says whether it converged.
    /// Bad sets (one label, a label without examples, NaN or infinite values) are
    /// `Status::InvalidArgument`.
    pub fn train(
        model: &Model,
        embeddings: &[f32],
        example_labels: &[&str],
        labels: &[&str],
        options: &ProbeOptions,
    ) -> Result<Probe> {
        let count = rows_of(embeddings, model.embed_dim(), "embeddings")?;
        if count != example_labels.len() {
            return Err(Error::invalid(format!(
                "{} embeddings but {} example labels",
                count,
                example_labels.len()
            )));
        }
        let mut order: Vec<&str> = labels.to_vec();
        if labels.is_empty() {
            for &label in example_labels {
                if !order.contains(&label) {
                    order.push(label);
                }
            }
        }
        let classes = example_labels
            .iter()
            .enumerate()
            .map(|(i, label)| match order.iter().position(|l| l == label) {
                Some(class) => Ok(class as i32),
                None => Err(Error::invalid(format!(
                    "example {} has the label {:?}, which is not one of the labels",
                    i, label
                ))),
            })
            .collect::<Result<Vec<i32>>>()?;
        // Repeated or empty labels, one label, labels without examples: the library refuses
        // them with its own messages.
        let (_labels, label_pointers) = c_strings(&order, "a label")?;
        let mut raw: sys::bmc_probe_options = unsafe { std::mem::zeroed() };
        // SAFETY: raw is a valid, writable struct.
        unsafe { sys::bmc_probe_options_init(&mut raw) };
        raw.c = options.c;
        raw.max_iterations = options.max_iterations;
        raw.tolerance = options.tolerance;
        let mut out = ptr::null_mut();
        // SAFETY: count rows of embed_dim floats, count class indices, order.len() C strings
        // kept alive by _labels, valid options and an out-pointer.
        check(unsafe {
            sys::bmc_probe_train(model.as_ptr(), embeddings.as_ptr(), count, classes.as_ptr(),
                                 label_pointers.as_ptr(), order.len(), &raw, &mut out)
        })?;
        Ok(Probe::from_raw(out))
    }

    /// Reads a probe file, checking its structure and checksums (`bmc_probe_load`), and, with
    /// `model`, that it was trained for that model (else `Status::Model`, saying what
    /// differs); without one it is read unchecked, e.g. to inspect it.
    pub fn load<P: AsRef<Path>>(path: P, model: Option<&Model>) -> Result<Probe> {
        let path = c_path(path.as_ref())?;
        let model = model.map_or(ptr::null(), Model::as_ptr);
        let mut out = ptr::null_mut();
        // SAFETY: NULL or a live model, a valid C string and an out-pointer.
        check(unsafe { sys::bmc_probe_load(model, path.as_ptr(), &mut out) })?;
        Ok(Probe::from_raw(out))
    }

    /// Writes the probe file (atomically, by renaming a temporary file into place).
    pub fn save<P: AsRef<Path>>(&self, path: P) -> Result<()> {
        let path = c_path(path.as_ref())?;
        // SAFETY: a live probe and a valid C string.
        check(unsafe { sys::bmc_probe_save(self.raw.as_ptr(), path.as_ptr()) })
    }

    /// The number of labels.
    pub fn label_count(&self) -> usize {
        // SAFETY: a live probe.
        unsafe { sys::bmc_probe_label_count(self.raw.as_ptr()) }
    }

    /// Label `index`, in the probe's order (that of the probabilities and weights).
    pub fn label(&self, index: usize) -> Option<&str> {
        // SAFETY: a live probe; the string (or NULL) lives as long as it (so, as &self).
        unsafe { borrowed_str(sys::bmc_probe_label(self.raw.as_ptr(), index)) }
    }

    /// The labels, in order.
    pub fn labels(&self) -> Vec<&str> {
        (0..self.label_count()).filter_map(|i| self.label(i)).collect()
    }

    /// The embedding size the probe reads.
    pub fn dim(&self) -> usize {
        // SAFETY: a live probe.
        unsafe { sys::bmc_probe_dim(self.raw.as_ptr()) as usize }
    }

    /// The name of the model the probe was trained for ([`Model::name`]).
    pub fn model_name(&self) -> &str {
        // SAFETY: a string owned by the probe, which &self keeps alive.
        unsafe { CStr::from_ptr(sys::bmc_probe_model_name(self.raw.as_ptr())) }.to_str().unwrap_or("")
    }

    /// The source of the model the probe was trained for ([`Model::source`]).
    pub fn model_source(&self) -> &str {
        // SAFETY: as model_name().
        unsafe { CStr::from_ptr(sys::bmc_probe_model_source(self.raw.as_ptr())) }.to_str().unwrap_or("")
    }

    /// How training went; a loaded probe reports what its file records.
    pub fn training(&self) -> Result<ProbeTraining> {
        let (mut c, mut iterations, mut converged) = (0f64, 0i32, 0i32);
        // SAFETY: a live probe and three out-pointers.
        check(unsafe {
            sys::bmc_probe_training(self.raw.as_ptr(), &mut c, &mut iterations, &mut converged)
        })?;
        Ok(ProbeTraining { c, iterations, converged: converged != 0 })
    }

    /// The weights (labels x dim, row k for label k) and the biases (summing to zero)
    /// (`bmc_probe_weights`): scikit-learn's coef_ and intercept_ less its mean, except that a
    /// two-label probe has both rows (scikit-learn keeps the second; the first is its negative).
    pub fn weights(&self) -> Result<(Matrix, Vec<f32>)> {
        let mut weights = Matrix::zeros(self.label_count(), self.dim());
        let mut biases = vec![0f32; self.label_count()];
        // SAFETY: both buffers are sized as the probe says.
        check(unsafe {
            sys::bmc_probe_weights(self.raw.as_ptr(), weights.data.as_mut_ptr(), weights.data.len(),
                                   biases.as_mut_ptr(), biases.len())
        })?;
        Ok((weights, biases))
    }

    /// softmax(W x + b) for each embedding (rows of dim floats, of the kind the probe was
    /// trained on), in label order (`bmc_probe_probabilities`): scikit-learn's predict_proba.
    pub fn probabilities(&self, embeddings: &[f32]) -> Result<Matrix> {
        let labels = self.label_count();
        Matrix::per_row(embeddings, self.dim(), "embeddings", labels, |input, rows, out, len| {
            // SAFETY: a live probe; per_row passes rows of dim floats and len floats out.
            unsafe { sys::bmc_probe_probabilities(self.raw.as_ptr(), input, rows, out, len) }
        })
    }

    /// The most probable label of each embedding (ties: the earlier label, as `bmc_top_k` ranks
    /// them): scikit-learn's predict, with the probability.
    pub fn predict(&self, embeddings: &[f32]) -> Result<Vec<Prediction<'_>>> {
        self.probabilities(embeddings)?
            .rows()
            .map(|row| Ok(self.ranked(row, 1)?.remove(0)))
            .collect()
    }

    /// The `k` most probable labels of one image, most probable first, as
    /// [`Classifier::classify`](crate::Classifier::classify) gives them: the image's embedding
    /// by `encoder`, which must run the model the probe was trained for (else
    /// `Status::Model`), then [`probabilities`](Probe::probabilities).
    pub fn classify(
        &self,
        encoder: &mut ImageEncoder<'_>,
        image: &Image,
        k: usize,
    ) -> Result<Vec<Prediction<'_>>> {
        let model = encoder.model();
        if (model.name(), model.source(), model.embed_dim())
            != (self.model_name(), self.model_source(), self.dim())
        {
            return Err(Error {
                status: Status::Model,
                message: format!(
                    "Probe::classify: the probe was trained for model {:?} ({}, {}-d), the \
                     encoder runs {:?} ({}, {}-d)",
                    self.model_name(), self.model_source(), self.dim(), model.name(),
                    model.source(), model.embed_dim()
                ),
            });
        }
        if k == 0 || k > self.label_count() {
            return Err(Error::invalid(format!("k = {} is outside 1..={}", k, self.label_count())));
        }
        let embedding = encoder.encode(&[image])?;
        let probabilities = self.probabilities(&embedding.data)?;
        self.ranked(probabilities.row(0), k)
    }

    fn ranked(&self, probabilities: &[f32], k: usize) -> Result<Vec<Prediction<'_>>> {
        Ok(top_k(probabilities, k)?
            .into_iter()
            .map(|index| Prediction {
                index,
                label: self.label(index).unwrap_or(""),
                probability: probabilities[index],
            })
            .collect())
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        // SAFETY: we own the probe and nothing else uses it any more.
        unsafe { sys::bmc_probe_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Probe({} labels x {} for {:?})", self.label_count(), self.dim(), self.model_name())
    }
}
