/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The plugin's "BiomedClip" configuration section, parsed and checked once at start. */
#ifndef BMCO_CONFIG_H
#define BMCO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct bmco_config {
    int enabled;              /* "Enabled": false leaves the plugin loaded but idle */
    char *model;              /* "Model": the model bundle (required) */
    char *device;             /* "Device": "cpu", "cuda", "cuda:N" */
    int32_t dtype;            /* "Dtype": "f32", "f16", "bf16" as BMC_DTYPE_* */
    char *data_dir;           /* "DataDirectory": the index and its state */
    int32_t threads;          /* "Threads": libtorch intra-op threads, 0 = the library's choice */
    int32_t batch_size;       /* "BatchSize": frames per forward pass of the indexer */
    int32_t max_frames;       /* "MaxFramesPerInstance": 0 = every frame */
    int32_t save_interval;    /* "SaveInterval": seconds between saves of a changed index */
    int32_t index_dtype;      /* "IndexDtype": storage of the vectors, BMC_DTYPE_* */
    char **modalities;        /* "Modalities": indexed only when listed; empty = all */
    size_t modality_count;
    char **sop_classes;       /* "SopClasses": likewise for SOP Class UIDs */
    size_t sop_class_count;
    char **labels;            /* "Labels": classify's labels when a request gives none */
    size_t label_count;
    char **templates;         /* "Templates": a built-in set name or a list; resolved here */
    size_t template_count;
    char *segmenter;          /* "SegmentationDecoder": optional decoder archive */
    int check_decoder_base;   /* "CheckDecoderBase": the decoder must name this model's weights */
    char *vqa_head;           /* "VqaHead": optional head archive */
} bmco_config;

/* Parse Orthanc's whole configuration (JSON text) into `config`, defaults filled in. Returns
 * 0, or -1 with a message in `error` that names the option and says what was expected; on
 * failure `config` holds nothing to free beyond what bmco_config_free() releases. */
int bmco_config_parse(const char *json, bmco_config *config, char *error, size_t error_size);

/* Release everything bmco_config_parse() allocated; a zeroed config is fine. */
void bmco_config_free(bmco_config *config);

#endif
