/* SPDX-License-Identifier: MIT */
/* biomedclip dicom-info: the parsed attributes of DICOM files as JSON lines. */
#include <math.h>
#include <stdio.h>

#include "cli.h"

static const char *const CMD = "dicom-info";

static void usage(void)
{
    printf("Usage: biomedclip dicom-info FILE...\n"
           "\n"
           "Prints one JSON object per DICOM file with the attributes the library reads:\n"
           "  {\"file\": \"CT_small.dcm\", \"frames\": 1, \"rows\": 128, \"columns\": 128,\n"
           "   \"samples_per_pixel\": 1, \"bits_allocated\": 16, \"bits_stored\": 16,\n"
           "   \"pixel_representation\": 1, \"photometric\": \"MONOCHROME2\", \"modality\": \"CT\",\n"
           "   \"transfer_syntax\": \"1.2.840.10008.1.2.1\", \"rescale\": [1, -1024],\n"
           "   \"windows\": [{\"center\": 40, \"width\": 400, \"explanation\": \"\"}],\n"
           "   \"voi_lut_function\": \"\", \"voi_lut_sequence\": false, \"sop_instance_uid\": \"...\",\n"
           "   \"series_instance_uid\": \"...\", \"study_instance_uid\": \"...\", \"no_image_reason\": \"\"}\n"
           "\"rescale\" is null when the file has none; \"frames\" is 0 for a file without an image\n"
           "(then \"no_image_reason\" says why). A file that is not DICOM is reported on stderr and\n"
           "makes the exit status 1; the other files are still printed.\n");
}

static void field(const char *name, const char *value)
{
    printf(", \"%s\": ", name);
    cli_json_string(stdout, value);
}

/* A double as JSON (finite, shortest round-trip form). */
static void number(double v)
{
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
}

static int describe(const char *path)
{
    bmc_dicom *dicom = NULL;
    if (bmc_dicom_open_file(path, &dicom) != BMC_OK)
        return cli_library_error(CMD);
    printf("{\"file\": ");
    cli_json_string(stdout, path);
    bmc_dicom_info info;
    bmc_dicom_info_init(&info);
    bmc_dicom_get_info(dicom, &info);
    printf(", \"frames\": %d, \"rows\": %d, \"columns\": %d, \"samples_per_pixel\": %d, "
           "\"bits_allocated\": %d, \"bits_stored\": %d, \"pixel_representation\": %d",
           info.frames, info.rows, info.columns, info.samples_per_pixel, info.bits_allocated,
           info.bits_stored, info.pixel_representation);
    field("photometric", info.photometric);
    field("modality", info.modality);
    field("transfer_syntax", info.transfer_syntax);
    printf(", \"rescale\": ");
    if (info.has_rescale) {
        printf("[");
        number(info.rescale_slope);
        printf(", ");
        number(info.rescale_intercept);
        printf("]");
    } else {
        printf("null");
    }
    printf(", \"windows\": [");
    for (int32_t i = 0; i < info.window_count; i++) {
        double center = 0, width = 0;
        const char *explanation = "";
        bmc_dicom_window(dicom, i, &center, &width, &explanation);
        printf("%s{\"center\": ", i ? ", " : "");
        number(center);
        printf(", \"width\": ");
        number(width);
        printf(", \"explanation\": ");
        cli_json_string(stdout, explanation);
        printf("}");
    }
    printf("]");
    field("voi_lut_function", info.voi_lut_function);
    printf(", \"voi_lut_sequence\": %s", info.has_voi_lut_sequence ? "true" : "false");
    field("sop_instance_uid", info.sop_instance_uid);
    field("series_instance_uid", info.series_instance_uid);
    field("study_instance_uid", info.study_instance_uid);
    field("no_image_reason", info.no_image_reason);
    printf("}\n");
    bmc_dicom_free(dicom);
    return CLI_OK;
}

int cli_dicom_info(int argc, char **argv)
{
    cli_args args;
    int rc = cli_parse(CMD, argc, argv, NULL, 0, &args);
    if (rc != CLI_OK)
        return rc;
    if (args.help || args.input_count == 0) {
        int help = args.help;
        cli_args_free(&args);
        if (help) {
            usage();
            return CLI_OK;
        }
        return cli_usage_error(CMD, "give one or more DICOM files");
    }
    rc = CLI_OK;
    for (size_t i = 0; i < args.input_count; i++)
        if (describe(args.inputs[i].path) != CLI_OK)
            rc = CLI_FAIL;
    cli_args_free(&args);
    return rc;
}
