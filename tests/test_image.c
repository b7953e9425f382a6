/* SPDX-License-Identifier: MIT */
/* Decoding PNG and JPEG files against Pillow 9.4 (fixtures from tools/fixtures/make_image_fixtures.py),
 * bad input of every kind, and writing PNGs. */
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "biomedclip.h"
#include "harness.h"
#include "image/image.h"
#include "image_fixtures.h"

/* ---- decoding vs Pillow ------------------------------------------------------------------- */

static int images_checked, max_decode_difference;

/* Compare one decoded fixture with Pillow's mode, size, RGB conversion and raw I values. */
static void check_decoded(const struct fixture_line *f, const bmc_image *image)
{
    const char *name = f->field[0];
    int32_t w = 0, h = 0, mode = 0;
    CHECK_STATUS(bmc_image_info(image, &w, &h, &mode), BMC_OK);
    CHECK(mode == fixture_mode(f->field[2]), "%s: mode %d (%s), Pillow says %s", name, mode,
          bmci_mode_name(mode), f->field[2]);
    CHECK(w == atoi(f->field[3]) && h == atoi(f->field[4]), "%s: size %dx%d, Pillow says %sx%s", name, w,
          h, f->field[3], f->field[4]);
    if (strcmp(f->field[5], "-") != 0) {
        size_t size = 0;
        uint8_t *expected = fixture_read(f->field[5], &size);
        uint8_t *got = malloc(size ? size : 1);
        CHECK(expected && size == (size_t)w * (size_t)h * 3, "%s: decoded reference %s", name, f->field[5]);
        if (expected && got && size == (size_t)w * (size_t)h * 3) {
            CHECK_STATUS(bmc_image_to_rgb8(image, got, size), BMC_OK);
            size_t differ = 0;
            for (size_t i = 0; i < size; i++) {
                int d = abs((int)got[i] - (int)expected[i]);
                differ += d != 0;
                max_decode_difference = d > max_decode_difference ? d : max_decode_difference;
            }
            CHECK(differ == 0, "%s: %zu of %zu RGB samples differ from Pillow", name, differ, size);
        }
        free(expected);
        free(got);
    }
    if (strcmp(f->field[6], "-") != 0) {
        size_t size = 0;
        uint8_t *expected = fixture_read(f->field[6], &size);
        CHECK(expected && size == (size_t)w * (size_t)h * 4 && image->mode == BMC_IMAGE_MODE_I,
              "%s: raw int32 reference", name);
        if (expected && size == (size_t)w * (size_t)h * 4 && image->mode == BMC_IMAGE_MODE_I)
            CHECK(memcmp(expected, image->pixels, size) == 0, "%s: mode I values differ from Pillow", name);
        free(expected);
    }
    images_checked++;
}

static void test_decode_fixtures(void)
{
    int records = fixtures_load();
    CHECK(records > 0, "no fixtures in %s (run make fixtures)", fixture_dir());
    for (int i = 0; i < records; i++) {
        const struct fixture_line *f = &fixture_lines[i];
        if (strcmp(f->kind, "image") != 0)
            continue;
        char path[600];
        fixture_path(f->field[1], path, sizeof path);
        bmc_image *from_file = NULL, *from_memory = NULL;
        CHECK_STATUS(bmc_image_load_file(path, &from_file), BMC_OK);
        if (from_file)
            check_decoded(f, from_file);
        /* The same bytes from memory give the same image. */
        size_t size = 0;
        void *data = fixture_read(f->field[1], &size);
        CHECK_STATUS(bmc_image_load_memory(data, size, &from_memory), BMC_OK);
        if (from_file && from_memory)
            CHECK(from_file->mode == from_memory->mode && from_file->stride == from_memory->stride &&
                      memcmp(from_file->pixels, from_memory->pixels, from_file->stride * from_file->height) == 0 &&
                      memcmp(from_file->palette, from_memory->palette, sizeof from_file->palette) == 0,
                  "%s: file and memory decodes differ", f->field[0]);
        free(data);
        bmc_image_free(from_file);
        bmc_image_free(from_memory);
    }
    CHECK(images_checked >= 60, "only %d fixture images", images_checked);
    printf("decoded %d fixture images, max difference from Pillow %d\n", images_checked, max_decode_difference);
}

/* A file whose size fstat does not give (a pipe) is read to its end all the same: the same
 * image as from memory. Every fixture above is a regular file, read with one allocation. */
static void test_load_from_pipe(void)
{
    const char *name = "images/png_rgb8.png";
    size_t size = 0;
    uint8_t *data = fixture_read(name, &size);
    CHECK(data != NULL && size > (1 << 17), "%s: %zu bytes, want more than the 64 KiB first read", name, size);
    int fds[2];
    if (!data || pipe(fds) != 0) {
        free(data);
        return;
    }
    pid_t writer = fork();
    if (writer == 0) {
        close(fds[0]);
        size_t done = 0;
        while (done < size) {
            ssize_t n = write(fds[1], data + done, size - done);
            if (n <= 0)
                _exit(1);
            done += (size_t)n;
        }
        _exit(0);
    }
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    bmc_image *from_pipe = NULL, *from_memory = NULL;
    CHECK_STATUS(bmc_image_load_file(path, &from_pipe), BMC_OK);
    close(fds[0]);
    int status = 0;
    if (writer > 0)
        waitpid(writer, &status, 0);
    CHECK(writer > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the writer of the pipe failed");
    CHECK_STATUS(bmc_image_load_memory(data, size, &from_memory), BMC_OK);
    if (from_pipe && from_memory)
        CHECK(from_pipe->width == from_memory->width && from_pipe->height == from_memory->height &&
                  from_pipe->stride == from_memory->stride &&
                  memcmp(from_pipe->pixels, from_memory->pixels, from_pipe->stride * from_pipe->height) == 0,
              "%s: read through a pipe, the image differs", name);
    bmc_image_free(from_pipe);
    bmc_image_free(from_memory);
    free(data);
}

/* ---- hand-made files ------------------------------------------------------------------------ */

static uint32_t crc32_of(const uint8_t *data, size_t size)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < size; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A PNG of a signature, an IHDR (8-bit grey) claiming width x height, one IDAT holding an
 * empty zlib stream and an IEND. */
static size_t png_header_only(uint8_t out[72], uint32_t width, uint32_t height)
{
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t empty_zlib[8] = {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    memcpy(out, signature, 8);
    put32(out + 8, 13);
    memcpy(out + 12, "IHDR", 4);
    put32(out + 16, width);
    put32(out + 20, height);
    memcpy(out + 24, "\x08\x00\x00\x00\x00", 5);
    put32(out + 29, crc32_of(out + 12, 17));
    put32(out + 33, sizeof empty_zlib);
    memcpy(out + 37, "IDAT", 4);
    memcpy(out + 41, empty_zlib, sizeof empty_zlib);
    put32(out + 49, crc32_of(out + 37, 4 + sizeof empty_zlib));
    put32(out + 53, 0);
    memcpy(out + 57, "IEND", 4);
    put32(out + 61, crc32_of(out + 57, 4));
    return 65;
}

/* Offset of the first chunk of a PNG with this type, or 0. */
static size_t png_find_chunk(const uint8_t *png, size_t size, const char *type)
{
    size_t at = 8;
    while (at + 12 <= size) {
        uint32_t length = (uint32_t)png[at] << 24 | (uint32_t)png[at + 1] << 16 | (uint32_t)png[at + 2] << 8 | png[at + 3];
        if (memcmp(png + at + 4, type, 4) == 0)
            return at;
        at += 12 + (size_t)length;
    }
    return 0;
}

/* Offset of a JPEG marker (0xFF, code), or 0. */
static size_t jpeg_find_marker(const uint8_t *jpeg, size_t size, uint8_t code)
{
    for (size_t i = 2; i + 1 < size; i++)
        if (jpeg[i] == 0xff && jpeg[i + 1] == code)
            return i;
    return 0;
}

static void expect_failure(const void *data, size_t size, bmc_status expected, const char *what)
{
    bmc_image *image = (bmc_image *)(uintptr_t)1; /* must stay untouched on failure */
    bmc_status got = bmc_image_load_memory(data, size, &image);
    CHECK(got == expected, "%s: status %d (%s), expected %d; %s", what, got, bmc_status_string(got), expected,
          bmc_last_error());
    CHECK(image == (bmc_image *)(uintptr_t)1, "%s: out-parameter changed on failure", what);
    CHECK(bmc_last_error()[0] != '\0', "%s: no message", what);
    if (got == BMC_OK && image != (bmc_image *)(uintptr_t)1)
        bmc_image_free(image);
}

static void test_null_arguments(void)
{
    bmc_image *image = NULL;
    uint8_t byte = 0;
    CHECK_STATUS(bmc_image_load_file(NULL, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_load_file("x.png", NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_load_memory(NULL, 10, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_load_memory(&byte, 1, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_info(NULL, NULL, NULL, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_to_rgb8(NULL, &byte, 1), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "image") != NULL, "message names the argument: %s", bmc_last_error());
    bmc_image_free(NULL);
}

/* The draft loaders refuse what the plain ones refuse, and sizes outside 1..4096; their
 * pixels are checked against Pillow's draft() by tests/check_fast_jpeg.sh. */
static void test_draft_bad_input(void)
{
    bmc_image *image = NULL;
    const uint8_t text[] = "not an image";
    const uint8_t cut_jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00};
    CHECK_STATUS(bmc_image_load_file_draft(NULL, 224, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_load_file_draft("x.jpg", 224, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_load_memory_draft(NULL, 10, 224, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_load_memory_draft(text, sizeof text, 0, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_load_memory_draft(text, sizeof text, 4097, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "4097") != NULL, "message names the size: %s", bmc_last_error());
    CHECK_STATUS(bmc_image_load_memory_draft(text, sizeof text, 224, &image), BMC_ERR_UNSUPPORTED);
    CHECK_STATUS(bmc_image_load_memory_draft(cut_jpeg, sizeof cut_jpeg, 224, &image), BMC_ERR_CORRUPT_DATA);
    CHECK_STATUS(bmc_image_load_file_draft("no/such/file.jpg", 224, &image), BMC_ERR_IO);
    CHECK(image == NULL, "no image on failure");
}

static void test_not_images(void)
{
    static const char text[] = "hello, this is not an image";
    expect_failure(text, sizeof text, BMC_ERR_UNSUPPORTED, "text");
    CHECK(strstr(bmc_last_error(), "not a PNG, JPEG or DICOM") != NULL, "message: %s", bmc_last_error());
    static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00";
    expect_failure(gif, sizeof gif, BMC_ERR_UNSUPPORTED, "gif");
    uint8_t empty = 0;
    expect_failure(&empty, 0, BMC_ERR_CORRUPT_DATA, "empty");
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_image_load_file("no/such/file.png", &image), BMC_ERR_IO);
    CHECK(strstr(bmc_last_error(), "no/such/file.png") != NULL, "message names the file: %s", bmc_last_error());
}

static void test_png_bad_input(void)
{
    uint8_t header[72];
    size_t n = png_header_only(header, 0, 0);
    expect_failure(header, n, BMC_ERR_CORRUPT_DATA, "png 0x0");
    n = png_header_only(header, 100000, 100000);
    expect_failure(header, n, BMC_ERR_LIMIT, "png 100000x100000");
    CHECK(strstr(bmc_last_error(), "100000x100000") != NULL, "message gives the size: %s", bmc_last_error());
    n = png_header_only(header, 0x7fffffffu, 1);
    expect_failure(header, n, BMC_ERR_LIMIT, "png 2^31-1 wide");
    n = png_header_only(header, 10, 10); /* a valid header without any IDAT */
    expect_failure(header, n, BMC_ERR_CORRUPT_DATA, "png without image data");

    size_t size = 0;
    uint8_t *png = fixture_read("images/png_rgb8.png", &size);
    CHECK(png != NULL, "fixture png_rgb8");
    if (!png)
        return;
    size_t cuts[] = {1, 4, 8, 20, 33, 40, size / 2, size - 40};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        expect_failure(png, cuts[i], BMC_ERR_CORRUPT_DATA, "truncated png");

    uint8_t *bad = malloc(size);
    memcpy(bad, png, size);
    bad[20] ^= 0x40; /* IHDR width: the CRC no longer matches */
    expect_failure(bad, size, BMC_ERR_CORRUPT_DATA, "png with a bad IHDR CRC");

    memcpy(bad, png, size);
    size_t idat = png_find_chunk(bad, size, "IDAT");
    CHECK(idat != 0, "IDAT found");
    memset(bad + idat + 8, 0x5a, 16); /* garbage zlib data, with the CRC made to match */
    uint32_t length = (uint32_t)bad[idat] << 24 | (uint32_t)bad[idat + 1] << 16 | (uint32_t)bad[idat + 2] << 8 | bad[idat + 3];
    put32(bad + idat + 8 + length, crc32_of(bad + idat + 4, length + 4));
    expect_failure(bad, size, BMC_ERR_CORRUPT_DATA, "png with corrupt compressed data");

    /* Pillow ignores a missing IEND, and so do we. */
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_image_load_memory(png, size - 12, &image), BMC_OK);

    /* Pillow (9.4, checked by hand) skips the CRCs of IDAT chunks and never checks the zlib
     * checksum of the image data: such files decode to the pixels of the intact file. */
    memcpy(bad, png, size);
    uint32_t first_length = (uint32_t)bad[idat] << 24 | (uint32_t)bad[idat + 1] << 16 | (uint32_t)bad[idat + 2] << 8 | bad[idat + 3];
    bad[idat + 8 + first_length] ^= 0xff; /* the first IDAT's CRC */
    bmc_image *other = NULL;
    CHECK_STATUS(bmc_image_load_memory(bad, size, &other), BMC_OK);
    CHECK(image && other && memcmp(image->pixels, other->pixels, image->stride * (size_t)image->height) == 0,
          "png with a bad IDAT CRC decodes as the intact file");
    bmc_image_free(other);
    other = NULL;
    memcpy(bad, png, size);
    size_t last = idat;
    for (size_t at = idat; at + 12 <= size && memcmp(bad + at + 4, "IDAT", 4) == 0;) {
        last = at;
        at += 12 + ((uint32_t)bad[at] << 24 | (uint32_t)bad[at + 1] << 16 | (uint32_t)bad[at + 2] << 8 | bad[at + 3]);
    }
    uint32_t last_length = (uint32_t)bad[last] << 24 | (uint32_t)bad[last + 1] << 16 | (uint32_t)bad[last + 2] << 8 | bad[last + 3];
    bad[last + 8 + last_length - 1] ^= 0xff; /* the last byte of the zlib stream's Adler-32 */
    put32(bad + last + 8 + last_length, crc32_of(bad + last + 4, last_length + 4));
    CHECK_STATUS(bmc_image_load_memory(bad, size, &other), BMC_OK);
    CHECK(image && other && memcmp(image->pixels, other->pixels, image->stride * (size_t)image->height) == 0,
          "png with a bad Adler-32 decodes as the intact file");
    bmc_image_free(other);
    bmc_image_free(image);
    free(bad);
    free(png);
}

static void test_jpeg_bad_input(void)
{
    size_t size = 0;
    uint8_t *jpeg = fixture_read("images/jpeg_rgb_420.jpg", &size);
    CHECK(jpeg != NULL, "fixture jpeg_rgb_420");
    if (!jpeg)
        return;
    size_t cuts[] = {1, 2, 3, 100, size / 2, size - 2};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        expect_failure(jpeg, cuts[i], BMC_ERR_CORRUPT_DATA, "truncated jpeg");
    CHECK(strstr(bmc_last_error(), "truncated") != NULL, "message: %s", bmc_last_error());

    uint8_t *bad = malloc(size);
    size_t sof = jpeg_find_marker(jpeg, size, 0xc0);
    CHECK(sof != 0, "SOF0 found");
    /* SOF0: FF C0, length (2), precision (1), height (2), width (2) */
    memcpy(bad, jpeg, size);
    bad[sof + 5] = bad[sof + 6] = bad[sof + 7] = bad[sof + 8] = 0;
    expect_failure(bad, size, BMC_ERR_CORRUPT_DATA, "jpeg 0x0");
    memcpy(bad, jpeg, size);
    bad[sof + 5] = 0xea, bad[sof + 6] = 0x60, bad[sof + 7] = 0xea, bad[sof + 8] = 0x60; /* 60000 x 60000 */
    expect_failure(bad, size, BMC_ERR_LIMIT, "jpeg 60000x60000");
    CHECK(strstr(bmc_last_error(), "60000x60000") != NULL, "message gives the size: %s", bmc_last_error());
    memset(bad + sof + 5, 0xff, 4); /* 65535 x 65535: over libjpeg's own maximum */
    expect_failure(bad, size, BMC_ERR_LIMIT, "jpeg 65535x65535");
    memcpy(bad, jpeg, size);
    bad[sof + 4] = 12; /* 12-bit samples */
    expect_failure(bad, size, BMC_ERR_UNSUPPORTED, "12-bit jpeg");
    memcpy(bad, jpeg, size);
    memset(bad + 6, 0x11, 60); /* garbage inside the first marker segment */
    expect_failure(bad, size, BMC_ERR_CORRUPT_DATA, "jpeg with garbage headers");
    free(bad);
    free(jpeg);
}

static void test_size_limits(void)
{
    bmc_runtime_config config;
    bmc_runtime_config_init(&config);
    config.max_image_width = 299; /* png_rgb8 is 300 x 257 */
    CHECK_STATUS(bmc_configure(&config), BMC_OK);
    char path[600];
    fixture_path("images/png_rgb8.png", path, sizeof path);
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_image_load_file(path, &image), BMC_ERR_LIMIT);
    fixture_path("images/jpeg_rgb_420.jpg", path, sizeof path); /* 333 x 250 */
    CHECK_STATUS(bmc_image_load_file(path, &image), BMC_ERR_LIMIT);
    config.max_image_width = 65535;
    config.max_image_pixels = 300 * 257;
    CHECK_STATUS(bmc_configure(&config), BMC_OK);
    fixture_path("images/png_rgb8.png", path, sizeof path);
    CHECK_STATUS(bmc_image_load_file(path, &image), BMC_OK); /* exactly at the limit */
    bmc_image_free(image);
    bmc_runtime_config_init(&config);
    CHECK_STATUS(bmc_configure(&config), BMC_OK);
}

static void test_to_rgb8_buffer(void)
{
    char path[600];
    fixture_path("images/size_2x3.png", path, sizeof path);
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_image_load_file(path, &image), BMC_OK);
    if (!image)
        return;
    uint8_t rgb[18];
    CHECK_STATUS(bmc_image_to_rgb8(image, rgb, 17), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK(strstr(bmc_last_error(), "18") != NULL, "message gives the size needed: %s", bmc_last_error());
    CHECK_STATUS(bmc_image_to_rgb8(image, rgb, sizeof rgb), BMC_OK);
    bmc_image_free(image);
}

/* ---- writing ------------------------------------------------------------------------------- */

static void test_png_write(void)
{
    char dir[] = "/tmp/bmc_test_image_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temporary directory");
    char path[64];
    snprintf(path, sizeof path, "%s/out.png", dir);
    const int channels[] = {1, 3, 4};
    const int modes[] = {BMC_IMAGE_MODE_L, BMC_IMAGE_MODE_RGB, BMC_IMAGE_MODE_RGBA};
    for (int c = 0; c < 3; c++) {
        uint8_t pixels[5 * 3 * 4];
        for (size_t i = 0; i < sizeof pixels; i++)
            pixels[i] = (uint8_t)(i * 37 + 11);
        CHECK_STATUS(bmc_png_write_file(path, pixels, 5, 3, channels[c]), BMC_OK);
        bmc_image *image = NULL;
        CHECK_STATUS(bmc_image_load_file(path, &image), BMC_OK);
        if (image) {
            CHECK(image->mode == modes[c] && image->width == 5 && image->height == 3, "read back: mode %d %dx%d",
                  image->mode, image->width, image->height);
            CHECK(memcmp(image->pixels, pixels, (size_t)15 * (size_t)channels[c]) == 0, "pixels read back");
        }
        bmc_image_free(image);
    }
    uint8_t pixel[4] = {0};
    CHECK_STATUS(bmc_png_write_file(NULL, pixel, 1, 1, 1), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_png_write_file(path, NULL, 1, 1, 1), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_png_write_file(path, pixel, 0, 1, 1), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_png_write_file(path, pixel, 1, 1, 2), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_png_write_file("/nonexistent-dir/x.png", pixel, 1, 1, 1), BMC_ERR_IO);
    CHECK(strstr(bmc_last_error(), "/nonexistent-dir/x.png") != NULL, "message names the file: %s", bmc_last_error());
    remove(path);
    rmdir(dir);
}

int main(void)
{
    RUN(test_decode_fixtures);
    RUN(test_load_from_pipe);
    RUN(test_null_arguments);
    RUN(test_draft_bad_input);
    RUN(test_not_images);
    RUN(test_png_bad_input);
    RUN(test_jpeg_bad_input);
    RUN(test_size_limits);
    RUN(test_to_rgb8_buffer);
    RUN(test_png_write);
    return harness_summary("test_image");
}
