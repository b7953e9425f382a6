/* SPDX-License-Identifier: MIT */
/* open_clip's clean='whitespace' for BiomedCLIP:
 *     ftfy.fix_text(text) -> html.unescape(html.unescape(.)) -> strip -> re.sub(r'\s+', ' ') -> strip
 * ftfy.fix_text with its defaults works on segments (each line, at most 1,000,000 characters)
 * and repeats its fixes on a segment until nothing changes: unescape_html (until the first
 * segment that contains '<': from there on ftfy leaves entities to html.unescape), [fix_encoding: mojibake heuristics, not reproduced], fix_c1_controls,
 * fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks, [fix_surrogates: no
 * surrogates in valid UTF-8], remove_terminal_escapes, remove_control_chars, NFC. */
#include "text/text_clean.h"

#include <string.h>
#include <utf8proc.h>

#include "text/generated/clean_tables.h"
#include "core/error.h"

#define MAX_SEGMENT_CHARS 1000000 /* ftfy's max_decode_length */

typedef struct pass_state {
    const unsigned char *s;
    size_t n, i;
} pass_state;

/* The next code point of a valid UTF-8 text, advancing i. */
static uint32_t next_cp(pass_state *p)
{
    uint32_t c = 0xFFFD;
    size_t len = bmci_utf8_decode(p->s + p->i, p->n - p->i, &c);
    p->i += len ? len : 1;
    return c;
}

static int in_ranges(const bmci_cp_range *r, size_t count, uint32_t c)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid].first) hi = mid;
        else if (c > r[mid].last) lo = mid + 1;
        else return 1;
    }
    return 0;
}

int bmci_python_isspace(uint32_t c)
{
    if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
    return in_ranges(bmci_python_space, bmci_python_space_count, c);
}

/* ftfy's LIGATURES: Latin ligatures and legacy digraphs, spelled out. */
static const char *ligature(uint32_t c)
{
    switch (c) {
    case 0x0132: return "IJ";
    case 0x0133: return "ij";
    case 0x0149: return "\xCA\xBCn"; /* U+02BC n */
    case 0x01F1: return "DZ";
    case 0x01F2: return "Dz";
    case 0x01F3: return "dz";
    case 0x01C4: return "D\xC5\xBD"; /* D Ž */
    case 0x01C5: return "D\xC5\xBE"; /* D ž */
    case 0x01C6: return "d\xC5\xBE"; /* d ž */
    case 0x01C7: return "LJ";
    case 0x01C8: return "Lj";
    case 0x01C9: return "lj";
    case 0x01CA: return "NJ";
    case 0x01CB: return "Nj";
    case 0x01CC: return "nj";
    case 0xFB00: return "ff";
    case 0xFB01: return "fi";
    case 0xFB02: return "fl";
    case 0xFB03: return "ffi";
    case 0xFB04: return "ffl";
    case 0xFB05: return "\xC5\xBFt"; /* long s, t */
    case 0xFB06: return "st";
    default: return NULL;
    }
}

static const char *width_form(uint32_t c)
{
    if (c != 0x3000 && (c < 0xFF01 || c > 0xFFEF)) return NULL;
    size_t lo = 0, hi = bmci_width_map_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < bmci_width_map[mid].code_point) hi = mid;
        else if (c > bmci_width_map[mid].code_point) lo = mid + 1;
        else return bmci_width_map[mid].value;
    }
    return NULL;
}

/* remove_control_chars: C0 controls but tab, LF, FF, CR; DEL; deprecated Arabic format
 * controls; the BOM; interlinear annotation marks and U+FFFC. */
static int is_removed_control(uint32_t c)
{
    return (c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* fix_c1_controls, fix_latin_ligatures, fix_character_width and uncurl_quotes are
 * character-for-text maps applied one after the other; fused here in the same order. */
static void map_characters(const char *text, size_t n, bmci_str *out)
{
    pass_state p = {(const unsigned char *)text, n, 0};
    while (p.i < p.n) {
        size_t start = p.i;
        uint32_t c = next_cp(&p);
        if (c < 0x80) {
            bmci_str_append(out, text + start, 1);
            continue;
        }
        if (c >= 0x80 && c <= 0x9F) c = bmci_c1_map[c - 0x80];
        const char *text_of_c = ligature(c);
        if (!text_of_c) text_of_c = width_form(c);
        if (text_of_c) { /* ASCII or U+02BC / U+017D.. which the later maps may still change */
            pass_state q = {(const unsigned char *)text_of_c, strlen(text_of_c), 0};
            while (q.i < q.n) {
                uint32_t d = next_cp(&q);
                bmci_str_put(out, d == 0x02BC ? '\'' : d);
            }
            continue;
        }
        if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
        else if (c >= 0x201C && c <= 0x201F) c = '"';
        bmci_str_put(out, c);
    }
}

/* fix_line_breaks: CRLF, CR, U+2028, U+2029, U+0085 -> LF. */
static void fix_line_breaks(const char *text, size_t n, bmci_str *out)
{
    pass_state p = {(const unsigned char *)text, n, 0};
    while (p.i < p.n) {
        uint32_t c = next_cp(&p);
        if (c == '\r') {
            if (p.i < p.n && p.s[p.i] == '\n') p.i++;
            c = '\n';
        } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
            c = '\n';
        }
        bmci_str_put(out, c);
    }
}

static int is_decimal(uint32_t c)
{
    if (c < 0x80) return c >= '0' && c <= '9';
    return utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_ND;
}

/* remove_terminal_escapes: ESC '[' (decimal digit or ';')* ASCII letter. */
static size_t terminal_escape_length(const char *text, size_t n)
{
    if (n < 3 || text[0] != 0x1B || text[1] != '[') return 0;
    pass_state p = {(const unsigned char *)text, n, 2};
    while (p.i < p.n) {
        uint32_t c = next_cp(&p);
        if (c == ';' || is_decimal(c)) continue;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return p.i;
        return 0;
    }
    return 0;
}

/* remove_terminal_escapes, then remove_control_chars. */
static void remove_escapes_and_controls(const char *text, size_t n, bmci_str *tmp, bmci_str *out)
{
    tmp->len = 0;
    bmci_str_reserve(tmp, n);
    for (size_t i = 0; i < n;) {
        size_t len = text[i] == 0x1B ? terminal_escape_length(text + i, n - i) : 0;
        if (len) {
            i += len;
        } else {
            bmci_str_append(tmp, text + i, 1);
            i++;
        }
    }
    pass_state p = {(const unsigned char *)tmp->data, tmp->len, 0};
    while (p.i < p.n) {
        size_t start = p.i;
        uint32_t c = next_cp(&p);
        if (!is_removed_control(c)) bmci_str_append(out, tmp->data + start, p.i - start);
    }
}

/* Unicode NFC through utf8proc. Text below U+0300 is already NFC (nothing there decomposes or
 * composes with what precedes it), which skips the work for ASCII and Latin-1. */
static void nfc(const char *text, size_t n, bmci_str *out)
{
    int simple = 1;
    for (size_t i = 0; i < n && simple; i++) simple = (unsigned char)text[i] < 0xCC;
    if (simple) {
        bmci_str_append(out, text, n);
        return;
    }
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t len = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)n, &mapped,
                                        UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (len < 0) {
        out->failed = 1; /* only UTF8PROC_ERROR_NOMEM can happen on valid UTF-8 */
        return;
    }
    bmci_str_append(out, (const char *)mapped, (size_t)len);
    free(mapped);
}

/* True if ftfy would leave the segment alone: printable ASCII, tab and LF only, and no '&' to
 * unescape. */
static int ftfy_trivial(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '&' || c >= 0x7F || (c < 0x20 && c != '\t' && c != '\n')) return 0;
    }
    return 1;
}

static void swap(bmci_str *a, bmci_str *b)
{
    bmci_str t = *a;
    *a = *b;
    *b = t;
}

/* fix_and_explain() on one segment: the fixes until a round changes nothing. */
static void fix_segment(const char *text, size_t n, int unescape, bmci_str *out)
{
    if (ftfy_trivial(text, n)) {
        bmci_str_append(out, text, n);
        return;
    }
    bmci_str cur = {0}, next = {0}, tmp = {0};
    bmci_str_append(&cur, text, n);
    /* Every round that changes something either shortens the text or applies a map whose
     * results are fixed points, so rounds are few; the bound only guards against surprises. */
    for (size_t round = 0; round < n + 8 && !cur.failed; round++) {
        next.len = 0;
        if (unescape) bmci_ftfy_unescape_html(cur.data, cur.len, &next);
        else bmci_str_append(&next, cur.data, cur.len);
        tmp.len = 0;
        map_characters(next.data, next.len, &tmp);
        next.len = 0;
        fix_line_breaks(tmp.data, tmp.len, &next);
        tmp.len = 0;
        bmci_str after = {0};
        remove_escapes_and_controls(next.data, next.len, &tmp, &after);
        next.len = 0;
        nfc(after.data, after.len, &next);
        /* A pass whose output could not grow leaves it short, not empty: check every one. */
        if (next.failed || tmp.failed || after.failed) cur.failed = 1;
        bmci_str_free(&after);
        int same = next.len == cur.len && (cur.len == 0 || memcmp(next.data, cur.data, cur.len) == 0);
        swap(&cur, &next);
        if (same) break;
    }
    if (cur.failed) out->failed = 1;
    else bmci_str_append(out, cur.data, cur.len);
    bmci_str_free(&cur);
    bmci_str_free(&next);
    bmci_str_free(&tmp);
}

void bmci_ftfy_fix_text(const char *text, size_t n, bmci_str *out)
{
    size_t pos = 0;
    int unescape = 1; /* ftfy turns HTML unescaping off for good at the first segment with '<' */
    while (pos < n) {
        /* a segment ends after a LF, or after MAX_SEGMENT_CHARS characters */
        size_t end = pos, chars = 0;
        while (end < n && chars < MAX_SEGMENT_CHARS) {
            unsigned char c = (unsigned char)text[end];
            end++;
            chars += (c & 0xC0) != 0x80;
            while (end < n && ((unsigned char)text[end] & 0xC0) == 0x80) end++;
            if (c == '\n') break;
        }
        if (memchr(text + pos, '<', end - pos)) unescape = 0;
        fix_segment(text + pos, end - pos, unescape, out);
        pos = end;
    }
}

/* str.strip(), re.sub(r'\s+', ' '), str.strip() in one pass: words joined by single spaces. */
static void collapse_whitespace(const char *text, size_t n, bmci_str *out)
{
    pass_state p = {(const unsigned char *)text, n, 0};
    int pending_space = 0;
    while (p.i < p.n) {
        size_t start = p.i;
        uint32_t c = next_cp(&p);
        if (bmci_python_isspace(c)) {
            pending_space = out->len > 0;
            continue;
        }
        if (pending_space) bmci_str_append(out, " ", 1);
        pending_space = 0;
        bmci_str_append(out, text + start, p.i - start);
    }
}

bmc_status bmci_clean_text(const char *text, size_t n, bmci_str *out)
{
    bmci_str a = {0}, b = {0};
    out->len = 0;
    bmci_str_reserve(out, n);
    bmci_ftfy_fix_text(text, n, &a);
    if (memchr(a.data ? a.data : "", '&', a.len)) {
        bmci_html_unescape(a.data, a.len, &b);
        a.len = 0;
        bmci_html_unescape(b.data, b.len, &a);
    }
    collapse_whitespace(a.data, a.len, out);
    int failed = a.failed || b.failed || out->failed;
    bmci_str_free(&a);
    bmci_str_free(&b);
    if (failed) return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "tokenizer: no memory to clean a text of %zu bytes", n);
    return BMC_OK;
}
