/* SPDX-License-Identifier: MIT */
/*
 * biomedclip.h — the public interface of libbiomedclip.
 *
 * libbiomedclip runs the BiomedCLIP vision-language model (ViT-B/16 image tower, PubMedBERT
 * text tower, one joint embedding space) and its task heads for host programs written in any
 * language. This header is the whole public surface: C99, usable from C and C++.
 *
 * Conventions that hold for every function below
 * -----------------------------------------------
 *  - Every fallible call returns a bmc_status. BMC_OK (0) is success; other values are pinned
 *    and never change meaning. bmc_status_string() names a code; bmc_last_error() gives the
 *    detailed message of the last failure on the calling thread.
 *  - On failure, out-parameters are left untouched.
 *  - Handles are opaque. Whatever the library allocates for the caller has its own bmc_*_free()
 *    function, and every free function accepts NULL.
 *  - Outputs go into caller buffers whose required size can be queried first.
 *  - Option structs start with a `struct_size` field, are filled by their *_init() function
 *    and only ever grow at the end: always call the init function before setting fields.
 *  - The library never prints, never calls abort() or exit(), and lets no C++ exception
 *    escape. Messages go to the log callback set with bmc_configure(), if any.
 *  - Strings are UTF-8 and NUL-terminated unless a length is given.
 *
 * Thread-safety is stated per function. "Thread-safe" means any number of threads may call it
 * at once, also on the same handle. "Not thread-safe on the same handle" means calls on one
 * handle must be serialised by the caller, while different handles are independent.
 */
#ifndef BIOMEDCLIP_H
#define BIOMEDCLIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Export macro and versions                                                                  */
/* ------------------------------------------------------------------------------------------ */

#if defined(_WIN32)
#  if defined(BMC_BUILDING_LIBRARY)
#    define BMC_API __declspec(dllexport)
#  else
#    define BMC_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define BMC_API __attribute__((visibility("default")))
#else
#  define BMC_API
#endif

#define BMC_VERSION_MAJOR 0
#define BMC_VERSION_MINOR 1
#define BMC_VERSION_PATCH 0
/* The version as one number: major * 10000 + minor * 100 + patch. */
#define BMC_VERSION_NUMBER (BMC_VERSION_MAJOR * 10000 + BMC_VERSION_MINOR * 100 + BMC_VERSION_PATCH)
#define BMC_VERSION_STRING "0.1.0"

/* The run-time library's version as BMC_VERSION_NUMBER computes it. Compare with the macro to
 * detect a header/library mismatch. Thread-safe. */
BMC_API uint32_t bmc_version(void);

/* The run-time library's version as "MAJOR.MINOR.PATCH", a static string. Thread-safe. */
BMC_API const char *bmc_version_string(void);

/* ------------------------------------------------------------------------------------------ */
/* Status codes and errors                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* A status is an int32_t in the ABI; the values below are pinned forever. */
typedef int32_t bmc_status;

#define BMC_OK                     0  /* success */
#define BMC_ERR_INVALID_ARGUMENT   1  /* NULL pointer, bad size, out-of-range value */
#define BMC_ERR_OUT_OF_MEMORY      2  /* an allocation failed */
#define BMC_ERR_IO                 3  /* a file could not be opened, read or written */
#define BMC_ERR_CORRUPT_DATA       4  /* truncated or malformed input (image, index, bundle) */
#define BMC_ERR_UNSUPPORTED        5  /* well-formed input of a kind the library does not handle */
#define BMC_ERR_LIMIT              6  /* input exceeds a configured limit (image size, text length) */
#define BMC_ERR_BUFFER_TOO_SMALL   7  /* a caller buffer is smaller than needed */
#define BMC_ERR_INVALID_UTF8       8  /* text is not valid UTF-8 */
#define BMC_ERR_MODEL              9  /* a model bundle is missing pieces or of the wrong architecture */
#define BMC_ERR_VERSION           10  /* a file's format version is not one this library reads */
#define BMC_ERR_DEVICE            11  /* the requested device or dtype is not available */
#define BMC_ERR_CANCELLED         12  /* the operation was cancelled through its cancel flag */
#define BMC_ERR_INTERNAL          13  /* a bug or an unexpected failure inside the library or libtorch */
#define BMC_ERR_NOT_FOUND         14  /* a named item (token, label, file entry) does not exist */

/* A short static English description of a status code ("invalid argument", ...). Unknown codes
 * give "unknown status". Never NULL. Thread-safe. */
BMC_API const char *bmc_status_string(bmc_status status);

/* The detailed message of the last failure on the calling thread, e.g.
 * "png: file 'a.png' is truncated (read 812 of 1024 bytes)". Each failing call replaces it;
 * successful calls leave it as it was. Returns "" if no call on this thread has failed.
 * The pointer stays valid until the next library call on the same thread; copy the string
 * to keep it. Thread-safe (the message is thread-local). */
BMC_API const char *bmc_last_error(void);

/* ------------------------------------------------------------------------------------------ */
/* Runtime configuration                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Log levels passed to the log callback. */
#define BMC_LOG_ERROR 0
#define BMC_LOG_WARN  1
#define BMC_LOG_INFO  2
#define BMC_LOG_DEBUG 3

/* A log callback. `message` is valid only during the call. It may be called from any thread
 * that calls into the library, so it must be thread-safe itself. */
typedef void (*bmc_log_fn)(void *user_data, int32_t level, const char *message);

/* Process-wide settings. libtorch's thread pools are process-wide, so these are too. */
typedef struct bmc_runtime_config {
    size_t struct_size;        /* sizeof(bmc_runtime_config), set by bmc_runtime_config_init */
    int32_t cpu_threads;       /* intra-op threads for CPU inference, 0..1024; 0 (the default): the
                                * library's choice per model, see bmc_configure() */
    bmc_log_fn log_fn;         /* NULL: the library logs nothing (the default) */
    void *log_user_data;       /* passed back to log_fn untouched */
    int32_t log_level;         /* messages above this level are dropped; default BMC_LOG_WARN */
    int64_t max_image_width;   /* images wider than this are rejected before decoding; default 65535 */
    int64_t max_image_height;  /* likewise for height; default 65535 */
    int64_t max_image_pixels;  /* width * height limit; default 1 << 27 (134 million) */
} bmc_runtime_config;

/* Fill `config` with the defaults listed above. Thread-safe. */
BMC_API void bmc_runtime_config_init(bmc_runtime_config *config);

/* Copy the current process-wide settings into `config` (which must have been initialised with
 * bmc_runtime_config_init). Errors: BMC_ERR_INVALID_ARGUMENT for NULL or a struct_size this
 * library does not know. Thread-safe. */
BMC_API bmc_status bmc_runtime_config_get(bmc_runtime_config *config);

/* Apply process-wide settings. Call it once at start-up, before other threads use the
 * library: the image limits and the log callback take effect at once for every thread, and
 * cpu_threads from the next forward pass on. cpu_threads N > 0 runs every CPU forward pass on
 * N libtorch intra-op threads. 0 lets the library choose per model: one per physical core
 * where the matrix products run in oneDNN on libtorch's OpenMP threads (bfloat16, and float32
 * in builds with oneDNN, the default), and 1 for float32 in a build without oneDNN, whose
 * products run on the BLAS library's own threads (a second, OpenMP pool spinning beside them
 * halves the speed); docs/threading-and-memory.md has the measurements.
 * Errors: BMC_ERR_INVALID_ARGUMENT for NULL, an unknown struct_size, threads outside 0..1024, a log
 * level outside BMC_LOG_ERROR..BMC_LOG_DEBUG, or limits below 1. On error nothing changes.
 * Thread-safe, but settings applied while other threads run calls may affect those calls. */
BMC_API bmc_status bmc_configure(const bmc_runtime_config *config);

/* ------------------------------------------------------------------------------------------ */
/* Images                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* A decoded image. It keeps the pixel layout of its source the way Pillow would open it
 * (grayscale, grayscale+alpha, palette, RGB, RGBA, CMYK, 16-bit grayscale, 1-bit), because the
 * exact preprocessing of BiomedCLIP depends on it. Immutable once created: any number of
 * threads may read one image at once. */
typedef struct bmc_image bmc_image;

/* Pixel layouts reported by bmc_image_info(); the names are Pillow's modes. */
#define BMC_IMAGE_MODE_1     1  /* 1-bit bilevel, stored as 0/255 */
#define BMC_IMAGE_MODE_L     2  /* 8-bit grayscale */
#define BMC_IMAGE_MODE_LA    3  /* 8-bit grayscale + alpha */
#define BMC_IMAGE_MODE_P     4  /* 8-bit palette indices with an RGB(A) palette */
#define BMC_IMAGE_MODE_RGB   5  /* 8-bit RGB */
#define BMC_IMAGE_MODE_RGBA  6  /* 8-bit RGB + alpha */
#define BMC_IMAGE_MODE_CMYK  7  /* 8-bit CMYK (from CMYK/YCCK JPEG) */
#define BMC_IMAGE_MODE_I     8  /* 32-bit signed integer grayscale (from 16-bit grayscale PNG) */

/* Decode a PNG, JPEG or DICOM file (the format is detected from its first bytes).
 * PNG: bit depths 1/2/4/8/16, gray, gray+alpha, palette (with or without transparency), RGB,
 * RGBA, interlaced. JPEG: baseline, progressive, grayscale, RGB, CMYK, YCCK.
 * The image opens in the mode and with the samples Pillow 9.4 gives it: grey 1-bit -> 1,
 * grey 2/4/8-bit -> L (scaled to 0..255), grey 16-bit -> I, grey+alpha 8-bit -> LA,
 * grey+alpha 16-bit -> RGBA, palette -> P (transparency ignored), RGB/RGBA 16-bit -> their
 * high bytes; JPEG CMYK and YCCK -> CMYK with Adobe's inverted samples. Gamma, ICC profiles
 * and EXIF orientation are not applied (Pillow does not apply them either).
 * DICOM (the "DICM" magic at offset 128, or a file without the preamble whose data set
 * parses): frame 0 through bmc_dicom_frame_image() with the file's own rescale and first
 * window, giving mode L or RGB.
 * The size limits of bmc_configure() are checked from the header, before pixels are allocated.
 * On success *out owns a new image; free it with bmc_image_free().
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_IO (cannot open/read), BMC_ERR_CORRUPT_DATA
 * (empty, truncated or malformed), BMC_ERR_UNSUPPORTED (neither PNG, JPEG nor DICOM, a JPEG with
 * 12-bit samples or 2 components, a DICOM file without an image or of a kind that
 * bmc_dicom_frame_image() refuses), BMC_ERR_LIMIT (too large, or a progressive JPEG of more
 * than 500 scans), BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_image_load_file(const char *path, bmc_image **out);

/* As bmc_image_load_file(), from `size` bytes at `data` (not retained after the call). */
BMC_API bmc_status bmc_image_load_memory(const void *data, size_t size, bmc_image **out);

/* As bmc_image_load_file(), but a JPEG is decoded at reduced size, the way Pillow's
 * Image.draft('RGB', (size, size)) does: libjpeg-turbo scales it by 1/s inside the inverse DCT,
 * s the largest of 8, 4, 2 with width / size and height / size (rounded down) both >= s, or
 * s = 1 (a full decode) if none fits. The image is then ceil(width / s) x ceil(height / s), so
 * its shorter side stays >= size, and it has s^2 times fewer pixels to decode and resize.
 * Pass the model's input size (bmc_model_preprocess_options' image_size) as `size`. The
 * pixels equal those of Pillow 9.4 after draft(), NOT those of a full decode: embeddings move
 * slightly (docs/performance.md gives the measured cosine to the exact path). PNG files are
 * loaded in full: `size` is ignored for them. Errors: as bmc_image_load_file(), and
 * BMC_ERR_INVALID_ARGUMENT for a size outside 1..4096. Thread-safe. */
BMC_API bmc_status bmc_image_load_file_draft(const char *path, int32_t size, bmc_image **out);

/* As bmc_image_load_file_draft(), from `size` bytes at `data` (not retained after the call). */
BMC_API bmc_status bmc_image_load_memory_draft(const void *data, size_t size, int32_t draft_size,
                                               bmc_image **out);

/* Sample types of a raw pixel view. */
#define BMC_SAMPLE_U8  1  /* uint8_t */
#define BMC_SAMPLE_U16 2  /* uint16_t, native byte order */
#define BMC_SAMPLE_S16 3  /* int16_t, native byte order */
#define BMC_SAMPLE_F32 4  /* float */

/* A description of pixels in the caller's memory, e.g. a DICOM frame in a PACS viewer.
 * Interleaved samples, `channels` per pixel (1 gray, 3 RGB, 4 RGBA), rows `row_stride` bytes
 * apart (0 means tightly packed; negative strides walk bottom-up from `data`, which then
 * points at the first row to read).
 *
 * 8-bit views are taken as they are (rescale and window are ignored), except that a
 * 1-channel MONOCHROME1 view is inverted (y = 255 - v). Views of
 * other sample types go through the DICOM grayscale display pipeline, channel by channel,
 * to make an 8-bit image:
 *   1. modality LUT: v = stored * rescale_slope + rescale_intercept (if has_rescale);
 *   2. VOI LUT, the linear function of DICOM PS3.3 C.11.2.1.2.1 with output 0..255
 *      (if has_window; window_width must be >= 1):
 *        v <= c - 0.5 - (w - 1) / 2  ->  0
 *        v >  c - 0.5 + (w - 1) / 2  ->  255
 *        else ((v - (c - 0.5)) / (w - 1) + 0.5) * 255, rounded to nearest, halves up;
 *      without a window, the view's own finite minimum..maximum (one range over all its
 *      channels, so colours keep their balance) is stretched: (v - min) * 255 / (max - min),
 *      rounded the same way (a constant image gives 0);
 *   3. MONOCHROME1 (if monochrome1 is non-zero): y = 255 - y, for 1-channel views only.
 * The arithmetic is in double precision. f32 samples that are NaN become 0 after the
 * pipeline; infinities go to 0 or 255. */
typedef struct bmc_pixels {
    size_t struct_size;        /* sizeof(bmc_pixels), set by bmc_pixels_init */
    const void *data;          /* first sample of the first row to read */
    int32_t width;             /* pixels per row, >= 1 */
    int32_t height;            /* rows, >= 1 */
    int32_t channels;          /* 1, 3 or 4 */
    int32_t sample_type;       /* BMC_SAMPLE_* */
    int64_t row_stride;        /* bytes between rows; 0 = width * channels * sample size */
    int32_t has_rescale;       /* non-zero: apply rescale_slope/intercept */
    double rescale_slope;      /* DICOM (0028,1053); default 1 */
    double rescale_intercept;  /* DICOM (0028,1052); default 0 */
    int32_t has_window;        /* non-zero: apply window_center/width */
    double window_center;      /* DICOM (0028,1050) */
    double window_width;       /* DICOM (0028,1051), >= 1 */
    int32_t monochrome1;       /* non-zero: photometric interpretation MONOCHROME1 (invert) */
} bmc_pixels;

/* Fill `pixels` with defaults: everything zero/NULL, slope 1, intercept 0. Thread-safe. */
BMC_API void bmc_pixels_init(bmc_pixels *pixels);

/* Make an image from a pixel view, copying the pixels (the view is not retained).
 * 1-channel views become BMC_IMAGE_MODE_L, 3-channel RGB, 4-channel RGBA.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, unknown struct_size, bad width/height/channels/type,
 * |row_stride| smaller than a row, window_width < 1, non-finite rescale or window values),
 * BMC_ERR_LIMIT (larger than the configured limits), BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_image_from_pixels(const bmc_pixels *pixels, bmc_image **out);

/* Report an image's width, height and mode (BMC_IMAGE_MODE_*). Any out-pointer may be NULL.
 * Errors: BMC_ERR_INVALID_ARGUMENT if image is NULL. Thread-safe. */
BMC_API bmc_status bmc_image_info(const bmc_image *image, int32_t *width, int32_t *height,
                                  int32_t *mode);

/* Copy the image's pixels, converted to 8-bit RGB the way Pillow's convert('RGB') does,
 * into `rgb` (width * height * 3 bytes, rows packed top to bottom). `size` is the buffer's
 * size in bytes. Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_BUFFER_TOO_SMALL.
 * Thread-safe. */
BMC_API bmc_status bmc_image_to_rgb8(const bmc_image *image, uint8_t *rgb, size_t size);

/* Free an image. NULL is allowed. Not thread-safe on the same image (no other call may be
 * using it). */
BMC_API void bmc_image_free(bmc_image *image);

/* Write 8-bit pixels (1 gray, 3 RGB or 4 RGBA channels, rows packed) to a PNG file, replacing
 * it. On failure no partial file is left behind.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, size < 1, other channel counts), BMC_ERR_IO,
 * BMC_ERR_OUT_OF_MEMORY. Thread-safe (on different paths). */
BMC_API bmc_status bmc_png_write_file(const char *path, const uint8_t *pixels, int32_t width,
                                      int32_t height, int32_t channels);

/* ------------------------------------------------------------------------------------------ */
/* DICOM files                                                                                */
/* ------------------------------------------------------------------------------------------ */

/* A parsed DICOM file (Part 10 with its "DICM" preamble, or a bare data set that parses),
 * decoded with GDCM 3.0. Transfer syntaxes read: Implicit VR Little Endian, Explicit VR Little
 * Endian, Explicit VR Big Endian, Deflated Explicit VR Little Endian, RLE Lossless, JPEG
 * Baseline (process 1), JPEG Extended (processes 2 and 4, 8 and 12 bits), JPEG Lossless
 * (processes 14 and 14 SV1, up to 16 bits), JPEG-LS (lossless and near-lossless), JPEG 2000
 * (lossless and lossy). Others (MPEG, HTJ2K, JPIP) are refused with BMC_ERR_UNSUPPORTED when a
 * frame is asked for. Immutable after opening, except that the pixel data of all frames is
 * decoded once, on the first frame asked for (under a lock): any number of threads may use one
 * handle at once. */
typedef struct bmc_dicom bmc_dicom;

/* Open a DICOM file / `size` bytes of one (copied; not retained). Only the data set is parsed
 * here: a file without an image (a structured report, an RT plan) opens, with frames 0.
 * On success *out owns a new handle; free it with bmc_dicom_free().
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_IO (cannot open or read the file),
 * BMC_ERR_CORRUPT_DATA (not DICOM, or truncated inside its data set), BMC_ERR_OUT_OF_MEMORY.
 * Thread-safe. */
BMC_API bmc_status bmc_dicom_open_file(const char *path, bmc_dicom **out);
BMC_API bmc_status bmc_dicom_open_memory(const void *data, size_t size, bmc_dicom **out);

/* The attributes of a parsed file, as stored (strings without DICOM's padding; "" or 0 when
 * absent). */
typedef struct bmc_dicom_info {
    size_t struct_size;          /* sizeof(bmc_dicom_info), set by bmc_dicom_info_init */
    int32_t frames;              /* Number of Frames (1 without it); 0 when there is no image */
    int32_t rows;                /* (0028,0010); 0 when there is no image */
    int32_t columns;             /* (0028,0011); 0 when there is no image */
    int32_t samples_per_pixel;   /* (0028,0002): 1 or 3 */
    int32_t bits_allocated;      /* (0028,0100): 1, 8, 16 or 32 */
    int32_t bits_stored;         /* (0028,0101) */
    int32_t pixel_representation;/* (0028,0103): 0 unsigned, 1 signed */
    int32_t has_rescale;         /* non-zero: Rescale Slope or Intercept is present */
    double rescale_slope;        /* (0028,1053); 1 when absent */
    double rescale_intercept;    /* (0028,1052); 0 when absent */
    int32_t window_count;        /* Window Center/Width pairs (0028,1050/1051), at most 16;
                                  * read each with bmc_dicom_window() */
    int32_t has_voi_lut_sequence;/* a VOI LUT Sequence (0028,3010) is present */
    char photometric[72];        /* (0028,0004), e.g. "MONOCHROME2", "YBR_FULL_422" */
    char modality[72];           /* (0008,0060), e.g. "CT" */
    char transfer_syntax[72];    /* (0002,0010) as used to read the data set */
    char voi_lut_function[72];   /* (0028,1056); "" means LINEAR */
    char sop_instance_uid[72];   /* (0008,0018) */
    char series_instance_uid[72];/* (0020,000E) */
    char study_instance_uid[72]; /* (0020,000D) */
    char no_image_reason[160];   /* when frames is 0: why ("no pixel data (7FE0,0010)", ...) */
} bmc_dicom_info;

/* Zero `info` and set its struct_size, as bmc_dicom_get_info() expects. Thread-safe. */
BMC_API void bmc_dicom_info_init(bmc_dicom_info *info);

/* Fill `info` (initialised with bmc_dicom_info_init(), or whose struct_size the caller has set)
 * with the file's attributes.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, a struct_size that is not sizeof(bmc_dicom_info)).
 * Thread-safe. */
BMC_API bmc_status bmc_dicom_get_info(const bmc_dicom *dicom, bmc_dicom_info *info);

/* Window preset `index` (0-based, below window_count): its centre, its width and its
 * explanation (0028,1055), e.g. "SOFT TISSUE", "" when the file gives none. Any out-pointer
 * may be NULL; *explanation stays valid until bmc_dicom_free(). Errors:
 * BMC_ERR_INVALID_ARGUMENT (NULL dicom), BMC_ERR_NOT_FOUND (index out of range). Thread-safe. */
BMC_API bmc_status bmc_dicom_window(const bmc_dicom *dicom, int32_t index, double *center,
                                    double *width, const char **explanation);

/* How bmc_dicom_frame_image() shows a frame. */
typedef struct bmc_dicom_frame_options {
    size_t struct_size;        /* sizeof(bmc_dicom_frame_options), set by the init function */
    int32_t frame;             /* 0-based frame; default 0 */
    int32_t window_index;      /* which of the file's windows to use; default 0 */
    int32_t has_window;        /* non-zero: use window_center/width instead of the file's */
    double window_center;
    double window_width;       /* >= 1 */
    int32_t has_rescale;       /* non-zero: use rescale_slope/intercept instead of the file's */
    double rescale_slope;
    double rescale_intercept;
} bmc_dicom_frame_options;

/* Fill `options` with the defaults above (frame 0, the file's first window, its rescale).
 * Thread-safe. */
BMC_API void bmc_dicom_frame_options_init(bmc_dicom_frame_options *options);

/* One frame as an 8-bit image, through the DICOM display pipeline of PS3.3 C.11 (the one that
 * bmc_image_from_pixels() applies, in double precision):
 *  - Grayscale (MONOCHROME1/2): the stored values (Bits Stored wide, sign-extended when Pixel
 *    Representation is 1) go through the modality LUT (the caller's rescale, else the file's
 *    Rescale Slope/Intercept), then the VOI LUT with the caller's window, else the file's
 *    window `window_index` with its VOI LUT Function: LINEAR (C.11.2.1.2.1), LINEAR_EXACT
 *    (C.11.2.1.3.2) or SIGMOID (C.11.2.1.3.1), each mapped onto 0..255 and rounded to nearest
 *    (halves up); without any window, the frame's own minimum..maximum is stretched onto
 *    0..255. 8-bit unsigned data without a rescale or window is taken as stored. MONOCHROME1
 *    is then inverted. The image has mode BMC_IMAGE_MODE_L.
 *  - Colour: RGB as stored; YBR_FULL and YBR_FULL_422 converted to RGB with the equations of
 *    C.7.6.3.1.2 (rounded to nearest, clipped); PALETTE COLOR through the file's palette;
 *    YBR_RCT/YBR_ICT (JPEG 2000) are RGB once decoded. Samples wider than 8 bits have the
 *    frame's minimum..maximum stretched onto 0..255, over all three channels. Mode RGB.
 * Not applied: a Modality LUT Sequence (BMC_ERR_UNSUPPORTED unless the caller gives a
 * rescale) and a VOI LUT Sequence (BMC_ERR_UNSUPPORTED when it is the file's only VOI
 * transform and the caller gives no window; when the file also has a window, the window is
 * used). `options` may be NULL for the defaults. Frames are 0-based.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL dicom/out, unknown struct_size, window_width < 1 or
 * non-finite values), BMC_ERR_NOT_FOUND (frame or window_index out of range),
 * BMC_ERR_UNSUPPORTED (no image in the file, with the reason; a transfer syntax or
 * photometric interpretation not read; the LUT sequences above), BMC_ERR_CORRUPT_DATA (the
 * pixel data cannot be decoded or is shorter than the header says), BMC_ERR_LIMIT (rows x
 * columns over the configured limits, or frames x rows x columns over max_image_pixels:
 * checked before decoding), BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_dicom_frame_image(const bmc_dicom *dicom,
                                         const bmc_dicom_frame_options *options,
                                         bmc_image **out);

/* Free a parsed file. NULL is allowed. Not thread-safe on the same handle. */
BMC_API void bmc_dicom_free(bmc_dicom *dicom);

/* ------------------------------------------------------------------------------------------ */
/* Preprocessing                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* How an image is brought to image_size x image_size. */
#define BMC_RESIZE_SHORTEST_CROP 1 /* open_clip: resize the short side, then centre-crop */
#define BMC_RESIZE_SQUASH        2 /* resize both sides to image_size, ignoring aspect ratio */

/* Pillow resampling filters, with Pillow's numbering. */
#define BMC_FILTER_NEAREST  0
#define BMC_FILTER_BILINEAR 2
#define BMC_FILTER_BICUBIC  3

/* The transform from an image to the model's input tensor. The defaults reproduce
 * open_clip's inference transform for BiomedCLIP; a model bundle carries its own values
 * (see the model section). */
typedef struct bmc_preprocess_options {
    size_t struct_size;   /* sizeof(bmc_preprocess_options), set by the init function */
    int32_t image_size;   /* output side in pixels, 1 to 4096; default 224 */
    int32_t resize_mode;  /* BMC_RESIZE_*; default BMC_RESIZE_SHORTEST_CROP */
    int32_t filter;       /* BMC_FILTER_*; default BMC_FILTER_BICUBIC */
    float mean[3];        /* per-channel mean after scaling to 0..1; default open_clip's */
    float std[3];         /* per-channel std; default open_clip's */
} bmc_preprocess_options;

/* Fill `options` with BiomedCLIP's transform: 224, shortest-side resize + centre crop,
 * bicubic, mean (0.48145466, 0.4578275, 0.40821073), std (0.26862954, 0.26130258,
 * 0.27577711). Thread-safe. */
BMC_API void bmc_preprocess_options_init(bmc_preprocess_options *options);

/* Resize and crop an image exactly as Pillow's Resize + CenterCrop (or the squash resize)
 * followed by convert('RGB') would, writing image_size * image_size * 3 bytes (rows packed,
 * RGB interleaved) to `rgb`. `size` is the buffer size in bytes. `options` may be NULL for
 * the defaults. Bit-exact with Pillow 9.4 for every image mode.
 * Only the crop is computed, so a thin image upscaled on its short side costs no more than
 * the crop. Errors: BMC_ERR_INVALID_ARGUMENT (NULL image/rgb, bad options),
 * BMC_ERR_BUFFER_TOO_SMALL, BMC_ERR_LIMIT (a resized side over 2^31 - 1),
 * BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_preprocess_rgb8(const bmc_image *image,
                                       const bmc_preprocess_options *options,
                                       uint8_t *rgb, size_t size);

/* The full transform: bmc_preprocess_rgb8(), then x / 255, then (x - mean) / std, written as
 * a 3 x image_size x image_size float tensor (channel planes, CHW) to `tensor`; `count` is the
 * buffer's length in floats. `options` may be NULL for the defaults. The float arithmetic is
 * torchvision's (ToTensor + Normalize in float32, one rounding per operation), so the values
 * equal open_clip's.
 * Errors: as bmc_preprocess_rgb8(), with BMC_ERR_BUFFER_TOO_SMALL if count is short.
 * Thread-safe. */
BMC_API bmc_status bmc_preprocess(const bmc_image *image, const bmc_preprocess_options *options,
                                  float *tensor, size_t count);

/* ------------------------------------------------------------------------------------------ */
/* Tokenizer                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Turns text into the token ids BiomedCLIP's text tower reads, exactly as open_clip's
 * HFTokenizer does for BiomedCLIP: open_clip's text cleaning (clean='whitespace'), then the
 * Hugging Face BERT uncased WordPiece pipeline built from a vocab.txt (BertNormalizer with
 * clean_text, CJK spacing, accent stripping and lowercase; BertPreTokenizer; WordPiece with "##"
 * continuations, [UNK] for words over 100 characters or that cannot be matched), with the
 * vocabulary's special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]) recognised where they appear
 * verbatim in the text, then [CLS] ... [SEP] truncated to the context length.
 *
 * The cleaning step reproduces ftfy.fix_text's deterministic fixes (NFC, curly quotes to
 * straight ones, Latin ligatures, half/full-width forms, line breaks, C1 controls read as
 * Windows-1252, terminal escapes, control characters, HTML entities) and Python's
 * html.unescape and whitespace rules. ftfy's mojibake repair (text that was UTF-8 decoded as
 * Latin-1 or Windows-1252, such as "cafÃ©") is a heuristic and is NOT reproduced: such text is
 * tokenized as it is. docs/tokenizer.md has the details and the tests that pin them.
 *
 * A tokenizer is immutable once created: any number of threads may use one at once. */
typedef struct bmc_tokenizer bmc_tokenizer;

/* What to do with text that is not valid UTF-8. */
#define BMC_INVALID_UTF8_ERROR   0 /* fail with BMC_ERR_INVALID_UTF8 and the byte offset */
#define BMC_INVALID_UTF8_REPLACE 1 /* read each invalid byte as U+FFFD (which the tokenizer drops) */

/* What to do with text that needs more than context_length tokens. */
#define BMC_OVERFLOW_TRUNCATE 0 /* keep [CLS], the first context_length - 2 tokens, [SEP] */
#define BMC_OVERFLOW_ERROR    1 /* fail with BMC_ERR_LIMIT */

/* Special tokens, for bmc_tokenizer_special_id(). */
#define BMC_TOKEN_PAD  0 /* [PAD] */
#define BMC_TOKEN_UNK  1 /* [UNK] */
#define BMC_TOKEN_CLS  2 /* [CLS] */
#define BMC_TOKEN_SEP  3 /* [SEP] */
#define BMC_TOKEN_MASK 4 /* [MASK], the only one a vocabulary may lack */

typedef struct bmc_tokenizer_options {
    size_t struct_size;     /* sizeof(bmc_tokenizer_options), set by bmc_tokenizer_options_init */
    int32_t context_length; /* ids per text, [CLS] and [SEP] included; default 256, 2..1048576 */
    int32_t lowercase;      /* non-zero: lowercase and strip accents (an uncased model); default 1 */
    int32_t clean;          /* non-zero: open_clip's cleaning step first; default 1 */
    int32_t invalid_utf8;   /* BMC_INVALID_UTF8_*; default BMC_INVALID_UTF8_ERROR */
    int32_t overflow;       /* BMC_OVERFLOW_*; default BMC_OVERFLOW_TRUNCATE */
    int32_t special_tokens; /* non-zero: "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]" written in
                               the text (exactly so, case included) are those tokens, as in the
                               Hugging Face tokenizers; zero: they are ordinary text; default 1 */
} bmc_tokenizer_options;

/* Fill `options` with the defaults above (BiomedCLIP's). Thread-safe. */
BMC_API void bmc_tokenizer_options_init(bmc_tokenizer_options *options);

/* Create a tokenizer from a vocab.txt file: one token per line, the id of a token is its
 * 0-based line number (a token listed twice gets its last line's id; "\r\n" line ends are
 * accepted). The vocabulary must contain [CLS], [SEP], [PAD] and [UNK]; their ids are read
 * from it, never assumed. `options` may be NULL for the defaults; it is copied. On success
 * *out owns a new tokenizer; free it with bmc_tokenizer_free().
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL path/out, unknown struct_size, option out of range),
 * BMC_ERR_IO (cannot open or read), BMC_ERR_CORRUPT_DATA (empty, not UTF-8, NUL bytes, a
 * required special token missing), BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_tokenizer_create_file(const char *vocab_path,
                                             const bmc_tokenizer_options *options,
                                             bmc_tokenizer **out);

/* As bmc_tokenizer_create_file(), from the vocab.txt text in vocab[0..size) (not retained
 * after the call). Thread-safe. */
BMC_API bmc_status bmc_tokenizer_create_memory(const char *vocab, size_t size,
                                               const bmc_tokenizer_options *options,
                                               bmc_tokenizer **out);

/* Free a tokenizer. NULL is allowed. Not thread-safe on the same tokenizer (no other call may
 * be using it). */
BMC_API void bmc_tokenizer_free(bmc_tokenizer *tokenizer);

/* Tokenize text[0..length) (UTF-8; NUL bytes are characters like any other) into
 * [CLS] tokens... [SEP], without padding: at most context_length ids.
 * Size query: with ids == NULL, *count receives the number of ids needed and nothing else is
 * written. Otherwise `capacity` is the length of `ids`; the ids are written and *count set.
 * `truncated` may be NULL; if not, it is set to 1 when the text needed more tokens than fit
 * (and were dropped, with BMC_OVERFLOW_TRUNCATE), else 0.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL tokenizer/count, NULL text with length > 0),
 * BMC_ERR_INVALID_UTF8 (the message gives the byte offset), BMC_ERR_LIMIT (too long, with
 * BMC_OVERFLOW_ERROR), BMC_ERR_BUFFER_TOO_SMALL (capacity below the count needed, which the
 * message gives), BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_tokenizer_encode(const bmc_tokenizer *tokenizer, const char *text,
                                        size_t length, int32_t *ids, size_t capacity,
                                        size_t *count, int32_t *truncated);

/* Tokenize `n` NUL-terminated texts into a n x context_length matrix, row-major, each row
 * [CLS] tokens... [SEP] then [PAD] ids up to context_length: the tensor open_clip's tokenizer
 * returns. `capacity` is the length of `ids` in elements (at least n * context_length).
 * `lengths` (n entries: ids before the padding) and `truncated` (n flags) may be NULL.
 * On failure nothing is written; the message names the index of the failing text.
 * Errors: as bmc_tokenizer_encode(), and BMC_ERR_INVALID_ARGUMENT for a NULL text.
 * Thread-safe. */
BMC_API bmc_status bmc_tokenizer_encode_batch(const bmc_tokenizer *tokenizer,
                                              const char *const *texts, size_t n, int32_t *ids,
                                              size_t capacity, int32_t *lengths,
                                              int32_t *truncated);

/* The id of a special token (BMC_TOKEN_*), as found in the vocabulary.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, unknown `which`), BMC_ERR_NOT_FOUND ([MASK] absent).
 * Thread-safe. */
BMC_API bmc_status bmc_tokenizer_special_id(const bmc_tokenizer *tokenizer, int32_t which,
                                            int32_t *id);

/* The token string of `id` (NUL-terminated UTF-8, e.g. "##s"), valid until the tokenizer is
 * freed. Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_NOT_FOUND (id outside
 * 0..vocab size - 1). Thread-safe. */
BMC_API bmc_status bmc_tokenizer_token(const bmc_tokenizer *tokenizer, int32_t id,
                                       const char **token);

/* The id of the token string `token` (exactly, "##" included for continuations).
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_NOT_FOUND. Thread-safe. */
BMC_API bmc_status bmc_tokenizer_token_id(const bmc_tokenizer *tokenizer, const char *token,
                                          int32_t *id);

/* The number of ids in the vocabulary (its line count). Errors: BMC_ERR_INVALID_ARGUMENT
 * (NULL). Thread-safe. */
BMC_API bmc_status bmc_tokenizer_vocab_size(const bmc_tokenizer *tokenizer, int32_t *size);

/* The context length the tokenizer was created with. Errors: BMC_ERR_INVALID_ARGUMENT (NULL).
 * Thread-safe. */
BMC_API bmc_status bmc_tokenizer_context_length(const bmc_tokenizer *tokenizer,
                                                int32_t *context_length);

/* ------------------------------------------------------------------------------------------ */
/* Model bundles and encoders                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* A loaded model bundle: the two encoders as TorchScript on one device, plus the metadata that
 * describes them (embedding size, preprocessing, context length, logit scale) and the
 * vocabulary of their tokenizer. See docs/model-bundle.md for the file format.
 * Immutable once loaded: any number of threads may use one model at once, each through its own
 * encoder handles. */
typedef struct bmc_model bmc_model;

/* Numeric types the networks can run in. */
#define BMC_DTYPE_F32  1  /* float32, every device (the default) */
#define BMC_DTYPE_F16  2  /* float16, CUDA only */
#define BMC_DTYPE_BF16 3  /* bfloat16: CUDA, and CPUs with AVX512_BF16 or AMX-BF16 */

typedef struct bmc_model_options {
    size_t struct_size;   /* sizeof(bmc_model_options), set by bmc_model_options_init */
    const char *device;   /* "cpu" (default when NULL), "cuda" or "cuda:N"; copied at load */
    int32_t dtype;        /* BMC_DTYPE_*; default BMC_DTYPE_F32 */
} bmc_model_options;

/* Fill `options` with the defaults: CPU, float32. Thread-safe. */
BMC_API void bmc_model_options_init(bmc_model_options *options);

/* Load a model bundle (a file written by tools/export/export_bundle.py) onto a device.
 * `options` may be NULL for the defaults. On success *out owns the model; free it with
 * bmc_model_free() after every encoder made from it has been freed.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL path/out, bad options), BMC_ERR_IO (missing or
 * unreadable file), BMC_ERR_CORRUPT_DATA (not a TorchScript archive, or damaged),
 * BMC_ERR_VERSION (a bundle format version this library does not read), BMC_ERR_MODEL (not a
 * BiomedCLIP bundle, metadata missing or inconsistent, an encoder method missing),
 * BMC_ERR_DEVICE (no such device, or a dtype the device cannot run: float16 on a CPU, bfloat16
 * on a CPU without AVX512_BF16 or AMX-BF16, where libtorch would emulate it more slowly than
 * float32), BMC_ERR_OUT_OF_MEMORY.
 * bfloat16 keeps float32's range with an 8-bit mantissa: embeddings agree with float32 to a
 * cosine of about 0.9999 (the parity suite holds them to 0.999); the heads of a bfloat16
 * model run in bfloat16 too, except a segmentation decoder on the CPU, which runs in float32
 * on the bfloat16 features (libtorch's bfloat16 transposed convolution fails there).
 * Thread-safe. */
BMC_API bmc_status bmc_model_load(const char *path, const bmc_model_options *options,
                                  bmc_model **out);

/* Free a model. NULL is allowed. No other call may be using it, and no encoder made from it
 * may be used afterwards. */
BMC_API void bmc_model_free(bmc_model *model);

/* The joint embedding size (512 for BiomedCLIP); 0 if model is NULL. Thread-safe. */
BMC_API int32_t bmc_model_embed_dim(const bmc_model *model);

/* The text context length in tokens, [CLS] and [SEP] included (256 for BiomedCLIP); 0 if model
 * is NULL. Thread-safe. */
BMC_API int32_t bmc_model_context_length(const bmc_model *model);

/* The trained logit scale as the multiplier exp(logit_scale) applied to cosine similarities
 * (about 100 for CLIP models); 0 if model is NULL. Thread-safe. */
BMC_API float bmc_model_logit_scale(const bmc_model *model);

/* The bundle's name as recorded by the exporter, and where its weights came from (a checkpoint
 * digest or "random seed N" for the project's stand-in models). Static strings owned by the
 * model; "" if model is NULL. Thread-safe. */
BMC_API const char *bmc_model_name(const bmc_model *model);
BMC_API const char *bmc_model_source(const bmc_model *model);

/* Copy the model's own preprocessing (image size, resize mode, mean and std) into `options`,
 * which must have been initialised with bmc_preprocess_options_init(). Pass the result to
 * bmc_preprocess() to get exactly the tensors the image encoder uses.
 * Errors: BMC_ERR_INVALID_ARGUMENT. Thread-safe. */
BMC_API bmc_status bmc_model_preprocess_options(const bmc_model *model,
                                                bmc_preprocess_options *options);

/* The tokenizer built from the bundle's vocabulary, owned by the model (do not free it).
 * NULL if model is NULL. Thread-safe. */
BMC_API const bmc_tokenizer *bmc_model_tokenizer(const bmc_model *model);

/* Called between batches with the number of items done so far and the total; return
 * non-zero to cancel the call (it then fails with BMC_ERR_CANCELLED). A forward pass that has
 * started is never interrupted, so cancellation takes effect at the next batch boundary. */
typedef int32_t (*bmc_progress_fn)(void *user_data, size_t done, size_t total);

/* Flags for the encode calls. */
#define BMC_ENCODE_RAW 1u  /* return the projection's raw output instead of L2-normalised vectors */

typedef struct bmc_encoder_options {
    size_t struct_size;          /* sizeof(bmc_encoder_options), set by bmc_encoder_options_init;
                                  * programs built before fast_jpeg existed pass the smaller
                                  * size they know, and fast_jpeg then keeps its default */
    int32_t batch_size;          /* items per forward pass; default 32 */
    int32_t truncate;            /* text encoders: non-zero (default) truncates texts longer
                                  * than the context like open_clip; zero makes them an error */
    bmc_progress_fn progress_fn; /* NULL for none */
    void *progress_user_data;
    int32_t fast_jpeg;           /* image encoders, bmc_image_encoder_encode_files() only:
                                  * non-zero loads JPEG files with bmc_image_load_file_draft()
                                  * at the model's input size, which is faster on large JPEGs
                                  * but not bit-exact with open_clip (embeddings move a
                                  * little, see docs/performance.md). Default 0 (exact). */
} bmc_encoder_options;

/* Fill `options` with the defaults listed above. Thread-safe. */
BMC_API void bmc_encoder_options_init(bmc_encoder_options *options);

/* An image encoder: a per-thread context (batch scratch space, options) over a shared model.
 * One encoder must not be used by two threads at once; make one per thread. */
typedef struct bmc_image_encoder bmc_image_encoder;

/* Make an image encoder for `model` (which must outlive it). `options` may be NULL.
 * Errors: BMC_ERR_INVALID_ARGUMENT, BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_image_encoder_create(const bmc_model *model,
                                            const bmc_encoder_options *options,
                                            bmc_image_encoder **out);

/* Encode `count` images: each is preprocessed with the model's transform and run through the
 * image tower in batches of batch_size. Writes count x embed_dim floats to `embeddings`
 * (`capacity` is its length in floats), L2-normalised unless `flags` has BMC_ENCODE_RAW.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, count 0), BMC_ERR_BUFFER_TOO_SMALL, BMC_ERR_CANCELLED,
 * BMC_ERR_OUT_OF_MEMORY, BMC_ERR_INTERNAL (libtorch failed; the message says why). On error
 * the contents of `embeddings` are unspecified. Not thread-safe on the same encoder. */
BMC_API bmc_status bmc_image_encoder_encode(bmc_image_encoder *encoder,
                                            const bmc_image *const *images, size_t count,
                                            uint32_t flags, float *embeddings, size_t capacity);

/* As bmc_image_encoder_encode(), from already preprocessed tensors: `count` consecutive
 * 3 x S x S float32 tensors (S = the model's image size), as bmc_preprocess() makes them.
 * `tensor_count` is the number of floats at `tensors`. */
BMC_API bmc_status bmc_image_encoder_encode_tensors(bmc_image_encoder *encoder,
                                                    const float *tensors, size_t tensor_count,
                                                    size_t count, uint32_t flags,
                                                    float *embeddings, size_t capacity);

/* Encode the `count` image files at paths[0..count) (PNG or JPEG), in order: the result is
 * bit for bit that of loading each with bmc_image_load_file() (with the encoder's fast_jpeg
 * option: bmc_image_load_file_draft() at the model's image_size) and passing them all to
 * bmc_image_encoder_encode() with this encoder (same preprocessing, same batches, same
 * progress calls), and it is written the same way to `embeddings` (`capacity` floats).
 * While the calling thread runs the image tower on one batch, min(2, online CPUs) decode
 * threads that the call starts read and preprocess the files of the next, so at most two
 * batches of preprocessed tensors (one of them the encoder's own) and one decoded image per
 * decode thread are in memory, whatever the count. The decode threads are joined before the
 * call returns, on every path. The progress callback runs on the calling thread after each
 * batch; cancelling stops the decode threads too. The log callback may be called from the
 * decode threads. On a machine with few cores, decoding overlaps the forward pass only partly,
 * since libtorch's threads use the same cores.
 * The paths are read during the call only. A file that cannot be read, decoded or
 * preprocessed fails the whole call: the first such file in path order, whichever thread
 * read it, with its status (BMC_ERR_IO, BMC_ERR_CORRUPT_DATA, BMC_ERR_UNSUPPORTED,
 * BMC_ERR_LIMIT, ...) and a message giving its index and path. Batches before it have been
 * encoded and reported to the progress callback, as with bmc_image_encoder_encode().
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL encoder, paths, a path or embeddings; count 0),
 * BMC_ERR_BUFFER_TOO_SMALL, the errors of bmc_image_load_file() and bmc_preprocess(),
 * BMC_ERR_CANCELLED, BMC_ERR_OUT_OF_MEMORY (also: a decode thread could not be started),
 * BMC_ERR_INTERNAL. On error the contents of `embeddings` are unspecified.
 * Not thread-safe on the same encoder (as every encode call: one encoder per thread). */
BMC_API bmc_status bmc_image_encoder_encode_files(bmc_image_encoder *encoder,
                                                  const char *const *paths, size_t count,
                                                  uint32_t flags, float *embeddings,
                                                  size_t capacity);

/* Free an image encoder. NULL is allowed. */
BMC_API void bmc_image_encoder_free(bmc_image_encoder *encoder);

/* A text encoder: tokenizes with the model's tokenizer and runs the text tower, padding each
 * batch only to its longest text (the result equals padding to the full context, because
 * padded positions are masked). On the CPU the texts of a batch run in groups of similar
 * length, each padded to its own longest, so that a few long texts do not make every short
 * one pay for their padding; the rows come back in the order of the texts. One encoder must
 * not be used by two threads at once. It holds about batch_size x (12 x context_length +
 * 4 x embed_dim) bytes of scratch (164 KB at the default batch of 32 for BiomedCLIP). */
typedef struct bmc_text_encoder bmc_text_encoder;

/* Make a text encoder for `model` (which must outlive it). `options` may be NULL.
 * Errors: BMC_ERR_INVALID_ARGUMENT, BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_text_encoder_create(const bmc_model *model,
                                           const bmc_encoder_options *options,
                                           bmc_text_encoder **out);

/* Encode `count` UTF-8 texts, writing count x embed_dim floats to `embeddings` (`capacity`
 * floats), L2-normalised unless `flags` has BMC_ENCODE_RAW.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, count 0), BMC_ERR_INVALID_UTF8 (the message names
 * the text and byte offset), BMC_ERR_LIMIT (a text longer than the context when truncate is
 * off), BMC_ERR_BUFFER_TOO_SMALL, BMC_ERR_CANCELLED, BMC_ERR_OUT_OF_MEMORY, BMC_ERR_INTERNAL.
 * Not thread-safe on the same encoder. */
BMC_API bmc_status bmc_text_encoder_encode(bmc_text_encoder *encoder,
                                           const char *const *texts, size_t count,
                                           uint32_t flags, float *embeddings, size_t capacity);

/* Free a text encoder. NULL is allowed. */
BMC_API void bmc_text_encoder_free(bmc_text_encoder *encoder);

/* ------------------------------------------------------------------------------------------ */
/* Scoring and zero-shot classification                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Cosine similarities between every row of `a` (rows_a x dim) and every row of `b`
 * (rows_b x dim), written row-major to `out` (rows_a x rows_b floats; `capacity` floats).
 * Rows need not be normalised; a zero row gives similarity 0.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, zero dim), BMC_ERR_BUFFER_TOO_SMALL. Thread-safe. */
BMC_API bmc_status bmc_cosine_similarity(const float *a, size_t rows_a, const float *b,
                                         size_t rows_b, size_t dim, float *out, size_t capacity);

/* Softmax of each row of a rows x cols matrix, in place (numerically stable: the row maximum
 * is subtracted first). Errors: BMC_ERR_INVALID_ARGUMENT. Thread-safe. */
BMC_API bmc_status bmc_softmax(float *values, size_t rows, size_t cols);

/* CLIP logits: model's logit scale x cosine similarity of image and text embeddings
 * (rows_images x rows_texts, row-major, `capacity` floats). Follow with bmc_softmax() for
 * probabilities over the texts. Errors: as bmc_cosine_similarity(). Thread-safe. */
BMC_API bmc_status bmc_model_logits(const bmc_model *model, const float *image_embeddings,
                                    size_t rows_images, const float *text_embeddings,
                                    size_t rows_texts, float *out, size_t capacity);

/* Indices of the k largest values in descending order (ties: the lower index first), written
 * to `indices` (k entries; k <= count). Errors: BMC_ERR_INVALID_ARGUMENT. Thread-safe. */
BMC_API bmc_status bmc_top_k(const float *values, size_t count, size_t k, int32_t *indices);

/* A zero-shot classifier: one embedding per label, the ensemble over prompt templates.
 * Immutable once made: any number of threads may use it at once. */
typedef struct bmc_classifier bmc_classifier;

/* The template BiomedCLIP's authors use for zero-shot classification. */
#define BMC_DEFAULT_TEMPLATE "this is a photo of {}"

/* Build a classifier for `label_count` labels. Each template holds "{}" once, where the
 * label goes ("a chest X-ray showing {}."); with several templates, a label's embedding is the
 * mean of its normalised template embeddings, normalised again (CLIP's template ensembling).
 * `templates` may be NULL (with template_count 0) for BMC_DEFAULT_TEMPLATE. Labels and
 * templates are copied. Runs the text tower (label_count x template_count texts).
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, no labels, a template without exactly one "{}"),
 * the errors of bmc_text_encoder_encode(). Not thread-safe on the same encoder. */
BMC_API bmc_status bmc_classifier_create(bmc_text_encoder *encoder, const char *const *labels,
                                         size_t label_count, const char *const *templates,
                                         size_t template_count, bmc_classifier **out);

/* The number of labels; 0 if classifier is NULL. Thread-safe. */
BMC_API size_t bmc_classifier_label_count(const bmc_classifier *classifier);

/* Label `index` as given at creation, owned by the classifier; NULL if out of range.
 * Thread-safe. */
BMC_API const char *bmc_classifier_label(const bmc_classifier *classifier, size_t index);

/* Probabilities over the labels (softmax of logit scale x cosine) for `count` image
 * embeddings (count x embed_dim, normalised or not), written count x label_count, row-major,
 * in label order. Errors: BMC_ERR_INVALID_ARGUMENT, BMC_ERR_BUFFER_TOO_SMALL. Thread-safe. */
BMC_API bmc_status bmc_classifier_probabilities(const bmc_classifier *classifier,
                                                const float *image_embeddings, size_t count,
                                                float *probabilities, size_t capacity);

/* Classify one image: encode it with `encoder` (made from the same model), and write the k
 * best labels' indices (descending probability) and their probabilities. k may be at most the
 * label count. Errors: those of bmc_image_encoder_encode() and BMC_ERR_INVALID_ARGUMENT.
 * Not thread-safe on the same encoder. */
BMC_API bmc_status bmc_classify(const bmc_classifier *classifier, bmc_image_encoder *encoder,
                                const bmc_image *image, size_t k, int32_t *label_indices,
                                float *probabilities);

/* Free a classifier. NULL is allowed. */
BMC_API void bmc_classifier_free(bmc_classifier *classifier);

/* Built-in prompt template sets, one per imaging modality. Each set has positive templates,
 * for bmc_classifier_create() and the positive side of bmc_multilabel_create(), and as many
 * negative templates, the i-th negating the i-th positive one, for the negative side. They
 * are phrasings that fit the modality, a starting point rather than templates tuned on a
 * benchmark: compare them with your own on labelled images. The sets (positive | negative):
 *
 *   generic:
 *     "this is a photo of {}" | "this is a photo of no {}"
 *     "a medical image showing {}." | "a medical image showing no {}."
 *     "an image of {}." | "an image without {}."
 *   chest-xray:
 *     "a chest X-ray showing {}." | "a chest X-ray showing no {}."
 *     "a chest radiograph with {}." | "a chest radiograph without {}."
 *     "a frontal chest X-ray with findings of {}." | "a frontal chest X-ray with no findings of {}."
 *   ct:
 *     "a CT scan showing {}." | "a CT scan showing no {}."
 *     "a computed tomography image with {}." | "a computed tomography image without {}."
 *     "an axial CT slice showing {}." | "an axial CT slice showing no {}."
 *   mri:
 *     "an MRI scan showing {}." | "an MRI scan showing no {}."
 *     "a magnetic resonance image with {}." | "a magnetic resonance image without {}."
 *     "an MR image showing {}." | "an MR image showing no {}."
 *   ultrasound:
 *     "an ultrasound image showing {}." | "an ultrasound image showing no {}."
 *     "a sonogram with {}." | "a sonogram without {}."
 *     "an ultrasound scan of {}." | "an ultrasound scan with no {}."
 *   histopathology:
 *     "an H&E stained histopathology image of {}." | "an H&E stained histopathology image with no {}."
 *     "a histopathology slide showing {}." | "a histopathology slide showing no {}."
 *     "a microscopy image of tissue with {}." | "a microscopy image of tissue without {}."
 *   dermatology:
 *     "a dermoscopy image of {}." | "a dermoscopy image with no {}."
 *     "a clinical photo of a skin lesion showing {}." | "a clinical photo of a skin lesion showing no {}."
 *     "a photo of skin with {}." | "a photo of skin without {}."
 *   fundus:
 *     "a fundus photograph showing {}." | "a fundus photograph showing no {}."
 *     "a retinal image with {}." | "a retinal image without {}."
 *     "a color fundus image of an eye with {}." | "a color fundus image of an eye without {}."
 */

/* The number of built-in template sets, and the name of set `index` (0 .. count - 1, in the
 * order listed above), a static string; NULL if out of range. Thread-safe. */
BMC_API size_t bmc_template_set_count(void);
BMC_API const char *bmc_template_set_name(size_t index);

/* The templates of the built-in set `name` (exactly as listed above, e.g. "chest-xray"):
 * *templates receives its positive templates and *count their number, *negative_templates and
 * *negative_count its negative ones. The arrays and strings are static (never free them) and
 * can be passed straight to bmc_classifier_create() and bmc_multilabel_create(). Any of the
 * four out-pointers may be NULL. Errors: BMC_ERR_INVALID_ARGUMENT (name NULL), BMC_ERR_NOT_FOUND
 * (no such set; the message lists the names). Thread-safe. */
BMC_API bmc_status bmc_template_set(const char *name, const char *const **templates,
                                    size_t *count, const char *const **negative_templates,
                                    size_t *negative_count);

/* A multi-label zero-shot scorer, as CheXzero scores findings: several labels may hold for
 * one image at once, so each label gets its own probability, independent of the others.
 * Per label there are two embeddings, the ensemble of the label put into the positive
 * templates ("{}") and that of the negative templates ("no {}"), each the normalised mean of
 * its normalised prompt embeddings (as bmc_classifier_create() makes them). A label's
 * probability is the softmax over its own pair of logits (the model's logit scale x cosine
 * similarity with the image): exp(l_pos) / (exp(l_pos) + exp(l_neg)). CheXzero itself takes
 * the softmax of the bare cosines, which ranks the images of a label in the same order (the
 * same AUROC) with probabilities squeezed towards 0.5.
 * Immutable once made: any number of threads may use one scorer at once. */
typedef struct bmc_multilabel bmc_multilabel;

/* CheXzero's prompt pair, the defaults of bmc_multilabel_create(). */
#define BMC_DEFAULT_POSITIVE_TEMPLATE "{}"
#define BMC_DEFAULT_NEGATIVE_TEMPLATE "no {}"

/* Build a multi-label scorer for `label_count` labels (findings such as "pleural effusion").
 * Each template holds "{}" once, where the label goes. `positive_templates` may be NULL (with
 * positive_count 0) for BMC_DEFAULT_POSITIVE_TEMPLATE, `negative_templates` likewise for
 * BMC_DEFAULT_NEGATIVE_TEMPLATE; bmc_template_set() gives matching pairs by modality. Labels
 * and templates are copied. Runs the text tower on label_count x (positive_count +
 * negative_count) prompts. On success *out owns the scorer; free it with
 * bmc_multilabel_free(). It refers to the encoder's model, which must outlive it.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL encoder/labels/out, a NULL label, no labels, a
 * template without exactly one "{}"; the message says which), the errors of
 * bmc_text_encoder_encode(), BMC_ERR_OUT_OF_MEMORY. Not thread-safe on the same encoder. */
BMC_API bmc_status bmc_multilabel_create(bmc_text_encoder *encoder, const char *const *labels,
                                         size_t label_count,
                                         const char *const *positive_templates,
                                         size_t positive_count,
                                         const char *const *negative_templates,
                                         size_t negative_count, bmc_multilabel **out);

/* The number of labels; 0 if scorer is NULL. Thread-safe. */
BMC_API size_t bmc_multilabel_label_count(const bmc_multilabel *scorer);

/* Label `index` as given at creation, owned by the scorer; NULL if out of range. Thread-safe. */
BMC_API const char *bmc_multilabel_label(const bmc_multilabel *scorer, size_t index);

/* Each label's probability for `count` image embeddings (count x embed_dim, normalised or
 * not; a zero embedding gives 0.5 everywhere), written count x label_count, row-major, in
 * label order, to `probabilities` (`capacity` floats). Computed in double precision, rounded
 * once to float. Errors: BMC_ERR_INVALID_ARGUMENT (NULL, count 0, an embedding that is not
 * finite; nothing is written), BMC_ERR_BUFFER_TOO_SMALL. Thread-safe. */
BMC_API bmc_status bmc_multilabel_probabilities(const bmc_multilabel *scorer,
                                                const float *image_embeddings, size_t count,
                                                float *probabilities, size_t capacity);

/* Score one image: encode it with `encoder` (made from the scorer's model) and write each
 * label's probability, in label order, to `probabilities` (`capacity` floats, at least the
 * label count). Errors: BMC_ERR_INVALID_ARGUMENT (NULL, an encoder of another model),
 * BMC_ERR_BUFFER_TOO_SMALL, the errors of bmc_image_encoder_encode(). Not thread-safe on the
 * same encoder. */
BMC_API bmc_status bmc_multilabel_classify(const bmc_multilabel *scorer,
                                           bmc_image_encoder *encoder, const bmc_image *image,
                                           float *probabilities, size_t capacity);

/* Free a scorer. NULL is allowed. */
BMC_API void bmc_multilabel_free(bmc_multilabel *scorer);

/* ------------------------------------------------------------------------------------------ */
/* Text-prompted segmentation                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* A segmenter: a CLIPSeg-style decoder, stored in its own TorchScript archive (written by
 * tools/export/export_decoder.py or tools/train/train_segmentation.py; docs/segmentation.md has the format),
 * over a loaded model. Given an image and a text prompt ("Segment the liver in the abdominal
 * CT image") it computes:
 *   1. the image through the decoder's own preprocessing (bmc_segmenter_preprocess_options():
 *      open_clip's shortest-side resize and centre crop, or the squash resize to
 *      map_size x map_size, with the decoder's Pillow filter; bit-exact as for the encoders);
 *   2. the model's ViT block outputs that the decoder taps and the prompt's raw text embedding
 *      through the decoder: map_size x map_size logits over the preprocessed image
 *      (bmc_segment_logits());
 *   3. the sigmoid of the logits put back on the image's own width x height grid
 *      (bmc_segment()) with Pillow's mode "F" BILINEAR resize. For the squash resize the map
 *      is resized to the image's size. For the crop, the map covers only the centre crop of
 *      the resized image: the map is resized as part of that image (its edge pixels repeated
 *      outward, so the crop's border is not blended with anything), and every pixel whose
 *      centre lies outside the crop gets probability 0, since the model never saw it.
 * A decoder records the base model it was made for (its source, embedding size and image
 * size); loading checks them and runs model and decoder once to check that the tapped block
 * outputs fit the decoder. Immutable once loaded: any number of threads may segment with one
 * segmenter at once. */
typedef struct bmc_segmenter bmc_segmenter;

typedef struct bmc_segmenter_options {
    size_t struct_size;        /* sizeof(bmc_segmenter_options), set by the init function */
    int32_t check_base_source; /* non-zero (default): the model's source (bmc_model_source(),
                                * the checkpoint's digest) must equal the one the decoder
                                * records, i.e. the very weights it was trained on; zero
                                * accepts any base of matching sizes */
} bmc_segmenter_options;

/* Fill `options` with the defaults listed above. Thread-safe. */
BMC_API void bmc_segmenter_options_init(bmc_segmenter_options *options);

/* Load the decoder archive at `path` for `model`, onto the model's device and in its dtype.
 * `options` may be NULL for the defaults. The model must outlive the segmenter. On success
 * *out owns the segmenter; free it with bmc_segmenter_free().
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, bad options), BMC_ERR_IO (missing or unreadable
 * file), BMC_ERR_CORRUPT_DATA (not a TorchScript archive, or damaged), BMC_ERR_VERSION (a
 * decoder format version this library does not read), BMC_ERR_MODEL (not a decoder, e.g. a
 * model bundle; decoder.json missing or inconsistent; made for another base model: the
 * message says what differs), BMC_ERR_OUT_OF_MEMORY, BMC_ERR_INTERNAL. Thread-safe. */
BMC_API bmc_status bmc_segmenter_load(const bmc_model *model, const char *path,
                                      const bmc_segmenter_options *options,
                                      bmc_segmenter **out);

/* Free a segmenter. NULL is allowed. No other call may be using it. */
BMC_API void bmc_segmenter_free(bmc_segmenter *segmenter);

/* The decoder's name and provenance as recorded by the exporter, owned by the segmenter; ""
 * if segmenter is NULL. Thread-safe. */
BMC_API const char *bmc_segmenter_name(const bmc_segmenter *segmenter);
BMC_API const char *bmc_segmenter_source(const bmc_segmenter *segmenter);

/* The side of the decoder's logits map, which is the model's image size (224 for
 * BiomedCLIP); 0 if segmenter is NULL. Thread-safe. */
BMC_API int32_t bmc_segmenter_map_size(const bmc_segmenter *segmenter);

/* Copy the decoder's preprocessing into `options` (initialised with
 * bmc_preprocess_options_init()): bmc_preprocess_rgb8() with it shows the image the decoder
 * sees, pixel for pixel the geometry of bmc_segment_logits(). Errors: BMC_ERR_INVALID_ARGUMENT.
 * Thread-safe. */
BMC_API bmc_status bmc_segmenter_preprocess_options(const bmc_segmenter *segmenter,
                                                    bmc_preprocess_options *options);

/* The decoder's logits for one image under `count` prompts (UTF-8, each its own query; texts
 * longer than the model's context are truncated as open_clip does): count maps of
 * map_size x map_size floats, row-major, in the geometry of the preprocessed image, written to
 * `logits` (`capacity` floats). All prompts go through one forward pass.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, count 0, a NULL prompt), BMC_ERR_INVALID_UTF8,
 * BMC_ERR_BUFFER_TOO_SMALL, BMC_ERR_OUT_OF_MEMORY, BMC_ERR_INTERNAL (libtorch failed; the
 * message says why). Thread-safe. */
BMC_API bmc_status bmc_segment_logits(const bmc_segmenter *segmenter, const bmc_image *image,
                                      const char *const *prompts, size_t count, float *logits,
                                      size_t capacity);

/* Probability maps at the image's own resolution: for each of `count` prompts, height x
 * width floats in 0..1 (row-major, rows top to bottom as the image's), the sigmoid of
 * bmc_segment_logits() mapped back as step 3 above describes; written one map after another to
 * `probabilities` (`capacity` floats, at least count x width x height).
 * Errors: as bmc_segment_logits(). Thread-safe. */
BMC_API bmc_status bmc_segment(const bmc_segmenter *segmenter, const bmc_image *image,
                               const char *const *prompts, size_t count, float *probabilities,
                               size_t capacity);

/* A binary mask from `count` probabilities: mask[i] = 255 where probabilities[i] > threshold,
 * else 0 (NaN gives 0). 0.5 is the usual threshold. Write it as a grey PNG with
 * bmc_png_write_file(path, mask, width, height, 1).
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, NaN threshold). Thread-safe. */
BMC_API bmc_status bmc_mask_threshold(const float *probabilities, size_t count, float threshold,
                                      uint8_t *mask);

/* The image in 8-bit RGB (as bmc_image_to_rgb8()) with `color` (R, G, B) blended in at
 * opacity `alpha` (0..1) wherever mask (width x height bytes, `mask_size` of them) is
 * non-zero, exactly as Pillow's Image.composite(Image.blend(rgb, colour, alpha), rgb, mask)
 * computes it: each channel in1 + alpha * (in2 - in1) in float, truncated. Writes width x
 * height x 3 bytes to `rgb` (`size` bytes); save it with bmc_png_write_file(..., 3).
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, alpha outside 0..1, mask too small),
 * BMC_ERR_BUFFER_TOO_SMALL. Thread-safe. */
BMC_API bmc_status bmc_mask_overlay(const bmc_image *image, const uint8_t *mask,
                                    size_t mask_size, const uint8_t color[3], float alpha,
                                    uint8_t *rgb, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* Visual question answering                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* A VQA head: a classifier over an answer vocabulary that fuses the model's features of an
 * image and of a question, stored in its own TorchScript archive with its answer list and
 * question-type rules (written by tools/train/train_vqa.py or tools/export/export_vqa_head.py;
 * docs/vqa.md has the format). For one image and any number of questions it computes:
 *   1. the image through the model's preprocessing, the questions through its tokenizer
 *      (questions longer than the context are truncated as open_clip does);
 *   2. the base features the head reads (image tokens and/or image embedding, question tokens
 *      and/or question embedding) and the head's logits over its answers (bmc_vqa_logits());
 *   3. the answers a question may get: with BMC_VQA_AUTO, the first of the head's question-type
 *      rules that applies restricts a closed question to its answer set (a yes/no question
 *      starting "is", "does", ... to yes and no; a "... X or Y?" question to the answers it
 *      names); an open question may get every answer;
 *   4. a softmax over the allowed answers only (the others get probability 0), and the k most
 *      probable of them (bmc_vqa_ask()).
 * A head records the base model whose features it was trained on (its source, embedding size,
 * image size and tower widths). Loading checks the first three against the model and runs the
 * head once on dummy inputs of the recorded widths to check its answer count; every call checks
 * the model's features against the widths. Immutable once loaded: any number of threads may ask
 * one head at once. */
typedef struct bmc_vqa bmc_vqa;

/* Load the head archive at `path` for `model`, onto the model's device and in its dtype. The
 * model must outlive the head. On success *out owns the head; free it with bmc_vqa_free().
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_IO (missing or unreadable file),
 * BMC_ERR_CORRUPT_DATA (not a TorchScript archive, or damaged), BMC_ERR_VERSION (a head format
 * version this library does not read), BMC_ERR_MODEL (not a VQA head, e.g. a model bundle;
 * vqa_head.json missing or inconsistent; a head trained on another base model: the message
 * says what differs; a head whose output does not match its answer list),
 * BMC_ERR_UNSUPPORTED (an input or rule kind this library does not know),
 * BMC_ERR_OUT_OF_MEMORY, BMC_ERR_INTERNAL. Thread-safe. */
BMC_API bmc_status bmc_vqa_load(const bmc_model *model, const char *path, bmc_vqa **out);

/* Free a head. NULL is allowed. No other call may be using it. */
BMC_API void bmc_vqa_free(bmc_vqa *vqa);

/* The head's name as recorded by its exporter, owned by the head; "" if vqa is NULL.
 * Thread-safe. */
BMC_API const char *bmc_vqa_name(const bmc_vqa *vqa);

/* The number of answers in the head's vocabulary; 0 if vqa is NULL. Thread-safe. */
BMC_API size_t bmc_vqa_answer_count(const bmc_vqa *vqa);

/* Answer `index` (0 .. answer_count - 1), UTF-8, owned by the head; NULL if out of range.
 * Thread-safe. */
BMC_API const char *bmc_vqa_answer(const bmc_vqa *vqa, size_t index);

/* The number of the head's question-type rules, and the name of rule `index` ("yes/no",
 * "choice"; NULL if out of range). Thread-safe. */
BMC_API size_t bmc_vqa_rule_count(const bmc_vqa *vqa);
BMC_API const char *bmc_vqa_rule_name(const bmc_vqa *vqa, size_t index);

/* Which rule applies to `question`: *rule receives its index, or -1 when none does (an open
 * question). Words are compared in ASCII lowercase. Errors: BMC_ERR_INVALID_ARGUMENT (NULL),
 * BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_vqa_question_rule(const bmc_vqa *vqa, const char *question, int32_t *rule);

/* Question types for bmc_vqa_options. */
#define BMC_VQA_AUTO 0 /* the head's rules restrict closed questions to their answer set */
#define BMC_VQA_OPEN 1 /* every question may get every answer */

typedef struct bmc_vqa_options {
    size_t struct_size;         /* sizeof(bmc_vqa_options), set by the init function */
    int32_t question_type;      /* BMC_VQA_AUTO (default) or BMC_VQA_OPEN */
    float min_probability;      /* answers less probable than this (0..1) are left out: their
                                 * slots get -1; default 0 (keep all) */
    const char *const *choices; /* NULL (default), or choice_count answers of the head (exactly
                                 * as bmc_vqa_answer() gives them): every question is multiple
                                 * choice among them, whatever question_type says */
    size_t choice_count;
} bmc_vqa_options;

/* Fill `options` with the defaults listed above. Thread-safe. */
BMC_API void bmc_vqa_options_init(bmc_vqa_options *options);

/* The head's raw logits for `count` questions (UTF-8) about one image: count x answer_count
 * floats, row-major, written to `logits` (`capacity` floats). All questions go through one
 * forward pass, and the image's features are computed once.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, count 0, a NULL question), BMC_ERR_INVALID_UTF8,
 * BMC_ERR_BUFFER_TOO_SMALL, BMC_ERR_OUT_OF_MEMORY, BMC_ERR_MODEL (the base's features do not
 * have the sizes the head reads), BMC_ERR_INTERNAL (libtorch failed; the message says why).
 * Thread-safe. */
BMC_API bmc_status bmc_vqa_logits(const bmc_vqa *vqa, const bmc_image *image,
                                  const char *const *questions, size_t count, float *logits,
                                  size_t capacity);

/* Answer `count` questions about one image: for question q, rank r (0-based, most probable
 * first; ties: the lower answer index first), answers[q * k + r] receives the answer's index
 * (bmc_vqa_answer() names it) and probabilities[q * k + r] its probability among the answers
 * the question may get (steps 3 and 4 above). Slots beyond the allowed answers, or below
 * min_probability, get -1 and 0. `capacity` is the number of entries each array holds (at
 * least count x k); 1 <= k <= answer_count. `options` may be NULL for the defaults.
 * Errors: those of bmc_vqa_logits(), BMC_ERR_INVALID_ARGUMENT (k out of range, bad options),
 * BMC_ERR_NOT_FOUND (a choice that is not an answer of the head). Thread-safe. */
BMC_API bmc_status bmc_vqa_ask(const bmc_vqa *vqa, const bmc_image *image,
                               const char *const *questions, size_t count,
                               const bmc_vqa_options *options, size_t k, int32_t *answers,
                               float *probabilities, size_t capacity);

/* Zero-shot answering needs no head: each candidate answer is turned into a statement, and
 * the candidates are ranked by the CLIP similarity of their statement with the image. The
 * statement of a yes/no question "Is there X?" (or are/was/were) is "there is X" for "yes"
 * and "there is no X" for "no" (a leading a/an/any/some of X dropped); for every other
 * question and answer it is the question, a space and the answer, both without surrounding
 * whitespace ("What organ is shown? liver"), which ranks the answers by how well they complete
 * the question. Best for closed and multiple-choice questions about what an image shows.
 *
 * The statement for `question` and `answer`: `needed` (may be NULL) receives its size in bytes
 * with the terminating NUL; with statement == NULL only the size is reported, otherwise the
 * statement is written to `statement` (`capacity` bytes).
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL question/answer), BMC_ERR_BUFFER_TOO_SMALL (nothing
 * is written), BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_vqa_statement(const char *question, const char *answer, char *statement,
                                     size_t capacity, size_t *needed);

/* Zero-shot probabilities of `count` candidate answers to `question` about `image`: the
 * softmax over the candidates of logit scale x cosine similarity between the image's
 * embedding and each statement's, written in candidate order to `probabilities` (`capacity`
 * floats, at least count). Rank them with bmc_top_k(). Both encoders must come from the same
 * model. Errors: BMC_ERR_INVALID_ARGUMENT (NULL, count 0, encoders of different models), the
 * errors of the encoders, BMC_ERR_BUFFER_TOO_SMALL. Not thread-safe on the same encoders. */
BMC_API bmc_status bmc_vqa_zero_shot(bmc_image_encoder *image_encoder,
                                     bmc_text_encoder *text_encoder, const bmc_image *image,
                                     const char *question, const char *const *candidates,
                                     size_t count, float *probabilities, size_t capacity);

/* ------------------------------------------------------------------------------------------ */
/* Embedding index and retrieval                                                              */
/* ------------------------------------------------------------------------------------------ */

/* An in-memory collection of embedding vectors for exact nearest-neighbour search by cosine
 * similarity: image embeddings of an archive (text-to-image search), caption embeddings of a
 * caption bank (captioning by retrieval), or any other vectors of one dimension.
 *
 * Every entry has a caller-chosen id (a non-negative int64, unique within the index), its
 * vector, L2-normalised when added, and an optional UTF-8 text (a caption, a file name) that
 * comes back with the search results. Entries keep the order in which they were added; that
 * position breaks ties between equal scores (the earlier entry ranks first), so results are
 * deterministic and do not depend on the number of threads.
 *
 * Vectors are stored as float32 (BMC_DTYPE_F32), float16 (BMC_DTYPE_F16, half the memory,
 * scores within about 1e-3 of float32) or bfloat16 (BMC_DTYPE_BF16, on every CPU: half the
 * memory, and the queries are rounded to bfloat16 too, so scores are within about 1e-2 of
 * float32 and searches run 1.5 to 1.8 times as fast as float32 on CPUs with AVX512_BF16).
 * Searches compute exact dot products with SIMD kernels chosen at run time (AVX-512, or
 * AVX2/FMA/F16C, where the CPU has them, portable C otherwise; they may differ in the last
 * bits of a score).
 *
 * Thread-safety: searches, lookups and saves only read the index, so any number of threads
 * may run them at once on one index. Adding, removing, appending and freeing need exclusive
 * access: no other call may use the index meanwhile (serialise them, e.g. with a rwlock).
 *
 * The file format (bmc_index_save, bmc_index_load, bmc_index_map) is little-endian:
 *   bytes  0..7   magic "BMCINDEX"
 *          8..11  format version, uint32 (1)
 *         12..15  dtype, uint32 (BMC_DTYPE_F32, BMC_DTYPE_F16 or BMC_DTYPE_BF16)
 *         16..19  dim, uint32
 *         20..23  zero
 *         24..31  count, uint64: the number of entries
 *         32..39  text_bytes, uint64: the size of the text section
 *         40..55  CRC-32 (as zlib's crc32) of each section: vectors, ids, text offsets, texts
 *         56..59  zero
 *         60..63  CRC-32 of bytes 0..59
 * followed by four sections, each starting at the next multiple of 64 bytes (zero padding in
 * between), the last one ending the file:
 *   vectors       count x dim values of the dtype, row-major, normalised
 *   ids           count int64
 *   text offsets  count + 1 uint64: entry i's text is bytes offsets[i]..offsets[i+1] of the
 *                 text section; offsets[0] = 0 and offsets[count] = text_bytes
 *   texts         text_bytes bytes of UTF-8 without terminators (and without NUL bytes)
 * See docs/index-format.md. */
typedef struct bmc_index bmc_index;

/* Make an empty index for vectors of `dim` floats (1..65536), stored as `dtype`
 * (BMC_DTYPE_F32, BMC_DTYPE_F16 or BMC_DTYPE_BF16). On success *out owns the index; free it with
 * bmc_index_free(). Errors: BMC_ERR_INVALID_ARGUMENT (NULL out, dim out of range),
 * BMC_ERR_UNSUPPORTED (another dtype), BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_index_create(int32_t dim, int32_t dtype, bmc_index **out);

/* Free an index (and unmap its file if it was opened with bmc_index_map()). NULL is
 * allowed. No other call may be using it. */
BMC_API void bmc_index_free(bmc_index *index);

/* Add `count` entries: `vectors` holds count x dim floats (row-major), `ids` their ids
 * (non-negative, unique, and not already in the index), and `texts` their texts: NULL for
 * none, or `count` NUL-terminated UTF-8 strings (a NULL entry stands for ""). Each vector is
 * copied and scaled to unit length (then rounded to nearest even for BMC_DTYPE_F16 and
 * BMC_DTYPE_BF16); the texts
 * are copied. All or nothing: on error the index is unchanged.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL index/vectors/ids, count 0, a negative or duplicate
 * id, a vector that is zero or not finite; the message names the entry),
 * BMC_ERR_INVALID_UTF8 (a text), BMC_ERR_UNSUPPORTED (a memory-mapped index is read-only),
 * BMC_ERR_OUT_OF_MEMORY. Needs exclusive access to the index. */
BMC_API bmc_status bmc_index_add(bmc_index *index, const float *vectors, size_t count,
                                 const int64_t *ids, const char *const *texts);

/* Remove the entries with the given ids; ids not in the index are skipped. The others keep
 * their order. `removed` (may be NULL) receives the number of entries removed. Takes time
 * proportional to the size of the index, so remove many ids in one call.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL index, NULL ids with count > 0),
 * BMC_ERR_UNSUPPORTED (memory-mapped), BMC_ERR_OUT_OF_MEMORY. Needs exclusive access. */
BMC_API bmc_status bmc_index_remove(bmc_index *index, const int64_t *ids, size_t count,
                                    size_t *removed);

/* Append every entry of `other` (in its order, with its ids and texts) to `index`, e.g. to
 * merge shards built in parallel. The dims must match; the dtypes may differ (vectors are
 * converted). All or nothing. `other` is only read.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, the same index twice, different dims, an id of
 * `other` already in `index`), BMC_ERR_UNSUPPORTED (index is memory-mapped),
 * BMC_ERR_OUT_OF_MEMORY. Needs exclusive access to `index`. */
BMC_API bmc_status bmc_index_append(bmc_index *index, const bmc_index *other);

/* The index's vector dimension, storage dtype (BMC_DTYPE_*) and number of entries; 0 if
 * index is NULL. Thread-safe. */
BMC_API int32_t bmc_index_dim(const bmc_index *index);
BMC_API int32_t bmc_index_dtype(const bmc_index *index);
BMC_API size_t bmc_index_count(const bmc_index *index);

/* The id of the entry at `position` (0 .. count - 1, in the order entries were added), to
 * walk the whole index. Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_NOT_FOUND (position
 * past the end). Thread-safe. */
BMC_API bmc_status bmc_index_id_at(const bmc_index *index, size_t position, int64_t *id);

/* Copy the stored (normalised, for float16 and bfloat16 rounded) vector of entry `id` as dim
 * floats to `vector` (`capacity` floats). Errors: BMC_ERR_INVALID_ARGUMENT (NULL),
 * BMC_ERR_NOT_FOUND, BMC_ERR_BUFFER_TOO_SMALL. Thread-safe. */
BMC_API bmc_status bmc_index_get_vector(const bmc_index *index, int64_t id, float *vector,
                                        size_t capacity);

/* The text of entry `id`. `needed` (may be NULL) receives its size in bytes including the
 * terminating NUL. With text == NULL only the size is reported (a size query); otherwise the
 * text and a NUL are copied to `text`, which holds `capacity` bytes.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL index), BMC_ERR_NOT_FOUND (no such id),
 * BMC_ERR_BUFFER_TOO_SMALL (capacity < needed; nothing is written). Thread-safe. */
BMC_API bmc_status bmc_index_get_text(const bmc_index *index, int64_t id, char *text,
                                      size_t capacity, size_t *needed);

typedef struct bmc_index_search_options {
    size_t struct_size; /* sizeof(bmc_index_search_options), set by the init function */
    int32_t threads;    /* worker threads; 0 (default): one per online CPU, fewer for small
                         * indexes; 1: only the calling thread. The results are the same for
                         * every value. */
} bmc_index_search_options;

/* Fill `options` with the defaults listed above. Thread-safe. */
BMC_API void bmc_index_search_options_init(bmc_index_search_options *options);

/* Exact top-k search for `query_count` queries (query_count x dim floats, row-major; each is
 * normalised, so the score is the cosine similarity). For query q, rank r (0-based, best
 * first) goes to ids[q * k + r] and scores[q * k + r]; equal scores rank the entry added
 * earlier first. When the index has fewer than k entries, the remaining slots get id -1 and
 * score -INFINITY. `capacity` is the number of entries `ids` and `scores` can each hold (at
 * least query_count x k); `scores` may be NULL. `options` may be NULL for the defaults.
 * Many queries at once are much faster than one at a time (blocked matrix products).
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL index/queries/ids, query_count 0, k < 1, a query
 * that is zero or not finite, bad options), BMC_ERR_BUFFER_TOO_SMALL, BMC_ERR_OUT_OF_MEMORY.
 * Thread-safe (concurrent searches on one index are fine; none may overlap an add, remove,
 * append or free). */
BMC_API bmc_status bmc_index_search(const bmc_index *index, const float *queries,
                                    size_t query_count, int32_t k,
                                    const bmc_index_search_options *options, int64_t *ids,
                                    float *scores, size_t capacity);

/* Write the index to `path` in the format described above. The file is written under a
 * temporary name next to it and renamed into place, so readers (and mappings) of an older
 * file at `path` never see a half-written one. Errors: BMC_ERR_INVALID_ARGUMENT (NULL),
 * BMC_ERR_IO (the message has the system's reason). Thread-safe (reads the index). */
BMC_API bmc_status bmc_index_save(const bmc_index *index, const char *path);

/* Read an index file written by bmc_index_save() into memory, checking its structure and
 * every checksum. On success *out owns a new, modifiable index.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_IO (cannot open or read),
 * BMC_ERR_CORRUPT_DATA (not an index file, truncated, a checksum mismatch, inconsistent
 * sections; the message says which), BMC_ERR_VERSION (a newer format version),
 * BMC_ERR_UNSUPPORTED (a dtype this library does not know), BMC_ERR_OUT_OF_MEMORY.
 * Thread-safe. */
BMC_API bmc_status bmc_index_load(const char *path, bmc_index **out);

/* Flags for bmc_index_map(). */
#define BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM 1u /* trust the vector section: open in time
                                               * independent of its size */

/* Open an index file read-only by memory-mapping it, for collections larger than RAM: the
 * operating system pages vectors in as searches touch them. Ids, text offsets and texts are
 * checked as by bmc_index_load(); the vector section's checksum too unless `flags` has
 * BMC_INDEX_MAP_SKIP_VECTOR_CHECKSUM (which avoids reading the whole file at open). Only an
 * id lookup table is built in memory (16 bytes per entry, more with padding). The result
 * supports every read-only call; add, remove and append into it fail with
 * BMC_ERR_UNSUPPORTED (copy it with bmc_index_create() + bmc_index_append() to modify it).
 * The file must not be modified or truncated while mapped (bmc_index_save() replaces files by
 * renaming, which is safe). Errors: as bmc_index_load(). Thread-safe. */
BMC_API bmc_status bmc_index_map(const char *path, uint32_t flags, bmc_index **out);

/* ---- index sets: several index files searched as one -------------------------------------- */

/* An index set is a read-only, ordered list of index files ("shards"), each memory-mapped,
 * that searches as one index: bmc_index_set_search() returns exactly what bmc_index_search()
 * returns on a single index holding the shards' entries in order (shard 0's entries, then
 * shard 1's, ... as bmc_index_append() would join them): the same ids, the same scores to the
 * bit, and ties broken the same way (the earlier shard first, then the earlier entry). So an
 * archive embedded in parallel into many files (docs/scale-out.md) needs no merge step.
 *
 * All shards must have the same dim and storage dtype (scores of different dtypes would not
 * be those of any single index), and every id must be unique across the whole set, as in one
 * index: give each shard its own id range (e.g. the shard number in the high bits, or the
 * entry's position in the whole collection; docs/index-format.md). Opening checks this; when
 * the shards' id ranges do not overlap it costs nothing more than reading the ids.
 *
 * A manifest is a small text file naming a set's shards with their sizes and checksums, so
 * that a set is opened as one file and a replaced, truncated or missing shard is detected
 * before any search (format: docs/index-format.md). Shard paths in a manifest are relative to
 * the manifest's folder (or absolute).
 *
 * Thread-safety: a set is immutable once opened; any number of threads may search and look
 * up in it at once. Freeing needs exclusive access. */
typedef struct bmc_index_set bmc_index_set;

/* Open the index files `paths[0..count)` (count >= 1) as one set, in that order, each with
 * bmc_index_map() and `flags` (BMC_INDEX_MAP_*). On success *out owns the set; free it with
 * bmc_index_set_free(). An empty shard (no entries) is allowed.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, count 0, unknown flags, shards of different dims or
 * dtypes, an id in two shards; the message names the files), and those of bmc_index_map()
 * for each file (the message names it). Thread-safe. */
BMC_API bmc_status bmc_index_set_open(const char *const *paths, size_t count, uint32_t flags,
                                      bmc_index_set **out);

/* Open the set a manifest file describes (written by bmc_index_set_write_manifest() or any
 * other writer of the format): each shard is mapped as by bmc_index_set_open() and must have
 * the size, entry count, dim, dtype and header checksum the manifest records (the header
 * checksum covers the checksums of every section, which mapping verifies).
 * Errors: as bmc_index_set_open(), plus BMC_ERR_IO (cannot read the manifest or a shard),
 * BMC_ERR_CORRUPT_DATA (a malformed or damaged manifest, or a shard that differs from what it
 * records; the message names the line or the shard), BMC_ERR_VERSION (a newer manifest
 * version), BMC_ERR_UNSUPPORTED (a dtype this library does not know), BMC_ERR_LIMIT (a
 * manifest over 64 MiB). Thread-safe. */
BMC_API bmc_status bmc_index_set_open_manifest(const char *path, uint32_t flags,
                                               bmc_index_set **out);

/* Write a manifest at `path` for the shards `shards[0..count)`, which are given as they will
 * be recorded: relative to the manifest's folder, or absolute. The shards are first opened as
 * a set (bmc_index_set_open() with `flags`), so a manifest is only written for a valid set.
 * The file is written under a temporary name and renamed into place, as bmc_index_save().
 * Errors: those of bmc_index_set_open(), BMC_ERR_INVALID_ARGUMENT (a shard path that is empty
 * or holds a line break), BMC_ERR_IO. Thread-safe. */
BMC_API bmc_status bmc_index_set_write_manifest(const char *path, const char *const *shards,
                                                size_t count, uint32_t flags);

/* Free a set and unmap its shards; NULL is allowed. Shard handles from bmc_index_set_shard()
 * are invalid afterwards. No other call may be using the set. */
BMC_API void bmc_index_set_free(bmc_index_set *set);

/* The number of shards, the shards' dim and dtype, and the total number of entries; 0 if set
 * is NULL. Thread-safe. */
BMC_API size_t bmc_index_set_shard_count(const bmc_index_set *set);
BMC_API int32_t bmc_index_set_dim(const bmc_index_set *set);
BMC_API int32_t bmc_index_set_dtype(const bmc_index_set *set);
BMC_API size_t bmc_index_set_count(const bmc_index_set *set);

/* Shard `shard` (0 .. shard_count - 1) as a read-only index, owned by the set (valid until
 * bmc_index_set_free()): use it for bmc_index_get_text(), bmc_index_get_vector(),
 * bmc_index_id_at() and the like. NULL if set is NULL or shard is out of range. Thread-safe. */
BMC_API const bmc_index *bmc_index_set_shard(const bmc_index_set *set, size_t shard);

/* Which shard holds entry `id`: *shard receives its number (then ask that shard for the
 * entry's text or vector). Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_NOT_FOUND (no
 * shard has the id). Thread-safe. */
BMC_API bmc_status bmc_index_set_find(const bmc_index_set *set, int64_t id, size_t *shard);

/* Exact top-k search over every shard, with the arguments, results and errors of
 * bmc_index_search(): the results are those of one index holding all the shards' entries in
 * shard order (see above), for any `threads` option. Large shards are searched one after
 * another with every thread, small ones (under 8192 entries per thread) side by side with one
 * thread each; the hits are merged, so the cost is about that of one index of all the entries
 * plus a merge of shard_count x k hits per query. Thread-safe. */
BMC_API bmc_status bmc_index_set_search(const bmc_index_set *set, const float *queries,
                                        size_t query_count, int32_t k,
                                        const bmc_index_search_options *options, int64_t *ids,
                                        float *scores, size_t capacity);

/* ------------------------------------------------------------------------------------------ */
/* Captioning by retrieval and image search                                                   */
/* ------------------------------------------------------------------------------------------ */

/* These calls join the encoders and the index: a caption bank is an index of caption
 * embeddings with the captions as texts; an image collection is an index of image embeddings
 * with the file names as texts. Captioning an image is a search of the bank with the image's
 * embedding; searching images by text is a search of the collection with the text's
 * embedding. Progress and cancellation go through the encoder's progress callback, counted
 * over the whole file or folder. */

/* Add every line of the UTF-8 text file at `path` (one caption a line, "\n" or "\r\n" line
 * ends, empty lines skipped) to `index`, encoded with `encoder` (normalised embeddings), with
 * id = first_id + the line's 0-based number and the caption as its text. The index's dim must
 * be the model's embedding dim. Lines are encoded in chunks, so a bank of any size needs
 * memory only for its index. `added` (may be NULL) receives the number of captions added.
 * On error, captions of earlier chunks stay added (the count says how many).
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, dim mismatch), BMC_ERR_IO, BMC_ERR_INVALID_UTF8
 * (the message gives the line), the errors of bmc_text_encoder_encode() and bmc_index_add().
 * Not thread-safe on the same encoder or index. */
BMC_API bmc_status bmc_index_add_text_file(bmc_index *index, bmc_text_encoder *encoder,
                                           const char *path, int64_t first_id, size_t *added);

/* Add the PNG, JPEG and DICOM files of the folder `directory` (not its subfolders; files ending in
 * .png, .jpg, .jpeg or .dcm in any case, in byte order of their names) to `index`, encoded with
 * `encoder` (normalised embeddings), with ids first_id, first_id + 1, ... in that order and the
 * file name (without the folder) as text. Files that cannot be decoded are skipped, counted in
 * `skipped` and logged at BMC_LOG_WARN with the reason (running out of memory while decoding
 * one is not skipped: the call fails with BMC_ERR_OUT_OF_MEMORY). `added` and `skipped` may be
 * NULL.
 * Files are decoded as by bmc_image_encoder_encode_files(), on its decode threads while the
 * model runs, and added a batch at a time: at most two batches of tensors are in memory,
 * whatever the folder's size. On error, batches added before it stay added (`added` says how
 * many entries).
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, dim mismatch), BMC_ERR_IO (cannot read the folder),
 * the errors of bmc_image_encoder_encode() and bmc_index_add(). Not thread-safe on the same
 * encoder or index. */
BMC_API bmc_status bmc_index_add_image_directory(bmc_index *index, bmc_image_encoder *encoder,
                                                 const char *directory, int64_t first_id,
                                                 size_t *added, size_t *skipped);

/* Captioning by retrieval: the k entries of `index` (a caption bank) closest to the image, best
 * first, into ids[k] and scores[k] (cosine similarities; scores may be NULL); fetch each
 * caption with bmc_index_get_text(). Slots past the index's size get id -1.
 * Errors: those of bmc_image_encoder_encode() and bmc_index_search(). Not thread-safe on the
 * same encoder. */
BMC_API bmc_status bmc_index_search_image(const bmc_index *index, bmc_image_encoder *encoder,
                                          const bmc_image *image, int32_t k, int64_t *ids,
                                          float *scores);

/* Text-to-image search: the k entries of `index` (an image collection) closest to the text,
 * as bmc_index_search_image(). Errors: those of bmc_text_encoder_encode() and
 * bmc_index_search(). Not thread-safe on the same encoder. */
BMC_API bmc_status bmc_index_search_text(const bmc_index *index, bmc_text_encoder *encoder,
                                         const char *text, int32_t k, int64_t *ids,
                                         float *scores);

/* A composed query (image + text -> image, as ALIGN shows: "this image, but with an
 * effusion"): the normalised weighted sum of an image's and a text's embeddings,
 *   q = ((1 - w) i / |i| + w t / |t|) / |(1 - w) i / |i| + w t / |t||,  w = text_weight,
 * written as `dim` floats to `query`. w = 0 searches by the image alone, w = 1 by the text
 * alone; between, the text moves the query away from the image towards what it says.
 * Computed in double precision, rounded once to float. Errors: BMC_ERR_INVALID_ARGUMENT (NULL,
 * dim 0, text_weight outside 0..1 or NaN, an embedding that is zero or not finite, a sum that
 * is zero because the two cancel). Thread-safe. */
BMC_API bmc_status bmc_compose_query(const float *image_embedding, const float *text_embedding,
                                     size_t dim, float text_weight, float *query);

/* Composed search: the k entries of `index` (an image collection) closest to the composed
 * query of `image` (encoded with image_encoder) and `text` (encoded with text_encoder) with
 * bmc_compose_query(), best first, as bmc_index_search_image() writes them. Both encoders must
 * come from one model. Errors: BMC_ERR_INVALID_ARGUMENT (NULL, encoders of different models,
 * an index of another dim, text_weight outside 0..1), those of the encoders, of
 * bmc_compose_query() and of bmc_index_search(). Not thread-safe on the same encoders. */
BMC_API bmc_status bmc_index_search_composed(const bmc_index *index,
                                             bmc_image_encoder *image_encoder,
                                             bmc_text_encoder *text_encoder,
                                             const bmc_image *image, const char *text,
                                             float text_weight, int32_t k, int64_t *ids,
                                             float *scores);

/* ------------------------------------------------------------------------------------------ */
/* Caption metrics                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Scores of generated (or retrieved) captions against reference captions, as image captioning
 * and report generation papers report them. docs/caption-metrics.md defines each metric and
 * names the implementation it reproduces.
 *
 * Tokenisation, the same for every metric: the text must be valid UTF-8; every code point is
 * lowercased (Unicode simple case mapping); ASCII whitespace and ASCII punctuation
 * (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~) separate tokens and are dropped; a token is a maximal
 * run of other code points. So "Left-sided effusion." gives "left", "sided", "effusion". */

/* Metrics, for bmc_caption_score(). */
#define BMC_CAPTION_BLEU_1  1 /* nltk corpus_bleu, weights (1) */
#define BMC_CAPTION_BLEU_2  2 /* weights (1/2, 1/2) */
#define BMC_CAPTION_BLEU_3  3 /* weights (1/3, 1/3, 1/3) */
#define BMC_CAPTION_BLEU_4  4 /* weights (1/4, 1/4, 1/4, 1/4) */
#define BMC_CAPTION_ROUGE_L 5 /* coco-caption's ROUGE-L (LCS F-measure, beta 1.2) */
#define BMC_CAPTION_METEOR  6 /* nltk meteor_score: exact and Porter-stem stages, no WordNet */
#define BMC_CAPTION_CIDER_D 7 /* coco-caption's CIDEr-D (n = 1..4, sigma 6, clipping, x10) */

typedef struct bmc_caption_options {
    size_t struct_size;     /* sizeof(bmc_caption_options), set by the init function */
    int32_t bleu_smoothing; /* 0 (default): none, as nltk without a smoothing function;
                             * 1..4: nltk's SmoothingFunction().method1 .. method4 */
    double bleu_epsilon;    /* method1's epsilon; default 0.1 */
    double bleu_k;          /* method4's k; default 5 */
    double rouge_beta;      /* ROUGE-L's beta (recall weight); default 1.2 */
    double meteor_alpha;    /* METEOR's alpha, beta, gamma; defaults 0.9, 3.0, 0.5 */
    double meteor_beta;
    double meteor_gamma;
    double cider_sigma;     /* CIDEr-D's length penalty sigma; default 6.0 */
} bmc_caption_options;

/* Fill `options` with the defaults listed above. Thread-safe. */
BMC_API void bmc_caption_options_init(bmc_caption_options *options);

/* Score `count` candidate captions against their references with one metric.
 * Candidate i has reference_counts[i] (>= 1) references; `references` lists them all, those
 * of candidate 0 first, then those of candidate 1, and so on.
 * `corpus_score` (may be NULL) receives the corpus-level score: for BLEU the corpus BLEU
 * (n-gram counts and lengths summed over the corpus before dividing), for the others the mean
 * of the per-candidate scores. `per_candidate` (may be NULL, else `count` doubles) receives
 * each candidate's own score: sentence BLEU, ROUGE-L, METEOR (the best over its references),
 * CIDEr-D (with document frequencies from all references of the corpus, so it depends on the
 * whole corpus). `options` may be NULL for the defaults.
 * Errors: BMC_ERR_INVALID_ARGUMENT (an unknown metric, NULL arrays or strings, count 0, a
 * candidate without references, bad options; the message names the item),
 * BMC_ERR_INVALID_UTF8, BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_caption_score(int32_t metric, const char *const *candidates,
                                     size_t count, const char *const *references,
                                     const size_t *reference_counts,
                                     const bmc_caption_options *options,
                                     double *corpus_score, double *per_candidate);

/* ------------------------------------------------------------------------------------------ */
/* Few-shot linear probes                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* A linear probe: a classifier trained on a few labelled image embeddings, as CLIP's linear-probe
 * evaluation does it. It is multinomial logistic regression with L2 regularisation, the model
 * of scikit-learn's LogisticRegression(C=c, multi_class="multinomial", fit_intercept=True):
 * for K classes it holds a K x dim weight matrix W and K biases b, and gives embedding x the
 * probabilities softmax(W x + b). Training minimises, over the n examples (x_i, y_i),
 *
 *     0.5 * ||W||^2  +  c * sum_i -log softmax(W x_i + b)[y_i]
 *
 * (the biases are not penalised) with L-BFGS (Nocedal and Wright, Numerical Optimization,
 * algorithm 7.5: the two-loop recursion over the last 10 updates, started from zero), in double
 * precision. The objective is strictly convex in W, so the weights are those scikit-learn's
 * lbfgs solver converges to; the biases are determined only up to a common constant, which is
 * fixed by making them sum to zero (scikit-learn's lbfgs path keeps them so too).
 * docs/linear-probe.md has the solver's details, the file format and the parity figures.
 *
 * Train and apply a probe on embeddings of one kind: those the image encoder gives by default
 * (L2-normalised) are what the CLI and the bindings use. A probe records the model it was
 * trained for (name, source and embedding size) and refuses to load for another.
 * Immutable once made: any number of threads may use one probe at once. */
typedef struct bmc_probe bmc_probe;

typedef struct bmc_probe_options {
    size_t struct_size;     /* sizeof(bmc_probe_options), set by bmc_probe_options_init */
    double c;               /* inverse regularisation strength, scikit-learn's C, > 0 and finite;
                             * default 1 */
    int32_t max_iterations; /* L-BFGS iterations, >= 1; default 10000 */
    double tolerance;       /* stop when the largest gradient component is at most tolerance x
                             * max(1, its value at the start), in 0..1; default 1e-9 */
} bmc_probe_options;

/* Fill `options` with the defaults listed above. Thread-safe. */
BMC_API void bmc_probe_options_init(bmc_probe_options *options);

/* Train a probe for `model` (only its name, source and embedding size are used) on `count`
 * embeddings (count x embed_dim floats, row-major) whose classes are classes[0..count), each an
 * index into labels[0..label_count). Every label must have at least one example, and there must
 * be at least two labels. Labels are copied (UTF-8, non-empty, no two equal). `options` may be
 * NULL for the defaults. Stopping at max_iterations before the tolerance is met is not an
 * error: bmc_probe_training() says whether it converged. On success *out owns the probe; free
 * it with bmc_probe_free().
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, count 0, fewer than two labels, a label that is
 * empty, repeated or not UTF-8, a class index out of range, a label without examples, an
 * embedding value that is NaN or infinite, bad options; the message names the example or the
 * label), BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_probe_train(const bmc_model *model, const float *embeddings, size_t count,
                                   const int32_t *classes, const char *const *labels,
                                   size_t label_count, const bmc_probe_options *options,
                                   bmc_probe **out);

/* Free a probe. NULL is allowed. No other call may be using it. */
BMC_API void bmc_probe_free(bmc_probe *probe);

/* The number of classes (labels); 0 if probe is NULL. Thread-safe. */
BMC_API size_t bmc_probe_label_count(const bmc_probe *probe);

/* Label `index` as given at training, owned by the probe; NULL if out of range. Thread-safe. */
BMC_API const char *bmc_probe_label(const bmc_probe *probe, size_t index);

/* The embedding size the probe reads; 0 if probe is NULL. Thread-safe. */
BMC_API int32_t bmc_probe_dim(const bmc_probe *probe);

/* The name and source of the model the probe was trained for (bmc_model_name(),
 * bmc_model_source()), owned by the probe; "" if probe is NULL. Thread-safe. */
BMC_API const char *bmc_probe_model_name(const bmc_probe *probe);
BMC_API const char *bmc_probe_model_source(const bmc_probe *probe);

/* How training went: the C it used, the L-BFGS iterations it ran and whether the gradient
 * tolerance was met (1) or max_iterations stopped it (0). Any out-pointer may be NULL.
 * Loaded probes report what their file records. Errors: BMC_ERR_INVALID_ARGUMENT (NULL
 * probe). Thread-safe. */
BMC_API bmc_status bmc_probe_training(const bmc_probe *probe, double *c, int32_t *iterations,
                                      int32_t *converged);

/* Copy the weights (label_count x dim floats, row-major, row k for label k) to `weights`
 * (`weight_capacity` floats) and the biases (label_count floats) to `biases` (`bias_capacity`
 * floats); either buffer may be NULL to skip it.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL probe), BMC_ERR_BUFFER_TOO_SMALL (nothing is
 * written). Thread-safe. */
BMC_API bmc_status bmc_probe_weights(const bmc_probe *probe, float *weights,
                                     size_t weight_capacity, float *biases, size_t bias_capacity);

/* Class probabilities softmax(W x + b) of `count` embeddings (count x dim floats, of the kind
 * the probe was trained on), written count x label_count, row-major, in label order, to
 * `probabilities` (`capacity` floats). Computed in double precision. Rank them with
 * bmc_top_k(); the prediction is the first.
 * Errors: BMC_ERR_INVALID_ARGUMENT (NULL, count 0, an embedding value that is NaN or infinite,
 * naming the row), BMC_ERR_BUFFER_TOO_SMALL. Thread-safe. */
BMC_API bmc_status bmc_probe_probabilities(const bmc_probe *probe, const float *embeddings,
                                           size_t count, float *probabilities, size_t capacity);

/* Write the probe to `path` (the format of docs/linear-probe.md: a 64-byte header with a
 * magic, a format version and CRC-32 checksums, then the model's name and source, the labels,
 * the weights and the biases as little-endian float32). The file is written under a temporary
 * name and renamed into place. Errors: BMC_ERR_INVALID_ARGUMENT (NULL), BMC_ERR_IO.
 * Thread-safe. */
BMC_API bmc_status bmc_probe_save(const bmc_probe *probe, const char *path);

/* Read a probe file written by bmc_probe_save(), checking its structure and checksums, and,
 * when `model` is not NULL, that it was trained for that model: the same name, source and
 * embedding size (NULL reads it unchecked, e.g. to inspect it). On success *out owns the
 * probe. Errors: BMC_ERR_INVALID_ARGUMENT (NULL path/out), BMC_ERR_IO (cannot open or read),
 * BMC_ERR_CORRUPT_DATA (not a probe file, truncated, a checksum mismatch, inconsistent fields,
 * non-finite weights), BMC_ERR_VERSION (a format version this library does not read),
 * BMC_ERR_MODEL (trained for another model; the message says what differs),
 * BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
BMC_API bmc_status bmc_probe_load(const bmc_model *model, const char *path, bmc_probe **out);

#ifdef __cplusplus
}
#endif

#endif /* BIOMEDCLIP_H */
