/* SPDX-License-Identifier: MIT */
/* The bfloat16 parity tests' common start: load a bundle in bfloat16 on the CPU where the CPU
 * runs it natively; elsewhere check that the load is refused with BMC_ERR_DEVICE and say that
 * the comparison is skipped. Include after harness.h. */
#ifndef BMC_TESTS_BF16_MODEL_H
#define BMC_TESTS_BF16_MODEL_H

#include "biomedclip.h"
#include "core/cpu.h"

/* The model in bfloat16, or NULL when the CPU lacks bfloat16 or the load failed (a failed
 * check then says why). */
static inline bmc_model *load_bf16_model(const char *path)
{
    bmc_model_options options;
    bmc_model_options_init(&options);
    options.dtype = BMC_DTYPE_BF16;
    bmc_model *model = NULL;
    if (!bmci_cpu_runs_bf16()) {
        CHECK_STATUS(bmc_model_load(path, &options, &model), BMC_ERR_DEVICE);
        printf("bfloat16: not compared, this CPU has neither AVX512_BF16 nor AMX-BF16 (the load is "
               "refused)\n");
        return NULL;
    }
    CHECK_STATUS(bmc_model_load(path, &options, &model), BMC_OK);
    return model;
}

#endif
