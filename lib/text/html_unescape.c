/* SPDX-License-Identifier: MIT */
/* HTML character references the way Python's html.unescape() and ftfy's unescape_html() decode
 * them. The tables (HTML5 names, Python's rules for invalid numeric references) are generated
 * from Python into lib/text/generated/html_entities.c. */
#include <string.h>

#include "text/generated/clean_tables.h"
#include "text/text_clean.h"

#define MAX_NAME_CHARS 32 /* html.unescape's regex reads at most 32 name characters */

/* Binary search of a sorted entity table for the name s[0..n). */
static const char *find_entity(const bmci_entity *table, size_t count, const char *s, size_t n)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = table[mid].name;
        size_t len = strlen(name);
        int cmp = memcmp(s, name, n < len ? n : len);
        if (cmp == 0) cmp = n < len ? -1 : n > len ? 1 : 0;
        if (cmp == 0) return table[mid].value;
        if (cmp < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

static void append_text(bmci_str *out, const char *s)
{
    bmci_str_append(out, s, strlen(s));
}

/* What Python's html module makes of the numeric reference with value `num` (saturated above
 * U+10FFFF). */
static void append_numeric(bmci_str *out, uint64_t num)
{
    for (size_t i = 0; i < bmci_html_invalid_charrefs_count; i++) {
        if (bmci_html_invalid_charrefs[i].code_point == num) {
            append_text(out, bmci_html_invalid_charrefs[i].value);
            return;
        }
    }
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        bmci_str_put(out, 0xFFFD);
        return;
    }
    for (size_t i = 0; i < bmci_html_invalid_codepoints_count; i++)
        if (num >= bmci_html_invalid_codepoints[i].first && num <= bmci_html_invalid_codepoints[i].last)
            return;
    bmci_str_put(out, (uint32_t)num);
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A numeric reference "#123;" / "#x1F;" (';' optional) at s[0..n); returns the bytes consumed
 * after the '&', or 0 if there is none. */
static size_t numeric_reference(const char *s, size_t n, bmci_str *out)
{
    size_t i = 1;
    int base = 10;
    if (n >= 3 && (s[1] == 'x' || s[1] == 'X') && hex_value(s[2]) >= 0) {
        base = 16;
        i = 2;
    } else if (n < 2 || !is_digit(s[1])) {
        return 0;
    }
    uint64_t num = 0;
    for (; i < n && (base == 16 ? hex_value(s[i]) >= 0 : is_digit(s[i])); i++) {
        num = num * (uint64_t)base + (uint64_t)(base == 16 ? hex_value(s[i]) : s[i] - '0');
        if (num > 0x110000) num = 0x110000; /* Python's ints do not overflow; beyond U+10FFFF is all one */
    }
    if (i < n && s[i] == ';') i++;
    append_numeric(out, num);
    return i;
}

static int ends_name(unsigned char c)
{
    return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' ||
           c == ';';
}

/* A named reference at s[0..n) (after the '&'): up to 32 characters that are not tab, LF, FF,
 * space, '<', '&', '#' or ';', then an optional ';'. Python takes the whole name if it is an
 * entity, else its longest entity prefix of at least two characters followed by the rest, else
 * leaves it. Returns the bytes consumed (0 if no name starts here). */
static size_t named_reference(const char *s, size_t n, bmci_str *out)
{
    size_t ends[MAX_NAME_CHARS + 2]; /* byte length of the first k characters */
    size_t chars = 0, i = 0;
    ends[0] = 0;
    while (i < n && chars < MAX_NAME_CHARS && !ends_name((unsigned char)s[i])) {
        uint32_t cp;
        size_t len = bmci_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        i += len ? len : 1;
        ends[++chars] = i;
    }
    if (chars == 0) return 0;
    if (i < n && s[i] == ';') {
        i++;
        ends[++chars] = i;
    }
    const char *value = find_entity(bmci_html5_entities, bmci_html5_entities_count, s, i);
    if (value) {
        append_text(out, value);
        return i;
    }
    for (size_t k = chars - 1; k >= 2; k--) {
        value = find_entity(bmci_html5_entities, bmci_html5_entities_count, s, ends[k]);
        if (value) {
            append_text(out, value);
            bmci_str_append(out, s + ends[k], i - ends[k]);
            return i;
        }
    }
    bmci_str_append(out, "&", 1);
    bmci_str_append(out, s, i);
    return i;
}

void bmci_html_unescape(const char *s, size_t n, bmci_str *out)
{
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t stop = amp ? (size_t)(amp - s) : n;
        bmci_str_append(out, s + i, stop - i);
        if (!amp) return;
        i = stop + 1;
        size_t used = i < n && s[i] == '#' ? numeric_reference(s + i, n - i, out)
                                           : named_reference(s + i, n - i, out);
        if (used == 0) bmci_str_append(out, "&", 1);
        i += used;
    }
}

static int is_ascii_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ftfy's "&#?[0-9A-Za-z]{1,24};" at s[0..n) (s[0] == '&'): the match length or 0. */
static size_t ftfy_entity_length(const char *s, size_t n)
{
    size_t i = 1;
    if (i < n && s[i] == '#') i++;
    size_t start = i;
    while (i < n && i - start <= 24 && is_ascii_alnum(s[i])) i++;
    size_t run = i - start;
    if (run < 1 || run > 24 || i >= n || s[i] != ';') return 0;
    return i + 1;
}

void bmci_ftfy_unescape_html(const char *s, size_t n, bmci_str *out)
{
    size_t i = 0;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t stop = amp ? (size_t)(amp - s) : n;
        bmci_str_append(out, s + i, stop - i);
        if (!amp) return;
        i = stop;
        size_t len = ftfy_entity_length(s + i, n - i);
        if (len == 0) {
            bmci_str_append(out, "&", 1);
            i++;
            continue;
        }
        const char *name = s + i + 1;
        const char *value = find_entity(bmci_html5_entities, bmci_html5_entities_count, name, len - 1);
        if (!value) value = find_entity(bmci_ftfy_upper_entities, bmci_ftfy_upper_entities_count, name, len - 1);
        if (value) {
            append_text(out, value);
        } else if (name[0] == '#') {
            /* html.unescape() of the reference, kept only if it consumed the ';' */
            bmci_str decoded = {0};
            bmci_html_unescape(s + i, len, &decoded);
            if (decoded.failed) out->failed = 1;
            else if (decoded.len && memchr(decoded.data, ';', decoded.len)) bmci_str_append(out, s + i, len);
            else bmci_str_append(out, decoded.data, decoded.len);
            bmci_str_free(&decoded);
        } else {
            bmci_str_append(out, s + i, len);
        }
        i += len;
    }
}
