/* SPDX-License-Identifier: MIT */
/* search — find images by text in a folder of PNG and JPEG files.
 *
 *   search MODEL FOLDER "query one" ["query two" ...]
 *
 * Every image of FOLDER is encoded once into an image collection (an embedding index); each
 * query is encoded and the collection searched for the images closest to it. */
#include <stdio.h>

#include <biomedclip.h>

#define TOP 3

static int fail(const char *what)
{
    fprintf(stderr, "search: %s: %s\n", what, bmc_last_error());
    return 1;
}

static int search(const bmc_index *collection, bmc_text_encoder *encoder, const char *query)
{
    int64_t ids[TOP];
    float scores[TOP];
    if (bmc_index_search_text(collection, encoder, query, TOP, ids, scores) != BMC_OK)
        return fail(query);
    printf("\"%s\"\n", query);
    for (int i = 0; i < TOP && ids[i] >= 0; i++) {
        char name[1024];
        if (bmc_index_get_text(collection, ids[i], name, sizeof name, NULL) != BMC_OK)
            return fail("file name");
        printf("  %.3f  %s\n", scores[i], name);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL FOLDER \"query\"...\n", argv[0]);
        return 2;
    }
    bmc_model *model;
    if (bmc_model_load(argv[1], NULL, &model) != BMC_OK)
        return fail(argv[1]);
    bmc_text_encoder *text_encoder = NULL;
    bmc_image_encoder *image_encoder = NULL;
    bmc_index *collection = NULL;
    size_t added = 0, skipped = 0;
    int result = 1;
    if (bmc_text_encoder_create(model, NULL, &text_encoder) != BMC_OK ||
        bmc_image_encoder_create(model, NULL, &image_encoder) != BMC_OK ||
        bmc_index_create(bmc_model_embed_dim(model), BMC_DTYPE_F32, &collection) != BMC_OK ||
        bmc_index_add_image_directory(collection, image_encoder, argv[2], 0, &added, &skipped) != BMC_OK) {
        fail(argv[2]);
    } else {
        printf("image collection: %zu images from %s (%zu unreadable files skipped)\n", added, argv[2],
               skipped);
        result = 0;
        for (int i = 3; i < argc; i++)
            result |= search(collection, text_encoder, argv[i]);
    }
    bmc_index_free(collection);
    bmc_image_encoder_free(image_encoder);
    bmc_text_encoder_free(text_encoder);
    bmc_model_free(model);
    return result;
}
