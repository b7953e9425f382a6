/* SPDX-License-Identifier: MIT */
/* BertNormalizer + BertPreTokenizer + WordPiece, as the Rust `tokenizers` library runs them.
 *
 * The text is processed one whitespace-delimited chunk at a time: ASCII space, tab, LF and CR are
 * word boundaries and canonical starters, so normalizing (NFD reordering included) and splitting
 * chunk by chunk gives the same result as doing the whole text at once, lets a long text stop as
 * soon as the context is full, and keeps the working buffer small. */
#include "text/wordpiece.h"

#include <string.h>
#include <utf8proc.h>

#include "text/generated/bert_unicode.h"
#include "core/error.h"
#include "text/text_buffer.h"

#define MAX_WORD_CHARS 100 /* WordPiece's max_input_chars_per_word */

/* ASCII classes: 1 removed by clean_text (controls, VT and FF included), 2 whitespace
 * (space, tab, LF, CR), 4 punctuation (all of ASCII's), 0 letters and digits. */
enum { DROPPED = 1, SPACE = 2, PUNCT = 4 };
static const unsigned char ascii_class[128] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 2, 1, 1, /* 0x00: tab LF CR are whitespace */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 0x20: space ! " # $ % & ' ( ) * + , - . / */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, /* 0x30: digits : ; < = > ? */
    4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40: @ A-O */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, /* 0x50: P-Z [ backslash ] ^ _ */
    4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60: ` a-o */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 1, /* 0x70: p-z { | } ~ DEL */
};

static uint32_t ascii_lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int combining_class(uint32_t c)
{
    return c < 0x300 ? 0 : utf8proc_get_property((utf8proc_int32_t)c)->combining_class;
}

/* clean_text and CJK spacing on one non-ASCII code point, then its canonical decomposition
 * (when accents are stripped); appends to out. */
static void normalize_wide(uint32_t c, int lowercase, bmci_u32s *out)
{
    if (bmci_bert_is_dropped(c)) return;
    if (bmci_bert_is_space(c)) {
        bmci_u32s_put(out, ' ');
        return;
    }
    int cjk = is_cjk(c);
    if (cjk) bmci_u32s_put(out, ' ');
    if (lowercase && !bmci_bert_keeps_composed(c)) {
        utf8proc_int32_t parts[16];
        int boundclass = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)c, parts, 16,
                                                     UTF8PROC_DECOMPOSE, &boundclass);
        for (utf8proc_ssize_t i = 0; i < n && i < 16; i++) bmci_u32s_put(out, (uint32_t)parts[i]);
    } else {
        bmci_u32s_put(out, c);
    }
    if (cjk) bmci_u32s_put(out, ' ');
}

/* NFD's canonical ordering (stable sort of each run of non-starters by combining class), then
 * strip_accents' removal of Mn, then lowercase, in place over a chunk with non-ASCII content. */
static void finish_wide(bmci_u32s *chunk)
{
    uint32_t *s = chunk->data;
    size_t n = chunk->len;
    for (size_t i = 1; i < n; i++) {
        int cc = combining_class(s[i]);
        if (cc == 0) continue;
        size_t j = i;
        while (j > 0 && combining_class(s[j - 1]) > cc) {
            uint32_t t = s[j - 1];
            s[j - 1] = s[j];
            s[j] = t;
            j--;
        }
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        if (c >= 0x80 && bmci_bert_is_mark(c)) continue;
        /* U+0130, whose lowercase is two characters, never gets here: NFD split it into
         * "I" + U+0307 already. */
        s[out++] = c < 0x80 ? ascii_lower(c) : bmci_bert_lowercase(c);
    }
    chunk->len = out;
}

static void emit(bmci_id_sink *sink, int32_t id)
{
    if (sink->count < sink->capacity) sink->ids[sink->count++] = id;
    else sink->full = 1;
}

/* WordPiece on one pre-token of `chars` code points. */
static void wordpiece(const bmci_vocab *v, int32_t unk_id, const uint32_t *word, size_t chars,
                      bmci_id_sink *sink)
{
    if (chars > MAX_WORD_CHARS) {
        emit(sink, unk_id);
        return;
    }
    char bytes[4 * MAX_WORD_CHARS];
    size_t bound[MAX_WORD_CHARS + 1];
    bound[0] = 0;
    for (size_t i = 0; i < chars; i++) bound[i + 1] = bound[i] + bmci_utf8_encode(word[i], bytes + bound[i]);

    int32_t pieces[MAX_WORD_CHARS];
    size_t count = 0;
    size_t start = 0;
    while (start < chars) {
        size_t limit = start == 0 ? v->max_len : v->max_cont_len;
        size_t end = chars;
        while (end > start && bound[end] - bound[start] > limit) end--;
        int32_t id = -1;
        for (; end > start; end--) {
            id = bmci_vocab_find(v, start ? "##" : NULL, 2, bytes + bound[start],
                                 bound[end] - bound[start]);
            if (id >= 0) break;
        }
        if (id < 0) {
            emit(sink, unk_id);
            return;
        }
        pieces[count++] = id;
        start = end;
    }
    for (size_t i = 0; i < count; i++) emit(sink, pieces[i]);
}

static int is_whitespace(uint32_t c)
{
    return c < 0x80 ? ascii_class[c] == SPACE : bmci_bert_is_whitespace(c);
}

static int is_punctuation(uint32_t c)
{
    return c < 0x80 ? ascii_class[c] == PUNCT : bmci_bert_is_punctuation(c);
}

/* BertPreTokenizer over a normalized chunk: split on whitespace, isolate punctuation. */
static void pretokenize(const bmci_vocab *v, int32_t unk_id, const uint32_t *s, size_t n,
                        bmci_id_sink *sink)
{
    size_t word = 0;
    for (size_t i = 0; i < n && !sink->full; i++) {
        uint32_t c = s[i];
        int space = is_whitespace(c), punct = !space && is_punctuation(c);
        if (!space && !punct) continue;
        if (i > word) wordpiece(v, unk_id, s + word, i - word, sink);
        if (punct) wordpiece(v, unk_id, s + i, 1, sink);
        word = i + 1;
    }
    if (n > word && !sink->full) wordpiece(v, unk_id, s + word, n - word, sink);
}

bmc_status bmci_wordpiece_encode(const bmci_vocab *v, int32_t unk_id, int lowercase,
                                 const char *text, size_t length, bmci_id_sink *sink)
{
    uint32_t stack[256];
    bmci_u32s chunk = {stack, 0, 256, 0, 1};
    int wide = 0; /* the chunk holds non-ASCII input and needs finish_wide() */
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i <= length && !sink->full) {
        uint32_t c = ' '; /* the end of the text ends the last chunk */
        size_t len = 1;
        if (i < length) len = bmci_utf8_decode(s + i, length - i, &c);
        if (len == 0) { /* cannot happen: the caller validated the text */
            c = 0xFFFD;
            len = 1;
        }
        i += len;
        if (c < 0x80) {
            unsigned char k = ascii_class[c];
            if (k == SPACE) {
                if (wide) finish_wide(&chunk);
                pretokenize(v, unk_id, chunk.data, chunk.len, sink);
                chunk.len = 0;
                wide = 0;
            } else if (k != DROPPED) {
                bmci_u32s_put(&chunk, lowercase ? ascii_lower(c) : c);
            }
        } else {
            normalize_wide(c, lowercase, &chunk);
            wide |= lowercase;
        }
    }
    int failed = chunk.failed;
    bmci_u32s_free(&chunk);
    if (failed) return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "tokenizer: no memory for a word of the text");
    return BMC_OK;
}

size_t bmci_wordpiece_normalize_char(uint32_t c, int lowercase, uint32_t *out)
{
    uint32_t stack[32];
    bmci_u32s chunk = {stack, 0, 32, 0, 1};
    if (c < 0x80) {
        if (ascii_class[c] == SPACE) bmci_u32s_put(&chunk, ' ');
        else if (ascii_class[c] != DROPPED) bmci_u32s_put(&chunk, lowercase ? ascii_lower(c) : c);
    } else {
        normalize_wide(c, lowercase, &chunk);
        if (lowercase) finish_wide(&chunk);
    }
    size_t n = chunk.len < 8 ? chunk.len : 8;
    memcpy(out, chunk.data, n * sizeof *out);
    bmci_u32s_free(&chunk);
    return n;
}
