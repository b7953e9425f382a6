/* SPDX-License-Identifier: GPL-3.0-or-later */
/* /biomedclip/status: the model, the index, how far indexing is behind Orthanc and what was
 * skipped and why. Served in every state, so that a disabled plugin says why. */
#include <stdlib.h>

#include "answer.h"
#include "plugin.h"
#include "routes.h"
#include "worker.h"

static int64_t orthanc_last_change(void)
{
    OrthancPluginMemoryBuffer body;
    int64_t last = -1;
    if (bmco_rest_get("/changes?last", &body) != OrthancPluginErrorCode_Success)
        return last;
    cJSON *json = cJSON_ParseWithLength(body.data, body.size);
    OrthancPluginFreeMemoryBuffer(bmco_the_plugin.context, &body);
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(json, "Last");
    if (cJSON_IsNumber(value))
        last = (int64_t)value->valuedouble;
    cJSON_Delete(json);
    return last;
}

void bmco_route_status(bmco_request *r, OrthancPluginRestOutput *output, const char *id)
{
    static const char *const states[] = {"disabled", "loading", "ready", "failed"};
    static const char *const reasons[BMCO_SKIP_REASONS] = {"NoPixelData", "Undecodable",
                                                           "Modality", "SopClass", "Deleted"};
    bmco_plugin *p = &bmco_the_plugin;
    int state = atomic_load(&p->state);
    cJSON *json = cJSON_CreateObject(), *skipped;
    cJSON_AddStringToObject(json, "State", states[state]);
    if (state == BMCO_DISABLED || state == BMCO_FAILED)
        cJSON_AddStringToObject(json, "Error", p->error);
    if (state == BMCO_READY) {
        int64_t applied, known, deletions, last = orthanc_last_change();
        bmco_worker_progress(p->worker, &applied, &known, &deletions);
        cJSON_AddStringToObject(json, "Model", bmc_model_name(p->model));
        cJSON_AddStringToObject(json, "ModelSource", bmc_model_source(p->model));
        cJSON_AddStringToObject(json, "Device", p->config.device);
        cJSON_AddNumberToObject(json, "EmbeddingSize", bmc_model_embed_dim(p->model));
        if (p->segmenter)
            cJSON_AddStringToObject(json, "SegmentationDecoder", bmc_segmenter_name(p->segmenter));
        if (p->vqa)
            cJSON_AddStringToObject(json, "VqaHead", bmc_vqa_name(p->vqa));
        cJSON_AddNumberToObject(json, "IndexedInstances",
                                (double)bmco_store_instance_count(p->store));
        cJSON_AddNumberToObject(json, "IndexedFrames", (double)bmco_store_entry_count(p->store));
        cJSON_AddNumberToObject(json, "LastChange", (double)applied);
        cJSON_AddNumberToObject(json, "OrthancLastChange", (double)last);
        /* Changes not yet looked at (of every type: an upload makes several) and deletions
         * waiting: 0 when the index has caught up. */
        cJSON_AddNumberToObject(json, "Queue",
                                (double)((last > applied ? last - applied : 0) + deletions));
        cJSON_AddNumberToObject(json, "IndexedSinceStart", (double)atomic_load(&p->indexed));
        cJSON_AddNumberToObject(json, "AlreadyIndexed", (double)atomic_load(&p->duplicates));
        if ((skipped = cJSON_AddObjectToObject(json, "Skipped")))
            for (int i = 0; i < BMCO_SKIP_REASONS; i++)
                cJSON_AddNumberToObject(skipped, reasons[i], (double)atomic_load(&p->skipped[i]));
    }
    bmco_answer_json(output, r->uri, json);
}
