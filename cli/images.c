/* SPDX-License-Identifier: MIT */
/* Image inputs: image files, raw pixel files (e.g. 16-bit DICOM frames) described by the
 * pixel options and turned into images with the library's display pipeline, and DICOM files
 * shown frame by frame with the caller's window and rescale. */
#include <ctype.h>
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
        {"--frame", &pixels->frame, NULL, 0},
        {"--frames", &pixels->frames, NULL, 0},
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
           "  --monochrome1              invert the result (DICOM MONOCHROME1)\n"
           "\n"
           "DICOM files (.dcm) are shown through the file's own rescale and first window; then\n"
           "  --frame N                  the frame to show, 0-based (default 0)\n"
           "  --frames all               every frame, each its own row, named FILE#N\n"
           "  --rescale, --window        replace the file's values\n");
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

/* A DICOM file: the "DICM" magic at offset 128, or (a file without the preamble) a name
 * ending in .dcm. */
static int is_dicom_file(const char *path)
{
    size_t n = strlen(path);
    if (n >= 4 && path[n - 4] == '.' && tolower((unsigned char)path[n - 3]) == 'd' &&
        tolower((unsigned char)path[n - 2]) == 'c' && tolower((unsigned char)path[n - 1]) == 'm')
        return 1;
    FILE *file = fopen(path, "rb");
    unsigned char head[132];
    int dicom = file && fread(head, 1, sizeof head, file) == sizeof head &&
                memcmp(head + 128, "DICM", 4) == 0;
    if (file)
        fclose(file);
    return dicom;
}

/* Replaces the DICOM input `at` by one input per frame ("FILE#N"). */
static int expand_frames(const char *cmd, cli_args *args, size_t at, size_t *next)
{
    const char *file = args->inputs[at].path;
    bmc_dicom *dicom = NULL;
    bmc_dicom_info info;
    bmc_dicom_info_init(&info);
    if (bmc_dicom_open_file(file, &dicom) != BMC_OK || bmc_dicom_get_info(dicom, &info) != BMC_OK) {
        bmc_dicom_free(dicom);
        return cli_library_error(cmd);
    }
    bmc_dicom_free(dicom);
    if (info.frames < 1)
        return cli_error(cmd, "'%s' holds no image: %s", file, info.no_image_reason);
    size_t frames = (size_t)info.frames;
    cli_input *grown = realloc(args->inputs, (args->input_count + frames - 1) * sizeof *grown);
    if (!grown)
        return cli_error(cmd, "out of memory for %zu frames of '%s'", frames, file);
    args->inputs = grown;
    memmove(grown + at + frames, grown + at + 1, (args->input_count - at - 1) * sizeof *grown);
    for (size_t f = 0; f < frames; f++)
        grown[at + f] = (cli_input){.dicom = 1, .file = file, .frame = (int32_t)f};
    args->input_count += frames - 1;
    for (size_t f = 0; f < frames; f++) {
        size_t size = strlen(file) + 16;
        char *name = malloc(size);
        if (!name)
            return cli_error(cmd, "out of memory");
        snprintf(name, size, "%s#%zu", file, f);
        grown[at + f].path = grown[at + f].owned = name;
    }
    *next = at + frames;
    return CLI_OK;
}

int cli_pixel_view(const char *cmd, const cli_pixel_args *pixels, cli_args *args,
                   bmc_pixels *view)
{
    bmc_pixels_init(view);
    int rc;
    if ((rc = cli_parse_double_pair(cmd, "--rescale", pixels->rescale, &view->rescale_slope,
                                    &view->rescale_intercept)) ||
        (rc = cli_parse_double_pair(cmd, "--window", pixels->window, &view->window_center,
                                    &view->window_width)))
        return rc;
    view->has_rescale = pixels->rescale != NULL;
    view->has_window = pixels->window != NULL;
    int32_t frame = 0;
    if ((rc = cli_parse_int(cmd, "--frame", pixels->frame, 0, INT32_MAX, &frame)))
        return rc;
    if (pixels->frames && strcmp(pixels->frames, "all") != 0)
        return cli_usage_error(cmd, "--frames takes 'all', not '%s' (--frame N shows one)", pixels->frames);
    if (pixels->frames && pixels->frame)
        return cli_usage_error(cmd, "--frame and --frames all exclude each other");
    /* DICOM inputs need the options only when one is given; else the library's file
     * pipeline shows frame 0 with the file's own values. */
    int dicom_options = pixels->frame || pixels->frames || pixels->rescale || pixels->window;
    size_t dicom_inputs = 0;
    for (size_t i = 0; dicom_options && i < args->input_count;) {
        cli_input *input = &args->inputs[i];
        if (input->raw || !is_dicom_file(input->path)) {
            i++;
            continue;
        }
        dicom_inputs++;
        if (pixels->frames) {
            if ((rc = expand_frames(cmd, args, i, &i)) != CLI_OK)
                return rc;
            continue;
        }
        input->dicom = 1;
        input->file = input->path;
        input->frame = frame;
        i++;
    }
    int raw_given = pixels->width || pixels->height || pixels->type || pixels->channels ||
                    pixels->monochrome1;
    if (!has_raw_input(args)) {
        if (raw_given)
            return cli_usage_error(cmd, "the pixel options describe --pixels files; none was given");
        if (dicom_options && dicom_inputs == 0)
            return cli_usage_error(cmd, "--rescale, --window, --frame and --frames describe "
                                   "--pixels or DICOM files; none was given");
        return CLI_OK;
    }
    if ((pixels->frame || pixels->frames) && dicom_inputs == 0)
        return cli_usage_error(cmd, "--frame and --frames describe DICOM files; none was given");
    if (!pixels->width || !pixels->height || !pixels->type)
        return cli_usage_error(cmd, "--pixels needs --width, --height and --type");
    view->channels = 1;
    if ((rc = cli_parse_int(cmd, "--width", pixels->width, 1, INT32_MAX, &view->width)) ||
        (rc = cli_parse_int(cmd, "--height", pixels->height, 1, INT32_MAX, &view->height)) ||
        (rc = cli_parse_int(cmd, "--channels", pixels->channels, 1, 4, &view->channels)) ||
        (rc = parse_sample_type(cmd, pixels->type, &view->sample_type)))
        return rc;
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

/* A DICOM frame with the caller's window and rescale, when given. */
static int load_dicom(const char *cmd, const cli_input *input, const bmc_pixels *view,
                      bmc_image **image)
{
    bmc_dicom *dicom = NULL;
    bmc_dicom_frame_options options;
    bmc_dicom_frame_options_init(&options);
    options.frame = input->frame;
    if (view && view->has_window) {
        options.has_window = 1;
        options.window_center = view->window_center;
        options.window_width = view->window_width;
    }
    if (view && view->has_rescale) {
        options.has_rescale = 1;
        options.rescale_slope = view->rescale_slope;
        options.rescale_intercept = view->rescale_intercept;
    }
    bmc_status status = bmc_dicom_open_file(input->file, &dicom);
    if (status == BMC_OK)
        status = bmc_dicom_frame_image(dicom, &options, image);
    bmc_dicom_free(dicom);
    if (status != BMC_OK)
        return cli_error(cmd, "'%s': %s", input->path, bmc_last_error());
    return CLI_OK;
}

static int load_one(const char *cmd, const cli_input *input, const bmc_pixels *view,
                    bmc_image **image)
{
    if (input->dicom)
        return load_dicom(cmd, input, view, image);
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
