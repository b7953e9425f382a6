/* SPDX-License-Identifier: MIT */
/* Run-time version of the library, to compare with the header's macros. */
#include "biomedclip.h"

uint32_t bmc_version(void)
{
    return BMC_VERSION_NUMBER;
}

const char *bmc_version_string(void)
{
    return BMC_VERSION_STRING;
}
