# SPDX-License-Identifier: MIT
"""ctypes declarations of include/biomedclip.h: constants, structs and function prototypes.

This module mirrors the header one to one and adds nothing; the rest of the package builds the
Pythonic interface on it. tests/test_abi.py checks it against the header.
"""
import ctypes
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int32,
                    c_int64, c_size_t, c_uint8, c_uint32, c_void_p)

from . import _library

lib = _library.load()

# ---- constants (the header's pinned values) ----------------------------------------------------
BMC_OK = 0
BMC_ERR_INVALID_ARGUMENT = 1
BMC_ERR_OUT_OF_MEMORY = 2
BMC_ERR_IO = 3
BMC_ERR_CORRUPT_DATA = 4
BMC_ERR_UNSUPPORTED = 5
BMC_ERR_LIMIT = 6
BMC_ERR_BUFFER_TOO_SMALL = 7
BMC_ERR_INVALID_UTF8 = 8
BMC_ERR_MODEL = 9
BMC_ERR_VERSION = 10
BMC_ERR_DEVICE = 11
BMC_ERR_CANCELLED = 12
BMC_ERR_INTERNAL = 13
BMC_ERR_NOT_FOUND = 14

BMC_LOG_ERROR = 0
BMC_LOG_WARN = 1
BMC_LOG_INFO = 2
BMC_LOG_DEBUG = 3

BMC_IMAGE_MODE_1 = 1
BMC_IMAGE_MODE_L = 2
BMC_IMAGE_MODE_LA = 3
BMC_IMAGE_MODE_P = 4
BMC_IMAGE_MODE_RGB = 5
BMC_IMAGE_MODE_RGBA = 6
BMC_IMAGE_MODE_CMYK = 7
BMC_IMAGE_MODE_I = 8

BMC_SAMPLE_U8 = 1
BMC_SAMPLE_U16 = 2
BMC_SAMPLE_S16 = 3
BMC_SAMPLE_F32 = 4

BMC_RESIZE_SHORTEST_CROP = 1
BMC_RESIZE_SQUASH = 2
BMC_FILTER_NEAREST = 0
BMC_FILTER_BILINEAR = 2
BMC_FILTER_BICUBIC = 3

BMC_INVALID_UTF8_ERROR = 0
BMC_INVALID_UTF8_REPLACE = 1
BMC_OVERFLOW_TRUNCATE = 0
BMC_OVERFLOW_ERROR = 1
BMC_TOKEN_PAD = 0
BMC_TOKEN_UNK = 1
BMC_TOKEN_CLS = 2
BMC_TOKEN_SEP = 3
BMC_TOKEN_MASK = 4

BMC_DTYPE_F32 = 1
BMC_DTYPE_F16 = 2
BMC_DTYPE_BF16 = 3

BMC_ENCODE_RAW = 1
BMC_DEFAULT_TEMPLATE = "this is a photo of {}"
BMC_DEFAULT_POSITIVE_TEMPLATE = "{}"
BMC_DEFAULT_NEGATIVE_TEMPLATE = "no {}"

BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM = 1

BMC_VQA_AUTO = 0
BMC_VQA_OPEN = 1

BMC_CAPTION_BLEU_1 = 1
BMC_CAPTION_BLEU_2 = 2
BMC_CAPTION_BLEU_3 = 3
BMC_CAPTION_BLEU_4 = 4
BMC_CAPTION_ROUGE_L = 5
BMC_CAPTION_METEOR = 6
BMC_CAPTION_CIDER_D = 7

# ---- opaque handles ------------------------------------------------------------------------------


class bmc_image(Structure):
    pass


class bmc_dicom(Structure):
    pass


class bmc_tokenizer(Structure):
    pass


class bmc_model(Structure):
    pass


class bmc_image_encoder(Structure):
    pass


class bmc_text_encoder(Structure):
    pass


class bmc_classifier(Structure):
    pass


class bmc_multilabel(Structure):
    pass


class bmc_index(Structure):
    pass


class bmc_index_set(Structure):
    pass


class bmc_segmenter(Structure):
    pass


class bmc_vqa(Structure):
    pass


# ---- callbacks and option structs ------------------------------------------------------------
bmc_status = c_int32
bmc_log_fn = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)
bmc_progress_fn = CFUNCTYPE(c_int32, c_void_p, c_size_t, c_size_t)


class bmc_runtime_config(Structure):
    _fields_ = [("struct_size", c_size_t), ("cpu_threads", c_int32), ("log_fn", bmc_log_fn),
                ("log_user_data", c_void_p), ("log_level", c_int32),
                ("max_image_width", c_int64), ("max_image_height", c_int64),
                ("max_image_pixels", c_int64)]


class bmc_pixels(Structure):
    _fields_ = [("struct_size", c_size_t), ("data", c_void_p), ("width", c_int32),
                ("height", c_int32), ("channels", c_int32), ("sample_type", c_int32),
                ("row_stride", c_int64), ("has_rescale", c_int32), ("rescale_slope", c_double),
                ("rescale_intercept", c_double), ("has_window", c_int32),
                ("window_center", c_double), ("window_width", c_double),
                ("monochrome1", c_int32)]


class bmc_dicom_info(Structure):
    _fields_ = [("struct_size", c_size_t), ("frames", c_int32), ("rows", c_int32),
                ("columns", c_int32), ("samples_per_pixel", c_int32),
                ("bits_allocated", c_int32), ("bits_stored", c_int32),
                ("pixel_representation", c_int32), ("has_rescale", c_int32),
                ("rescale_slope", c_double), ("rescale_intercept", c_double),
                ("window_count", c_int32), ("has_voi_lut_sequence", c_int32),
                ("photometric", c_char * 72), ("modality", c_char * 72),
                ("transfer_syntax", c_char * 72), ("voi_lut_function", c_char * 72),
                ("sop_instance_uid", c_char * 72), ("series_instance_uid", c_char * 72),
                ("study_instance_uid", c_char * 72), ("no_image_reason", c_char * 160)]


class bmc_dicom_frame_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("frame", c_int32), ("window_index", c_int32),
                ("has_window", c_int32), ("window_center", c_double),
                ("window_width", c_double), ("has_rescale", c_int32),
                ("rescale_slope", c_double), ("rescale_intercept", c_double)]


class bmc_preprocess_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("image_size", c_int32), ("resize_mode", c_int32),
                ("filter", c_int32), ("mean", c_float * 3), ("std", c_float * 3)]


class bmc_tokenizer_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("context_length", c_int32), ("lowercase", c_int32),
                ("clean", c_int32), ("invalid_utf8", c_int32), ("overflow", c_int32),
                ("special_tokens", c_int32)]


class bmc_model_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("device", c_char_p), ("dtype", c_int32)]


class bmc_encoder_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("batch_size", c_int32), ("truncate", c_int32),
                ("progress_fn", bmc_progress_fn), ("progress_user_data", c_void_p),
                ("fast_jpeg", c_int32)]


class bmc_segmenter_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("check_base_source", c_int32)]


class bmc_vqa_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("question_type", c_int32),
                ("min_probability", c_float), ("choices", POINTER(c_char_p)),
                ("choice_count", c_size_t)]


class bmc_probe(Structure):
    pass


class bmc_probe_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("c", c_double), ("max_iterations", c_int32),
                ("tolerance", c_double)]


class bmc_index_search_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("threads", c_int32)]


class bmc_caption_options(Structure):
    _fields_ = [("struct_size", c_size_t), ("bleu_smoothing", c_int32),
                ("bleu_epsilon", c_double), ("bleu_k", c_double), ("rouge_beta", c_double),
                ("meteor_alpha", c_double), ("meteor_beta", c_double),
                ("meteor_gamma", c_double), ("cider_sigma", c_double)]


# ---- functions -----------------------------------------------------------------------------------
P = POINTER
c_int32_p, c_float_p, c_size_t_p = P(c_int32), P(c_float), P(c_size_t)
c_char_pp = P(c_char_p)

# name: (return type, argument types)
PROTOTYPES = {
    "bmc_version": (c_uint32, []),
    "bmc_version_string": (c_char_p, []),
    "bmc_status_string": (c_char_p, [bmc_status]),
    "bmc_last_error": (c_char_p, []),
    "bmc_runtime_config_init": (None, [P(bmc_runtime_config)]),
    "bmc_runtime_config_get": (bmc_status, [P(bmc_runtime_config)]),
    "bmc_configure": (bmc_status, [P(bmc_runtime_config)]),
    # images
    "bmc_image_load_file": (bmc_status, [c_char_p, P(P(bmc_image))]),
    "bmc_image_load_memory": (bmc_status, [c_void_p, c_size_t, P(P(bmc_image))]),
    "bmc_image_load_file_draft": (bmc_status, [c_char_p, c_int32, P(P(bmc_image))]),
    "bmc_image_load_memory_draft": (bmc_status, [c_void_p, c_size_t, c_int32, P(P(bmc_image))]),
    "bmc_pixels_init": (None, [P(bmc_pixels)]),
    "bmc_image_from_pixels": (bmc_status, [P(bmc_pixels), P(P(bmc_image))]),
    "bmc_image_info": (bmc_status, [P(bmc_image), c_int32_p, c_int32_p, c_int32_p]),
    "bmc_image_to_rgb8": (bmc_status, [P(bmc_image), P(c_uint8), c_size_t]),
    "bmc_image_free": (None, [P(bmc_image)]),
    "bmc_png_write_file": (bmc_status, [c_char_p, P(c_uint8), c_int32, c_int32, c_int32]),
    # DICOM files
    "bmc_dicom_open_file": (bmc_status, [c_char_p, P(P(bmc_dicom))]),
    "bmc_dicom_open_memory": (bmc_status, [c_void_p, c_size_t, P(P(bmc_dicom))]),
    "bmc_dicom_info_init": (None, [P(bmc_dicom_info)]),
    "bmc_dicom_get_info": (bmc_status, [P(bmc_dicom), P(bmc_dicom_info)]),
    "bmc_dicom_window": (bmc_status, [P(bmc_dicom), c_int32, P(c_double), P(c_double),
                                      c_char_pp]),
    "bmc_dicom_frame_options_init": (None, [P(bmc_dicom_frame_options)]),
    "bmc_dicom_frame_image": (bmc_status, [P(bmc_dicom), P(bmc_dicom_frame_options),
                                           P(P(bmc_image))]),
    "bmc_dicom_free": (None, [P(bmc_dicom)]),
    # preprocessing
    "bmc_preprocess_options_init": (None, [P(bmc_preprocess_options)]),
    "bmc_preprocess_rgb8": (bmc_status, [P(bmc_image), P(bmc_preprocess_options), P(c_uint8),
                                         c_size_t]),
    "bmc_preprocess": (bmc_status, [P(bmc_image), P(bmc_preprocess_options), c_float_p,
                                    c_size_t]),
    # tokenizer
    "bmc_tokenizer_options_init": (None, [P(bmc_tokenizer_options)]),
    "bmc_tokenizer_create_file": (bmc_status, [c_char_p, P(bmc_tokenizer_options),
                                               P(P(bmc_tokenizer))]),
    "bmc_tokenizer_create_memory": (bmc_status, [c_char_p, c_size_t, P(bmc_tokenizer_options),
                                                 P(P(bmc_tokenizer))]),
    "bmc_tokenizer_free": (None, [P(bmc_tokenizer)]),
    "bmc_tokenizer_encode": (bmc_status, [P(bmc_tokenizer), c_char_p, c_size_t, c_int32_p,
                                          c_size_t, c_size_t_p, c_int32_p]),
    "bmc_tokenizer_encode_batch": (bmc_status, [P(bmc_tokenizer), c_char_pp, c_size_t,
                                                c_int32_p, c_size_t, c_int32_p, c_int32_p]),
    "bmc_tokenizer_special_id": (bmc_status, [P(bmc_tokenizer), c_int32, c_int32_p]),
    "bmc_tokenizer_token": (bmc_status, [P(bmc_tokenizer), c_int32, c_char_pp]),
    "bmc_tokenizer_token_id": (bmc_status, [P(bmc_tokenizer), c_char_p, c_int32_p]),
    "bmc_tokenizer_vocab_size": (bmc_status, [P(bmc_tokenizer), c_int32_p]),
    "bmc_tokenizer_context_length": (bmc_status, [P(bmc_tokenizer), c_int32_p]),
    # model and encoders
    "bmc_model_options_init": (None, [P(bmc_model_options)]),
    "bmc_model_load": (bmc_status, [c_char_p, P(bmc_model_options), P(P(bmc_model))]),
    "bmc_model_free": (None, [P(bmc_model)]),
    "bmc_model_embed_dim": (c_int32, [P(bmc_model)]),
    "bmc_model_context_length": (c_int32, [P(bmc_model)]),
    "bmc_model_logit_scale": (c_float, [P(bmc_model)]),
    "bmc_model_name": (c_char_p, [P(bmc_model)]),
    "bmc_model_source": (c_char_p, [P(bmc_model)]),
    "bmc_model_preprocess_options": (bmc_status, [P(bmc_model), P(bmc_preprocess_options)]),
    "bmc_model_tokenizer": (P(bmc_tokenizer), [P(bmc_model)]),
    "bmc_encoder_options_init": (None, [P(bmc_encoder_options)]),
    "bmc_image_encoder_create": (bmc_status, [P(bmc_model), P(bmc_encoder_options),
                                              P(P(bmc_image_encoder))]),
    "bmc_image_encoder_encode": (bmc_status, [P(bmc_image_encoder), P(P(bmc_image)), c_size_t,
                                              c_uint32, c_float_p, c_size_t]),
    "bmc_image_encoder_encode_tensors": (bmc_status, [P(bmc_image_encoder), c_float_p, c_size_t,
                                                      c_size_t, c_uint32, c_float_p, c_size_t]),
    "bmc_image_encoder_encode_files": (bmc_status, [P(bmc_image_encoder), c_char_pp, c_size_t,
                                                    c_uint32, c_float_p, c_size_t]),
    "bmc_image_encoder_free": (None, [P(bmc_image_encoder)]),
    "bmc_text_encoder_create": (bmc_status, [P(bmc_model), P(bmc_encoder_options),
                                             P(P(bmc_text_encoder))]),
    "bmc_text_encoder_encode": (bmc_status, [P(bmc_text_encoder), c_char_pp, c_size_t, c_uint32,
                                             c_float_p, c_size_t]),
    "bmc_text_encoder_free": (None, [P(bmc_text_encoder)]),
    # scoring and zero-shot classification
    "bmc_cosine_similarity": (bmc_status, [c_float_p, c_size_t, c_float_p, c_size_t, c_size_t,
                                           c_float_p, c_size_t]),
    "bmc_softmax": (bmc_status, [c_float_p, c_size_t, c_size_t]),
    "bmc_model_logits": (bmc_status, [P(bmc_model), c_float_p, c_size_t, c_float_p, c_size_t,
                                      c_float_p, c_size_t]),
    "bmc_top_k": (bmc_status, [c_float_p, c_size_t, c_size_t, c_int32_p]),
    "bmc_classifier_create": (bmc_status, [P(bmc_text_encoder), c_char_pp, c_size_t, c_char_pp,
                                           c_size_t, P(P(bmc_classifier))]),
    "bmc_classifier_label_count": (c_size_t, [P(bmc_classifier)]),
    "bmc_classifier_label": (c_char_p, [P(bmc_classifier), c_size_t]),
    "bmc_classifier_probabilities": (bmc_status, [P(bmc_classifier), c_float_p, c_size_t,
                                                  c_float_p, c_size_t]),
    "bmc_classify": (bmc_status, [P(bmc_classifier), P(bmc_image_encoder), P(bmc_image),
                                  c_size_t, c_int32_p, c_float_p]),
    "bmc_classifier_free": (None, [P(bmc_classifier)]),
    "bmc_template_set_count": (c_size_t, []),
    "bmc_template_set_name": (c_char_p, [c_size_t]),
    "bmc_template_set": (bmc_status, [c_char_p, P(c_char_pp), c_size_t_p, P(c_char_pp),
                                      c_size_t_p]),
    "bmc_multilabel_create": (bmc_status, [P(bmc_text_encoder), c_char_pp, c_size_t, c_char_pp,
                                           c_size_t, c_char_pp, c_size_t, P(P(bmc_multilabel))]),
    "bmc_multilabel_label_count": (c_size_t, [P(bmc_multilabel)]),
    "bmc_multilabel_label": (c_char_p, [P(bmc_multilabel), c_size_t]),
    "bmc_multilabel_probabilities": (bmc_status, [P(bmc_multilabel), c_float_p, c_size_t,
                                                  c_float_p, c_size_t]),
    "bmc_multilabel_classify": (bmc_status, [P(bmc_multilabel), P(bmc_image_encoder),
                                             P(bmc_image), c_float_p, c_size_t]),
    "bmc_multilabel_free": (None, [P(bmc_multilabel)]),
    # text-prompted segmentation
    "bmc_segmenter_options_init": (None, [P(bmc_segmenter_options)]),
    "bmc_segmenter_load": (bmc_status, [P(bmc_model), c_char_p, P(bmc_segmenter_options),
                                        P(P(bmc_segmenter))]),
    "bmc_segmenter_free": (None, [P(bmc_segmenter)]),
    "bmc_segmenter_name": (c_char_p, [P(bmc_segmenter)]),
    "bmc_segmenter_source": (c_char_p, [P(bmc_segmenter)]),
    "bmc_segmenter_map_size": (c_int32, [P(bmc_segmenter)]),
    "bmc_segmenter_preprocess_options": (bmc_status, [P(bmc_segmenter),
                                                      P(bmc_preprocess_options)]),
    "bmc_segment_logits": (bmc_status, [P(bmc_segmenter), P(bmc_image), c_char_pp, c_size_t,
                                        c_float_p, c_size_t]),
    "bmc_segment": (bmc_status, [P(bmc_segmenter), P(bmc_image), c_char_pp, c_size_t, c_float_p,
                                 c_size_t]),
    "bmc_mask_threshold": (bmc_status, [c_float_p, c_size_t, c_float, P(c_uint8)]),
    "bmc_mask_overlay": (bmc_status, [P(bmc_image), P(c_uint8), c_size_t, P(c_uint8), c_float,
                                      P(c_uint8), c_size_t]),
    # visual question answering
    "bmc_vqa_load": (bmc_status, [P(bmc_model), c_char_p, P(P(bmc_vqa))]),
    "bmc_vqa_free": (None, [P(bmc_vqa)]),
    "bmc_vqa_name": (c_char_p, [P(bmc_vqa)]),
    "bmc_vqa_answer_count": (c_size_t, [P(bmc_vqa)]),
    "bmc_vqa_answer": (c_char_p, [P(bmc_vqa), c_size_t]),
    "bmc_vqa_rule_count": (c_size_t, [P(bmc_vqa)]),
    "bmc_vqa_rule_name": (c_char_p, [P(bmc_vqa), c_size_t]),
    "bmc_vqa_question_rule": (bmc_status, [P(bmc_vqa), c_char_p, c_int32_p]),
    "bmc_vqa_options_init": (None, [P(bmc_vqa_options)]),
    "bmc_vqa_logits": (bmc_status, [P(bmc_vqa), P(bmc_image), c_char_pp, c_size_t, c_float_p,
                                    c_size_t]),
    "bmc_vqa_ask": (bmc_status, [P(bmc_vqa), P(bmc_image), c_char_pp, c_size_t,
                                 P(bmc_vqa_options), c_size_t, c_int32_p, c_float_p, c_size_t]),
    "bmc_vqa_statement": (bmc_status, [c_char_p, c_char_p, P(ctypes.c_char), c_size_t,
                                       c_size_t_p]),
    "bmc_vqa_zero_shot": (bmc_status, [P(bmc_image_encoder), P(bmc_text_encoder), P(bmc_image),
                                       c_char_p, c_char_pp, c_size_t, c_float_p, c_size_t]),
    # embedding index
    "bmc_index_create": (bmc_status, [c_int32, c_int32, P(P(bmc_index))]),
    "bmc_index_free": (None, [P(bmc_index)]),
    "bmc_index_add": (bmc_status, [P(bmc_index), c_float_p, c_size_t, P(c_int64), c_char_pp]),
    "bmc_index_remove": (bmc_status, [P(bmc_index), P(c_int64), c_size_t, c_size_t_p]),
    "bmc_index_append": (bmc_status, [P(bmc_index), P(bmc_index)]),
    "bmc_index_dim": (c_int32, [P(bmc_index)]),
    "bmc_index_dtype": (c_int32, [P(bmc_index)]),
    "bmc_index_count": (c_size_t, [P(bmc_index)]),
    "bmc_index_id_at": (bmc_status, [P(bmc_index), c_size_t, P(c_int64)]),
    "bmc_index_get_vector": (bmc_status, [P(bmc_index), c_int64, c_float_p, c_size_t]),
    "bmc_index_get_text": (bmc_status, [P(bmc_index), c_int64, P(ctypes.c_char), c_size_t,
                                        c_size_t_p]),
    "bmc_index_search_options_init": (None, [P(bmc_index_search_options)]),
    "bmc_index_search": (bmc_status, [P(bmc_index), c_float_p, c_size_t, c_int32,
                                      P(bmc_index_search_options), P(c_int64), c_float_p,
                                      c_size_t]),
    "bmc_index_save": (bmc_status, [P(bmc_index), c_char_p]),
    "bmc_index_load": (bmc_status, [c_char_p, P(P(bmc_index))]),
    "bmc_index_map": (bmc_status, [c_char_p, c_uint32, P(P(bmc_index))]),
    # index sets
    "bmc_index_set_open": (bmc_status, [c_char_pp, c_size_t, c_uint32, P(P(bmc_index_set))]),
    "bmc_index_set_open_manifest": (bmc_status, [c_char_p, c_uint32, P(P(bmc_index_set))]),
    "bmc_index_set_write_manifest": (bmc_status, [c_char_p, c_char_pp, c_size_t, c_uint32]),
    "bmc_index_set_free": (None, [P(bmc_index_set)]),
    "bmc_index_set_shard_count": (c_size_t, [P(bmc_index_set)]),
    "bmc_index_set_dim": (c_int32, [P(bmc_index_set)]),
    "bmc_index_set_dtype": (c_int32, [P(bmc_index_set)]),
    "bmc_index_set_count": (c_size_t, [P(bmc_index_set)]),
    "bmc_index_set_shard": (P(bmc_index), [P(bmc_index_set), c_size_t]),
    "bmc_index_set_find": (bmc_status, [P(bmc_index_set), c_int64, c_size_t_p]),
    "bmc_index_set_search": (bmc_status, [P(bmc_index_set), c_float_p, c_size_t, c_int32,
                                          P(bmc_index_search_options), P(c_int64), c_float_p,
                                          c_size_t]),
    # captioning by retrieval and image search
    "bmc_index_add_text_file": (bmc_status, [P(bmc_index), P(bmc_text_encoder), c_char_p,
                                             c_int64, c_size_t_p]),
    "bmc_index_add_image_directory": (bmc_status, [P(bmc_index), P(bmc_image_encoder), c_char_p,
                                                   c_int64, c_size_t_p, c_size_t_p]),
    "bmc_index_search_image": (bmc_status, [P(bmc_index), P(bmc_image_encoder), P(bmc_image),
                                            c_int32, P(c_int64), c_float_p]),
    "bmc_index_search_text": (bmc_status, [P(bmc_index), P(bmc_text_encoder), c_char_p, c_int32,
                                           P(c_int64), c_float_p]),
    "bmc_compose_query": (bmc_status, [c_float_p, c_float_p, c_size_t, c_float, c_float_p]),
    "bmc_index_search_composed": (bmc_status, [P(bmc_index), P(bmc_image_encoder),
                                               P(bmc_text_encoder), P(bmc_image), c_char_p,
                                               c_float, c_int32, P(c_int64), c_float_p]),
    # caption metrics
    "bmc_caption_options_init": (None, [P(bmc_caption_options)]),
    "bmc_caption_score": (bmc_status, [c_int32, c_char_pp, c_size_t, c_char_pp, c_size_t_p,
                                       P(bmc_caption_options), P(c_double), P(c_double)]),
    # few-shot linear probes
    "bmc_probe_options_init": (None, [P(bmc_probe_options)]),
    "bmc_probe_train": (bmc_status, [P(bmc_model), c_float_p, c_size_t, c_int32_p, c_char_pp,
                                     c_size_t, P(bmc_probe_options), P(P(bmc_probe))]),
    "bmc_probe_free": (None, [P(bmc_probe)]),
    "bmc_probe_label_count": (c_size_t, [P(bmc_probe)]),
    "bmc_probe_label": (c_char_p, [P(bmc_probe), c_size_t]),
    "bmc_probe_dim": (c_int32, [P(bmc_probe)]),
    "bmc_probe_model_name": (c_char_p, [P(bmc_probe)]),
    "bmc_probe_model_source": (c_char_p, [P(bmc_probe)]),
    "bmc_probe_training": (bmc_status, [P(bmc_probe), P(c_double), c_int32_p, c_int32_p]),
    "bmc_probe_weights": (bmc_status, [P(bmc_probe), c_float_p, c_size_t, c_float_p, c_size_t]),
    "bmc_probe_probabilities": (bmc_status, [P(bmc_probe), c_float_p, c_size_t, c_float_p,
                                             c_size_t]),
    "bmc_probe_save": (bmc_status, [P(bmc_probe), c_char_p]),
    "bmc_probe_load": (bmc_status, [P(bmc_model), c_char_p, P(P(bmc_probe))]),
}

#: Functions the loaded library lacks (an older build); using them raises AttributeError.
MISSING = []

for _name, (_restype, _argtypes) in PROTOTYPES.items():
    try:
        _function = getattr(lib, _name)
    except AttributeError:
        MISSING.append(_name)
        continue
    _function.restype = _restype
    _function.argtypes = _argtypes
    globals()[_name] = _function
