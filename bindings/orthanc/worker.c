/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The indexing worker (worker.h). It drives itself from Orthanc's /changes rather than from
 * ids pushed by the change callback: the change numbers give one order for the catch-up after
 * a restart and for live uploads, and the number saved with the index says exactly where to
 * resume. Deletions are not logged in /changes (Orthanc 1.10), so they come through a queue,
 * and a start-up pass drops instances deleted while the plugin was not running. */
#include "worker.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHANGES_PER_PAGE 100
#define IDLE_POLL_SECONDS 5
#define MAX_DELETIONS 65536

struct bmco_worker {
    bmco_plugin *plugin;
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stop, woken;
    char (*deletions)[BMCO_ID_LENGTH + 1]; /* ids waiting, under lock */
    size_t deletion_count;
    int reconcile;                         /* a deletion that names no indexed level */
    size_t applying;                       /* deletions taken from the queue, not yet applied */
    atomic_llong known;                    /* the last change Orthanc reported */
    bmc_image_encoder *encoder;
    /* The batch: decoded frames waiting for the image tower. */
    bmc_image **images;
    bmco_entry *entries;
    size_t count, capacity;
};

static bmco_worker the_worker;

static int stopping(bmco_worker *w)
{
    pthread_mutex_lock(&w->lock);
    int stop = w->stop;
    pthread_mutex_unlock(&w->lock);
    return stop;
}

static void skip(bmco_plugin *p, int reason, const char *id, const char *why)
{
    atomic_fetch_add(&p->skipped[reason], 1);
    bmco_log(BMCO_LOG_INFO, "instance %s not indexed: %s", id, why);
}

static void clear_batch(bmco_worker *w, size_t from)
{
    for (size_t i = from; i < w->count; i++)
        bmc_image_free(w->images[i]);
    w->count = from;
}

static int grow_batch(bmco_worker *w, size_t more)
{
    if (w->count + more <= w->capacity)
        return 0;
    size_t n = (w->count + more) * 2;
    bmc_image **images = realloc(w->images, n * sizeof *images);
    if (images)
        w->images = images;
    bmco_entry *entries = realloc(w->entries, n * sizeof *entries);
    if (entries)
        w->entries = entries;
    if (!images || !entries)
        return -1;
    w->capacity = n;
    return 0;
}

/* Embed the batch and add it to the index. */
static void flush(bmco_worker *w)
{
    bmco_plugin *p = w->plugin;
    if (w->count == 0)
        return;
    size_t dim = (size_t)bmc_model_embed_dim(p->model);
    float *vectors = malloc(w->count * dim * sizeof *vectors);
    char error[512];
    if (!vectors) {
        bmco_log(BMCO_LOG_ERROR, "indexing: out of memory for %zu frames", w->count);
    } else if (bmc_image_encoder_encode(w->encoder, (const bmc_image *const *)w->images, w->count,
                                        0, vectors, w->count * dim) != BMC_OK) {
        bmco_log(BMCO_LOG_ERROR, "indexing: the image tower failed on %zu frames: %s", w->count,
                 bmc_last_error());
    } else if (bmco_store_add(p->store, vectors, w->entries, w->count, error, sizeof error) != 0) {
        bmco_log(BMCO_LOG_ERROR, "indexing: %s", error);
    } else {
        for (size_t i = 0; i < w->count; i++)
            if (w->entries[i].frame == 0)
                atomic_fetch_add(&p->indexed, 1);
    }
    free(vectors);
    clear_batch(w, 0);
}

static int listed(char **list, size_t count, const char *value)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i], value) == 0)
            return 1;
    return 0;
}

/* The Orthanc ids of the instance's series and study. */
static int parents(const char *id, bmco_entry *entry)
{
    char uri[128];
    OrthancPluginMemoryBuffer body;
    snprintf(uri, sizeof uri, "/instances/%s/series", id);
    if (bmco_rest_get(uri, &body) != OrthancPluginErrorCode_Success)
        return -1;
    cJSON *json = cJSON_ParseWithLength(body.data, body.size);
    OrthancPluginFreeMemoryBuffer(bmco_the_plugin.context, &body);
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(json, "ID");
    const cJSON *study = cJSON_GetObjectItemCaseSensitive(json, "ParentStudy");
    int rc = -1;
    if (cJSON_IsString(series) && cJSON_IsString(study)) {
        snprintf(entry->series, sizeof entry->series, "%s", series->valuestring);
        snprintf(entry->study, sizeof entry->study, "%s", study->valuestring);
        rc = 0;
    }
    cJSON_Delete(json);
    return rc;
}

static int sop_class_allowed(bmco_plugin *p, const char *id)
{
    if (p->config.sop_class_count == 0)
        return 1;
    char uri[128], uid[BMCO_UID_LENGTH + 1] = "";
    OrthancPluginMemoryBuffer body;
    snprintf(uri, sizeof uri, "/instances/%s/metadata/SopClassUid", id);
    if (bmco_rest_get(uri, &body) == OrthancPluginErrorCode_Success) {
        snprintf(uid, sizeof uid, "%.*s", (int)(body.size < BMCO_UID_LENGTH ? body.size : BMCO_UID_LENGTH),
                 (const char *)body.data);
        OrthancPluginFreeMemoryBuffer(p->context, &body);
    }
    return listed(p->config.sop_classes, p->config.sop_class_count, uid);
}

/* Decode every frame of one new instance into the batch (all or none of them). */
static void take_instance(bmco_worker *w, const char *id)
{
    bmco_plugin *p = w->plugin;
    if (bmco_store_has(p->store, id, NULL)) {
        atomic_fetch_add(&p->duplicates, 1);
        return;
    }
    char uri[128], why[256];
    OrthancPluginMemoryBuffer body;
    snprintf(uri, sizeof uri, "/instances/%s/file", id);
    OrthancPluginErrorCode code = bmco_rest_get(uri, &body);
    if (code == OrthancPluginErrorCode_UnknownResource) {
        skip(p, BMCO_SKIP_GONE, id, "deleted before it was indexed");
        return;
    }
    if (code != OrthancPluginErrorCode_Success) {
        skip(p, BMCO_SKIP_UNDECODABLE, id, "Orthanc could not read its file");
        return;
    }
    bmc_dicom *dicom = NULL;
    bmc_status st = bmc_dicom_open_memory(body.data, body.size, &dicom);
    OrthancPluginFreeMemoryBuffer(p->context, &body);
    bmc_dicom_info info;
    bmc_dicom_info_init(&info);
    bmco_entry entry;
    memset(&entry, 0, sizeof entry);
    size_t first = w->count;
    if (st != BMC_OK || bmc_dicom_get_info(dicom, &info) != BMC_OK) {
        snprintf(why, sizeof why, "not readable as DICOM: %s", bmc_last_error());
        skip(p, BMCO_SKIP_UNDECODABLE, id, why);
    } else if (info.frames == 0) {
        snprintf(why, sizeof why, "no image (%s)", info.no_image_reason);
        skip(p, BMCO_SKIP_NO_PIXELS, id, why);
    } else if (p->config.modality_count > 0 &&
               !listed(p->config.modalities, p->config.modality_count, info.modality)) {
        snprintf(why, sizeof why, "modality \"%s\" is not in \"Modalities\"", info.modality);
        skip(p, BMCO_SKIP_MODALITY, id, why);
    } else if (!sop_class_allowed(p, id)) {
        skip(p, BMCO_SKIP_SOP_CLASS, id, "its SOP class is not in \"SopClasses\"");
    } else if (parents(id, &entry) != 0) {
        skip(p, BMCO_SKIP_GONE, id, "deleted before it was indexed");
    } else {
        int32_t frames = info.frames;
        if (p->config.max_frames > 0 && frames > p->config.max_frames)
            frames = p->config.max_frames;
        snprintf(entry.instance, sizeof entry.instance, "%s", id);
        snprintf(entry.study_uid, sizeof entry.study_uid, "%.64s", info.study_instance_uid);
        snprintf(entry.series_uid, sizeof entry.series_uid, "%.64s", info.series_instance_uid);
        snprintf(entry.sop_uid, sizeof entry.sop_uid, "%.64s", info.sop_instance_uid);
        bmc_dicom_frame_options options;
        bmc_dicom_frame_options_init(&options);
        for (int32_t f = 0; f < frames; f++) {
            bmc_image *image = NULL;
            options.frame = f;
            if (grow_batch(w, 1) != 0 ||
                (st = bmc_dicom_frame_image(dicom, &options, &image)) != BMC_OK) {
                snprintf(why, sizeof why, "frame %d cannot be decoded: %s", (int)f,
                         st == BMC_OK ? "out of memory" : bmc_last_error());
                skip(p, BMCO_SKIP_UNDECODABLE, id, why);
                clear_batch(w, first);
                break;
            }
            entry.frame = f;
            w->images[w->count] = image;
            w->entries[w->count] = entry;
            w->count++;
        }
    }
    bmc_dicom_free(dicom);
}

/* Apply the queued deletions, in one pass over the index: deleting a study signals every
 * instance and series of it too. An instance that Orthanc still has afterwards was
 * overwritten ("OverwriteInstances"): Orthanc deleted the old file, and its series, study and
 * patient where they became empty, then stored the new file under the same ids. Its new file
 * may have been seen, as already indexed, before the deletions arrived, and the deletions may
 * come in more than one batch (the instance's, then its series' and study's, which would
 * remove it again after it was indexed again), so every instance that lost its entries here
 * and that Orthanc still has is indexed again. */
static void apply_deletions(bmco_worker *w, char (*ids)[BMCO_ID_LENGTH + 1], size_t count)
{
    bmco_plugin *p = w->plugin;
    char (*gone)[BMCO_ID_LENGTH + 1] = NULL;
    size_t gone_count = 0;
    size_t removed = bmco_store_remove(p->store, ids, count, &gone, &gone_count);
    if (removed > 0)
        bmco_log(BMCO_LOG_INFO, "%zu frames of %zu deleted resources left the index", removed,
                 count);
    if (removed > 0 && gone_count == 0) {
        /* out of memory for the list: compare with Orthanc on the next pass instead */
        pthread_mutex_lock(&w->lock);
        w->reconcile = 1;
        pthread_mutex_unlock(&w->lock);
    }
    for (size_t i = 0; i < gone_count; i++) {
        char uri[128];
        OrthancPluginMemoryBuffer body;
        snprintf(uri, sizeof uri, "/instances/%s", gone[i]);
        if (bmco_rest_get(uri, &body) == OrthancPluginErrorCode_Success) {
            OrthancPluginFreeMemoryBuffer(p->context, &body);
            take_instance(w, gone[i]);
        }
    }
    flush(w);
    free(gone);
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct id_list {
    const char **ids;
    size_t count;
} id_list;

static int in_list(const char *instance, void *user)
{
    const id_list *list = user;
    return bsearch(&instance, list->ids, list->count, sizeof *list->ids, compare_ids) != NULL;
}

/* Drop the instances that Orthanc no longer has (deleted while the plugin was not running,
 * or a deletion at the patient level, which names no id the index records). */
static void reconcile(bmco_worker *w)
{
    bmco_plugin *p = w->plugin;
    if (bmco_store_instance_count(p->store) == 0)
        return;
    OrthancPluginMemoryBuffer body;
    if (bmco_rest_get("/instances", &body) != OrthancPluginErrorCode_Success)
        return;
    cJSON *json = cJSON_ParseWithLength(body.data, body.size), *item;
    OrthancPluginFreeMemoryBuffer(p->context, &body);
    id_list list = {NULL, 0};
    if (cJSON_IsArray(json) &&
        (list.ids = malloc(((size_t)cJSON_GetArraySize(json) + 1) * sizeof *list.ids))) {
        cJSON_ArrayForEach(item, json)
            if (cJSON_IsString(item))
                list.ids[list.count++] = item->valuestring;
        qsort(list.ids, list.count, sizeof *list.ids, compare_ids);
        size_t removed = bmco_store_retain(p->store, in_list, &list);
        if (removed > 0)
            bmco_log(BMCO_LOG_WARNING, "%zu frames of instances no longer in Orthanc left the "
                     "index", removed);
    }
    free(list.ids);
    cJSON_Delete(json);
}

/* One page of /changes from the applied change on; returns 1 when there may be more. */
static int follow_changes(bmco_worker *w)
{
    bmco_plugin *p = w->plugin;
    char uri[128];
    int64_t since = bmco_store_last_change(p->store);
    snprintf(uri, sizeof uri, "/changes?since=%lld&limit=%d", (long long)since, CHANGES_PER_PAGE);
    OrthancPluginMemoryBuffer body;
    if (bmco_rest_get(uri, &body) != OrthancPluginErrorCode_Success)
        return 0;
    cJSON *json = cJSON_ParseWithLength(body.data, body.size);
    OrthancPluginFreeMemoryBuffer(p->context, &body);
    const cJSON *changes = cJSON_GetObjectItemCaseSensitive(json, "Changes"), *change;
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(json, "Last");
    const cJSON *done = cJSON_GetObjectItemCaseSensitive(json, "Done");
    int more = 0;
    if (cJSON_IsArray(changes) && cJSON_IsNumber(last)) {
        cJSON_ArrayForEach(change, changes) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(change, "ChangeType");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(change, "ID");
            if (cJSON_IsString(type) && strcmp(type->valuestring, "NewInstance") == 0 &&
                cJSON_IsString(id) && strlen(id->valuestring) == BMCO_ID_LENGTH) {
                take_instance(w, id->valuestring);
                if (w->count >= (size_t)p->config.batch_size)
                    flush(w);
            }
        }
        flush(w);
        if ((int64_t)last->valuedouble > atomic_load(&w->known))
            atomic_store(&w->known, (int64_t)last->valuedouble);
        bmco_store_set_last_change(p->store, (int64_t)last->valuedouble);
        more = !cJSON_IsTrue(done);
    }
    cJSON_Delete(json);
    return more;
}

static void save(bmco_worker *w, int force)
{
    char error[512];
    if (bmco_store_save(w->plugin->store, force, w->plugin->config.save_interval, error,
                        sizeof error) != 0)
        bmco_log(BMCO_LOG_ERROR, "%s", error);
}

static int load(bmco_plugin *p)
{
    const bmco_config *c = &p->config;
    bmc_model_options options;
    bmc_model_options_init(&options);
    options.device = c->device;
    options.dtype = c->dtype;
    bmc_segmenter_options segmenter_options;
    bmc_segmenter_options_init(&segmenter_options);
    segmenter_options.check_base_source = c->check_decoder_base;
    bmc_encoder_options encoder_options;
    bmc_encoder_options_init(&encoder_options);
    encoder_options.batch_size = c->batch_size;
    if (bmc_model_load(c->model, &options, &p->model) != BMC_OK)
        snprintf(p->error, sizeof p->error, "model \"%s\": %s", c->model, bmc_last_error());
    else if (c->segmenter && bmc_segmenter_load(p->model, c->segmenter, &segmenter_options,
                                             &p->segmenter) != BMC_OK)
        snprintf(p->error, sizeof p->error, "segmentation decoder \"%s\": %s", c->segmenter,
                 bmc_last_error());
    else if (c->vqa_head && bmc_vqa_load(p->model, c->vqa_head, &p->vqa) != BMC_OK)
        snprintf(p->error, sizeof p->error, "VQA head \"%s\": %s", c->vqa_head, bmc_last_error());
    else if (bmc_image_encoder_create(p->model, &encoder_options, &the_worker.encoder) != BMC_OK)
        snprintf(p->error, sizeof p->error, "image encoder: %s", bmc_last_error());
    else if (bmco_store_open(c->data_dir, bmc_model_embed_dim(p->model), c->index_dtype, &p->store,
                             p->error, sizeof p->error) != 0)
        ;
    else
        return 0;
    return -1;
}

static void *run(void *arg)
{
    bmco_worker *w = arg;
    bmco_plugin *p = w->plugin;
    if (load(p) != 0) {
        bmco_log(BMCO_LOG_ERROR, "BiomedClip disabled: %s", p->error);
        atomic_store(&p->state, BMCO_FAILED);
        return NULL;
    }
    reconcile(w);
    bmco_log(BMCO_LOG_WARNING, "BiomedClip ready: model \"%s\", %zu instances indexed, resuming "
             "after change %lld", bmc_model_name(p->model), bmco_store_instance_count(p->store),
             (long long)bmco_store_last_change(p->store));
    atomic_store(&p->state, BMCO_READY);
    for (;;) {
        pthread_mutex_lock(&w->lock);
        if (!w->stop && !w->woken && w->deletion_count == 0 && !w->reconcile) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += IDLE_POLL_SECONDS;
            pthread_cond_timedwait(&w->wake, &w->lock, &until);
        }
        int stop = w->stop, again = w->reconcile;
        size_t count = w->deletion_count;
        char (*ids)[BMCO_ID_LENGTH + 1] = w->deletions;
        w->deletions = NULL;
        w->deletion_count = 0;
        w->applying = count + (size_t)again;
        w->woken = w->reconcile = 0;
        pthread_mutex_unlock(&w->lock);
        apply_deletions(w, ids, count);
        free(ids);
        if (again)
            reconcile(w);
        pthread_mutex_lock(&w->lock);
        w->applying = 0;
        pthread_mutex_unlock(&w->lock);
        if (stop)
            break;
        while (follow_changes(w) && !stopping(w))
            save(w, 0);
        save(w, 0);
    }
    clear_batch(w, 0);
    save(w, 1);
    return NULL;
}

int bmco_worker_start(bmco_plugin *p)
{
    bmco_worker *w = &the_worker;
    memset(w, 0, sizeof *w);
    w->plugin = p;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    p->worker = w;
    atomic_store(&p->state, BMCO_LOADING);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        snprintf(p->error, sizeof p->error, "the worker thread could not start: %s",
                 strerror(errno));
        atomic_store(&p->state, BMCO_FAILED);
        p->worker = NULL;
        return -1;
    }
    w->started = 1;
    return 0;
}

void bmco_worker_wake(bmco_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->woken = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void bmco_worker_deleted(bmco_worker *w, const char *id)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    if (!id || strlen(id) != BMCO_ID_LENGTH || w->deletion_count >= MAX_DELETIONS) {
        w->reconcile = 1; /* too many at once, or not an id: compare with Orthanc instead */
    } else {
        char (*ids)[BMCO_ID_LENGTH + 1] =
            realloc(w->deletions, (w->deletion_count + 1) * sizeof *ids);
        if (ids) {
            w->deletions = ids;
            snprintf(ids[w->deletion_count++], BMCO_ID_LENGTH + 1, "%s", id);
        } else {
            w->reconcile = 1;
        }
    }
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void bmco_worker_stop(bmco_worker *w)
{
    if (!w || !w->started)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->started = 0;
    bmc_image_encoder_free(w->encoder);
    w->encoder = NULL;
    free(w->images);
    free(w->entries);
    free(w->deletions);
    w->images = NULL;
    w->entries = NULL;
    w->deletions = NULL;
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
}

void bmco_worker_progress(bmco_worker *w, int64_t *applied, int64_t *known, int64_t *deletions)
{
    *applied = w && w->plugin->store ? bmco_store_last_change(w->plugin->store) : 0;
    *known = w ? atomic_load(&w->known) : 0;
    if (w) {
        pthread_mutex_lock(&w->lock);
        *deletions = (int64_t)(w->deletion_count + w->applying + (size_t)w->reconcile);
        pthread_mutex_unlock(&w->lock);
    } else {
        *deletions = 0;
    }
}
