/* SPDX-License-Identifier: MIT */
/* DICOM files: the bmc_dicom handle over the GDCM adapter (shim/dicom.h), the stored values of
 * one frame (Bits Stored wide, sign-extended, de-planarised), and the display pipeline driven
 * by the file's own attributes: modality LUT, VOI LUT function, MONOCHROME1, colour spaces. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/runtime.h"
#include "image/codecs.h"
#include "image/image.h"
#include "shim/dicom.h"

struct bmc_dicom {
    bmci_dicom *shim;
    bmci_dicom_header header;
};

int bmci_is_dicom(const uint8_t *data, size_t size)
{
    return size >= 132 && memcmp(data + 128, "DICM", 4) == 0;
}

bmc_status bmc_dicom_open_memory(const void *data, size_t size, bmc_dicom **out)
{
    if (!data || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_dicom_open_memory: %s is NULL", data ? "out" : "data");
    if (size == 0)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: no data (0 bytes)");
    bmc_dicom *dicom = calloc(1, sizeof *dicom);
    if (!dicom)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "dicom: out of memory");
    bmc_status status = bmci_dicom_parse(data, size, &dicom->shim, &dicom->header);
    if (status != BMC_OK) {
        free(dicom);
        return status;
    }
    *out = dicom;
    return BMC_OK;
}

bmc_status bmc_dicom_open_file(const char *path, bmc_dicom **out)
{
    if (!path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_dicom_open_file: %s is NULL", path ? "out" : "path");
    uint8_t *data = NULL;
    size_t size = 0;
    bmc_status status = bmci_read_whole_file(path, &data, &size);
    if (status != BMC_OK)
        return status;
    status = bmc_dicom_open_memory(data ? data : (const uint8_t *)"", size, out);
    free(data);
    return status == BMC_OK ? BMC_OK : bmci_fail_context(status, path);
}

void bmc_dicom_free(bmc_dicom *dicom)
{
    if (!dicom)
        return;
    bmci_dicom_free(dicom->shim);
    free(dicom);
}

static void copy_string(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    n = n < size - 1 ? n : size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void bmc_dicom_info_init(bmc_dicom_info *info)
{
    if (!info)
        return;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
}

bmc_status bmc_dicom_get_info(const bmc_dicom *dicom, bmc_dicom_info *info)
{
    if (!dicom || !info)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_dicom_get_info: %s is NULL", dicom ? "info" : "dicom");
    if (info->struct_size != sizeof *info)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_dicom_get_info: struct_size %zu is not "
                         "sizeof(bmc_dicom_info) %zu", info->struct_size, sizeof *info);
    const bmci_dicom_header *h = &dicom->header;
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->frames = h->frames;
    info->rows = h->rows;
    info->columns = h->columns;
    info->samples_per_pixel = h->samples_per_pixel;
    info->bits_allocated = h->bits_allocated;
    info->bits_stored = h->bits_stored;
    info->pixel_representation = h->pixel_representation;
    info->has_rescale = h->has_rescale;
    info->rescale_slope = h->rescale_slope;
    info->rescale_intercept = h->rescale_intercept;
    info->window_count = h->window_count;
    info->has_voi_lut_sequence = h->has_voi_lut_sequence;
    copy_string(info->photometric, sizeof info->photometric, h->photometric);
    copy_string(info->modality, sizeof info->modality, h->modality);
    copy_string(info->transfer_syntax, sizeof info->transfer_syntax, h->transfer_syntax);
    copy_string(info->voi_lut_function, sizeof info->voi_lut_function, h->voi_lut_function);
    copy_string(info->sop_instance_uid, sizeof info->sop_instance_uid, h->sop_instance_uid);
    copy_string(info->series_instance_uid, sizeof info->series_instance_uid, h->series_instance_uid);
    copy_string(info->study_instance_uid, sizeof info->study_instance_uid, h->study_instance_uid);
    copy_string(info->no_image_reason, sizeof info->no_image_reason, h->has_image ? "" : h->why_no_image);
    return BMC_OK;
}

bmc_status bmc_dicom_window(const bmc_dicom *dicom, int32_t index, double *center, double *width,
                            const char **explanation)
{
    if (!dicom)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_dicom_window: dicom is NULL");
    if (index < 0 || index >= dicom->header.window_count)
        return bmci_fail(BMC_ERR_NOT_FOUND, "bmc_dicom_window: window %d of %d", index,
                         dicom->header.window_count);
    if (center)
        *center = dicom->header.window_center[index];
    if (width)
        *width = dicom->header.window_width[index];
    if (explanation)
        *explanation = dicom->header.window_explanation[index];
    return BMC_OK;
}

void bmc_dicom_frame_options_init(bmc_dicom_frame_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->rescale_slope = 1.0;
}

/* The decoded pixel data, checked against the geometry, and where frame `frame` starts. */
static bmc_status frame_data(const bmc_dicom *dicom, int32_t frame, bmci_dicom_pixels *px)
{
    const bmci_dicom_header *h = &dicom->header;
    bmc_status status = bmci_check_image_size("dicom", h->columns, h->rows);
    if (status != BMC_OK)
        return status;
    int64_t total = (int64_t)h->columns * h->rows * h->frames;
    if (total > bmci_runtime_max_image_pixels())
        return bmci_fail(BMC_ERR_LIMIT, "dicom: %d frames of %dx%d are decoded together, over the "
                         "limit of %lld pixels (raise it with bmc_configure)", h->frames, h->columns,
                         h->rows, (long long)bmci_runtime_max_image_pixels());
    status = bmci_dicom_decode(dicom->shim, px);
    if (status != BMC_OK)
        return status;
    if (px->samples_per_pixel != 1 && px->samples_per_pixel != 3)
        return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: %d samples per pixel once decoded", px->samples_per_pixel);
    if (px->bits_allocated != 1 && px->bits_allocated != 8 && px->bits_allocated != 16 &&
        px->bits_allocated != 32)
        return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: %d bits allocated once decoded", px->bits_allocated);
    uint64_t bits = (uint64_t)total * (uint64_t)px->samples_per_pixel * (uint64_t)px->bits_allocated;
    if (px->size < (bits + 7) / 8)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: the pixel data holds %zu bytes, %llu are needed "
                         "for %d frames of %dx%d", px->size, (unsigned long long)((bits + 7) / 8),
                         h->frames, h->columns, h->rows);
    (void)frame;
    return BMC_OK;
}

/* Sample `s` (0-based over the whole pixel data) as a stored value: masked to Bits Stored and
 * sign-extended when the representation is signed. */
static double stored_sample(const bmci_dicom_pixels *px, const bmci_dicom_header *h, uint64_t s)
{
    uint32_t raw;
    switch (px->bits_allocated) {
    case 1: raw = (px->data[s / 8] >> (s % 8)) & 1u; break;
    case 8: raw = px->data[s]; break;
    case 16: {
        uint16_t v;
        memcpy(&v, px->data + 2 * s, 2);
        raw = v;
        break;
    }
    default: memcpy(&raw, px->data + 4 * s, 4); break;
    }
    int32_t bits = h->bits_stored < px->bits_allocated ? h->bits_stored : px->bits_allocated;
    if (px->bits_allocated > 8 && bits < 32)
        raw &= (1u << bits) - 1u;
    if (h->pixel_representation == 1 && px->bits_allocated > 1) {
        if (bits >= 32)
            return (double)(int32_t)raw;
        if (raw & (1u << (bits - 1)))
            return (double)raw - (double)(1u << (bits - 1)) * 2.0;
    }
    return (double)raw;
}

bmc_status bmci_dicom_frame_values(const bmc_dicom *dicom, int32_t frame, double **values,
                                   int32_t *channels, int32_t *bits_allocated, const char **photometric)
{
    const bmci_dicom_header *h = &dicom->header;
    if (!h->has_image)
        return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: no image: %s", h->why_no_image);
    if (frame < 0 || frame >= h->frames)
        return bmci_fail(BMC_ERR_NOT_FOUND, "dicom: frame %d of %d (frames are 0-based)", frame, h->frames);
    /* GDCM 3.0.21 puts the segments of RLE colour data wider than 8 bits in the wrong order
     * (pydicom's SC_rgb_rle_16bit/32bit show it): refuse rather than show wrong colours. */
    if (strcmp(h->transfer_syntax, "1.2.840.10008.1.2.5") == 0 && h->samples_per_pixel == 3 &&
        h->bits_allocated > 8)
        return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: RLE colour data of %d bits is not read (GDCM "
                         "3.0 decodes it with its bytes out of order)", h->bits_allocated);
    /* and it swaps 32-bit samples of Explicit VR Big Endian data by 16-bit halves */
    if (strcmp(h->transfer_syntax, "1.2.840.10008.1.2.2") == 0 && h->bits_allocated == 32)
        return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: 32-bit samples in Explicit VR Big Endian are not "
                         "read (GDCM 3.0 swaps their bytes wrongly)");
    bmci_dicom_pixels px;
    bmc_status status = frame_data(dicom, frame, &px);
    if (status != BMC_OK)
        return status;
    size_t pixels = (size_t)h->rows * (size_t)h->columns;
    int32_t n = px.samples_per_pixel;
    double *out = malloc(pixels * (size_t)n * sizeof *out);
    if (!out)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "dicom: frame of %dx%d does not fit in memory", h->columns, h->rows);
    uint64_t first = (uint64_t)frame * pixels * (uint64_t)n;
    for (size_t i = 0; i < pixels; i++)
        for (int32_t c = 0; c < n; c++) {
            /* planar data keeps each sample's plane within the frame */
            uint64_t s = px.planar_configuration && n > 1 ? first + (uint64_t)c * pixels + i
                                                          : first + (uint64_t)i * n + (uint64_t)c;
            out[i * (size_t)n + (size_t)c] = stored_sample(&px, h, s);
        }
    *values = out;
    *channels = n;
    *bits_allocated = px.bits_allocated;
    if (photometric) {
        static _Thread_local char name[BMCI_DICOM_TEXT];
        memcpy(name, px.photometric, sizeof name);
        *photometric = name;
    }
    return BMC_OK;
}

/* PS3.3 C.7.6.3.1.2 YBR_FULL to RGB, in float32 as pydicom's convert_color_space computes it,
 * rounded to nearest and clipped to 0..255. */
static void ybr_full_to_rgb(double *v, size_t pixels)
{
    const float cb_g = (float)(-0.114 * 1.772 / 0.587), cr_g = (float)(-0.299 * 1.402 / 0.587);
    for (size_t i = 0; i < pixels; i++) {
        float y = (float)v[3 * i], cb = (float)v[3 * i + 1] - 128.0f, cr = (float)v[3 * i + 2] - 128.0f;
        float rgb[3] = {y + 1.402f * cr, y + cb_g * cb + cr_g * cr, y + 1.772f * cb};
        for (int c = 0; c < 3; c++) {
            float r = floorf(rgb[c] + 0.5f);
            v[3 * i + c] = r < 0.0f ? 0.0 : r > 255.0f ? 255.0 : (double)r;
        }
    }
}

static int is_ybr(const char *pi)
{
    return strcmp(pi, "YBR_FULL") == 0 || strcmp(pi, "YBR_FULL_422") == 0;
}

static int is_known_colour(const char *pi)
{
    return strcmp(pi, "RGB") == 0 || is_ybr(pi) || strcmp(pi, "YBR_RCT") == 0 || strcmp(pi, "YBR_ICT") == 0;
}

static bmc_status check_options(const bmc_dicom_frame_options *o)
{
    if (o->struct_size != sizeof *o)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_dicom_frame_image: struct_size %zu is not "
                         "sizeof(bmc_dicom_frame_options) %zu (call bmc_dicom_frame_options_init first)",
                         o->struct_size, sizeof *o);
    if (o->has_window && (!isfinite(o->window_center) || !isfinite(o->window_width) || o->window_width < 1.0))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_dicom_frame_image: window %g/%g (the width "
                         "must be at least 1, both finite)", o->window_center, o->window_width);
    if (o->has_rescale && (!isfinite(o->rescale_slope) || !isfinite(o->rescale_intercept)))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_dicom_frame_image: rescale slope/intercept not finite");
    return BMC_OK;
}

/* The VOI step for a grayscale frame from the options and the file (see the header). */
static bmc_status choose_voi(const bmc_dicom *dicom, const bmc_dicom_frame_options *o, bmci_display *d)
{
    const bmci_dicom_header *h = &dicom->header;
    d->voi_function = BMCI_VOI_STRETCH;
    if (o->has_window) {
        d->voi_function = BMCI_VOI_LINEAR;
        d->window_center = o->window_center;
        d->window_width = o->window_width;
        return BMC_OK;
    }
    if (h->window_count == 0) {
        if (h->has_voi_lut_sequence)
            return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: the file's VOI transform is a VOI LUT "
                             "Sequence (a table), which the library does not apply; give a window");
        return BMC_OK;
    }
    if (o->window_index < 0 || o->window_index >= h->window_count)
        return bmci_fail(BMC_ERR_NOT_FOUND, "dicom: window %d of %d (windows are 0-based)",
                         o->window_index, h->window_count);
    const char *function = h->voi_lut_function;
    double width = h->window_width[o->window_index];
    d->window_center = h->window_center[o->window_index];
    d->window_width = width;
    if (function[0] == '\0' || strcmp(function, "LINEAR") == 0) {
        d->voi_function = BMCI_VOI_LINEAR;
        if (!(width >= 1.0))
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: window width %g is below 1 (LINEAR)", width);
    } else if (strcmp(function, "LINEAR_EXACT") == 0 || strcmp(function, "SIGMOID") == 0) {
        d->voi_function = function[0] == 'S' ? BMCI_VOI_SIGMOID : BMCI_VOI_LINEAR_EXACT;
        if (!(width > 0.0))
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: window width %g is not positive (%s)", width, function);
    } else {
        return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: VOI LUT Function '%s' is not LINEAR, "
                         "LINEAR_EXACT or SIGMOID", function);
    }
    if (!isfinite(d->window_center) || !isfinite(width))
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: window %g/%g is not finite", d->window_center, width);
    return BMC_OK;
}

bmc_status bmc_dicom_frame_image(const bmc_dicom *dicom, const bmc_dicom_frame_options *options,
                                 bmc_image **out)
{
    if (!dicom || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_dicom_frame_image: %s is NULL", dicom ? "out" : "dicom");
    bmc_dicom_frame_options defaults;
    bmc_dicom_frame_options_init(&defaults);
    const bmc_dicom_frame_options *o = options ? options : &defaults;
    bmc_status status = check_options(o);
    if (status != BMC_OK)
        return status;
    const bmci_dicom_header *h = &dicom->header;
    if (!h->has_image)
        return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: no image: %s", h->why_no_image);
    if (o->frame < 0 || o->frame >= h->frames)
        return bmci_fail(BMC_ERR_NOT_FOUND, "dicom: frame %d of %d (frames are 0-based)", o->frame, h->frames);
    int mono = strcmp(h->photometric, "MONOCHROME1") == 0 || strcmp(h->photometric, "MONOCHROME2") == 0;
    if (!mono && strcmp(h->photometric, "PALETTE COLOR") != 0 && !is_known_colour(h->photometric))
        return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: photometric interpretation '%s' is not read",
                         h->photometric);
    bmci_display display = {BMCI_VOI_STRETCH, 0.0, 0.0, 0};
    int has_rescale = o->has_rescale || h->has_rescale;
    double slope = o->has_rescale ? o->rescale_slope : h->rescale_slope;
    double intercept = o->has_rescale ? o->rescale_intercept : h->rescale_intercept;
    if (mono) {
        if (h->has_modality_lut_sequence && !o->has_rescale)
            return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: the file's modality transform is a Modality "
                             "LUT Sequence (a table), which the library does not apply; give a rescale");
        if (has_rescale && (!isfinite(slope) || !isfinite(intercept)))
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "dicom: rescale %g/%g is not finite", slope, intercept);
        status = choose_voi(dicom, o, &display);
        if (status != BMC_OK)
            return status;
        display.monochrome1 = h->photometric[10] == '1';
    }
    double *values = NULL;
    int32_t channels = 0, bits = 0;
    const char *decoded_pi = NULL;
    status = bmci_dicom_frame_values(dicom, o->frame, &values, &channels, &bits, &decoded_pi);
    if (status != BMC_OK)
        return status;
    size_t pixels = (size_t)h->rows * (size_t)h->columns;
    if (mono && channels == 1) {
        /* 8-bit data without a modality or VOI transform is display-ready; the rest goes
         * through the LUTs (1-bit data is stretched, so 0/1 shows as black/white) */
        int identity = !has_rescale || (slope == 1.0 && intercept == 0.0);
        int as_stored = bits == 8 && h->bits_stored == 8 && h->pixel_representation == 0 &&
                        identity && display.voi_function == BMCI_VOI_STRETCH;
        if (as_stored)
            display.voi_function = BMCI_VOI_LINEAR, display.window_center = 128.0, display.window_width = 256.0;
        else if (has_rescale)
            for (size_t i = 0; i < pixels; i++)
                values[i] = values[i] * slope + intercept;
    } else if (!mono && channels == 3) {
        if (is_ybr(decoded_pi))
            ybr_full_to_rgb(values, pixels);
        if (bits == 8 || is_ybr(decoded_pi))
            display.voi_function = BMCI_VOI_LINEAR, display.window_center = 128.0, display.window_width = 256.0;
    } else {
        free(values);
        return bmci_fail(BMC_ERR_UNSUPPORTED, "dicom: photometric interpretation %s decoded to %d samples "
                         "per pixel", h->photometric, channels);
    }
    status = bmci_image_from_values(values, h->columns, h->rows, channels, &display, out);
    free(values);
    return status;
}

bmc_status bmci_dicom_load_image(const uint8_t *data, size_t size, int require_magic, bmc_image **out)
{
    bmc_dicom *dicom = NULL;
    bmc_status status = bmc_dicom_open_memory(data, size, &dicom);
    if (status != BMC_OK) {
        if (!require_magic)
            return bmci_fail(BMC_ERR_UNSUPPORTED, "image: not a PNG, JPEG or DICOM file (starts with "
                             "%02x %02x %02x %02x)", data[0], size > 1 ? data[1] : 0,
                             size > 2 ? data[2] : 0, size > 3 ? data[3] : 0);
        return status;
    }
    status = bmc_dicom_frame_image(dicom, NULL, out);
    bmc_dicom_free(dicom);
    return status;
}
