/* SPDX-License-Identifier: MIT */
/* tokenize — BiomedCLIP's token ids for some texts, and the tokens they stand for.
 *
 *   tokenize (--model MODEL | --vocab vocab.txt) [--context N] [--padded] TEXT...
 *
 * Prints, per text, the ids ([CLS] ... [SEP], truncated to the context length) and the
 * WordPiece tokens ("##" marks a word continuation). --padded prints the padded row of
 * context-length ids the text tower reads instead. With --model the bundle's own vocabulary and
 * context are used; --vocab builds a tokenizer from a vocab.txt (context 256 unless given). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <biomedclip.h>

static int usage(const char *program)
{
    fprintf(stderr,
            "usage: %s (--model MODEL | --vocab vocab.txt) [--context N] [--padded] TEXT...\n"
            "  Print the token ids and WordPiece tokens of each text.\n"
            "  --model MODEL   use a model bundle's tokenizer\n"
            "  --vocab FILE    build a tokenizer from a vocab.txt\n"
            "  --context N     context length with --vocab (default 256)\n"
            "  --padded        print the padded id row instead\n",
            program);
    return 2;
}

static int fail(const char *what)
{
    fprintf(stderr, "tokenize: %s: %s\n", what, bmc_last_error());
    return 1;
}

/* Prints one text's ids and tokens (size query first, then the ids). */
static int print_tokens(const bmc_tokenizer *tokenizer, const char *text)
{
    size_t count = 0;
    int32_t truncated = 0;
    if (bmc_tokenizer_encode(tokenizer, text, strlen(text), NULL, 0, &count, NULL) != BMC_OK)
        return fail(text);
    int32_t *ids = malloc(count * sizeof *ids);
    if (!ids || bmc_tokenizer_encode(tokenizer, text, strlen(text), ids, count, &count,
                                     &truncated) != BMC_OK) {
        free(ids);
        return ids ? fail(text) : 1;
    }
    printf("ids:");
    for (size_t i = 0; i < count; i++)
        printf(" %d", ids[i]);
    printf("%s\ntokens:", truncated ? " (truncated)" : "");
    for (size_t i = 0; i < count; i++) {
        const char *token = "?";
        bmc_tokenizer_token(tokenizer, ids[i], &token);
        printf(" %s", token);
    }
    printf("\n");
    free(ids);
    return 0;
}

/* Prints the padded row bmc_tokenizer_encode_batch() makes for one text. */
static int print_padded(const bmc_tokenizer *tokenizer, const char *text)
{
    int32_t context = 0, length = 0;
    bmc_tokenizer_context_length(tokenizer, &context);
    int32_t *row = malloc((size_t)context * sizeof *row);
    if (!row || bmc_tokenizer_encode_batch(tokenizer, &text, 1, row, (size_t)context, &length,
                                           NULL) != BMC_OK) {
        free(row);
        return row ? fail(text) : 1;
    }
    printf("padded (%d tokens):", length);
    for (int32_t i = 0; i < context; i++)
        printf(" %d", row[i]);
    printf("\n");
    free(row);
    return 0;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *vocab_path = NULL;
    bmc_tokenizer_options options;
    bmc_tokenizer_options_init(&options);
    int padded = 0, first_text = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            model_path = argv[++i];
        else if (strcmp(argv[i], "--vocab") == 0 && i + 1 < argc)
            vocab_path = argv[++i];
        else if (strcmp(argv[i], "--context") == 0 && i + 1 < argc)
            options.context_length = atoi(argv[++i]);
        else if (strcmp(argv[i], "--padded") == 0)
            padded = 1;
        else if (argv[i][0] == '-')
            return usage(argv[0]);
        else {
            first_text = i;
            break;
        }
    }
    if ((model_path == NULL) == (vocab_path == NULL) || first_text == argc)
        return usage(argv[0]);

    bmc_model *model = NULL;
    bmc_tokenizer *own_tokenizer = NULL;
    const bmc_tokenizer *tokenizer;
    if (model_path) {
        if (bmc_model_load(model_path, NULL, &model) != BMC_OK)
            return fail(model_path);
        tokenizer = bmc_model_tokenizer(model); /* owned by the model */
    } else {
        if (bmc_tokenizer_create_file(vocab_path, &options, &own_tokenizer) != BMC_OK)
            return fail(vocab_path);
        tokenizer = own_tokenizer;
    }
    int result = 0;
    for (int i = first_text; i < argc; i++)
        result |= padded ? print_padded(tokenizer, argv[i]) : print_tokens(tokenizer, argv[i]);
    bmc_tokenizer_free(own_tokenizer);
    bmc_model_free(model);
    return result;
}
