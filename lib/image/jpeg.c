/* SPDX-License-Identifier: MIT */
/* JPEG decoding with libjpeg-turbo, giving the pixels Pillow 9.4's JpegImagePlugin gives.
 *
 * Pillow decodes with the same library and its defaults (ISLOW DCT, fancy upsampling), asks
 * for grayscale, RGB or CMYK output by the number of components (1 -> L, 3 -> RGB, 4 -> CMYK;
 * YCCK files are converted to CMYK by libjpeg), and reads CMYK with the raw mode "CMYK;I",
 * which inverts every byte (Adobe's convention). We do the same.
 *
 * libjpeg reports errors through error_exit, which must not return: ours records the message
 * and longjmps back. Warnings are not printed; like Pillow we accept the corrupt-data warnings
 * libjpeg recovers from, but a file that ends early is an error (Pillow raises "image file is
 * truncated"), as is a progressive file with an absurd number of scans (a CPU bomb). */
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image/codecs.h"
#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"

/* libjpeg-turbo's TurboJPEG API stops at the same number (TJFLAG_LIMITSCANS). */
#define MAX_SCANS 500

int bmci_is_jpeg(const uint8_t *data, size_t size)
{
    static const uint8_t soi[3] = {0xff, 0xd8, 0xff};
    size_t n = size < sizeof soi ? size : sizeof soi;
    return n > 0 && memcmp(data, soi, n) == 0;
}

/* libjpeg's error manager extended with our jump target. It lives in the caller of the
 * function that calls setjmp, so its fields keep their values across the longjmp. */
struct jpeg_decoder {
    struct jpeg_error_mgr errors; /* first, so libjpeg's pointer to it is ours too */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    bmc_status status;
    int truncated;
    struct jpeg_decompress_struct cinfo;
    bmc_image *image; /* owned here until decoding succeeds */
};

static bmc_status status_for(int msg_code)
{
    switch (msg_code) {
    case JERR_OUT_OF_MEMORY: return BMC_ERR_OUT_OF_MEMORY;
    case JERR_IMAGE_TOO_BIG: return BMC_ERR_LIMIT;
    case JERR_BAD_PRECISION:
    case JERR_CONVERSION_NOTIMPL:
    case JERR_SOF_UNSUPPORTED: return BMC_ERR_UNSUPPORTED;
    default: return BMC_ERR_CORRUPT_DATA;
    }
}

static void on_jpeg_error(j_common_ptr cinfo)
{
    struct jpeg_decoder *d = (struct jpeg_decoder *)cinfo->err;
    cinfo->err->format_message(cinfo, d->message);
    d->status = status_for(cinfo->err->msg_code);
    longjmp(d->jump, 1);
}

static void on_jpeg_message(j_common_ptr cinfo, int level)
{
    struct jpeg_decoder *d = (struct jpeg_decoder *)cinfo->err;
    if (level >= 0)
        return; /* trace messages */
    if (cinfo->err->msg_code == JWRN_JPEG_EOF)
        d->truncated = 1;
    char message[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, message);
    bmci_log(BMC_LOG_DEBUG, "jpeg: warning: %s", message);
}

static void on_jpeg_progress(j_common_ptr cinfo)
{
    struct jpeg_decoder *d = (struct jpeg_decoder *)cinfo->err;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (dinfo->input_scan_number > MAX_SCANS) {
        snprintf(d->message, sizeof d->message, "more than %d scans (a decompression bomb?)", MAX_SCANS);
        d->status = BMC_ERR_LIMIT;
        longjmp(d->jump, 1);
    }
}

static bmc_status truncated(void)
{
    return bmci_fail(BMC_ERR_CORRUPT_DATA, "jpeg: file is truncated (premature end of data)");
}

/* Everything that may longjmp. Returns BMC_OK or a status with the message already set. */
static bmc_status decode_guarded(struct jpeg_decoder *d, const uint8_t *data, size_t size, int32_t draft)
{
    j_decompress_ptr cinfo = &d->cinfo;
    if (setjmp(d->jump))
        return d->truncated ? truncated() : bmci_fail(d->status, "jpeg: %s", d->message);

    jpeg_create_decompress(cinfo);
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);
    if (d->truncated)
        return truncated();
    bmc_status status = bmci_check_image_size("jpeg", cinfo->image_width, cinfo->image_height);
    if (status != BMC_OK)
        return status;
    int32_t mode;
    switch (cinfo->num_components) {
    case 1: mode = BMC_IMAGE_MODE_L; cinfo->out_color_space = JCS_GRAYSCALE; break;
    case 3: mode = BMC_IMAGE_MODE_RGB; cinfo->out_color_space = JCS_RGB; break;
    case 4: mode = BMC_IMAGE_MODE_CMYK; cinfo->out_color_space = JCS_CMYK; break;
    default:
        return bmci_fail(BMC_ERR_UNSUPPORTED, "jpeg: %d components are not supported (1, 3 or 4)",
                         cinfo->num_components);
    }
    if (draft > 0) {
        /* Pillow's JpegImageFile.draft: the largest of 8, 4, 2 that both sides divided by
         * `draft` (rounded down) reach, so the decoded sides, ceil(side / scale), stay >= draft.
         * libjpeg then does the reduction inside the inverse DCT. */
        JDIMENSION fit_w = cinfo->image_width / (JDIMENSION)draft;
        JDIMENSION fit_h = cinfo->image_height / (JDIMENSION)draft;
        JDIMENSION fit = fit_w < fit_h ? fit_w : fit_h;
        cinfo->scale_num = 1;
        cinfo->scale_denom = fit >= 8 ? 8 : fit >= 4 ? 4 : fit >= 2 ? 2 : 1;
    }
    jpeg_calc_output_dimensions(cinfo);
    status = bmci_image_new(mode, (int32_t)cinfo->output_width, (int32_t)cinfo->output_height, &d->image);
    if (status != BMC_OK)
        return status;

    d->progress.progress_monitor = on_jpeg_progress;
    cinfo->progress = &d->progress;
    jpeg_start_decompress(cinfo);
    if ((int32_t)cinfo->output_components != d->image->bands)
        return bmci_fail(BMC_ERR_INTERNAL, "jpeg: %d output components for mode %s",
                         cinfo->output_components, bmci_mode_name(mode));
    while (cinfo->output_scanline < cinfo->output_height) {
        /* Several rows a call: with 2x2 subsampling libjpeg makes two rows at once and would
         * otherwise copy the second through its spare row. */
        JSAMPROW rows[16];
        JDIMENSION count = cinfo->output_height - cinfo->output_scanline;
        count = count < 16 ? count : 16;
        for (JDIMENSION i = 0; i < count; i++)
            rows[i] = d->image->pixels + (size_t)(cinfo->output_scanline + i) * d->image->stride;
        jpeg_read_scanlines(cinfo, rows, count);
        if (d->truncated)
            return truncated();
    }
    jpeg_finish_decompress(cinfo);
    if (d->truncated)
        return truncated();
    if (mode == BMC_IMAGE_MODE_CMYK) { /* Pillow's "CMYK;I" raw mode */
        size_t count = d->image->stride * (size_t)d->image->height;
        for (size_t i = 0; i < count; i++)
            d->image->pixels[i] = (uint8_t)~d->image->pixels[i];
    }
    return BMC_OK;
}

bmc_status bmci_jpeg_decode(const uint8_t *data, size_t size, int32_t draft, bmc_image **out)
{
    struct jpeg_decoder d;
    memset(&d, 0, sizeof d);
    d.cinfo.err = jpeg_std_error(&d.errors);
    d.errors.error_exit = on_jpeg_error;
    d.errors.emit_message = on_jpeg_message;
    d.status = BMC_ERR_CORRUPT_DATA;
    bmc_status status = decode_guarded(&d, data, size, draft);
    jpeg_destroy_decompress(&d.cinfo); /* also safe when creation failed: cinfo.mem is NULL */
    if (status != BMC_OK) {
        bmc_image_free(d.image);
        return status;
    }
    *out = d.image;
    return BMC_OK;
}
