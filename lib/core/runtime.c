/* SPDX-License-Identifier: MIT */
/* Process-wide settings (bmc_configure) and the log callback. */
#include "core/runtime.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/error.h"
#include "core/log.h"

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
/* Read by the shim before every CPU forward pass, so kept outside the lock. */
static atomic_int cpu_threads;
static bmc_runtime_config current = {
    sizeof(bmc_runtime_config), 0, NULL, NULL, BMC_LOG_WARN, 65535, 65535, (int64_t)1 << 27,
};

void bmc_runtime_config_init(bmc_runtime_config *config)
{
    if (!config)
        return;
    *config = (bmc_runtime_config){
        .struct_size = sizeof *config,
        .cpu_threads = 0,
        .log_level = BMC_LOG_WARN,
        .max_image_width = 65535,
        .max_image_height = 65535,
        .max_image_pixels = (int64_t)1 << 27,
    };
}

static bmc_status check_config_struct(const bmc_runtime_config *config, const char *fn)
{
    if (!config)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: config is NULL", fn);
    if (config->struct_size != sizeof *config)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT,
                         "%s: struct_size %zu is not sizeof(bmc_runtime_config) %zu "
                         "(call bmc_runtime_config_init first)",
                         fn, config->struct_size, sizeof *config);
    return BMC_OK;
}

bmc_status bmc_runtime_config_get(bmc_runtime_config *config)
{
    bmc_status status = check_config_struct(config, "bmc_runtime_config_get");
    if (status != BMC_OK)
        return status;
    pthread_mutex_lock(&config_lock);
    *config = current;
    pthread_mutex_unlock(&config_lock);
    return BMC_OK;
}

bmc_status bmc_configure(const bmc_runtime_config *config)
{
    bmc_status status = check_config_struct(config, "bmc_configure");
    if (status != BMC_OK)
        return status;
    if (config->cpu_threads < 0 || config->cpu_threads > BMCI_MAX_CPU_THREADS)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_configure: cpu_threads %d is not in 0..%d",
                         config->cpu_threads, BMCI_MAX_CPU_THREADS);
    if (config->log_level < BMC_LOG_ERROR || config->log_level > BMC_LOG_DEBUG)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_configure: log_level %d is not a BMC_LOG_* value",
                         config->log_level);
    if (config->max_image_width < 1 || config->max_image_height < 1 || config->max_image_pixels < 1)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_configure: image limits must be at least 1");
    pthread_mutex_lock(&config_lock);
    current = *config;
    atomic_store(&cpu_threads, config->cpu_threads);
    pthread_mutex_unlock(&config_lock);
    return BMC_OK;
}

int32_t bmci_runtime_cpu_threads(void)
{
    return atomic_load(&cpu_threads);
}

bmc_status bmci_check_image_size(const char *what, int64_t width, int64_t height)
{
    pthread_mutex_lock(&config_lock);
    int64_t max_w = current.max_image_width, max_h = current.max_image_height;
    int64_t max_pixels = current.max_image_pixels;
    pthread_mutex_unlock(&config_lock);
    if (width < 1 || height < 1)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "%s: image is %lldx%lld, width and height must be at least 1",
                         what, (long long)width, (long long)height);
    if (width > max_w || height > max_h || width * height > max_pixels)
        return bmci_fail(BMC_ERR_LIMIT,
                         "%s: image is %lldx%lld, over the limit of %lldx%lld and %lld pixels "
                         "(raise it with bmc_configure)",
                         what, (long long)width, (long long)height, (long long)max_w, (long long)max_h,
                         (long long)max_pixels);
    return BMC_OK;
}

int64_t bmci_runtime_max_image_pixels(void)
{
    pthread_mutex_lock(&config_lock);
    int64_t max_pixels = current.max_image_pixels;
    pthread_mutex_unlock(&config_lock);
    return max_pixels;
}

void bmci_log(int32_t level, const char *fmt, ...)
{
    pthread_mutex_lock(&config_lock);
    bmc_log_fn fn = current.log_fn;
    void *user = current.log_user_data;
    int32_t max_level = current.log_level;
    pthread_mutex_unlock(&config_lock);
    if (!fn || level > max_level)
        return;
    char message[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    fn(user, level, message);
}
