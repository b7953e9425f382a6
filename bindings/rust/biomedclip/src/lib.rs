// SPDX-License-Identifier: MIT
//! Safe Rust interface to libbiomedclip: BiomedCLIP image and text embeddings, zero-shot
//! classification, Pillow-exact preprocessing, the BiomedBERT tokenizer, DICOM pixel data
//! through the library's display pipeline, the embedding index (text-to-image search,
//! captioning by retrieval), caption metrics, text-prompted segmentation, visual question
//! answering and few-shot linear probes.
//!
//! ```no_run
//! use biomedclip::{Classifier, Image, Model};
//!
//! let model = Model::load("model.bmc.pt")?;
//! let mut texts = model.text_encoder()?;
//! let mut images = model.image_encoder()?;
//! let classifier = Classifier::new(&mut texts, &["pneumothorax", "normal lungs"],
//!                                  &["a chest X-ray showing {}."])?;
//! let image = Image::open("chest.png")?;
//! for p in classifier.classify(&mut images, &image, 2)? {
//!     println!("{:6.2}%  {}", 100.0 * p.probability, p.label);
//! }
//! # Ok::<(), biomedclip::Error>(())
//! ```
//!
//! A few labelled images make a [`Probe`] (logistic regression on their embeddings):
//!
//! ```no_run
//! # use biomedclip::{Image, Model, Probe, ProbeOptions};
//! # let model = Model::load("model.bmc.pt")?;
//! # let mut images = model.image_encoder()?;
//! let embeddings = images.encode_files(&["a.png", "b.png", "c.png"], false)?;
//! let options = ProbeOptions { c: 10.0, ..ProbeOptions::default() };
//! let probe = Probe::train(&model, &embeddings.data, &["effusion", "normal", "effusion"], &[],
//!                          &options)?;
//! probe.save("findings.bmcprobe")?;
//! let best = &probe.classify(&mut images, &Image::open("new.png")?, 1)?[0];
//! println!("{} {:.2}", best.label, best.probability);
//! # Ok::<(), biomedclip::Error>(())
//! ```
//!
//! Every handle frees itself on drop. Thread-safety follows the header: a [`Model`], an
//! [`Image`], a [`Tokenizer`], a [`Classifier`], a [`MultiLabel`] scorer, an [`Index`], an
//! [`IndexSet`], a [`Segmenter`], a [`Vqa`] head and a [`Probe`] are `Send + Sync`; encoders are
//! per-thread contexts, `Send` but not `Sync`, and borrow their model, so the model outlives
//! them. Every failure is an [`Error`] with the library's [`Status`] and message.
//!
//! Linking: build.rs of `biomedclip-sys` looks in `BIOMEDCLIP_LIB_DIR`, then asks pkg-config;
//! at run time the loader must find `libbiomedclip.so.0` (installed, or `LD_LIBRARY_PATH`).

pub use biomedclip_sys as sys;

mod captions;
mod classifier;
mod dicom;
mod error;
mod image;
mod index;
mod matrix;
mod model;
mod preprocess;
mod probe;
mod runtime;
mod scoring;
mod segmentation;
mod tokenizer;
mod vqa;

pub use captions::{caption_score, CaptionMetric, CaptionOptions, CaptionScores};
pub use classifier::{
    template_set, template_sets, Classifier, MultiLabel, Prediction, TemplateSet,
    DEFAULT_NEGATIVE_TEMPLATE, DEFAULT_POSITIVE_TEMPLATE, DEFAULT_TEMPLATE,
};
pub use dicom::{Dicom, FrameOptions, Window};
pub use error::{Error, Result, Status};
pub use image::{write_png, Image, Mode, PixelView, Sample};
pub use index::{Index, IndexDtype, IndexSet, SearchResults, Shard};
pub use matrix::Matrix;
pub use model::{Dtype, EncoderOptions, ImageEncoder, Model, ModelOptions, ProgressFn, TextEncoder};
pub use preprocess::{preprocess, preprocess_rgb8, Filter, PreprocessOptions, ResizeMode};
pub use probe::{Probe, ProbeOptions, ProbeTraining};
pub use runtime::{configure, runtime_config, version, RuntimeConfig};
pub use scoring::{compose_query, cosine_similarity, softmax, top_k};
pub use segmentation::{mask_overlay, mask_threshold, Segmenter};
pub use tokenizer::{Encoding, ModelTokenizer, SpecialToken, Tokenizer, TokenizerOptions};
pub use vqa::{vqa_statement, vqa_zero_shot, Answer, Answers, Vqa};
