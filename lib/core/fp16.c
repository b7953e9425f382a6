/* SPDX-License-Identifier: MIT */
/* Half-precision conversions by bit manipulation (no F16C needed, so they run anywhere and
 * serve as the reference for the SIMD search kernels). */
#include "core/fp16.h"

#include <string.h>

/* Round `bits` right by `shift` places to nearest, ties to even. */
static uint32_t shift_round_even(uint32_t bits, unsigned shift)
{
    uint32_t kept = bits >> shift;
    uint32_t rest = bits & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (kept & 1)))
        kept++;
    return kept;
}

uint16_t bmci_f32_to_f16(float value)
{
    uint32_t x;
    memcpy(&x, &value, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t magnitude = x & 0x7FFFFFFFu;
    if (magnitude > 0x7F800000u) /* NaN: keep it quiet, with the top payload bits */
        return (uint16_t)(sign | 0x7E00 | ((magnitude >> 13) & 0x3FF));
    if (magnitude >= 0x477FF000u) /* >= 65520 (halfway past the largest half): infinity */
        return (uint16_t)(sign | 0x7C00);
    if (magnitude >= 0x38800000u) /* >= 2^-14: a normal half; re-bias the exponent by 112.
                                   * A carry out of the mantissa correctly bumps the exponent. */
        return (uint16_t)(sign | shift_round_even(magnitude - 0x38000000u, 13));
    if (magnitude < 0x33000000u) /* < 2^-25: rounds to zero */
        return sign;
    /* A subnormal half counts units of 2^-24: the float's 24-bit significand times
     * 2^(exponent - 150), shifted right by 126 - exponent (14..24 places). */
    uint32_t exponent = magnitude >> 23;
    uint32_t significand = (magnitude & 0x7FFFFFu) | 0x800000u;
    return (uint16_t)(sign | shift_round_even(significand, 126 - exponent));
}

float bmci_f16_to_f32(uint16_t half)
{
    uint32_t sign = (uint32_t)(half & 0x8000) << 16;
    uint32_t exponent = (half >> 10) & 0x1F;
    uint32_t mantissa = half & 0x3FF;
    uint32_t x;
    if (exponent == 0x1F) {
        x = sign | 0x7F800000u | (mantissa << 13);
    } else if (exponent != 0) {
        x = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else {
        float subnormal = (float)mantissa * 0x1p-24f; /* exact: mantissa < 2^10 */
        memcpy(&x, &subnormal, sizeof x);
        x |= sign;
    }
    float value;
    memcpy(&value, &x, sizeof value);
    return value;
}
