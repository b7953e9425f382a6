/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Orthanc plugin's entry points. Initialize only reads the configuration and registers
 * the routes: Orthanc refuses REST calls during Initialize, and loading a model there would
 * delay Orthanc's start, so the worker thread starts at OrthancStarted and loads it. A bad
 * configuration leaves the plugin disabled (its routes answer 503, /status says why) while
 * Orthanc runs on. */
#include "plugin.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "routes.h"
#include "worker.h"

#define PLUGIN_NAME "biomedclip"

bmco_plugin bmco_the_plugin;

void bmco_log(int level, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    OrthancPluginContext *context = bmco_the_plugin.context;
    if (level == BMCO_LOG_ERROR)
        OrthancPluginLogError(context, message);
    else if (level == BMCO_LOG_WARNING)
        OrthancPluginLogWarning(context, message);
    else
        OrthancPluginLogInfo(context, message);
}

OrthancPluginErrorCode bmco_rest_get(const char *uri, OrthancPluginMemoryBuffer *body)
{
    return OrthancPluginRestApiGet(bmco_the_plugin.context, body, uri);
}

/* The library's own warnings and errors go to Orthanc's log. */
static void library_log(void *user, int32_t level, const char *message)
{
    bmco_log(level == BMC_LOG_ERROR ? BMCO_LOG_ERROR
             : level == BMC_LOG_WARN ? BMCO_LOG_WARNING
                                     : BMCO_LOG_INFO,
             "libbiomedclip: %s", message);
}

static OrthancPluginErrorCode on_change(OrthancPluginChangeType type,
                                        OrthancPluginResourceType resource, const char *id)
{
    bmco_plugin *p = &bmco_the_plugin;
    switch (type) {
    case OrthancPluginChangeType_OrthancStarted:
        if (atomic_load(&p->state) == BMCO_DISABLED && p->config.enabled && !p->error[0])
            bmco_worker_start(p);
        break;
    case OrthancPluginChangeType_OrthancStopped:
        bmco_worker_stop(p->worker);
        p->worker = NULL;
        break;
    case OrthancPluginChangeType_NewInstance:
        bmco_worker_wake(p->worker);
        break;
    case OrthancPluginChangeType_Deleted:
        /* A patient's id names nothing the index records: the worker compares with Orthanc. */
        bmco_worker_deleted(p->worker, resource == OrthancPluginResourceType_Patient ? NULL : id);
        break;
    default:
        break;
    }
    return OrthancPluginErrorCode_Success;
}

ORTHANC_PLUGINS_API int32_t OrthancPluginInitialize(OrthancPluginContext *context)
{
    bmco_plugin *p = &bmco_the_plugin;
    memset(p, 0, sizeof *p);
    p->context = context;
    if (OrthancPluginCheckVersion(context) == 0) {
        bmco_log(BMCO_LOG_ERROR, "BiomedClip needs Orthanc %d.%d.%d or later, this is %s",
                 ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER, ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER,
                 ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER, context->orthancVersion);
        return -1;
    }
    OrthancPluginSetDescription(context, "Text search, classification, segmentation and "
                                         "questions over stored images with BiomedCLIP "
                                         "(libbiomedclip).");
    atomic_store(&p->state, BMCO_DISABLED);
    char *json = OrthancPluginGetConfiguration(context);
    int rc = json ? bmco_config_parse(json, &p->config, p->error, sizeof p->error) : -1;
    if (json)
        OrthancPluginFreeString(context, json);
    bmc_runtime_config runtime;
    bmc_runtime_config_init(&runtime);
    runtime.log_fn = library_log;
    runtime.cpu_threads = p->config.threads;
    if (rc != 0) {
        if (!json)
            snprintf(p->error, sizeof p->error, "BiomedClip: Orthanc gave no configuration");
        bmco_log(BMCO_LOG_ERROR, "%s; the plugin stays disabled", p->error);
    } else if (!p->config.enabled) {
        snprintf(p->error, sizeof p->error, "BiomedClip: \"Enabled\" is false");
        bmco_log(BMCO_LOG_WARNING, "%s", p->error);
    } else if (bmc_configure(&runtime) != BMC_OK) {
        snprintf(p->error, sizeof p->error, "BiomedClip: %s", bmc_last_error());
        bmco_log(BMCO_LOG_ERROR, "%s; the plugin stays disabled", p->error);
    }
    bmco_routes_register(context);
    OrthancPluginRegisterOnChangeCallback(context, on_change);
    return 0;
}

ORTHANC_PLUGINS_API void OrthancPluginFinalize(void)
{
    bmco_plugin *p = &bmco_the_plugin;
    bmco_worker_stop(p->worker);
    p->worker = NULL;
    atomic_store(&p->state, BMCO_DISABLED);
    bmco_store_close(p->store);
    bmc_vqa_free(p->vqa);
    bmc_segmenter_free(p->segmenter);
    bmc_model_free(p->model);
    bmco_config_free(&p->config);
    p->store = NULL;
    p->vqa = NULL;
    p->segmenter = NULL;
    p->model = NULL;
}

ORTHANC_PLUGINS_API const char *OrthancPluginGetName(void)
{
    return PLUGIN_NAME;
}

ORTHANC_PLUGINS_API const char *OrthancPluginGetVersion(void)
{
    return bmc_version_string();
}
