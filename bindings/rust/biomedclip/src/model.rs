// SPDX-License-Identifier: MIT
//! Model bundles and the image and text encoders.
use std::any::Any;
use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_void};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::error::{c_path, c_string, c_strings, check, Error, Result};
use crate::image::Image;
use crate::matrix::Matrix;
use crate::preprocess::PreprocessOptions;
use crate::tokenizer::ModelTokenizer;

/// Numeric types the networks can run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    /// CUDA only.
    F16,
    /// CUDA, and CPUs with AVX512_BF16 or AMX-BF16.
    BF16,
}

/// Where and how a model runs; the default is CPU, float32.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelOptions {
    /// "cpu", "cuda" or "cuda:N".
    pub device: String,
    pub dtype: Dtype,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions { device: "cpu".to_string(), dtype: Dtype::F32 }
    }
}

/// A loaded BiomedCLIP model bundle. Immutable: `Send` and `Sync`, so threads share one
/// (e.g. through `Arc` or scoped threads), each with its own encoders, which borrow it.
pub struct Model {
    raw: NonNull<sys::bmc_model>,
}

// SAFETY: the header says a loaded model is immutable and may be used by any number of threads
// at once, each through its own encoders; freeing needs exclusive access, which Drop has.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Model {
    pub(crate) fn as_ptr(&self) -> *const sys::bmc_model {
        self.raw.as_ptr()
    }

    /// Loads a bundle on the CPU in float32 (`bmc_model_load`).
    pub fn load<P: AsRef<Path>>(path: P) -> Result<Model> {
        Model::load_with(path, &ModelOptions::default())
    }

    /// Loads a bundle on a device and dtype.
    pub fn load_with<P: AsRef<Path>>(path: P, options: &ModelOptions) -> Result<Model> {
        let path = c_path(path.as_ref())?;
        let device = c_string(&options.device, "the device")?;
        let mut raw: sys::bmc_model_options = unsafe { std::mem::zeroed() };
        // SAFETY: raw is a valid, writable struct; device outlives the call (copied at load).
        unsafe { sys::bmc_model_options_init(&mut raw) };
        raw.device = device.as_ptr();
        raw.dtype = match options.dtype {
            Dtype::F32 => sys::BMC_DTYPE_F32,
            Dtype::F16 => sys::BMC_DTYPE_F16,
            Dtype::BF16 => sys::BMC_DTYPE_BF16,
        };
        let mut out = ptr::null_mut();
        check(unsafe { sys::bmc_model_load(path.as_ptr(), &raw, &mut out) })?;
        Ok(Model { raw: NonNull::new(out).expect("BMC_OK and no model") })
    }

    /// The joint embedding size (512 for BiomedCLIP).
    pub fn embed_dim(&self) -> usize {
        // SAFETY: a live model.
        unsafe { sys::bmc_model_embed_dim(self.as_ptr()) as usize }
    }

    /// The text context in tokens, [CLS] and [SEP] included.
    pub fn context_length(&self) -> usize {
        // SAFETY: a live model.
        unsafe { sys::bmc_model_context_length(self.as_ptr()) as usize }
    }

    /// The multiplier exp(logit_scale) applied to cosine similarities.
    pub fn logit_scale(&self) -> f32 {
        // SAFETY: a live model.
        unsafe { sys::bmc_model_logit_scale(self.as_ptr()) }
    }

    /// The bundle's name.
    pub fn name(&self) -> &str {
        // SAFETY: a static string owned by the model, which &self keeps alive.
        unsafe { CStr::from_ptr(sys::bmc_model_name(self.as_ptr())) }.to_str().unwrap_or("")
    }

    /// Where the weights came from (a checkpoint digest, or "random seed N").
    pub fn source(&self) -> &str {
        // SAFETY: as name().
        unsafe { CStr::from_ptr(sys::bmc_model_source(self.as_ptr())) }.to_str().unwrap_or("")
    }

    /// The model's own preprocessing, for [`preprocess`](crate::preprocess).
    pub fn preprocess_options(&self) -> Result<PreprocessOptions> {
        let mut raw = PreprocessOptions::default().to_raw();
        // SAFETY: raw is an initialised struct.
        check(unsafe { sys::bmc_model_preprocess_options(self.as_ptr(), &mut raw) })?;
        PreprocessOptions::from_raw(&raw)
    }

    /// The tokenizer of the bundle's vocabulary, owned by the model.
    pub fn tokenizer(&self) -> ModelTokenizer<'_> {
        // SAFETY: a live model; the tokenizer lives as long as it.
        ModelTokenizer::new(unsafe { sys::bmc_model_tokenizer(self.as_ptr()) }, self)
    }

    /// A new image encoder with the default options.
    pub fn image_encoder(&self) -> Result<ImageEncoder<'_>> {
        ImageEncoder::new(self, EncoderOptions::default())
    }

    /// A new text encoder with the default options.
    pub fn text_encoder(&self) -> Result<TextEncoder<'_>> {
        TextEncoder::new(self, EncoderOptions::default())
    }

    /// logit_scale x cosine similarity of every image embedding with every text embedding
    /// (each a list of embed_dim-float rows): an images x texts matrix (`bmc_model_logits`).
    pub fn logits(&self, image_embeddings: &[f32], text_embeddings: &[f32]) -> Result<Matrix> {
        let dim = self.embed_dim();
        let images = rows_of(image_embeddings, dim, "image_embeddings")?;
        let texts = rows_of(text_embeddings, dim, "text_embeddings")?;
        let mut out = Matrix::zeros(images, texts);
        // SAFETY: the inputs hold images and texts rows of dim floats; out is sized.
        check(unsafe {
            sys::bmc_model_logits(self.as_ptr(), image_embeddings.as_ptr(), images,
                                  text_embeddings.as_ptr(), texts, out.data.as_mut_ptr(),
                                  out.data.len())
        })?;
        Ok(out)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: encoders and classifiers borrow the model, so none is left.
        unsafe { sys::bmc_model_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Model({:?}, embed_dim {})", self.name(), self.embed_dim())
    }
}

/// The number of `dim`-float rows in `values`, which must be a whole number of them.
pub(crate) fn rows_of(values: &[f32], dim: usize, what: &str) -> Result<usize> {
    if dim == 0 || values.len() % dim != 0 {
        return Err(Error::invalid(format!(
            "{} holds {} floats, not rows of {}",
            what,
            values.len(),
            dim
        )));
    }
    Ok(values.len() / dim)
}

/// A progress callback: called between batches with (done, total); return true to cancel.
pub type ProgressFn = Box<dyn FnMut(usize, usize) -> bool + Send>;

/// Encoder options; the default is batches of 32, truncating long texts, no progress callback.
pub struct EncoderOptions {
    /// Items per forward pass.
    pub batch_size: i32,
    /// Text encoders: truncate texts longer than the context (else `Status::Limit`).
    pub truncate: bool,
    /// Called between batches; returning true cancels the call with `Status::Cancelled`. A
    /// panic in it cancels the call and is resumed once the call has returned.
    pub progress: Option<ProgressFn>,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        let mut raw: sys::bmc_encoder_options = unsafe { std::mem::zeroed() };
        // SAFETY: raw is a valid, writable struct.
        unsafe { sys::bmc_encoder_options_init(&mut raw) };
        EncoderOptions { batch_size: raw.batch_size, truncate: raw.truncate != 0, progress: None }
    }
}

/// The progress callback and a panic it raised, at a fixed address the library calls back with.
struct Progress {
    callback: ProgressFn,
    panic: Option<Box<dyn Any + Send>>,
}

unsafe extern "C" fn progress_trampoline(user_data: *mut c_void, done: usize, total: usize) -> i32 {
    // SAFETY: user_data is the encoder's boxed Progress, alive while the encoder is.
    let progress = &mut *(user_data as *mut Progress);
    match panic::catch_unwind(AssertUnwindSafe(|| (progress.callback)(done, total))) {
        Ok(cancel) => i32::from(cancel),
        Err(payload) => {
            progress.panic = Some(payload);
            1
        }
    }
}

/// The C options and the boxed progress state they point to.
fn raw_encoder_options(options: EncoderOptions) -> (sys::bmc_encoder_options, Option<Box<Progress>>) {
    let mut raw: sys::bmc_encoder_options = unsafe { std::mem::zeroed() };
    // SAFETY: raw is a valid, writable struct.
    unsafe { sys::bmc_encoder_options_init(&mut raw) };
    raw.batch_size = options.batch_size;
    raw.truncate = i32::from(options.truncate);
    let mut progress = options.progress.map(|callback| Box::new(Progress { callback, panic: None }));
    if let Some(state) = progress.as_mut() {
        raw.progress_fn = Some(progress_trampoline);
        raw.progress_user_data = &mut **state as *mut Progress as *mut c_void;
    }
    (raw, progress)
}

/// After a call that may have run the progress callback: resumes a panic the callback raised,
/// else turns the call's status into the result.
fn finish(status: sys::bmc_status, progress: &mut Option<Box<Progress>>) -> Result<()> {
    if let Some(payload) = progress.as_mut().and_then(|p| p.panic.take()) {
        panic::resume_unwind(payload);
    }
    check(status)
}

/// Runs the image tower (`bmc_image_encoder_*`). A per-thread context over a shared model:
/// `Send` but not `Sync`, and encoding takes `&mut self`.
pub struct ImageEncoder<'m> {
    raw: NonNull<sys::bmc_image_encoder>,
    dim: usize,
    progress: Option<Box<Progress>>,
    model: &'m Model,
}

// SAFETY: an encoder is not tied to the thread that made it, only never used by two at once
// (&mut self, and no Sync). The progress callback is Send.
unsafe impl<'m> Send for ImageEncoder<'m> {}

impl<'m> ImageEncoder<'m> {
    /// A new image encoder for `model` (`bmc_image_encoder_create`).
    pub fn new(model: &'m Model, options: EncoderOptions) -> Result<Self> {
        let (raw_options, progress) = raw_encoder_options(options);
        let mut out = ptr::null_mut();
        // SAFETY: a live model and valid options; progress is boxed and kept with the encoder.
        check(unsafe { sys::bmc_image_encoder_create(model.as_ptr(), &raw_options, &mut out) })?;
        Ok(ImageEncoder {
            raw: NonNull::new(out).expect("BMC_OK and no encoder"),
            dim: model.embed_dim(),
            progress,
            model,
        })
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut sys::bmc_image_encoder {
        self.raw.as_ptr()
    }

    /// The model the encoder runs.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// The result of a call made with this encoder (see `finish`).
    pub(crate) fn finish_call(&mut self, status: sys::bmc_status) -> Result<()> {
        finish(status, &mut self.progress)
    }

    /// L2-normalised embeddings of `images`, one row each.
    pub fn encode(&mut self, images: &[&Image]) -> Result<Matrix> {
        self.encode_flags(images, 0)
    }

    /// The projection's raw output for `images`, one row each.
    pub fn encode_raw(&mut self, images: &[&Image]) -> Result<Matrix> {
        self.encode_flags(images, sys::BMC_ENCODE_RAW)
    }

    fn encode_flags(&mut self, images: &[&Image], flags: u32) -> Result<Matrix> {
        let pointers: Vec<*const sys::bmc_image> = images.iter().map(|i| i.as_ptr()).collect();
        let mut out = Matrix::zeros(images.len(), self.dim);
        // SAFETY: pointers are live images; out holds len x dim floats.
        let status = unsafe {
            sys::bmc_image_encoder_encode(self.raw.as_ptr(), pointers.as_ptr(), pointers.len(),
                                          flags, out.data.as_mut_ptr(), out.data.len())
        };
        self.finish_call(status)?;
        Ok(out)
    }

    /// Embeddings of `count` preprocessed 3 x S x S tensors laid end to end in `tensors`, as
    /// [`preprocess`](crate::preprocess) makes them; L2-normalised unless `raw`.
    pub fn encode_tensors(&mut self, tensors: &[f32], count: usize, raw: bool) -> Result<Matrix> {
        let flags = if raw { sys::BMC_ENCODE_RAW } else { 0 };
        let mut out = Matrix::zeros(count, self.dim);
        // SAFETY: the library checks tensors.len() against count; out is sized.
        let status = unsafe {
            sys::bmc_image_encoder_encode_tensors(self.raw.as_ptr(), tensors.as_ptr(),
                                                  tensors.len(), count, flags,
                                                  out.data.as_mut_ptr(), out.data.len())
        };
        self.finish_call(status)?;
        Ok(out)
    }

    /// Embeddings of the PNG and JPEG files at `paths`, in order, L2-normalised unless `raw`
    /// (`bmc_image_encoder_encode_files`): bit for bit what [`encode`](Self::encode) gives for
    /// the files opened with [`Image::open`], while the library decodes the next batch on its
    /// own threads as the model runs the current one. The first file that cannot be read fails
    /// the call; the error's message names it.
    pub fn encode_files<P: AsRef<Path>>(&mut self, paths: &[P], raw: bool) -> Result<Matrix> {
        let owned = paths.iter().map(|p| c_path(p.as_ref())).collect::<Result<Vec<_>>>()?;
        let pointers: Vec<*const c_char> = owned.iter().map(|p| p.as_ptr()).collect();
        let flags = if raw { sys::BMC_ENCODE_RAW } else { 0 };
        let mut out = Matrix::zeros(paths.len(), self.dim);
        // SAFETY: pointers are C strings kept alive by owned; out holds len x dim floats.
        let status = unsafe {
            sys::bmc_image_encoder_encode_files(self.raw.as_ptr(), pointers.as_ptr(),
                                                pointers.len(), flags, out.data.as_mut_ptr(),
                                                out.data.len())
        };
        self.finish_call(status)?;
        Ok(out)
    }
}

impl<'m> Drop for ImageEncoder<'m> {
    fn drop(&mut self) {
        // SAFETY: we own the encoder; the model outlives it ('m).
        unsafe { sys::bmc_image_encoder_free(self.raw.as_ptr()) }
    }
}

/// Tokenizes and runs the text tower (`bmc_text_encoder_*`). `Send` but not `Sync`.
pub struct TextEncoder<'m> {
    raw: NonNull<sys::bmc_text_encoder>,
    dim: usize,
    progress: Option<Box<Progress>>,
    _model: PhantomData<&'m Model>,
}

// SAFETY: as for ImageEncoder.
unsafe impl<'m> Send for TextEncoder<'m> {}

impl<'m> TextEncoder<'m> {
    /// A new text encoder for `model` (`bmc_text_encoder_create`).
    pub fn new(model: &'m Model, options: EncoderOptions) -> Result<Self> {
        let (raw_options, progress) = raw_encoder_options(options);
        let mut out = ptr::null_mut();
        // SAFETY: as for ImageEncoder::new.
        check(unsafe { sys::bmc_text_encoder_create(model.as_ptr(), &raw_options, &mut out) })?;
        Ok(TextEncoder {
            raw: NonNull::new(out).expect("BMC_OK and no encoder"),
            dim: model.embed_dim(),
            progress,
            _model: PhantomData,
        })
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut sys::bmc_text_encoder {
        self.raw.as_ptr()
    }

    /// The result of a call made with this encoder (see `finish`).
    pub(crate) fn finish_call(&mut self, status: sys::bmc_status) -> Result<()> {
        finish(status, &mut self.progress)
    }

    pub(crate) fn embed_dim(&self) -> usize {
        self.dim
    }

    /// L2-normalised embeddings of `texts`, one row each.
    pub fn encode(&mut self, texts: &[&str]) -> Result<Matrix> {
        self.encode_flags(texts, 0)
    }

    /// The projection's raw output for `texts`, one row each.
    pub fn encode_raw(&mut self, texts: &[&str]) -> Result<Matrix> {
        self.encode_flags(texts, sys::BMC_ENCODE_RAW)
    }

    fn encode_flags(&mut self, texts: &[&str], flags: u32) -> Result<Matrix> {
        let (_owned, pointers) = c_strings(texts, "a text")?;
        let mut out = Matrix::zeros(texts.len(), self.dim);
        // SAFETY: pointers are valid C strings kept alive by _owned; out is sized.
        let status = unsafe {
            sys::bmc_text_encoder_encode(self.raw.as_ptr(), pointers.as_ptr(), pointers.len(),
                                         flags, out.data.as_mut_ptr(), out.data.len())
        };
        self.finish_call(status)?;
        Ok(out)
    }
}

impl<'m> Drop for TextEncoder<'m> {
    fn drop(&mut self) {
        // SAFETY: we own the encoder; the model outlives it ('m).
        unsafe { sys::bmc_text_encoder_free(self.raw.as_ptr()) }
    }
}
