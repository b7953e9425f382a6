/* SPDX-License-Identifier: MIT */
/* The probe file (docs/linear-probe.md): a 64-byte little-endian header with a magic, a format
 * version and CRC-32 checksums, then the base model's name and source, the labels, the weights
 * and the biases. Every field is checked on load before it is trusted, since probe files travel
 * between machines and people. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32.h"
#include "core/error.h"
#include "model/model.h"
#include "probe/probe.h"

#define MAGIC "BMCPROBE"
#define FORMAT_VERSION 1u
#define HEADER_BYTES 64
/* Bounds that keep a damaged header from asking for absurd allocations. */
#define MAX_DIM 65536u
#define MAX_LABELS (1u << 20)
#define MAX_NAME_BYTES (1u << 20)
#define MAX_LABEL_BYTES (1ull << 30)

typedef struct header {
    uint32_t version, dim, label_count, converged, name_bytes, source_bytes;
    int32_t iterations;
    double c;
    uint64_t label_bytes;
    uint32_t payload_crc;
} header;

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void encode_header(const header *h, unsigned char *b)
{
    memset(b, 0, HEADER_BYTES);
    memcpy(b, MAGIC, 8);
    put32(b + 8, h->version);
    put32(b + 12, h->dim);
    put32(b + 16, h->label_count);
    put32(b + 20, (uint32_t)h->iterations);
    put32(b + 24, h->converged);
    uint64_t c_bits;
    memcpy(&c_bits, &h->c, sizeof c_bits);
    put64(b + 32, c_bits);
    put32(b + 40, h->name_bytes);
    put32(b + 44, h->source_bytes);
    put64(b + 48, h->label_bytes);
    put32(b + 56, h->payload_crc);
    put32(b + 60, bmci_crc32(0, b, 60));
}

/* The payload after the header: name, source, labels (each with its NUL), weights, biases. */
static unsigned char *encode_payload(const bmc_probe *probe, header *h, size_t *size)
{
    const size_t k = probe->label_count, floats = k * (size_t)probe->dim + k;
    h->name_bytes = (uint32_t)strlen(probe->model_name);
    h->source_bytes = (uint32_t)strlen(probe->model_source);
    h->label_bytes = 0;
    for (size_t j = 0; j < k; j++)
        h->label_bytes += strlen(probe->labels[j]) + 1;
    *size = h->name_bytes + h->source_bytes + (size_t)h->label_bytes + 4 * floats;
    unsigned char *payload = malloc(*size), *p = payload;
    if (!payload)
        return NULL;
    memcpy(p, probe->model_name, h->name_bytes);
    p += h->name_bytes;
    memcpy(p, probe->model_source, h->source_bytes);
    p += h->source_bytes;
    for (size_t j = 0; j < k; j++) {
        size_t length = strlen(probe->labels[j]) + 1;
        memcpy(p, probe->labels[j], length);
        p += length;
    }
    for (size_t i = 0; i < floats; i++) {
        float v = i < k * (size_t)probe->dim ? probe->weights[i] : probe->biases[i - k * (size_t)probe->dim];
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        put32(p, bits);
        p += 4;
    }
    return payload;
}

static atomic_uint save_counter;

bmc_status bmc_probe_save(const bmc_probe *probe, const char *path)
{
    if (!probe || !path)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_probe_save: NULL %s", !probe ? "probe" : "path");
    header h = {.version = FORMAT_VERSION, .dim = (uint32_t)probe->dim,
                .label_count = (uint32_t)probe->label_count, .iterations = probe->iterations,
                .converged = (uint32_t)probe->converged, .c = probe->c};
    size_t payload_size;
    unsigned char *payload = encode_payload(probe, &h, &payload_size);
    size_t path_length = strlen(path);
    char *temporary = malloc(path_length + 64);
    if (!payload || !temporary) {
        free(payload);
        free(temporary);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_probe_save: out of memory");
    }
    h.payload_crc = bmci_crc32(0, payload, payload_size);
    unsigned char bytes[HEADER_BYTES];
    encode_header(&h, bytes);
    snprintf(temporary, path_length + 64, "%s.tmp-%ld-%u", path, (long)getpid(),
             atomic_fetch_add(&save_counter, 1));
    bmc_status status = BMC_OK;
    int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    FILE *file = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!file) {
        status = bmci_fail(BMC_ERR_IO, "bmc_probe_save: cannot create '%s': %s", temporary,
                           strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(temporary);
        }
    } else {
        int failed = fwrite(bytes, 1, HEADER_BYTES, file) != HEADER_BYTES ||
                     fwrite(payload, 1, payload_size, file) != payload_size ||
                     fflush(file) != 0 || fsync(fileno(file)) != 0;
        int saved_errno = errno;
        failed |= fclose(file) != 0;
        if (!failed && rename(temporary, path) != 0) {
            saved_errno = errno;
            failed = 1;
        }
        if (failed) {
            status = bmci_fail(BMC_ERR_IO, "bmc_probe_save: cannot write '%s': %s", path,
                               strerror(saved_errno ? saved_errno : EIO));
            unlink(temporary);
        }
    }
    free(temporary);
    free(payload);
    return status;
}

/* ---- load ------------------------------------------------------------------------------------ */

static bmc_status read_file(const char *path, unsigned char **data, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return bmci_fail(BMC_ERR_IO, "bmc_probe_load: cannot open '%s': %s", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return bmci_fail(BMC_ERR_IO, "bmc_probe_load: '%s' is not a regular file", path);
    }
    /* The header's own bounds cap a valid file well below this; reading more is pointless. */
    const uint64_t limit = HEADER_BYTES + 2ull * MAX_NAME_BYTES + MAX_LABEL_BYTES +
                           4ull * ((uint64_t)MAX_DIM + 1) * MAX_LABELS;
    if ((uint64_t)info.st_size < HEADER_BYTES || (uint64_t)info.st_size > limit) {
        fclose(file);
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s' is not a probe file (%jd "
                         "bytes)", path, (intmax_t)info.st_size);
    }
    *size = (size_t)info.st_size;
    *data = malloc(*size);
    if (!*data) {
        fclose(file);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_probe_load: out of memory for '%s'", path);
    }
    size_t got = fread(*data, 1, *size, file);
    fclose(file);
    if (got != *size) {
        free(*data);
        return bmci_fail(BMC_ERR_IO, "bmc_probe_load: cannot read '%s'", path);
    }
    return BMC_OK;
}

static bmc_status decode_header(const char *path, const unsigned char *b, size_t size, header *h)
{
    if (memcmp(b, MAGIC, 8) != 0)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s' is not a probe file (no "
                         "BMCPROBE magic)", path);
    h->version = get32(b + 8);
    if (bmci_crc32(0, b, 60) != get32(b + 60))
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s': the header's checksum "
                         "does not match", path);
    if (h->version != FORMAT_VERSION)
        return bmci_fail(BMC_ERR_VERSION, "bmc_probe_load: '%s' has format version %u; this "
                         "library reads version %u", path, h->version, FORMAT_VERSION);
    h->dim = get32(b + 12);
    h->label_count = get32(b + 16);
    h->iterations = (int32_t)get32(b + 20);
    h->converged = get32(b + 24);
    uint64_t c_bits = get64(b + 32);
    memcpy(&h->c, &c_bits, sizeof h->c);
    h->name_bytes = get32(b + 40);
    h->source_bytes = get32(b + 44);
    h->label_bytes = get64(b + 48);
    h->payload_crc = get32(b + 56);
    if (h->dim < 1 || h->dim > MAX_DIM || h->label_count < 2 || h->label_count > MAX_LABELS ||
        h->name_bytes > MAX_NAME_BYTES || h->source_bytes > MAX_NAME_BYTES ||
        h->label_bytes > MAX_LABEL_BYTES || h->converged > 1 || h->iterations < 0 ||
        !(h->c > 0.0 && isfinite(h->c)))
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s': the header's fields are "
                         "out of range", path);
    uint64_t expected = HEADER_BYTES + (uint64_t)h->name_bytes + h->source_bytes + h->label_bytes +
                        4ull * ((uint64_t)h->dim + 1) * h->label_count;
    if (expected != size)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s' holds %zu bytes; its header "
                         "describes %ju", path, size, (uintmax_t)expected);
    if (bmci_crc32(0, b + HEADER_BYTES, size - HEADER_BYTES) != h->payload_crc)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s': the contents' checksum "
                         "does not match", path);
    return BMC_OK;
}

static char *copy_string(const unsigned char *p, size_t length)
{
    char *s = malloc(length + 1);
    if (s) {
        memcpy(s, p, length);
        s[length] = '\0';
    }
    return s;
}

/* Fills the probe from the checked payload. */
static bmc_status decode_payload(const char *path, const header *h, const unsigned char *p,
                                 bmc_probe *probe)
{
    probe->model_name = copy_string(p, h->name_bytes);
    p += h->name_bytes;
    probe->model_source = copy_string(p, h->source_bytes);
    p += h->source_bytes;
    if (!probe->model_name || !probe->model_source)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_probe_load: out of memory");
    if (strlen(probe->model_name) != h->name_bytes || strlen(probe->model_source) != h->source_bytes)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s': a NUL byte in the model's "
                         "name or source", path);
    const unsigned char *labels_end = p + h->label_bytes;
    for (size_t j = 0; j < probe->label_count; j++) {
        const unsigned char *nul = memchr(p, '\0', (size_t)(labels_end - p));
        if (!nul)
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s': the labels section "
                             "holds fewer than %zu labels", path, probe->label_count);
        if (!(probe->labels[j] = copy_string(p, (size_t)(nul - p))))
            return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_probe_load: out of memory");
        p = nul + 1;
    }
    if (p != labels_end)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s': the labels section is "
                         "longer than its %zu labels", path, probe->label_count);
    bmc_status status = bmci_probe_check_labels("bmc_probe_load", (const char *const *)probe->labels,
                                                probe->label_count);
    if (status != BMC_OK)
        return bmci_fail_context(BMC_ERR_CORRUPT_DATA, path);
    const size_t k = probe->label_count, weights = k * (size_t)probe->dim;
    for (size_t i = 0; i < weights + k; i++, p += 4) {
        uint32_t bits = get32(p);
        float v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "bmc_probe_load: '%s': a weight or bias is "
                             "not finite", path);
        if (i < weights)
            probe->weights[i] = v;
        else
            probe->biases[i - weights] = v;
    }
    return BMC_OK;
}

static bmc_status check_model(const char *path, const bmc_probe *probe, const bmc_model *model)
{
    const char *name = model->name ? model->name : "", *source = model->source ? model->source : "";
    if (probe->dim != model->embed_dim)
        return bmci_fail(BMC_ERR_MODEL, "bmc_probe_load: '%s' reads %d-dimensional embeddings; "
                         "the model gives %d", path, probe->dim, model->embed_dim);
    if (strcmp(probe->model_name, name) != 0)
        return bmci_fail(BMC_ERR_MODEL, "bmc_probe_load: '%s' was trained for model '%s', not "
                         "'%s'", path, probe->model_name, name);
    if (strcmp(probe->model_source, source) != 0)
        return bmci_fail(BMC_ERR_MODEL, "bmc_probe_load: '%s' was trained on the embeddings of "
                         "'%s' (%s), not of this model's weights (%s)", path, probe->model_name,
                         probe->model_source, source);
    return BMC_OK;
}

bmc_status bmc_probe_load(const bmc_model *model, const char *path, bmc_probe **out)
{
    if (!path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_probe_load: NULL %s", !path ? "path" : "out");
    unsigned char *data = NULL;
    size_t size = 0;
    bmc_status status = read_file(path, &data, &size);
    if (status != BMC_OK)
        return status;
    header h = {0};
    status = decode_header(path, data, size, &h);
    bmc_probe *probe = NULL;
    if (status == BMC_OK && !(probe = bmci_probe_alloc((int32_t)h.dim, h.label_count)))
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_probe_load: out of memory");
    if (status == BMC_OK) {
        probe->c = h.c;
        probe->iterations = h.iterations;
        probe->converged = (int32_t)h.converged;
        status = decode_payload(path, &h, data + HEADER_BYTES, probe);
    }
    if (status == BMC_OK && model)
        status = check_model(path, probe, model);
    free(data);
    if (status != BMC_OK) {
        bmc_probe_free(probe);
        return status;
    }
    *out = probe;
    return BMC_OK;
}
