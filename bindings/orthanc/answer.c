/* SPDX-License-Identifier: GPL-3.0-or-later */
/* JSON and error answers (answer.h). */
#include "answer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

static const char *reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

void bmco_answer_error(OrthancPluginRestOutput *output, const char *uri, int status,
                       const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *json = cJSON_CreateObject();
    char *body = NULL;
    if (json && cJSON_AddNumberToObject(json, "HttpStatus", status) &&
        cJSON_AddStringToObject(json, "HttpError", reason(status)) &&
        cJSON_AddStringToObject(json, "Message", message) &&
        cJSON_AddStringToObject(json, "Method", "GET") &&
        cJSON_AddStringToObject(json, "Uri", uri ? uri : ""))
        body = cJSON_Print(json);
    cJSON_Delete(json);
    const char *text = body ? body : message;
    OrthancPluginSendHttpStatus(bmco_the_plugin.context, output, (uint16_t)status, text,
                                (uint32_t)strlen(text));
    if (status >= 500 && status != 501 && status != 503)
        bmco_log(BMCO_LOG_ERROR, "%s: %s", uri ? uri : "", message);
    free(body);
}

void bmco_answer_json(OrthancPluginRestOutput *output, const char *uri, cJSON *json)
{
    char *body = json ? cJSON_Print(json) : NULL;
    cJSON_Delete(json);
    if (!body) {
        bmco_answer_error(output, uri, 500, "out of memory");
        return;
    }
    OrthancPluginAnswerBuffer(bmco_the_plugin.context, output, body, strlen(body),
                              "application/json");
    free(body);
}

int bmco_http_status(bmc_status status)
{
    switch (status) {
    case BMC_ERR_INVALID_ARGUMENT:
    case BMC_ERR_INVALID_UTF8:
        return 400;
    case BMC_ERR_LIMIT:
        return 413;
    case BMC_ERR_NOT_FOUND:
        return 404;
    case BMC_ERR_CORRUPT_DATA:
    case BMC_ERR_UNSUPPORTED:
        return 415;
    default:
        return 500;
    }
}

cJSON *bmco_json_number(float value)
{
    return cJSON_CreateNumber((double)value);
}
