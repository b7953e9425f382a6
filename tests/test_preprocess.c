/* SPDX-License-Identifier: MIT */
/* Preprocessing against Pillow 9.4 + torch (fixtures from tools/fixtures/make_image_fixtures.py):
 * resize + crop (or squash) + convert('RGB') must equal Pillow's bytes exactly, and the
 * normalised tensor torchvision's float32 values; the float resampler must equal Pillow's
 * mode "F" resize. Also the option checks. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "biomedclip.h"
#include "harness.h"
#include "image/image.h"
#include "image_fixtures.h"
#include "image/resize.h"
#include "image/resize_simd.h"

static bmc_image *load_fixture(const char *name)
{
    const struct fixture_line *f = fixture_image(name);
    CHECK(f != NULL, "fixture image %s", name);
    if (!f)
        return NULL;
    char path[600];
    fixture_path(f->field[1], path, sizeof path);
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_image_load_file(path, &image), BMC_OK);
    return image;
}

static int transforms_checked, tensors_checked, max_rgb_difference;
static double max_tensor_difference;

/* Compare our RGB bytes and tensor with the references of one "pre" record. */
static void check_transform(const struct fixture_line *f, const bmc_image *image)
{
    const char *name = f->field[0];
    bmc_preprocess_options options;
    bmc_preprocess_options_init(&options);
    options.resize_mode = strcmp(f->field[1], "crop") == 0 ? BMC_RESIZE_SHORTEST_CROP : BMC_RESIZE_SQUASH;
    options.filter = fixture_filter(f->field[2]);
    options.image_size = atoi(f->field[3]);
    size_t plane = (size_t)options.image_size * (size_t)options.image_size;

    size_t size = 0;
    uint8_t *expected = fixture_read(f->field[4], &size);
    uint8_t *rgb = malloc(3 * plane);
    CHECK(expected && size == 3 * plane, "%s: reference %s", name, f->field[4]);
    if (expected && rgb && size == 3 * plane) {
        CHECK_STATUS(bmc_preprocess_rgb8(image, &options, rgb, 3 * plane), BMC_OK);
        size_t differ = 0;
        for (size_t i = 0; i < size; i++) {
            int d = abs((int)rgb[i] - (int)expected[i]);
            differ += d != 0;
            max_rgb_difference = d > max_rgb_difference ? d : max_rgb_difference;
        }
        CHECK(differ == 0, "%s %s %s %d: %zu of %zu bytes differ from Pillow", name, f->field[1], f->field[2],
              options.image_size, differ, size);
        transforms_checked++;
    }
    free(expected);
    free(rgb);

    if (strcmp(f->field[5], "-") == 0)
        return;
    float *reference = fixture_read(f->field[5], &size);
    float *tensor = malloc(3 * plane * sizeof *tensor);
    CHECK(reference && size == 3 * plane * sizeof(float), "%s: tensor reference %s", name, f->field[5]);
    if (reference && tensor && size == 3 * plane * sizeof(float)) {
        CHECK_STATUS(bmc_preprocess(image, &options, tensor, 3 * plane), BMC_OK);
        double worst = 0.0;
        for (size_t i = 0; i < 3 * plane; i++) {
            double d = fabs((double)tensor[i] - (double)reference[i]);
            worst = d > worst ? d : worst;
        }
        CHECK(worst <= 1e-6, "%s: tensor differs from torch by %g", name, worst);
        max_tensor_difference = worst > max_tensor_difference ? worst : max_tensor_difference;
        tensors_checked++;
    }
    free(reference);
    free(tensor);
}

static void test_pillow_fixtures(void)
{
    int records = fixtures_load();
    CHECK(records > 0, "no fixtures in %s (run make fixtures)", fixture_dir());
    const char *loaded_name = "";
    bmc_image *image = NULL;
    for (int i = 0; i < records; i++) {
        const struct fixture_line *f = &fixture_lines[i];
        if (strcmp(f->kind, "pre") != 0)
            continue;
        if (strcmp(f->field[0], loaded_name) != 0) { /* records of one image are adjacent */
            bmc_image_free(image);
            image = load_fixture(f->field[0]);
            loaded_name = f->field[0];
        }
        if (image)
            check_transform(f, image);
    }
    bmc_image_free(image);
    CHECK(transforms_checked >= 200 && tensors_checked >= 60, "only %d transforms and %d tensors",
          transforms_checked, tensors_checked);
    printf("preprocessed %d transforms: max byte difference from Pillow %d; %d tensors: max difference "
           "from torch %g\n", transforms_checked, max_rgb_difference, tensors_checked, max_tensor_difference);
}

/* The same with the portable resampling passes, the reference of the SIMD kernels, so that
 * they are held to Pillow too on a CPU where the SIMD kernels run. */
static void test_pillow_fixtures_portable(void)
{
    int previous = bmci_resize_force_portable(1);
    transforms_checked = tensors_checked = max_rgb_difference = 0;
    max_tensor_difference = 0;
    test_pillow_fixtures();
    bmci_resize_force_portable(previous);
}

/* The normalisation by itself, at sizes whose pixel counts are not whole vector steps and with
 * other means and deviations: each float must be torchvision's float32 arithmetic on the
 * preprocessed RGB bytes (themselves held to Pillow above), one rounding per operation, with
 * every kernel set the CPU has (AVX2 alone too) and without any. */
static void test_normalisation_equals_float32_arithmetic(void)
{
    static const char *names[] = {"png_gray16", "png_rgb8", "png_rgba8", "jpeg_rgb_420"};
    static const int32_t sizes[] = {1, 7, 63, 64, 65, 130, 224, 225};
    int compared = 0, previous = bmci_resize_limit_simd(3), top = bmci_resize_simd_level();
    for (int level = 0; level <= top; level++) {
        bmci_resize_limit_simd(level);
        for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
            bmc_image *image = load_fixture(names[n]);
            for (size_t s = 0; image && s < sizeof sizes / sizeof *sizes; s++) {
                bmc_preprocess_options options;
                bmc_preprocess_options_init(&options);
                options.image_size = sizes[s];
                if (s % 2) /* odd entries: other statistics */
                    for (int c = 0; c < 3; c++)
                        options.mean[c] = 0.25f + 0.125f * (float)c, options.std[c] = 0.3f - 0.05f * (float)c;
                size_t plane = (size_t)sizes[s] * (size_t)sizes[s];
                uint8_t *rgb = malloc(3 * plane);
                float *tensor = malloc(3 * plane * sizeof *tensor);
                if (!rgb || !tensor) {
                    CHECK(0, "out of memory");
                } else {
                    CHECK_STATUS(bmc_preprocess_rgb8(image, &options, rgb, 3 * plane), BMC_OK);
                    CHECK_STATUS(bmc_preprocess(image, &options, tensor, 3 * plane), BMC_OK);
                    size_t differ = 0;
                    for (size_t i = 0; i < plane; i++)
                        for (int c = 0; c < 3; c++) {
                            float v = (float)rgb[3 * i + (size_t)c] / 255.0f;
                            v = v - options.mean[c];
                            v = v / options.std[c];
                            differ += memcmp(&v, &tensor[(size_t)c * plane + i], sizeof v) != 0;
                        }
                    CHECK(differ == 0, "%s at %d, SIMD level %d: %zu of %zu floats differ from x / 255, - mean, / std",
                          names[n], sizes[s], level, differ, 3 * plane);
                    compared++;
                }
                free(rgb);
                free(tensor);
            }
            bmc_image_free(image);
        }
    }
    bmci_resize_limit_simd(previous);
    printf("normalisation: %d tensors equal to float32 arithmetic\n", compared);
}

static void test_float_resize(void)
{
    int checked = 0;
    double worst = 0.0;
    for (int i = 0; i < fixtures_load(); i++) {
        const struct fixture_line *f = &fixture_lines[i];
        if (strcmp(f->kind, "resize_f32") != 0)
            continue;
        int in_w = atoi(f->field[2]), in_h = atoi(f->field[3]), out_w = atoi(f->field[4]), out_h = atoi(f->field[5]);
        size_t in_size = 0, out_size = 0;
        float *in = fixture_read(f->field[1], &in_size);
        float *expected = fixture_read(f->field[7], &out_size);
        float *got = malloc((size_t)out_w * (size_t)out_h * sizeof *got);
        CHECK(in && expected && in_size == (size_t)in_w * in_h * 4 && out_size == (size_t)out_w * out_h * 4,
              "%s: references", f->field[0]);
        if (in && expected && got && out_size == (size_t)out_w * out_h * 4) {
            CHECK_STATUS(bmci_resize_f32(in, in_w, in_h, got, out_w, out_h, fixture_filter(f->field[6])), BMC_OK);
            size_t differ = 0;
            for (size_t k = 0; k < (size_t)out_w * out_h; k++) {
                double d = fabs((double)got[k] - (double)expected[k]);
                differ += got[k] != expected[k];
                worst = d > worst ? d : worst;
            }
            CHECK(differ == 0, "%s: %zu values differ from Pillow's mode F resize", f->field[0], differ);
            checked++;
        }
        free(in);
        free(expected);
        free(got);
    }
    CHECK(checked >= 5, "only %d float resizes", checked);
    printf("float resizes: %d, max difference from Pillow %g\n", checked, worst);
}

/* The resampler computes only the requested window; any window must equal the same part of
 * the whole resized image. */
static void test_window_equals_crop_of_whole(void)
{
    bmc_image *image = load_fixture("png_rgba8");
    if (!image)
        return;
    bmc_image *whole = NULL, *part = NULL;
    CHECK_STATUS(bmci_resize_window(image, 171, 389, BMC_FILTER_BICUBIC, 0, 0, 171, 389, &whole), BMC_OK);
    CHECK_STATUS(bmci_resize_window(image, 171, 389, BMC_FILTER_BICUBIC, 13, 101, 50, 77, &part), BMC_OK);
    if (whole && part) {
        int same = 1;
        for (int y = 0; y < 77; y++)
            same &= memcmp(part->pixels + (size_t)y * part->stride,
                           whole->pixels + (size_t)(y + 101) * whole->stride + 13 * 4, 50 * 4) == 0;
        CHECK(same, "window differs from the crop of the whole resize");
    }
    CHECK_STATUS(bmci_resize_window(image, 171, 389, BMC_FILTER_BICUBIC, 150, 0, 50, 10, &part), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmci_resize_window(image, 171, 389, 7, 0, 0, 5, 5, &part), BMC_ERR_INVALID_ARGUMENT);
    bmc_image_free(whole);
    bmc_image_free(part);
    bmc_image_free(image);
}

static void test_options(void)
{
    bmc_image *image = load_fixture("size_2x3");
    if (!image)
        return;
    bmc_preprocess_options options;
    bmc_preprocess_options_init(&options);
    CHECK(options.struct_size == sizeof options && options.image_size == 224 &&
              options.resize_mode == BMC_RESIZE_SHORTEST_CROP && options.filter == BMC_FILTER_BICUBIC,
          "defaults");
    CHECK(options.mean[0] == 0.48145466f && options.std[2] == 0.27577711f, "open_clip's mean and std");

    size_t count = 3 * 224 * 224;
    float *with_defaults = malloc(count * sizeof(float)), *with_null = malloc(count * sizeof(float));
    uint8_t *rgb = malloc(count);
    CHECK_STATUS(bmc_preprocess(image, &options, with_defaults, count), BMC_OK);
    CHECK_STATUS(bmc_preprocess(image, NULL, with_null, count), BMC_OK);
    CHECK(memcmp(with_defaults, with_null, count * sizeof(float)) == 0, "NULL options are the defaults");

    CHECK_STATUS(bmc_preprocess(NULL, NULL, with_null, count), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_preprocess(image, NULL, NULL, count), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_preprocess(image, NULL, with_null, count - 1), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_preprocess_rgb8(image, NULL, rgb, count - 1), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_preprocess_rgb8(image, NULL, NULL, count), BMC_ERR_INVALID_ARGUMENT);

    bmc_preprocess_options o = options;
    o.struct_size = 4;
    CHECK_STATUS(bmc_preprocess(image, &o, with_null, count), BMC_ERR_INVALID_ARGUMENT);
    o = options, o.image_size = 0;
    CHECK_STATUS(bmc_preprocess(image, &o, with_null, count), BMC_ERR_INVALID_ARGUMENT);
    o = options, o.image_size = 4097;
    CHECK_STATUS(bmc_preprocess_rgb8(image, &o, rgb, count), BMC_ERR_INVALID_ARGUMENT);
    o = options, o.resize_mode = 3;
    CHECK_STATUS(bmc_preprocess(image, &o, with_null, count), BMC_ERR_INVALID_ARGUMENT);
    o = options, o.filter = 1; /* LANCZOS in Pillow's numbering: not offered */
    CHECK_STATUS(bmc_preprocess(image, &o, with_null, count), BMC_ERR_INVALID_ARGUMENT);
    o = options, o.std[1] = 0.0f;
    CHECK_STATUS(bmc_preprocess(image, &o, with_null, count), BMC_ERR_INVALID_ARGUMENT);
    o = options, o.mean[2] = NAN;
    CHECK_STATUS(bmc_preprocess(image, &o, with_null, count), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "mean") != NULL, "message names the field: %s", bmc_last_error());

    /* Smaller outputs need smaller buffers. */
    o = options, o.image_size = 8;
    CHECK_STATUS(bmc_preprocess(image, &o, with_null, 3 * 8 * 8), BMC_OK);
    free(with_defaults);
    free(with_null);
    free(rgb);
    bmc_image_free(image);
}

/* Images are immutable and preprocessing keeps no state: threads sharing one image get the
 * same tensor as a single thread. */
struct shared_job {
    const bmc_image *image;
    float tensor[3 * 224 * 224];
    bmc_status status;
};

static void *preprocess_job(void *arg)
{
    struct shared_job *job = arg;
    for (int i = 0; i < 3 && job->status == BMC_OK; i++)
        job->status = bmc_preprocess(job->image, NULL, job->tensor, 3 * 224 * 224);
    return NULL;
}

static void test_threads_share_an_image(void)
{
    bmc_image *image = load_fixture("png_rgba8");
    if (!image)
        return;
    enum { THREADS = 4 };
    struct shared_job *jobs = calloc(THREADS + 1, sizeof *jobs);
    pthread_t threads[THREADS];
    jobs[THREADS].image = image;
    preprocess_job(&jobs[THREADS]);
    for (int t = 0; t < THREADS; t++) {
        jobs[t].image = image;
        pthread_create(&threads[t], NULL, preprocess_job, &jobs[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK(jobs[t].status == BMC_OK, "thread %d: status %d", t, jobs[t].status);
        CHECK(memcmp(jobs[t].tensor, jobs[THREADS].tensor, sizeof jobs[t].tensor) == 0, "thread %d differs", t);
    }
    free(jobs);
    bmc_image_free(image);
}

int main(void)
{
    RUN(test_pillow_fixtures);
    RUN(test_pillow_fixtures_portable);
    RUN(test_normalisation_equals_float32_arithmetic);
    RUN(test_float_resize);
    RUN(test_window_equals_crop_of_whole);
    RUN(test_options);
    RUN(test_threads_share_an_image);
    return harness_summary("test_preprocess");
}
