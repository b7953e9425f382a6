/* SPDX-License-Identifier: MIT */
/* CRC-32 as zlib's crc32() computes it (reflected polynomial 0xEDB88320, initial and final
 * XOR with 0xFFFFFFFF), for the checksums of model bundles (their zip records), index files and
 * probe files. */
#ifndef BMC_LIB_CRC32_H
#define BMC_LIB_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC over `size` more bytes; start with crc = 0. bmci_crc32(0, "123456789", 9)
 * is 0xCBF43926. */
uint32_t bmci_crc32(uint32_t crc, const void *data, size_t size);

#endif
