/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The plugin's shared state: Orthanc's context, the configuration, the model and its heads,
 * the index store and the indexing worker. One instance, set up by OrthancPluginInitialize. */
#ifndef BMCO_PLUGIN_H
#define BMCO_PLUGIN_H

#include <biomedclip.h>
#include <orthanc/OrthancCPlugin.h>
#include <stdatomic.h>

#include "config.h"
#include "store.h"

typedef struct bmco_worker bmco_worker;

/* Why an instance was not indexed; counted for /biomedclip/status. */
enum {
    BMCO_SKIP_NO_PIXELS,    /* no image in the file (a report, a plan) */
    BMCO_SKIP_UNDECODABLE,  /* the file or a frame could not be read or decoded */
    BMCO_SKIP_MODALITY,     /* its modality is not in "Modalities" */
    BMCO_SKIP_SOP_CLASS,    /* its SOP class is not in "SopClasses" */
    BMCO_SKIP_GONE,         /* deleted before the worker reached it */
    BMCO_SKIP_REASONS
};

/* The plugin's states, in order: a request is served only once READY. */
enum { BMCO_DISABLED, BMCO_LOADING, BMCO_READY, BMCO_FAILED };

typedef struct bmco_plugin {
    OrthancPluginContext *context;
    bmco_config config;
    atomic_int state;
    char error[512];          /* why the plugin is disabled or failed, for the log and status */
    bmc_model *model;         /* set by the worker before the state becomes READY */
    bmc_segmenter *segmenter; /* NULL unless configured */
    bmc_vqa *vqa;             /* NULL unless configured */
    bmco_store *store;
    bmco_worker *worker;
    atomic_llong skipped[BMCO_SKIP_REASONS];
    atomic_llong indexed;     /* instances indexed since start */
    atomic_llong duplicates;  /* changes of instances already in the index */
} bmco_plugin;

extern bmco_plugin bmco_the_plugin;

/* Orthanc's log with printf formatting. */
void bmco_log(int level, const char *fmt, ...);
#define BMCO_LOG_ERROR 0
#define BMCO_LOG_WARNING 1
#define BMCO_LOG_INFO 2

/* GET `uri` through Orthanc's REST API (no HTTP, no authentication). Returns the body (free
 * it with OrthancPluginFreeMemoryBuffer) or a non-success code; 404 gives
 * OrthancPluginErrorCode_UnknownResource. */
OrthancPluginErrorCode bmco_rest_get(const char *uri, OrthancPluginMemoryBuffer *body);

#endif
