/* SPDX-License-Identifier: MIT */
/* The corrupt-file corpus (tools/fixtures/make_corrupt_fixtures.py, in $BMC_FIXTURES/corrupt):
 * thousands of valid files damaged one way each, opened through the public API by every
 * loader of their kind. Each must come back with a status other than BMC_OK and a message, or
 * with BMC_OK and a result that holds (an image of positive size whose RGB copy succeeds, an
 * index that searches, a model that encodes, a head with answers, a segmenter with a map).
 * Never a crash or an abort; a hang fails the test by its alarm; leaks are for the sanitizer
 * build (make check runs this test in both). */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "biomedclip.h"
#include "harness.h"

enum { KINDS = 7, HANG_SECONDS = 120 };
static const char *const kind_names[KINDS] = {"image", "dicom", "index", "manifest", "bundle", "vqa", "segment"};
static int refused[KINDS], accepted[KINDS];
static char current[4096];

/* A damaged pickle inside an archive whose CRCs hold can make libtorch's unpickler reserve
 * gigabytes from a count it read. With the system's allocator that fails with std::bad_alloc,
 * which the shim returns as BMC_ERR_OUT_OF_MEMORY; AddressSanitizer's operator new cannot fail
 * softly (it aborts whatever allocator_may_return_null says), so the sanitizer build skips the
 * files the corpus marks "pickle" and the normal build opens them. */
#if defined(__SANITIZE_ADDRESS__)
#define SKIP_PICKLES 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SKIP_PICKLES 1
#endif
#endif
#ifndef SKIP_PICKLES
#define SKIP_PICKLES 0
#endif
static int skipped;

static void on_alarm(int signal_number)
{
    (void)signal_number;
    static const char message[] = "test_corrupt: hung on ";
    ssize_t ignored = write(2, message, sizeof message - 1);
    ignored = write(2, current, strlen(current));
    ignored = write(2, "\n", 1);
    (void)ignored;
    _exit(2);
}

/* A refusal must say why: a known status and a message. */
static int refused_well(bmc_status status)
{
    const char *message = bmc_last_error();
    return status > BMC_OK && status <= BMC_ERR_NOT_FOUND && message && message[0];
}

static int image_holds(const bmc_image *image)
{
    int32_t width = 0, height = 0, mode = 0;
    if (bmc_image_info(image, &width, &height, &mode) != BMC_OK || width < 1 || height < 1 ||
        mode < BMC_IMAGE_MODE_1 || mode > BMC_IMAGE_MODE_I)
        return 0;
    size_t bytes = (size_t)width * (size_t)height * 3;
    uint8_t *rgb = malloc(bytes);
    int ok = rgb && bmc_image_to_rgb8(image, rgb, bytes) == BMC_OK;
    free(rgb);
    return ok;
}

/* One loader on one file: 1 when the outcome is allowed. */
static int open_image(const char *path, int draft)
{
    bmc_image *image = NULL;
    bmc_status status = draft ? bmc_image_load_file_draft(path, 224, &image) : bmc_image_load_file(path, &image);
    int ok = status == BMC_OK ? image_holds(image) : refused_well(status) && !image;
    bmc_image_free(image);
    return ok ? 1 + (status == BMC_OK) : 0;
}

static int open_dicom(const char *path)
{
    bmc_dicom *dicom = NULL;
    bmc_status status = bmc_dicom_open_file(path, &dicom);
    if (status != BMC_OK)
        return refused_well(status) && !dicom;
    bmc_dicom_info info;
    bmc_dicom_info_init(&info);
    int ok = bmc_dicom_get_info(dicom, &info) == BMC_OK;
    bmc_dicom_frame_options options;
    bmc_dicom_frame_options_init(&options);
    bmc_image *image = NULL;
    status = bmc_dicom_frame_image(dicom, &options, &image);
    ok = ok && (status == BMC_OK ? image_holds(image) : refused_well(status));
    bmc_image_free(image);
    bmc_dicom_free(dicom);
    return ok ? 2 : 0;
}

static int index_holds(const bmc_index *index)
{
    int32_t dim = bmc_index_dim(index);
    if (dim < 1 || dim > 65536)
        return 0;
    float *query = calloc((size_t)dim, sizeof *query);
    if (!query)
        return 0;
    query[0] = 1.0f;
    int64_t ids[3];
    float scores[3];
    int ok = bmc_index_search(index, query, 1, 3, NULL, ids, scores, 3) == BMC_OK;
    for (int i = 0; ok && i < 3 && (size_t)i < bmc_index_count(index); i++) {
        size_t needed = 0;
        ok = bmc_index_get_text(index, ids[i], NULL, 0, &needed) == BMC_OK &&
             bmc_index_get_vector(index, ids[i], query, (size_t)dim) == BMC_OK;
    }
    free(query);
    return ok;
}

static int open_index(const char *path, int map)
{
    bmc_index *index = NULL;
    bmc_status status = map ? bmc_index_map(path, 0, &index) : bmc_index_load(path, &index);
    int ok = status == BMC_OK ? index_holds(index) : refused_well(status) && !index;
    bmc_index_free(index);
    return ok ? 1 + (status == BMC_OK) : 0;
}

static int open_manifest(const char *path)
{
    bmc_index_set *set = NULL;
    bmc_status status = bmc_index_set_open_manifest(path, 0, &set);
    if (status != BMC_OK)
        return refused_well(status) && !set;
    int ok = bmc_index_set_shard_count(set) >= 1;
    int32_t dim = bmc_index_set_dim(set);
    float *query = dim > 0 ? calloc((size_t)dim, sizeof *query) : NULL;
    int64_t ids[2];
    float scores[2];
    ok = ok && query && bmc_index_set_search(set, query, 1, 2, NULL, ids, scores, 2) == BMC_OK;
    free(query);
    bmc_index_set_free(set);
    return ok ? 2 : 0;
}

static int open_bundle(const char *path)
{
    bmc_model *model = NULL;
    bmc_status status = bmc_model_load(path, NULL, &model);
    if (status != BMC_OK)
        return refused_well(status) && !model;
    int32_t dim = bmc_model_embed_dim(model);
    float *embedding = dim > 0 ? malloc((size_t)dim * sizeof *embedding) : NULL;
    bmc_text_encoder *encoder = NULL;
    const char *texts[] = {"chest x-ray"};
    /* A damaged method may still load and then fail when run: a status, not a crash. */
    int ok = embedding && bmc_text_encoder_create(model, NULL, &encoder) == BMC_OK;
    if (ok) {
        status = bmc_text_encoder_encode(encoder, texts, 1, 0, embedding, (size_t)dim);
        ok = status == BMC_OK || refused_well(status);
    }
    bmc_text_encoder_free(encoder);
    free(embedding);
    bmc_model_free(model);
    return ok ? 2 : 0;
}

static int open_vqa(const bmc_model *model, const char *path)
{
    bmc_vqa *vqa = NULL;
    bmc_status status = bmc_vqa_load(model, path, &vqa);
    int ok = status == BMC_OK ? bmc_vqa_answer_count(vqa) > 0 : refused_well(status) && !vqa;
    bmc_vqa_free(vqa);
    return ok ? 1 + (status == BMC_OK) : 0;
}

static int open_segment(const bmc_model *model, const char *path)
{
    bmc_segmenter *segmenter = NULL;
    bmc_status status = bmc_segmenter_load(model, path, NULL, &segmenter);
    int ok = status == BMC_OK ? bmc_segmenter_map_size(segmenter) > 0 : refused_well(status) && !segmenter;
    bmc_segmenter_free(segmenter);
    return ok ? 1 + (status == BMC_OK) : 0;
}

/* The outcome of every loader of the file's kind: 0 if one misbehaved, else 1 (all refused)
 * or 2 (one accepted it). */
static int open_file(int kind, const char *path, const bmc_model *model)
{
    int a, b;
    switch (kind) {
    case 0:
        a = open_image(path, 0), b = open_image(path, 1);
        return a && b ? (a > 1 || b > 1) + 1 : 0;
    case 1:
        a = open_dicom(path), b = open_image(path, 0);
        return a && b ? (a > 1 || b > 1) + 1 : 0;
    case 2:
        a = open_index(path, 0), b = open_index(path, 1);
        return a && b ? (a > 1 || b > 1) + 1 : 0;
    case 3: return open_manifest(path);
    case 4: return open_bundle(path);
    case 5: return open_vqa(model, path);
    default: return open_segment(model, path);
    }
}

static void test_corpus(void)
{
    char dir[2048], path[4096];
    snprintf(dir, sizeof dir, "%s/corrupt", harness_fixtures());
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *list = fopen(path, "r");
    CHECK(list != NULL, "no %s (make fixtures)", path);
    if (!list)
        return;
    snprintf(path, sizeof path, "%s/vqa/model.bmc.pt", harness_fixtures());
    bmc_model *model = NULL;
    CHECK_STATUS(bmc_model_load(path, NULL, &model), BMC_OK);
    signal(SIGALRM, on_alarm);
    const int trace = getenv("BMC_CORRUPT_TRACE") != NULL; /* name each file before opening it */
    char line[2048], kind_name[32], file[2000], mark[16];
    while (fgets(line, sizeof line, list)) {
        mark[0] = '\0';
        if (sscanf(line, "%31s %1999s %15s", kind_name, file, mark) < 2)
            continue;
        if (SKIP_PICKLES && strcmp(mark, "pickle") == 0) {
            skipped++;
            continue;
        }
        int kind = 0;
        while (kind < KINDS && strcmp(kind_names[kind], kind_name) != 0)
            kind++;
        CHECK(kind < KINDS, "unknown kind '%s'", kind_name);
        if (kind == KINDS || (kind >= 5 && !model))
            continue;
        snprintf(current, sizeof current, "%s/%s", dir, file);
        if (trace)
            fprintf(stderr, "%s\n", current);
        alarm(HANG_SECONDS);
        int outcome = open_file(kind, current, model);
        alarm(0);
        CHECK(outcome != 0, "%s: %s", current, bmc_last_error());
        if (outcome == 2)
            accepted[kind]++;
        else if (outcome == 1)
            refused[kind]++;
    }
    fclose(list);
    bmc_model_free(model);
    int total = 0;
    for (int k = 0; k < KINDS; k++) {
        printf("  %-8s %5d files: %5d refused, %4d opened\n", kind_names[k], refused[k] + accepted[k], refused[k],
               accepted[k]);
        total += refused[k] + accepted[k];
    }
    printf("  %d corrupt files opened", total);
    if (skipped)
        printf(", %d with damaged pickles skipped under AddressSanitizer", skipped);
    printf("\n");
    CHECK(total >= 1000, "only %d files in the corpus", total);
}

int main(void)
{
    RUN(test_corpus);
    return harness_summary("test_corrupt");
}
