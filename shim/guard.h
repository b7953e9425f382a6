/* SPDX-License-Identifier: MIT */
// Turning C++ exceptions into statuses: every extern "C" shim entry runs its body through
// bmci_guard so nothing escapes into C and libtorch's messages become bmc_last_error().
#ifndef BMC_SHIM_GUARD_H
#define BMC_SHIM_GUARD_H

#include <c10/util/Exception.h>

#include <exception>
#include <new>

#include "core/error.h"

template <typename Body>
bmc_status bmci_guard(const char *what, Body &&body)
{
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    } catch (const c10::Error &e) {
        return bmci_fail(BMC_ERR_INTERNAL, "%s: libtorch: %s", what, e.what_without_backtrace());
    } catch (const std::exception &e) {
        return bmci_fail(BMC_ERR_INTERNAL, "%s: %s", what, e.what());
    } catch (...) {
        return bmci_fail(BMC_ERR_INTERNAL, "%s: unknown C++ exception", what);
    }
}

#endif
