/* SPDX-License-Identifier: MIT */
/* A minimal test harness: each test program counts its checks and ends with the line
 * "NAME: N passed, N failed" that tests/run-all.sh adds up.
 *
 *   static void test_something(void) { CHECK(x == 1, "x is %d", x); }
 *   int main(void) { RUN(test_something); return harness_summary("test_name"); }
 */
#ifndef BMC_TESTS_HARNESS_H
#define BMC_TESTS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_passed, harness_failed;
static const char *harness_current = "";

#define CHECK(cond, ...)                                                                \
    do {                                                                                \
        if (cond) {                                                                     \
            harness_passed++;                                                           \
        } else {                                                                        \
            harness_failed++;                                                           \
            fprintf(stderr, "FAIL %s (%s:%d): %s: ", harness_current, __FILE__, __LINE__, \
                    #cond);                                                             \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
        }                                                                               \
    } while (0)

/* Check a status and, on mismatch, show the library's message. */
#define CHECK_STATUS(expr, expected)                                                    \
    do {                                                                                \
        bmc_status got_ = (expr);                                                       \
        CHECK(got_ == (expected), "status %d (%s), expected %d; last error: %s", got_,  \
              bmc_status_string(got_), (int)(expected), bmc_last_error());              \
    } while (0)

#define RUN(fn)                    \
    do {                           \
        harness_current = #fn;     \
        fn();                      \
    } while (0)

static inline int harness_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, harness_passed, harness_failed);
    return harness_failed ? 1 : 0;
}

/* Where generated fixtures and committed test data live (set by tests/run-all.sh). */
static inline const char *harness_fixtures(void)
{
    const char *dir = getenv("BMC_FIXTURES");
    return dir ? dir : "build/fixtures";
}

static inline const char *harness_data(void)
{
    const char *dir = getenv("BMC_TEST_DATA");
    return dir ? dir : "tests/data";
}

#endif
