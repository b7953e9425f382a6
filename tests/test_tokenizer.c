/* SPDX-License-Identifier: MIT */
/* The tokenizer's API: creation, errors, special ids from the vocabulary, size queries,
 * truncation, batches, threads. Token-level parity is tests/check_tokenizer_parity.sh. */
#include <pthread.h>

#include "biomedclip.h"
#include "harness.h"

/* Special tokens deliberately away from BERT's usual ids. */
static const char small_vocab[] =
    "hello\n##s\n[SEP]\nworld\n[CLS]\n,\n[PAD]\n!\n[UNK]\n[MASK]\nlung\n##s\nun\n##aff\n##able\n";

static bmc_tokenizer *small(const bmc_tokenizer_options *options)
{
    bmc_tokenizer *t = NULL;
    CHECK_STATUS(bmc_tokenizer_create_memory(small_vocab, sizeof small_vocab - 1, options, &t), BMC_OK);
    return t;
}

static int32_t id_of(const bmc_tokenizer *t, const char *token)
{
    int32_t id = -1;
    CHECK_STATUS(bmc_tokenizer_token_id(t, token, &id), BMC_OK);
    return id;
}

static void test_options(void)
{
    bmc_tokenizer_options o;
    bmc_tokenizer_options_init(&o);
    CHECK(o.struct_size == sizeof o && o.context_length == 256 && o.lowercase == 1 && o.clean == 1 &&
              o.invalid_utf8 == BMC_INVALID_UTF8_ERROR && o.overflow == BMC_OVERFLOW_TRUNCATE &&
              o.special_tokens == 1, "defaults");
    bmc_tokenizer *t = NULL;
    o.context_length = 1;
    CHECK_STATUS(bmc_tokenizer_create_memory(small_vocab, sizeof small_vocab - 1, &o, &t), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "context_length") != NULL, "%s", bmc_last_error());
    bmc_tokenizer_options_init(&o);
    o.struct_size = 8;
    CHECK_STATUS(bmc_tokenizer_create_memory(small_vocab, sizeof small_vocab - 1, &o, &t), BMC_ERR_INVALID_ARGUMENT);
    bmc_tokenizer_options_init(&o);
    o.invalid_utf8 = 7;
    CHECK_STATUS(bmc_tokenizer_create_memory(small_vocab, sizeof small_vocab - 1, &o, &t), BMC_ERR_INVALID_ARGUMENT);
    CHECK(t == NULL, "out untouched on failure");
}

static void test_special_ids_come_from_the_vocab(void)
{
    bmc_tokenizer *t = small(NULL);
    int32_t id = -1, size = 0, context = 0;
    CHECK_STATUS(bmc_tokenizer_special_id(t, BMC_TOKEN_CLS, &id), BMC_OK);
    CHECK(id == 4, "[CLS] is line 4: %d", id);
    CHECK_STATUS(bmc_tokenizer_special_id(t, BMC_TOKEN_SEP, &id), BMC_OK);
    CHECK(id == 2, "[SEP] %d", id);
    CHECK_STATUS(bmc_tokenizer_special_id(t, BMC_TOKEN_PAD, &id), BMC_OK);
    CHECK(id == 6, "[PAD] %d", id);
    CHECK_STATUS(bmc_tokenizer_special_id(t, BMC_TOKEN_UNK, &id), BMC_OK);
    CHECK(id == 8, "[UNK] %d", id);
    CHECK_STATUS(bmc_tokenizer_special_id(t, BMC_TOKEN_MASK, &id), BMC_OK);
    CHECK(id == 9, "[MASK] %d", id);
    CHECK_STATUS(bmc_tokenizer_special_id(t, 5, &id), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_tokenizer_special_id(NULL, BMC_TOKEN_CLS, &id), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_tokenizer_vocab_size(t, &size), BMC_OK);
    CHECK(size == 15, "vocab size %d", size);
    CHECK_STATUS(bmc_tokenizer_context_length(t, &context), BMC_OK);
    CHECK(context == 256, "context %d", context);
    const char *token = NULL;
    CHECK_STATUS(bmc_tokenizer_token(t, 13, &token), BMC_OK);
    CHECK(token && strcmp(token, "##aff") == 0, "token 13 is %s", token ? token : "(null)");
    CHECK_STATUS(bmc_tokenizer_token(t, 15, &token), BMC_ERR_NOT_FOUND);
    CHECK_STATUS(bmc_tokenizer_token(t, -1, &token), BMC_ERR_NOT_FOUND);
    CHECK(id_of(t, "##s") == 11, "a repeated token takes its last line");
    CHECK_STATUS(bmc_tokenizer_token(t, 1, &token), BMC_OK);
    CHECK(strcmp(token, "##s") == 0, "but its first line keeps its text");
    CHECK_STATUS(bmc_tokenizer_token_id(t, "absent", &id), BMC_ERR_NOT_FOUND);
    bmc_tokenizer_free(t);
    bmc_tokenizer_free(NULL);
}

static void test_bad_vocabularies(void)
{
    bmc_tokenizer *t = NULL;
    CHECK_STATUS(bmc_tokenizer_create_memory("", 0, NULL, &t), BMC_ERR_CORRUPT_DATA);
    CHECK_STATUS(bmc_tokenizer_create_memory(NULL, 0, NULL, &t), BMC_ERR_CORRUPT_DATA);
    CHECK_STATUS(bmc_tokenizer_create_memory(NULL, 5, NULL, &t), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_tokenizer_create_memory(small_vocab, sizeof small_vocab - 1, NULL, NULL), BMC_ERR_INVALID_ARGUMENT);
    static const char no_sep[] = "[PAD]\n[UNK]\n[CLS]\nhello\n";
    CHECK_STATUS(bmc_tokenizer_create_memory(no_sep, sizeof no_sep - 1, NULL, &t), BMC_ERR_CORRUPT_DATA);
    CHECK(strstr(bmc_last_error(), "[SEP]") != NULL, "names the token: %s", bmc_last_error());
    static const char no_pad[] = "[SEP]\n[UNK]\n[CLS]\n";
    CHECK_STATUS(bmc_tokenizer_create_memory(no_pad, sizeof no_pad - 1, NULL, &t), BMC_ERR_CORRUPT_DATA);
    CHECK(strstr(bmc_last_error(), "[PAD]") != NULL, "%s", bmc_last_error());
    static const char no_unk[] = "[SEP]\n[PAD]\n[CLS]\n";
    CHECK_STATUS(bmc_tokenizer_create_memory(no_unk, sizeof no_unk - 1, NULL, &t), BMC_ERR_CORRUPT_DATA);
    static const char no_cls[] = "[SEP]\n[PAD]\n[UNK]\n";
    CHECK_STATUS(bmc_tokenizer_create_memory(no_cls, sizeof no_cls - 1, NULL, &t), BMC_ERR_CORRUPT_DATA);
    static const char bad_utf8[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\xC3\x28\n";
    CHECK_STATUS(bmc_tokenizer_create_memory(bad_utf8, sizeof bad_utf8 - 1, NULL, &t), BMC_ERR_CORRUPT_DATA);
    CHECK(strstr(bmc_last_error(), "offset 26") != NULL, "%s", bmc_last_error());
    static const char with_nul[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\0b\n";
    CHECK_STATUS(bmc_tokenizer_create_memory(with_nul, sizeof with_nul - 1, NULL, &t), BMC_ERR_CORRUPT_DATA);
    CHECK(t == NULL, "out untouched");

    static const char crlf[] = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nlung";
    CHECK_STATUS(bmc_tokenizer_create_memory(crlf, sizeof crlf - 1, NULL, &t), BMC_OK);
    int32_t size = 0;
    bmc_tokenizer_vocab_size(t, &size);
    CHECK(size == 5, "CRLF lines and a last line without newline: %d", size);
    CHECK(id_of(t, "lung") == 4 && id_of(t, "[SEP]") == 3, "CR stripped");
    bmc_tokenizer_free(t);

    CHECK_STATUS(bmc_tokenizer_create_file("/nonexistent/vocab.txt", NULL, &t), BMC_ERR_IO);
    CHECK(strstr(bmc_last_error(), "/nonexistent/vocab.txt") != NULL, "%s", bmc_last_error());
    CHECK_STATUS(bmc_tokenizer_create_file(NULL, NULL, &t), BMC_ERR_INVALID_ARGUMENT);
    char path[4096];
    snprintf(path, sizeof path, "%s/bert-base-uncased-vocab.txt", harness_data());
    CHECK_STATUS(bmc_tokenizer_create_file(path, NULL, NULL), BMC_ERR_INVALID_ARGUMENT);
}

/* Encode with a size query first, as a caller without a context-sized buffer would. */
static size_t encode(const bmc_tokenizer *t, const char *text, int32_t *ids, int32_t *truncated)
{
    size_t needed = 0, count = 0;
    CHECK_STATUS(bmc_tokenizer_encode(t, text, strlen(text), NULL, 0, &needed, NULL), BMC_OK);
    CHECK_STATUS(bmc_tokenizer_encode(t, text, strlen(text), ids, needed, &count, truncated), BMC_OK);
    CHECK(count == needed, "query %zu, got %zu", needed, count);
    return count;
}

static void test_encode(void)
{
    bmc_tokenizer *t = small(NULL);
    int32_t ids[64], truncated = -1;
    size_t n = encode(t, "Hello, WORLD! lungs unaffable", ids, &truncated);
    int32_t want[] = {id_of(t, "[CLS]"), id_of(t, "hello"), id_of(t, ","), id_of(t, "world"), id_of(t, "!"),
                      id_of(t, "lung"), id_of(t, "##s"), id_of(t, "un"), id_of(t, "##aff"), id_of(t, "##able"),
                      id_of(t, "[SEP]")};
    CHECK(n == 11 && memcmp(ids, want, sizeof want) == 0 && truncated == 0, "n=%zu", n);

    n = encode(t, "helloworld lungx", ids, NULL);
    CHECK(n == 4 && ids[1] == id_of(t, "[UNK]") && ids[2] == id_of(t, "[UNK]"), "unmatchable words are one [UNK]");
    n = encode(t, "", ids, NULL);
    CHECK(n == 2 && ids[0] == 4 && ids[1] == 2, "empty text is [CLS] [SEP]");
    n = encode(t, "hello[MASK]world [SEP]", ids, NULL);
    CHECK(n == 6 && ids[2] == 9 && ids[4] == 2, "special tokens in the text");

    size_t count = 99;
    CHECK_STATUS(bmc_tokenizer_encode(t, "hello world", 11, ids, 3, &count, NULL), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK(strstr(bmc_last_error(), "4") != NULL && count == 99, "message gives the need; count untouched");
    CHECK_STATUS(bmc_tokenizer_encode(NULL, "x", 1, ids, 64, &count, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_tokenizer_encode(t, NULL, 1, ids, 64, &count, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_tokenizer_encode(t, "x", 1, ids, 64, NULL, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_tokenizer_encode(t, NULL, 0, ids, 64, &count, NULL), BMC_OK);
    CHECK(count == 2, "NULL text of length 0 is empty");
    /* an embedded NUL is a character (removed by the normalizer), not the end of the text */
    CHECK_STATUS(bmc_tokenizer_encode(t, "hello\0world", 11, ids, 64, &count, NULL), BMC_OK);
    CHECK(count == 3 && ids[1] == id_of(t, "[UNK]"), "NUL joins helloworld: %zu", count);
    bmc_tokenizer_free(t);

    bmc_tokenizer_options o;
    bmc_tokenizer_options_init(&o);
    o.special_tokens = 0;
    o.lowercase = 0;
    t = small(&o);
    n = encode(t, "hello [MASK] Hello", ids, NULL);
    CHECK(n == 7 && ids[2] == id_of(t, "[UNK]") && ids[5] == id_of(t, "[UNK]"),
          "without special tokens [MASK] is '[' [UNK] ']'; cased keeps Hello unknown: %zu", n);
    bmc_tokenizer_free(t);
}

static void test_invalid_utf8(void)
{
    bmc_tokenizer *t = small(NULL);
    int32_t ids[16];
    size_t count = 0;
    CHECK_STATUS(bmc_tokenizer_encode(t, "abc\xE2\x82", 5, ids, 16, &count, NULL), BMC_ERR_INVALID_UTF8);
    CHECK(strstr(bmc_last_error(), "byte offset 3") != NULL, "%s", bmc_last_error());
    CHECK_STATUS(bmc_tokenizer_encode(t, "\xED\xA0\x80", 3, ids, 16, &count, NULL), BMC_ERR_INVALID_UTF8);
    CHECK_STATUS(bmc_tokenizer_encode(t, "\xC0\xAF", 2, ids, 16, &count, NULL), BMC_ERR_INVALID_UTF8);
    CHECK_STATUS(bmc_tokenizer_encode(t, "\xF4\x90\x80\x80", 4, ids, 16, &count, NULL), BMC_ERR_INVALID_UTF8);
    bmc_tokenizer_free(t);

    bmc_tokenizer_options o;
    bmc_tokenizer_options_init(&o);
    o.invalid_utf8 = BMC_INVALID_UTF8_REPLACE;
    t = small(&o);
    CHECK_STATUS(bmc_tokenizer_encode(t, "hel\xFFlo lung", 12, ids, 16, &count, NULL), BMC_OK);
    CHECK(count == 4 && ids[1] == id_of(t, "hello") && ids[2] == id_of(t, "lung"),
          "U+FFFD is dropped by the normalizer: %zu", count);
    bmc_tokenizer_free(t);
}

static void test_truncation(void)
{
    bmc_tokenizer_options o;
    bmc_tokenizer_options_init(&o);
    o.context_length = 5;
    bmc_tokenizer *t = small(&o);
    int32_t ids[8], truncated = -1;
    size_t n = encode(t, "hello world lung", ids, &truncated);
    CHECK(n == 5 && truncated == 0, "exactly full is not truncated");
    n = encode(t, "hello world lungs", ids, &truncated);
    CHECK(n == 5 && truncated == 1 && ids[0] == id_of(t, "[CLS]") && ids[3] == id_of(t, "lung") &&
              ids[4] == id_of(t, "[SEP]"), "[CLS] first, [SEP] last");
    bmc_tokenizer_free(t);

    o.overflow = BMC_OVERFLOW_ERROR;
    t = small(&o);
    size_t count = 0;
    CHECK_STATUS(bmc_tokenizer_encode(t, "hello world lungs", 17, ids, 8, &count, NULL), BMC_ERR_LIMIT);
    CHECK_STATUS(bmc_tokenizer_encode(t, "hello world lung", 16, ids, 8, &count, NULL), BMC_OK);
    bmc_tokenizer_free(t);

    o.overflow = BMC_OVERFLOW_TRUNCATE;
    o.context_length = 2;
    t = small(&o);
    n = encode(t, "hello", ids, &truncated);
    CHECK(n == 2 && truncated == 1, "context 2 holds only [CLS] [SEP]");
    bmc_tokenizer_free(t);
}

static void test_batch(void)
{
    bmc_tokenizer_options o;
    bmc_tokenizer_options_init(&o);
    o.context_length = 4;
    bmc_tokenizer *t = small(&o);
    const char *texts[] = {"hello", "hello world lung", ""};
    int32_t ids[12], lengths[3], truncated[3];
    CHECK_STATUS(bmc_tokenizer_encode_batch(t, texts, 3, ids, 12, lengths, truncated), BMC_OK);
    int32_t pad = id_of(t, "[PAD]"), cls = id_of(t, "[CLS]"), sep = id_of(t, "[SEP]");
    int32_t want[12] = {cls, id_of(t, "hello"), sep, pad, cls, id_of(t, "hello"), id_of(t, "world"), sep,
                        cls, sep, pad, pad};
    CHECK(memcmp(ids, want, sizeof want) == 0, "padded rows");
    CHECK(lengths[0] == 3 && lengths[1] == 4 && lengths[2] == 2, "lengths");
    CHECK(truncated[0] == 0 && truncated[1] == 1 && truncated[2] == 0, "truncated flags");

    int32_t before[12];
    memcpy(before, ids, sizeof ids);
    const char *bad[] = {"hello", "\xFF"};
    CHECK_STATUS(bmc_tokenizer_encode_batch(t, bad, 2, ids, 12, NULL, NULL), BMC_ERR_INVALID_UTF8);
    CHECK(strstr(bmc_last_error(), "text 1") != NULL, "%s", bmc_last_error());
    CHECK(memcmp(before, ids, sizeof ids) == 0, "nothing written on failure");
    const char *null_text[] = {"hello", NULL};
    CHECK_STATUS(bmc_tokenizer_encode_batch(t, null_text, 2, ids, 12, NULL, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_tokenizer_encode_batch(t, texts, 3, ids, 11, NULL, NULL), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_tokenizer_encode_batch(t, texts, 0, NULL, 0, NULL, NULL), BMC_OK);
    bmc_tokenizer_free(t);
}

/* The BERT vocabulary: ids looked up, never assumed; the expected split is WordPiece's. */
static bmc_tokenizer *bert(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bert-base-uncased-vocab.txt", harness_data());
    bmc_tokenizer *t = NULL;
    CHECK_STATUS(bmc_tokenizer_create_file(path, NULL, &t), BMC_OK);
    return t;
}

static void test_bert_vocab(void)
{
    bmc_tokenizer *t = bert();
    if (!t) return;
    int32_t size = 0, id = 0;
    bmc_tokenizer_vocab_size(t, &size);
    CHECK(size == 30522, "BERT vocab size %d", size);
    CHECK_STATUS(bmc_tokenizer_special_id(t, BMC_TOKEN_CLS, &id), BMC_OK);
    CHECK(id == 101, "[CLS] of BERT uncased is 101 (tests/data/README.md): %d", id);
    int32_t ids[64];
    size_t n = encode(t, "  A Chest X-ray &amp; \xE2\x80\x9Cpneumothorax\xE2\x80\x9D  ", ids, NULL);
    /* the split the Rust tokenizers gives for the cleaned text (tests/reference, 0.23.2) */
    const char *want[] = {"[CLS]", "a", "chest", "x", "-", "ray", "&", "\"", "p", "##ne", "##um", "##otho",
                          "##ra", "##x", "\"", "[SEP]"};
    int same = n == sizeof want / sizeof want[0];
    for (size_t i = 0; same && i < n; i++) same = ids[i] == id_of(t, want[i]);
    CHECK(same, "cleaned (entity, curly quotes, spaces) and split: %zu ids", n);
    char word[202];
    memset(word, 'a', 101);
    word[101] = '\0';
    n = encode(t, word, ids, NULL);
    CHECK(n == 3 && ids[1] == id_of(t, "[UNK]"), "a 101-character word is [UNK]");
    bmc_tokenizer_free(t);
}

typedef struct job {
    const bmc_tokenizer *t;
    int32_t ids[256];
    size_t n;
} job;

static void *encode_many(void *arg)
{
    job *j = arg;
    const char *text = "Chest CT: 3.2 cm hepatic lesion; r\xC3\xA9sum\xC3\xA9 \xE8\x82\xBA\xE7\x82\x8E \xF0\x9F\x99\x82";
    for (int i = 0; i < 2000; i++)
        if (bmc_tokenizer_encode(j->t, text, strlen(text), j->ids, 256, &j->n, NULL) != BMC_OK) j->n = 0;
    return NULL;
}

static void test_threads(void)
{
    bmc_tokenizer *t = bert();
    if (!t) return;
    job jobs[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].t = t;
        pthread_create(&threads[i], NULL, encode_many, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
    int same = jobs[0].n > 2;
    for (int i = 1; i < 4; i++)
        same = same && jobs[i].n == jobs[0].n && memcmp(jobs[i].ids, jobs[0].ids, jobs[0].n * sizeof(int32_t)) == 0;
    CHECK(same, "one tokenizer shared by four threads gives one answer");
    bmc_tokenizer_free(t);
}

int main(void)
{
    RUN(test_options);
    RUN(test_special_ids_come_from_the_vocab);
    RUN(test_bad_vocabularies);
    RUN(test_encode);
    RUN(test_invalid_utf8);
    RUN(test_truncation);
    RUN(test_batch);
    RUN(test_bert_vocab);
    RUN(test_threads);
    return harness_summary("test_tokenizer");
}
