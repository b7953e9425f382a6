/* SPDX-License-Identifier: MIT */
/* caption — caption images by retrieval: the best captions from a caption bank.
 *
 *   caption MODEL CAPTIONS.txt IMAGE...
 *
 * Every line of CAPTIONS.txt is encoded once into a caption bank (an embedding index); each
 * image is then encoded and the bank searched for the captions closest to it. */
#include <stdio.h>

#include <biomedclip.h>

#define TOP 3

static int fail(const char *what)
{
    fprintf(stderr, "caption: %s: %s\n", what, bmc_last_error());
    return 1;
}

static int caption_image(const bmc_index *bank, bmc_image_encoder *encoder, const char *path)
{
    bmc_image *image;
    if (bmc_image_load_file(path, &image) != BMC_OK)
        return fail(path);
    int64_t ids[TOP];
    float scores[TOP];
    bmc_status status = bmc_index_search_image(bank, encoder, image, TOP, ids, scores);
    bmc_image_free(image);
    if (status != BMC_OK)
        return fail(path);
    printf("%s\n", path);
    for (int i = 0; i < TOP && ids[i] >= 0; i++) {
        char caption[1024];
        if (bmc_index_get_text(bank, ids[i], caption, sizeof caption, NULL) != BMC_OK)
            return fail("caption text");
        printf("  %.3f  %s\n", scores[i], caption);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL CAPTIONS.txt IMAGE...\n", argv[0]);
        return 2;
    }
    bmc_model *model;
    if (bmc_model_load(argv[1], NULL, &model) != BMC_OK)
        return fail(argv[1]);
    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    bmc_index *bank = NULL;
    size_t added = 0;
    int result = 1;
    if (bmc_text_encoder_create(model, NULL, &text_encoder) != BMC_OK ||
        bmc_image_encoder_create(model, NULL, &image_encoder) != BMC_OK ||
        bmc_index_create(bmc_model_embed_dim(model), BMC_DTYPE_F32, &bank) != BMC_OK ||
        bmc_index_add_text_file(bank, text_encoder, argv[2], 0, &added) != BMC_OK) {
        fail(argv[2]);
    } else {
        printf("caption bank: %zu captions from %s\n", added, argv[2]);
        result = 0;
        for (int i = 3; i < argc; i++)
            result |= caption_image(bank, image_encoder, argv[i]);
    }
    bmc_index_free(bank);
    bmc_image_encoder_free(image_encoder);
    bmc_text_encoder_free(text_encoder);
    bmc_model_free(model);
    return result;
}
