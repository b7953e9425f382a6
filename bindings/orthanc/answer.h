/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Answers of the REST routes: JSON bodies, and errors shaped as Orthanc's own. */
#ifndef BMCO_ANSWER_H
#define BMCO_ANSWER_H

#include <biomedclip.h>
#include <cjson/cJSON.h>
#include <orthanc/OrthancCPlugin.h>

/* Send `json` with status 200 and free it. A NULL json (an allocation failed) sends 500. */
void bmco_answer_json(OrthancPluginRestOutput *output, const char *uri, cJSON *json);

/* Send an error: `status` (400, 404, 413, 415, 500, 501, 503) with a JSON body holding
 * HttpStatus, HttpError, Message, Method and Uri, as Orthanc describes its own errors. */
void bmco_answer_error(OrthancPluginRestOutput *output, const char *uri, int status,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The HTTP status for a library failure: the caller's input (400), too large (413), missing
 * (404), unreadable or unsupported image data (415), anything else (500). */
int bmco_http_status(bmc_status status);

/* A float as JSON without rounding it again (cJSON writes the double exactly). */
cJSON *bmco_json_number(float value);

#endif
