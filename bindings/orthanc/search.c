/* SPDX-License-Identifier: GPL-3.0-or-later */
/* /biomedclip/search (text to image) and /biomedclip/instances/{id}/similar (image to image).
 * Hits are shaped as a QIDO-RS answer (DICOM JSON keyed by tag) plus the score and the
 * Orthanc ids, at the level asked: an instance, a series or a study ranks by its best frame. */
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "plugin.h"
#include "routes.h"

static int add_uid(cJSON *hit, const char *tag, const char *uid)
{
    cJSON *attribute = cJSON_AddObjectToObject(hit, tag), *value;
    return attribute && cJSON_AddStringToObject(attribute, "vr", "UI") &&
           (value = cJSON_AddArrayToObject(attribute, "Value")) &&
           cJSON_AddItemToArray(value, cJSON_CreateString(uid));
}

static cJSON *hit_json(const bmco_hit *h, int32_t level)
{
    const bmco_entry *e = &h->entry;
    cJSON *hit = cJSON_CreateObject();
    int ok = hit && add_uid(hit, "0020000D", e->study_uid) &&
             cJSON_AddStringToObject(hit, "ParentStudy", e->study) &&
             cJSON_AddItemToObject(hit, "Score", bmco_json_number(h->score));
    if (ok && level != BMCO_LEVEL_STUDY)
        ok = add_uid(hit, "0020000E", e->series_uid) &&
             cJSON_AddStringToObject(hit, "ParentSeries", e->series);
    if (ok && level == BMCO_LEVEL_INSTANCE)
        ok = add_uid(hit, "00080018", e->sop_uid) && cJSON_AddNumberToObject(hit, "Frame", e->frame);
    /* "ID" names the hit at its level; "BestInstance" the instance whose frame scored it. */
    if (ok)
        ok = cJSON_AddStringToObject(hit, "ID", level == BMCO_LEVEL_STUDY    ? e->study
                                                : level == BMCO_LEVEL_SERIES ? e->series
                                                                             : e->instance) &&
             cJSON_AddStringToObject(hit, "BestInstance", e->instance);
    if (!ok) {
        cJSON_Delete(hit);
        return NULL;
    }
    return hit;
}

static int level_arg(bmco_request *r, int32_t *level)
{
    const char *value = bmco_arg(r, "level");
    if (!value || strcmp(value, "instance") == 0)
        *level = BMCO_LEVEL_INSTANCE;
    else if (strcmp(value, "series") == 0)
        *level = BMCO_LEVEL_SERIES;
    else if (strcmp(value, "study") == 0)
        *level = BMCO_LEVEL_STUDY;
    else {
        snprintf(r->message, sizeof r->message,
                 "\"level\" must be instance, series or study, not \"%.40s\"", value);
        return 400;
    }
    return 0;
}

static void answer_hits(bmco_request *r, OrthancPluginRestOutput *output, const float *query,
                        int32_t level, int32_t limit, const char *exclude)
{
    bmco_hit *hits = malloc((size_t)limit * sizeof *hits);
    size_t count = 0;
    char error[512];
    if (!hits) {
        bmco_answer_error(output, r->uri, 500, "out of memory");
        return;
    }
    if (bmco_store_search(bmco_the_plugin.store, query, level, (size_t)limit, exclude, hits,
                          &count, error, sizeof error) != 0) {
        bmco_answer_error(output, r->uri, 500, "%s", error);
        free(hits);
        return;
    }
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list && i < count; i++) {
        cJSON *hit = hit_json(&hits[i], level);
        if (!hit || !cJSON_AddItemToArray(list, hit)) {
            cJSON_Delete(list);
            list = NULL;
        }
    }
    free(hits);
    bmco_answer_json(output, r->uri, list);
}

void bmco_route_search(bmco_request *r, OrthancPluginRestOutput *output, const char *id)
{
    bmco_plugin *p = &bmco_the_plugin;
    const char *q;
    int32_t limit, level;
    int rc;
    if ((rc = bmco_arg_text(r, "q", 1, BMCO_MAX_TEXT, &q)) != 0 ||
        (rc = bmco_arg_int(r, "limit", 10, 1, BMCO_MAX_LIMIT, &limit)) != 0 ||
        (rc = level_arg(r, &level)) != 0) {
        bmco_answer_error(output, r->uri, rc, "%s", r->message);
        return;
    }
    size_t dim = (size_t)bmc_model_embed_dim(p->model);
    float *query = malloc(dim * sizeof *query);
    bmc_text_encoder *encoder = NULL;
    bmc_status st = query ? bmc_text_encoder_create(p->model, NULL, &encoder) : BMC_ERR_OUT_OF_MEMORY;
    if (st == BMC_OK)
        st = bmc_text_encoder_encode(encoder, &q, 1, 0, query, dim);
    if (st != BMC_OK)
        bmco_answer_error(output, r->uri, bmco_http_status(st), "q: %s",
                          query ? bmc_last_error() : "out of memory");
    else
        answer_hits(r, output, query, level, limit, NULL);
    bmc_text_encoder_free(encoder);
    free(query);
}

void bmco_route_similar(bmco_request *r, OrthancPluginRestOutput *output, const char *id)
{
    bmco_plugin *p = &bmco_the_plugin;
    int32_t limit, level, frame;
    int rc;
    if ((rc = bmco_arg_int(r, "limit", 10, 1, BMCO_MAX_LIMIT, &limit)) != 0 ||
        (rc = bmco_arg_int(r, "frame", 0, 0, 1 << 30, &frame)) != 0 ||
        (rc = level_arg(r, &level)) != 0) {
        bmco_answer_error(output, r->uri, rc, "%s", r->message);
        return;
    }
    size_t dim = (size_t)bmc_model_embed_dim(p->model);
    float *query = malloc(dim * sizeof *query);
    if (!query)
        bmco_answer_error(output, r->uri, 500, "out of memory");
    else if (bmco_store_vector(p->store, id, frame, query, dim) != 0)
        bmco_answer_error(output, r->uri, 404, "frame %d of instance %s is not in the index",
                          (int)frame, id);
    else
        answer_hits(r, output, query, level, limit, id);
    free(query);
}
