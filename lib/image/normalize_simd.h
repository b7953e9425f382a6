/* SPDX-License-Identifier: MIT */
/* Internal: the last step of preprocessing, bytes to the model's normalised float planes
 * through per-channel tables, with AVX-512 VBMI or AVX2 where the CPU has them. */
#ifndef BMC_LIB_NORMALIZE_SIMD_H
#define BMC_LIB_NORMALIZE_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* planes[c][i] = table[c][bytes[i * stride + (stride == 3 ? c : 0)]] for i in 0 .. pixels - 1:
 * stride 1 for grey bytes (one byte feeds the three planes), 3 for interleaved RGB. table[c][x]
 * must be ((float)x / 255 - mean[c]) / std[c] in float32, one rounding per operation: the AVX2
 * kernel computes that instead of looking it up. Returns 1 when done, 0 when the CPU lacks the
 * kernels' instructions (or the tests forbid them): the caller then does it with the tables. */
int bmci_normalize_simd(const uint8_t *bytes, size_t pixels, int stride, const float table[3][256],
                        const float mean[3], const float std[3], float *const planes[3]);

#endif
