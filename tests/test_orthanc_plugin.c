/* SPDX-License-Identifier: MIT */
/* The Orthanc plugin's modules that need no running Orthanc (bindings/orthanc: the index store,
 * the argument checks, the configuration), built into this program so that they also run
 * under AddressSanitizer and UBSan: the store's grouped search against a brute-force ranking
 * computed here in double precision, its persistence, removal and lookups; URL decoding as RFC
 * 3986 and HTML forms define it; the configuration's refusals. Tests/check_orthanc.sh tests the
 * plugin inside Orthanc. Without Orthanc's plugin SDK there is nothing to build. */
#if defined(__has_include)
#if __has_include(<orthanc/OrthancCPlugin.h>)
#define HAVE_ORTHANC_SDK 1
#endif
#endif

#include "harness.h"

#ifdef HAVE_ORTHANC_SDK

#include <math.h>
#include <unistd.h>

#include "bindings/orthanc/config.c"
#include "bindings/orthanc/request.c"
#include "bindings/orthanc/store.c"

#define DIM 8

static void make_entry(bmco_entry *e, int instance, int series, int study, int frame)
{
    memset(e, 0, sizeof *e);
    snprintf(e->instance, sizeof e->instance, "%08x-00000000-00000000-00000000-%08x", instance,
             instance);
    snprintf(e->series, sizeof e->series, "%08x-11111111-11111111-11111111-%08x", series, series);
    snprintf(e->study, sizeof e->study, "%08x-22222222-22222222-22222222-%08x", study, study);
    snprintf(e->study_uid, sizeof e->study_uid, "1.2.3.%d", study);
    snprintf(e->series_uid, sizeof e->series_uid, "1.2.3.%d.%d", study, series);
    snprintf(e->sop_uid, sizeof e->sop_uid, "1.2.3.%d.%d.%d", study, series, instance);
    e->frame = frame;
}

/* The reference: each group's best cosine, groups in descending order (ties: first seen). */
static size_t brute_force(const float *vectors, const bmco_entry *entries, size_t count,
                          const float *query, int level, const char *exclude, char groups[][64],
                          double *scores)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (exclude && strcmp(entries[i].instance, exclude) == 0)
            continue;
        double dot = 0, a = 0, b = 0;
        for (int d = 0; d < DIM; d++) {
            dot += (double)vectors[i * DIM + d] * query[d];
            a += (double)vectors[i * DIM + d] * vectors[i * DIM + d];
            b += (double)query[d] * query[d];
        }
        double score = dot / sqrt(a * b);
        const char *group = level == BMCO_LEVEL_STUDY    ? entries[i].study
                            : level == BMCO_LEVEL_SERIES ? entries[i].series
                                                         : entries[i].instance;
        size_t j = 0;
        while (j < n && strcmp(groups[j], group) != 0)
            j++;
        if (j == n) {
            snprintf(groups[n], 64, "%s", group);
            scores[n++] = score;
        } else if (score > scores[j]) {
            scores[j] = score;
        }
    }
    for (size_t i = 1; i < n; i++) /* insertion sort, stable */
        for (size_t j = i; j > 0 && scores[j] > scores[j - 1]; j--) {
            double s = scores[j];
            char g[64];
            scores[j] = scores[j - 1];
            scores[j - 1] = s;
            memcpy(g, groups[j], 64);
            memcpy(groups[j], groups[j - 1], 64);
            memcpy(groups[j - 1], g, 64);
        }
    return n;
}

#define ENTRIES 40

static void check_search(bmco_store *store, const float *vectors, const bmco_entry *entries,
                         size_t count, const float *query, int level, const char *exclude,
                         size_t limit, const char *what)
{
    static char groups[ENTRIES][64];
    static double want[ENTRIES];
    bmco_hit hits[ENTRIES];
    size_t got = 0;
    char error[256];
    size_t n = brute_force(vectors, entries, count, query, level, exclude, groups, want);
    CHECK(bmco_store_search(store, query, level, limit, exclude, hits, &got, error,
                            sizeof error) == 0, "%s: %s", what, error);
    CHECK(got == (n < limit ? n : limit), "%s: %zu hits, %zu expected", what, got,
          n < limit ? n : limit);
    for (size_t i = 0; i < got && i < n; i++) {
        const char *group = level == BMCO_LEVEL_STUDY    ? hits[i].entry.study
                            : level == BMCO_LEVEL_SERIES ? hits[i].entry.series
                                                         : hits[i].entry.instance;
        CHECK(fabs(hits[i].score - want[i]) < 1e-6, "%s: rank %zu scores %g, expected %g", what,
              i, hits[i].score, want[i]);
        CHECK(strcmp(group, groups[i]) == 0 || fabs(hits[i].score - want[i]) < 1e-6,
              "%s: rank %zu is %s, expected %s", what, i, group, groups[i]);
    }
}

static void test_store(void)
{
    char dir[] = "/tmp/bmco_storeXXXXXX", error[512];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    float vectors[ENTRIES * DIM];
    bmco_entry entries[ENTRIES];
    /* 30 instances, every fourth with two frames, in series of 3 and studies of 2 series. */
    size_t count = 0, instances = 0;
    srand(7);
    for (int i = 0; count < ENTRIES - 1 && i < 30; i++, instances++)
        for (int f = 0; f < (i % 4 == 0 ? 2 : 1) && count < ENTRIES; f++, count++) {
            make_entry(&entries[count], i, i / 3, i / 6, f);
            for (int d = 0; d < DIM; d++)
                vectors[count * DIM + d] = (float)rand() / RAND_MAX - 0.5f;
        }
    bmco_store *store = NULL;
    CHECK(bmco_store_open(dir, DIM, BMC_DTYPE_F32, &store, error, sizeof error) == 0, "%s",
          error);
    if (!store)
        return;
    CHECK(bmco_store_last_change(store) == 0, "a new store starts at change 0");
    CHECK(bmco_store_add(store, vectors, entries, count / 2, error, sizeof error) == 0, "%s",
          error);
    CHECK(bmco_store_add(store, vectors + count / 2 * DIM, entries + count / 2, count - count / 2,
                         error, sizeof error) == 0, "%s", error);
    CHECK(bmco_store_entry_count(store) == count, "%zu entries", bmco_store_entry_count(store));
    int32_t frames = 0;
    CHECK(bmco_store_has(store, entries[0].instance, &frames) && frames == 2, "frames %d",
          (int)frames);
    CHECK(!bmco_store_has(store, "ffffffff-00000000-00000000-00000000-ffffffff", NULL),
          "an unknown instance");
    float vector[DIM];
    CHECK(bmco_store_vector(store, entries[1].instance, 1, vector, DIM) == 0, "frame 1");
    double norm = 0;
    for (int d = 0; d < DIM; d++)
        norm += (double)vectors[DIM + d] * vectors[DIM + d];
    CHECK(fabs(vector[0] - vectors[DIM] / sqrt(norm)) < 1e-6, "the stored vector is normalised");
    CHECK(bmco_store_vector(store, entries[1].instance, 2, vector, DIM) != 0, "no frame 2");

    float query[DIM];
    for (int q = 0; q < 5; q++) {
        for (int d = 0; d < DIM; d++)
            query[d] = (float)rand() / RAND_MAX - 0.5f;
        for (int level = BMCO_LEVEL_INSTANCE; level <= BMCO_LEVEL_STUDY; level++)
            for (size_t limit = 1; limit <= 30; limit += 7)
                check_search(store, vectors, entries, count, query, level,
                             q == 1 ? entries[2].instance : NULL, limit, "search");
    }

    /* Persistence: saved with its change number, reopened equal. */
    bmco_store_set_last_change(store, 1234);
    CHECK(bmco_store_save(store, 1, 3600, error, sizeof error) == 0, "%s", error);
    bmco_store_close(store);
    store = NULL;
    CHECK(bmco_store_open(dir, DIM, BMC_DTYPE_F32, &store, error, sizeof error) == 0, "%s",
          error);
    if (!store)
        return;
    CHECK(bmco_store_last_change(store) == 1234, "change %lld",
          (long long)bmco_store_last_change(store));
    CHECK(bmco_store_instance_count(store) == instances, "%zu instances, %zu expected",
          bmco_store_instance_count(store), instances);
    check_search(store, vectors, entries, count, query, BMCO_LEVEL_SERIES, NULL, 10, "reloaded");

    /* Removal by series and by instance in one pass, then by a keep predicate. */
    char ids[2][BMCO_ID_LENGTH + 1];
    snprintf(ids[0], sizeof ids[0], "%s", entries[0].series);   /* instances 0, 1, 2 */
    snprintf(ids[1], sizeof ids[1], "%s", entries[count - 1].instance);
    char (*gone)[BMCO_ID_LENGTH + 1] = NULL;
    size_t gone_count = 0;
    size_t removed = bmco_store_remove(store, ids, 2, &gone, &gone_count);
    size_t kept = 0;
    bmco_entry left[ENTRIES];
    float left_vectors[ENTRIES * DIM];
    for (size_t i = 0; i < count; i++)
        if (strcmp(entries[i].series, ids[0]) != 0 && strcmp(entries[i].instance, ids[1]) != 0) {
            left[kept] = entries[i];
            memcpy(left_vectors + kept * DIM, vectors + i * DIM, sizeof vector);
            kept++;
        }
    CHECK(removed == count - kept, "%zu removed, %zu expected", removed, count - kept);
    CHECK(!bmco_store_has(store, entries[0].instance, NULL), "instance 0 left");
    /* The instances that lost entries, each once and sorted: those of the series and the one. */
    size_t gone_expected = 0;
    for (size_t i = 0; i < count; i++)
        if ((strcmp(entries[i].series, ids[0]) == 0 || strcmp(entries[i].instance, ids[1]) == 0) &&
            (i == 0 || strcmp(entries[i].instance, entries[i - 1].instance) != 0))
            gone_expected++;
    CHECK(gone_count == gone_expected, "%zu instances listed as gone, %zu expected", gone_count,
          gone_expected);
    for (size_t g = 0; g < gone_count; g++) {
        int known = 0;
        for (size_t i = 0; i < count; i++)
            known |= strcmp(entries[i].instance, gone[g]) == 0 &&
                     (strcmp(entries[i].series, ids[0]) == 0 || strcmp(entries[i].instance, ids[1]) == 0);
        CHECK(known && (g == 0 || strcmp(gone[g - 1], gone[g]) < 0), "gone[%zu] %s", g, gone[g]);
    }
    free(gone);
    check_search(store, left_vectors, left, kept, query, BMCO_LEVEL_INSTANCE, NULL, 30, "removed");
    CHECK(bmco_store_save(store, 0, 3600, error, sizeof error) == 0, "a save not yet due");
    bmco_store_close(store);

    /* Another model's size is refused; a lost change number restarts from 0. */
    CHECK(bmco_store_open(dir, DIM * 2, BMC_DTYPE_F32, &store, error, sizeof error) != 0 &&
              strstr(error, "move it away"), "another dim: %s", error);
    char path[512];
    snprintf(path, sizeof path, "%s/state.txt", dir);
    unlink(path);
    store = NULL;
    CHECK(bmco_store_open(dir, DIM, BMC_DTYPE_F32, &store, error, sizeof error) == 0, "%s",
          error);
    CHECK(store && bmco_store_last_change(store) == 0, "no state file: change 0");
    bmco_store_close(store);
    snprintf(path, sizeof path, "%s/index.bmci", dir);
    unlink(path);
    rmdir(dir);
}

static bmco_request make_request(OrthancPluginHttpRequest *http, const char **keys,
                                 const char **values, uint32_t count)
{
    memset(http, 0, sizeof *http);
    http->method = OrthancPluginHttpMethod_Get;
    http->getCount = count;
    http->getKeys = keys;
    http->getValues = values;
    bmco_request r = {.http = http, .uri = "/test"};
    return r;
}

static void test_request(void)
{
    const char *keys[] = {"q", "limit", "labels", "bad", "empty", "long", "f"};
    static char many[200 * 3], long_item[400];
    for (int i = 0; i < 100; i++)
        strcat(many, i ? ",x" : "x");
    memset(long_item, 'a', sizeof long_item - 1);
    const char *values[] = {"a+b%2Cc%2fd%ZZ%", "12", "%20liver%2C+kidney+, lesion", many, "",
                            long_item, "0.25"};
    OrthancPluginHttpRequest http;
    bmco_request r = make_request(&http, keys, values, 7);
    const char *text = NULL;
    CHECK(bmco_arg_text(&r, "q", 1, 100, &text) == 0 && strcmp(text, "a b,c/d%ZZ%") == 0,
          "decoded as '%s'", text ? text : "(null)");
    CHECK(bmco_arg_text(&r, "missing", 1, 100, &text) == 400, "a required argument");
    CHECK(bmco_arg_text(&r, "empty", 1, 100, &text) == 400, "an empty required argument");
    CHECK(bmco_arg_text(&r, "q", 1, 5, &text) == 413, "over its limit");
    int32_t n = 0;
    CHECK(bmco_arg_int(&r, "limit", 10, 1, 1000, &n) == 0 && n == 12, "limit %d", (int)n);
    CHECK(bmco_arg_int(&r, "limit", 10, 1, 5, &n) == 400, "limit out of range");
    CHECK(bmco_arg_int(&r, "q", 10, 1, 5, &n) == 400, "not a number");
    CHECK(bmco_arg_int(&r, "absent", 10, 1, 50, &n) == 0 && n == 10, "the fallback");
    float x = 0;
    CHECK(bmco_arg_float(&r, "f", 0.5f, 0, 1, &x) == 0 && x == 0.25f, "threshold %g", x);
    CHECK(bmco_arg_float(&r, "limit", 0.5f, 0, 1, &x) == 400, "threshold out of range");
    char **items = NULL;
    size_t count = 0;
    CHECK(bmco_arg_list(&r, "labels", ',', &items, &count) == 0 && count == 3 &&
              strcmp(items[0], "liver") == 0 && strcmp(items[1], "kidney") == 0 &&
              strcmp(items[2], "lesion") == 0, "labels split and trimmed");
    bmco_free_list(items, count);
    CHECK(bmco_arg_list(&r, "bad", ',', &items, &count) == 413 && !items, "100 labels");
    CHECK(bmco_arg_list(&r, "long", ',', &items, &count) == 413 && !items, "a long label");
    bmco_request_end(&r);
    const char *k2[] = {"labels"}, *v2[] = {"a,,b"};
    r = make_request(&http, k2, v2, 1);
    CHECK(bmco_arg_list(&r, "labels", ',', &items, &count) == 400 && !items, "an empty label");
    bmco_request_end(&r);
    CHECK(bmco_valid_id("f689ddd2-662f8fe1-8b18180d-ec2a2cee-937917af"), "an Orthanc id");
    CHECK(!bmco_valid_id("F689DDD2-662f8fe1-8b18180d-ec2a2cee-937917af"), "upper case");
    CHECK(!bmco_valid_id("f689ddd2-662f8fe1-8b18180d-ec2a2cee-937917a"), "short");
    CHECK(!bmco_valid_id("f689ddd2+662f8fe1-8b18180d-ec2a2cee-937917af"), "a wrong separator");
    CHECK(!bmco_valid_id(""), "empty");
}

static void test_config(void)
{
    char model[1024], json[4096], error[512];
    snprintf(model, sizeof model, "%s/model/model.bmc.pt", harness_fixtures());
    bmco_config c;
    snprintf(json, sizeof json,
             "{\"BiomedClip\": {\"Model\": \"%s\", \"DataDirectory\": \"/tmp/x\", "
             "\"Templates\": \"ct\", \"Labels\": [\"a\", \"b\"], \"Modalities\": [\"CT\"], "
             "\"BatchSize\": 8, \"Dtype\": \"bf16\"}}", model);
    CHECK(bmco_config_parse(json, &c, error, sizeof error) == 0, "%s", error);
    const char *const *ct;
    size_t ct_count = 0;
    bmc_template_set("ct", &ct, &ct_count, NULL, NULL);
    CHECK(c.enabled && c.batch_size == 8 && c.dtype == BMC_DTYPE_BF16 && c.label_count == 2 &&
              c.modality_count == 1 && c.template_count == ct_count && ct_count > 0 &&
              strcmp(c.templates[0], ct[0]) == 0 && strcmp(c.device, "cpu") == 0 &&
              c.save_interval == 10 && c.check_decoder_base, "the parsed section");
    bmco_config_free(&c);
    static const char *const bad[][2] = {
        {"\"BatchSize\": 0", "BatchSize"},         {"\"BatchSize\": 1.5", "BatchSize"},
        {"\"Dtype\": \"f64\"", "Dtype"},           {"\"Templates\": \"no-such\"", "Templates"},
        {"\"Templates\": [\"no braces\"]", "{}"},  {"\"Modalities\": \"CT\"", "Modalities"},
        {"\"Enabled\": \"yes\"", "Enabled"},       {"\"Device\": \"tpu\"", "Device"},
        {"\"VqaHead\": \"/nonexistent\"", "VqaHead"}, {"\"Labels\": [1, 2]", "Labels"},
        {"\"SaveInterval\": -1", "SaveInterval"},  {"\"Threads\": 5000", "Threads"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(json, sizeof json,
                 "{\"BiomedClip\": {\"Model\": \"%s\", \"DataDirectory\": \"/tmp/x\", %s}}",
                 model, bad[i][0]);
        error[0] = '\0';
        CHECK(bmco_config_parse(json, &c, error, sizeof error) != 0 && strstr(error, bad[i][1]),
              "%s: '%s'", bad[i][0], error);
        bmco_config_free(&c);
    }
    const char *missing[] = {"{}", "{\"BiomedClip\": 3}", "not json",
                             "{\"BiomedClip\": {\"DataDirectory\": \"/tmp/x\"}}",
                             "{\"BiomedClip\": {\"Model\": \"/nonexistent\", \"DataDirectory\": \"/x\"}}"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        CHECK(bmco_config_parse(missing[i], &c, error, sizeof error) != 0 && error[0],
              "%s is refused", missing[i]);
        bmco_config_free(&c);
    }
}

int main(void)
{
    RUN(test_store);
    RUN(test_request);
    RUN(test_config);
    return harness_summary("test_orthanc_plugin");
}

#else

int main(void)
{
    puts("no Orthanc plugin SDK (orthanc-dev): nothing to test");
    return harness_summary("test_orthanc_plugin");
}

#endif
