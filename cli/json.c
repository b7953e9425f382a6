/* SPDX-License-Identifier: MIT */
/* JSON string literals (RFC 8259): quotes, backslashes and control characters escaped, valid
 * UTF-8 written as it is. JSON text must be UTF-8, so a byte that does not start a valid UTF-8
 * sequence (a file name in another encoding) becomes U+FFFD. */
#include "cli.h"

/* The length of the valid UTF-8 sequence at p (1..4), or 0 if it is not one. */
static int utf8_sequence(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    int length;
    unsigned min;
    unsigned code;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        length = 2; min = 0x80; code = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        length = 3; min = 0x800; code = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        length = 4; min = 0x10000; code = p[0] & 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < length; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        code = code << 6 | (p[i] & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        return 0;
    return length;
}

void cli_json_string(FILE *out, const char *text)
{
    fputc('"', out);
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        int length = utf8_sequence(p);
        switch (length ? *p : 0) {
        case 0: fputs("\\ufffd", out); length = 1; break;
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fwrite(p, 1, (size_t)length, out);
        }
        p += length;
    }
    fputc('"', out);
}
