/* SPDX-License-Identifier: MIT */
/* Fuzz target: load any bytes as a model bundle with bmc_model_load(), and encode a text and
 * an image with whatever loads. Seeds (tests/data/fuzz/bundle, tools/fixtures/make_bundle_seeds.py)
 * are TorchScript archives of a few kilobytes: the real container and metadata around a tiny
 * module. The library checks each entry's CRC-32 before libtorch reads the archive
 * (lib/core/archive.c), so a mutated bundle.json would never get past it: when the input's
 * last byte is odd, the CRC-32s of the stored entries are recomputed first (in local headers
 * and central directory alike), and the mutations reach the
 * metadata's parser, the tokenizer and the method checks. One load takes milliseconds: the
 * campaign's target is 100,000 runs, not millions. Nothing may crash, leak or trip a
 * sanitizer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "biomedclip.h"
#include "core/crc32.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | get16(p + 2) << 16;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the CRC-32 of the stored entries that hold the library's own metadata (extra/:
 * bundle.json, vocab.txt) or raw tensor bytes (data/N), where the entry lies inside the input.
 * Deflated entries (torch.jit.save deflates the code/ files) and zip64 ones are left alone.
 * Every other entry is parsed by libtorch, and keeps its CRC, so that its damage is
 * refused by the library's CRC check as accidental damage is: the pickles (data.pkl,
 * constants.pkl, debug info), whose unpickler trusts the counts in them and reserves and fills
 * what they say (gigabytes from one damaged byte: a 20 s hang here, an abort in
 * AddressSanitizer's operator new); the TorchScript source in code/ and `version`. (Damage
 * inside the deflated code/ entry used to reach libtorch's type parser, which crashed on it,
 * because the library checked the CRC-32 of stored entries only; it inflates deflated ones to
 * check theirs too now: regression_deflated_code_*.bmc.pt.) A file crafted with matching
 * CRCs is libtorch's parsers' to survive, not this
 * library's: a TorchScript archive is code, so load only trusted ones. */
static void reseal(uint8_t *file, size_t size)
{
    if (size < 22)
        return;
    size_t end = size - 22;
    for (size_t back = 0; back < 1024 && end > 0 && get32(file + end) != 0x06054b50; back++)
        end--;
    if (get32(file + end) != 0x06054b50)
        return;
    uint32_t entries = get16(file + end + 10), at = get32(file + end + 16);
    for (uint32_t e = 0; e < entries && (size_t)at + 46 <= size && get32(file + at) == 0x02014b50; e++) {
        uint8_t *central = file + at;
        uint32_t method = get16(central + 10), stored = get32(central + 20);
        uint32_t local = get32(central + 42);
        uint32_t name_length = get16(central + 28);
        int in_name = (size_t)at + 46 + name_length <= size;
        int ours = in_name && (memmem(central + 46, name_length, "/extra/", 7) != NULL ||
                               memmem(central + 46, name_length, "/data/", 6) != NULL);
        if (method == 0 && ours && (size_t)local + 30 <= size && get32(file + local) == 0x04034b50) {
            size_t offset = (size_t)local + 30 + get16(file + local + 26) + get16(file + local + 28);
            if (offset <= size && stored <= size - offset) {
                uint32_t crc = bmci_crc32(0, file + offset, stored);
                put32(central + 16, crc);
                put32(file + local + 14, crc);
            }
        }
        at += 46 + get16(central + 28) + get16(central + 30) + get16(central + 32);
    }
}

static void exercise(const bmc_model *model)
{
    bmc_text_encoder *text = NULL;
    int32_t dim = bmc_model_embed_dim(model);
    float *embedding = malloc((size_t)dim * sizeof *embedding);
    if (embedding && bmc_text_encoder_create(model, NULL, &text) == BMC_OK) {
        const char *texts[] = {"chest x-ray of the lungs"};
        bmc_text_encoder_encode(text, texts, 1, 0, embedding, (size_t)dim);
    }
    bmc_text_encoder_free(text);
    /* An image only at small input sizes: the point is the metadata, not the arithmetic. */
    bmc_preprocess_options pre;
    bmc_image_encoder *encoder = NULL;
    if (embedding && bmc_model_preprocess_options(model, &pre) == BMC_OK && pre.image_size <= 64 &&
        bmc_image_encoder_create(model, NULL, &encoder) == BMC_OK) {
        static const uint8_t gray[4 * 5];
        bmc_pixels pixels;
        bmc_pixels_init(&pixels);
        pixels.data = gray;
        pixels.width = 4;
        pixels.height = 5;
        pixels.channels = 1;
        pixels.sample_type = BMC_SAMPLE_U8;
        bmc_image *image = NULL;
        if (bmc_image_from_pixels(&pixels, &image) == BMC_OK) {
            const bmc_image *images[] = {image};
            bmc_image_encoder_encode(encoder, images, 1, 0, embedding, (size_t)dim);
        }
        bmc_image_free(image);
    }
    bmc_image_encoder_free(encoder);
    free(embedding);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        bmc_runtime_config config;
        bmc_runtime_config_init(&config);
        config.max_image_pixels = 1 << 20;
        bmc_configure(&config);
        fd = memfd_create("fuzz_bundle", 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    uint8_t *file = malloc(size ? size : 1);
    if (!file)
        return 0;
    memcpy(file, data, size);
    if (size && (data[size - 1] & 1))
        reseal(file, size);
    if (fd >= 0 && ftruncate(fd, 0) == 0 && pwrite(fd, file, size, 0) == (ssize_t)size) {
        bmc_model *model = NULL;
        if (bmc_model_load(path, NULL, &model) == BMC_OK)
            exercise(model);
        bmc_model_free(model);
    }
    free(file);
    return 0;
}
