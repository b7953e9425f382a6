/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Route registration and what every route checks first: the method, the state of the plugin
 * (503 until the model is loaded) and the form of the instance id. */
#include "routes.h"

#include "answer.h"
#include "plugin.h"

typedef void (*handler)(bmco_request *, OrthancPluginRestOutput *, const char *);

static OrthancPluginErrorCode serve(OrthancPluginRestOutput *output, const char *url,
                                    const OrthancPluginHttpRequest *http, handler route,
                                    int needs_model)
{
    bmco_plugin *p = &bmco_the_plugin;
    if (http->method != OrthancPluginHttpMethod_Get) {
        OrthancPluginSendMethodNotAllowed(p->context, output, "GET");
        return OrthancPluginErrorCode_Success;
    }
    bmco_request r = {.http = http, .uri = url};
    int state = atomic_load(&p->state);
    const char *id = http->groupsCount > 0 ? http->groups[0] : NULL;
    if (needs_model && state != BMCO_READY)
        bmco_answer_error(output, url, 503, "%s",
                          state == BMCO_LOADING ? "the model is loading, try again shortly"
                          : p->error[0] ? p->error : "the plugin is disabled");
    else if (id && !bmco_valid_id(id))
        bmco_answer_error(output, url, 400, "\"%.60s\" is not an Orthanc instance id", id);
    else
        route(&r, output, id);
    bmco_request_end(&r);
    return OrthancPluginErrorCode_Success;
}

#define ROUTE(name, needs_model)                                                              \
    static OrthancPluginErrorCode on_##name(OrthancPluginRestOutput *output, const char *url, \
                                            const OrthancPluginHttpRequest *request)          \
    {                                                                                         \
        return serve(output, url, request, bmco_route_##name, needs_model);                   \
    }

ROUTE(search, 1)
ROUTE(similar, 1)
ROUTE(classify, 1)
ROUTE(segment, 1)
ROUTE(ask, 1)
ROUTE(status, 0)

void bmco_routes_register(OrthancPluginContext *context)
{
    /* The id group takes anything up to the next '/', so that a malformed id gets a 400 from
     * the route rather than Orthanc's 404 for an unknown path. */
    OrthancPluginRegisterRestCallbackNoLock(context, "/biomedclip/search", on_search);
    OrthancPluginRegisterRestCallbackNoLock(context, "/biomedclip/instances/([^/]*)/similar",
                                            on_similar);
    OrthancPluginRegisterRestCallbackNoLock(context, "/biomedclip/instances/([^/]*)/classify",
                                            on_classify);
    OrthancPluginRegisterRestCallbackNoLock(context, "/biomedclip/instances/([^/]*)/segment",
                                            on_segment);
    OrthancPluginRegisterRestCallbackNoLock(context, "/biomedclip/instances/([^/]*)/ask", on_ask);
    OrthancPluginRegisterRestCallbackNoLock(context, "/biomedclip/status", on_status);
}
