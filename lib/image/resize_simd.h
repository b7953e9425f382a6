/* SPDX-License-Identifier: MIT */
/* Internal: SIMD kernels of the 8-bit resampling passes of resize.c (AVX2, AVX-512BW), chosen
 * at run time. They compute exactly what the portable passes compute: the same 22-bit
 * fixed-point coefficients, sums, rounding and clipping. */
#ifndef BMC_LIB_RESIZE_SIMD_H
#define BMC_LIB_RESIZE_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* The fixed-point weights of `count` output indices: output i uses input indices start[i] ..
 * start[i] + length[i] - 1 with weights k[i * ksize + j] (Pillow's 22-bit fixed point). */
struct bmci_weights8 {
    int32_t count;
    int32_t ksize;
    const int32_t *start;
    const int32_t *length;
    const int32_t *k;
};

/* The 8-bit horizontal pass over `rows` rows: dst row y, pixel i = the weighted sum of src row
 * y's pixels start[i] .. (bands samples each, in_width pixels a row), rounded and clipped.
 * Returns 1 when done, 0 when no SIMD kernel applies (no CPU support, forced portable, or no
 * memory for its tables): the caller then runs the portable pass. */
int bmci_resize_horizontal_u8_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                   ptrdiff_t dst_stride, int32_t rows, int32_t bands,
                                   const struct bmci_weights8 *w);

/* The 8-bit vertical pass: dst row y (samples values) = the weighted sum of src rows
 * start[y] - row0 .., rounded and clipped, for y in 0 .. w->count - 1. Returns as above. */
int bmci_resize_vertical_u8_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                 ptrdiff_t dst_stride, size_t samples, const struct bmci_weights8 *w);

/* Pillow's premultiplication of RGBA pixels (colour samples times alpha / 255, rounded), from
 * src to dst (4 bytes a pixel each), for the leading pixels it can do in whole vector steps.
 * Returns how many it did (0 without SIMD support): the caller does the rest. */
size_t bmci_premultiply_rgba_simd(const uint8_t *src, uint8_t *dst, size_t pixels);

/* Pillow's unpremultiplication of RGBA pixels in place (colour samples times 255 / alpha,
 * truncated and clipped; alpha 0 and 255 left alone), for the leading pixels it can do in whole
 * vector steps. Returns how many it did (0 without SIMD support): the caller does the rest. */
size_t bmci_unpremultiply_rgba_simd(uint8_t *pixels, size_t count);

/* Tests only: 1 makes the passes above return 0 (so the portable code runs), 0 lets them run
 * again. Returns the previous setting. Not thread-safe: tests call it between resizes. */
int bmci_resize_force_portable(int force);

/* Tests only: use kernel sets up to `level` (0 none, 1 AVX2, 2 AVX-512BW, 3 AVX-512BW with
 * VBMI and VNNI, the default), so that the narrower kernels run on a CPU that has the wider
 * ones. Returns the previous limit. */
int bmci_resize_limit_simd(int level);

/* Tests only: the widest kernel set the passes use now: 0 none, 1 AVX2, 2 AVX-512BW,
 * 3 AVX-512BW with VBMI and VNNI. */
int bmci_resize_simd_level(void);

#endif
