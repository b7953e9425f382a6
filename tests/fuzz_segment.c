/* SPDX-License-Identifier: MIT */
/* Fuzz target: a segmentation decoder's decoder.json, read as bmc_segmenter_load() reads it
 * for the tiny base model (embed_dim 64, 224-pixel images, source "random seed 0"), without a
 * decoder archive: the archive's container is libtorch's, fuzzed through the bundle loader
 * (fuzz_bundle.c). The first byte chooses the options (bit 0: skip the base source check;
 * bits 1-7: the width and height of an image) and the rest is the JSON. When it is accepted, a
 * probability map of the decoder's size is put back on that image's grid the way bmc_segment()
 * does, through the geometry the JSON gave. Nothing may crash, leak or trip a sanitizer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "biomedclip.h"
#include "model/model.h"
#include "segment/mask.h"
#include "segment/segmenter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *json = malloc(size);
    if (!json)
        return 0;
    memcpy(json, data + 1, size - 1);
    json[size - 1] = '\0';

    char source[] = "random seed 0";
    struct bmc_model model;
    memset(&model, 0, sizeof model);
    model.embed_dim = 64;
    bmc_preprocess_options_init(&model.preprocess);
    model.preprocess.image_size = 224;
    model.source = source;
    bmc_segmenter_options options;
    bmc_segmenter_options_init(&options);
    options.check_base_source = !(data[0] & 1);

    bmc_segmenter *seg = calloc(1, sizeof *seg);
    if (seg) {
        seg->model = &model;
        bmc_preprocess_options pre;
        if (bmci_segmenter_read_metadata(seg, json, &options) == BMC_OK &&
            bmc_segmenter_preprocess_options(seg, &pre) == BMC_OK) {
            bmc_segmenter_name(seg);
            bmc_segmenter_source(seg);
            int32_t side = bmc_segmenter_map_size(seg);
            int32_t width = 1 + (data[0] >> 1) * 5, height = 1 + (data[0] >> 4) * 37;
            float *map = malloc((size_t)side * (size_t)side * sizeof *map);
            float *out = malloc((size_t)width * (size_t)height * sizeof *out);
            if (map && out) {
                for (size_t i = 0; i < (size_t)side * (size_t)side; i++)
                    map[i] = (float)(i % 7) / 6.0f;
                if (bmci_map_to_image(map, &pre, width, height, out) == BMC_OK)
                    for (size_t i = 0; i < (size_t)width * (size_t)height; i++)
                        if (!(out[i] >= 0.0f && out[i] <= 1.0f))
                            abort(); /* probabilities stay probabilities */
            }
            free(map);
            free(out);
        }
        bmc_segmenter_free(seg);
    }
    free(json);
    return 0;
}
