/* SPDX-License-Identifier: MIT */
/* The bmc_image handle: allocation, queries and Pillow's convert('RGB') for every mode. */
#include "image/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/error.h"

int32_t bmci_mode_bands(int32_t mode)
{
    switch (mode) {
    case BMC_IMAGE_MODE_1:
    case BMC_IMAGE_MODE_L:
    case BMC_IMAGE_MODE_P:
    case BMC_IMAGE_MODE_I: return 1;
    case BMC_IMAGE_MODE_LA: return 2;
    case BMC_IMAGE_MODE_RGB: return 3;
    case BMC_IMAGE_MODE_RGBA:
    case BMC_IMAGE_MODE_CMYK: return 4;
    default: return 0;
    }
}

int32_t bmci_mode_sample_bytes(int32_t mode)
{
    if (bmci_mode_bands(mode) == 0)
        return 0;
    return mode == BMC_IMAGE_MODE_I ? 4 : 1;
}

const char *bmci_mode_name(int32_t mode)
{
    switch (mode) {
    case BMC_IMAGE_MODE_1: return "1";
    case BMC_IMAGE_MODE_L: return "L";
    case BMC_IMAGE_MODE_LA: return "LA";
    case BMC_IMAGE_MODE_P: return "P";
    case BMC_IMAGE_MODE_RGB: return "RGB";
    case BMC_IMAGE_MODE_RGBA: return "RGBA";
    case BMC_IMAGE_MODE_CMYK: return "CMYK";
    case BMC_IMAGE_MODE_I: return "I";
    default: return "?";
    }
}

/* Pixel buffers from this size on are asked to be backed by transparent huge pages. glibc
 * serves them with a fresh mmap at every allocation, so each 4 KiB page faults on first write:
 * a 4096 x 4096 RGB decode took 64 MiB in 16,384 faults, about half of its decode time on a
 * virtual machine. With 2 MiB pages it takes 32. (Linux's default "madvise" mode gives huge
 * pages only to ranges that ask; elsewhere madvise fails and nothing changes.) */
#define HUGE_PAGE_BYTES ((size_t)4 << 20)

static void prefer_huge_pages(void *buffer, size_t size)
{
#ifdef MADV_HUGEPAGE
    if (size < HUGE_PAGE_BYTES)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start = ((uintptr_t)buffer + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)buffer + size) & ~(page - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)buffer;
    (void)size;
#endif
}

bmc_status bmci_image_new(int32_t mode, int32_t width, int32_t height, bmc_image **out)
{
    int32_t bands = bmci_mode_bands(mode);
    if (bands == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "image: unknown mode %d", mode);
    if (width < 1 || height < 1)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "image: size %dx%d is empty", width, height);
    size_t stride = (size_t)width * (size_t)bands * (size_t)bmci_mode_sample_bytes(mode);
    if (stride / (size_t)width != (size_t)bands * (size_t)bmci_mode_sample_bytes(mode) ||
        (size_t)height > SIZE_MAX / stride)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "image: %dx%d pixels do not fit in memory", width, height);
    bmc_image *image = calloc(1, sizeof *image);
    uint8_t *pixels = malloc(stride * (size_t)height);
    if (!image || !pixels) {
        free(image);
        free(pixels);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "image: cannot allocate %dx%d %s pixels", width, height,
                         bmci_mode_name(mode));
    }
    image->width = width;
    image->height = height;
    image->mode = mode;
    image->bands = bands;
    image->stride = stride;
    image->pixels = pixels;
    prefer_huge_pages(pixels, stride * (size_t)height);
    /* Pillow starts every palette as a grey ramp and overwrites the entries a file defines. */
    for (int i = 0; i < 256; i++)
        memset(&image->palette[3 * i], i, 3);
    *out = image;
    return BMC_OK;
}

void bmc_image_free(bmc_image *image)
{
    if (!image)
        return;
    free(image->pixels);
    free(image);
}

bmc_status bmc_image_info(const bmc_image *image, int32_t *width, int32_t *height, int32_t *mode)
{
    if (!image)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_info: image is NULL");
    if (width)
        *width = image->width;
    if (height)
        *height = image->height;
    if (mode)
        *mode = image->mode;
    return BMC_OK;
}

/* Pillow's cmyk2rgb: each channel is (255 - K) minus C/M/Y scaled by (255 - K) / 255. */
static void cmyk_to_rgb(const uint8_t *in, int32_t width, uint8_t *rgb)
{
    for (int32_t x = 0; x < width; x++, in += 4, rgb += 3) {
        uint32_t nk = 255u - in[3];
        for (int c = 0; c < 3; c++)
            rgb[c] = (uint8_t)(nk - bmci_muldiv255(in[c], nk)); /* never negative */
    }
}

void bmci_image_row_to_rgb8(const bmc_image *image, int32_t y, uint8_t *rgb)
{
    const uint8_t *in = image->pixels + (size_t)y * image->stride;
    int32_t w = image->width;
    switch (image->mode) {
    case BMC_IMAGE_MODE_1:
    case BMC_IMAGE_MODE_L:
    case BMC_IMAGE_MODE_LA: /* Pillow's la2rgb copies L and drops alpha */
        for (int32_t x = 0; x < w; x++, in += image->bands, rgb += 3)
            memset(rgb, in[0], 3);
        break;
    case BMC_IMAGE_MODE_P: /* transparency is ignored, as convert('RGB') does */
        for (int32_t x = 0; x < w; x++, rgb += 3)
            memcpy(rgb, &image->palette[3 * in[x]], 3);
        break;
    case BMC_IMAGE_MODE_RGB:
        memcpy(rgb, in, (size_t)w * 3);
        break;
    case BMC_IMAGE_MODE_RGBA:
        for (int32_t x = 0; x < w; x++, in += 4, rgb += 3)
            memcpy(rgb, in, 3);
        break;
    case BMC_IMAGE_MODE_CMYK:
        cmyk_to_rgb(in, w, rgb);
        break;
    case BMC_IMAGE_MODE_I: /* Pillow's i2rgb clips to 0..255 */
        for (int32_t x = 0; x < w; x++, rgb += 3) {
            int32_t v;
            memcpy(&v, in + 4 * (size_t)x, sizeof v);
            memset(rgb, v <= 0 ? 0 : v >= 255 ? 255 : v, 3);
        }
        break;
    default:
        memset(rgb, 0, (size_t)w * 3);
        break;
    }
}

int bmci_image_row_to_grey8(const bmc_image *image, int32_t y, uint8_t *grey)
{
    const uint8_t *in = image->pixels + (size_t)y * image->stride;
    int32_t w = image->width;
    switch (image->mode) {
    case BMC_IMAGE_MODE_1:
    case BMC_IMAGE_MODE_L:
        memcpy(grey, in, (size_t)w);
        return 1;
    case BMC_IMAGE_MODE_LA:
        for (int32_t x = 0; x < w; x++)
            grey[x] = in[2 * x];
        return 1;
    case BMC_IMAGE_MODE_I: {
        int32_t x = 0;
#if defined(__SSE2__)
        /* Sixteen at a time: the two saturating packs clip to 0..255 as the loop below does. */
        for (; x + 16 <= w; x += 16) {
            const __m128i *v = (const __m128i *)(in + 4 * (size_t)x);
            __m128i low = _mm_packs_epi32(_mm_loadu_si128(v), _mm_loadu_si128(v + 1));
            __m128i high = _mm_packs_epi32(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3));
            _mm_storeu_si128((__m128i *)(grey + x), _mm_packus_epi16(low, high));
        }
#endif
        for (; x < w; x++) {
            int32_t v;
            memcpy(&v, in + 4 * (size_t)x, sizeof v);
            grey[x] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : v);
        }
        return 1;
    }
    default:
        return 0;
    }
}

bmc_status bmc_image_to_rgb8(const bmc_image *image, uint8_t *rgb, size_t size)
{
    if (!image || !rgb)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_to_rgb8: %s is NULL", image ? "rgb" : "image");
    size_t row = (size_t)image->width * 3;
    if (size / row < (size_t)image->height)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL,
                         "bmc_image_to_rgb8: buffer of %zu bytes, a %dx%d RGB image needs %zu", size,
                         image->width, image->height, row * (size_t)image->height);
    for (int32_t y = 0; y < image->height; y++)
        bmci_image_row_to_rgb8(image, y, rgb + (size_t)y * row);
    return BMC_OK;
}
