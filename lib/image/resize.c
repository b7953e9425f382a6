/* SPDX-License-Identifier: MIT */
/* Pillow 9.4's resampling, reproduced for bit-exact preprocessing.
 *
 * Antialiased filters (libImaging/Resample.c): separable, horizontal pass then vertical pass.
 * For each output index the filter is centred at (i + 0.5) * scale, its support widened by
 * the downscale factor, its weights evaluated at input pixel centres and normalised to sum 1.
 * 8-bit images turn the weights into 22-bit fixed point and round and clip each pass to
 * 0..255; 32-bit images (I, F) sum in double, I rounding to int32 after each pass.
 * NEAREST (libImaging/Geometry.c, affine scale): source index = (int)(scale * (i + 0.5)),
 * with the position accumulated step by step in double exactly as Pillow does.
 *
 * Everything here works on "planes": interleaved samples of one kind with a row stride. The
 * 8-bit passes hand over to the SIMD kernels of resize_simd.c where the CPU has them; the
 * portable passes here stay the reference (tests compare both) and the fallback. */
#include "image/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/resize_simd.h"
#include "image/resize_wide_simd.h"

/* Pillow's fixed-point precision for 8-bit images: 32 bits minus 8 for the value and 2 for
 * overshoot of the negative-lobed kernels. */
#define PRECISION_BITS (32 - 8 - 2)

enum sample_kind { KIND_U8, KIND_I32, KIND_F32 };

struct plane {
    uint8_t *data;     /* first sample of the first row */
    ptrdiff_t stride;  /* bytes between rows */
    int32_t width;     /* pixels */
    int32_t height;    /* rows */
    int32_t bands;     /* samples per pixel */
    int kind;          /* enum sample_kind */
};

static size_t kind_bytes(int kind)
{
    return kind == KIND_U8 ? 1 : 4;
}

static uint8_t *plane_row(const struct plane *p, int32_t y)
{
    return p->data + (ptrdiff_t)y * p->stride;
}

static size_t pixel_bytes(const struct plane *p)
{
    return (size_t)p->bands * kind_bytes(p->kind);
}

/* ---- filters ------------------------------------------------------------------------------ */

struct filter {
    double (*weight)(double x);
    double support;
};

static double bilinear_weight(double x)
{
    if (x < 0.0)
        x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Keys' cubic convolution with a = -0.5, written as Pillow evaluates it. */
static double bicubic_weight(double x)
{
    const double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static const struct filter bilinear_filter = {bilinear_weight, 1.0};
static const struct filter bicubic_filter = {bicubic_weight, 2.0};

/* ---- coefficients --------------------------------------------------------------------------- */

/* The weights of output indices first .. first+count-1 of a resize from in_size to out_size. */
struct coeffs {
    int32_t count;
    int32_t ksize;    /* weights stored per output index */
    int32_t *start;   /* first input index used */
    int32_t *length;  /* number of input indices used */
    double *k;        /* count * ksize weights */
    int32_t *k8;      /* the same in fixed point (8-bit images) */
};

static void coeffs_free(struct coeffs *c)
{
    free(c->start);
    free(c->length);
    free(c->k);
    free(c->k8);
    memset(c, 0, sizeof *c);
}

static bmc_status coeffs_compute(struct coeffs *c, const struct filter *f, int32_t in_size,
                                 int32_t out_size, int32_t first, int32_t count)
{
    memset(c, 0, sizeof *c);
    /* Pillow passes the source box as floats: (in1 - in0) is computed in float. */
    double scale = (double)(float)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = f->support * filterscale;
    double ksize_d = ceil(support) * 2 + 1;
    if (ksize_d > (double)INT32_MAX || (size_t)ksize_d > SIZE_MAX / sizeof(double) / (size_t)count)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "resize: %d -> %d needs too many coefficients", in_size, out_size);
    c->count = count;
    c->ksize = (int32_t)ksize_d;
    size_t total = (size_t)count * (size_t)c->ksize;
    c->start = malloc((size_t)count * sizeof *c->start);
    c->length = malloc((size_t)count * sizeof *c->length);
    c->k = calloc(total, sizeof *c->k);
    c->k8 = calloc(total, sizeof *c->k8);
    if (!c->start || !c->length || !c->k || !c->k8) {
        coeffs_free(c);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "resize: cannot allocate %zu coefficients", total);
    }
    double ss = 1.0 / filterscale;
    for (int32_t i = 0; i < count; i++) {
        int32_t xx = first + i;
        double center = (xx + 0.5) * scale;
        int32_t xmin = (int32_t)(center - support + 0.5); /* truncation, as Pillow rounds */
        if (xmin < 0)
            xmin = 0;
        int32_t xmax = (int32_t)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        double *k = c->k + (size_t)i * (size_t)c->ksize;
        double ww = 0.0;
        for (int32_t x = 0; x < xmax; x++) {
            double w = f->weight((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        int32_t *k8 = c->k8 + (size_t)i * (size_t)c->ksize;
        for (int32_t x = 0; x < xmax; x++) {
            if (ww != 0.0)
                k[x] /= ww;
            /* Pillow's normalize_coeffs_8bpc: round half away from zero */
            k8[x] = k[x] < 0 ? (int32_t)(-0.5 + k[x] * (1 << PRECISION_BITS))
                             : (int32_t)(0.5 + k[x] * (1 << PRECISION_BITS));
        }
        c->start[i] = xmin;
        c->length[i] = xmax;
    }
    return BMC_OK;
}

/* ---- passes ----------------------------------------------------------------------------------- */

static uint8_t clip8(int32_t sum)
{
    int32_t v = sum >> PRECISION_BITS; /* arithmetic shift: floor, as in Pillow */
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Pillow's ROUND_UP for the int32 path: half away from zero. */
static int32_t round_up(double v)
{
    return (int32_t)(v >= 0.0 ? v + 0.5F : v - 0.5F);
}

static double load_wide(const uint8_t *p, int kind)
{
    if (kind == KIND_I32) {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void store_wide(uint8_t *p, int kind, double sum)
{
    if (kind == KIND_I32) {
        int32_t v = round_up(sum);
        memcpy(p, &v, sizeof v);
    } else {
        float v = (float)sum;
        memcpy(p, &v, sizeof v);
    }
}

/* One output row of the 8-bit horizontal pass. `bands` is a constant at each call site, so
 * the compiler specialises the loop per band count, as Pillow does by hand. */
static inline void horizontal_row_u8(const uint8_t *src, uint8_t *dst, int32_t width, const struct coeffs *c,
                                     const int bands)
{
    for (int32_t i = 0; i < width; i++) {
        const int32_t *k = c->k8 + (size_t)i * (size_t)c->ksize;
        const uint8_t *s = src + (size_t)c->start[i] * (size_t)bands;
        const int32_t half = 1 << (PRECISION_BITS - 1);
        int32_t s0 = half, s1 = half, s2 = half, s3 = half; /* scalars: kept in registers */
        for (int32_t x = 0; x < c->length[i]; x++, s += bands) {
            s0 += s[0] * k[x];
            if (bands > 1)
                s1 += s[1] * k[x];
            if (bands > 2)
                s2 += s[2] * k[x];
            if (bands > 3)
                s3 += s[3] * k[x];
        }
        uint8_t *d = dst + (size_t)i * (size_t)bands;
        d[0] = clip8(s0);
        if (bands > 1)
            d[1] = clip8(s1);
        if (bands > 2)
            d[2] = clip8(s2);
        if (bands > 3)
            d[3] = clip8(s3);
    }
}

/* One output row of the 32-bit horizontal pass (modes I and F have one band). `kind` is a
 * constant at each call site, so the sample loads carry no test. */
static inline void horizontal_row_wide(const uint8_t *src, uint8_t *dst, int32_t width, const struct coeffs *c,
                                       const int kind)
{
    for (int32_t i = 0; i < width; i++) {
        const double *k = c->k + (size_t)i * (size_t)c->ksize;
        const uint8_t *s = src + (size_t)c->start[i] * 4;
        double sum = 0.0;
        for (int32_t x = 0; x < c->length[i]; x++)
            sum += load_wide(s + 4 * (size_t)x, kind) * k[x];
        store_wide(dst + 4 * (size_t)i, kind, sum);
    }
}

static struct bmci_weights8 weights8(const struct coeffs *c)
{
    return (struct bmci_weights8){c->count, c->ksize, c->start, c->length, c->k8};
}

static struct bmci_weights_wide weights_wide(const struct coeffs *c)
{
    return (struct bmci_weights_wide){c->count, c->ksize, c->start, c->length, c->k};
}

/* out row y = in row (row0 + y), resampled along x with c (out->width == c->count). */
static void horizontal_pass(const struct plane *in, int32_t row0, const struct plane *out, const struct coeffs *c)
{
    struct bmci_weights8 w = weights8(c);
    if (in->kind == KIND_U8 && bmci_resize_horizontal_u8_simd(plane_row(in, row0), in->stride, in->width, out->data,
                                                              out->stride, out->height, in->bands, &w))
        return;
    struct bmci_weights_wide ww = weights_wide(c);
    if (in->kind != KIND_U8 && bmci_resize_horizontal_wide_simd(plane_row(in, row0), in->stride, in->width, out->data,
                                                                 out->stride, out->height, in->kind == KIND_F32, &ww))
        return;
    for (int32_t y = 0; y < out->height; y++) {
        const uint8_t *src = plane_row(in, row0 + y);
        uint8_t *dst = plane_row(out, y);
        if (in->kind == KIND_I32)
            horizontal_row_wide(src, dst, out->width, c, KIND_I32);
        else if (in->kind == KIND_F32)
            horizontal_row_wide(src, dst, out->width, c, KIND_F32);
        else if (in->bands == 1)
            horizontal_row_u8(src, dst, out->width, c, 1);
        else if (in->bands == 2)
            horizontal_row_u8(src, dst, out->width, c, 2);
        else if (in->bands == 3)
            horizontal_row_u8(src, dst, out->width, c, 3);
        else
            horizontal_row_u8(src, dst, out->width, c, 4);
    }
}

/* sum[s] += sample s of src * weight, for a 32-bit row; `kind` is a constant at each call site,
 * so the loop carries no test per sample (GCC does not vectorise it at -O2: the int-to-double
 * widening is beyond its cheapest cost model; resize_wide_simd.c has the vector kernels). */
static inline void add_weighted_row(double *restrict sum, const uint8_t *restrict src, size_t samples,
                                    double weight, const int kind)
{
    for (size_t s = 0; s < samples; s++)
        sum[s] += load_wide(src + 4 * s, kind) * weight;
}

/* out row y = rows c->start[y] - row0 ... of in combined with c (out->height == c->count).
 * Whole rows are accumulated at once, which vectorises; every sample still sums its terms in
 * Pillow's order (exact for the integer path, the same rounding for the double path). */
static bmc_status vertical_pass(const struct plane *in, int32_t row0, const struct plane *out, const struct coeffs *c)
{
    size_t samples = (size_t)out->width * (size_t)out->bands;
    int wide = in->kind != KIND_U8;
    struct bmci_weights8 w = weights8(c);
    if (!wide && bmci_resize_vertical_u8_simd(in->data, in->stride, row0, out->data, out->stride, samples, &w))
        return BMC_OK;
    struct bmci_weights_wide ww = weights_wide(c);
    if (wide && bmci_resize_vertical_wide_simd(in->data, in->stride, row0, out->data, out->stride, samples,
                                               in->kind == KIND_F32, &ww))
        return BMC_OK;
    void *scratch = malloc(samples * (wide ? sizeof(double) : sizeof(int32_t)));
    if (!scratch)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "resize: cannot allocate a row of %zu samples", samples);
    for (int32_t y = 0; y < out->height; y++) {
        int32_t first = c->start[y] - row0, n = c->length[y];
        uint8_t *dst = plane_row(out, y);
        if (!wide) {
            int32_t *sum = scratch;
            const int32_t *k = c->k8 + (size_t)y * (size_t)c->ksize;
            for (size_t s = 0; s < samples; s++)
                sum[s] = 1 << (PRECISION_BITS - 1);
            for (int32_t r = 0; r < n; r++) {
                const uint8_t *src = plane_row(in, first + r);
                int32_t weight = k[r];
                for (size_t s = 0; s < samples; s++)
                    sum[s] += src[s] * weight;
            }
            for (size_t s = 0; s < samples; s++)
                dst[s] = clip8(sum[s]);
        } else {
            double *sum = scratch;
            const double *k = c->k + (size_t)y * (size_t)c->ksize;
            for (size_t s = 0; s < samples; s++)
                sum[s] = 0.0;
            for (int32_t r = 0; r < n; r++) {
                const uint8_t *src = plane_row(in, first + r);
                if (in->kind == KIND_I32)
                    add_weighted_row(sum, src, samples, k[r], KIND_I32);
                else
                    add_weighted_row(sum, src, samples, k[r], KIND_F32);
            }
            for (size_t s = 0; s < samples; s++)
                store_wide(dst + 4 * s, in->kind, sum[s]);
        }
    }
    free(scratch);
    return BMC_OK;
}

static void copy_rows(const struct plane *in, const struct plane *out)
{
    size_t row = (size_t)out->width * pixel_bytes(out);
    for (int32_t y = 0; y < out->height; y++)
        memcpy(plane_row(out, y), plane_row(in, y), row);
}

/* The window (x0, y0, out->width, out->height) of Pillow's antialiased resize of `in` to
 * out_w x out_h, written to `out`. */
static bmc_status resample(const struct plane *in, int32_t out_w, int32_t out_h, const struct filter *f,
                           int32_t x0, int32_t y0, const struct plane *out)
{
    int need_horizontal = out_w != in->width, need_vertical = out_h != in->height;
    struct coeffs hc = {0}, vc = {0};
    struct plane mid = {0};
    bmc_status status = BMC_OK;

    /* The input rows the window needs. */
    int32_t row0 = y0, rows = out->height;
    if (need_vertical) {
        status = coeffs_compute(&vc, f, in->height, out_h, y0, out->height);
        if (status != BMC_OK)
            return status;
        int32_t last = 0;
        row0 = in->height;
        for (int32_t i = 0; i < vc.count; i++) {
            row0 = vc.start[i] < row0 ? vc.start[i] : row0;
            last = vc.start[i] + vc.length[i] > last ? vc.start[i] + vc.length[i] : last;
        }
        rows = last - row0;
    }

    size_t bytes = kind_bytes(in->kind);
    if (need_horizontal) {
        status = coeffs_compute(&hc, f, in->width, out_w, x0, out->width);
        mid = (struct plane){NULL, 0, out->width, rows, in->bands, in->kind};
        mid.stride = (ptrdiff_t)((size_t)mid.width * (size_t)mid.bands * bytes);
        if (status == BMC_OK && !(mid.data = malloc((size_t)mid.stride * (size_t)(rows > 0 ? rows : 1))))
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "resize: cannot allocate %d x %d intermediate", mid.width, rows);
        if (status == BMC_OK)
            horizontal_pass(in, row0, &mid, &hc);
    } else {
        mid = *in; /* a view of the window's columns */
        mid.data = plane_row(in, row0) + (size_t)x0 * pixel_bytes(in);
        mid.width = out->width;
        mid.height = rows;
    }

    if (status == BMC_OK) {
        if (need_vertical)
            status = vertical_pass(&mid, row0, out, &vc);
        else
            copy_rows(&mid, out);
    }
    if (need_horizontal)
        free(mid.data);
    coeffs_free(&hc);
    coeffs_free(&vc);
    return status;
}

/* Pillow's affine nearest-neighbour scale: index tables for the window, accumulated from 0. */
static bmc_status nearest_table(int32_t in_size, int32_t out_size, int32_t first, int32_t count, int32_t **table)
{
    int32_t *t = malloc((size_t)count * sizeof *t);
    if (!t)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "resize: cannot allocate a table of %d entries", count);
    double step = (double)(float)in_size / out_size;
    double pos = step * 0.5;
    for (int32_t i = 0; i < first + count; i++, pos += step) {
        if (i < first)
            continue;
        int32_t at = pos < 0.0 ? -1 : (int32_t)pos;
        t[i - first] = at >= 0 && at < in_size ? at : -1; /* -1: Pillow leaves the pixel zero */
    }
    *table = t;
    return BMC_OK;
}

static bmc_status nearest(const struct plane *in, int32_t out_w, int32_t out_h, int32_t x0, int32_t y0,
                          const struct plane *out)
{
    int32_t *cols = NULL, *rows = NULL;
    bmc_status status = nearest_table(in->width, out_w, x0, out->width, &cols);
    if (status == BMC_OK)
        status = nearest_table(in->height, out_h, y0, out->height, &rows);
    if (status == BMC_OK) {
        size_t pixel = pixel_bytes(in);
        for (int32_t y = 0; y < out->height; y++) {
            uint8_t *dst = plane_row(out, y);
            memset(dst, 0, (size_t)out->width * pixel);
            if (rows[y] < 0)
                continue;
            const uint8_t *src = plane_row(in, rows[y]);
            for (int32_t x = 0; x < out->width; x++)
                if (cols[x] >= 0)
                    memcpy(dst + (size_t)x * pixel, src + (size_t)cols[x] * pixel, pixel);
        }
    }
    free(cols);
    free(rows);
    return status;
}

/* ---- images ----------------------------------------------------------------------------------- */

static struct plane image_plane(const bmc_image *image)
{
    return (struct plane){image->pixels, (ptrdiff_t)image->stride, image->width, image->height, image->bands,
                          image->mode == BMC_IMAGE_MODE_I ? KIND_I32 : KIND_U8};
}

static int has_alpha(int32_t mode)
{
    return mode == BMC_IMAGE_MODE_LA || mode == BMC_IMAGE_MODE_RGBA;
}

/* Pillow's lA2la / rgbA2rgba: colour samples times alpha / 255, rounded. */
static bmc_status premultiplied_copy(const bmc_image *image, bmc_image **out)
{
    bmc_status status = bmci_image_new(image->mode, image->width, image->height, out);
    if (status != BMC_OK)
        return status;
    size_t pixels = (size_t)image->width * (size_t)image->height;
    int32_t bands = image->bands;
    size_t done = bands == 4 ? bmci_premultiply_rgba_simd(image->pixels, (*out)->pixels, pixels) : 0;
    const uint8_t *src = image->pixels + done * (size_t)bands;
    uint8_t *dst = (*out)->pixels + done * (size_t)bands;
    for (size_t i = done; i < pixels; i++, src += bands, dst += bands) {
        uint32_t alpha = src[bands - 1];
        for (int32_t b = 0; b < bands - 1; b++)
            dst[b] = (uint8_t)bmci_muldiv255(src[b], alpha);
        dst[bands - 1] = (uint8_t)alpha;
    }
    return BMC_OK;
}

/* Pillow's la2lA / rgba2rgbA: colour samples * 255 / alpha, truncated and clipped. The
 * division is a multiplication by m = floor(2^32 / alpha) + 1 and a shift: for n = 255 * sample
 * < 2^16, n * m / 2^32 exceeds n / alpha by less than 2^-16, while the fraction of n / alpha is
 * at most 1 - 1 / alpha, so the floor is the same (and a division per sample was most of an
 * RGBA image's preprocessing). RGBA pixels go eight a step through resize_simd.c where it can. */
static void unpremultiply(bmc_image *image)
{
    size_t pixels = (size_t)image->width * (size_t)image->height;
    int32_t bands = image->bands;
    uint64_t reciprocal[256];
    for (uint32_t alpha = 1; alpha < 256; alpha++)
        reciprocal[alpha] = ((uint64_t)1 << 32) / alpha + 1;
    size_t done = bands == 4 ? bmci_unpremultiply_rgba_simd(image->pixels, pixels) : 0;
    uint8_t *p = image->pixels + done * (size_t)bands;
    for (size_t i = done; i < pixels; i++, p += bands) {
        uint32_t alpha = p[bands - 1];
        if (alpha == 0 || alpha == 255)
            continue;
        for (int32_t b = 0; b < bands - 1; b++) {
            uint32_t v = (uint32_t)((255u * p[b] * reciprocal[alpha]) >> 32);
            p[b] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
}

static const struct filter *find_filter(int32_t filter)
{
    return filter == BMC_FILTER_BICUBIC ? &bicubic_filter : filter == BMC_FILTER_BILINEAR ? &bilinear_filter : NULL;
}

static int valid_filter(int32_t filter)
{
    return filter == BMC_FILTER_NEAREST || filter == BMC_FILTER_BILINEAR || filter == BMC_FILTER_BICUBIC;
}

bmc_status bmci_resize_window(const bmc_image *image, int32_t out_width, int32_t out_height, int32_t filter,
                              int32_t x0, int32_t y0, int32_t width, int32_t height, bmc_image **out)
{
    if (!image || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "resize: NULL argument");
    if (out_width < 1 || out_height < 1 || width < 1 || height < 1 || x0 < 0 || y0 < 0 ||
        x0 > out_width - width || y0 > out_height - height)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "resize: window %dx%d at (%d, %d) is not inside %dx%d",
                         width, height, x0, y0, out_width, out_height);
    if (!valid_filter(filter))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "resize: unknown filter %d", filter);

    bmc_image *result = NULL;
    bmc_status status = bmci_image_new(image->mode, width, height, &result);
    if (status != BMC_OK)
        return status;
    memcpy(result->palette, image->palette, sizeof result->palette);
    struct plane dst = image_plane(result);

    if (out_width == image->width && out_height == image->height) {
        struct plane src = image_plane(image); /* Pillow returns a copy: only the crop is left */
        src.data = plane_row(&src, y0) + (size_t)x0 * pixel_bytes(&src);
        copy_rows(&src, &dst);
    } else if (filter == BMC_FILTER_NEAREST || image->mode == BMC_IMAGE_MODE_1 || image->mode == BMC_IMAGE_MODE_P) {
        struct plane src = image_plane(image);
        status = nearest(&src, out_width, out_height, x0, y0, &dst);
    } else if (has_alpha(image->mode)) {
        bmc_image *premultiplied = NULL;
        status = premultiplied_copy(image, &premultiplied);
        if (status == BMC_OK) {
            struct plane src = image_plane(premultiplied);
            status = resample(&src, out_width, out_height, find_filter(filter), x0, y0, &dst);
        }
        bmc_image_free(premultiplied);
        if (status == BMC_OK)
            unpremultiply(result);
    } else {
        struct plane src = image_plane(image);
        status = resample(&src, out_width, out_height, find_filter(filter), x0, y0, &dst);
    }
    if (status != BMC_OK) {
        bmc_image_free(result);
        return status;
    }
    *out = result;
    return BMC_OK;
}

bmc_status bmci_resize_f32(const float *in, int32_t in_width, int32_t in_height, float *out, int32_t out_width,
                           int32_t out_height, int32_t filter)
{
    if (!in || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "resize: NULL argument");
    if (in_width < 1 || in_height < 1 || out_width < 1 || out_height < 1)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "resize: %dx%d -> %dx%d has an empty side", in_width,
                         in_height, out_width, out_height);
    if (!valid_filter(filter))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "resize: unknown filter %d", filter);
    struct plane src = {(uint8_t *)(uintptr_t)in, (ptrdiff_t)in_width * 4, in_width, in_height, 1, KIND_F32};
    struct plane dst = {(uint8_t *)out, (ptrdiff_t)out_width * 4, out_width, out_height, 1, KIND_F32};
    if (out_width == in_width && out_height == in_height) {
        copy_rows(&src, &dst);
        return BMC_OK;
    }
    if (filter == BMC_FILTER_NEAREST)
        return nearest(&src, out_width, out_height, 0, 0, &dst);
    return resample(&src, out_width, out_height, find_filter(filter), 0, 0, &dst);
}
