/* SPDX-License-Identifier: MIT */
/* Internal: AVX-512 and AVX2 kernels of the 32-bit resampling passes of resize.c (modes I and
 * F, one band), chosen at run time. Each output sample sums the same double products in the
 * same order as the portable passes, so the results are the same bits. */
#ifndef BMC_LIB_RESIZE_WIDE_SIMD_H
#define BMC_LIB_RESIZE_WIDE_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* The weights of `count` output indices: output i uses input indices start[i] ..
 * start[i] + length[i] - 1 with weights k[i * ksize + j] (Pillow's double weights, zero for j
 * from length[i] to ksize - 1, as Pillow leaves them). */
struct bmci_weights_wide {
    int32_t count;
    int32_t ksize;
    const int32_t *start;
    const int32_t *length;
    const double *k;
};

/* The 32-bit horizontal pass over `rows` rows of in_width samples: dst row y, sample i = the sum
 * over j of src row y's sample start[i] + j times k[i * ksize + j], in double from 0.0 in the order of j, stored
 * as Pillow stores it (int32 samples rounded half away from zero, float samples converted).
 * `is_float` says whether samples are float (mode F) or int32 (mode I). Returns 1 when done, 0
 * when no kernel applies (no AVX-512, or float samples without it; forced portable; no memory
 * for its table): the caller then runs the portable pass. */
int bmci_resize_horizontal_wide_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                     ptrdiff_t dst_stride, int32_t rows, int is_float,
                                     const struct bmci_weights_wide *w);

/* The 32-bit vertical pass: dst row y (samples values) = the weighted sum of src rows
 * start[y] - row0 .., as above, for y in 0 .. w->count - 1. Returns as above. */
int bmci_resize_vertical_wide_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                   ptrdiff_t dst_stride, size_t samples, int is_float,
                                   const struct bmci_weights_wide *w);

/* The AVX2 kernels (resize_wide_avx2.c) behind the two functions above, which call them on CPUs
 * with AVX2 but not AVX-512: the horizontal pass for int32 samples only, the vertical for both.
 * Same contracts; they do not check the CPU. */
int bmci_resize_horizontal_int_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                    ptrdiff_t dst_stride, int32_t rows, const struct bmci_weights_wide *w);
int bmci_resize_vertical_wide_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                   ptrdiff_t dst_stride, size_t samples, int is_float,
                                   const struct bmci_weights_wide *w);

#endif
