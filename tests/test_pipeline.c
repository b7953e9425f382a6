/* SPDX-License-Identifier: MIT */
/* bmc_image_encoder_encode_files against its reference, the serial path: each file loaded with
 * bmc_image_load_file() and the images encoded with bmc_image_encoder_encode() by an encoder of
 * the same batch size. Results and progress calls must be identical, bit for bit; failures,
 * cancellation and bad arguments must leave no thread behind (and, under ASan, no leak).
 * Reads the tiny model's fixtures in $BMC_FIXTURES/model. */
#include <dirent.h>
#include <math.h>
#include <unistd.h>

#include "biomedclip.h"
#include "harness.h"

#define MAX_IMAGES 16
#define MAX_FILES 64
#define MAX_CALLS 64

static char dir[1024];
static int32_t dim;
static int image_count;
static char image_paths[MAX_IMAGES][2048];
static bmc_model *model;

static int read_manifest(void)
{
    char path[2048], line[1024], name[256];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *file = fopen(path, "r");
    int index;
    while (file && fgets(line, sizeof line, file)) {
        if (sscanf(line, "embed_dim %d", &dim) == 1 || sscanf(line, "images %d", &image_count) == 1)
            continue;
        if (sscanf(line, "image %d %255s", &index, name) == 2 && index >= 0 && index < MAX_IMAGES)
            snprintf(image_paths[index], sizeof image_paths[index], "%s/images/%s", dir, name);
    }
    if (file)
        fclose(file);
    return dim > 0 && image_count > 0 && image_count <= MAX_IMAGES;
}

/* The progress calls an encode made, and when to cancel. */
struct progress_log {
    size_t done[MAX_CALLS], total[MAX_CALLS];
    size_t calls;
    size_t cancel_at; /* cancel on this call (1-based); 0 never */
};

static int32_t record_progress(void *user_data, size_t done, size_t total)
{
    struct progress_log *log = user_data;
    if (log->calls < MAX_CALLS) {
        log->done[log->calls] = done;
        log->total[log->calls] = total;
    }
    log->calls++;
    return log->cancel_at && log->calls == log->cancel_at;
}

static bmc_image_encoder *make_encoder(int32_t batch_size, struct progress_log *log)
{
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.batch_size = batch_size;
    options.progress_fn = log ? record_progress : NULL;
    options.progress_user_data = log;
    bmc_image_encoder *encoder = NULL;
    CHECK_STATUS(bmc_image_encoder_create(model, &options, &encoder), BMC_OK);
    return encoder;
}

/* The threads of this process, from /proc/self/task. */
static int thread_count(void)
{
    DIR *tasks = opendir("/proc/self/task");
    int count = 0;
    for (struct dirent *entry; tasks && (entry = readdir(tasks));)
        count += entry->d_name[0] != '.';
    if (tasks)
        closedir(tasks);
    return count;
}

/* The serial path: load every file, then one bmc_image_encoder_encode call. */
static bmc_status encode_serially(const char *const *paths, size_t count, int32_t batch_size,
                                  uint32_t flags, float *out, struct progress_log *log)
{
    bmc_image *images[MAX_FILES] = {0};
    bmc_status status = BMC_OK;
    for (size_t i = 0; status == BMC_OK && i < count; i++)
        status = bmc_image_load_file(paths[i], &images[i]);
    bmc_image_encoder *encoder = make_encoder(batch_size, log);
    if (status == BMC_OK && encoder)
        status = bmc_image_encoder_encode(encoder, (const bmc_image *const *)images, count, flags,
                                          out, count * (size_t)dim);
    bmc_image_encoder_free(encoder);
    for (size_t i = 0; i < count; i++)
        bmc_image_free(images[i]);
    return status;
}

/* `count` paths cycling through the fixture images, so that long lists reuse both batches. */
static void cycle_paths(const char **paths, size_t count)
{
    for (size_t i = 0; i < count; i++)
        paths[i] = image_paths[i % (size_t)image_count];
}

static void expect_identical(size_t count, int32_t batch_size, uint32_t flags)
{
    const char *paths[MAX_FILES];
    cycle_paths(paths, count);
    size_t floats = count * (size_t)dim;
    float *serial = malloc(floats * sizeof *serial), *piped = malloc(floats * sizeof *piped);
    struct progress_log serial_log = {0}, piped_log = {0};
    CHECK_STATUS(encode_serially(paths, count, batch_size, flags, serial, &serial_log), BMC_OK);
    bmc_image_encoder *encoder = make_encoder(batch_size, &piped_log);
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, count, flags, piped, floats), BMC_OK);
    CHECK(memcmp(serial, piped, floats * sizeof *serial) == 0,
          "%zu files, batch %d, flags %u: not bit for bit the serial result", count, batch_size, flags);
    CHECK(serial_log.calls == piped_log.calls &&
          memcmp(serial_log.done, piped_log.done, sizeof serial_log.done) == 0 &&
          memcmp(serial_log.total, piped_log.total, sizeof serial_log.total) == 0,
          "%zu files, batch %d: progress calls differ (%zu vs %zu)", count, batch_size,
          piped_log.calls, serial_log.calls);
    /* The encoder stays usable, and a second run gives the same again. */
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, count, flags, piped, floats), BMC_OK);
    CHECK(memcmp(serial, piped, floats * sizeof *serial) == 0, "second run differs");
    bmc_image_encoder_free(encoder);
    free(serial);
    free(piped);
}

static void test_identical_to_serial(void)
{
    const size_t n = (size_t)image_count;
    expect_identical(n, 4, 0);              /* a full batch and a partial one */
    expect_identical(n, 2, BMC_ENCODE_RAW); /* batches that divide the count */
    expect_identical(n, 32, 0);             /* one batch smaller than the batch size */
    expect_identical(1, 1, 0);              /* count 1 */
    expect_identical(1, 32, BMC_ENCODE_RAW);
    expect_identical(17, 3, 0);             /* both batches reused, a partial last one */
    expect_identical(13, 1, 0);             /* batch 1: every file its own batch */
}

static void test_bad_file_in_the_middle(void)
{
    char folder[] = "/tmp/bmc-pipeline-XXXXXX", junk[2048], missing[2048];
    CHECK(mkdtemp(folder) != NULL, "temp folder");
    snprintf(junk, sizeof junk, "%s/junk.png", folder);
    snprintf(missing, sizeof missing, "%s/missing.png", folder);
    FILE *file = fopen(junk, "wb");
    if (file) {
        fputs("not a png at all", file);
        fclose(file);
    }
    const char *paths[MAX_FILES];
    size_t count = 11, floats = count * (size_t)dim;
    float *out = malloc(floats * sizeof *out);
    int threads = thread_count();

    /* File 5 (the third batch of 2) cannot be opened; file 7 is not an image either. The first
     * in path order is reported, after the batches before it were encoded. */
    cycle_paths(paths, count);
    paths[5] = missing;
    paths[7] = junk;
    struct progress_log log = {0};
    bmc_image_encoder *encoder = make_encoder(2, &log);
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, count, 0, out, floats), BMC_ERR_IO);
    CHECK(strstr(bmc_last_error(), "missing.png") && strstr(bmc_last_error(), "file 5"),
          "the message names the file: %s", bmc_last_error());
    CHECK(log.calls == 2 && log.done[1] == 4, "two batches before the bad one, saw %zu calls", log.calls);

    /* The same serially: the same status, and the same first failing file. */
    CHECK_STATUS(encode_serially(paths, count, 2, 0, out, NULL), BMC_ERR_IO);

    /* A file that is not an image, with every other file fine. */
    cycle_paths(paths, count);
    paths[7] = junk;
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, count, 0, out, floats),
                 BMC_ERR_UNSUPPORTED);
    CHECK(strstr(bmc_last_error(), "junk.png") && strstr(bmc_last_error(), "file 7"),
          "the message names the file: %s", bmc_last_error());

    /* The first file bad, and the last. */
    cycle_paths(paths, count);
    paths[0] = junk;
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, count, 0, out, floats),
                 BMC_ERR_UNSUPPORTED);
    CHECK(strstr(bmc_last_error(), "file 0"), "names file 0: %s", bmc_last_error());
    cycle_paths(paths, count);
    paths[count - 1] = missing;
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, count, 0, out, floats), BMC_ERR_IO);
    CHECK(strstr(bmc_last_error(), "file 10"), "names file 10: %s", bmc_last_error());
    CHECK(thread_count() == threads, "threads left behind: %d, before %d", thread_count(), threads);

    /* After failures, the encoder still encodes. */
    float *serial = malloc(floats * sizeof *serial);
    cycle_paths(paths, count);
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, count, 0, out, floats), BMC_OK);
    CHECK_STATUS(encode_serially(paths, count, 2, 0, serial, NULL), BMC_OK);
    CHECK(memcmp(serial, out, floats * sizeof *out) == 0, "after failures, not the serial result");
    bmc_image_encoder_free(encoder);
    free(serial);
    free(out);
    unlink(junk);
    rmdir(folder);
}

static void test_cancel_after_first_batch(void)
{
    const char *paths[MAX_FILES];
    size_t count = 20, floats = count * (size_t)dim;
    float *out = malloc(floats * sizeof *out);
    cycle_paths(paths, count);
    int threads = thread_count();
    struct progress_log log = {.cancel_at = 1};
    bmc_image_encoder *encoder = make_encoder(2, &log);
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, count, 0, out, floats),
                 BMC_ERR_CANCELLED);
    CHECK(log.calls == 1 && log.done[0] == 2 && log.total[0] == count,
          "cancelled at the first batch: %zu calls, done %zu", log.calls, log.done[0]);
    CHECK(thread_count() == threads, "threads left behind: %d, before %d", thread_count(), threads);
    /* Cancelling on the last batch too. */
    log = (struct progress_log){.cancel_at = 10};
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, count, 0, out, floats),
                 BMC_ERR_CANCELLED);
    CHECK(log.calls == 10, "cancelled at the last batch, %zu calls", log.calls);
    CHECK(thread_count() == threads, "threads left behind: %d, before %d", thread_count(), threads);
    bmc_image_encoder_free(encoder);
    free(out);
}

static void test_bad_arguments(void)
{
    const char *paths[2] = {image_paths[0], image_paths[1]};
    const char *with_null[2] = {image_paths[0], NULL};
    float out[2 * 1024];
    const size_t floats = 2 * (size_t)dim;
    bmc_image_encoder *encoder = make_encoder(1, NULL);
    for (size_t i = 0; i < floats; i++)
        out[i] = -7.0f;
    CHECK_STATUS(bmc_image_encoder_encode_files(NULL, paths, 2, 0, out, floats),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, NULL, 2, 0, out, floats),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, 2, 0, NULL, floats),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, 0, 0, out, floats),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, with_null, 2, 0, out, floats),
                 BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "path 1"), "names the NULL path: %s", bmc_last_error());
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, 2, 0, out, floats - 1),
                 BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_image_encoder_encode_files(encoder, paths, 2, 0, out, 0),
                 BMC_ERR_BUFFER_TOO_SMALL);
    int untouched = 1;
    for (size_t i = 0; i < floats; i++)
        untouched &= out[i] == -7.0f;
    CHECK(untouched, "argument errors leave the output untouched");
    bmc_image_encoder_free(encoder);
}

/* An image collection goes through the pipeline with skipping: a bad file between good ones
 * is left out, its id unused, and every other file gets the embedding the serial path gives. */
static void test_collection_skips_a_bad_file(void)
{
    char folder[] = "/tmp/bmc-pipeline-XXXXXX", path[2048];
    CHECK(mkdtemp(folder) != NULL, "temp folder");
    const char *names[5] = {"a.png", "b.png", "c.png", "d.png", "e.png"};
    const int source[5] = {0, 1, -1, 2, 3}; /* c.png is junk */
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", folder, names[i]);
        if (source[i] >= 0) {
            char *target = realpath(image_paths[source[i] % image_count], NULL);
            CHECK(target && symlink(target, path) == 0, "link %s", path);
            free(target);
        } else {
            FILE *file = fopen(path, "wb");
            if (file) {
                fputs("not a png", file);
                fclose(file);
            }
        }
    }
    bmc_index *index = NULL;
    bmc_image_encoder *encoder = make_encoder(2, NULL);
    size_t added = 0, skipped = 0;
    int threads = thread_count();
    CHECK_STATUS(bmc_index_create(dim, BMC_DTYPE_F32, &index), BMC_OK);
    CHECK_STATUS(bmc_index_add_image_directory(index, encoder, folder, 10, &added, &skipped), BMC_OK);
    CHECK(added == 4 && skipped == 1, "added %zu, skipped %zu", added, skipped);
    CHECK(thread_count() == threads, "threads left behind");
    float got[1024], expected[1024];
    CHECK_STATUS(bmc_index_get_vector(index, 12, got, (size_t)dim), BMC_ERR_NOT_FOUND);
    for (int i = 0; i < 5; i++) {
        if (source[i] < 0)
            continue;
        const char *one = image_paths[source[i] % image_count];
        memset(got, 0, sizeof got);
        CHECK_STATUS(bmc_index_get_vector(index, 10 + i, got, (size_t)dim), BMC_OK);
        CHECK_STATUS(encode_serially(&one, 1, 1, 0, expected, NULL), BMC_OK);
        double worst = 0;
        for (int d = 0; d < dim; d++)
            worst = fmax(worst, fabs((double)got[d] - expected[d]));
        CHECK(worst <= 1e-6, "%s: differs from the serial embedding by %g", names[i], worst);
    }
    bmc_index_free(index);
    bmc_image_encoder_free(encoder);
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", folder, names[i]);
        unlink(path);
    }
    rmdir(folder);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/model", harness_fixtures());
    if (!read_manifest() || dim > 1024) {
        CHECK(0, "model fixtures missing in %s (run make fixtures)", dir);
        return harness_summary("test_pipeline");
    }
    char bundle[2048];
    snprintf(bundle, sizeof bundle, "%s/model.bmc.pt", dir);
    CHECK_STATUS(bmc_model_load(bundle, NULL, &model), BMC_OK);
    if (model) {
        RUN(test_identical_to_serial);
        RUN(test_bad_file_in_the_middle);
        RUN(test_cancel_after_first_batch);
        RUN(test_bad_arguments);
        RUN(test_collection_skips_a_bad_file);
    }
    bmc_model_free(model);
    return harness_summary("test_pipeline");
}
