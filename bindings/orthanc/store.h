/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The persistent index of the plugin: one entry per indexed frame, the Orthanc and DICOM ids
 * of its instance in the entry's text, a lookup from instance id to its entries, and the
 * sequence number of the last Orthanc change that the saved file covers. */
#ifndef BMCO_STORE_H
#define BMCO_STORE_H

#include <stddef.h>
#include <stdint.h>

#define BMCO_ID_LENGTH 44   /* an Orthanc id: five groups of 8 hex digits joined by '-' */
#define BMCO_UID_LENGTH 64  /* a DICOM UID */

typedef struct bmco_store bmco_store;

/* What an entry records about its frame. */
typedef struct bmco_entry {
    char instance[BMCO_ID_LENGTH + 1];
    char series[BMCO_ID_LENGTH + 1];
    char study[BMCO_ID_LENGTH + 1];
    char study_uid[BMCO_UID_LENGTH + 1];
    char series_uid[BMCO_UID_LENGTH + 1];
    char sop_uid[BMCO_UID_LENGTH + 1];
    int32_t frame;
} bmco_entry;

/* A search hit at the asked level: `entry` is its best frame. */
typedef struct bmco_hit {
    bmco_entry entry;
    float score;
} bmco_hit;

#define BMCO_LEVEL_INSTANCE 0
#define BMCO_LEVEL_SERIES 1
#define BMCO_LEVEL_STUDY 2

/* Open the index kept in `dir` (created if missing) for vectors of `dim` floats stored as
 * `dtype`. Returns 0, or -1 with the reason in `error`. */
int bmco_store_open(const char *dir, int32_t dim, int32_t dtype, bmco_store **out, char *error,
                    size_t error_size);
void bmco_store_close(bmco_store *store);

/* The last change covered by the saved index (0 for a new one). */
int64_t bmco_store_last_change(const bmco_store *store);

/* Whether `instance` has entries; *frames (may be NULL) receives their number. */
int bmco_store_has(bmco_store *store, const char *instance, int32_t *frames);

/* Add `count` frames (their vectors, count x dim) in one step. Returns 0 or -1 with `error`. */
int bmco_store_add(bmco_store *store, const float *vectors, const bmco_entry *entries,
                   size_t count, char *error, size_t error_size);

/* Remove every entry of the instances, series or studies with the `count` Orthanc ids `ids`
 * (sorted here, in place) in one pass over the index; returns how many entries went. When
 * `gone` is not NULL, *gone receives the ids of the instances that lost their entries, sorted
 * and each once (malloc'd, *gone_count of them, for the caller to free; NULL when there are
 * none, and then *gone_count is 0 also when they could not be listed for want of memory). */
size_t bmco_store_remove(bmco_store *store, char (*ids)[BMCO_ID_LENGTH + 1], size_t count,
                         char (**gone)[BMCO_ID_LENGTH + 1], size_t *gone_count);

/* Keep only the instances for which `keep(id, user)` is non-zero; returns how many entries
 * went. */
size_t bmco_store_retain(bmco_store *store, int (*keep)(const char *instance, void *user),
                         void *user);

/* The stored vector of frame `frame` of `instance` (dim floats). Returns 0, or -1 when the
 * frame is not indexed. */
int bmco_store_vector(bmco_store *store, const char *instance, int32_t frame, float *vector,
                      size_t capacity);

/* The `limit` best hits for the unit vector `query` at `level` (instances, series or studies
 * ranked by their best frame), leaving out `exclude` (an instance id or NULL). *count receives
 * the number written to `hits`. Returns 0 or -1 with `error`. */
int bmco_store_search(bmco_store *store, const float *query, int32_t level, size_t limit,
                      const char *exclude, bmco_hit *hits, size_t *count, char *error,
                      size_t error_size);

/* Entries (frames) and instances in the index. */
size_t bmco_store_entry_count(bmco_store *store);
size_t bmco_store_instance_count(bmco_store *store);

/* Record that every change up to `seq` has been applied. */
void bmco_store_set_last_change(bmco_store *store, int64_t seq);

/* Save the index and then the change number beside it (both by atomic renames) when anything
 * changed and `force` is set or `interval` seconds passed since the last save. Returns 0 or
 * -1 with `error`. */
int bmco_store_save(bmco_store *store, int force, int interval, char *error, size_t error_size);

#endif
