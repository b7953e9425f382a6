/* SPDX-License-Identifier: MIT */
/* embed — image and text embeddings in BiomedCLIP's joint space, and how they match.
 *
 *   embed [--raw] [--dump] MODEL [--image FILE]... [--text TEXT]...
 *
 * Encodes every image and text, prints the start of each embedding, then the cosine
 * similarity of every image with every text and, per image, the texts' probabilities
 * (softmax of the model's logit scale x cosine: CLIP retrieval scoring).
 * --raw   the projection's output instead of L2-normalised vectors
 * --dump  print every value of every embedding (%.9g), one embedding per line */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <biomedclip.h>

#define MAX_ITEMS 64

static int usage(const char *program)
{
    fprintf(stderr,
            "usage: %s [--raw] [--dump] MODEL [--image FILE]... [--text TEXT]...\n"
            "  Print image and text embeddings, their cosine similarities and, per image,\n"
            "  the probabilities of the texts.\n"
            "  --raw   unnormalised embeddings (the projection's output)\n"
            "  --dump  every value of every embedding, one per line\n",
            program);
    return 2;
}

static int fail(const char *what)
{
    fprintf(stderr, "embed: %s: %s\n", what, bmc_last_error());
    return 1;
}

static void print_embedding(const char *kind, const char *name, const float *values, size_t dim,
                            int dump)
{
    size_t shown = dump ? dim : (dim < 6 ? dim : 6);
    printf("%s %s:", kind, name);
    for (size_t i = 0; i < shown; i++)
        printf(dump ? " %.9g" : " %+.4f", values[i]);
    printf("%s\n", shown < dim ? " ..." : "");
}

/* Loads the images and runs both towers; prints the embeddings and the scores. */
static int run(const bmc_model *model, const char **image_paths, size_t image_count,
               const char **texts, size_t text_count, uint32_t flags, int dump)
{
    size_t dim = (size_t)bmc_model_embed_dim(model);
    bmc_image *images[MAX_ITEMS] = {NULL};
    float *image_embeddings = malloc((image_count + 1) * dim * sizeof(float));
    float *text_embeddings = malloc((text_count + 1) * dim * sizeof(float));
    float *scores = malloc((image_count * text_count + 1) * sizeof(float));
    bmc_image_encoder *image_encoder = NULL;
    bmc_text_encoder *text_encoder = NULL;
    int result = 1;
    if (!image_embeddings || !text_embeddings || !scores) {
        fprintf(stderr, "embed: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < image_count; i++)
        if (bmc_image_load_file(image_paths[i], &images[i]) != BMC_OK) {
            fail(image_paths[i]);
            goto done;
        }
    if (image_count > 0 &&
        (bmc_image_encoder_create(model, NULL, &image_encoder) != BMC_OK ||
         bmc_image_encoder_encode(image_encoder, (const bmc_image *const *)images, image_count,
                                  flags, image_embeddings, image_count * dim) != BMC_OK)) {
        fail("image encoder");
        goto done;
    }
    if (text_count > 0 &&
        (bmc_text_encoder_create(model, NULL, &text_encoder) != BMC_OK ||
         bmc_text_encoder_encode(text_encoder, texts, text_count, flags, text_embeddings,
                                 text_count * dim) != BMC_OK)) {
        fail("text encoder");
        goto done;
    }
    for (size_t i = 0; i < image_count; i++)
        print_embedding("image", image_paths[i], image_embeddings + i * dim, dim, dump);
    for (size_t t = 0; t < text_count; t++)
        print_embedding("text", texts[t], text_embeddings + t * dim, dim, dump);

    if (image_count > 0 && text_count > 0) {
        if (bmc_cosine_similarity(image_embeddings, image_count, text_embeddings, text_count, dim,
                                  scores, image_count * text_count) != BMC_OK) {
            fail("cosine similarity");
            goto done;
        }
        printf("cosine similarity (rows: images, columns: texts)\n");
        for (size_t i = 0; i < image_count; i++) {
            for (size_t t = 0; t < text_count; t++)
                printf(" %+.4f", scores[i * text_count + t]);
            printf("  %s\n", image_paths[i]);
        }
        if (bmc_model_logits(model, image_embeddings, image_count, text_embeddings, text_count,
                             scores, image_count * text_count) != BMC_OK ||
            bmc_softmax(scores, image_count, text_count) != BMC_OK) {
            fail("probabilities");
            goto done;
        }
        printf("probabilities of the texts per image\n");
        for (size_t i = 0; i < image_count; i++) {
            for (size_t t = 0; t < text_count; t++)
                printf(" %6.2f%%", 100.0 * scores[i * text_count + t]);
            printf("  %s\n", image_paths[i]);
        }
    }
    result = 0;
done:
    bmc_text_encoder_free(text_encoder);
    bmc_image_encoder_free(image_encoder);
    for (size_t i = 0; i < image_count; i++)
        bmc_image_free(images[i]);
    free(image_embeddings);
    free(text_embeddings);
    free(scores);
    return result;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *images[MAX_ITEMS], *texts[MAX_ITEMS];
    size_t image_count = 0, text_count = 0;
    uint32_t flags = 0;
    int dump = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--raw") == 0)
            flags |= BMC_ENCODE_RAW;
        else if (strcmp(argv[i], "--dump") == 0)
            dump = 1;
        else if (strcmp(argv[i], "--image") == 0 && i + 1 < argc && image_count < MAX_ITEMS)
            images[image_count++] = argv[++i];
        else if (strcmp(argv[i], "--text") == 0 && i + 1 < argc && text_count < MAX_ITEMS)
            texts[text_count++] = argv[++i];
        else if (argv[i][0] == '-' || model_path)
            return usage(argv[0]);
        else
            model_path = argv[i];
    }
    if (!model_path || image_count + text_count == 0)
        return usage(argv[0]);

    bmc_model *model;
    if (bmc_model_load(model_path, NULL, &model) != BMC_OK)
        return fail(model_path);
    int result = run(model, images, image_count, texts, text_count, flags, dump);
    bmc_model_free(model);
    return result;
}
