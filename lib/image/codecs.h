/* SPDX-License-Identifier: MIT */
/* Internal: the file decoders that bmc_image_load_file/memory dispatch to. Each opens a file
 * exactly as Pillow 9.4's plugin would (same mode, same samples), checks the size limits from
 * the header before allocating pixels, and never prints. */
#ifndef BMC_LIB_CODECS_H
#define BMC_LIB_CODECS_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* True if `data` starts with the PNG signature / a JPEG start-of-image marker. `size` may be
 * smaller than the signature: then the bytes present are compared (a truncated file still
 * counts as its format). */
int bmci_is_png(const uint8_t *data, size_t size);
int bmci_is_jpeg(const uint8_t *data, size_t size);

/* Decode a PNG (libpng) / JPEG (libjpeg-turbo) held in memory. Errors: BMC_ERR_CORRUPT_DATA,
 * BMC_ERR_UNSUPPORTED, BMC_ERR_LIMIT, BMC_ERR_OUT_OF_MEMORY; messages start with "png: " or
 * "jpeg: ". */
bmc_status bmci_png_decode(const uint8_t *data, size_t size, bmc_image **out);
/* `draft` 0 decodes in full; draft >= 1 decodes at 1/2, 1/4 or 1/8 scale as Pillow's
 * Image.draft('RGB', (draft, draft)) does (see bmc_image_load_file_draft). */
bmc_status bmci_jpeg_decode(const uint8_t *data, size_t size, int32_t draft, bmc_image **out);

/* True if `data` has the DICOM Part 10 magic "DICM" at offset 128. */
int bmci_is_dicom(const uint8_t *data, size_t size);

/* Open DICOM bytes and show frame 0 with the file's own window (bmc_dicom_frame_image's
 * defaults). Without `require_magic`, a failure to parse is reported as "not a PNG, JPEG or
 * DICOM file" (BMC_ERR_UNSUPPORTED). */
bmc_status bmci_dicom_load_image(const uint8_t *data, size_t size, int require_magic, bmc_image **out);

/* The stored values of one frame of a DICOM file, before any LUT: Bits Stored wide,
 * sign-extended when signed, interleaved; `*channels` per pixel (3 for RGB, YBR and palette
 * data, which is already through its palette), as malloc'd doubles (free with free()).
 * `*photometric` names the decoded data's colour space (static per thread). */
bmc_status bmci_dicom_frame_values(const bmc_dicom *dicom, int32_t frame, double **values,
                                   int32_t *channels, int32_t *bits_allocated, const char **photometric);

/* Read a whole file into malloc'd memory (*data may be NULL for an empty file).
 * Errors: BMC_ERR_IO, BMC_ERR_OUT_OF_MEMORY; messages start with "image: ". */
bmc_status bmci_read_whole_file(const char *path, uint8_t **data, size_t *size);

#endif
