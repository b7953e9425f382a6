/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Argument checks of the REST routes (request.h). */
#include "request.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static int refuse(bmco_request *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    return status;
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

const char *bmco_arg(bmco_request *r, const char *name)
{
    for (uint32_t i = 0; i < r->http->getCount; i++) {
        if (strcmp(r->http->getKeys[i], name) != 0)
            continue;
        const char *value = r->http->getValues[i];
        char *out;
        if (r->decoded_count == BMCO_MAX_ARGS || !(out = malloc(strlen(value) + 1)))
            return NULL;
        size_t n = 0;
        for (const char *c = value; *c; c++) {
            if (*c == '+') {
                out[n++] = ' ';
            } else if (*c == '%' && hex(c[1]) >= 0 && hex(c[2]) >= 0) {
                out[n++] = (char)(hex(c[1]) * 16 + hex(c[2]));
                c += 2;
            } else {
                out[n++] = *c; /* a stray '%' stays as it is */
            }
        }
        out[n] = '\0';
        r->decoded[r->decoded_count++] = out;
        return out;
    }
    return NULL;
}

void bmco_request_end(bmco_request *r)
{
    for (int i = 0; i < r->decoded_count; i++)
        free(r->decoded[i]);
    r->decoded_count = 0;
}

int bmco_arg_text(bmco_request *r, const char *name, int required, size_t max_bytes,
                  const char **out)
{
    const char *value = bmco_arg(r, name);
    if (value && value[0] == '\0')
        value = NULL;
    if (!value && required)
        return refuse(r, 400, "the argument \"%s\" is required", name);
    if (value && strlen(value) > max_bytes)
        return refuse(r, 413, "\"%s\" is %zu bytes long, the limit is %zu", name, strlen(value),
                      max_bytes);
    *out = value;
    return 0;
}

int bmco_arg_int(bmco_request *r, const char *name, int32_t fallback, int32_t min, int32_t max,
                 int32_t *out)
{
    const char *value = bmco_arg(r, name);
    if (!value) {
        *out = fallback;
        return 0;
    }
    char *end = NULL;
    long long n = strtoll(value, &end, 10);
    if (value[0] == '\0' || *end != '\0' || n < min || n > max)
        return refuse(r, 400, "\"%s\" must be an integer in %d..%d, not \"%.40s\"", name,
                      (int)min, (int)max, value);
    *out = (int32_t)n;
    return 0;
}

int bmco_arg_float(bmco_request *r, const char *name, float fallback, float min, float max,
                   float *out)
{
    const char *value = bmco_arg(r, name);
    if (!value) {
        *out = fallback;
        return 0;
    }
    char *end = NULL;
    double x = strtod(value, &end);
    if (value[0] == '\0' || *end != '\0' || !isfinite(x) || x < min || x > max)
        return refuse(r, 400, "\"%s\" must be a number in %g..%g, not \"%.40s\"", name, min, max,
                      value);
    *out = (float)x;
    return 0;
}

void bmco_free_list(char **items, size_t count)
{
    for (size_t i = 0; items && i < count; i++)
        free(items[i]);
    free(items);
}

int bmco_arg_list(bmco_request *r, const char *name, char separator, char ***items,
                  size_t *count)
{
    const char *value;
    int rc = bmco_arg_text(r, name, 0, BMCO_MAX_LABELS * (BMCO_MAX_LABEL + 1), &value);
    *items = NULL;
    *count = 0;
    if (rc != 0 || !value)
        return rc;
    size_t n = 1;
    for (const char *c = value; *c; c++)
        n += *c == separator;
    if (n > BMCO_MAX_LABELS)
        return refuse(r, 413, "\"%s\" has %zu items, the limit is %d", name, n, BMCO_MAX_LABELS);
    char **list = calloc(n, sizeof *list);
    if (!list)
        return refuse(r, 500, "out of memory");
    const char *start = value;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(start, separator);
        size_t length = end ? (size_t)(end - start) : strlen(start);
        /* Spaces around the separators are the writer's, not the label's. */
        while (length > 0 && *start == ' ')
            start++, length--;
        while (length > 0 && start[length - 1] == ' ')
            length--;
        if (length == 0 || length > BMCO_MAX_LABEL) {
            bmco_free_list(list, n);
            return length ? refuse(r, 413, "an item of \"%s\" is over %d bytes", name,
                                   BMCO_MAX_LABEL)
                          : refuse(r, 400, "\"%s\" has an empty item", name);
        }
        if (!(list[i] = malloc(length + 1))) {
            bmco_free_list(list, n);
            return refuse(r, 500, "out of memory");
        }
        memcpy(list[i], start, length);
        list[i][length] = '\0';
        start = end ? end + 1 : start + length;
    }
    *items = list;
    *count = n;
    return 0;
}

int bmco_valid_id(const char *id)
{
    if (!id || strlen(id) != BMCO_ID_LENGTH)
        return 0;
    for (int i = 0; i < BMCO_ID_LENGTH; i++) {
        char c = id[i];
        if (i % 9 == 8 ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}
