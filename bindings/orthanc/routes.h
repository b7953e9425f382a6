/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The REST routes under /biomedclip/. Each handler runs on one of Orthanc's HTTP threads,
 * registered without Orthanc's global lock: the model and heads are immutable and shared,
 * encoders are made per request, and the store has its own read-write lock. */
#ifndef BMCO_ROUTES_H
#define BMCO_ROUTES_H

#include <orthanc/OrthancCPlugin.h>

#include "request.h"

/* Register every route. */
void bmco_routes_register(OrthancPluginContext *context);

/* The handlers; `id` is the instance id of the URI (checked for its form), NULL for the
 * others. Each answers exactly once. */
void bmco_route_search(bmco_request *r, OrthancPluginRestOutput *output, const char *id);
void bmco_route_similar(bmco_request *r, OrthancPluginRestOutput *output, const char *id);
void bmco_route_classify(bmco_request *r, OrthancPluginRestOutput *output, const char *id);
void bmco_route_segment(bmco_request *r, OrthancPluginRestOutput *output, const char *id);
void bmco_route_ask(bmco_request *r, OrthancPluginRestOutput *output, const char *id);
void bmco_route_status(bmco_request *r, OrthancPluginRestOutput *output, const char *id);

#endif
