/* SPDX-License-Identifier: MIT */
/* Soak: many encode-and-classify calls on one model, with the resident memory sampled, for
 * `make soak` and tests/check_soak.sh. It catches what AddressSanitizer cannot: memory that
 * keeps growing while staying reachable (libtorch's caches, a list that is never trimmed).
 *
 *   tool_soak [MODEL_DIR]     default $BMC_FIXTURES/model (the tiny model and its images)
 *
 * Each call decodes a PNG from memory, classifies it (image tower, bmc_classify) and encodes a
 * text (text tower; the texts have different lengths, so the text tower sees many shapes);
 * every 100th call the encoders are freed and made again. The resident set (/proc/self/statm)
 * is sampled SAMPLES times. The verdict (docs/threading-and-memory.md): the first WARM_UP_SHARE
 * of the samples are warm-up (allocator arenas, libtorch's first-run optimisation, page faults
 * of the weights); a least-squares line through the rest must rise by at most
 * BMC_SOAK_MAX_BYTES_PER_CALL bytes per call (default 64: a leak of 64 bytes a call would grow
 * a server making a million calls a day by 64 MB a day), or by BMC_SOAK_NOISE_BYTES (default
 * 512 KiB) over the whole window if that is more: the allocator grows its heap in steps of a
 * few hundred KiB now and then (one such step of 0.2 MiB came after warm-up in a 2,000-call
 * run), which on a short window would look like a slope. On 10,000 calls the two bounds meet
 * (512 KiB / 8,000 calls = 66 bytes a call).
 *
 * Environment: BMC_SOAK_CALLS (default 10000), BMC_SOAK_MAX_BYTES_PER_CALL (default 64),
 * BMC_SOAK_NOISE_BYTES (default 524288),
 * BMC_SOAK_CPU_THREADS (libtorch's intra-op threads, default 1; 0 is the library's choice),
 * BMC_SOAK_LEAK=N leaks N bytes per call on purpose (tests/check_soak.sh shows the verdict
 * catches it). Prints the samples' summary and "soak: N passed, N failed". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "biomedclip.h"

#define SAMPLES 100
#define WARM_UP_SHARE 0.2
#define MAX_IMAGES 16
#define RECREATE_EVERY 100

static char dir[1024];
static int passed, failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL: %s (last error: %s)\n", what, bmc_last_error());
    }
}

static char *path_of(const char *name)
{
    static char path[2048];
    snprintf(path, sizeof path, "%.1000s/%.1000s", dir, name);
    return path;
}

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    unsigned char *data = NULL;
    long length = -1;
    if (file && fseek(file, 0, SEEK_END) == 0 && (length = ftell(file)) > 0 && fseek(file, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)length)) && fread(data, 1, (size_t)length, file) != (size_t)length) {
        free(data);
        data = NULL;
    }
    if (file)
        fclose(file);
    *size = data ? (size_t)length : 0;
    return data;
}

/* Resident bytes now: the second field of /proc/self/statm, in pages. */
static double resident_bytes(void)
{
    FILE *file = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    int got = file ? fscanf(file, "%lu %lu", &size, &resident) : 0;
    if (file)
        fclose(file);
    return got == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) : -1;
}

static size_t env_size(const char *name, size_t fallback)
{
    const char *value = getenv(name);
    return value && atol(value) >= 0 && *value ? (size_t)atol(value) : fallback;
}

int main(int argc, char **argv)
{
    const char *fixtures = getenv("BMC_FIXTURES");
    if (argc > 1)
        snprintf(dir, sizeof dir, "%.1000s", argv[1]);
    else
        snprintf(dir, sizeof dir, "%.1000s/model", fixtures ? fixtures : "build/fixtures");
    const size_t calls = env_size("BMC_SOAK_CALLS", 10000);
    const size_t max_slope = env_size("BMC_SOAK_MAX_BYTES_PER_CALL", 64);
    const size_t noise = env_size("BMC_SOAK_NOISE_BYTES", 512 * 1024);
    const size_t leak = env_size("BMC_SOAK_LEAK", 0);
    if (calls < SAMPLES) {
        fprintf(stderr, "tool_soak: BMC_SOAK_CALLS must be at least %d\n", SAMPLES);
        return 2;
    }

    /* The images named in the fixture's manifest, kept as encoded PNG bytes. */
    unsigned char *files[MAX_IMAGES];
    size_t sizes[MAX_IMAGES];
    int image_count = 0;
    FILE *manifest = fopen(path_of("manifest.txt"), "r");
    char line[1024], name[256];
    int index;
    while (manifest && fgets(line, sizeof line, manifest))
        if (sscanf(line, "image %d %255s", &index, name) == 2 && image_count < MAX_IMAGES) {
            char file[300];
            snprintf(file, sizeof file, "images/%s", name);
            files[image_count] = read_all(path_of(file), &sizes[image_count]);
            if (files[image_count])
                image_count++;
        }
    if (manifest)
        fclose(manifest);
    check(image_count > 0, "the fixture's images");

    static const char *const labels[] = {"pneumothorax", "pleural effusion", "normal lungs", "adenocarcinoma",
                                         "liver", "kidney"};
    static const char *const templates[] = {"this is a photo of {}", "a chest X-ray showing {}."};
    static const char *const texts[] = {
        "a chest X-ray showing pneumothorax",
        "MRI",
        "axial contrast-enhanced CT of the abdomen with a hypodense hepatic lesion in segment VII, "
        "measuring 2.3 cm, with arterial enhancement and washout on the portal venous phase",
        "H&E, 40x",
        "hematoxylin and eosin stained section demonstrating granulomatous inflammation with "
        "multinucleated giant cells and caseous necrosis",
        "segment the liver",
        "no acute cardiopulmonary abnormality",
    };
    const size_t text_count = sizeof texts / sizeof *texts;

    /* One intra-op thread by default: the soak is about memory, and on a shared machine an
     * OpenMP team spin-waiting for a busy core makes every call many times slower. */
    bmc_runtime_config config;
    bmc_runtime_config_init(&config);
    config.cpu_threads = (int32_t)env_size("BMC_SOAK_CPU_THREADS", 1);
    check(bmc_configure(&config) == BMC_OK, "bmc_configure");

    bmc_model *model = NULL;
    bmc_image_encoder *image_encoder = NULL;
    bmc_text_encoder *text_encoder = NULL;
    bmc_classifier *classifier = NULL;
    check(bmc_model_load(path_of("model.bmc.pt"), NULL, &model) == BMC_OK, "model load");
    if (model)
        check(bmc_text_encoder_create(model, NULL, &text_encoder) == BMC_OK &&
                  bmc_classifier_create(text_encoder, labels, sizeof labels / sizeof *labels, templates,
                                        sizeof templates / sizeof *templates, &classifier) == BMC_OK &&
                  bmc_image_encoder_create(model, NULL, &image_encoder) == BMC_OK,
              "encoders and classifier");
    const int32_t dim = bmc_model_embed_dim(model);
    float *embedding = malloc((size_t)(dim > 0 ? dim : 1) * sizeof *embedding);
    double samples[SAMPLES];
    double start = resident_bytes();
    size_t failures = 0, leaked = 0, every = calls / SAMPLES;
    void **leaks = leak ? calloc(calls, sizeof *leaks) : NULL;

    for (size_t call = 0; failed == 0 && call < calls; call++) {
        if (call > 0 && call % RECREATE_EVERY == 0) {
            bmc_image_encoder_free(image_encoder);
            bmc_text_encoder_free(text_encoder);
            image_encoder = NULL;
            text_encoder = NULL;
            if (bmc_image_encoder_create(model, NULL, &image_encoder) != BMC_OK ||
                bmc_text_encoder_create(model, NULL, &text_encoder) != BMC_OK)
                failures++;
        }
        bmc_image *image = NULL;
        int32_t best[2];
        float probs[2];
        const char *text = texts[call % text_count];
        int i = (int)(call % (size_t)image_count);
        if (bmc_image_load_memory(files[i], sizes[i], &image) != BMC_OK ||
            bmc_classify(classifier, image_encoder, image, 2, best, probs) != BMC_OK ||
            bmc_text_encoder_encode(text_encoder, &text, 1, 0, embedding, (size_t)dim) != BMC_OK)
            failures++;
        bmc_image_free(image);
        if (leak && leaks && (leaks[call] = malloc(leak))) {
            memset(leaks[call], 1, leak); /* touched, so it is resident */
            leaked += leak;
        }
        if ((call + 1) % every == 0 && (call + 1) / every <= SAMPLES)
            samples[(call + 1) / every - 1] = resident_bytes();
        if (failures) {
            fprintf(stderr, "call %zu failed: %s\n", call, bmc_last_error());
            break;
        }
    }
    check(failures == 0, "every call succeeds");

    if (failed == 0) {
        /* Least squares over the samples after warm-up: x in calls, y in bytes. */
        const int first = (int)(SAMPLES * WARM_UP_SHARE);
        const int n = SAMPLES - first;
        double sx = 0, sy = 0, sxx = 0, sxy = 0, low = samples[first], high = samples[first];
        for (int s = first; s < SAMPLES; s++) {
            double x = (double)(s + 1) * (double)every, y = samples[s];
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
            low = y < low ? y : low;
            high = y > high ? y : high;
        }
        const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        const double window = (double)(SAMPLES - first) * (double)every;
        const double mib = 1024.0 * 1024.0;
        const double bound = (double)noise / window > (double)max_slope ? (double)noise / window : (double)max_slope;
        printf("soak: %zu calls (decode, classify, text encode), resident set sampled every %zu calls\n", calls,
               every);
        printf("soak: resident after load %.1f MiB, after warm-up (call %zu) %.1f MiB, at the end %.1f MiB\n",
               start / mib, (size_t)first * every, samples[first - 1] / mib, samples[SAMPLES - 1] / mib);
        printf("soak: after warm-up: min %.2f MiB, max %.2f MiB; fitted slope %.2f bytes/call (%.2f MiB over "
               "the last %.0f calls), bound %.1f bytes/call%s\n",
               low / mib, high / mib, slope, slope * window / mib, window, bound,
               leak ? " (leaking on purpose)" : "");
        if (leak)
            printf("soak: leaked %zu bytes on purpose\n", leaked);
        check(slope <= bound, "the resident set stops growing after warm-up");
    }

    if (leaks)
        for (size_t c = 0; c < calls; c++)
            free(leaks[c]);
    free(leaks);
    free(embedding);
    for (int i = 0; i < image_count; i++)
        free(files[i]);
    bmc_image_encoder_free(image_encoder);
    bmc_text_encoder_free(text_encoder);
    bmc_classifier_free(classifier);
    bmc_model_free(model);
    printf("soak: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
