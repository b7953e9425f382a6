/* SPDX-License-Identifier: MIT */
/* Fuzz target: parse any bytes as a DICOM file, read its attributes and windows, and show up
 * to four of its frames, with the file's window and with one of the caller's. Nothing may
 * crash, leak (beyond the GDCM calls abandoned on an assertion, see tests/lsan.supp) or trip a
 * sanitizer; failures must come back as statuses. Seeds: pydicom's test files (check_fuzz.sh). */
#include <stdint.h>
#include <stdlib.h>

#include "biomedclip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int configured;
    if (!configured) {
        /* Smaller limits than the defaults keep every input fast to decode. */
        bmc_runtime_config config;
        bmc_runtime_config_init(&config);
        config.max_image_pixels = 1 << 18;
        bmc_configure(&config);
        configured = 1;
    }
    bmc_dicom *dicom = NULL;
    if (bmc_dicom_open_memory(data, size, &dicom) != BMC_OK)
        return 0;
    bmc_dicom_info info;
    bmc_dicom_info_init(&info);
    bmc_dicom_get_info(dicom, &info);
    for (int32_t w = 0; w < info.window_count; w++) {
        double center, width;
        const char *explanation;
        bmc_dicom_window(dicom, w, &center, &width, &explanation);
    }
    bmc_dicom_frame_options options;
    bmc_dicom_frame_options_init(&options);
    for (int32_t frame = 0; frame < info.frames && frame < 4; frame++) {
        options.frame = frame;
        options.has_window = frame % 2;
        options.window_center = 40;
        options.window_width = 400;
        bmc_image *image = NULL;
        if (bmc_dicom_frame_image(dicom, &options, &image) == BMC_OK)
            bmc_image_free(image);
    }
    bmc_dicom_free(dicom);
    return 0;
}
