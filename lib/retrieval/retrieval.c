/* SPDX-License-Identifier: MIT */
/* Captioning by retrieval and text-to-image search: encoders feeding an embedding index. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/encoder.h"
#include "core/error.h"
#include "core/log.h"
#include "model/model.h"
#include "model/pipeline.h"
#include "core/utf8.h"

/* Texts are encoded this many at a time, bounding memory for any file; images go through the
 * file pipeline, which holds at most two batches. */
#define TEXT_CHUNK 1024

static bmc_status check_dims(const char *fn, const bmc_index *index, const bmc_model *model)
{
    if (bmc_index_dim(index) != model->embed_dim)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: the index holds %d-d vectors, the model makes %d-d",
                         fn, bmc_index_dim(index), model->embed_dim);
    return BMC_OK;
}

/* ---- caption banks ------------------------------------------------------------------------ */

/* The whole file as one NUL-terminated buffer. */
static bmc_status read_file(const char *path, char **out, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return bmci_fail(BMC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    char *data = NULL;
    size_t used = 0, capacity = 0;
    for (;;) {
        if (used + 65536 + 1 > capacity) {
            capacity = capacity ? capacity * 2 : 1 << 20;
            char *grown = realloc(data, capacity);
            if (!grown) {
                free(data);
                fclose(file);
                return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "'%s': out of memory", path);
            }
            data = grown;
        }
        size_t got = fread(data + used, 1, 65536, file);
        used += got;
        if (got < 65536)
            break;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        free(data);
        return bmci_fail(BMC_ERR_IO, "cannot read '%s'", path);
    }
    data[used] = '\0';
    *out = data;
    *size = used;
    return BMC_OK;
}

/* Splits `data` in place into lines (dropping "\r" before "\n"); line_numbers[i] is the
 * 0-based line of lines[i]. Empty lines are left out. Returns the number of lines. */
static size_t split_lines(char *data, size_t size, char **lines, size_t *line_numbers)
{
    size_t count = 0, number = 0;
    char *line = data, *end = data + size;
    while (line < end) {
        char *newline = memchr(line, '\n', (size_t)(end - line));
        char *stop = newline ? newline : end;
        if (stop > line && stop[-1] == '\r')
            stop[-1] = '\0';
        *stop = '\0';
        if (*line) {
            lines[count] = line;
            line_numbers[count++] = number;
        }
        number++;
        line = stop + 1;
    }
    return count;
}

static bmc_status check_utf8_lines(const char *path, char *const *lines, const size_t *numbers,
                                   size_t count)
{
    for (size_t i = 0; i < count; i++) {
        size_t length = strlen(lines[i]), bad = bmci_utf8_first_invalid(lines[i], length);
        if (bad < length)
            return bmci_fail(BMC_ERR_INVALID_UTF8, "'%s' line %zu: invalid UTF-8 at byte %zu", path,
                             numbers[i] + 1, bad);
    }
    return BMC_OK;
}

/* Encodes lines[0..count) in chunks and adds them with ids first_id + line number. */
static bmc_status add_lines(bmc_index *index, bmc_text_encoder *encoder, char *const *lines,
                            const size_t *numbers, size_t count, int64_t first_id, size_t *added)
{
    const size_t dim = (size_t)bmc_index_dim(index);
    float *embeddings = malloc(TEXT_CHUNK * dim * sizeof *embeddings);
    int64_t *ids = malloc(TEXT_CHUNK * sizeof *ids);
    bmc_status status = embeddings && ids ? BMC_OK
                                          : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "caption bank: out of memory");
    for (size_t start = 0; status == BMC_OK && start < count; start += TEXT_CHUNK) {
        size_t n = count - start < TEXT_CHUNK ? count - start : TEXT_CHUNK;
        status = bmci_text_encoder_encode_part(encoder, (const char *const *)lines + start, n, 0,
                                               embeddings, n * dim, start, count);
        for (size_t i = 0; i < n; i++)
            ids[i] = first_id + (int64_t)numbers[start + i];
        if (status == BMC_OK)
            status = bmc_index_add(index, embeddings, n, ids, (const char *const *)lines + start);
        if (status == BMC_OK)
            *added += n;
    }
    free(embeddings);
    free(ids);
    return status;
}

bmc_status bmc_index_add_text_file(bmc_index *index, bmc_text_encoder *encoder, const char *path,
                                   int64_t first_id, size_t *added)
{
    const char *fn = "bmc_index_add_text_file";
    if (!index || !encoder || !path)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    bmc_status status = check_dims(fn, index, bmci_text_encoder_model(encoder));
    char *data = NULL;
    size_t size = 0, count = 0, done = 0;
    if (status == BMC_OK)
        status = read_file(path, &data, &size);
    /* At most one line per byte plus one: the arrays are sized from the file. */
    char **lines = status == BMC_OK ? malloc((size / 2 + 2) * sizeof *lines) : NULL;
    size_t *numbers = status == BMC_OK ? malloc((size / 2 + 2) * sizeof *numbers) : NULL;
    if (status == BMC_OK && (!lines || !numbers))
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    if (status == BMC_OK) {
        count = split_lines(data, size, lines, numbers);
        status = check_utf8_lines(path, lines, numbers, count);
    }
    if (status == BMC_OK)
        status = add_lines(index, encoder, lines, numbers, count, first_id, &done);
    free(lines);
    free(numbers);
    free(data);
    if (added)
        *added = done;
    return status;
}

/* ---- image collections -------------------------------------------------------------------- */

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") ||
                   !strcasecmp(dot, ".dcm"));
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_strings(char **strings, size_t count)
{
    for (size_t i = 0; strings && i < count; i++)
        free(strings[i]);
    free(strings);
}

/* The image file names of a folder, sorted; *names is malloc'd with malloc'd entries. */
static bmc_status list_images(const char *directory, char ***names, size_t *count)
{
    DIR *dir = opendir(directory);
    if (!dir)
        return bmci_fail(BMC_ERR_IO, "cannot open the folder '%s': %s", directory, strerror(errno));
    char **list = NULL;
    size_t n = 0, capacity = 0;
    bmc_status status = BMC_OK;
    for (struct dirent *entry; status == BMC_OK && (entry = readdir(dir));) {
        if (!is_image_name(entry->d_name))
            continue;
        if (n == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            char **grown = realloc(list, capacity * sizeof *list);
            if (!grown)
                status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "'%s': out of memory", directory);
            else
                list = grown;
        }
        if (status == BMC_OK && !(list[n++] = strdup(entry->d_name)))
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "'%s': out of memory", directory);
    }
    closedir(dir);
    if (status != BMC_OK) {
        free_strings(list, n);
        return status;
    }
    if (n)
        qsort(list, n, sizeof *list, compare_names);
    *names = list;
    *count = n;
    return BMC_OK;
}

/* The folder's files as "directory/name" paths, malloc'd. */
static bmc_status join_paths(const char *directory, char *const *names, size_t count, char ***out)
{
    char **paths = calloc(count, sizeof *paths);
    bmc_status status = paths ? BMC_OK : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "'%s': out of memory", directory);
    for (size_t i = 0; status == BMC_OK && i < count; i++) {
        size_t size = strlen(directory) + 1 + strlen(names[i]) + 1;
        if (!(paths[i] = malloc(size)))
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "'%s': out of memory", directory);
        else
            snprintf(paths[i], size, "%s/%s", directory, names[i]);
    }
    if (status != BMC_OK) {
        free_strings(paths, count);
        return status;
    }
    *out = paths;
    return BMC_OK;
}

/* A folder being added: each finished batch of the file pipeline goes into the index. */
struct collection {
    bmc_index *index;
    char *const *names;
    char *const *paths;
    int64_t first_id;
    int64_t *ids;          /* one batch's ids and names */
    const char **texts;
    size_t added, skipped;
};

static bmc_status add_batch(void *user_data, const float *rows, const size_t *files, size_t count)
{
    struct collection *c = user_data;
    for (size_t i = 0; i < count; i++) {
        c->ids[i] = c->first_id + (int64_t)files[i];
        c->texts[i] = c->names[files[i]];
    }
    bmc_status status = bmc_index_add(c->index, rows, count, c->ids, c->texts);
    if (status == BMC_OK)
        c->added += count;
    return status;
}

static void skip_file(void *user_data, size_t file, const char *message)
{
    struct collection *c = user_data;
    bmci_log(BMC_LOG_WARN, "image collection: skipping '%s': %s", c->paths[file], message);
    c->skipped++;
}

bmc_status bmc_index_add_image_directory(bmc_index *index, bmc_image_encoder *encoder,
                                         const char *directory, int64_t first_id, size_t *added,
                                         size_t *skipped)
{
    const char *fn = "bmc_index_add_image_directory";
    if (!index || !encoder || !directory)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    bmc_status status = check_dims(fn, index, bmci_image_encoder_model(encoder));
    char **names = NULL, **paths = NULL;
    size_t count = 0;
    if (status == BMC_OK)
        status = list_images(directory, &names, &count);
    if (status == BMC_OK && count > 0)
        status = join_paths(directory, names, count, &paths);
    const size_t batch = bmci_image_encoder_batch_size(encoder);
    struct collection c = {index, names, paths, first_id, NULL, NULL, 0, 0};
    if (status == BMC_OK && count > 0) {
        c.ids = malloc(batch * sizeof *c.ids);
        c.texts = malloc(batch * sizeof *c.texts);
        if (!c.ids || !c.texts)
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    }
    if (status == BMC_OK && count > 0) {
        bmci_file_job job = {(const char *const *)paths, count, 0, add_batch, skip_file, &c};
        status = bmci_encode_files(encoder, &job);
    }
    free(c.ids);
    free(c.texts);
    free_strings(paths, count);
    free_strings(names, count);
    if (added)
        *added = c.added;
    if (skipped)
        *skipped = c.skipped;
    return status;
}

/* ---- queries ------------------------------------------------------------------------------ */

static bmc_status search_embedding(const bmc_index *index, const float *embedding, int32_t k,
                                   int64_t *ids, float *scores)
{
    bmc_index_search_options options;
    bmc_index_search_options_init(&options);
    return bmc_index_search(index, embedding, 1, k, &options, ids, scores, k > 0 ? (size_t)k : 0);
}

bmc_status bmc_index_search_image(const bmc_index *index, bmc_image_encoder *encoder,
                                  const bmc_image *image, int32_t k, int64_t *ids, float *scores)
{
    if (!index || !encoder || !image || !ids)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_search_image: NULL argument");
    const bmc_model *model = bmci_image_encoder_model(encoder);
    bmc_status status = check_dims("bmc_index_search_image", index, model);
    float *embedding = status == BMC_OK ? malloc((size_t)model->embed_dim * sizeof *embedding) : NULL;
    if (status == BMC_OK && !embedding)
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_index_search_image: out of memory");
    if (status == BMC_OK)
        status = bmc_image_encoder_encode(encoder, &image, 1, 0, embedding, (size_t)model->embed_dim);
    if (status == BMC_OK)
        status = search_embedding(index, embedding, k, ids, scores);
    free(embedding);
    return status;
}

bmc_status bmc_index_search_text(const bmc_index *index, bmc_text_encoder *encoder,
                                 const char *text, int32_t k, int64_t *ids, float *scores)
{
    if (!index || !encoder || !text || !ids)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_search_text: NULL argument");
    const bmc_model *model = bmci_text_encoder_model(encoder);
    bmc_status status = check_dims("bmc_index_search_text", index, model);
    float *embedding = status == BMC_OK ? malloc((size_t)model->embed_dim * sizeof *embedding) : NULL;
    if (status == BMC_OK && !embedding)
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_index_search_text: out of memory");
    if (status == BMC_OK)
        status = bmc_text_encoder_encode(encoder, &text, 1, 0, embedding, (size_t)model->embed_dim);
    if (status == BMC_OK)
        status = search_embedding(index, embedding, k, ids, scores);
    free(embedding);
    return status;
}
