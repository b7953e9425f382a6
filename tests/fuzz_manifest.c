/* SPDX-License-Identifier: MIT */
/* Fuzz target: parse any bytes as an index set manifest (lib/index/manifest.c). For half of
 * the inputs the trailing "crc32" line is recomputed first, so the fuzzer gets past the
 * checksum to the line syntax (numbers, counts, paths). Nothing may crash, leak or trip a
 * sanitizer; a manifest that parses must hold what it claims. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32.h"
#include "index/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int reseal = data[0] & 1;
    data++;
    size--;
    char *text = malloc(size + 16);
    if (!text)
        return 0;
    memcpy(text, data, size);
    size_t n = size;
    if (reseal) {
        /* replace a final crc32 line, or add one */
        if (n >= 15 && memcmp(text + n - 15, "crc32 ", 6) == 0)
            n -= 15;
        char trailer[16];
        snprintf(trailer, sizeof trailer, "crc32 %08x\n", (unsigned)bmci_crc32(0, text, n));
        memcpy(text + n, trailer, 15);
        n += 15;
    }
    bmci_manifest m;
    if (bmci_manifest_parse("fuzz", text, n, &m) == BMC_OK) {
        if (m.shard_count == 0 || m.dim == 0 || m.dim > BMCI_INDEX_MAX_DIM)
            abort();
        for (size_t i = 0; i < m.shard_count; i++)
            if (!m.shards[i].path[0] || strpbrk(m.shards[i].path, "\r\n"))
                abort();
        bmci_manifest_free(&m);
    }
    free(text);
    return 0;
}
