/* SPDX-License-Identifier: MIT */
/* Internal view of a segmenter (bmc_segmenter): what its decoder.json gives, so that the
 * metadata reader can be fuzzed without a decoder archive (tests/fuzz_segment.c). */
#ifndef BMC_LIB_SEGMENTER_H
#define BMC_LIB_SEGMENTER_H

#include "biomedclip.h"
#include "shim/segment.h"

/* The decoder format versions this library reads. */
#define BMCI_DECODER_FORMAT_VERSION 1
#define BMCI_DECODER_MAX_TAPS 64
#define BMCI_DECODER_MAX_TAP_INDEX 4096

struct bmc_segmenter {
    const bmc_model *model;
    bmci_torch_decoder *decoder;
    bmc_preprocess_options preprocess;
    int64_t taps[BMCI_DECODER_MAX_TAPS];
    int32_t tap_count;
    int32_t grid_size;
    int32_t vision_width;
    char *name;
    char *source;
};

/* Fills `seg` (its model set, everything else zero) from the text of decoder.json: format and
 * version, preprocessing, taps and architecture, the base model check against seg->model, name
 * and source. On failure the fields filled so far are left for bmc_segmenter_free().
 * Errors: BMC_ERR_MODEL, BMC_ERR_VERSION, BMC_ERR_OUT_OF_MEMORY. */
bmc_status bmci_segmenter_read_metadata(bmc_segmenter *seg, const char *json,
                                        const bmc_segmenter_options *options);

#endif
