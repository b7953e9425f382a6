// SPDX-License-Identifier: MIT
//! The -sys structs have the C sizes: each init function writes sizeof(struct) in C into
//! struct_size, which must equal Rust's size of the mirror.
use std::mem::{size_of, zeroed};

use biomedclip::sys;

macro_rules! same_size {
    ($ty:ty, $init:path) => {{
        let mut value: $ty = unsafe { zeroed() };
        unsafe { $init(&mut value) };
        assert_eq!(value.struct_size, size_of::<$ty>(), stringify!($ty));
    }};
}

#[test]
fn option_structs_have_the_c_layout_size() {
    same_size!(sys::bmc_runtime_config, sys::bmc_runtime_config_init);
    same_size!(sys::bmc_pixels, sys::bmc_pixels_init);
    same_size!(sys::bmc_preprocess_options, sys::bmc_preprocess_options_init);
    same_size!(sys::bmc_tokenizer_options, sys::bmc_tokenizer_options_init);
    same_size!(sys::bmc_model_options, sys::bmc_model_options_init);
    same_size!(sys::bmc_encoder_options, sys::bmc_encoder_options_init);
    same_size!(sys::bmc_index_search_options, sys::bmc_index_search_options_init);
    same_size!(sys::bmc_caption_options, sys::bmc_caption_options_init);
    same_size!(sys::bmc_segmenter_options, sys::bmc_segmenter_options_init);
    same_size!(sys::bmc_vqa_options, sys::bmc_vqa_options_init);
    same_size!(sys::bmc_probe_options, sys::bmc_probe_options_init);
    same_size!(sys::bmc_dicom_info, sys::bmc_dicom_info_init);
    same_size!(sys::bmc_dicom_frame_options, sys::bmc_dicom_frame_options_init);
}

#[test]
fn version_matches_the_header() {
    assert_eq!(unsafe { sys::bmc_version() }, sys::BMC_VERSION_NUMBER);
    assert_eq!(biomedclip::version(), sys::BMC_VERSION_STRING);
}
