/* SPDX-License-Identifier: MIT */
/* biomedclip segment: text-prompted segmentation with a decoder archive; a mask and an overlay
 * PNG per image and prompt at the image's own size, and one JSON line per image. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char *const CMD = "segment";

static void usage(void)
{
    printf("Usage: biomedclip segment --model BUNDLE --decoder DECODER --prompt TEXT [--prompt TEXT...]\n"
           "                          --out DIR IMAGE... [--threshold P] [--alpha A]\n"
           "                          [--color R,G,B] [--probabilities] [--device D] [--dtype T]\n"
           "                          [--pixels FILE --width W --height H --type T ...]\n"
           "\n"
           "Segments every image once per prompt with the decoder (a CLIPSeg-style archive made for\n"
           "the model, docs/segmentation.md). For image NAME.png and prompt number J (0-based, in\n"
           "command-line order) it writes, at the image's own width and height:\n"
           "  DIR/NAME.J.mask.png     grey: 255 where the probability is above the threshold, else 0\n"
           "  DIR/NAME.J.overlay.png  the image in RGB with the mask blended in the colour\n"
           "  DIR/NAME.J.prob.npy     with --probabilities: the float32 [H, W] probability map\n"
           "and prints one JSON object per image and line, in input order:\n"
           "  {\"image\": \"a.png\", \"width\": 256, \"height\": 192, \"masks\": [{\"prompt\": \"...\",\n"
           "   \"mask\": \"DIR/a.0.mask.png\", \"overlay\": \"DIR/a.0.overlay.png\", \"area\": 5120,\n"
           "   \"fraction\": 0.104}, ...]}\n"
           "(area: the mask's pixels; fraction: area / (width x height)). Images whose names (less\n"
           "folder and extension) coincide would overwrite each other's files and are refused.\n"
           "\n"
           "  --model BUNDLE     the model bundle (.bmc.pt)\n"
           "  --decoder DECODER  the segmentation decoder archive (.bmcseg.pt)\n"
           "  --prompt TEXT      what to segment, e.g. \"Segment the liver in the abdominal CT image\";\n"
           "                     repeat it for several prompts\n"
           "  --out DIR          the folder for the PNG files (it must exist)\n"
           "  --threshold P      the mask's probability threshold, 0..1 (default 0.5)\n"
           "  --alpha A          the overlay's opacity, 0..1 (default 0.5)\n"
           "  --color R,G,B      the overlay's colour, 0..255 each (default 255,0,0)\n"
           "  --probabilities    also write each probability map as .npy\n"
           "  --device D         cpu (default), cuda or cuda:N\n"
           "  --dtype T          f32 (default); f16 on CUDA; bf16 on CUDA and CPUs with AVX512_BF16/AMX\n");
    cli_pixel_usage();
}

/* A number in min..max filling the whole text. */
static int parse_unit(const char *name, const char *text, float *out)
{
    if (!text)
        return CLI_OK;
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !(value >= 0.0 && value <= 1.0))
        return cli_usage_error(CMD, "%s must be a number from 0 to 1, not '%s'", name, text);
    *out = (float)value;
    return CLI_OK;
}

static int parse_color(const char *text, uint8_t color[3])
{
    if (!text)
        return CLI_OK;
    unsigned long parts[3];
    const char *p = text;
    for (int i = 0; i < 3; i++) {
        char *end;
        errno = 0;
        parts[i] = strtoul(p, &end, 10);
        if (end == p || errno != 0 || parts[i] > 255 || *p == '-' || *p == '+' ||
            (i < 2 ? *end != ',' : *end != '\0'))
            return cli_usage_error(CMD, "--color must be R,G,B with each 0..255, not '%s'", text);
        p = end + 1;
    }
    for (int i = 0; i < 3; i++)
        color[i] = (uint8_t)parts[i];
    return CLI_OK;
}

/* The file name of `path` without its folder and its last extension, malloc'd. */
static char *stem_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    size_t length = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    char *stem = malloc(length + 1);
    if (stem) {
        memcpy(stem, name, length);
        stem[length] = '\0';
    }
    return stem;
}

typedef struct segment_settings {
    const char *out;
    const cli_strings *prompts;
    float threshold, alpha;
    uint8_t color[3];
    int probabilities;
} segment_settings;

static char *output_path(const char *dir, const char *stem, size_t prompt, const char *suffix)
{
    size_t size = strlen(dir) + strlen(stem) + strlen(suffix) + 32;
    char *path = malloc(size);
    if (path)
        snprintf(path, size, "%s/%s.%zu.%s", dir, stem, prompt, suffix);
    return path;
}

static int write_probabilities(const char *path, const float *prob, int32_t width, int32_t height)
{
    cli_npy npy;
    const size_t shape[2] = {(size_t)height, (size_t)width};
    int rc = cli_npy_open(CMD, &npy, path, CLI_NPY_F32, shape, 2);
    if (rc != CLI_OK)
        return rc;
    rc = cli_npy_write_f32(CMD, &npy, prob, shape[0] * shape[1]);
    int closed = cli_npy_close(CMD, &npy, rc == CLI_OK);
    return rc != CLI_OK ? rc : closed;
}

/* Writes one prompt's files and its JSON entry. */
static int write_prompt(const segment_settings *s, const bmc_image *image, const char *stem,
                        size_t j, const float *prob, int32_t width, int32_t height,
                        uint8_t *mask, uint8_t *rgb)
{
    const size_t pixels = (size_t)width * (size_t)height;
    char *mask_path = output_path(s->out, stem, j, "mask.png");
    char *overlay_path = output_path(s->out, stem, j, "overlay.png");
    char *prob_path = output_path(s->out, stem, j, "prob.npy");
    int rc = CLI_OK;
    if (!mask_path || !overlay_path || !prob_path)
        rc = cli_error(CMD, "out of memory");
    else if (bmc_mask_threshold(prob, pixels, s->threshold, mask) != BMC_OK ||
             bmc_mask_overlay(image, mask, pixels, s->color, s->alpha, rgb, pixels * 3) != BMC_OK ||
             bmc_png_write_file(mask_path, mask, width, height, 1) != BMC_OK ||
             bmc_png_write_file(overlay_path, rgb, width, height, 3) != BMC_OK)
        rc = cli_library_error(CMD);
    else if (s->probabilities)
        rc = write_probabilities(prob_path, prob, width, height);
    if (rc == CLI_OK) {
        size_t area = 0;
        for (size_t i = 0; i < pixels; i++)
            area += mask[i] != 0;
        fputs(j ? ", {\"prompt\": " : "{\"prompt\": ", stdout);
        cli_json_string(stdout, s->prompts->items[j]);
        fputs(", \"mask\": ", stdout);
        cli_json_string(stdout, mask_path);
        fputs(", \"overlay\": ", stdout);
        cli_json_string(stdout, overlay_path);
        if (s->probabilities) {
            fputs(", \"probabilities\": ", stdout);
            cli_json_string(stdout, prob_path);
        }
        printf(", \"area\": %zu, \"fraction\": %.9g}", area, (double)area / (double)pixels);
    }
    free(mask_path);
    free(overlay_path);
    free(prob_path);
    return rc;
}

static int segment_one(const segment_settings *s, const bmc_segmenter *segmenter,
                       const cli_input *input, const bmc_pixels *view)
{
    bmc_image *image = NULL;
    int rc = cli_load_images(CMD, input, 1, view, &image);
    if (rc != CLI_OK)
        return rc;
    int32_t width = 0, height = 0;
    bmc_image_info(image, &width, &height, NULL);
    const size_t pixels = (size_t)width * (size_t)height, count = s->prompts->count;
    float *prob = malloc(count * pixels * sizeof *prob);
    uint8_t *mask = malloc(pixels), *rgb = malloc(pixels * 3);
    char *stem = stem_of(input->path);
    if (!prob || !mask || !rgb || !stem)
        rc = cli_error(CMD, "'%s': out of memory for its %dx%d maps", input->path, width, height);
    else if (bmc_segment(segmenter, image, s->prompts->items, count, prob, count * pixels) != BMC_OK)
        rc = cli_error(CMD, "'%s': %s", input->path, bmc_last_error());
    if (rc == CLI_OK) {
        fputs("{\"image\": ", stdout);
        cli_json_string(stdout, input->path);
        printf(", \"width\": %d, \"height\": %d, \"masks\": [", width, height);
        for (size_t j = 0; rc == CLI_OK && j < count; j++)
            rc = write_prompt(s, image, stem, j, prob + j * pixels, width, height, mask, rgb);
        fputs(rc == CLI_OK ? "]}\n" : "\n", stdout);
        if (fflush(stdout) != 0 && rc == CLI_OK)
            rc = cli_error(CMD, "cannot write the results");
    }
    free(stem);
    free(prob);
    free(mask);
    free(rgb);
    bmc_image_free(image);
    return rc;
}

/* Two inputs with the same stem would write the same files. */
static int check_stems(const cli_args *args)
{
    int rc = CLI_OK;
    char **stems = calloc(args->input_count, sizeof *stems);
    if (!stems)
        return cli_error(CMD, "out of memory");
    for (size_t i = 0; rc == CLI_OK && i < args->input_count; i++) {
        if (!(stems[i] = stem_of(args->inputs[i].path)))
            rc = cli_error(CMD, "out of memory");
        for (size_t j = 0; rc == CLI_OK && j < i; j++)
            if (strcmp(stems[i], stems[j]) == 0)
                rc = cli_usage_error(CMD, "'%s' and '%s' would write the same files (%s.*)",
                                     args->inputs[j].path, args->inputs[i].path, stems[i]);
    }
    for (size_t i = 0; i < args->input_count; i++)
        free(stems[i]);
    free(stems);
    return rc;
}

static int run_segment(const cli_args *args, const bmc_pixels *view, const cli_model_args *margs,
                       const char *decoder, const segment_settings *s)
{
    struct stat info;
    if (stat(s->out, &info) != 0 || !S_ISDIR(info.st_mode))
        return cli_error(CMD, "--out '%s' is not a folder", s->out);
    for (size_t j = 0; j < s->prompts->count; j++)
        if (s->prompts->items[j][0] == '\0')
            return cli_usage_error(CMD, "prompt %zu is empty", j);
    bmc_model *model = NULL;
    bmc_segmenter *segmenter = NULL;
    int rc = cli_load_model(CMD, margs, &model);
    if (rc != CLI_OK)
        return rc;
    if (bmc_segmenter_load(model, decoder, NULL, &segmenter) != BMC_OK)
        rc = cli_library_error(CMD);
    for (size_t i = 0; rc == CLI_OK && i < args->input_count; i++)
        rc = segment_one(s, segmenter, &args->inputs[i], view);
    bmc_segmenter_free(segmenter);
    bmc_model_free(model);
    return rc;
}

int cli_segment(int argc, char **argv)
{
    const char *decoder = NULL, *threshold = NULL, *alpha = NULL, *color = NULL;
    cli_strings prompts = {0};
    segment_settings s = {.threshold = 0.5f, .alpha = 0.5f, .color = {255, 0, 0},
                          .prompts = &prompts};
    cli_model_args margs = {0};
    cli_pixel_args pargs = {0};
    cli_option options[7 + CLI_MODEL_OPTION_COUNT + CLI_PIXEL_OPTION_COUNT] = {
        {"--decoder", &decoder, NULL, 0},
        {"--prompt", &prompts.last, NULL, CLI_OPTION_LIST},
        {"--out", &s.out, NULL, 0},
        {"--threshold", &threshold, NULL, 0},
        {"--alpha", &alpha, NULL, 0},
        {"--color", &color, NULL, 0},
        {"--probabilities", NULL, &s.probabilities, 0},
    };
    size_t option_count = 7;
    option_count += cli_model_options(&margs, options + option_count);
    option_count += cli_pixel_options(&pargs, options + option_count);
    cli_args args;
    int rc = cli_parse(CMD, argc, argv, options, option_count, &args);
    if (rc != CLI_OK) {
        free(prompts.items);
        return rc;
    }
    bmc_pixels view;
    if (args.help)
        usage();
    else if (!margs.model)
        rc = cli_usage_error(CMD, "--model BUNDLE is required");
    else if (!decoder)
        rc = cli_usage_error(CMD, "--decoder DECODER is required");
    else if (prompts.count == 0)
        rc = cli_usage_error(CMD, "--prompt TEXT is required");
    else if (!s.out)
        rc = cli_usage_error(CMD, "--out DIR is required");
    else if (args.input_count == 0)
        rc = cli_usage_error(CMD, "no images given");
    else if ((rc = parse_unit("--threshold", threshold, &s.threshold)) == CLI_OK &&
             (rc = parse_unit("--alpha", alpha, &s.alpha)) == CLI_OK &&
             (rc = parse_color(color, s.color)) == CLI_OK &&
             (rc = cli_pixel_view(CMD, &pargs, &args, &view)) == CLI_OK &&
             (rc = check_stems(&args)) == CLI_OK)
        rc = run_segment(&args, &view, &margs, decoder, &s);
    free(prompts.items);
    cli_args_free(&args);
    return rc;
}
