/* SPDX-License-Identifier: MIT */
/* What this CPU can run, read once with CPUID and XGETBV. The library is built without -march
 * flags and chooses kernels and dtypes at run time from these answers. */
#ifndef BMC_LIB_CPU_H
#define BMC_LIB_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if the CPU has AVX-512F and the OS saves the AVX-512 registers. */
int bmci_cpu_has_avx512f(void);

/* 1 if the CPU has AVX512_BF16 (vdpbf16ps) and the OS saves the AVX-512 registers. */
int bmci_cpu_has_avx512_bf16(void);

/* 1 if the CPU has AMX with bfloat16 tiles and the OS saves the tile state. */
int bmci_cpu_has_amx_bf16(void);

/* 1 if bfloat16 models run natively on this CPU (either of the above): libtorch's oneDNN
 * kernels then compute bfloat16 matrix products at full speed; elsewhere they are emulated
 * and slower than float32, so the library refuses bfloat16 on such a CPU. */
int bmci_cpu_runs_bf16(void);

/* Physical cores this process may run on (its affinity mask, hyper-threads of one core counted
 * once); at least 1. */
int bmci_cpu_physical_cores(void);

/* Tests only: pretend the CPU lacks bfloat16 support (1) or report the truth again (0). */
void bmci_cpu_hide_bf16(int hide);

#ifdef __cplusplus
}
#endif

#endif
