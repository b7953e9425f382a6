/* SPDX-License-Identifier: MIT */
/* The library side of tools/bench/bench_model.py: time image files -> embeddings and texts ->
 * embeddings through the public API, and print one line "RATE items/s".
 *
 *   tool_bench_model images MODEL BATCH ROUNDS IMAGE...   (decode + preprocess + encode)
 *   tool_bench_model texts MODEL BATCH ROUNDS TEXTFILE    (tokenize + encode, one text a line)
 *   tool_bench_model tensors MODEL BATCH ROUNDS COUNT     (the image tower alone, COUNT tensors)
 *
 * Each round encodes every input once, in batches of BATCH; one untimed warm-up round first.
 * CPU threads: BMC_BENCH_THREADS (default: the library's own). Model dtype: BMC_BENCH_DTYPE,
 * f32 (default) or bf16. Images: with BMC_BENCH_PIPELINE=1, each round is one call of
 * bmc_image_encoder_encode_files (decoding overlapped with the forward) instead of decoding
 * each batch and then encoding it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "biomedclip.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int fail(const char *what)
{
    fprintf(stderr, "tool_bench_model: %s: %s\n", what, bmc_last_error());
    return 1;
}

/* One round over the files: each batch is decoded, preprocessed and encoded. */
static bmc_status image_round(bmc_image_encoder *encoder, char **paths, int count, int batch,
                              float *out, size_t dim)
{
    bmc_image *images[1024];
    for (int start = 0; start < count; start += batch) {
        int n = count - start < batch ? count - start : batch;
        bmc_status status = BMC_OK;
        int loaded = 0;
        for (; loaded < n && status == BMC_OK; loaded++)
            status = bmc_image_load_file(paths[start + loaded], &images[loaded]);
        if (status != BMC_OK)
            loaded--;
        if (status == BMC_OK)
            status = bmc_image_encoder_encode(encoder, (const bmc_image *const *)images, (size_t)n, 0,
                                              out, (size_t)n * dim);
        for (int i = 0; i < loaded; i++)
            bmc_image_free(images[i]);
        if (status != BMC_OK)
            return status;
    }
    return BMC_OK;
}

static int bench_images(bmc_model *model, int batch, int rounds, char **paths, int count)
{
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.batch_size = batch;
    bmc_image_encoder *encoder;
    if (count > 1024 || batch > 1024 || bmc_image_encoder_create(model, &options, &encoder) != BMC_OK)
        return fail("image encoder");
    size_t dim = (size_t)bmc_model_embed_dim(model);
    const char *pipelined = getenv("BMC_BENCH_PIPELINE");
    int pipeline = pipelined && strcmp(pipelined, "1") == 0;
    float *out = malloc((size_t)(pipeline ? count : batch) * dim * sizeof *out);
    int result = 0;
    double start = 0;
    for (int round = 0; round <= rounds && result == 0; round++) {
        if (round == 1)
            start = now();
        bmc_status status = pipeline ? bmc_image_encoder_encode_files(encoder, (const char *const *)paths,
                                                                      (size_t)count, 0, out, (size_t)count * dim)
                                     : image_round(encoder, paths, count, batch, out, dim);
        if (status != BMC_OK)
            result = fail("encode");
    }
    if (result == 0)
        printf("%.3f items/s\n", (double)count * rounds / (now() - start));
    free(out);
    bmc_image_encoder_free(encoder);
    return result;
}

static int bench_texts(bmc_model *model, int batch, int rounds, const char *path)
{
    static char buffer[1 << 22];
    const char *texts[4096];
    FILE *file = fopen(path, "r");
    size_t used = 0, count = 0;
    if (!file)
        return fail(path);
    while (count < 4096 && used + 65536 < sizeof buffer && fgets(buffer + used, 65536, file)) {
        texts[count++] = buffer + used;
        buffer[used + strcspn(buffer + used, "\n")] = '\0';
        used += strlen(buffer + used) + 1;
    }
    fclose(file);
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.batch_size = batch;
    bmc_text_encoder *encoder;
    if (count == 0 || bmc_text_encoder_create(model, &options, &encoder) != BMC_OK)
        return fail("text encoder");
    size_t dim = (size_t)bmc_model_embed_dim(model);
    float *out = malloc(count * dim * sizeof *out);
    int result = 0;
    double start = 0;
    for (int round = 0; round <= rounds && result == 0; round++) {
        if (round == 1)
            start = now();
        if (bmc_text_encoder_encode(encoder, texts, count, 0, out, count * dim) != BMC_OK)
            result = fail("encode");
    }
    if (result == 0)
        printf("%.3f items/s\n", (double)count * rounds / (now() - start));
    free(out);
    bmc_text_encoder_free(encoder);
    return result;
}

/* The image tower alone: `count` preprocessed tensors (a smooth gradient; the values do not
 * change the work) encoded in batches, as ONNX Runtime's rows of the benchmark are timed. */
static int bench_tensors(bmc_model *model, int batch, int rounds, int count)
{
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.batch_size = batch;
    bmc_image_encoder *encoder;
    if (count < 1 || bmc_image_encoder_create(model, &options, &encoder) != BMC_OK)
        return fail("image encoder");
    bmc_preprocess_options pre;
    bmc_preprocess_options_init(&pre);
    bmc_model_preprocess_options(model, &pre);
    size_t side = (size_t)pre.image_size, dim = (size_t)bmc_model_embed_dim(model);
    size_t per = 3 * side * side;
    float *pixels = malloc((size_t)count * per * sizeof *pixels);
    float *out = malloc((size_t)count * dim * sizeof *out);
    for (size_t i = 0; pixels && i < (size_t)count * per; i++)
        pixels[i] = (float)(i % 449) / 224.0f - 1.0f;
    int result = pixels && out ? 0 : fail("out of memory");
    double start = 0;
    for (int round = 0; round <= rounds && result == 0; round++) {
        if (round == 1)
            start = now();
        if (bmc_image_encoder_encode_tensors(encoder, pixels, (size_t)count * per, (size_t)count, 0,
                                             out, (size_t)count * dim) != BMC_OK)
            result = fail("encode");
    }
    if (result == 0)
        printf("%.3f items/s\n", (double)count * rounds / (now() - start));
    free(pixels);
    free(out);
    bmc_image_encoder_free(encoder);
    return result;
}

int main(int argc, char **argv)
{
    if (argc < 6 || (strcmp(argv[1], "images") && strcmp(argv[1], "texts") && strcmp(argv[1], "tensors"))) {
        fprintf(stderr, "usage: %s images|texts|tensors MODEL BATCH ROUNDS INPUT...\n", argv[0]);
        return 2;
    }
    const char *threads = getenv("BMC_BENCH_THREADS");
    if (threads) {
        bmc_runtime_config config;
        bmc_runtime_config_init(&config);
        config.cpu_threads = atoi(threads);
        if (bmc_configure(&config) != BMC_OK)
            return fail("configure");
    }
    const char *dtype = getenv("BMC_BENCH_DTYPE");
    bmc_model_options load;
    bmc_model_options_init(&load);
    load.dtype = dtype && strcmp(dtype, "bf16") == 0 ? BMC_DTYPE_BF16 : BMC_DTYPE_F32;
    bmc_model *model;
    if (bmc_model_load(argv[2], &load, &model) != BMC_OK)
        return fail(argv[2]);
    int batch = atoi(argv[3]), rounds = atoi(argv[4]);
    int result = batch < 1 || rounds < 1 ? 2
                 : strcmp(argv[1], "images") == 0 ? bench_images(model, batch, rounds, argv + 5, argc - 5)
                 : strcmp(argv[1], "tensors") == 0 ? bench_tensors(model, batch, rounds, atoi(argv[5]))
                                                    : bench_texts(model, batch, rounds, argv[5]);
    bmc_model_free(model);
    return result;
}
