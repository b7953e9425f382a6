/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The indexing worker: its own thread loads the model, opens the index, catches up with
 * Orthanc's /changes from the saved change number and then follows them, embedding new
 * instances in batches; deletions reach it through a queue. Orthanc's change callbacks only
 * wake it, so the ingest path never waits for inference. */
#ifndef BMCO_WORKER_H
#define BMCO_WORKER_H

#include <stdint.h>

#include "plugin.h"

/* Start the worker thread (at OrthancStarted, when Orthanc's REST API answers). Returns 0
 * or -1 (the thread could not start; logged). */
int bmco_worker_start(bmco_plugin *plugin);

/* Wake the worker: new changes are waiting. Cheap; any thread. */
void bmco_worker_wake(bmco_worker *worker);

/* Queue the deletion of the resource with Orthanc id `id` (instance, series or study). */
void bmco_worker_deleted(bmco_worker *worker, const char *id);

/* Stop and join the thread, saving the index. NULL is fine. */
void bmco_worker_stop(bmco_worker *worker);

/* For /biomedclip/status: the last change applied, the last change Orthanc has reported and
 * the deletions waiting or being applied. */
void bmco_worker_progress(bmco_worker *worker, int64_t *applied, int64_t *known,
                          int64_t *deletions);

#endif
