/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The persistent index (store.h). The library's index holds the vectors and, as each entry's
 * text, the ids of its frame, so the one file is the whole state apart from the change
 * number, which is written beside it after it: a crash between the two only makes the
 * catch-up look at changes again, and instances already indexed are skipped. */
#include "store.h"

#include <biomedclip.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TEXT_SIZE 512

/* Open addressing from instance id to its entries: ids of one instance are consecutive. */
typedef struct slot {
    char instance[BMCO_ID_LENGTH + 1];
    int64_t first;
    int32_t frames;
} slot;

struct bmco_store {
    pthread_rwlock_t lock;
    bmc_index *index;
    char *index_path, *state_path;
    int64_t next_id, last_change, saved_change;
    slot *slots;
    size_t slot_count, used;
    int dirty;
    time_t saved_at;
};

static int store_fail(char *error, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, size, fmt, ap);
    va_end(ap);
    return -1;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static slot *find_slot(slot *slots, size_t n, const char *instance)
{
    for (size_t i = hash(instance) & (n - 1);; i = (i + 1) & (n - 1))
        if (slots[i].instance[0] == '\0' || strcmp(slots[i].instance, instance) == 0)
            return &slots[i];
}

/* Room for `more` instances, keeping the table at most half full. */
static int reserve(bmco_store *s, size_t more)
{
    if ((s->used + more) * 2 <= s->slot_count)
        return 0;
    size_t n = s->slot_count ? s->slot_count : 1024;
    while ((s->used + more) * 2 > n)
        n *= 2;
    slot *slots = calloc(n, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->slot_count; i++)
        if (s->slots[i].instance[0])
            *find_slot(slots, n, s->slots[i].instance) = s->slots[i];
    free(s->slots);
    s->slots = slots;
    s->slot_count = n;
    return 0;
}

static void note_entry(bmco_store *s, const char *instance, int64_t id)
{
    slot *e = find_slot(s->slots, s->slot_count, instance);
    if (e->instance[0] == '\0') {
        snprintf(e->instance, sizeof e->instance, "%s", instance);
        e->first = id;
        e->frames = 0;
        s->used++;
    }
    if (id < e->first)
        e->first = id;
    e->frames++;
}

static void format_text(const bmco_entry *e, char *text, size_t size)
{
    snprintf(text, size, "%s\t%d\t%s\t%s\t%s\t%s\t%s", e->instance, (int)e->frame, e->series,
             e->study, e->study_uid, e->series_uid, e->sop_uid);
}

static int parse_text(char *text, bmco_entry *e)
{
    char *fields[7], *save = NULL;
    int n = 0;
    for (char *f = strtok_r(text, "\t", &save); f && n < 7; f = strtok_r(NULL, "\t", &save))
        fields[n++] = f;
    if (n != 7 || strlen(fields[0]) != BMCO_ID_LENGTH)
        return -1;
    memset(e, 0, sizeof *e);
    snprintf(e->instance, sizeof e->instance, "%s", fields[0]);
    e->frame = atoi(fields[1]);
    snprintf(e->series, sizeof e->series, "%s", fields[2]);
    snprintf(e->study, sizeof e->study, "%s", fields[3]);
    snprintf(e->study_uid, sizeof e->study_uid, "%s", fields[4]);
    snprintf(e->series_uid, sizeof e->series_uid, "%s", fields[5]);
    snprintf(e->sop_uid, sizeof e->sop_uid, "%s", fields[6]);
    return 0;
}

static int entry_of(const bmc_index *index, int64_t id, bmco_entry *e)
{
    char text[TEXT_SIZE];
    if (bmc_index_get_text(index, id, text, sizeof text, NULL) != BMC_OK)
        return -1;
    return parse_text(text, e);
}

/* Rebuild the lookup and the next id from the index (after a load or a removal). */
static int rebuild(bmco_store *s)
{
    free(s->slots);
    s->slots = NULL;
    s->slot_count = s->used = 0;
    size_t count = bmc_index_count(s->index);
    if (reserve(s, count + 1) != 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        int64_t id;
        bmco_entry e;
        if (bmc_index_id_at(s->index, i, &id) != BMC_OK || entry_of(s->index, id, &e) != 0)
            return -1;
        note_entry(s, e.instance, id);
        if (id >= s->next_id)
            s->next_id = id + 1;
    }
    return 0;
}

static int64_t read_state(const char *path)
{
    FILE *f = fopen(path, "r");
    long long seq = 0;
    if (f) {
        if (fscanf(f, "last_change %lld", &seq) != 1 || seq < 0)
            seq = 0;
        fclose(f);
    }
    return seq;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/%s", dir, name);
    return path;
}

int bmco_store_open(const char *dir, int32_t dim, int32_t dtype, bmco_store **out, char *error,
                    size_t size)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return store_fail(error, size, "cannot create the data directory \"%s\": %s", dir,
                    strerror(errno));
    bmco_store *s = calloc(1, sizeof *s);
    if (!s)
        return store_fail(error, size, "out of memory");
    pthread_rwlock_init(&s->lock, NULL);
    s->index_path = join(dir, "index.bmci");
    s->state_path = join(dir, "state.txt");
    if (!s->index_path || !s->state_path) {
        bmco_store_close(s);
        return store_fail(error, size, "out of memory");
    }
    bmc_status st;
    if (access(s->index_path, F_OK) == 0) {
        st = bmc_index_load(s->index_path, &s->index);
        if (st == BMC_OK && bmc_index_dim(s->index) != dim) {
            store_fail(error, size, "the index \"%s\" holds vectors of %d floats, the model makes %d: "
                 "move it away to index again with this model", s->index_path,
                 (int)bmc_index_dim(s->index), (int)dim);
            bmco_store_close(s);
            return -1;
        }
        /* The change number only counts with the index it was saved after. */
        if (st == BMC_OK)
            s->last_change = s->saved_change = read_state(s->state_path);
    } else {
        st = bmc_index_create(dim, dtype, &s->index);
    }
    if (st != BMC_OK) {
        store_fail(error, size, "index \"%s\": %s", s->index_path, bmc_last_error());
        bmco_store_close(s);
        return -1;
    }
    if (rebuild(s) != 0) {
        store_fail(error, size, "index \"%s\": an entry without the plugin's text", s->index_path);
        bmco_store_close(s);
        return -1;
    }
    s->saved_at = time(NULL);
    *out = s;
    return 0;
}

void bmco_store_close(bmco_store *s)
{
    if (!s)
        return;
    bmc_index_free(s->index);
    free(s->slots);
    free(s->index_path);
    free(s->state_path);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

int64_t bmco_store_last_change(const bmco_store *s)
{
    return s->last_change;
}

void bmco_store_set_last_change(bmco_store *s, int64_t seq)
{
    pthread_rwlock_wrlock(&s->lock);
    if (seq != s->last_change) {
        s->last_change = seq;
        s->dirty = 1;
    }
    pthread_rwlock_unlock(&s->lock);
}

int bmco_store_has(bmco_store *s, const char *instance, int32_t *frames)
{
    pthread_rwlock_rdlock(&s->lock);
    slot *e = s->slot_count ? find_slot(s->slots, s->slot_count, instance) : NULL;
    int found = e && e->instance[0];
    if (found && frames)
        *frames = e->frames;
    pthread_rwlock_unlock(&s->lock);
    return found;
}

int bmco_store_add(bmco_store *s, const float *vectors, const bmco_entry *entries, size_t count,
                   char *error, size_t size)
{
    int64_t *ids = malloc(count * sizeof *ids);
    char **texts = calloc(count, sizeof *texts);
    char *buffer = malloc(count * TEXT_SIZE);
    int rc = -1;
    if (!ids || !texts || !buffer) {
        store_fail(error, size, "out of memory");
        goto done;
    }
    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < count; i++) {
        ids[i] = s->next_id + (int64_t)i;
        texts[i] = buffer + i * TEXT_SIZE;
        format_text(&entries[i], texts[i], TEXT_SIZE);
    }
    if (reserve(s, count) != 0)
        store_fail(error, size, "out of memory");
    else if (bmc_index_add(s->index, vectors, count, ids, (const char *const *)texts) != BMC_OK)
        store_fail(error, size, "index: %s", bmc_last_error());
    else {
        for (size_t i = 0; i < count; i++)
            note_entry(s, entries[i].instance, ids[i]);
        s->next_id += (int64_t)count;
        s->dirty = 1;
        rc = 0;
    }
    pthread_rwlock_unlock(&s->lock);
done:
    free(ids);
    free(texts);
    free(buffer);
    return rc;
}

static int compare_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Removes the entries `match` picks. With `gone`, lists their instances (see bmco_store_remove). */
static size_t remove_where(bmco_store *s, int (*match)(const bmco_entry *, const void *),
                           const void *user, char (**gone)[BMCO_ID_LENGTH + 1], size_t *gone_count)
{
    pthread_rwlock_wrlock(&s->lock);
    size_t count = bmc_index_count(s->index), n = 0, removed = 0;
    int64_t *ids = malloc((count ? count : 1) * sizeof *ids);
    /* the matching instances, grown as they are found (a frame after its own instance's frame
     * is not listed again); sorted and made unique below */
    char (*instances)[BMCO_ID_LENGTH + 1] = NULL;
    size_t listed = 0, capacity = 0;
    int listing = gone != NULL;
    for (size_t i = 0; ids && i < count; i++) {
        int64_t id;
        bmco_entry e;
        if (bmc_index_id_at(s->index, i, &id) == BMC_OK && entry_of(s->index, id, &e) == 0 &&
            match(&e, user)) {
            ids[n++] = id;
            if (!listing || (listed > 0 && strcmp(instances[listed - 1], e.instance) == 0))
                continue;
            if (listed == capacity) {
                size_t more = capacity ? 2 * capacity : 16;
                void *grown = realloc(instances, more * sizeof *instances);
                if (!grown) {
                    listing = 0; /* the caller learns of it by an empty list */
                    continue;
                }
                instances = grown;
                capacity = more;
            }
            memcpy(instances[listed++], e.instance, sizeof *instances);
        }
    }
    if (gone) {
        size_t unique = 0;
        if (listing && listed > 0) {
            qsort(instances, listed, sizeof *instances, compare_id);
            for (size_t i = 0; i < listed; i++)
                if (unique == 0 || strcmp(instances[i], instances[unique - 1]) != 0)
                    memmove(instances[unique++], instances[i], sizeof *instances);
        }
        if (unique == 0) {
            free(instances);
            instances = NULL;
        }
        *gone = instances;
        *gone_count = unique;
    } else {
        free(instances);
    }
    if (n > 0 && bmc_index_remove(s->index, ids, n, &removed) == BMC_OK && removed > 0) {
        s->dirty = 1;
        rebuild(s);
    }
    pthread_rwlock_unlock(&s->lock);
    free(ids);
    return removed;
}

typedef struct id_set {
    char (*ids)[BMCO_ID_LENGTH + 1];
    size_t count;
} id_set;

static int in_set(const id_set *set, const char *id)
{
    return bsearch(id, set->ids, set->count, sizeof *set->ids, compare_id) != NULL;
}

static int match_ids(const bmco_entry *e, const void *user)
{
    const id_set *set = user;
    return in_set(set, e->instance) || in_set(set, e->series) || in_set(set, e->study);
}

size_t bmco_store_remove(bmco_store *s, char (*ids)[BMCO_ID_LENGTH + 1], size_t count,
                         char (**gone)[BMCO_ID_LENGTH + 1], size_t *gone_count)
{
    if (gone) {
        *gone = NULL;
        *gone_count = 0;
    }
    if (count == 0 || bmco_store_instance_count(s) == 0)
        return 0;
    qsort(ids, count, sizeof *ids, compare_id);
    id_set set = {ids, count};
    return remove_where(s, match_ids, &set, gone, gone_count);
}

typedef struct keeper {
    int (*keep)(const char *, void *);
    void *user;
} keeper;

static int match_unkept(const bmco_entry *e, const void *user)
{
    const keeper *k = user;
    return !k->keep(e->instance, k->user);
}

size_t bmco_store_retain(bmco_store *s, int (*keep)(const char *instance, void *user), void *user)
{
    keeper k = {keep, user};
    return remove_where(s, match_unkept, &k, NULL, NULL);
}

int bmco_store_vector(bmco_store *s, const char *instance, int32_t frame, float *vector,
                      size_t capacity)
{
    int rc = -1;
    pthread_rwlock_rdlock(&s->lock);
    slot *e = s->slot_count ? find_slot(s->slots, s->slot_count, instance) : NULL;
    if (e && e->instance[0] && frame >= 0 && frame < e->frames &&
        bmc_index_get_vector(s->index, e->first + frame, vector, capacity) == BMC_OK)
        rc = 0;
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static const char *group_of(const bmco_entry *e, int32_t level)
{
    return level == BMCO_LEVEL_STUDY ? e->study : level == BMCO_LEVEL_SERIES ? e->series
                                                                           : e->instance;
}

int bmco_store_search(bmco_store *s, const float *query, int32_t level, size_t limit,
                      const char *exclude, bmco_hit *hits, size_t *count, char *error,
                      size_t size)
{
    int rc = 0;
    *count = 0;
    pthread_rwlock_rdlock(&s->lock);
    size_t total = bmc_index_count(s->index);
    /* A group ranks by its best frame, its first appearance in the ranking: search a few
     * times the hits wanted, and widen until enough groups (or every entry) are seen. */
    size_t k = (limit + 1) * 4;
    while (total > 0 && rc == 0) {
        if (k > total)
            k = total;
        int64_t *ids = malloc(k * sizeof *ids);
        float *scores = malloc(k * sizeof *scores);
        if (!ids || !scores)
            rc = store_fail(error, size, "out of memory");
        else if (bmc_index_search(s->index, query, 1, (int32_t)k, NULL, ids, scores, k) != BMC_OK)
            rc = store_fail(error, size, "search: %s", bmc_last_error());
        *count = 0;
        for (size_t i = 0; rc == 0 && i < k && *count < limit; i++) {
            bmco_entry e;
            if (ids[i] < 0 || entry_of(s->index, ids[i], &e) != 0)
                continue;
            if (exclude && strcmp(e.instance, exclude) == 0)
                continue;
            const char *group = group_of(&e, level);
            int seen = 0;
            for (size_t j = 0; j < *count && !seen; j++)
                seen = strcmp(group_of(&hits[j].entry, level), group) == 0;
            if (!seen) {
                hits[*count].entry = e;
                hits[*count].score = scores[i];
                (*count)++;
            }
        }
        free(ids);
        free(scores);
        if (*count >= limit || k == total)
            break;
        k = k > total / 2 ? total : k * 2;
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

size_t bmco_store_entry_count(bmco_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = bmc_index_count(s->index);
    pthread_rwlock_unlock(&s->lock);
    return n;
}

size_t bmco_store_instance_count(bmco_store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->used;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

static int write_state(const char *path, int64_t seq)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fprintf(f, "last_change %lld\n", (long long)seq) > 0;
    if (f) {
        ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
        ok = fclose(f) == 0 && ok;
    }
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

int bmco_store_save(bmco_store *s, int force, int interval, char *error, size_t size)
{
    int rc = 0;
    pthread_rwlock_rdlock(&s->lock);
    int due = s->dirty && (force || time(NULL) - s->saved_at >= interval);
    int64_t seq = s->last_change;
    if (due && bmc_index_save(s->index, s->index_path) != BMC_OK)
        rc = store_fail(error, size, "saving \"%s\": %s", s->index_path, bmc_last_error());
    else if (due && write_state(s->state_path, seq) != 0)
        rc = store_fail(error, size, "saving \"%s\": %s", s->state_path, strerror(errno));
    pthread_rwlock_unlock(&s->lock);
    if (due && rc == 0) {
        pthread_rwlock_wrlock(&s->lock);
        /* Only the worker changes the store, and it is the one saving: nothing was added
         * meanwhile, but a change number set by another path keeps it dirty. */
        s->dirty = s->last_change != seq;
        s->saved_change = seq;
        s->saved_at = time(NULL);
        pthread_rwlock_unlock(&s->lock);
    }
    return rc;
}
