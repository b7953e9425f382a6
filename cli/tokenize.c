/* SPDX-License-Identifier: MIT */
/* biomedclip tokenize: token ids of each stdin line. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "tokenize";

static void usage(void)
{
    printf("Usage: biomedclip tokenize (--vocab FILE | --model BUNDLE) [--context N]\n"
           "\n"
           "Tokenizes each line of UTF-8 text on stdin as BiomedCLIP does (open_clip's cleaning,\n"
           "then BERT uncased WordPiece) and prints one line of space-separated token ids per\n"
           "input line: [CLS] ... [SEP], truncated to the context length, without padding.\n"
           "\n"
           "  --vocab FILE    a vocab.txt (one token per line, id = 0-based line number)\n"
           "  --model BUNDLE  the vocabulary and context length of a model bundle\n"
           "  --context N     ids per text with --vocab, [CLS] and [SEP] included (default 256)\n");
}

/* Writes the ids of one line; reports a failure with the line number. */
static int tokenize_line(const bmc_tokenizer *tokenizer, const char *text, size_t length,
                         size_t line_number, int32_t *ids, size_t capacity)
{
    size_t count;
    if (bmc_tokenizer_encode(tokenizer, text, length, ids, capacity, &count, NULL) != BMC_OK)
        return cli_error(CMD, "line %zu: %s", line_number, bmc_last_error());
    for (size_t i = 0; i < count; i++)
        printf(i ? " %d" : "%d", (int)ids[i]);
    putchar('\n');
    return CLI_OK;
}

static int tokenize_stdin(const bmc_tokenizer *tokenizer)
{
    int32_t context;
    if (bmc_tokenizer_context_length(tokenizer, &context) != BMC_OK)
        return cli_library_error(CMD);
    int32_t *ids = malloc((size_t)context * sizeof *ids);
    if (!ids)
        return cli_error(CMD, "out of memory for %d ids", (int)context);
    char *line = NULL;
    size_t capacity = 0, length, line_number = 0;
    int rc = CLI_OK;
    while (rc == CLI_OK && cli_next_line(stdin, &line, &capacity, &length))
        rc = tokenize_line(tokenizer, line, length, ++line_number, ids, (size_t)context);
    if (rc == CLI_OK && ferror(stdin))
        rc = cli_error(CMD, "cannot read stdin");
    free(line);
    free(ids);
    return rc;
}

int cli_tokenize(int argc, char **argv)
{
    const char *vocab = NULL, *context = NULL;
    cli_model_args margs = {0};
    const cli_option options[] = {
        {"--vocab", &vocab, NULL, 0},
        {"--model", &margs.model, NULL, 0},
        {"--context", &context, NULL, 0},
    };
    cli_args args;
    int rc = cli_parse(CMD, argc, argv, options, sizeof options / sizeof options[0], &args);
    if (rc != CLI_OK)
        return rc;
    size_t extra = args.input_count;
    int help = args.help;
    cli_args_free(&args);
    if (help) {
        usage();
        return CLI_OK;
    }
    if (extra)
        return cli_usage_error(CMD, "the texts come from stdin, not from arguments");
    if (!vocab == !margs.model)
        return cli_usage_error(CMD, "give either --vocab FILE or --model BUNDLE");
    if (margs.model && context)
        return cli_usage_error(CMD, "--context goes with --vocab (a bundle has its own)");

    if (vocab) {
        bmc_tokenizer_options topts;
        bmc_tokenizer_options_init(&topts);
        if ((rc = cli_parse_int(CMD, "--context", context, 2, 1048576, &topts.context_length)))
            return rc;
        bmc_tokenizer *tokenizer;
        if (bmc_tokenizer_create_file(vocab, &topts, &tokenizer) != BMC_OK)
            return cli_library_error(CMD);
        rc = tokenize_stdin(tokenizer);
        bmc_tokenizer_free(tokenizer);
        return rc;
    }
    bmc_model *model;
    if ((rc = cli_load_model(CMD, &margs, &model)))
        return rc;
    rc = tokenize_stdin(bmc_model_tokenizer(model));
    bmc_model_free(model);
    return rc;
}
