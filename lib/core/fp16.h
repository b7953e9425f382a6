/* SPDX-License-Identifier: MIT */
/* IEEE 754 half precision (binary16) conversions in portable C, for float16 index storage. */
#ifndef BMC_LIB_FP16_H
#define BMC_LIB_FP16_H

#include <stddef.h>
#include <stdint.h>

/* Round to the nearest half, ties to even (as numpy's astype(float16) and F16C's
 * vcvtps2ph with round-to-nearest). Overflow gives infinity; NaN stays NaN. */
uint16_t bmci_f32_to_f16(float value);

/* Exact widening of a half to float. */
float bmci_f16_to_f32(uint16_t half);

#endif
