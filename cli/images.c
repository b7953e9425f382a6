/* SPDX-License-Identifier: MIT */
/* Image inputs: image files, and raw pixel files (e.g. 16-bit DICOM frames) described by the
 * pixel options and turned into images with the library's display pipeline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

size_t cli_pixel_options(cli_pixel_args *pixels, cli_option *options)
{
    const cli_option table[CLI_PIXEL_OPTION_COUNT] = {
        {"--pixels", NULL, NULL, 1},
        {"--width", &pixels->width, NULL, 0},
        {"--height", &pixels->height, NULL, 0},
        {"--type", &pixels->type, NULL, 0},
        {"--channels", &pixels->channels, NULL, 0},
        {"--rescale", &pixels->rescale, NULL, 0},
        {"--window", &pixels->window, NULL, 0},
        {"--monochrome1", NULL, &pixels->monochrome1, 0},
    };
    memcpy(options, table, sizeof table);
    return CLI_PIXEL_OPTION_COUNT;
}

void cli_pixel_usage(void)
{
    printf("\n"
           "Raw pixels, e.g. a 16-bit DICOM frame, go with the images in command-line order:\n"
           "  --pixels FILE              samples in the machine's byte order, rows packed\n"
           "                             (repeat it for several frames of the same geometry)\n"
           "  --width W --height H       the frame's size in pixels\n"
           "  --type u8|u16|s16|f32      the sample type\n"
           "  --channels C               1 (default), 3 or 4, interleaved\n"
           "  --rescale SLOPE,INTERCEPT  the DICOM modality LUT\n"
           "  --window CENTER,WIDTH      the DICOM linear VOI window (without it, each frame's\n"
           "                             minimum..maximum is stretched to 0..255)\n"
           "  --monochrome1              invert the result (DICOM MONOCHROME1)\n");
}

static int parse_sample_type(const char *cmd, const char *text, int32_t *type)
{
    static const struct { const char *name; int32_t type; } names[] = {
        {"u8", BMC_SAMPLE_U8}, {"u16", BMC_SAMPLE_U16}, {"s16", BMC_SAMPLE_S16},
        {"f32", BMC_SAMPLE_F32},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(text, names[i].name) == 0) {
            *type = names[i].type;
            return CLI_OK;
        }
    return cli_usage_error(cmd, "--type must be u8, u16, s16 or f32, not '%s'", text);
}

static int has_raw_input(const cli_args *args)
{
    for (size_t i = 0; i < args->input_count; i++)
        if (args->inputs[i].raw)
            return 1;
    return 0;
}

int cli_pixel_view(const char *cmd, const cli_pixel_args *pixels, const cli_args *args,
                   bmc_pixels *view)
{
    bmc_pixels_init(view);
    int given = pixels->width || pixels->height || pixels->type || pixels->channels ||
                pixels->rescale || pixels->window || pixels->monochrome1;
    if (!has_raw_input(args)) {
        if (given)
            return cli_usage_error(cmd, "the pixel options describe --pixels files; none was given");
        return CLI_OK;
    }
    if (!pixels->width || !pixels->height || !pixels->type)
        return cli_usage_error(cmd, "--pixels needs --width, --height and --type");
    view->channels = 1;
    int rc;
    if ((rc = cli_parse_int(cmd, "--width", pixels->width, 1, INT32_MAX, &view->width)) ||
        (rc = cli_parse_int(cmd, "--height", pixels->height, 1, INT32_MAX, &view->height)) ||
        (rc = cli_parse_int(cmd, "--channels", pixels->channels, 1, 4, &view->channels)) ||
        (rc = parse_sample_type(cmd, pixels->type, &view->sample_type)) ||
        (rc = cli_parse_double_pair(cmd, "--rescale", pixels->rescale, &view->rescale_slope,
                                    &view->rescale_intercept)) ||
        (rc = cli_parse_double_pair(cmd, "--window", pixels->window, &view->window_center,
                                    &view->window_width)))
        return rc;
    view->has_rescale = pixels->rescale != NULL;
    view->has_window = pixels->window != NULL;
    view->monochrome1 = pixels->monochrome1;
    return CLI_OK;
}

static size_t sample_size(int32_t type)
{
    return type == BMC_SAMPLE_U8 ? 1 : type == BMC_SAMPLE_F32 ? 4 : 2;
}

/* The view's size in bytes; 0 if it does not fit in a size_t. */
static size_t view_bytes(const bmc_pixels *view)
{
    size_t bytes = sample_size(view->sample_type) * (size_t)view->channels;
    if (__builtin_mul_overflow(bytes, (size_t)view->width, &bytes) ||
        __builtin_mul_overflow(bytes, (size_t)view->height, &bytes))
        return 0;
    return bytes;
}

/* Reads a whole raw pixel file, which must hold exactly the view's pixels. The size is
 * checked before anything is allocated. */
static int read_pixels(const char *cmd, const char *path, const bmc_pixels *view, void **data)
{
    size_t expected = view_bytes(view);
    FILE *file = fopen(path, "rb");
    if (!file)
        return cli_error(cmd, "cannot open '%s': %s", path, strerror(errno));
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(file);
        return cli_error(cmd, "'%s' is not a regular file", path);
    }
    if (expected == 0 || (uintmax_t)info.st_size != (uintmax_t)expected) {
        fclose(file);
        return cli_error(cmd, "'%s' holds %jd bytes, but --width, --height, --channels and "
                         "--type describe %s%zu", path, (intmax_t)info.st_size,
                         expected ? "" : "more than ", expected ? expected : SIZE_MAX);
    }
    char *buffer = malloc(expected);
    if (!buffer) {
        fclose(file);
        return cli_error(cmd, "'%s': out of memory for %zu bytes of pixels", path, expected);
    }
    size_t got = fread(buffer, 1, expected, file);
    fclose(file);
    if (got != expected) {
        free(buffer);
        return cli_error(cmd, "cannot read '%s'", path);
    }
    *data = buffer;
    return CLI_OK;
}

static int load_one(const char *cmd, const cli_input *input, const bmc_pixels *view,
                    bmc_image **image)
{
    if (!input->raw)
        return bmc_image_load_file(input->path, image) == BMC_OK ? CLI_OK
                                                                 : cli_library_error(cmd);
    void *data = NULL;
    if (read_pixels(cmd, input->path, view, &data) != CLI_OK)
        return CLI_FAIL;
    bmc_pixels pixels = *view;
    pixels.data = data;
    bmc_status status = bmc_image_from_pixels(&pixels, image);
    free(data);
    if (status != BMC_OK)
        return cli_error(cmd, "'%s': %s", input->path, bmc_last_error());
    return CLI_OK;
}

int cli_load_images(const char *cmd, const cli_input *inputs, size_t count,
                    const bmc_pixels *view, bmc_image **images)
{
    for (size_t i = 0; i < count; i++) {
        if (load_one(cmd, &inputs[i], view, &images[i]) != CLI_OK) {
            cli_free_images(images, i);
            return CLI_FAIL;
        }
    }
    return CLI_OK;
}

void cli_free_images(bmc_image **images, size_t count)
{
    for (size_t i = 0; i < count; i++)
        bmc_image_free(images[i]);
}
