/* SPDX-License-Identifier: MIT */
/* CPU features from CPUID leaf 7 and the OS's XCR0 register (a feature the OS does not save
 * across context switches cannot be used, whatever CPUID says). */
#include "core/cpu.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
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

static int detect_avx512f(void)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & bit_AVX512F) && (os_saved_state() & XCR0_AVX512) == XCR0_AVX512;
}

static int detect_avx512_bf16(void)
{
    unsigned a, b, c, d;
    if (!detect_avx512f())
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
static int detect_avx512f(void) { return 0; }
static int detect_avx512_bf16(void) { return 0; }
static int detect_amx_bf16(void) { return 0; }
#endif

/* -1: not read yet. CPUID answers never change, so a race only repeats the same work. */
static atomic_int avx512f = -1, avx512_bf16 = -1, amx_bf16 = -1;
static atomic_int hidden_bf16;

int bmci_cpu_has_avx512f(void)
{
    if (atomic_load(&avx512f) < 0)
        atomic_store(&avx512f, detect_avx512f());
    return atomic_load(&avx512f);
}

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

/* The core a CPU belongs to, as "package:core" read from sysfs; 0 if unknown. */
static int read_core_key(int cpu, char *key, size_t size)
{
    char path[96];
    int package = -1, core = -1;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
    FILE *file = fopen(path, "r");
    if (file) {
        if (fscanf(file, "%d", &package) != 1)
            package = -1;
        fclose(file);
    }
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
    file = fopen(path, "r");
    if (file) {
        if (fscanf(file, "%d", &core) != 1)
            core = -1;
        fclose(file);
    }
    if (package < 0 || core < 0)
        return 0;
    snprintf(key, size, "%d:%d", package, core);
    return 1;
}

static int count_physical_cores(void)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return 1;
    enum { MAX_KEYS = 1024 };
    static char keys[MAX_KEYS][24];
    int logical = 0, cores = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        logical++;
        char key[24];
        if (!read_core_key(cpu, key, sizeof key) || cores == MAX_KEYS)
            return logical > 0 ? logical : 1; /* no topology: count logical CPUs */
        int seen = 0;
        for (int i = 0; i < cores && !seen; i++)
            seen = strcmp(keys[i], key) == 0;
        if (!seen)
            snprintf(keys[cores++], sizeof keys[0], "%s", key);
    }
    return cores > 0 ? cores : 1;
}

static atomic_int physical_cores;

int bmci_cpu_physical_cores(void)
{
    /* Counted once, under a lock: the table of core keys is static. */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (atomic_load(&physical_cores) == 0) {
        pthread_mutex_lock(&lock);
        if (atomic_load(&physical_cores) == 0)
            atomic_store(&physical_cores, count_physical_cores());
        pthread_mutex_unlock(&lock);
    }
    return atomic_load(&physical_cores);
}
