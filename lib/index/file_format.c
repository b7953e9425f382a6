/* SPDX-License-Identifier: MIT */
/* Index files: save, load into memory, and map read-only. The format is documented in
 * include/biomedclip.h and docs/index-format.md: a 64-byte header with a CRC-32 of itself
 * and of each of the four sections (vectors, ids, text offsets, texts), each section
 * starting at a multiple of 64 bytes so a mapped file's vectors are aligned for SIMD loads. */
#include "index/index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utf8proc.h>

#include "core/crc32.h"
#include "core/error.h"

#define MAGIC "BMCINDEX"
#define FORMAT_VERSION 1
#define HEADER_BYTES 64
#define SECTION_ALIGN 64
#define CHUNK_BYTES ((size_t)64 << 20) /* read and checksum in pieces that stay in cache */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#  define BIG_ENDIAN_HOST 1 /* the sections are stored little-endian, as the arrays in memory */
#endif

enum { SEC_VECTORS, SEC_IDS, SEC_OFFSETS, SEC_TEXTS, SECTIONS };
static const char *const section_names[SECTIONS] = {"vectors", "ids", "text offsets", "texts"};

typedef struct header {
    uint32_t version, dtype, dim;
    uint64_t count, text_bytes;
    uint32_t crc[SECTIONS];
} header;

typedef struct layout {
    uint64_t offset[SECTIONS], size[SECTIONS];
    uint64_t end; /* the file size */
} layout;

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void encode_header(const header *h, unsigned char bytes[HEADER_BYTES])
{
    memset(bytes, 0, HEADER_BYTES);
    memcpy(bytes, MAGIC, 8);
    put_u32(bytes + 8, h->version);
    put_u32(bytes + 12, h->dtype);
    put_u32(bytes + 16, h->dim);
    put_u64(bytes + 24, h->count);
    put_u64(bytes + 32, h->text_bytes);
    for (int s = 0; s < SECTIONS; s++)
        put_u32(bytes + 40 + 4 * s, h->crc[s]);
    put_u32(bytes + 60, bmci_crc32(0, bytes, 60));
}

static uint64_t align_up(uint64_t x)
{
    return (x + SECTION_ALIGN - 1) / SECTION_ALIGN * SECTION_ALIGN;
}

/* Where the sections go; 0 if the sizes overflow 64 bits (only a corrupt header does that). */
static int compute_layout(uint64_t count, uint64_t row_bytes, uint64_t text_bytes, layout *l)
{
    const uint64_t limit = UINT64_MAX / 4;
    if (count > limit / (row_bytes > 8 ? row_bytes : 8) || text_bytes > limit)
        return 0;
    l->size[SEC_VECTORS] = count * row_bytes;
    l->size[SEC_IDS] = count * 8;
    l->size[SEC_OFFSETS] = (count + 1) * 8;
    l->size[SEC_TEXTS] = text_bytes;
    uint64_t at = HEADER_BYTES;
    for (int s = 0; s < SECTIONS; s++) {
        l->offset[s] = align_up(at);
        at = l->offset[s] + l->size[s];
    }
    l->end = at;
    return 1;
}

/* ---- save --------------------------------------------------------------------------------- */

typedef struct writer {
    FILE *file;
    uint64_t at;
    int failed;
} writer;

static uint32_t write_section(writer *w, uint64_t offset, const void *data, uint64_t size)
{
    static const unsigned char zeros[SECTION_ALIGN];
    if (!w->failed && offset > w->at)
        w->failed = fwrite(zeros, 1, (size_t)(offset - w->at), w->file) != offset - w->at;
    w->at = offset + size;
    if (!w->failed && size)
        w->failed = fwrite(data, 1, (size_t)size, w->file) != size;
    return bmci_crc32(0, data, (size_t)size);
}

static atomic_uint save_counter;

bmc_status bmc_index_save(const bmc_index *index, const char *path)
{
    if (!index || !path)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_save: NULL %s", !index ? "index" : "path");
#ifdef BIG_ENDIAN_HOST
    return bmci_fail(BMC_ERR_UNSUPPORTED, "bmc_index_save: big-endian hosts are not supported");
#endif
    size_t path_length = strlen(path);
    char *temporary = malloc(path_length + 64);
    if (!temporary)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_index_save: out of memory");
    snprintf(temporary, path_length + 64, "%s.tmp-%ld-%u", path, (long)getpid(),
             atomic_fetch_add(&save_counter, 1));
    int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    FILE *file = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!file) {
        bmc_status status = bmci_fail(BMC_ERR_IO, "bmc_index_save: cannot create '%s': %s",
                                      temporary, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(temporary);
        }
        free(temporary);
        return status;
    }
    header h = {.version = FORMAT_VERSION, .dtype = (uint32_t)index->dtype,
                .dim = (uint32_t)index->dim, .count = index->count,
                .text_bytes = index->text_offsets[index->count]};
    layout l;
    compute_layout(h.count, index->row_bytes, h.text_bytes, &l);
    unsigned char bytes[HEADER_BYTES] = {0};
    writer w = {file, 0, 0};
    write_section(&w, 0, bytes, HEADER_BYTES); /* rewritten below with the checksums */
    const void *data[SECTIONS] = {index->vectors, index->ids, index->text_offsets, index->texts};
    for (int s = 0; s < SECTIONS; s++)
        h.crc[s] = write_section(&w, l.offset[s], data[s], l.size[s]);
    encode_header(&h, bytes);
    if (!w.failed)
        w.failed = fseek(file, 0, SEEK_SET) != 0 || fwrite(bytes, 1, HEADER_BYTES, file) != HEADER_BYTES;
    if (!w.failed)
        w.failed = fflush(file) != 0 || fsync(fileno(file)) != 0;
    int saved_errno = errno;
    w.failed |= fclose(file) != 0;
    if (!w.failed && rename(temporary, path) != 0) {
        saved_errno = errno;
        w.failed = 1;
    }
    bmc_status status = BMC_OK;
    if (w.failed) {
        status = bmci_fail(BMC_ERR_IO, "bmc_index_save: cannot write '%s': %s", path,
                           strerror(saved_errno ? saved_errno : EIO));
        unlink(temporary);
    }
    free(temporary);
    return status;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Parse and check the header; fills h and l. */
static bmc_status parse_header(const char *path, const unsigned char *bytes, uint64_t file_size,
                               header *h, layout *l)
{
    if (file_size < 8 || memcmp(bytes, MAGIC, 8) != 0)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' is not an index file (no BMCINDEX magic)",
                         path);
    if (file_size < HEADER_BYTES)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' is truncated (%llu bytes, the header "
                         "alone is %d)", path, (unsigned long long)file_size, HEADER_BYTES);
    h->version = get_u32(bytes + 8);
    if (h->version > FORMAT_VERSION)
        return bmci_fail(BMC_ERR_VERSION, "index: '%s' has format version %u; this library reads "
                         "version %d", path, h->version, FORMAT_VERSION);
    if (get_u32(bytes + 60) != bmci_crc32(0, bytes, 60))
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' has a damaged header (checksum mismatch)",
                         path);
    h->dtype = get_u32(bytes + 12);
    h->dim = get_u32(bytes + 16);
    h->count = get_u64(bytes + 24);
    h->text_bytes = get_u64(bytes + 32);
    for (int s = 0; s < SECTIONS; s++)
        h->crc[s] = get_u32(bytes + 40 + 4 * s);
    if (h->version == 0 || get_u32(bytes + 20) != 0 || get_u32(bytes + 56) != 0)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' has an invalid header", path);
    if (!bmci_index_value_size(h->dtype))
        return bmci_fail(BMC_ERR_UNSUPPORTED, "index: '%s' stores dtype %u, which this library does "
                         "not know", path, h->dtype);
    if (h->dim < 1 || h->dim > BMCI_INDEX_MAX_DIM)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' has dim %u", path, h->dim);
    uint64_t row_bytes = (uint64_t)h->dim * bmci_index_value_size(h->dtype);
    if (!compute_layout(h->count, row_bytes, h->text_bytes, l) || l->end > (uint64_t)SIZE_MAX)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' claims an impossible size (%llu entries)",
                         path, (unsigned long long)h->count);
    if (file_size < l->end)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' is truncated (%llu of %llu bytes)", path,
                         (unsigned long long)file_size, (unsigned long long)l->end);
    if (file_size > l->end)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' has %llu bytes after its last section",
                         path, (unsigned long long)(file_size - l->end));
    return BMC_OK;
}

static bmc_status check_crc(const char *path, int section, uint32_t expected, uint32_t actual)
{
    if (expected != actual)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' is damaged (checksum mismatch in the %s "
                         "section)", path, section_names[section]);
    return BMC_OK;
}

/* Offsets must run from 0 to text_bytes without going back, and each text must be UTF-8
 * without NUL bytes (texts come back as C strings). */
static bmc_status check_texts(const char *path, const bmc_index *index, uint64_t text_bytes)
{
    const uint64_t *o = index->text_offsets;
    if (o[0] != 0 || o[index->count] != text_bytes)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' has text offsets that do not span the "
                         "text section", path);
    /* All offsets first: nondecreasing from 0 to text_bytes means every text lies inside the
     * section, which must hold before any text is read. */
    for (size_t i = 0; i < index->count; i++)
        if (o[i + 1] < o[i])
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' has decreasing text offsets at entry "
                             "%zu", path, i);
    for (size_t i = 0; i < index->count; i++) {
        const utf8proc_uint8_t *text = (const utf8proc_uint8_t *)index->texts + o[i];
        utf8proc_ssize_t length = (utf8proc_ssize_t)(o[i + 1] - o[i]);
        for (utf8proc_ssize_t at = 0; at < length;) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t used = utf8proc_iterate(text + at, length - at, &cp);
            if (used < 0 || cp == 0)
                return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' has an invalid text at entry %zu",
                                 path, i);
            at += used;
        }
    }
    return BMC_OK;
}

static bmc_status read_section(const char *path, FILE *file, const layout *l, int section,
                               void *into, uint32_t expected_crc)
{
    if (fseeko(file, (off_t)l->offset[section], SEEK_SET) != 0)
        return bmci_fail(BMC_ERR_IO, "index: cannot seek in '%s': %s", path, strerror(errno));
    unsigned char *p = into;
    uint32_t crc = 0;
    for (uint64_t done = 0; done < l->size[section];) {
        size_t n = l->size[section] - done < CHUNK_BYTES ? (size_t)(l->size[section] - done) : CHUNK_BYTES;
        if (fread(p + done, 1, n, file) != n)
            return ferror(file) ? bmci_fail(BMC_ERR_IO, "index: cannot read '%s': %s", path, strerror(errno))
                                : bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' is truncated", path);
        crc = bmci_crc32(crc, p + done, n);
        done += n;
    }
    return check_crc(path, section, expected_crc, crc);
}

static void *alloc_bytes(uint64_t size)
{
    return malloc(size ? (size_t)size : 1);
}

bmc_status bmc_index_load(const char *path, bmc_index **out)
{
    if (!path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_load: NULL %s", !path ? "path" : "out");
#ifdef BIG_ENDIAN_HOST
    return bmci_fail(BMC_ERR_UNSUPPORTED, "bmc_index_load: big-endian hosts are not supported");
#endif
    FILE *file = fopen(path, "rb");
    if (!file)
        return bmci_fail(BMC_ERR_IO, "index: cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    unsigned char bytes[HEADER_BYTES] = {0};
    header h;
    layout l;
    bmc_status status = BMC_OK;
    if (fstat(fileno(file), &st) != 0)
        status = bmci_fail(BMC_ERR_IO, "index: cannot stat '%s': %s", path, strerror(errno));
    else if (fread(bytes, 1, HEADER_BYTES, file) != HEADER_BYTES && ferror(file))
        status = bmci_fail(BMC_ERR_IO, "index: cannot read '%s': %s", path, strerror(errno));
    if (status == BMC_OK)
        status = parse_header(path, bytes, (uint64_t)st.st_size, &h, &l);
    bmc_index *index = NULL;
    if (status == BMC_OK)
        status = bmci_index_new((int32_t)h.dim, (int32_t)h.dtype, &index);
    if (status == BMC_OK) {
        index->vectors = alloc_bytes(l.size[SEC_VECTORS]);
        index->ids = alloc_bytes(l.size[SEC_IDS]);
        index->text_offsets = alloc_bytes(l.size[SEC_OFFSETS]);
        index->texts = alloc_bytes(l.size[SEC_TEXTS]);
        if (!index->vectors || !index->ids || !index->text_offsets || !index->texts)
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index: out of memory for '%s' (%llu bytes)",
                               path, (unsigned long long)l.end);
    }
    void *into[SECTIONS];
    if (status == BMC_OK) {
        into[SEC_VECTORS] = index->vectors;
        into[SEC_IDS] = index->ids;
        into[SEC_OFFSETS] = index->text_offsets;
        into[SEC_TEXTS] = index->texts;
    }
    for (int s = 0; s < SECTIONS && status == BMC_OK; s++)
        status = read_section(path, file, &l, s, into[s], h.crc[s]);
    fclose(file);
    if (status == BMC_OK) {
        index->count = index->capacity = (size_t)h.count;
        index->text_capacity = (size_t)h.text_bytes;
        status = check_texts(path, index, h.text_bytes);
    }
    if (status == BMC_OK)
        status = bmci_index_build_ids(index, "index");
    if (status != BMC_OK) {
        bmc_index_free(index);
        return status;
    }
    *out = index;
    return BMC_OK;
}

/* ---- mapping ------------------------------------------------------------------------------ */

uint32_t bmci_index_header_crc(const bmc_index *index)
{
    return index->map ? get_u32((const unsigned char *)index->map + 60) : 0;
}

void bmci_index_unmap(bmc_index *index)
{
    munmap(index->map, index->map_size);
    index->map = NULL;
}

bmc_status bmc_index_map(const char *path, uint32_t flags, bmc_index **out)
{
    if (!path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_map: NULL %s", !path ? "path" : "out");
    if (flags & ~BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_map: unknown flags 0x%x", flags);
#ifdef BIG_ENDIAN_HOST
    return bmci_fail(BMC_ERR_UNSUPPORTED, "bmc_index_map: big-endian hosts are not supported");
#endif
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bmci_fail(BMC_ERR_IO, "index: cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        bmc_status status = bmci_fail(BMC_ERR_IO, "index: cannot stat '%s': %s", path, strerror(errno));
        close(fd);
        return status;
    }
    /* A file shorter than a header is still mapped (the parse reports it); an empty one
     * cannot be mapped at all. */
    if (st.st_size == 0) {
        close(fd);
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "index: '%s' is empty", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return bmci_fail(BMC_ERR_LIMIT, "index: '%s' is too large to map", path);
    }
    size_t size = (size_t)st.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd); /* the mapping keeps the file open */
    if (map == MAP_FAILED)
        return bmci_fail(BMC_ERR_IO, "index: cannot map '%s': %s", path, strerror(map_errno));
    const unsigned char *base = map;
    unsigned char bytes[HEADER_BYTES] = {0};
    memcpy(bytes, base, size < HEADER_BYTES ? size : HEADER_BYTES);
    header h;
    layout l;
    bmc_index *index = NULL;
    bmc_status status = parse_header(path, bytes, size, &h, &l);
    if (status == BMC_OK)
        status = bmci_index_new((int32_t)h.dim, (int32_t)h.dtype, &index);
    if (status != BMC_OK) {
        munmap(map, size);
        return status;
    }
    index->map = map;
    index->map_size = size;
    index->vectors = (unsigned char *)base + l.offset[SEC_VECTORS];
    index->ids = (int64_t *)(base + l.offset[SEC_IDS]);
    index->text_offsets = (uint64_t *)(base + l.offset[SEC_OFFSETS]);
    index->texts = (char *)base + l.offset[SEC_TEXTS];
    index->count = (size_t)h.count;
    for (int s = 0; s < SECTIONS && status == BMC_OK; s++) {
        if (s == SEC_VECTORS && (flags & BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM))
            continue;
        status = check_crc(path, s, h.crc[s], bmci_crc32(0, base + l.offset[s], (size_t)l.size[s]));
    }
    if (status == BMC_OK)
        status = check_texts(path, index, h.text_bytes);
    if (status == BMC_OK)
        status = bmci_index_build_ids(index, "index");
    if (status != BMC_OK) {
        bmc_index_free(index);
        return status;
    }
    *out = index;
    return BMC_OK;
}
