/* SPDX-License-Identifier: MIT */
/* Manifests of index sets: a small text file naming each shard of a set with its entry count,
 * file size and header checksum, ending with a CRC-32 of everything before it. Text, so that
 * a person (or a shell script on a cluster) can read which files make up a set; strict, so
 * that there is exactly one way to write each manifest and any damage is noticed. The format
 * is documented in docs/index-format.md:
 *
 *   BMCINDEXSET 1
 *   dim 512
 *   dtype 1
 *   shards 2
 *   shard 1000 2052288 3f1c09aa part-00000.bmcidx
 *   shard 24 49408 0be2d1f0 part-00001.bmcidx
 *   crc32 5d0a77c3
 */
#include "index/index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crc32.h"
#include "core/error.h"

#define MANIFEST_MAGIC "BMCINDEXSET "
#define MANIFEST_VERSION 1
#define TRAILER "crc32 "
#define TRAILER_BYTES 15 /* "crc32 " + 8 hex digits + "\n" */

void bmci_manifest_free(bmci_manifest *manifest)
{
    if (!manifest)
        return;
    for (size_t i = 0; i < manifest->shard_count; i++)
        free(manifest->shards[i].path);
    free(manifest->shards);
    manifest->shards = NULL;
    manifest->shard_count = 0;
}

/* ---- parsing ------------------------------------------------------------------------------ */

typedef struct cursor {
    const char *name;
    const char *at, *end;
    size_t line; /* 1-based, for messages */
} cursor;

static bmc_status bad_line(const cursor *c, const char *expected)
{
    return bmci_fail(BMC_ERR_CORRUPT_DATA, "index set manifest '%s': line %zu is not %s", c->name,
                     c->line, expected);
}

/* Consume `word` exactly. */
static int take_word(cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->at) < n || memcmp(c->at, word, n) != 0)
        return 0;
    c->at += n;
    return 1;
}

/* A decimal number without sign or leading zeros, up to `max`. */
static int take_number(cursor *c, uint64_t max, uint64_t *out)
{
    const char *start = c->at;
    uint64_t value = 0;
    while (c->at < c->end && *c->at >= '0' && *c->at <= '9') {
        unsigned digit = (unsigned)(*c->at - '0');
        if (value > (max - digit) / 10)
            return 0;
        value = value * 10 + digit;
        c->at++;
    }
    size_t digits = (size_t)(c->at - start);
    if (digits == 0 || (digits > 1 && *start == '0'))
        return 0;
    *out = value;
    return 1;
}

/* Eight lowercase hexadecimal digits. */
static int take_hex32(cursor *c, uint32_t *out)
{
    if (c->end - c->at < 8)
        return 0;
    uint32_t value = 0;
    for (int i = 0; i < 8; i++) {
        char ch = c->at[i];
        unsigned digit = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0')
                         : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10) : 16;
        if (digit == 16)
            return 0;
        value = value << 4 | digit;
    }
    c->at += 8;
    *out = value;
    return 1;
}

static int take_newline(cursor *c)
{
    if (c->at < c->end && *c->at == '\n') {
        c->at++;
        c->line++;
        return 1;
    }
    return 0;
}

/* "KEY NUMBER\n" with the number in 1..max. */
static bmc_status take_field(cursor *c, const char *key, uint64_t max, uint64_t *out)
{
    char expected[64];
    snprintf(expected, sizeof expected, "'%s N' with N from 1 to %llu", key, (unsigned long long)max);
    if (!take_word(c, key) || !take_word(c, " ") || !take_number(c, max, out) || *out == 0 ||
        !take_newline(c))
        return bad_line(c, expected);
    return BMC_OK;
}

/* "shard COUNT BYTES HEADERCRC PATH\n"; the path runs to the end of the line. */
static bmc_status take_shard(cursor *c, bmci_manifest_shard *shard)
{
    static const char expected[] = "'shard COUNT BYTES CRC32 PATH'";
    if (!take_word(c, "shard ") || !take_number(c, UINT64_MAX, &shard->count) ||
        !take_word(c, " ") || !take_number(c, UINT64_MAX, &shard->bytes) || !take_word(c, " ") ||
        !take_hex32(c, &shard->header_crc) || !take_word(c, " "))
        return bad_line(c, expected);
    const char *path = c->at;
    while (c->at < c->end && *c->at != '\n' && *c->at != '\r' && *c->at != '\0')
        c->at++;
    size_t length = (size_t)(c->at - path);
    if (length == 0 || !take_newline(c))
        return bad_line(c, "'shard COUNT BYTES CRC32 PATH' with a path (no NUL or CR in it)");
    shard->path = malloc(length + 1);
    if (!shard->path)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index set manifest '%s': out of memory", c->name);
    memcpy(shard->path, path, length);
    shard->path[length] = '\0';
    return BMC_OK;
}

/* Magic and version first (a newer version is reported as such, whatever follows), then the
 * trailing checksum (so damage anywhere is reported as damage), then each line. */
bmc_status bmci_manifest_parse(const char *name, const char *text, size_t size,
                               bmci_manifest *out)
{
    cursor c = {name, text, text + size, 1};
    uint64_t version;
    if (!take_word(&c, MANIFEST_MAGIC))
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index set manifest '%s': not a manifest (it does "
                         "not start with 'BMCINDEXSET ')", name);
    if (!take_number(&c, UINT32_MAX, &version) || version == 0 || !take_newline(&c))
        return bad_line(&c, "'BMCINDEXSET VERSION'");
    if (version > MANIFEST_VERSION)
        return bmci_fail(BMC_ERR_VERSION, "index set manifest '%s' has version %llu; this library "
                         "reads version %d", name, (unsigned long long)version, MANIFEST_VERSION);
    cursor trailer = {name, text + size - (size < TRAILER_BYTES ? size : TRAILER_BYTES),
                      text + size, 0};
    uint32_t expected_crc;
    if (size < (size_t)(c.at - text) + TRAILER_BYTES || !take_word(&trailer, TRAILER) ||
        !take_hex32(&trailer, &expected_crc) || !take_newline(&trailer) ||
        (size > TRAILER_BYTES && text[size - TRAILER_BYTES - 1] != '\n'))
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index set manifest '%s' is truncated (it does not "
                         "end with a 'crc32' line)", name);
    if (bmci_crc32(0, text, size - TRAILER_BYTES) != expected_crc)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index set manifest '%s' is damaged (checksum "
                         "mismatch)", name);
    c.end = text + size - TRAILER_BYTES;
    uint64_t dim, dtype, shards;
    bmc_status status;
    if ((status = take_field(&c, "dim", BMCI_INDEX_MAX_DIM, &dim)) != BMC_OK ||
        (status = take_field(&c, "dtype", UINT32_MAX, &dtype)) != BMC_OK ||
        (status = take_field(&c, "shards", UINT64_MAX, &shards)) != BMC_OK)
        return status;
    if (!bmci_index_value_size((int64_t)dtype))
        return bmci_fail(BMC_ERR_UNSUPPORTED, "index set manifest '%s' names dtype %llu, which this "
                         "library does not know", name, (unsigned long long)dtype);
    /* Each shard line takes at least 16 bytes: a count past that is a lie, not a reason to
     * allocate. */
    if (shards > (uint64_t)(c.end - c.at) / 16)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index set manifest '%s' claims %llu shards but is "
                         "too short for them", name, (unsigned long long)shards);
    bmci_manifest m = {(uint32_t)dim, (uint32_t)dtype, 0, calloc((size_t)shards, sizeof *m.shards)};
    if (!m.shards)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index set manifest '%s': out of memory", name);
    for (; m.shard_count < shards && status == BMC_OK; m.shard_count++)
        status = take_shard(&c, &m.shards[m.shard_count]);
    if (status == BMC_OK && c.at != c.end)
        status = bad_line(&c, "the 'crc32' line (there are more lines than the shards it counts)");
    if (status != BMC_OK) {
        bmci_manifest_free(&m);
        return status;
    }
    *out = m;
    return BMC_OK;
}

/* ---- writing ------------------------------------------------------------------------------ */

static atomic_uint manifest_counter;

bmc_status bmci_manifest_write(const char *path, const bmci_manifest *manifest)
{
    /* The text in memory first: its checksum goes at its end. */
    size_t capacity = 128;
    for (size_t i = 0; i < manifest->shard_count; i++)
        capacity += strlen(manifest->shards[i].path) + 80;
    char *text = malloc(capacity);
    size_t path_length = strlen(path);
    char *temporary = malloc(path_length + 64);
    if (!text || !temporary) {
        free(text);
        free(temporary);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_index_set_write_manifest: out of memory");
    }
    size_t n = (size_t)snprintf(text, capacity, "%s%d\ndim %u\ndtype %u\nshards %zu\n",
                                MANIFEST_MAGIC, MANIFEST_VERSION, manifest->dim, manifest->dtype,
                                manifest->shard_count);
    for (size_t i = 0; i < manifest->shard_count; i++) {
        const bmci_manifest_shard *s = &manifest->shards[i];
        n += (size_t)snprintf(text + n, capacity - n, "shard %llu %llu %08x %s\n",
                              (unsigned long long)s->count, (unsigned long long)s->bytes,
                              (unsigned)s->header_crc, s->path);
    }
    n += (size_t)snprintf(text + n, capacity - n, "%s%08x\n", TRAILER,
                          (unsigned)bmci_crc32(0, text, n));

    snprintf(temporary, path_length + 64, "%s.tmp-%ld-%u", path, (long)getpid(),
             atomic_fetch_add(&manifest_counter, 1));
    bmc_status status = BMC_OK;
    int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        status = bmci_fail(BMC_ERR_IO, "bmc_index_set_write_manifest: cannot create '%s': %s",
                           temporary, strerror(errno));
    } else {
        size_t done = 0;
        int failed = 0;
        while (done < n && !failed) {
            ssize_t w = write(fd, text + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            failed = w <= 0;
            if (!failed)
                done += (size_t)w;
        }
        failed = failed || fsync(fd) != 0;
        int saved_errno = errno;
        failed |= close(fd) != 0;
        if (!failed && rename(temporary, path) != 0) {
            saved_errno = errno;
            failed = 1;
        }
        if (failed) {
            status = bmci_fail(BMC_ERR_IO, "bmc_index_set_write_manifest: cannot write '%s': %s",
                               path, strerror(saved_errno ? saved_errno : EIO));
            unlink(temporary);
        }
    }
    free(temporary);
    free(text);
    return status;
}
