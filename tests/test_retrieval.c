/* SPDX-License-Identifier: MIT */
/* Captioning by retrieval, text-to-image and composed search on the tiny model, against rankings
 * computed from the eager PyTorch reference's embeddings (tools/fixtures/make_model_fixtures.py). */
#include <math.h>
#include <unistd.h>

#include "biomedclip.h"
#include "harness.h"

#define MAX_ITEMS 16

static char dir[1024];
static int32_t dim;
static int image_count, text_count;
static char image_names[MAX_ITEMS][300];
static bmc_model *model;
static bmc_text_encoder *text_encoder;
static bmc_image_encoder *image_encoder;
static float *ref_images, *ref_texts; /* reference embeddings, normalised here */

static const char *path_of(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static float *read_floats(const char *name, size_t count)
{
    FILE *file = fopen(path_of(name), "rb");
    float *data = malloc(count * sizeof *data);
    size_t got = file && data ? fread(data, sizeof *data, count, file) : 0;
    if (file)
        fclose(file);
    if (got != count) {
        free(data);
        return NULL;
    }
    for (size_t row = 0; row < count / (size_t)dim; row++) {
        double sum = 0;
        for (int d = 0; d < dim; d++)
            sum += (double)data[row * dim + d] * data[row * dim + d];
        for (int d = 0; d < dim; d++)
            data[row * dim + d] = (float)(data[row * dim + d] / sqrt(sum));
    }
    return data;
}

static int read_manifest(void)
{
    FILE *file = fopen(path_of("manifest.txt"), "r");
    char line[1024], name[256];
    int index;
    while (file && fgets(line, sizeof line, file)) {
        if (sscanf(line, "embed_dim %d", &dim) == 1 || sscanf(line, "images %d", &image_count) == 1 ||
            sscanf(line, "texts %d", &text_count) == 1)
            continue;
        if (sscanf(line, "image %d %255s", &index, name) == 2 && index >= 0 && index < MAX_ITEMS)
            snprintf(image_names[index], sizeof image_names[index], "images/%s", name);
    }
    if (file)
        fclose(file);
    return dim > 0 && image_count > 0 && image_count <= MAX_ITEMS && text_count > 0 &&
           text_count <= MAX_ITEMS;
}

/* The reference ranking: indices of `rows` sorted by cosine with `query`, best first. */
static void reference_ranking(const float *query, const float *rows, int count, int *order,
                              double *scores)
{
    for (int i = 0; i < count; i++) {
        double dot = 0;
        for (int d = 0; d < dim; d++)
            dot += (double)query[d] * rows[i * dim + d];
        scores[i] = dot;
        order[i] = i;
    }
    for (int i = 1; i < count; i++)
        for (int j = i; j > 0 && scores[order[j]] > scores[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

static size_t progress_total, progress_last;
static int32_t record_progress(void *user, size_t done, size_t total)
{
    (void)user;
    progress_last = done;
    progress_total = total;
    return 0;
}

/* Captions = the fixture texts (line i = id 100 + i); each image's top captions must be the
 * reference ranking, scores equal to the reference cosines. */
static void test_captioning(void)
{
    bmc_index *bank = NULL;
    size_t added = 0;
    CHECK_STATUS(bmc_index_create(dim, BMC_DTYPE_F32, &bank), BMC_OK);
    CHECK_STATUS(bmc_index_add_text_file(bank, text_encoder, path_of("texts.txt"), 100, &added), BMC_OK);
    CHECK(added == (size_t)text_count, "added %zu captions", added);
    CHECK(progress_total == (size_t)text_count && progress_last == (size_t)text_count,
          "progress counted the whole file: %zu of %zu", progress_last, progress_total);
    bmc_image *image;
    const int k = 3;
    for (int i = 0; i < image_count; i++) {
        int64_t ids[3];
        float scores[3];
        int order[MAX_ITEMS];
        double expected[MAX_ITEMS];
        if (bmc_image_load_file(path_of(image_names[i]), &image) != BMC_OK) {
            CHECK(0, "cannot load %s: %s", image_names[i], bmc_last_error());
            continue;
        }
        CHECK_STATUS(bmc_index_search_image(bank, image_encoder, image, k, ids, scores), BMC_OK);
        bmc_image_free(image);
        reference_ranking(ref_images + i * dim, ref_texts, text_count, order, expected);
        for (int r = 0; r < k; r++) {
            CHECK(ids[r] == 100 + order[r], "image %d rank %d: id %lld, reference %d", i, r,
                  (long long)ids[r], 100 + order[r]);
            CHECK(fabs(scores[r] - expected[order[r]]) <= 1e-5, "image %d rank %d: score %g vs %g", i, r,
                  scores[r], expected[order[r]]);
        }
    }
    char caption[4096];
    CHECK_STATUS(bmc_index_get_text(bank, 100 + 3, caption, sizeof caption, NULL), BMC_OK);
    CHECK(strcmp(caption, "MRI") == 0, "the caption of line 3 is its text: '%s'", caption);
    bmc_index_free(bank);
}

/* The fixture images as a collection; each text finds the images in the reference's order. */
static void test_image_search(void)
{
    bmc_index *collection = NULL;
    size_t added = 0, skipped = 0;
    char images_dir[2048];
    snprintf(images_dir, sizeof images_dir, "%s/images", dir);
    CHECK_STATUS(bmc_index_create(dim, BMC_DTYPE_F32, &collection), BMC_OK);
    CHECK_STATUS(bmc_index_add_image_directory(collection, image_encoder, images_dir, 0, &added, &skipped),
                 BMC_OK);
    CHECK(added == (size_t)image_count && skipped == 0, "added %zu, skipped %zu", added, skipped);
    char texts[MAX_ITEMS][4096];
    FILE *file = fopen(path_of("texts.txt"), "r");
    for (int t = 0; file && t < text_count && fgets(texts[t], sizeof texts[t], file); t++)
        texts[t][strcspn(texts[t], "\n")] = '\0';
    if (file)
        fclose(file);
    for (int t = 0; t < text_count; t++) {
        int64_t ids[MAX_ITEMS];
        float scores[MAX_ITEMS];
        int order[MAX_ITEMS];
        double expected[MAX_ITEMS];
        CHECK_STATUS(bmc_index_search_text(collection, text_encoder, texts[t], image_count, ids, scores),
                     BMC_OK);
        reference_ranking(ref_texts + t * dim, ref_images, image_count, order, expected);
        for (int r = 0; r < image_count; r++) {
            char name[256] = "";
            bmc_index_get_text(collection, ids[r], name, sizeof name, NULL);
            CHECK(strcmp(name, image_names[order[r]] + strlen("images/")) == 0,
                  "text %d rank %d: %s, reference %s", t, r, name, image_names[order[r]]);
            CHECK(fabs(scores[r] - expected[order[r]]) <= 1e-5, "text %d rank %d: score %g vs %g", t, r,
                  scores[r], expected[order[r]]);
        }
    }
    bmc_index_free(collection);
}

/* Composed queries: the reference's image and text embeddings composed here in double
 * precision, q = unit((1 - w) unit(i) + w unit(t)); the library's composed search over the
 * fixture images must rank them as q does, with the reference cosines. */
static void test_composed_search(void)
{
    bmc_index *collection = NULL;
    char images_dir[2048], texts[4][4096];
    snprintf(images_dir, sizeof images_dir, "%s/images", dir);
    CHECK_STATUS(bmc_index_create(dim, BMC_DTYPE_F32, &collection), BMC_OK);
    CHECK_STATUS(bmc_index_add_image_directory(collection, image_encoder, images_dir, 0, NULL, NULL), BMC_OK);
    FILE *file = fopen(path_of("texts.txt"), "r");
    for (int t = 0; file && t < 4 && fgets(texts[t], sizeof texts[t], file); t++)
        texts[t][strcspn(texts[t], "\n")] = '\0';
    if (file)
        fclose(file);
    static const float weights[] = {0.0f, 0.25f, 0.5f, 1.0f};
    double worst_query = 0, worst_score = 0;
    for (int i = 0; i < image_count; i++) {
        bmc_image *image;
        if (bmc_image_load_file(path_of(image_names[i]), &image) != BMC_OK) {
            CHECK(0, "cannot load %s: %s", image_names[i], bmc_last_error());
            continue;
        }
        for (int t = 0; t < 4; t++)
            for (int w = 0; w < 4; w++) {
                double q[1024], norm = 0;
                for (int d = 0; d < dim; d++) {
                    q[d] = (1.0 - weights[w]) * ref_images[i * dim + d] + weights[w] * ref_texts[t * dim + d];
                    norm += q[d] * q[d];
                }
                float qf[1024], composed[1024];
                for (int d = 0; d < dim; d++)
                    qf[d] = (float)(q[d] /= sqrt(norm));
                /* bmc_compose_query on the reference embeddings is the restatement to float
                 * precision. */
                CHECK_STATUS(bmc_compose_query(ref_images + i * dim, ref_texts + t * dim, (size_t)dim,
                                               weights[w], composed), BMC_OK);
                for (int d = 0; d < dim; d++)
                    worst_query = fmax(worst_query, fabs(composed[d] - q[d]));
                int order[MAX_ITEMS];
                double expected[MAX_ITEMS];
                reference_ranking(qf, ref_images, image_count, order, expected);
                int64_t ids[MAX_ITEMS];
                float scores[MAX_ITEMS];
                CHECK_STATUS(bmc_index_search_composed(collection, image_encoder, text_encoder, image,
                                                       texts[t], weights[w], image_count, ids, scores),
                             BMC_OK);
                for (int r = 0; r < image_count; r++) {
                    char name[256] = "";
                    bmc_index_get_text(collection, ids[r], name, sizeof name, NULL);
                    int want = order[r];
                    /* Near-equal scores may swap between the reference and the library. */
                    int same = strcmp(name, image_names[want] + strlen("images/")) == 0 ||
                               fabs(scores[r] - expected[want]) <= 1e-5;
                    CHECK(same, "image %d text %d weight %g rank %d: %s, reference %s", i, t,
                          weights[w], r, name, image_names[want]);
                    worst_score = fmax(worst_score, fabs(scores[r] - expected[want]));
                }
            }
        bmc_image_free(image);
    }
    CHECK(worst_query <= 1e-6, "composed query vs restatement: %.3g", worst_query);
    CHECK(worst_score <= 1e-5, "composed search scores vs reference: %.3g", worst_score);
    printf("composed search: %d images x 4 texts x 4 weights, query error %.3g, score error %.3g\n",
           image_count, worst_query, worst_score);

    /* Bad input: a message, nothing written. */
    float a[1024], b[1024], out[1024];
    for (int d = 0; d < dim; d++) {
        a[d] = ref_images[d];
        b[d] = -a[d];
        out[d] = 7.0f;
    }
    CHECK_STATUS(bmc_compose_query(a, b, (size_t)dim, 0.5f, out), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "cancel") != NULL, "%s", bmc_last_error());
    CHECK_STATUS(bmc_compose_query(a, b, (size_t)dim, 0.25f, out), BMC_OK);
    CHECK_STATUS(bmc_compose_query(a, ref_texts, (size_t)dim, -0.01f, out), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_compose_query(a, ref_texts, (size_t)dim, 1.01f, out), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_compose_query(a, ref_texts, (size_t)dim, NAN, out), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_compose_query(a, ref_texts, 0, 0.5f, out), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_compose_query(NULL, ref_texts, (size_t)dim, 0.5f, out), BMC_ERR_INVALID_ARGUMENT);
    memset(b, 0, sizeof b);
    for (int d = 0; d < dim; d++)
        out[d] = 7.0f;
    CHECK_STATUS(bmc_compose_query(a, b, (size_t)dim, 0.5f, out), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "text embedding is zero") != NULL, "%s", bmc_last_error());
    b[0] = NAN;
    CHECK_STATUS(bmc_compose_query(b, a, (size_t)dim, 0.5f, out), BMC_ERR_INVALID_ARGUMENT);
    CHECK(out[0] == 7.0f, "nothing written on error");

    bmc_image *image = NULL;
    bmc_index *wrong_dim = NULL;
    int64_t ids[2];
    bmc_image_load_file(path_of(image_names[0]), &image);
    bmc_index_create(dim + 1, BMC_DTYPE_F32, &wrong_dim);
    CHECK_STATUS(bmc_index_search_composed(wrong_dim, image_encoder, text_encoder, image, "x", 0.5f, 1, ids,
                                           NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search_composed(collection, image_encoder, text_encoder, image, "x", 2.0f, 1, ids,
                                           NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search_composed(collection, image_encoder, text_encoder, image, NULL, 0.5f, 1, ids,
                                           NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search_composed(collection, image_encoder, text_encoder, image, "x", 0.5f, 0, ids,
                                           NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search_composed(collection, image_encoder, text_encoder, image, "x", 0.5f, 2, ids,
                                           NULL), BMC_OK);
    bmc_index_free(wrong_dim);
    bmc_image_free(image);
    bmc_index_free(collection);
}

static void write_file(const char *path, const char *content)
{
    FILE *file = fopen(path, "wb");
    if (file) {
        fwrite(content, 1, strlen(content), file);
        fclose(file);
    }
}

static void test_files_and_errors(void)
{
    char folder[] = "/tmp/bmc-retrieval-XXXXXX";
    CHECK(mkdtemp(folder) != NULL, "temp folder");
    char captions[4096], bad[4096], junk[4096], good[4096];
    snprintf(captions, sizeof captions, "%s/captions.txt", folder);
    snprintf(bad, sizeof bad, "%s/bad.txt", folder);
    snprintf(junk, sizeof junk, "%s/junk.png", folder);
    snprintf(good, sizeof good, "%s/a.PNG", folder);
    write_file(captions, "first\r\n\nthird line\r\nfourth");
    write_file(bad, "fine\nalso fine\nbroken \xc3\x28 here\n");
    write_file(junk, "not a png at all");
    write_file(good, "");

    bmc_index *bank = NULL, *wrong_dim = NULL;
    size_t added = 99, skipped = 99;
    bmc_index_create(dim, BMC_DTYPE_F32, &bank);
    CHECK_STATUS(bmc_index_add_text_file(bank, text_encoder, captions, 0, &added), BMC_OK);
    CHECK(added == 3 && bmc_index_count(bank) == 3, "three non-empty lines, got %zu", added);
    char text[64];
    CHECK_STATUS(bmc_index_get_text(bank, 2, text, sizeof text, NULL), BMC_OK);
    CHECK(strcmp(text, "third line") == 0, "id = line number, CR dropped: '%s'", text);
    CHECK_STATUS(bmc_index_get_text(bank, 1, text, sizeof text, NULL), BMC_ERR_NOT_FOUND);
    CHECK_STATUS(bmc_index_add_text_file(bank, text_encoder, bad, 0, &added), BMC_ERR_INVALID_UTF8);
    CHECK(strstr(bmc_last_error(), "line 3") != NULL, "names the line: %s", bmc_last_error());
    CHECK_STATUS(bmc_index_add_text_file(bank, text_encoder, "/nonexistent/captions.txt", 0, NULL),
                 BMC_ERR_IO);

    /* A folder with one undecodable file and one empty one: both skipped, not fatal. */
    CHECK_STATUS(bmc_index_add_image_directory(bank, image_encoder, folder, 0, &added, &skipped), BMC_OK);
    CHECK(added == 0 && skipped == 2, "added %zu skipped %zu", added, skipped);
    CHECK_STATUS(bmc_index_add_image_directory(bank, image_encoder, "/nonexistent", 0, NULL, NULL),
                 BMC_ERR_IO);

    bmc_index_create(dim + 1, BMC_DTYPE_F32, &wrong_dim);
    CHECK_STATUS(bmc_index_add_text_file(wrong_dim, text_encoder, captions, 0, NULL),
                 BMC_ERR_INVALID_ARGUMENT);
    int64_t ids[2];
    CHECK_STATUS(bmc_index_search_text(wrong_dim, text_encoder, "x", 1, ids, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search_text(bank, text_encoder, NULL, 1, ids, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search_text(bank, text_encoder, "first", 0, ids, NULL), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_index_search_text(bank, text_encoder, "first", 2, ids, NULL), BMC_OK);
    CHECK(ids[0] == 0, "a caption finds itself first: %lld", (long long)ids[0]);
    bmc_index_free(bank);
    bmc_index_free(wrong_dim);
    unlink(captions);
    unlink(bad);
    unlink(junk);
    unlink(good);
    rmdir(folder);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/model", harness_fixtures());
    if (!read_manifest()) {
        CHECK(0, "model fixtures missing in %s", dir);
        return harness_summary("test_retrieval");
    }
    ref_images = read_floats("image_embeddings.f32", (size_t)image_count * dim);
    ref_texts = read_floats("text_embeddings_padded.f32", (size_t)text_count * dim);
    bmc_encoder_options options;
    bmc_encoder_options_init(&options);
    options.batch_size = 4;
    options.progress_fn = record_progress;
    CHECK_STATUS(bmc_model_load(path_of("model.bmc.pt"), NULL, &model), BMC_OK);
    if (model && ref_images && ref_texts) {
        CHECK_STATUS(bmc_text_encoder_create(model, &options, &text_encoder), BMC_OK);
        CHECK_STATUS(bmc_image_encoder_create(model, &options, &image_encoder), BMC_OK);
        RUN(test_captioning);
        RUN(test_image_search);
        RUN(test_composed_search);
        RUN(test_files_and_errors);
    }
    bmc_text_encoder_free(text_encoder);
    bmc_image_encoder_free(image_encoder);
    bmc_model_free(model);
    free(ref_images);
    free(ref_texts);
    return harness_summary("test_retrieval");
}
