/* SPDX-License-Identifier: MIT */
/* Versions, status strings, thread-local errors and the runtime configuration. */
#include <pthread.h>

#include "biomedclip.h"
#include "harness.h"
#include "core/crc32.h"
#include "core/error.h"
#include "core/runtime.h"

#include <zlib.h>

static void test_version(void)
{
    CHECK(bmc_version() == BMC_VERSION_NUMBER, "bmc_version %u", bmc_version());
    CHECK(strcmp(bmc_version_string(), BMC_VERSION_STRING) == 0, "%s", bmc_version_string());
}

static void test_status_strings(void)
{
    for (bmc_status s = BMC_OK; s <= BMC_ERR_NOT_FOUND; s++) {
        const char *text = bmc_status_string(s);
        CHECK(text && *text && strcmp(text, "unknown status") != 0, "status %d has no name", s);
    }
    CHECK(strcmp(bmc_status_string(-7), "unknown status") == 0, "negative code");
    CHECK(strcmp(bmc_status_string(BMC_ERR_LIMIT), "limit exceeded") == 0, "limit");
}

static void *fail_on_other_thread(void *arg)
{
    bmci_fail(BMC_ERR_IO, "other thread %d", 7);
    return (void *)(strcmp(bmc_last_error(), "other thread 7") == 0 ? arg : NULL);
}

static void test_last_error_is_thread_local(void)
{
    CHECK(bmci_fail(BMC_ERR_CORRUPT_DATA, "here %s", "main") == BMC_ERR_CORRUPT_DATA, "status");
    pthread_t thread;
    void *result = NULL;
    pthread_create(&thread, NULL, fail_on_other_thread, (void *)1);
    pthread_join(thread, &result);
    CHECK(result == (void *)1, "the other thread saw its own message");
    CHECK(strcmp(bmc_last_error(), "here main") == 0, "main message intact: %s", bmc_last_error());
    bmci_fail_context(BMC_ERR_CORRUPT_DATA, "outer");
    CHECK(strcmp(bmc_last_error(), "outer: here main") == 0, "context: %s", bmc_last_error());
}

static int log_calls;
static void count_log(void *user, int32_t level, const char *message)
{
    (void)level;
    (void)message;
    log_calls += *(int *)user;
}

static void test_configure(void)
{
    bmc_runtime_config config;
    bmc_runtime_config_init(&config);
    CHECK(config.struct_size == sizeof config, "struct_size");
    CHECK(config.max_image_pixels == (int64_t)1 << 27, "default pixel limit");
    CHECK_STATUS(bmc_configure(NULL), BMC_ERR_INVALID_ARGUMENT);
    config.cpu_threads = -1;
    CHECK_STATUS(bmc_configure(&config), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "cpu_threads") != NULL, "message names the field: %s", bmc_last_error());
    config.cpu_threads = 1025; /* more OpenMP threads than any machine has cores: a typo */
    CHECK_STATUS(bmc_configure(&config), BMC_ERR_INVALID_ARGUMENT);
    bmc_runtime_config_init(&config);
    config.struct_size = 3;
    CHECK_STATUS(bmc_configure(&config), BMC_ERR_INVALID_ARGUMENT);

    int weight = 1;
    bmc_runtime_config_init(&config);
    config.log_fn = count_log;
    config.log_user_data = &weight;
    config.log_level = BMC_LOG_DEBUG;
    config.max_image_width = 100;
    config.cpu_threads = 1;
    CHECK_STATUS(bmc_configure(&config), BMC_OK);
    CHECK_STATUS(bmci_check_image_size("test", 101, 5), BMC_ERR_LIMIT);
    CHECK(log_calls > 0, "failures are logged at debug level");
    CHECK_STATUS(bmci_check_image_size("test", 100, 5), BMC_OK);
    CHECK_STATUS(bmci_check_image_size("test", 0, 5), BMC_ERR_CORRUPT_DATA);

    bmc_runtime_config got;
    bmc_runtime_config_init(&got);
    CHECK_STATUS(bmc_runtime_config_get(&got), BMC_OK);
    CHECK(got.max_image_width == 100 && got.log_fn == count_log, "settings read back");

    bmc_runtime_config_init(&config);
    CHECK_STATUS(bmc_configure(&config), BMC_OK);
    int before = log_calls;
    bmci_fail(BMC_ERR_IO, "quiet");
    CHECK(log_calls == before, "no callback after reset");
}

/* bmci_crc32 against zlib's crc32, the definition the file formats name: whole buffers of every
 * length up to 300 bytes at every alignment (the fast paths' heads and tails), a 1 MiB buffer,
 * and the same buffers continued from a split anywhere. */
static void test_crc32(void)
{
    enum { BIG = 1 << 20 };
    unsigned char *data = malloc(BIG + 64);
    if (!data) {
        CHECK(0, "out of memory");
        return;
    }
    uint32_t state = 12345;
    for (size_t i = 0; i < BIG + 64; i++) {
        state = state * 1103515245u + 12345u;
        data[i] = (unsigned char)(state >> 16);
    }
    CHECK(bmci_crc32(0, "123456789", 9) == 0xCBF43926u, "check value %08x", bmci_crc32(0, "123456789", 9));
    int wrong = 0;
    for (size_t offset = 0; offset < 16; offset++)
        for (size_t size = 0; size <= 300; size++)
            wrong += bmci_crc32(0, data + offset, size) != (uint32_t)crc32(0, data + offset, (uInt)size);
    CHECK(wrong == 0, "%d of 4,816 short buffers differ from zlib", wrong);
    uint32_t whole = (uint32_t)crc32(0, data + 3, BIG);
    CHECK(bmci_crc32(0, data + 3, BIG) == whole, "1 MiB buffer");
    wrong = 0;
    for (size_t split = 0; split <= BIG; split += 65521)
        wrong += bmci_crc32(bmci_crc32(0, data + 3, split), data + 3 + split, BIG - split) != whole;
    CHECK(wrong == 0, "%d continued CRCs differ", wrong);
    free(data);
}

int main(void)
{
    RUN(test_version);
    RUN(test_status_strings);
    RUN(test_last_error_is_thread_local);
    RUN(test_configure);
    RUN(test_crc32);
    return harness_summary("test_core");
}
