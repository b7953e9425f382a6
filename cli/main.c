/* SPDX-License-Identifier: MIT */
/* biomedclip: the command-line tool over libbiomedclip. main() hands the arguments to the
 * subcommand named first; each subcommand lives in its own file. */
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    cli_command_fn run;
    const char *summary;
} COMMANDS[] = {
    {"tokenize", cli_tokenize, "token ids of each stdin line"},
    {"preprocess", cli_preprocess, "images to the model's input tensors (.npy)"},
    {"embed-image", cli_embed_image, "image embeddings (.npy)"},
    {"embed-text", cli_embed_text, "embeddings of each stdin line (.npy)"},
    {"classify", cli_classify, "zero-shot classification of images (JSON lines)"},
    {"index", cli_index, "build, search and describe embedding indexes for retrieval"},
    {"eval-captions", cli_eval_captions, "caption metrics: BLEU, ROUGE-L, METEOR, CIDEr-D (JSON)"},
    {"dicom-info", cli_dicom_info, "the parsed attributes of DICOM files (JSON lines)"},
    {"probe", cli_probe, "few-shot linear probes: train on labelled images, predict"},
    {"segment", cli_segment, "text-prompted segmentation: masks and overlays (PNG, JSON)"},
    {"ask", cli_ask, "visual question answering, with a head or zero-shot (JSON lines)"},
};

#define COMMAND_COUNT (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *out)
{
    fprintf(out, "Usage: biomedclip COMMAND [OPTIONS...]\n"
                 "\n"
                 "Runs the BiomedCLIP vision-language model with libbiomedclip %s.\n"
                 "\n"
                 "Commands:\n", bmc_version_string());
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-14s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\n"
                 "'biomedclip COMMAND --help' describes a command; 'biomedclip --version' prints\n"
                 "the library's version. Errors go to stderr; the exit status is 0 on success,\n"
                 "1 on failure and 2 for a usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("biomedclip %s\n", bmc_version_string());
        return CLI_OK;
    }
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(name, COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "biomedclip: unknown command '%s'\n", name);
    usage(stderr);
    return CLI_USAGE;
}
