/* SPDX-License-Identifier: MIT */
/* Zip archive checks before libtorch reads a bundle or a head: the records' structure and the
 * CRC-32 of every entry, stored or deflated (libtorch's own reader does not check them;
 * archive.h says what that let through). Deflated entries (torch.jit.save compresses the
 * TorchScript source) are inflated by zlib in bounded chunks, only to check their size and CRC.
 * Read with pread on one descriptor: no state, any number of threads. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/archive.h"
#include "core/crc32.h"
#include "core/error.h"

enum { LOCAL_SIZE = 30, CENTRAL_SIZE = 46, END_SIZE = 22, ZIP64_LOCATOR_SIZE = 20, ZIP64_END_SIZE = 56 };
#define MAX_COMMENT 65535u
#define CHUNK ((size_t)1 << 20)

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Read exactly `size` bytes at `offset`: 1, or 0 with errno set (0 for a short file). */
static int read_at(int fd, void *buffer, size_t size, uint64_t offset)
{
    uint8_t *out = buffer;
    while (size > 0) {
        ssize_t got = pread(fd, out, size, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = 0;
            return 0;
        }
        out += got;
        size -= (size_t)got;
        offset += (uint64_t)got;
    }
    return 1;
}

static bmc_status corrupt(const char *what, const char *path, const char *why)
{
    (void)path; /* the loaders add the path to the message */
    return bmci_fail(BMC_ERR_CORRUPT_DATA, "%s: damaged TorchScript archive: %s", what, why);
}

static bmc_status read_failed(const char *what, const char *path)
{
    if (errno == 0)
        return corrupt(what, path, "it ends inside a record");
    return bmci_fail(BMC_ERR_IO, "%s: cannot read '%s': %s", what, path, strerror(errno));
}

/* The central directory's place and size, and the number of entries, from the end record
 * (and the zip64 end record where the 32-bit fields are saturated). */
typedef struct directory {
    uint64_t offset, size, entries, end; /* end: where the end record(s) begin */
} directory;

static bmc_status find_directory(int fd, uint64_t file_size, const char *what, const char *path,
                                 directory *dir)
{
    if (file_size < END_SIZE)
        return corrupt(what, path, "too short for a zip end record");
    size_t tail = (size_t)(file_size < END_SIZE + MAX_COMMENT ? file_size : END_SIZE + MAX_COMMENT);
    uint8_t *buffer = malloc(tail);
    if (!buffer)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    if (!read_at(fd, buffer, tail, file_size - tail)) {
        free(buffer);
        return read_failed(what, path);
    }
    /* The last end record whose comment fits in the file (bytes may follow it, as libtorch's
     * reader allows). */
    size_t at = tail - END_SIZE + 1;
    int found = 0;
    while (at-- > 0) {
        if (get32(buffer + at) == 0x06054b50 && at + END_SIZE + get16(buffer + at + 20) <= tail) {
            found = 1;
            break;
        }
    }
    if (!found) {
        free(buffer);
        return corrupt(what, path, "no end record (truncated?)");
    }
    const uint8_t *end = buffer + at;
    dir->end = file_size - tail + at;
    dir->entries = get16(end + 10);
    dir->size = get32(end + 12);
    dir->offset = get32(end + 16);
    int zip64 = dir->entries == 0xFFFF || dir->size == 0xFFFFFFFF || dir->offset == 0xFFFFFFFF;
    /* libtorch's writer adds the zip64 records to every archive, whatever its size: where the
     * locator is there, its record is the one that counts. */
    if (at >= ZIP64_LOCATOR_SIZE && get32(buffer + at - ZIP64_LOCATOR_SIZE) == 0x07064b50)
        zip64 = 1;
    free(buffer);
    if (zip64) {
        uint8_t locator[ZIP64_LOCATOR_SIZE], end64[ZIP64_END_SIZE];
        if (dir->end < ZIP64_LOCATOR_SIZE)
            return corrupt(what, path, "no zip64 end locator");
        if (!read_at(fd, locator, sizeof locator, dir->end - ZIP64_LOCATOR_SIZE))
            return read_failed(what, path);
        uint64_t at64 = get64(locator + 8);
        if (get32(locator) != 0x07064b50 || at64 > dir->end - ZIP64_LOCATOR_SIZE ||
            dir->end - ZIP64_LOCATOR_SIZE - at64 < ZIP64_END_SIZE)
            return corrupt(what, path, "bad zip64 end locator");
        if (!read_at(fd, end64, sizeof end64, at64))
            return read_failed(what, path);
        if (get32(end64) != 0x06064b50)
            return corrupt(what, path, "bad zip64 end record");
        dir->entries = get64(end64 + 32);
        dir->size = get64(end64 + 40);
        dir->offset = get64(end64 + 48);
        dir->end = at64;
    }
    if (dir->offset > dir->end || dir->size != dir->end - dir->offset)
        return corrupt(what, path, "the central directory does not end where the end record begins");
    if (dir->entries == 0 || dir->entries > dir->size / CENTRAL_SIZE)
        return corrupt(what, path, "the entry count does not fit the central directory");
    return BMC_OK;
}

/* The 64-bit sizes and offset of a record whose 32-bit fields are saturated, from its zip64
 * extra field (present in the order of the saturated fields). */
static int read_zip64_extra(const uint8_t *extra, size_t length, uint64_t *uncompressed, uint64_t *compressed,
                            uint64_t *local)
{
    size_t at = 0;
    while (at + 4 <= length) {
        uint32_t id = get16(extra + at), size = get16(extra + at + 2);
        if (at + 4 + size > length)
            return 0;
        if (id == 0x0001) {
            const uint8_t *field = extra + at + 4;
            size_t used = 0;
            uint64_t *wanted[3] = {uncompressed, compressed, local};
            for (int i = 0; i < 3; i++) {
                if (*wanted[i] != 0xFFFFFFFF)
                    continue;
                if (used + 8 > size)
                    return 0;
                *wanted[i] = get64(field + used);
                used += 8;
            }
            return 1;
        }
        at += 4 + size;
    }
    return *uncompressed != 0xFFFFFFFF && *compressed != 0xFFFFFFFF && *local != 0xFFFFFFFF;
}

/* The CRC-32 of `size` bytes at `offset`, read in chunks. */
static bmc_status crc_of(int fd, uint64_t offset, uint64_t size, uint8_t *chunk, const char *what,
                         const char *path, uint32_t *crc)
{
    uint32_t c = 0;
    while (size > 0) {
        size_t n = size < CHUNK ? (size_t)size : CHUNK;
        if (!read_at(fd, chunk, n, offset))
            return read_failed(what, path);
        c = bmci_crc32(c, chunk, n);
        offset += n;
        size -= n;
    }
    *crc = c;
    return BMC_OK;
}

/* Inflate `size` deflated bytes at `offset` (raw deflate, as zip stores it) and give the CRC-32
 * and length of what comes out; `chunk` holds CHUNK bytes, half for input, half for output.
 * Fails on data that does not inflate, ends early, or runs on past `expected` bytes. */
static bmc_status inflated_crc(int fd, uint64_t offset, uint64_t size, uint64_t expected, uint8_t *chunk,
                               const char *what, const char *path, uint32_t *crc)
{
    uint8_t *in = chunk, *out = chunk + CHUNK / 2;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    bmc_status status = BMC_OK;
    uint32_t c = 0;
    uint64_t produced = 0;
    int result = Z_OK;
    while (status == BMC_OK && result != Z_STREAM_END) {
        if (z.avail_in == 0) {
            if (size == 0) {
                status = corrupt(what, path, "a deflated entry ends before its data does");
                break;
            }
            size_t n = size < CHUNK / 2 ? (size_t)size : CHUNK / 2;
            if (!read_at(fd, in, n, offset)) {
                status = read_failed(what, path);
                break;
            }
            z.next_in = in;
            z.avail_in = (uInt)n;
            offset += n;
            size -= n;
        }
        z.next_out = out;
        z.avail_out = (uInt)(CHUNK / 2);
        result = inflate(&z, Z_NO_FLUSH);
        size_t got = CHUNK / 2 - z.avail_out;
        c = bmci_crc32(c, out, got);
        produced += got;
        if (result != Z_OK && result != Z_STREAM_END)
            status = corrupt(what, path, result == Z_MEM_ERROR ? "out of memory inflating an entry"
                                                                : "a deflated entry does not inflate");
        else if (produced > expected)
            status = corrupt(what, path, "a deflated entry inflates past its recorded size");
    }
    inflateEnd(&z);
    if (status == BMC_OK && produced != expected)
        status = corrupt(what, path, "a deflated entry inflates short of its recorded size");
    *crc = c;
    return status;
}

static bmc_status check_entries(int fd, const directory *dir, const uint8_t *records, const char *what,
                                const char *path)
{
    uint8_t *chunk = malloc(CHUNK);
    if (!chunk)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    bmc_status status = BMC_OK;
    uint64_t at = 0;
    for (uint64_t e = 0; status == BMC_OK && e < dir->entries; e++) {
        if (dir->size - at < CENTRAL_SIZE || get32(records + at) != 0x02014b50) {
            status = corrupt(what, path, "a central directory record is missing or damaged");
            break;
        }
        const uint8_t *record = records + at;
        uint32_t method = get16(record + 10), crc = get32(record + 16);
        uint64_t compressed = get32(record + 20), uncompressed = get32(record + 24);
        uint64_t local = get32(record + 42);
        uint32_t name_length = get16(record + 28), extra_length = get16(record + 30);
        uint64_t record_size = (uint64_t)CENTRAL_SIZE + name_length + extra_length + get16(record + 32);
        if (record_size > dir->size - at ||
            !read_zip64_extra(record + CENTRAL_SIZE + name_length, extra_length, &uncompressed, &compressed,
                              &local)) {
            status = corrupt(what, path, "a central directory record overruns the directory");
            break;
        }
        uint8_t header[LOCAL_SIZE];
        if (local > dir->offset || dir->offset - local < LOCAL_SIZE) {
            status = corrupt(what, path, "an entry's local header lies outside the file's entries");
        } else if (!read_at(fd, header, sizeof header, local)) {
            status = read_failed(what, path);
        } else if (get32(header) != 0x04034b50) {
            status = corrupt(what, path, "an entry's local header is missing");
        } else {
            uint64_t data = local + LOCAL_SIZE + get16(header + 26) + get16(header + 28);
            if (data > dir->offset || compressed > dir->offset - data) {
                status = corrupt(what, path, "an entry's data runs past the entries into the directory");
            } else if (method == 0) {
                uint32_t actual = 0;
                if (uncompressed != compressed)
                    status = corrupt(what, path, "a stored entry's sizes differ");
                else if ((status = crc_of(fd, data, compressed, chunk, what, path, &actual)) == BMC_OK &&
                         actual != crc)
                    status = corrupt(what, path, "an entry's CRC-32 does not match its data");
            } else if (method == 8) {
                uint32_t actual = 0;
                if ((status = inflated_crc(fd, data, compressed, uncompressed, chunk, what, path, &actual)) ==
                        BMC_OK &&
                    actual != crc)
                    status = corrupt(what, path, "an entry's CRC-32 does not match its data");
            } else {
                status = corrupt(what, path, "an entry is compressed by a method other than deflate");
            }
        }
        at += record_size;
    }
    free(chunk);
    return status;
}

bmc_status bmci_archive_check(const char *path, const char *what)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return BMC_OK; /* the loader reports it with its own message */
    struct stat info;
    uint8_t magic[4];
    bmc_status status = BMC_OK;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || !read_at(fd, magic, 4, 0) ||
        get32(magic) != 0x04034b50) {
        close(fd);
        return BMC_OK; /* not a zip file at all: the loader's "not a TorchScript archive" */
    }
    directory dir = {0, 0, 0, 0};
    status = find_directory(fd, (uint64_t)info.st_size, what, path, &dir);
    uint8_t *records = NULL;
    if (status == BMC_OK) {
        records = malloc(dir.size ? (size_t)dir.size : 1);
        if (!records || dir.size > SIZE_MAX)
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: no memory for the directory of '%s'", what,
                               path);
        else if (!read_at(fd, records, (size_t)dir.size, dir.offset))
            status = read_failed(what, path);
    }
    if (status == BMC_OK)
        status = check_entries(fd, &dir, records, what, path);
    free(records);
    close(fd);
    return status;
}
