/* SPDX-License-Identifier: MIT */
/* The .npy writer: NumPy format version 1.0, little-endian, C order.
 *
 * Layout: the magic "\x93NUMPY", version bytes 1 and 0, the header length as a little-endian
 * uint16, then the header, a Python dict literal padded with spaces and ended by '\n' so that
 * the data starts at a multiple of 64 bytes (NumPy's own alignment), then the raw data. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int write_bytes(const char *cmd, cli_npy *npy, const void *data, size_t size)
{
    if (fwrite(data, 1, size, npy->file) != size)
        return cli_error(cmd, "cannot write '%s': %s", npy->path, strerror(errno));
    return CLI_OK;
}

int cli_npy_open(const char *cmd, cli_npy *npy, const char *path, int type, const size_t *shape,
                 int dims)
{
    char header[512];
    int length = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                          type == CLI_NPY_F32 ? "<f4" : "|u1");
    for (int i = 0; i < dims; i++) /* Python's tuple syntax: "(2, 3)", "(2,)" */
        length += snprintf(header + length, sizeof header - (size_t)length, "%s%zu%s",
                           i ? ", " : "", shape[i], dims == 1 ? "," : "");
    length += snprintf(header + length, sizeof header - (size_t)length, "), }");
    /* 10 bytes of preamble, the dict, padding, '\n': a multiple of 64 in all. */
    size_t total = (10 + (size_t)length + 1 + 63) / 64 * 64;
    memset(header + length, ' ', total - 10 - (size_t)length - 1);
    header[total - 10 - 1] = '\n';
    size_t header_length = total - 10;
    unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                  (unsigned char)(header_length & 0xff),
                                  (unsigned char)(header_length >> 8)};

    npy->path = path;
    npy->file = fopen(path, "wb");
    if (!npy->file)
        return cli_error(cmd, "cannot create '%s': %s", path, strerror(errno));
    if (write_bytes(cmd, npy, preamble, sizeof preamble) != CLI_OK ||
        write_bytes(cmd, npy, header, header_length) != CLI_OK) {
        cli_npy_close(cmd, npy, 0);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int little_endian_host(void)
{
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe == 1;
}

int cli_npy_write_f32(const char *cmd, cli_npy *npy, const float *values, size_t count)
{
    if (little_endian_host())
        return write_bytes(cmd, npy, values, count * sizeof *values);
    for (size_t i = 0; i < count; i++) {
        unsigned char bytes[4], swapped[4];
        memcpy(bytes, &values[i], 4);
        for (int b = 0; b < 4; b++)
            swapped[b] = bytes[3 - b];
        if (write_bytes(cmd, npy, swapped, 4) != CLI_OK)
            return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_npy_write_u8(const char *cmd, cli_npy *npy, const uint8_t *values, size_t count)
{
    return write_bytes(cmd, npy, values, count);
}

int cli_npy_close(const char *cmd, cli_npy *npy, int keep)
{
    if (!npy->file)
        return keep ? CLI_OK : CLI_FAIL;
    int rc = CLI_OK;
    if (fclose(npy->file) != 0 && keep)
        rc = cli_error(cmd, "cannot write '%s': %s", npy->path, strerror(errno));
    npy->file = NULL;
    if (!keep || rc != CLI_OK) {
        unlink(npy->path);
        rc = CLI_FAIL;
    }
    return rc;
}
