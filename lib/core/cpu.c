/* SPDX-License-Identifier: MIT */
/* CPU features from CPUID leaf 7 and the OS's XCR0 register (a feature the OS does not save
 * across context switches cannot be used, whatever CPUID says). */
#include "core/cpu.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#  include <cpuid.h>

static uint64_t read_xcr0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

/* XCR0 bits: SSE and AVX state (1, 2), AVX-512 opmask and upper registers (5, 6, 7), AMX
 * tile configuration and data (17, 18). */
#define XCR0_AVX512 0xE6u
#define XCR0_AMX    (3u << 17)

static uint64_t os_saved_state(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
        return 0;
    return read_xcr0();
}

static int detect_avx512_bf16(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (!(b & bit_AVX512F) || (os_saved_state() & XCR0_AVX512) != XCR0_AVX512)
        return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 5) & 1; /* AVX512_BF16 */
}

static int detect_amx_bf16(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return ((d >> 22) & 1) && (os_saved_state() & XCR0_AMX) == XCR0_AMX; /* AMX-BF16 */
}
#else
static int detect_avx512_bf16(void) { return 0; }
static int detect_amx_bf16(void) { return 0; }
#endif

/* -1: not read yet. CPUID answers never change, so a race only repeats the same work. */
static atomic_int avx512_bf16 = -1, amx_bf16 = -1;
static atomic_int hidden_bf16;

int bmci_cpu_has_avx512_bf16(void)
{
    if (atomic_load(&avx512_bf16) < 0)
        atomic_store(&avx512_bf16, detect_avx512_bf16());
    return atomic_load(&avx512_bf16) && !atomic_load(&hidden_bf16);
}

int bmci_cpu_has_amx_bf16(void)
{
    if (atomic_load(&amx_bf16) < 0)
        atomic_store(&amx_bf16, detect_amx_bf16());
    return atomic_load(&amx_bf16) && !atomic_load(&hidden_bf16);
}

int bmci_cpu_runs_bf16(void)
{
    return bmci_cpu_has_avx512_bf16() || bmci_cpu_has_amx_bf16();
}

void bmci_cpu_hide_bf16(int hide)
{
    atomic_store(&hidden_bf16, hide != 0);
}
