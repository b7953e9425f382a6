/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The arguments of a REST request, checked: each getter returns 0, or the HTTP status to
 * answer (400 for a malformed value, 413 for one over its limit) with a message. */
#ifndef BMCO_REQUEST_H
#define BMCO_REQUEST_H

#include <orthanc/OrthancCPlugin.h>
#include <stddef.h>
#include <stdint.h>

#define BMCO_MAX_TEXT 1024      /* bytes of a query, a prompt or a question */
#define BMCO_MAX_LABELS 64      /* labels, templates or answers in one request */
#define BMCO_MAX_LABEL 256      /* bytes of one of them */
#define BMCO_MAX_LIMIT 1000     /* hits of one search */

#define BMCO_MAX_ARGS 16

typedef struct bmco_request {
    const OrthancPluginHttpRequest *http;
    const char *uri;
    char message[512];
    char *decoded[BMCO_MAX_ARGS]; /* the arguments handed out, freed by bmco_request_end() */
    int decoded_count;
} bmco_request;

/* The argument `name`, URL-decoded ('+' is a space, %XX a byte), or NULL when absent. Orthanc
 * 1.10 hands plugins the query string's values as sent. Owned by the request. */
const char *bmco_arg(bmco_request *r, const char *name);

/* Free what bmco_arg() decoded. */
void bmco_request_end(bmco_request *r);

/* A text argument of at most `max_bytes` bytes; `required` makes absence (or "") a 400. */
int bmco_arg_text(bmco_request *r, const char *name, int required, size_t max_bytes,
                  const char **out);

/* An integer argument in min..max, `fallback` when absent. */
int bmco_arg_int(bmco_request *r, const char *name, int32_t fallback, int32_t min, int32_t max,
                 int32_t *out);

/* A number argument in min..max, `fallback` when absent. */
int bmco_arg_float(bmco_request *r, const char *name, float fallback, float min, float max,
                   float *out);

/* A list argument split at `separator` into at most BMCO_MAX_LABELS non-empty items of at
 * most BMCO_MAX_LABEL bytes; *items is NULL when absent. Free with bmco_free_list(). */
int bmco_arg_list(bmco_request *r, const char *name, char separator, char ***items,
                  size_t *count);
void bmco_free_list(char **items, size_t count);

/* Whether `id` has the form of an Orthanc id (five groups of 8 lowercase hex digits). */
int bmco_valid_id(const char *id);

#endif
