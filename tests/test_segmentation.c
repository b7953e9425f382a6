/* SPDX-License-Identifier: MIT */
/* Text-prompted segmentation against the Python reference (tools/fixtures/make_segmentation_fixtures.py):
 * a decoder trained by tools/train/train_segmentation.py and decoders converted by
 * tools/export/export_decoder.py, through the C API.
 *
 *  - parity: logits within 1e-5 of the eager reference relative to the largest reference logit
 *    (float32 sums in another order: oneDNN's products against libtorch's; the trained
 *    decoder's logits reach about 33), probabilities at the image's resolution
 *    within 1e-4, masks equal except where the reference probability is within 1e-4 of the
 *    threshold; overlays byte for byte as Pillow blends them;
 *  - quality: the trained decoder on held-out scans reaches Dice >= MIN_DICE against the truth,
 *    and the prompt decides the object: each prompt's mask overlaps its own object best and
 *    masks of different prompts on one image hardly overlap;
 *  - every broken decoder is refused with its status, every bad call with its error. */
#include <math.h>
#include <pthread.h>
#include <unistd.h>

#include "biomedclip.h"
#include "harness.h"
#include "bf16_model.h"

#define MAX_ITEMS 16
#define MAX_CLASSES 4
#define LOGIT_TOLERANCE 1e-5 /* relative to the largest reference logit, at least 1 */
#define PROB_TOLERANCE 1e-4
#define MIN_DICE 0.85        /* mean over held-out (image, prompt) pairs, stated in the docs */
#define MAX_CROSS_DICE 0.1   /* mean Dice between masks of different prompts on one image */

static char dir[1024];
static int32_t map_size;
static float threshold_level;
static int image_count, prompt_count, decoder_count, case_count, broken_count;
static char image_files[MAX_ITEMS][256];
static int32_t image_w[MAX_ITEMS], image_h[MAX_ITEMS];
static char prompts[MAX_CLASSES][512], classes[MAX_CLASSES][64];
static const char *prompt_list[MAX_CLASSES];
static char decoder_names[MAX_ITEMS][64], decoder_files[MAX_ITEMS][256];
static char case_decoder[64][64];
static int case_image[64];
static char broken_files[MAX_ITEMS][256], broken_status[MAX_ITEMS][64];
static bmc_model *model;
static double worst_logits, worst_prob;
static size_t near_threshold;

static char *path_of(const char *name)
{
    static char path[4][2048];
    static int next;
    next = (next + 1) % 4;
    snprintf(path[next], sizeof path[next], "%.1000s/%.1000s", dir, name);
    return path[next];
}

static void *read_file(const char *name, size_t bytes)
{
    FILE *file = fopen(path_of(name), "rb");
    void *data = malloc(bytes ? bytes : 1);
    size_t got = file && data ? fread(data, 1, bytes, file) : 0;
    if (file)
        fclose(file);
    if (got != bytes) {
        fprintf(stderr, "cannot read %zu bytes from %s\n", bytes, name);
        free(data);
        return NULL;
    }
    return data;
}

static void parse_line(const char *line)
{
    char key[32], a[256], b[256];
    int index, w, h, n;
    if (sscanf(line, "%31s", key) != 1)
        return;
    if (!strcmp(key, "size")) sscanf(line, "%*s %d", &map_size);
    else if (!strcmp(key, "threshold")) sscanf(line, "%*s %f", &threshold_level);
    else if (!strcmp(key, "image") && sscanf(line, "%*s %d %255s %d %d", &index, a, &w, &h) == 4 &&
             index == image_count && index < MAX_ITEMS) {
        snprintf(image_files[index], sizeof image_files[index], "images/%.240s", a);
        image_w[index] = w;
        image_h[index] = h;
        image_count++;
    } else if (!strcmp(key, "prompt") && sscanf(line, "%*s %d %63s %n", &index, a, &n) == 2 &&
               index == prompt_count && index < MAX_CLASSES) {
        snprintf(classes[index], sizeof classes[index], "%.63s", a);
        snprintf(prompts[index], sizeof prompts[index], "%s", line + n);
        prompts[index][strcspn(prompts[index], "\n")] = '\0';
        prompt_list[index] = prompts[index];
        prompt_count++;
    } else if (!strcmp(key, "decoder") && sscanf(line, "%*s %63s %255s", a, b) == 2 &&
               decoder_count < MAX_ITEMS) {
        snprintf(decoder_names[decoder_count], 64, "%.63s", a);
        snprintf(decoder_files[decoder_count++], 256, "%s", b);
    } else if (!strcmp(key, "case") && sscanf(line, "%*s %63s %d", a, &index) == 2 && case_count < 64) {
        snprintf(case_decoder[case_count], 64, "%.63s", a);
        case_image[case_count++] = index;
    } else if (!strcmp(key, "broken") && sscanf(line, "%*s %255s %63s", a, b) == 2 &&
               broken_count < MAX_ITEMS) {
        snprintf(broken_files[broken_count], 256, "%s", a);
        snprintf(broken_status[broken_count++], 64, "%.63s", b);
    }
}

static int read_manifest(void)
{
    FILE *file = fopen(path_of("manifest.txt"), "r");
    if (!file)
        return 0;
    char line[1024];
    while (fgets(line, sizeof line, file))
        parse_line(line);
    fclose(file);
    return map_size > 0 && image_count > 0 && prompt_count > 1 && decoder_count > 0 && case_count > 0;
}

static const char *decoder_file(const char *name)
{
    for (int i = 0; i < decoder_count; i++)
        if (!strcmp(decoder_names[i], name))
            return path_of(decoder_files[i]);
    return path_of("missing");
}

static bmc_segmenter *load_decoder(const char *name)
{
    bmc_segmenter *seg = NULL;
    CHECK_STATUS(bmc_segmenter_load(model, decoder_file(name), NULL, &seg), BMC_OK);
    return seg;
}

static bmc_image *load_image(int index)
{
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_image_load_file(path_of(image_files[index]), &image), BMC_OK);
    return image;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

/* ---- parity ---------------------------------------------------------------------------- */

static void check_case(bmc_segmenter *seg, const char *name, int index)
{
    char file[256];
    const size_t map = (size_t)map_size * (size_t)map_size;
    const size_t pixels = (size_t)image_w[index] * (size_t)image_h[index];
    const size_t p = (size_t)prompt_count;
    snprintf(file, sizeof file, "ref/%.63s.%d.logits.f32", name, index);
    float *ref_logits = read_file(file, p * map * 4);
    snprintf(file, sizeof file, "ref/%.63s.%d.prob.f32", name, index);
    float *ref_prob = read_file(file, p * pixels * 4);
    float *logits = malloc(p * map * 4), *prob = malloc(p * pixels * 4);
    uint8_t *mask = malloc(p * pixels), *ref_mask = malloc(p * pixels);
    bmc_image *image = load_image(index);
    if (ref_logits && ref_prob && image) {
        CHECK_STATUS(bmc_segment_logits(seg, image, prompt_list, p, logits, p * map), BMC_OK);
        double largest = 1;
        for (size_t i = 0; i < p * map; i++)
            largest = fmax(largest, fabs(ref_logits[i]));
        double diff = max_abs_diff(logits, ref_logits, p * map) / largest;
        worst_logits = fmax(worst_logits, diff);
        CHECK(diff <= LOGIT_TOLERANCE, "%s on image %d: logits differ by %g of the largest", name,
              index, diff);
        CHECK_STATUS(bmc_segment(seg, image, prompt_list, p, prob, p * pixels), BMC_OK);
        diff = max_abs_diff(prob, ref_prob, p * pixels);
        worst_prob = fmax(worst_prob, diff);
        CHECK(diff <= PROB_TOLERANCE, "%s on image %d: probabilities differ by %g", name, index, diff);
        CHECK_STATUS(bmc_mask_threshold(prob, p * pixels, threshold_level, mask), BMC_OK);
        CHECK_STATUS(bmc_mask_threshold(ref_prob, p * pixels, threshold_level, ref_mask), BMC_OK);
        size_t differ = 0;
        for (size_t i = 0; i < p * pixels; i++)
            if (mask[i] != ref_mask[i]) {
                if (fabs((double)ref_prob[i] - threshold_level) > PROB_TOLERANCE)
                    differ++;
                else
                    near_threshold++;
            }
        CHECK(differ == 0, "%s on image %d: %zu mask pixels differ away from the threshold", name, index,
              differ);
    }
    bmc_image_free(image);
    free(ref_logits);
    free(ref_prob);
    free(logits);
    free(prob);
    free(mask);
    free(ref_mask);
}

static void test_parity(void)
{
    for (int d = 0; d < decoder_count; d++) {
        bmc_segmenter *seg = load_decoder(decoder_names[d]);
        int cases = 0;
        for (int c = 0; seg && c < case_count; c++)
            if (!strcmp(case_decoder[c], decoder_names[d])) {
                check_case(seg, decoder_names[d], case_image[c]);
                cases++;
            }
        CHECK(!seg || cases > 0, "no reference cases for %s", decoder_names[d]);
        bmc_segmenter_free(seg);
    }
    printf("parity over %d cases: logits within %.2g of the largest, probabilities within %.2g, %zu mask pixels "
           "differ (all within %.0e of the threshold)\n", case_count, worst_logits, worst_prob,
           near_threshold, PROB_TOLERANCE);
}

/* ---- quality of the trained decoder -------------------------------------------------------- */

static double dice(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t both = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        both += a[i] && b[i];
        total += (a[i] != 0) + (b[i] != 0);
    }
    return total ? 2.0 * (double)both / (double)total : 1.0;
}

/* Dice of each prompt's mask against each class's truth, and between the prompts' masks. */
static void score_image(bmc_segmenter *seg, int index, double *own, double *cross, int *selected)
{
    const size_t pixels = (size_t)image_w[index] * (size_t)image_h[index], p = (size_t)prompt_count;
    float *prob = malloc(p * pixels * sizeof *prob);
    uint8_t *mask = malloc(p * pixels), *truth[MAX_CLASSES] = {0};
    bmc_image *image = load_image(index);
    for (size_t c = 0; c < p; c++) {
        char file[256];
        snprintf(file, sizeof file, "truth/scan%d.%s.u8", index, classes[c]);
        truth[c] = read_file(file, pixels);
    }
    int ready = image && prob && mask;
    for (size_t c = 0; c < p; c++)
        ready = ready && truth[c];
    if (ready && bmc_segment(seg, image, prompt_list, p, prob, p * pixels) == BMC_OK &&
        bmc_mask_threshold(prob, p * pixels, threshold_level, mask) == BMC_OK) {
        for (size_t c = 0; c < p; c++) {
            size_t best = 0;
            double best_dice = -1;
            for (size_t t = 0; t < p; t++) {
                double d = dice(mask + c * pixels, truth[t], pixels);
                if (d > best_dice) {
                    best_dice = d;
                    best = t;
                }
            }
            *own += dice(mask + c * pixels, truth[c], pixels);
            *selected += best == c;
            for (size_t o = c + 1; o < p; o++)
                *cross += dice(mask + c * pixels, mask + o * pixels, pixels);
        }
    } else {
        CHECK(0, "image %d could not be segmented: %s", index, bmc_last_error());
    }
    for (size_t c = 0; c < p; c++)
        free(truth[c]);
    bmc_image_free(image);
    free(prob);
    free(mask);
}

static void test_quality(void)
{
    bmc_segmenter *seg = load_decoder("trained");
    if (!seg)
        return;
    double own = 0, cross = 0;
    int selected = 0;
    for (int i = 0; i < image_count; i++)
        score_image(seg, i, &own, &cross, &selected);
    const int pairs = image_count * prompt_count;
    const int cross_pairs = image_count * prompt_count * (prompt_count - 1) / 2;
    printf("trained decoder on %d held-out scans: mean Dice %.3f; own object best in %d of %d; "
           "mean Dice between different prompts' masks %.3f\n",
           image_count, own / pairs, selected, pairs, cross / cross_pairs);
    CHECK(own / pairs >= MIN_DICE, "mean Dice %.3f below %.2f", own / pairs, MIN_DICE);
    CHECK(selected == pairs, "only %d of %d masks overlap the prompted object best", selected, pairs);
    CHECK(cross / cross_pairs <= MAX_CROSS_DICE, "masks of different prompts overlap: Dice %.3f",
          cross / cross_pairs);
    bmc_segmenter_free(seg);
}

/* ---- masks, overlays, PNG ---------------------------------------------------------------- */

static void test_overlay(void)
{
    const size_t pixels = (size_t)image_w[0] * (size_t)image_h[0];
    float *ref_prob = read_file("ref/trained.0.prob.f32", pixels * 4); /* prompt 0 comes first */
    uint8_t *expected = read_file("ref/overlay.u8", pixels * 3);
    uint8_t *mask = malloc(pixels), *rgb = malloc(pixels * 3);
    bmc_image *image = load_image(0);
    const uint8_t colour[3] = {255, 64, 0};
    if (ref_prob && expected && image) {
        CHECK_STATUS(bmc_mask_threshold(ref_prob, pixels, threshold_level, mask), BMC_OK);
        CHECK_STATUS(bmc_mask_overlay(image, mask, pixels, colour, 0.45f, rgb, pixels * 3), BMC_OK);
        CHECK(memcmp(rgb, expected, pixels * 3) == 0, "overlay differs from Pillow's blend + composite");

        char png[2048];
        snprintf(png, sizeof png, "%.1000s/overlay.%ld.png", dir, (long)getpid());
        CHECK_STATUS(bmc_png_write_file(png, rgb, image_w[0], image_h[0], 3), BMC_OK);
        bmc_image *back = NULL;
        CHECK_STATUS(bmc_image_load_file(png, &back), BMC_OK);
        uint8_t *again = malloc(pixels * 3);
        if (back && again) {
            CHECK_STATUS(bmc_image_to_rgb8(back, again, pixels * 3), BMC_OK);
            CHECK(memcmp(again, rgb, pixels * 3) == 0, "overlay PNG reads back differently");
        }
        free(again);
        bmc_image_free(back);
        remove(png);

        CHECK_STATUS(bmc_mask_overlay(image, mask, pixels - 1, colour, 0.5f, rgb, pixels * 3),
                     BMC_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(bmc_mask_overlay(image, mask, pixels, colour, 1.5f, rgb, pixels * 3),
                     BMC_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(bmc_mask_overlay(image, mask, pixels, colour, NAN, rgb, pixels * 3),
                     BMC_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(bmc_mask_overlay(image, mask, pixels, colour, 0.5f, rgb, pixels * 3 - 1),
                     BMC_ERR_BUFFER_TOO_SMALL);
        CHECK_STATUS(bmc_mask_overlay(image, NULL, pixels, colour, 0.5f, rgb, pixels * 3),
                     BMC_ERR_INVALID_ARGUMENT);
    }
    bmc_image_free(image);
    free(ref_prob);
    free(expected);
    free(mask);
    free(rgb);
}

static void test_threshold(void)
{
    const float prob[] = {0.0f, 0.5f, 0.50001f, 1.0f, NAN, -INFINITY, INFINITY};
    const uint8_t expected[] = {0, 0, 255, 255, 0, 0, 255};
    uint8_t mask[7];
    CHECK_STATUS(bmc_mask_threshold(prob, 7, 0.5f, mask), BMC_OK);
    CHECK(memcmp(mask, expected, 7) == 0, "threshold at 0.5 is not 'above'");
    CHECK_STATUS(bmc_mask_threshold(prob, 7, NAN, mask), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_mask_threshold(NULL, 7, 0.5f, mask), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_mask_threshold(prob, 0, 0.5f, mask), BMC_OK);
}

/* ---- metadata, refusals and bad calls ----------------------------------------------------- */

static void test_metadata(void)
{
    bmc_segmenter *trained = load_decoder("trained"), *crop = load_decoder("trained_crop");
    if (trained && crop) {
        CHECK(!strcmp(bmc_segmenter_name(trained), "synthetic-scans"), "name '%s'", bmc_segmenter_name(trained));
        CHECK(strstr(bmc_segmenter_source(trained), "train_segmentation.py") != NULL, "source '%s'",
              bmc_segmenter_source(trained));
        CHECK(bmc_segmenter_map_size(trained) == map_size, "map size %d", bmc_segmenter_map_size(trained));
        bmc_preprocess_options pre;
        bmc_preprocess_options_init(&pre);
        CHECK_STATUS(bmc_segmenter_preprocess_options(trained, &pre), BMC_OK);
        CHECK(pre.resize_mode == BMC_RESIZE_SQUASH && pre.filter == BMC_FILTER_BILINEAR &&
              pre.image_size == map_size, "trained: mode %d filter %d", pre.resize_mode, pre.filter);
        CHECK_STATUS(bmc_segmenter_preprocess_options(crop, &pre), BMC_OK);
        CHECK(pre.resize_mode == BMC_RESIZE_SHORTEST_CROP && pre.filter == BMC_FILTER_BICUBIC,
              "crop: mode %d filter %d", pre.resize_mode, pre.filter);
        pre.struct_size = 3;
        CHECK_STATUS(bmc_segmenter_preprocess_options(crop, &pre), BMC_ERR_INVALID_ARGUMENT);
    }
    CHECK(bmc_segmenter_map_size(NULL) == 0 && !strcmp(bmc_segmenter_name(NULL), ""), "NULL segmenter");
    bmc_segmenter_free(trained);
    bmc_segmenter_free(crop);
}

static bmc_status status_named(const char *name)
{
    static const struct { const char *name; bmc_status status; } names[] = {
        {"BMC_ERR_MODEL", BMC_ERR_MODEL}, {"BMC_ERR_VERSION", BMC_ERR_VERSION},
        {"BMC_ERR_CORRUPT_DATA", BMC_ERR_CORRUPT_DATA}, {"BMC_ERR_IO", BMC_ERR_IO}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].name, name))
            return names[i].status;
    return -1;
}

static void test_broken(void)
{
    CHECK(broken_count >= 5, "only %d broken decoders", broken_count);
    for (int i = 0; i < broken_count; i++) {
        bmc_segmenter *seg = NULL;
        bmc_status status = bmc_segmenter_load(model, path_of(broken_files[i]), NULL, &seg);
        CHECK(status == status_named(broken_status[i]), "%s: status %d (%s), expected %s: %s", broken_files[i],
              status, bmc_status_string(status), broken_status[i], bmc_last_error());
        CHECK(seg == NULL && strlen(bmc_last_error()) > 10, "%s: out set or no message", broken_files[i]);
        bmc_segmenter_free(seg);
    }
    bmc_segmenter *seg = NULL;
    CHECK_STATUS(bmc_segmenter_load(model, path_of("no/such/file.pt"), NULL, &seg), BMC_ERR_IO);

    /* the base check is the one part an option turns off */
    bmc_segmenter_options options;
    bmc_segmenter_options_init(&options);
    CHECK(options.check_base_source == 1, "check_base_source defaults to %d", options.check_base_source);
    options.check_base_source = 0;
    CHECK_STATUS(bmc_segmenter_load(model, path_of("broken/other_base.bmcseg.pt"), &options, &seg), BMC_OK);
    bmc_segmenter_free(seg);
    seg = NULL;
    options.struct_size = 1;
    CHECK_STATUS(bmc_segmenter_load(model, decoder_file("trained"), &options, &seg), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_segmenter_load(NULL, decoder_file("trained"), NULL, &seg), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_segmenter_load(model, NULL, NULL, &seg), BMC_ERR_INVALID_ARGUMENT);
    CHECK(seg == NULL, "out set on failure");
}

static void test_bad_calls(void)
{
    bmc_segmenter *seg = load_decoder("trained");
    bmc_image *image = load_image(0);
    const size_t pixels = (size_t)image_w[0] * (size_t)image_h[0];
    float *out = malloc(2 * pixels * sizeof *out);
    if (seg && image && out) {
        const char *bad_utf8[] = {"segment the \xff liver"};
        const char *with_null[] = {"liver", NULL};
        CHECK_STATUS(bmc_segment(seg, image, prompt_list, 0, out, pixels), BMC_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(bmc_segment(seg, image, prompt_list, 2, out, 2 * pixels - 1), BMC_ERR_BUFFER_TOO_SMALL);
        CHECK_STATUS(bmc_segment(seg, NULL, prompt_list, 1, out, pixels), BMC_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(bmc_segment(seg, image, NULL, 1, out, pixels), BMC_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(bmc_segment(NULL, image, prompt_list, 1, out, pixels), BMC_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(bmc_segment(seg, image, with_null, 2, out, 2 * pixels), BMC_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(bmc_segment(seg, image, bad_utf8, 1, out, pixels), BMC_ERR_INVALID_UTF8);
        CHECK_STATUS(bmc_segment_logits(seg, image, prompt_list, 1, out, (size_t)map_size * map_size - 1),
                     BMC_ERR_BUFFER_TOO_SMALL);
        /* a prompt longer than the context is truncated, as open_clip does */
        size_t size = 20000;
        char *long_prompt = malloc(size + 1);
        for (size_t i = 0; long_prompt && i < size; i++)
            long_prompt[i] = i % 6 == 5 ? ' ' : "liver"[i % 6];
        if (long_prompt) {
            long_prompt[size] = '\0';
            const char *one[] = {long_prompt};
            CHECK_STATUS(bmc_segment(seg, image, one, 1, out, pixels), BMC_OK);
        }
        free(long_prompt);
    }
    free(out);
    bmc_image_free(image);
    bmc_segmenter_free(seg);
}

/* ---- threads ------------------------------------------------------------------------------ */

struct job {
    const bmc_segmenter *seg;
    const bmc_image *image;
    float *out;
    size_t count;
    bmc_status status;
};

static void *run_job(void *arg)
{
    struct job *job = arg;
    job->status = bmc_segment_logits(job->seg, job->image, prompt_list, (size_t)prompt_count, job->out,
                                     job->count);
    return NULL;
}

static void test_threads(void)
{
    bmc_segmenter *seg = load_decoder("trained");
    bmc_image *image = load_image(1);
    const size_t count = (size_t)prompt_count * (size_t)map_size * (size_t)map_size;
    float *alone = malloc(count * sizeof *alone);
    struct job jobs[3];
    pthread_t threads[3];
    if (seg && image && alone) {
        CHECK_STATUS(bmc_segment_logits(seg, image, prompt_list, (size_t)prompt_count, alone, count), BMC_OK);
        for (int t = 0; t < 3; t++) {
            jobs[t] = (struct job){seg, image, malloc(count * sizeof(float)), count, -1};
            pthread_create(&threads[t], NULL, run_job, &jobs[t]);
        }
        for (int t = 0; t < 3; t++) {
            pthread_join(threads[t], NULL);
            CHECK(jobs[t].status == BMC_OK && jobs[t].out && !memcmp(jobs[t].out, alone, count * sizeof(float)),
                  "thread %d: status %d or different logits", t, jobs[t].status);
            free(jobs[t].out);
        }
    }
    free(alone);
    bmc_image_free(image);
    bmc_segmenter_free(seg);
}

/* ---- bfloat16 ------------------------------------------------------------------------------ */

/* A decoder on a bfloat16 base model (it runs in the base's dtype): every reference case's
 * logits within cosine 0.999 of the float32 reference, and its masks within 1% of the
 * reference's pixels. Skipped, with the refusal checked, where the CPU lacks bfloat16. */
static double cosine_of(const float *a, const float *b, size_t n)
{
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    return na > 0 && nb > 0 ? dot / sqrt(na * nb) : 0;
}

static void test_bfloat16(void)
{
    bmc_model *bf16 = load_bf16_model(path_of("model.bmc.pt"));
    const size_t map = (size_t)map_size * (size_t)map_size, p = (size_t)prompt_count;
    double worst_cosine = 1, worst_share = 0;
    for (int c = 0; bf16 && c < case_count; c++) {
        int index = case_image[c];
        const size_t pixels = (size_t)image_w[index] * (size_t)image_h[index];
        char file[256];
        snprintf(file, sizeof file, "ref/%.63s.%d.logits.f32", case_decoder[c], index);
        float *ref_logits = read_file(file, p * map * 4);
        snprintf(file, sizeof file, "ref/%.63s.%d.prob.f32", case_decoder[c], index);
        float *ref_prob = read_file(file, p * pixels * 4);
        float *logits = malloc(p * map * 4), *prob = malloc(p * pixels * 4);
        uint8_t *mask = malloc(p * pixels), *ref_mask = malloc(p * pixels);
        bmc_segmenter *seg = NULL;
        CHECK_STATUS(bmc_segmenter_load(bf16, decoder_file(case_decoder[c]), NULL, &seg), BMC_OK);
        bmc_image *image = load_image(index);
        if (seg && image && ref_logits && ref_prob) {
            CHECK_STATUS(bmc_segment_logits(seg, image, prompt_list, p, logits, p * map), BMC_OK);
            for (size_t k = 0; k < p; k++)
                worst_cosine = fmin(worst_cosine, cosine_of(logits + k * map, ref_logits + k * map, map));
            CHECK_STATUS(bmc_segment(seg, image, prompt_list, p, prob, p * pixels), BMC_OK);
            CHECK_STATUS(bmc_mask_threshold(prob, p * pixels, threshold_level, mask), BMC_OK);
            CHECK_STATUS(bmc_mask_threshold(ref_prob, p * pixels, threshold_level, ref_mask), BMC_OK);
            size_t differ = 0;
            for (size_t i = 0; i < p * pixels; i++)
                differ += mask[i] != ref_mask[i];
            worst_share = fmax(worst_share, (double)differ / (double)(p * pixels));
        }
        bmc_image_free(image);
        bmc_segmenter_free(seg);
        free(ref_logits);
        free(ref_prob);
        free(logits);
        free(prob);
        free(mask);
        free(ref_mask);
    }
    printf("bfloat16 base and decoders over %d cases: 1 - min logit cosine %.3g, at most %.3g%% of mask "
           "pixels differ from float32's\n", case_count, 1 - worst_cosine, 100 * worst_share);
    CHECK(worst_cosine >= 0.999, "bfloat16 logits cosine %.6f", worst_cosine);
    CHECK(worst_share <= 0.01, "bfloat16 masks differ in %.3g%% of pixels", 100 * worst_share);
    bmc_model_free(bf16);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/segmentation", harness_fixtures());
    if (!read_manifest()) {
        fprintf(stderr, "no segmentation fixtures in %s (run make fixtures)\n", dir);
        return harness_summary("test_segmentation") + 1;
    }
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), NULL, &model), BMC_OK);
    if (model) {
        RUN(test_parity);
        RUN(test_quality);
        RUN(test_overlay);
        RUN(test_metadata);
        RUN(test_broken);
        RUN(test_bad_calls);
        RUN(test_threads);
        RUN(test_bfloat16);
    }
    RUN(test_threshold);
    bmc_model_free(model);
    return harness_summary("test_segmentation");
}
