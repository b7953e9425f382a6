/* SPDX-License-Identifier: MIT */
/* DICOM files through GDCM against pydicom (and DCMTK where pydicom cannot decode), on every
 * file of pydicom's test folder: stored values identical, the 8-bit display within 1 (see
 * docs/dicom.md for where the arithmetic differs), and every other file refused with a status.
 * The references are written by tools/fixtures/make_dicom_fixtures.py ($BMC_FIXTURES/dicom).
 * Prints one "parity" line per decoded file and the counts, for docs/dicom.md. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "biomedclip.h"
#include "harness.h"
#include "image/codecs.h"
#include "image/image.h"

#define MAX_FIELDS 12

static char manifest_dir[4096];

static int split(char *line, char **fields)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < MAX_FIELDS;) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static void *read_all(const char *name, size_t *size)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", manifest_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(n > 0 ? (size_t)n : 1);
    *size = data && fread(data, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    return data;
}

static int decoded_count, refused_count, parity_files;

static void check_other(char **f, int must_refuse);

/* Files the reference decodes and the library refuses on purpose (docs/dicom.md): RLE colour
 * wider than 8 bits, which GDCM 3.0.21 decodes with its bytes out of order, and 32-bit
 * big-endian samples, which it swaps wrongly. */
static int refused_on_purpose(const bmc_dicom *dicom)
{
    bmc_dicom_info info;
    bmc_dicom_info_init(&info);
    bmc_dicom_get_info(dicom, &info);
    return (strcmp(info.transfer_syntax, "1.2.840.10008.1.2.5") == 0 && info.samples_per_pixel == 3 &&
            info.bits_allocated > 8) ||
           (strcmp(info.transfer_syntax, "1.2.840.10008.1.2.2") == 0 && info.bits_allocated == 32);
}

/* A file the reference decoded: geometry, stored values, display. */
static void check_decoded(char **f)
{
    const char *name = f[1], *path = f[2], *syntax = f[3], *decoder = f[4];
    int frames = atoi(f[5]), rows = atoi(f[6]), cols = atoi(f[7]), channels = atoi(f[8]);
    bmc_dicom *dicom = NULL;
    CHECK_STATUS(bmc_dicom_open_file(path, &dicom), BMC_OK);
    if (!dicom)
        return;
    if (refused_on_purpose(dicom)) {
        bmc_image *image = NULL;
        CHECK_STATUS(bmc_dicom_frame_image(dicom, NULL, &image), BMC_ERR_UNSUPPORTED);
        bmc_dicom_free(dicom);
        check_other(f, 1);
        return;
    }
    bmc_dicom_info info;
    bmc_dicom_info_init(&info);
    CHECK_STATUS(bmc_dicom_get_info(dicom, &info), BMC_OK);
    CHECK(info.frames == frames && info.rows == rows && info.columns == cols,
          "%s: %d frames of %dx%d, pydicom %d of %dx%d (%s)", name, info.frames, info.columns,
          info.rows, frames, cols, rows, info.no_image_reason);
    size_t count = (size_t)rows * (size_t)cols * (size_t)channels, size = 0;
    double *stored_ref = read_all(f[9], &size);
    CHECK(stored_ref && size == count * sizeof(double), "%s: stored reference of %zu bytes", name, size);
    uint8_t *display_ref = read_all(f[10], &size);
    int display_channels = channels == 1 ? 1 : 3;
    CHECK(display_ref && size == (size_t)rows * cols * display_channels, "%s: display reference", name);
    double *values = NULL;
    int32_t got_channels = 0, bits = 0;
    const char *pi = NULL;
    double stored_diff = -1;
    size_t stored_mismatch = 0;
    bmc_status status = bmci_dicom_frame_values(dicom, 0, &values, &got_channels, &bits, &pi);
    CHECK(status == BMC_OK, "%s: stored values: %s", name, bmc_last_error());
    if (status == BMC_OK && stored_ref && got_channels == channels) {
        stored_diff = 0;
        for (size_t i = 0; i < count; i++) {
            double d = fabs(values[i] - stored_ref[i]);
            stored_diff = d > stored_diff ? d : stored_diff;
            stored_mismatch += d != 0;
        }
        CHECK(stored_mismatch == 0, "%s: %zu stored values differ from %s's (largest by %g)", name,
              stored_mismatch, decoder, stored_diff);
    } else if (status == BMC_OK) {
        CHECK(got_channels == channels, "%s: %d channels, pydicom %d", name, got_channels, channels);
    }
    free(values);
    bmc_image *image = NULL;
    int display_diff = -1;
    size_t display_mismatch = 0;
    status = bmc_dicom_frame_image(dicom, NULL, &image);
    CHECK(status == BMC_OK, "%s: frame image: %s", name, bmc_last_error());
    if (image && display_ref) {
        CHECK(image->width == cols && image->height == rows && image->bands == display_channels,
              "%s: image %dx%dx%d", name, image->width, image->height, image->bands);
        if (image->width == cols && image->height == rows && image->bands == display_channels) {
            display_diff = 0;
            for (size_t i = 0; i < (size_t)rows * cols * display_channels; i++) {
                int d = abs((int)image->pixels[i] - (int)display_ref[i]);
                display_diff = d > display_diff ? d : display_diff;
                display_mismatch += d != 0;
            }
            CHECK(display_diff <= 1, "%s: display differs by up to %d (%zu samples)", name,
                  display_diff, display_mismatch);
        }
    }
    /* every frame opens; the one past the end is refused */
    for (int32_t k = 1; k < frames; k++) {
        bmc_dicom_frame_options o;
        bmc_dicom_frame_options_init(&o);
        o.frame = k;
        bmc_image *other = NULL;
        CHECK_STATUS(bmc_dicom_frame_image(dicom, &o, &other), BMC_OK);
        bmc_image_free(other);
    }
    bmc_dicom_frame_options past;
    bmc_dicom_frame_options_init(&past);
    past.frame = frames;
    bmc_image *none = NULL;
    CHECK_STATUS(bmc_dicom_frame_image(dicom, &past, &none), BMC_ERR_NOT_FOUND);
    printf("parity\t%s\t%s\t%s\tstored_max_diff=%g\tdisplay_max_diff=%d\tdisplay_samples_off=%zu\n",
           name, syntax, decoder, stored_diff, display_diff, display_mismatch);
    parity_files++;
    /* bmc_image_load_file gives the same image */
    bmc_image *loaded = NULL;
    CHECK_STATUS(bmc_image_load_file(path, &loaded), BMC_OK);
    if (loaded && image)
        CHECK(loaded->stride * loaded->height == image->stride * image->height &&
              memcmp(loaded->pixels, image->pixels, image->stride * image->height) == 0,
              "%s: bmc_image_load_file differs from bmc_dicom_frame_image", name);
    bmc_image_free(loaded);
    bmc_image_free(image);
    free(stored_ref);
    free(display_ref);
    bmc_dicom_free(dicom);
    decoded_count++;
}

/* A file no reference decoded, or without pixels: a status either way, and no image for the
 * latter. Prints what the library did. */
static void check_other(char **f, int must_refuse)
{
    const char *name = f[1], *path = f[2];
    bmc_dicom *dicom = NULL;
    bmc_status open_status = bmc_dicom_open_file(path, &dicom);
    bmc_image *image = NULL;
    bmc_status status = open_status;
    if (open_status == BMC_OK)
        status = bmc_dicom_frame_image(dicom, NULL, &image);
    char why[512];
    snprintf(why, sizeof why, "%s", status == BMC_OK ? "decoded" : bmc_last_error());
    bmc_image *loaded = NULL;
    bmc_status load_status = bmc_image_load_file(path, &loaded);
    CHECK((load_status == BMC_OK) == (status == BMC_OK), "%s: bmc_image_load_file %d, frame_image %d",
          name, load_status, status);
    if (must_refuse)
        CHECK(status != BMC_OK, "%s: the reference found no image, the library made one", name);
    printf("%s\t%s\t%s\t%s\n", status == BMC_OK ? "decoded" : "refused", name,
           status == BMC_OK ? "-" : bmc_status_string(status), why);
    if (status == BMC_OK)
        decoded_count++;
    else
        refused_count++;
    bmc_image_free(image);
    bmc_image_free(loaded);
    bmc_dicom_free(dicom);
}

static void test_every_file(void)
{
    char manifest[8192];
    snprintf(manifest_dir, sizeof manifest_dir, "%s/dicom", harness_fixtures());
    snprintf(manifest, sizeof manifest, "%s/manifest.txt", manifest_dir);
    FILE *f = fopen(manifest, "r");
    CHECK(f != NULL, "no %s (make fixtures)", manifest);
    if (!f)
        return;
    char line[16384];
    int files = 0;
    while (fgets(line, sizeof line, f)) {
        char *fields[MAX_FIELDS];
        int n = split(line, fields);
        if (n >= 11 && strcmp(fields[0], "decode") == 0)
            check_decoded(fields);
        else if (n >= 3)
            check_other(fields, strcmp(fields[0], "noimage") == 0);
        files++;
    }
    fclose(f);
    CHECK(files >= 40, "only %d files in the manifest", files);
    CHECK(parity_files >= 30, "only %d files compared with a reference", parity_files);
    printf("files: %d decoded, %d refused with a status (%d compared with a reference)\n",
           decoded_count, refused_count, parity_files);
}

/* The path of one of pydicom's test files, from the manifest. */
static int test_file(const char *name, char *path, size_t size)
{
    char manifest[8192], line[16384];
    snprintf(manifest, sizeof manifest, "%s/dicom/manifest.txt", harness_fixtures());
    FILE *f = fopen(manifest, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *fields[MAX_FIELDS];
        if (split(line, fields) >= 3 && strcmp(fields[1], name) == 0) {
            snprintf(path, size, "%s", fields[2]);
            found = 1;
        }
    }
    if (f)
        fclose(f);
    CHECK(found, "%s is not in the manifest", name);
    return found;
}

static void test_bad_input(void)
{
    char path[4096];
    if (!test_file("CT_small.dcm", path, sizeof path))
        return;
    bmc_dicom *dicom = NULL;
    CHECK_STATUS(bmc_dicom_open_file(NULL, &dicom), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_dicom_open_file(path, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_dicom_open_file("no/such/file.dcm", &dicom), BMC_ERR_IO);
    CHECK_STATUS(bmc_dicom_open_memory("", 0, &dicom), BMC_ERR_CORRUPT_DATA);
    CHECK_STATUS(bmc_dicom_open_file(path, &dicom), BMC_OK);
    bmc_dicom_info info;
    info.struct_size = 3;
    CHECK_STATUS(bmc_dicom_get_info(dicom, &info), BMC_ERR_INVALID_ARGUMENT);
    bmc_dicom_info_init(&info);
    CHECK(info.struct_size == sizeof info && info.frames == 0 && info.photometric[0] == '\0', "bmc_dicom_info_init");
    CHECK_STATUS(bmc_dicom_get_info(dicom, &info), BMC_OK);
    bmc_dicom_info_init(NULL); /* allowed, like the other init functions */
    CHECK_STATUS(bmc_dicom_window(dicom, 0, NULL, NULL, NULL), BMC_ERR_NOT_FOUND); /* CT_small has none */
    bmc_dicom_frame_options o;
    bmc_dicom_frame_options_init(&o);
    o.struct_size = 1;
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_dicom_frame_image(dicom, &o, &image), BMC_ERR_INVALID_ARGUMENT);
    bmc_dicom_frame_options_init(&o);
    o.frame = -1;
    CHECK_STATUS(bmc_dicom_frame_image(dicom, &o, &image), BMC_ERR_NOT_FOUND);
    bmc_dicom_frame_options_init(&o);
    o.has_window = 1;
    o.window_center = 40;
    o.window_width = 0.5;
    CHECK_STATUS(bmc_dicom_frame_image(dicom, &o, &image), BMC_ERR_INVALID_ARGUMENT);
    /* a window and a rescale of the caller's replace the file's */
    o.window_width = 400;
    o.has_rescale = 1;
    o.rescale_slope = 1;
    o.rescale_intercept = -1024;
    CHECK_STATUS(bmc_dicom_frame_image(dicom, &o, &image), BMC_OK);
    bmc_image_free(image);
    image = NULL;
    /* the frame limit applies before decoding */
    bmc_runtime_config config;
    bmc_runtime_config_init(&config);
    int64_t saved = config.max_image_pixels;
    config.max_image_pixels = 100;
    CHECK_STATUS(bmc_configure(&config), BMC_OK);
    CHECK_STATUS(bmc_dicom_frame_image(dicom, NULL, &image), BMC_ERR_LIMIT);
    config.max_image_pixels = saved;
    CHECK_STATUS(bmc_configure(&config), BMC_OK);
    bmc_dicom_free(dicom);
    bmc_dicom_free(NULL);

    /* every truncation of a file gives a status, never a crash; past the data set's start
     * it may parse (then frame 0 must fail or succeed cleanly) */
    FILE *f = fopen(path, "rb");
    uint8_t *data = malloc(1 << 20);
    size_t size = f ? fread(data, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    int refused = 0;
    for (size_t cut = 1; cut < size; cut += cut < 400 ? 7 : 997) {
        bmc_dicom *d = NULL;
        bmc_status s = bmc_dicom_open_memory(data, cut, &d);
        if (s == BMC_OK) {
            bmc_image *img = NULL;
            s = bmc_dicom_frame_image(d, NULL, &img);
            bmc_image_free(img);
            bmc_dicom_free(d);
        }
        refused += s != BMC_OK;
    }
    CHECK(refused > 0, "no truncation of CT_small was refused");
    free(data);
}

/* Peak resident memory of the process so far, in KiB. */
static long peak_rss_kib(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

/* Opens `path`, a seed of make_dicom_seeds.py holding the 4x4 pixels 0, 16, ..., 240, and checks
 * them, and that opening and decoding it raised the peak memory by less than 256 MiB. */
static void check_generator_pixels(const char *path, const char *name)
{
    long peak_before = peak_rss_kib();
    bmc_dicom *dicom = NULL;
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_dicom_open_file(path, &dicom), BMC_OK);
    CHECK_STATUS(bmc_dicom_frame_image(dicom, NULL, &image), BMC_OK);
    uint8_t rgb[4 * 4 * 3];
    int32_t width = 0, height = 0, mode = 0;
    CHECK_STATUS(bmc_image_info(image, &width, &height, &mode), BMC_OK);
    CHECK(width == 4 && height == 4 && mode == BMC_IMAGE_MODE_L, "%s: %dx%d mode %d", name, width, height, mode);
    CHECK_STATUS(bmc_image_to_rgb8(image, rgb, sizeof rgb), BMC_OK);
    int wrong = 0;
    for (int i = 0; i < 16; i++)
        wrong += rgb[3 * i] != 16 * i;
    CHECK(wrong == 0, "%s: %d of 16 pixels differ from the generator's", name, wrong);
    bmc_image_free(image);
    bmc_dicom_free(dicom);
    long grown = peak_rss_kib() - peak_before;
    CHECK(grown < 256 * 1024, "%s: peak memory grew by %ld KiB", name, grown);
}

/* The seeds of tools/fixtures/make_dicom_seeds.py: elements whose declared lengths run past the
 * file (GDCM allocated them whole first: 1.3 to 4 GB from a few hundred bytes), nesting past
 * the bound and VRs GDCM asserts on are refused when the file is opened; RLE segments, JPEG
 * 2000 code streams that would unpack to more than the attributes give, and JPEG streams that
 * hang GDCM or make it assert are refused before GDCM decodes them; an implicit data set under
 * an explicit transfer syntax (with and without the preamble), a valid JPEG 2000 stream and
 * files with attributes GDCM asserted on are read, with the pixel values the generator wrote. */
static void test_layout_check(void)
{
    const char *dir = getenv("BMC_TEST_DATA") ? getenv("BMC_TEST_DATA") : "tests/data";
    static const struct {
        const char *name, *message;
    } refused[] = {
        {"huge_length.dcm", "declares 4294967280 bytes"},
        {"huge_pixel_length.dcm", "declares 2147483632 bytes"},
        {"meta_unknown_vr.dcm", "GDCM cannot parse it"},
        {"implicit_length_13.dcm", "element (FFFF,FFFF) declares 1694595584 bytes"},
        {"un_sequence_explicit_items.dcm", "element (0009,1002) declares 1073762124 bytes"},
        {"deflated_huge_length.dcm", "in the inflated data set: element (0029,1010) declares 4294967280 bytes"},
        {"deep_nesting.dcm", "nest deeper than"},
        {"implicit_meta_no_preamble.dcm", "implicit file meta element (0002,0036) declares 1413563465 bytes"},
        {"j2k_delimiter_length.dcm", "Sequence Delimitation Item declares 1073741824 bytes"},
        /* Refused before GDCM asserts (an abandoned call loses what it had allocated). */
        {"unclosed_item.dcm", "an item of undefined length is not closed (no Item Delimitation "
                              "Item before the end of its sequence or of the file) (at byte 302)"},
        {"meta_only.dcm", "ends inside or right after its file meta information (at byte 236)"},
        {"implicit_meta_only.dcm", "ends inside or right after its file meta information (at byte 8)"},
        {"meta_sequence.dcm", "file meta element (0002,0100) is a sequence"},
        {"implicit_meta_length_13.dcm", "element (49FF,4144) declares 4294967124 bytes"},
        {"undefined_length_ob.dcm", "element (0009,1010) of undefined length has the VR OB (at byte 270)"},
        {"pixel_data_sequence.dcm", "Pixel Data (7FE0,0010) has the VR SQ (at byte 360)"},
        {"pixels_without_items.dcm", "the file ends before the pixel data's Basic Offset Table item"},
    };
    char path[4096];
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        snprintf(path, sizeof path, "%s/fuzz/dicom/%s", dir, refused[i].name);
        bmc_dicom *dicom = NULL;
        CHECK_STATUS(bmc_dicom_open_file(path, &dicom), BMC_ERR_CORRUPT_DATA);
        CHECK(strstr(bmc_last_error(), refused[i].message) != NULL, "%s: %s", refused[i].name, bmc_last_error());
        CHECK(dicom == NULL, "%s: out-parameter set on failure", refused[i].name);
    }
    /* A damaged RLE segment: the file opens, its image is refused before GDCM decodes it. */
    snprintf(path, sizeof path, "%s/fuzz/dicom/rle_overrun.dcm", dir);
    bmc_dicom *rle = NULL;
    bmc_image *none = NULL;
    CHECK_STATUS(bmc_dicom_open_file(path, &rle), BMC_OK);
    CHECK_STATUS(bmc_dicom_frame_image(rle, NULL, &none), BMC_ERR_UNSUPPORTED);
    CHECK(strstr(bmc_last_error(), "unpacks to more than") != NULL, "rle_overrun: %s", bmc_last_error());
    bmc_dicom_free(rle);
    /* A transfer syntax GDCM does not know: the file opens, its frame is refused as such
     * (asking GDCM for that syntax's byte order was an assertion). */
    snprintf(path, sizeof path, "%s/fuzz/dicom/unknown_syntax.dcm", dir);
    bmc_dicom *unknown = NULL;
    CHECK_STATUS(bmc_dicom_open_file(path, &unknown), BMC_OK);
    CHECK_STATUS(bmc_dicom_frame_image(unknown, NULL, &none), BMC_ERR_UNSUPPORTED);
    CHECK(strstr(bmc_last_error(), "transfer syntax unknown to GDCM") != NULL, "unknown_syntax: %s",
          bmc_last_error());
    bmc_dicom_free(unknown);
    /* An image attribute of a VR GDCM asserts on: the file opens, its frame is refused. */
    snprintf(path, sizeof path, "%s/fuzz/dicom/planar_configuration_ss.dcm", dir);
    bmc_dicom *planar = NULL;
    CHECK_STATUS(bmc_dicom_open_file(path, &planar), BMC_OK);
    CHECK_STATUS(bmc_dicom_frame_image(planar, NULL, &none), BMC_ERR_UNSUPPORTED);
    CHECK(strstr(bmc_last_error(), "Planar Configuration (0028,0006) is not one US value") != NULL,
          "planar_configuration_ss: %s", bmc_last_error());
    bmc_dicom_free(planar);
    /* JPEG 2000 code streams that declare another geometry than the attributes, and streams that
     * send GDCM past a fragment or into an endless wait: refused before GDCM decodes them (it
     * wrote the stream's size into a buffer of the attributes' size). */
    static const struct {
        const char *name, *message;
    } mismatched[] = {
        {"j2k_wider.dcm", "code stream of 4608x512 where Columns x Rows are 512x512"},
        {"j2k_deeper.dcm", "16-bit samples where Bits Allocated is 8"},
        /* a marker segment longer than its fragment: GDCM's own marker walk read past it */
        {"j2k_sot_length.dcm", "marker segment of 57356 bytes where 40 remain in its fragment"},
        {"j2k_marker_walk_segv.dcm", "marker segment of 57356 bytes where 1422 remain in its fragment"},
        /* a JPEG fragment that ends where libjpeg skips a segment's body: GDCM's decoder hung */
        {"jpeg_comment_at_end.dcm", "JPEG fragment 1 ends inside the header of a marker segment"},
        {"jpeg_app0_at_end.dcm", "JPEG fragment 1 ends inside the header of a marker segment"},
        /* JPEG headers on which libjpeg warns: GDCM asserted, abandoning the call */
        {"jpeg_extraneous_bytes.dcm", "JPEG fragment 1: bytes that are not a marker between two segments "
                                      "of a JPEG header (at byte 20 of its fragment)"},
        {"jpeg_jfif_version.dcm", "JPEG fragment 1: a JFIF segment of version 2.1"},
        {"jpeg_adobe_transform.dcm", "JPEG fragment 1: an Adobe colour transform 5 for 3 components"},
        {"jpeg_precision_10.dcm", "JPEG fragment 1: a lossy JPEG frame of 10-bit samples"},
        {"jpeg_app0_past_fragment.dcm", "JPEG fragment 1: a JPEG header segment (marker FFE0) of 18758 "
                                        "bytes where 364 remain in its fragment"},
    };
    for (size_t i = 0; i < sizeof mismatched / sizeof mismatched[0]; i++) {
        snprintf(path, sizeof path, "%s/fuzz/dicom/%s", dir, mismatched[i].name);
        bmc_dicom *j2k = NULL;
        CHECK_STATUS(bmc_dicom_open_file(path, &j2k), BMC_OK);
        CHECK_STATUS(bmc_dicom_frame_image(j2k, NULL, &none), BMC_ERR_UNSUPPORTED);
        CHECK(strstr(bmc_last_error(), mismatched[i].message) != NULL, "%s: %s", mismatched[i].name,
              bmc_last_error());
        bmc_dicom_free(j2k);
    }
    /* The seeds the library reads: the generator's 4x4 pixels 0, 16, ..., 240, without
     * GDCM's gigabyte allocations on the way (the file without a preamble took 1.4 GB and 5 s
     * in GDCM's 16-bit VR retry before the adapter read it as walked). */
    static const char *readable[] = {"j2k_valid.dcm", "implicit_under_explicit.dcm",
                                     "implicit_under_explicit_no_preamble.dcm",
                                     /* attributes GDCM asserted on, which the adapter removes */
                                     "rt_dose_one_offset.dcm", "recognition_code.dcm", "lossy_compression_us.dcm",
                                     "enhanced_ct_without_orientation.dcm", "frame_pointer_us.dcm"};
    for (size_t i = 0; i < sizeof readable / sizeof readable[0]; i++) {
        snprintf(path, sizeof path, "%s/fuzz/dicom/%s", dir, readable[i]);
        check_generator_pixels(path, readable[i]);
    }
}

int main(void)
{
    RUN(test_every_file);
    RUN(test_bad_input);
    RUN(test_layout_check);
    return harness_summary("test_dicom");
}
