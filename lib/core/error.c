/* SPDX-License-Identifier: MIT */
/* Status strings and the thread-local last-error message. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* Long enough for a path and a reason; longer messages are cut, never overflowed. */
#define MESSAGE_CAPACITY 1024

static _Thread_local char last_error[MESSAGE_CAPACITY];

const char *bmc_status_string(bmc_status status)
{
    switch (status) {
    case BMC_OK: return "ok";
    case BMC_ERR_INVALID_ARGUMENT: return "invalid argument";
    case BMC_ERR_OUT_OF_MEMORY: return "out of memory";
    case BMC_ERR_IO: return "input/output error";
    case BMC_ERR_CORRUPT_DATA: return "corrupt data";
    case BMC_ERR_UNSUPPORTED: return "unsupported";
    case BMC_ERR_LIMIT: return "limit exceeded";
    case BMC_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case BMC_ERR_INVALID_UTF8: return "invalid UTF-8";
    case BMC_ERR_MODEL: return "model error";
    case BMC_ERR_VERSION: return "unsupported format version";
    case BMC_ERR_DEVICE: return "device unavailable";
    case BMC_ERR_CANCELLED: return "cancelled";
    case BMC_ERR_INTERNAL: return "internal error";
    case BMC_ERR_NOT_FOUND: return "not found";
    default: return "unknown status";
    }
}

const char *bmc_last_error(void)
{
    return last_error;
}

bmc_status bmci_fail_text(bmc_status status, const char *message)
{
    /* Cut to capacity on purpose; memmove because callers may pass bmc_last_error() itself. */
    size_t length = message ? strlen(message) : 0;
    if (length >= sizeof last_error)
        length = sizeof last_error - 1;
    if (length)
        memmove(last_error, message, length);
    last_error[length] = '\0';
    bmci_log(BMC_LOG_DEBUG, "%s: %s", bmc_status_string(status), last_error);
    return status;
}

bmc_status bmci_fail(bmc_status status, const char *fmt, ...)
{
    char message[MESSAGE_CAPACITY];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    return bmci_fail_text(status, message);
}

bmc_status bmci_fail_context(bmc_status status, const char *context)
{
    /* Room for both parts; bmci_fail_text cuts the result to capacity. */
    char message[2 * MESSAGE_CAPACITY + 2];
    snprintf(message, sizeof message, "%s: %s", context, last_error);
    return bmci_fail_text(status, message);
}
