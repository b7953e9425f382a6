/* SPDX-License-Identifier: MIT */
/* The C face of the GDCM adapter (shim/dicom.cpp): the only functions through which lib/image
 * reaches GDCM. Every function here catches every C++ exception and turns it into a status
 * with the exception's text as the last-error message; none of them prints (GDCM's own
 * warnings are switched off). */
#ifndef BMC_SHIM_DICOM_H
#define BMC_SHIM_DICOM_H

#include "biomedclip.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A parsed DICOM file: its attributes, and its pixel data decoded on first request. */
typedef struct bmci_dicom bmci_dicom;

#define BMCI_DICOM_MAX_WINDOWS 16
#define BMCI_DICOM_TEXT 72 /* room for a UI (64), an LO (64) or a CS (16) value and its NUL */

/* The attributes the library uses, read from the data set as stored. Strings are trimmed of
 * DICOM padding and cut to fit; an absent attribute is "" or 0. */
typedef struct bmci_dicom_header {
    int32_t has_image;            /* GDCM found an image it can decode (pixel data and its module) */
    int32_t frames;               /* Number of Frames, 1 without it; 0 without an image */
    int32_t rows, columns;        /* 0 without an image */
    int32_t samples_per_pixel;
    int32_t bits_allocated, bits_stored, high_bit;
    int32_t pixel_representation; /* 0 unsigned, 1 two's complement */
    int32_t planar_configuration;
    int32_t has_rescale;          /* Rescale Slope or Rescale Intercept present */
    double rescale_slope, rescale_intercept;
    int32_t window_count;         /* pairs of Window Center / Width, at most BMCI_DICOM_MAX_WINDOWS */
    double window_center[BMCI_DICOM_MAX_WINDOWS];
    double window_width[BMCI_DICOM_MAX_WINDOWS];
    char window_explanation[BMCI_DICOM_MAX_WINDOWS][BMCI_DICOM_TEXT];
    int32_t has_voi_lut_sequence;      /* (0028,3010) present and not empty */
    int32_t has_modality_lut_sequence; /* (0028,3000) present and not empty */
    char voi_lut_function[BMCI_DICOM_TEXT];  /* (0028,1056), "" when absent */
    char photometric[BMCI_DICOM_TEXT];
    char modality[BMCI_DICOM_TEXT];
    char transfer_syntax[BMCI_DICOM_TEXT];
    char sop_instance_uid[BMCI_DICOM_TEXT];
    char series_instance_uid[BMCI_DICOM_TEXT];
    char study_instance_uid[BMCI_DICOM_TEXT];
    char why_no_image[160];       /* when has_image is 0: why (no pixel data, ...) */
} bmci_dicom_header;

/* The decoded pixel data of all frames, owned by the handle. Samples are in native byte order,
 * `bits_allocated` wide (1-bit data packed, least significant bit first, as DICOM stores it),
 * interleaved when planar_configuration is 0, else one plane per sample within each frame.
 * PALETTE COLOR has been turned into RGB through the file's palette (photometric "RGB"). */
typedef struct bmci_dicom_pixels {
    const uint8_t *data;
    size_t size;
    int32_t samples_per_pixel, bits_allocated, planar_configuration;
    char photometric[BMCI_DICOM_TEXT];
} bmci_dicom_pixels;

/* Parse `size` bytes at `data` (copied; not retained). Fills *header and *out.
 * Statuses: BMC_ERR_CORRUPT_DATA (not DICOM, or malformed), BMC_ERR_OUT_OF_MEMORY,
 * BMC_ERR_INTERNAL (a GDCM failure of another kind). */
bmc_status bmci_dicom_parse(const void *data, size_t size, bmci_dicom **out,
                            bmci_dicom_header *header);

/* Decode the pixel data of every frame (once; later calls return the same buffer). The caller
 * has checked the size limits. Thread-safe. Statuses: BMC_ERR_UNSUPPORTED (no image, or a
 * transfer syntax GDCM cannot decode), BMC_ERR_CORRUPT_DATA (the codec failed, or fewer bytes
 * than the header promises), BMC_ERR_OUT_OF_MEMORY. */
bmc_status bmci_dicom_decode(bmci_dicom *dicom, bmci_dicom_pixels *pixels);

/* Release a parsed file. NULL is allowed. */
void bmci_dicom_free(bmci_dicom *dicom);

#ifdef __cplusplus
}
#endif

#endif
