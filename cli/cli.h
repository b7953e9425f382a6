/* SPDX-License-Identifier: MIT */
/* The biomedclip command-line tool: what its files share.
 *
 * The tool is a thin layer over the public API in biomedclip.h: it parses options, reads
 * inputs, calls the library and writes what it returns. Each subcommand lives in its own file
 * and has the signature of cli_command_fn. Exit statuses: 0 success, 1 failure, 2 usage
 * error. */
#ifndef BIOMEDCLIP_CLI_H
#define BIOMEDCLIP_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <biomedclip.h>

#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

typedef int (*cli_command_fn)(int argc, char **argv);

int cli_tokenize(int argc, char **argv);
int cli_preprocess(int argc, char **argv);
int cli_embed_image(int argc, char **argv);
int cli_embed_text(int argc, char **argv);
int cli_classify(int argc, char **argv);
int cli_index(int argc, char **argv);
int cli_eval_captions(int argc, char **argv);
int cli_dicom_info(int argc, char **argv);
int cli_probe(int argc, char **argv);
int cli_segment(int argc, char **argv);
int cli_ask(int argc, char **argv);

/* ---- messages (args.c) -------------------------------------------------------------------- */

/* "biomedclip CMD: " + the formatted message on stderr; returns CLI_FAIL. */
int cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Reports the library's last failure, "biomedclip CMD: " + bmc_last_error(); returns CLI_FAIL. */
int cli_library_error(const char *cmd);

/* Reports a usage error and points at --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- option parsing (args.c) -------------------------------------------------------------- */

/* The arguments of an option that may be repeated, in command-line order. `last` comes
 * first so that an option's `value` can point at it (C11 6.7.2.1: a pointer to a struct's
 * first member converts to one to the struct). Free `items` when done. */
typedef struct cli_strings {
    const char *last;
    const char **items;
    size_t count;
} cli_strings;

/* cli_option.inputs values. */
#define CLI_OPTION_PIXELS 1 /* the argument is a raw pixel file of the command's input list */
#define CLI_OPTION_LIST   2 /* `value` is &strings.last of a cli_strings: every argument is kept */

/* One option of a subcommand. Exactly one of `value`, `flag` or `inputs` is set (a list sets
 * `value` and `inputs`):
 *   value   receives the option's argument (the last one wins if it is repeated);
 *   flag    is set to 1 when the option appears (it takes no argument);
 *   inputs  CLI_OPTION_PIXELS: the argument is appended, as a raw pixel file, to the
 *           command's input list; CLI_OPTION_LIST: see above. */
typedef struct cli_option {
    const char *name; /* "--out" */
    const char **value;
    int *flag;
    int inputs;
} cli_option;

/* One input of a command, in command-line order: an image file or a raw pixel file. */
typedef struct cli_input {
    const char *path; /* the file; for a frame of --frames all, "FILE#N", the row's name */
    int raw;          /* non-zero: a --pixels file, read with the command's cli_pixel_options */
    int dicom;        /* non-zero: a DICOM file shown with the DICOM options (cli_pixel_view) */
    const char *file; /* a DICOM input's file (path may be a frame's name) */
    int32_t frame;    /* a DICOM input's frame, 0-based */
    char *owned;      /* freed by cli_args_free (the name of a frame) */
} cli_input;

/* One value option as given (for options that may be repeated, e.g. index --index). */
typedef struct cli_value {
    const char *name; /* the option's name, "--index" */
    const char *value;
} cli_value;

typedef struct cli_args {
    cli_input *inputs; /* positional arguments and --pixels files, in order */
    size_t input_count;
    int help;          /* --help or -h was given */
    cli_value *values; /* every value option given, in order, repeats included */
    size_t value_count;
} cli_args;

/* Parses argv[1..argc) against `options` (plus --help/-h). "--name=value" and "--name value"
 * both work; "--" ends the options. Positional arguments go to args->inputs. On a usage error
 * it prints the message and returns CLI_USAGE; otherwise CLI_OK. Free with cli_args_free(). */
int cli_parse(const char *cmd, int argc, char **argv, const cli_option *options,
              size_t option_count, cli_args *args);
void cli_args_free(cli_args *args);

/* Number parsing for option values; each prints a usage error and returns CLI_USAGE when the
 * text is not a number in range, else stores it and returns CLI_OK. A NULL text (the option was
 * not given) leaves *out unchanged. */
int cli_parse_int(const char *cmd, const char *name, const char *text, long min, long max,
                  int32_t *out);
int cli_parse_double_pair(const char *cmd, const char *name, const char *text, double *first,
                          double *second);
/* Splits "a,b,c" in place into `count` items (a malloc'd array of pointers into `list`);
 * an empty item is a usage error naming `option` and `item` ("--labels", "label"). */
int cli_split_list(const char *cmd, const char *option, const char *item, char *list,
                   char ***items, size_t *count);
int cli_parse_double(const char *cmd, const char *name, const char *text, double min, double max,
                     double *out);

/* ---- model options shared by the model commands (model.c) ---------------------------------- */

/* --device and --dtype as given; --batch as text. */
typedef struct cli_model_args {
    const char *model;
    const char *device;
    const char *dtype;
    const char *batch;
    int fast_jpeg; /* --fast-jpeg, an option of the commands that encode image files only */
} cli_model_args;

/* Option table entries --model, --device, --dtype and --batch filling `margs`; returns the
 * number written to `options` (CLI_MODEL_OPTION_COUNT). */
#define CLI_MODEL_OPTION_COUNT 4
size_t cli_model_options(cli_model_args *margs, cli_option *options);

/* Loads the bundle with the device and dtype given; reports errors itself. */
int cli_load_model(const char *cmd, const cli_model_args *margs, bmc_model **model);

/* A progress line on stderr, fed by the encoders' progress callback. */
typedef struct cli_progress {
    const char *cmd;
    size_t offset; /* items finished before the current encoder call */
    size_t total;  /* items of the whole run */
} cli_progress;

/* Fills `options` from --batch and --fast-jpeg; with `progress` given and stderr a terminal, the encoders
 * report their progress there (runs that finish in their first batch show nothing). */
int cli_encoder_options(const char *cmd, const cli_model_args *margs, cli_progress *progress,
                        bmc_encoder_options *options);

/* Ends the progress line, if one is on the terminal (messages call it before they print). */
void cli_progress_end(void);

/* ---- images (images.c) -------------------------------------------------------------------- */

/* The raw pixel options: --width --height --type --channels --rescale --window --monochrome1;
 * and the DICOM options --frame N, --frames all (--rescale and --window override a DICOM
 * file's own values). */
typedef struct cli_pixel_args {
    const char *width, *height, *type, *channels, *rescale, *window, *frame, *frames;
    int monochrome1;
} cli_pixel_args;

/* Option table entries for the pixel and DICOM options and --pixels, filling `pixels`. Returns
 * the number of entries written to `options` (at most CLI_PIXEL_OPTION_COUNT). */
#define CLI_PIXEL_OPTION_COUNT 10
size_t cli_pixel_options(cli_pixel_args *pixels, cli_option *options);

/* Prints the help text of the pixel options to stdout. */
void cli_pixel_usage(void);

/* Checks the pixel options against the inputs (they are required when --pixels is given and
 * meaningless without it; --rescale and --window also apply to DICOM inputs, --frame and
 * --frames to DICOM inputs only) and turns them into a view template in `view`. Marks the
 * DICOM inputs (the "DICM" magic, or a name ending in .dcm) when a DICOM option is given, and
 * with --frames all replaces each by one input per frame, named "FILE#N". */
int cli_pixel_view(const char *cmd, const cli_pixel_args *pixels, cli_args *args,
                   bmc_pixels *view);

/* Loads inputs[0..count) into images[] (an image file, a raw pixel file read with `view`, or a
 * DICOM frame shown with view's rescale and window when it has them);
 * on failure reports the error, frees what it loaded and returns CLI_FAIL. */
int cli_load_images(const char *cmd, const cli_input *inputs, size_t count,
                    const bmc_pixels *view, bmc_image **images);
void cli_free_images(bmc_image **images, size_t count);

/* ---- text input (lines.c) ----------------------------------------------------------------- */

/* Lines of text, each NUL-terminated, with its length (a line may hold NUL bytes). */
typedef struct cli_lines {
    char **text;
    size_t *length;
    size_t count;
} cli_lines;

/* Reads every line of `stream` (without its "\n" or "\r\n"; a last line without a newline
 * counts). Free the result with cli_lines_free(). */
int cli_read_lines(const char *cmd, FILE *stream, cli_lines *lines);

/* Reads the next line into *line (a getline() buffer of *capacity bytes), without its "\n" or
 * "\r\n", NUL-terminated, its length in *length. Returns 0 at the end of the input or on a
 * read error (tell them apart with ferror()). */
int cli_next_line(FILE *stream, char **line, size_t *capacity, size_t *length);
void cli_lines_free(cli_lines *lines);

/* The text encoders read NUL-terminated strings, so a NUL byte inside a line would silently cut
 * it short: this refuses such lines (reporting the first), else returns CLI_OK. */
int cli_lines_check_no_nul(const char *cmd, const cli_lines *lines);

/* ---- encoding inputs (encode.c) ----------------------------------------------------------- */

/* Inputs are loaded and encoded this many batches at a time, so memory stays bounded for long
 * lists of images. */
#define CLI_CHUNK_BATCHES 8

typedef struct cli_encode_job {
    const cli_input *inputs;
    size_t count;
    const bmc_pixels *view;  /* for raw pixel inputs */
    size_t batch_size;       /* the encoder's batch size */
    int32_t dim;             /* the model's embedding size */
    uint32_t flags;          /* BMC_ENCODE_* */
    cli_progress *progress;  /* the encoder's progress user data, or NULL */
} cli_encode_job;

/* Receives each chunk's embeddings (count x dim floats) and the index of its first input. */
typedef int (*cli_chunk_fn)(void *user_data, size_t first, size_t count, const float *embeddings);

/* Loads and encodes the job's inputs chunk by chunk, handing each chunk to `fn`; stops at the
 * first failure (reported) and returns its status. Image files alone go through
 * bmc_image_encoder_encode_files(), which decodes while the model runs; with raw pixel files
 * among them, each chunk is decoded first. */
int cli_encode_inputs(const char *cmd, bmc_image_encoder *encoder, const cli_encode_job *job,
                      cli_chunk_fn fn, void *user_data);

/* Reads the texts of stdin, one per line, and encodes them with a text encoder made with
 * `options` (whose progress user data, if any, is `progress`). On success *lines holds the texts
 * and *embeddings (malloc'd) lines->count x dim floats; no texts at all is an error. */
int cli_encode_stdin(const char *cmd, bmc_model *model, const bmc_encoder_options *options,
                     cli_progress *progress, uint32_t flags, cli_lines *lines, float **embeddings);

/* ---- .npy output (npy.c) ------------------------------------------------------------------ */

#define CLI_NPY_F32 1
#define CLI_NPY_U8  2

/* A .npy file (format 1.0, little-endian, C order) being written row by row. */
typedef struct cli_npy {
    FILE *file;
    const char *path;
} cli_npy;

/* Creates `path` and writes the header for an array of `dims` dimensions `shape` of `type`. */
int cli_npy_open(const char *cmd, cli_npy *npy, const char *path, int type, const size_t *shape,
                 int dims);
/* Appends `count` float32 values or bytes. */
int cli_npy_write_f32(const char *cmd, cli_npy *npy, const float *values, size_t count);
int cli_npy_write_u8(const char *cmd, cli_npy *npy, const uint8_t *values, size_t count);
/* Closes the file; with `keep` zero (a failed run) the partial file is removed. */
int cli_npy_close(const char *cmd, cli_npy *npy, int keep);

/* ---- JSON (json.c) ------------------------------------------------------------------------ */

/* Writes `text` as a JSON string literal, quotes included. */
void cli_json_string(FILE *out, const char *text);

#endif
