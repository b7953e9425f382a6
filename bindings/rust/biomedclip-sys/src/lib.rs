// SPDX-License-Identifier: MIT
//! Raw FFI declarations of libbiomedclip, written by hand from `include/biomedclip.h`.
//!
//! Everything here mirrors the C header one to one (names, constants, struct layouts,
//! signatures); read the header for what each function does, who owns what, its errors and
//! its thread-safety. `tests/check_rust_sys.sh` fails when this file and the header disagree.
//! The safe interface is the `biomedclip` crate.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_void};

// ---- versions, statuses --------------------------------------------------------------------

pub const BMC_VERSION_MAJOR: u32 = 0;
pub const BMC_VERSION_MINOR: u32 = 1;
pub const BMC_VERSION_PATCH: u32 = 0;
pub const BMC_VERSION_NUMBER: u32 =
    BMC_VERSION_MAJOR * 10000 + BMC_VERSION_MINOR * 100 + BMC_VERSION_PATCH;
pub const BMC_VERSION_STRING: &str = "0.1.0";

pub type bmc_status = i32;

pub const BMC_OK: bmc_status = 0;
pub const BMC_ERR_INVALID_ARGUMENT: bmc_status = 1;
pub const BMC_ERR_OUT_OF_MEMORY: bmc_status = 2;
pub const BMC_ERR_IO: bmc_status = 3;
pub const BMC_ERR_CORRUPT_DATA: bmc_status = 4;
pub const BMC_ERR_UNSUPPORTED: bmc_status = 5;
pub const BMC_ERR_LIMIT: bmc_status = 6;
pub const BMC_ERR_BUFFER_TOO_SMALL: bmc_status = 7;
pub const BMC_ERR_INVALID_UTF8: bmc_status = 8;
pub const BMC_ERR_MODEL: bmc_status = 9;
pub const BMC_ERR_VERSION: bmc_status = 10;
pub const BMC_ERR_DEVICE: bmc_status = 11;
pub const BMC_ERR_CANCELLED: bmc_status = 12;
pub const BMC_ERR_INTERNAL: bmc_status = 13;
pub const BMC_ERR_NOT_FOUND: bmc_status = 14;

// ---- runtime configuration --------------------------------------------------------------

pub const BMC_LOG_ERROR: i32 = 0;
pub const BMC_LOG_WARN: i32 = 1;
pub const BMC_LOG_INFO: i32 = 2;
pub const BMC_LOG_DEBUG: i32 = 3;

pub type bmc_log_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: i32, message: *const c_char)>;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_runtime_config {
    pub struct_size: usize,
    pub cpu_threads: i32,
    pub log_fn: bmc_log_fn,
    pub log_user_data: *mut c_void,
    pub log_level: i32,
    pub max_image_width: i64,
    pub max_image_height: i64,
    pub max_image_pixels: i64,
}

// ---- images -------------------------------------------------------------------------------

#[repr(C)]
pub struct bmc_image {
    _private: [u8; 0],
}

pub const BMC_IMAGE_MODE_1: i32 = 1;
pub const BMC_IMAGE_MODE_L: i32 = 2;
pub const BMC_IMAGE_MODE_LA: i32 = 3;
pub const BMC_IMAGE_MODE_P: i32 = 4;
pub const BMC_IMAGE_MODE_RGB: i32 = 5;
pub const BMC_IMAGE_MODE_RGBA: i32 = 6;
pub const BMC_IMAGE_MODE_CMYK: i32 = 7;
pub const BMC_IMAGE_MODE_I: i32 = 8;

pub const BMC_SAMPLE_U8: i32 = 1;
pub const BMC_SAMPLE_U16: i32 = 2;
pub const BMC_SAMPLE_S16: i32 = 3;
pub const BMC_SAMPLE_F32: i32 = 4;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_pixels {
    pub struct_size: usize,
    pub data: *const c_void,
    pub width: i32,
    pub height: i32,
    pub channels: i32,
    pub sample_type: i32,
    pub row_stride: i64,
    pub has_rescale: i32,
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    pub has_window: i32,
    pub window_center: f64,
    pub window_width: f64,
    pub monochrome1: i32,
}

// ---- DICOM files ----------------------------------------------------------------------------

#[repr(C)]
pub struct bmc_dicom {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_dicom_info {
    pub struct_size: usize,
    pub frames: i32,
    pub rows: i32,
    pub columns: i32,
    pub samples_per_pixel: i32,
    pub bits_allocated: i32,
    pub bits_stored: i32,
    pub pixel_representation: i32,
    pub has_rescale: i32,
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    pub window_count: i32,
    pub has_voi_lut_sequence: i32,
    pub photometric: [c_char; 72],
    pub modality: [c_char; 72],
    pub transfer_syntax: [c_char; 72],
    pub voi_lut_function: [c_char; 72],
    pub sop_instance_uid: [c_char; 72],
    pub series_instance_uid: [c_char; 72],
    pub study_instance_uid: [c_char; 72],
    pub no_image_reason: [c_char; 160],
}

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_dicom_frame_options {
    pub struct_size: usize,
    pub frame: i32,
    pub window_index: i32,
    pub has_window: i32,
    pub window_center: f64,
    pub window_width: f64,
    pub has_rescale: i32,
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
}

// ---- preprocessing --------------------------------------------------------------------------

pub const BMC_RESIZE_SHORTEST_CROP: i32 = 1;
pub const BMC_RESIZE_SQUASH: i32 = 2;
pub const BMC_FILTER_NEAREST: i32 = 0;
pub const BMC_FILTER_BILINEAR: i32 = 2;
pub const BMC_FILTER_BICUBIC: i32 = 3;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_preprocess_options {
    pub struct_size: usize,
    pub image_size: i32,
    pub resize_mode: i32,
    pub filter: i32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

// ---- tokenizer ------------------------------------------------------------------------------

#[repr(C)]
pub struct bmc_tokenizer {
    _private: [u8; 0],
}

pub const BMC_INVALID_UTF8_ERROR: i32 = 0;
pub const BMC_INVALID_UTF8_REPLACE: i32 = 1;
pub const BMC_OVERFLOW_TRUNCATE: i32 = 0;
pub const BMC_OVERFLOW_ERROR: i32 = 1;
pub const BMC_TOKEN_PAD: i32 = 0;
pub const BMC_TOKEN_UNK: i32 = 1;
pub const BMC_TOKEN_CLS: i32 = 2;
pub const BMC_TOKEN_SEP: i32 = 3;
pub const BMC_TOKEN_MASK: i32 = 4;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_tokenizer_options {
    pub struct_size: usize,
    pub context_length: i32,
    pub lowercase: i32,
    pub clean: i32,
    pub invalid_utf8: i32,
    pub overflow: i32,
    pub special_tokens: i32,
}

// ---- model bundles and encoders ----------------------------------------------------------

#[repr(C)]
pub struct bmc_model {
    _private: [u8; 0],
}

#[repr(C)]
pub struct bmc_image_encoder {
    _private: [u8; 0],
}

#[repr(C)]
pub struct bmc_text_encoder {
    _private: [u8; 0],
}

pub const BMC_DTYPE_F32: i32 = 1;
pub const BMC_DTYPE_F16: i32 = 2;
pub const BMC_DTYPE_BF16: i32 = 3;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_model_options {
    pub struct_size: usize,
    pub device: *const c_char,
    pub dtype: i32,
}

pub type bmc_progress_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, done: usize, total: usize) -> i32>;

pub const BMC_ENCODE_RAW: u32 = 1;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_encoder_options {
    pub struct_size: usize,
    pub batch_size: i32,
    pub truncate: i32,
    pub progress_fn: bmc_progress_fn,
    pub progress_user_data: *mut c_void,
    pub fast_jpeg: i32,
}

// ---- scoring and zero-shot classification ----------------------------------------------------

#[repr(C)]
pub struct bmc_classifier {
    _private: [u8; 0],
}

/// The C string "this is a photo of {}" (without its NUL).
pub const BMC_DEFAULT_TEMPLATE: &str = "this is a photo of {}";

#[repr(C)]
pub struct bmc_multilabel {
    _private: [u8; 0],
}

/// The C strings "{}" and "no {}" (without their NUL): CheXzero's prompt pair.
pub const BMC_DEFAULT_POSITIVE_TEMPLATE: &str = "{}";
pub const BMC_DEFAULT_NEGATIVE_TEMPLATE: &str = "no {}";

// ---- text-prompted segmentation -------------------------------------------------------------

#[repr(C)]
pub struct bmc_segmenter {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_segmenter_options {
    pub struct_size: usize,
    pub check_base_source: i32,
}

// ---- few-shot linear probes -------------------------------------------------------------------

#[repr(C)]
pub struct bmc_probe {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_probe_options {
    pub struct_size: usize,
    pub c: f64,
    pub max_iterations: i32,
    pub tolerance: f64,
}

// ---- visual question answering ---------------------------------------------------------------

#[repr(C)]
pub struct bmc_vqa {
    _private: [u8; 0],
}

pub const BMC_VQA_AUTO: i32 = 0;
pub const BMC_VQA_OPEN: i32 = 1;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_vqa_options {
    pub struct_size: usize,
    pub question_type: i32,
    pub min_probability: f32,
    pub choices: *const *const c_char,
    pub choice_count: usize,
}

// ---- embedding index, retrieval -----------------------------------------------------------

#[repr(C)]
pub struct bmc_index {
    _private: [u8; 0],
}

pub const BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM: u32 = 1;

#[repr(C)]
pub struct bmc_index_set {
    _private: [u8; 0],
}

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_index_search_options {
    pub struct_size: usize,
    pub threads: i32,
}

// ---- caption metrics ------------------------------------------------------------------------

pub const BMC_CAPTION_BLEU_1: i32 = 1;
pub const BMC_CAPTION_BLEU_2: i32 = 2;
pub const BMC_CAPTION_BLEU_3: i32 = 3;
pub const BMC_CAPTION_BLEU_4: i32 = 4;
pub const BMC_CAPTION_ROUGE_L: i32 = 5;
pub const BMC_CAPTION_METEOR: i32 = 6;
pub const BMC_CAPTION_CIDER_D: i32 = 7;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct bmc_caption_options {
    pub struct_size: usize,
    pub bleu_smoothing: i32,
    pub bleu_epsilon: f64,
    pub bleu_k: f64,
    pub rouge_beta: f64,
    pub meteor_alpha: f64,
    pub meteor_beta: f64,
    pub meteor_gamma: f64,
    pub cider_sigma: f64,
}

// ---- functions ------------------------------------------------------------------------------

extern "C" {
    pub fn bmc_version() -> u32;
    pub fn bmc_version_string() -> *const c_char;
    pub fn bmc_status_string(status: bmc_status) -> *const c_char;
    pub fn bmc_last_error() -> *const c_char;

    pub fn bmc_runtime_config_init(config: *mut bmc_runtime_config);
    pub fn bmc_runtime_config_get(config: *mut bmc_runtime_config) -> bmc_status;
    pub fn bmc_configure(config: *const bmc_runtime_config) -> bmc_status;

    pub fn bmc_image_load_file(path: *const c_char, out: *mut *mut bmc_image) -> bmc_status;
    pub fn bmc_image_load_memory(data: *const c_void, size: usize, out: *mut *mut bmc_image)
        -> bmc_status;
    pub fn bmc_image_load_file_draft(path: *const c_char, size: i32, out: *mut *mut bmc_image)
        -> bmc_status;
    pub fn bmc_image_load_memory_draft(data: *const c_void, size: usize, draft_size: i32,
                                       out: *mut *mut bmc_image) -> bmc_status;
    pub fn bmc_pixels_init(pixels: *mut bmc_pixels);
    pub fn bmc_image_from_pixels(pixels: *const bmc_pixels, out: *mut *mut bmc_image) -> bmc_status;
    pub fn bmc_image_info(image: *const bmc_image, width: *mut i32, height: *mut i32,
                          mode: *mut i32) -> bmc_status;
    pub fn bmc_image_to_rgb8(image: *const bmc_image, rgb: *mut u8, size: usize) -> bmc_status;
    pub fn bmc_image_free(image: *mut bmc_image);
    pub fn bmc_png_write_file(path: *const c_char, pixels: *const u8, width: i32, height: i32,
                              channels: i32) -> bmc_status;

    pub fn bmc_dicom_open_file(path: *const c_char, out: *mut *mut bmc_dicom) -> bmc_status;
    pub fn bmc_dicom_open_memory(data: *const c_void, size: usize, out: *mut *mut bmc_dicom)
        -> bmc_status;
    pub fn bmc_dicom_info_init(info: *mut bmc_dicom_info);
    pub fn bmc_dicom_get_info(dicom: *const bmc_dicom, info: *mut bmc_dicom_info) -> bmc_status;
    pub fn bmc_dicom_window(dicom: *const bmc_dicom, index: i32, center: *mut f64,
                            width: *mut f64, explanation: *mut *const c_char) -> bmc_status;
    pub fn bmc_dicom_frame_options_init(options: *mut bmc_dicom_frame_options);
    pub fn bmc_dicom_frame_image(dicom: *const bmc_dicom, options: *const bmc_dicom_frame_options,
                                 out: *mut *mut bmc_image) -> bmc_status;
    pub fn bmc_dicom_free(dicom: *mut bmc_dicom);

    pub fn bmc_preprocess_options_init(options: *mut bmc_preprocess_options);
    pub fn bmc_preprocess_rgb8(image: *const bmc_image, options: *const bmc_preprocess_options,
                               rgb: *mut u8, size: usize) -> bmc_status;
    pub fn bmc_preprocess(image: *const bmc_image, options: *const bmc_preprocess_options,
                          tensor: *mut f32, count: usize) -> bmc_status;

    pub fn bmc_tokenizer_options_init(options: *mut bmc_tokenizer_options);
    pub fn bmc_tokenizer_create_file(vocab_path: *const c_char,
                                     options: *const bmc_tokenizer_options,
                                     out: *mut *mut bmc_tokenizer) -> bmc_status;
    pub fn bmc_tokenizer_create_memory(vocab: *const c_char, size: usize,
                                       options: *const bmc_tokenizer_options,
                                       out: *mut *mut bmc_tokenizer) -> bmc_status;
    pub fn bmc_tokenizer_free(tokenizer: *mut bmc_tokenizer);
    pub fn bmc_tokenizer_encode(tokenizer: *const bmc_tokenizer, text: *const c_char,
                                length: usize, ids: *mut i32, capacity: usize, count: *mut usize,
                                truncated: *mut i32) -> bmc_status;
    pub fn bmc_tokenizer_encode_batch(tokenizer: *const bmc_tokenizer,
                                      texts: *const *const c_char, n: usize, ids: *mut i32,
                                      capacity: usize, lengths: *mut i32, truncated: *mut i32)
        -> bmc_status;
    pub fn bmc_tokenizer_special_id(tokenizer: *const bmc_tokenizer, which: i32, id: *mut i32)
        -> bmc_status;
    pub fn bmc_tokenizer_token(tokenizer: *const bmc_tokenizer, id: i32,
                               token: *mut *const c_char) -> bmc_status;
    pub fn bmc_tokenizer_token_id(tokenizer: *const bmc_tokenizer, token: *const c_char,
                                  id: *mut i32) -> bmc_status;
    pub fn bmc_tokenizer_vocab_size(tokenizer: *const bmc_tokenizer, size: *mut i32)
        -> bmc_status;
    pub fn bmc_tokenizer_context_length(tokenizer: *const bmc_tokenizer,
                                        context_length: *mut i32) -> bmc_status;

    pub fn bmc_model_options_init(options: *mut bmc_model_options);
    pub fn bmc_model_load(path: *const c_char, options: *const bmc_model_options,
                          out: *mut *mut bmc_model) -> bmc_status;
    pub fn bmc_model_free(model: *mut bmc_model);
    pub fn bmc_model_embed_dim(model: *const bmc_model) -> i32;
    pub fn bmc_model_context_length(model: *const bmc_model) -> i32;
    pub fn bmc_model_logit_scale(model: *const bmc_model) -> f32;
    pub fn bmc_model_name(model: *const bmc_model) -> *const c_char;
    pub fn bmc_model_source(model: *const bmc_model) -> *const c_char;
    pub fn bmc_model_preprocess_options(model: *const bmc_model,
                                        options: *mut bmc_preprocess_options) -> bmc_status;
    pub fn bmc_model_tokenizer(model: *const bmc_model) -> *const bmc_tokenizer;
    pub fn bmc_encoder_options_init(options: *mut bmc_encoder_options);
    pub fn bmc_image_encoder_create(model: *const bmc_model, options: *const bmc_encoder_options,
                                    out: *mut *mut bmc_image_encoder) -> bmc_status;
    pub fn bmc_image_encoder_encode(encoder: *mut bmc_image_encoder,
                                    images: *const *const bmc_image, count: usize, flags: u32,
                                    embeddings: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_image_encoder_encode_tensors(encoder: *mut bmc_image_encoder, tensors: *const f32,
                                            tensor_count: usize, count: usize, flags: u32,
                                            embeddings: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_image_encoder_encode_files(encoder: *mut bmc_image_encoder,
                                          paths: *const *const c_char, count: usize, flags: u32,
                                          embeddings: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_image_encoder_free(encoder: *mut bmc_image_encoder);
    pub fn bmc_text_encoder_create(model: *const bmc_model, options: *const bmc_encoder_options,
                                   out: *mut *mut bmc_text_encoder) -> bmc_status;
    pub fn bmc_text_encoder_encode(encoder: *mut bmc_text_encoder, texts: *const *const c_char,
                                   count: usize, flags: u32, embeddings: *mut f32,
                                   capacity: usize) -> bmc_status;
    pub fn bmc_text_encoder_free(encoder: *mut bmc_text_encoder);

    pub fn bmc_cosine_similarity(a: *const f32, rows_a: usize, b: *const f32, rows_b: usize,
                                 dim: usize, out: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_softmax(values: *mut f32, rows: usize, cols: usize) -> bmc_status;
    pub fn bmc_model_logits(model: *const bmc_model, image_embeddings: *const f32,
                            rows_images: usize, text_embeddings: *const f32, rows_texts: usize,
                            out: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_top_k(values: *const f32, count: usize, k: usize, indices: *mut i32) -> bmc_status;
    pub fn bmc_classifier_create(encoder: *mut bmc_text_encoder, labels: *const *const c_char,
                                 label_count: usize, templates: *const *const c_char,
                                 template_count: usize, out: *mut *mut bmc_classifier)
        -> bmc_status;
    pub fn bmc_classifier_label_count(classifier: *const bmc_classifier) -> usize;
    pub fn bmc_classifier_label(classifier: *const bmc_classifier, index: usize) -> *const c_char;
    pub fn bmc_classifier_probabilities(classifier: *const bmc_classifier,
                                        image_embeddings: *const f32, count: usize,
                                        probabilities: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_classify(classifier: *const bmc_classifier, encoder: *mut bmc_image_encoder,
                        image: *const bmc_image, k: usize, label_indices: *mut i32,
                        probabilities: *mut f32) -> bmc_status;
    pub fn bmc_classifier_free(classifier: *mut bmc_classifier);
    pub fn bmc_template_set_count() -> usize;
    pub fn bmc_template_set_name(index: usize) -> *const c_char;
    pub fn bmc_template_set(name: *const c_char, templates: *mut *const *const c_char,
                            count: *mut usize, negative_templates: *mut *const *const c_char,
                            negative_count: *mut usize) -> bmc_status;
    pub fn bmc_multilabel_create(encoder: *mut bmc_text_encoder, labels: *const *const c_char,
                                 label_count: usize, positive_templates: *const *const c_char,
                                 positive_count: usize, negative_templates: *const *const c_char,
                                 negative_count: usize, out: *mut *mut bmc_multilabel)
        -> bmc_status;
    pub fn bmc_multilabel_label_count(scorer: *const bmc_multilabel) -> usize;
    pub fn bmc_multilabel_label(scorer: *const bmc_multilabel, index: usize) -> *const c_char;
    pub fn bmc_multilabel_probabilities(scorer: *const bmc_multilabel,
                                        image_embeddings: *const f32, count: usize,
                                        probabilities: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_multilabel_classify(scorer: *const bmc_multilabel, encoder: *mut bmc_image_encoder,
                                   image: *const bmc_image, probabilities: *mut f32,
                                   capacity: usize) -> bmc_status;
    pub fn bmc_multilabel_free(scorer: *mut bmc_multilabel);

    pub fn bmc_segmenter_options_init(options: *mut bmc_segmenter_options);
    pub fn bmc_segmenter_load(model: *const bmc_model, path: *const c_char,
                              options: *const bmc_segmenter_options,
                              out: *mut *mut bmc_segmenter) -> bmc_status;
    pub fn bmc_segmenter_free(segmenter: *mut bmc_segmenter);
    pub fn bmc_segmenter_name(segmenter: *const bmc_segmenter) -> *const c_char;
    pub fn bmc_segmenter_source(segmenter: *const bmc_segmenter) -> *const c_char;
    pub fn bmc_segmenter_map_size(segmenter: *const bmc_segmenter) -> i32;
    pub fn bmc_segmenter_preprocess_options(segmenter: *const bmc_segmenter,
                                            options: *mut bmc_preprocess_options) -> bmc_status;
    pub fn bmc_segment_logits(segmenter: *const bmc_segmenter, image: *const bmc_image,
                              prompts: *const *const c_char, count: usize, logits: *mut f32,
                              capacity: usize) -> bmc_status;
    pub fn bmc_segment(segmenter: *const bmc_segmenter, image: *const bmc_image,
                       prompts: *const *const c_char, count: usize, probabilities: *mut f32,
                       capacity: usize) -> bmc_status;
    pub fn bmc_mask_threshold(probabilities: *const f32, count: usize, threshold: f32,
                              mask: *mut u8) -> bmc_status;
    pub fn bmc_mask_overlay(image: *const bmc_image, mask: *const u8, mask_size: usize,
                            color: *const u8, alpha: f32, rgb: *mut u8, size: usize)
        -> bmc_status;

    pub fn bmc_vqa_load(model: *const bmc_model, path: *const c_char, out: *mut *mut bmc_vqa)
        -> bmc_status;
    pub fn bmc_vqa_free(vqa: *mut bmc_vqa);
    pub fn bmc_vqa_name(vqa: *const bmc_vqa) -> *const c_char;
    pub fn bmc_vqa_answer_count(vqa: *const bmc_vqa) -> usize;
    pub fn bmc_vqa_answer(vqa: *const bmc_vqa, index: usize) -> *const c_char;
    pub fn bmc_vqa_rule_count(vqa: *const bmc_vqa) -> usize;
    pub fn bmc_vqa_rule_name(vqa: *const bmc_vqa, index: usize) -> *const c_char;
    pub fn bmc_vqa_question_rule(vqa: *const bmc_vqa, question: *const c_char, rule: *mut i32)
        -> bmc_status;
    pub fn bmc_vqa_options_init(options: *mut bmc_vqa_options);
    pub fn bmc_vqa_logits(vqa: *const bmc_vqa, image: *const bmc_image,
                          questions: *const *const c_char, count: usize, logits: *mut f32,
                          capacity: usize) -> bmc_status;
    pub fn bmc_vqa_ask(vqa: *const bmc_vqa, image: *const bmc_image,
                       questions: *const *const c_char, count: usize,
                       options: *const bmc_vqa_options, k: usize, answers: *mut i32,
                       probabilities: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_vqa_statement(question: *const c_char, answer: *const c_char,
                             statement: *mut c_char, capacity: usize, needed: *mut usize)
        -> bmc_status;
    pub fn bmc_vqa_zero_shot(image_encoder: *mut bmc_image_encoder,
                             text_encoder: *mut bmc_text_encoder, image: *const bmc_image,
                             question: *const c_char, candidates: *const *const c_char,
                             count: usize, probabilities: *mut f32, capacity: usize)
        -> bmc_status;

    pub fn bmc_index_create(dim: i32, dtype: i32, out: *mut *mut bmc_index) -> bmc_status;
    pub fn bmc_index_free(index: *mut bmc_index);
    pub fn bmc_index_add(index: *mut bmc_index, vectors: *const f32, count: usize,
                         ids: *const i64, texts: *const *const c_char) -> bmc_status;
    pub fn bmc_index_remove(index: *mut bmc_index, ids: *const i64, count: usize,
                            removed: *mut usize) -> bmc_status;
    pub fn bmc_index_append(index: *mut bmc_index, other: *const bmc_index) -> bmc_status;
    pub fn bmc_index_dim(index: *const bmc_index) -> i32;
    pub fn bmc_index_dtype(index: *const bmc_index) -> i32;
    pub fn bmc_index_count(index: *const bmc_index) -> usize;
    pub fn bmc_index_id_at(index: *const bmc_index, position: usize, id: *mut i64) -> bmc_status;
    pub fn bmc_index_get_vector(index: *const bmc_index, id: i64, vector: *mut f32,
                                capacity: usize) -> bmc_status;
    pub fn bmc_index_get_text(index: *const bmc_index, id: i64, text: *mut c_char,
                              capacity: usize, needed: *mut usize) -> bmc_status;
    pub fn bmc_index_search_options_init(options: *mut bmc_index_search_options);
    pub fn bmc_index_search(index: *const bmc_index, queries: *const f32, query_count: usize,
                            k: i32, options: *const bmc_index_search_options, ids: *mut i64,
                            scores: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_index_save(index: *const bmc_index, path: *const c_char) -> bmc_status;
    pub fn bmc_index_load(path: *const c_char, out: *mut *mut bmc_index) -> bmc_status;
    pub fn bmc_index_map(path: *const c_char, flags: u32, out: *mut *mut bmc_index) -> bmc_status;
    pub fn bmc_index_set_open(paths: *const *const c_char, count: usize, flags: u32,
                              out: *mut *mut bmc_index_set) -> bmc_status;
    pub fn bmc_index_set_open_manifest(path: *const c_char, flags: u32,
                                       out: *mut *mut bmc_index_set) -> bmc_status;
    pub fn bmc_index_set_write_manifest(path: *const c_char, shards: *const *const c_char,
                                        count: usize, flags: u32) -> bmc_status;
    pub fn bmc_index_set_free(set: *mut bmc_index_set);
    pub fn bmc_index_set_shard_count(set: *const bmc_index_set) -> usize;
    pub fn bmc_index_set_dim(set: *const bmc_index_set) -> i32;
    pub fn bmc_index_set_dtype(set: *const bmc_index_set) -> i32;
    pub fn bmc_index_set_count(set: *const bmc_index_set) -> usize;
    pub fn bmc_index_set_shard(set: *const bmc_index_set, shard: usize) -> *const bmc_index;
    pub fn bmc_index_set_find(set: *const bmc_index_set, id: i64, shard: *mut usize) -> bmc_status;
    pub fn bmc_index_set_search(set: *const bmc_index_set, queries: *const f32, query_count: usize,
                                k: i32, options: *const bmc_index_search_options, ids: *mut i64,
                                scores: *mut f32, capacity: usize) -> bmc_status;

    pub fn bmc_index_add_text_file(index: *mut bmc_index, encoder: *mut bmc_text_encoder,
                                   path: *const c_char, first_id: i64, added: *mut usize)
        -> bmc_status;
    pub fn bmc_index_add_image_directory(index: *mut bmc_index, encoder: *mut bmc_image_encoder,
                                         directory: *const c_char, first_id: i64,
                                         added: *mut usize, skipped: *mut usize) -> bmc_status;
    pub fn bmc_index_search_image(index: *const bmc_index, encoder: *mut bmc_image_encoder,
                                  image: *const bmc_image, k: i32, ids: *mut i64,
                                  scores: *mut f32) -> bmc_status;
    pub fn bmc_index_search_text(index: *const bmc_index, encoder: *mut bmc_text_encoder,
                                 text: *const c_char, k: i32, ids: *mut i64, scores: *mut f32)
        -> bmc_status;
    pub fn bmc_compose_query(image_embedding: *const f32, text_embedding: *const f32, dim: usize,
                             text_weight: f32, query: *mut f32) -> bmc_status;
    pub fn bmc_index_search_composed(index: *const bmc_index, image_encoder: *mut bmc_image_encoder,
                                     text_encoder: *mut bmc_text_encoder, image: *const bmc_image,
                                     text: *const c_char, text_weight: f32, k: i32,
                                     ids: *mut i64, scores: *mut f32) -> bmc_status;

    pub fn bmc_caption_options_init(options: *mut bmc_caption_options);
    pub fn bmc_caption_score(metric: i32, candidates: *const *const c_char, count: usize,
                             references: *const *const c_char, reference_counts: *const usize,
                             options: *const bmc_caption_options, corpus_score: *mut f64,
                             per_candidate: *mut f64) -> bmc_status;

    // few-shot linear probes
    pub fn bmc_probe_options_init(options: *mut bmc_probe_options);
    pub fn bmc_probe_train(model: *const bmc_model, embeddings: *const f32, count: usize,
                           classes: *const i32, labels: *const *const c_char, label_count: usize,
                           options: *const bmc_probe_options, out: *mut *mut bmc_probe)
                           -> bmc_status;
    pub fn bmc_probe_free(probe: *mut bmc_probe);
    pub fn bmc_probe_label_count(probe: *const bmc_probe) -> usize;
    pub fn bmc_probe_label(probe: *const bmc_probe, index: usize) -> *const c_char;
    pub fn bmc_probe_dim(probe: *const bmc_probe) -> i32;
    pub fn bmc_probe_model_name(probe: *const bmc_probe) -> *const c_char;
    pub fn bmc_probe_model_source(probe: *const bmc_probe) -> *const c_char;
    pub fn bmc_probe_training(probe: *const bmc_probe, c: *mut f64, iterations: *mut i32,
                              converged: *mut i32) -> bmc_status;
    pub fn bmc_probe_weights(probe: *const bmc_probe, weights: *mut f32, weight_capacity: usize,
                             biases: *mut f32, bias_capacity: usize) -> bmc_status;
    pub fn bmc_probe_probabilities(probe: *const bmc_probe, embeddings: *const f32, count: usize,
                                   probabilities: *mut f32, capacity: usize) -> bmc_status;
    pub fn bmc_probe_save(probe: *const bmc_probe, path: *const c_char) -> bmc_status;
    pub fn bmc_probe_load(model: *const bmc_model, path: *const c_char, out: *mut *mut bmc_probe)
                          -> bmc_status;
}
