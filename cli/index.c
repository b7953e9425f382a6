/* SPDX-License-Identifier: MIT */
/* biomedclip index build | search | info | manifest: embedding indexes for retrieval
 * (text-to-image search over an image archive, captioning by retrieval from a caption bank),
 * and index sets (several index files searched as one, named by a manifest). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_TOP 5

static void usage(void)
{
    printf("Usage: biomedclip index build --model BUNDLE --out FILE (IMAGE... | --texts)\n"
           "                              [--first-id N] [--storage f32|f16|bf16] [--device D]\n"
           "                              [--dtype T] [--batch N] [--fast-jpeg]\n"
           "       biomedclip index search --model BUNDLE (--index FILE... | --manifest SET)\n"
           "                               (IMAGE... | --texts) [--top K] [--device D] [--dtype T]\n"
           "                               [--batch N] [--fast-jpeg]\n"
           "       biomedclip index search --model BUNDLE (--index FILE... | --manifest SET)\n"
           "                               --image X --text T [--text-weight W] [--top K] ...\n"
           "       biomedclip index info (--index FILE... | --manifest SET)\n"
           "       biomedclip index manifest --out SET SHARD...\n"
           "\n"
           "build     embeds the images (entry text: the file name) or, with --texts, each line of\n"
           "          stdin (entry text: the line, e.g. a caption bank), and saves them as an index;\n"
           "          entry ids are N + the 0-based input positions\n"
           "search    embeds the query images, or with --texts each stdin line, and prints the K\n"
           "          closest entries of the index for each query as one JSON line:\n"
           "            {\"query\": \"...\", \"results\": [{\"id\": 3, \"score\": 0.41, \"text\": \"...\"}, ...]}\n"
           "          (score: cosine similarity; best first). Several --index files, or a manifest,\n"
           "          are searched as one index holding their entries in order.\n"
           "          With --image X --text T, one composed query (image + text -> image): the\n"
           "          normalised sum (1 - W) x image + W x text of their normalised embeddings,\n"
           "          printed as {\"query\": {\"image\": X, \"text\": T, \"text_weight\": W},\n"
           "          \"results\": [...]}\n"
           "info      prints the entry count, dimension and storage type (and the shard count of a set)\n"
           "manifest  writes the manifest of an index set: the SHARD files, named as the manifest\n"
           "          records them (relative to its folder, or absolute), with their checksums\n"
           "\n"
           "  --model BUNDLE      the model bundle (.bmc.pt)\n"
           "  --out FILE          the index file (build) or manifest (manifest) to write\n"
           "  --index FILE        an index file to read (memory-mapped); repeat it for an index set,\n"
           "                      whose files must hold distinct ids (see --first-id)\n"
           "  --manifest SET      the manifest of an index set (e.g. archive.bmcset)\n"
           "  --first-id N        build: the id of the first entry (default 0), so that shards\n"
           "                      built apart have distinct ids\n"
           "  --texts             entries or queries are the lines of stdin instead of images\n"
           "  --storage T         how build stores vectors: f32 (default), f16 or bf16 (half the size;\n"
           "                      bf16 searches fastest on CPUs with AVX512_BF16)\n"
           "  --top K             results per query (default %d)\n"
           "  --image X           search: the composed query's image (or one --pixels FILE)\n"
           "  --text T            search: the composed query's text\n"
           "  --text-weight W     search: the text's weight in the composed query, 0..1 (default 0.5)\n"
           "  --device D          cpu (default), cuda or cuda:N\n"
           "  --dtype T           f32 (default); f16 on CUDA; bf16 on CUDA and CPUs with AVX512_BF16/AMX\n"
           "  --batch N           items per forward pass (default 32)\n"
           "  --fast-jpeg         decode large JPEG files at 1/2, 1/4 or 1/8 scale, not below the\n"
           "                      model's input size: faster, not bit-exact (docs/performance.md)\n",
           DEFAULT_TOP);
    cli_pixel_usage();
}

/* The options of all three actions; each action checks the ones it needs. */
typedef struct index_args {
    const char *cmd;
    cli_model_args margs;
    cli_pixel_args pargs;
    const char *out, *index, *manifest, *storage, *top, *first_id;
    const char *image, *text, *text_weight; /* a composed query */
    int texts;
    cli_args args;
    bmc_pixels view;
    const char **indexes; /* every --index, in order */
    size_t index_count;
    int64_t first;        /* --first-id */
} index_args;

/* ---- build -------------------------------------------------------------------------------- */

/* Adds count embeddings with ids first.. and the given texts. */
static int add_entries(const char *cmd, bmc_index *index, int64_t first, size_t count,
                       const float *embeddings, const char *const *texts)
{
    int64_t *ids = malloc(count * sizeof *ids);
    if (!ids)
        return cli_error(cmd, "out of memory");
    for (size_t i = 0; i < count; i++)
        ids[i] = first + (int64_t)i;
    int rc = bmc_index_add(index, embeddings, count, ids, texts) == BMC_OK
                 ? CLI_OK : cli_library_error(cmd);
    free(ids);
    return rc;
}

typedef struct build_run {
    const char *cmd;
    bmc_index *index;
    const cli_input *inputs;
    int64_t first_id;
} build_run;

static int add_image_chunk(void *user_data, size_t first, size_t count, const float *embeddings)
{
    build_run *run = user_data;
    const char **texts = malloc(count * sizeof *texts);
    if (!texts)
        return cli_error(run->cmd, "out of memory");
    for (size_t i = 0; i < count; i++)
        texts[i] = run->inputs[first + i].path;
    int rc = add_entries(run->cmd, run->index, run->first_id + (int64_t)first, count, embeddings,
                         texts);
    free(texts);
    return rc;
}

static int fill_index(const index_args *ia, bmc_model *model, const bmc_encoder_options *eopts,
                      cli_progress *progress, bmc_index *index)
{
    if (ia->texts) {
        cli_lines lines;
        float *embeddings;
        int rc = cli_encode_stdin(ia->cmd, model, eopts, progress, 0, &lines, &embeddings);
        if (rc != CLI_OK)
            return rc;
        rc = add_entries(ia->cmd, index, ia->first, lines.count, embeddings,
                         (const char *const *)lines.text);
        free(embeddings);
        cli_lines_free(&lines);
        return rc;
    }
    bmc_image_encoder *encoder;
    if (bmc_image_encoder_create(model, eopts, &encoder) != BMC_OK)
        return cli_library_error(ia->cmd);
    build_run run = {ia->cmd, index, ia->args.inputs, ia->first};
    cli_encode_job job = {ia->args.inputs, ia->args.input_count, &ia->view,
                          (size_t)eopts->batch_size, bmc_model_embed_dim(model), 0, progress};
    int rc = cli_encode_inputs(ia->cmd, encoder, &job, add_image_chunk, &run);
    bmc_image_encoder_free(encoder);
    return rc;
}

static int build(const index_args *ia, bmc_model *model, const bmc_encoder_options *eopts,
                 cli_progress *progress)
{
    int32_t storage = BMC_DTYPE_F32;
    if (ia->storage && strcmp(ia->storage, "f16") == 0)
        storage = BMC_DTYPE_F16;
    else if (ia->storage && strcmp(ia->storage, "bf16") == 0)
        storage = BMC_DTYPE_BF16;
    else if (ia->storage && strcmp(ia->storage, "f32") != 0)
        return cli_usage_error(ia->cmd, "--storage must be f32, f16 or bf16, not '%s'", ia->storage);
    bmc_index *index;
    if (bmc_index_create(bmc_model_embed_dim(model), storage, &index) != BMC_OK)
        return cli_library_error(ia->cmd);
    int rc = fill_index(ia, model, eopts, progress, index);
    if (rc == CLI_OK && bmc_index_save(index, ia->out) != BMC_OK)
        rc = cli_library_error(ia->cmd);
    bmc_index_free(index);
    return rc;
}

/* ---- index sets --------------------------------------------------------------------------- */

/* What messages call the index or set: the manifest, or the first --index file. */
static const char *set_name(const index_args *ia)
{
    return ia->manifest ? ia->manifest : ia->indexes[0];
}

/* The --index files or the --manifest as one set (a single file is a set of one, which
 * searches as that index does). */
static int open_set(const index_args *ia, bmc_index_set **set)
{
    bmc_status status = ia->manifest ? bmc_index_set_open_manifest(ia->manifest, 0, set)
                                     : bmc_index_set_open(ia->indexes, ia->index_count, 0, set);
    return status == BMC_OK ? CLI_OK : cli_library_error(ia->cmd);
}

static int write_manifest(const index_args *ia)
{
    const char **shards = malloc(ia->args.input_count * sizeof *shards);
    if (!shards)
        return cli_error(ia->cmd, "out of memory");
    for (size_t i = 0; i < ia->args.input_count; i++)
        shards[i] = ia->args.inputs[i].path;
    int rc = bmc_index_set_write_manifest(ia->out, shards, ia->args.input_count, 0) == BMC_OK
                 ? CLI_OK : cli_library_error(ia->cmd);
    free(shards);
    return rc;
}

/* ---- search ------------------------------------------------------------------------------- */

typedef struct search_run {
    const char *cmd;
    const bmc_index_set *set;
    int32_t k;
    const char *const *queries; /* texts, or NULL for image inputs */
    const cli_input *inputs;
    int64_t *ids;               /* chunk x k */
    float *scores;
    char *text;                 /* an entry's text */
    size_t text_capacity;
} search_run;

/* The text of entry `id`, in run->text (grown as needed). */
static int entry_text(search_run *run, int64_t id)
{
    size_t needed, shard;
    if (bmc_index_set_find(run->set, id, &shard) != BMC_OK)
        return cli_library_error(run->cmd);
    const bmc_index *index = bmc_index_set_shard(run->set, shard);
    if (bmc_index_get_text(index, id, NULL, 0, &needed) != BMC_OK)
        return cli_library_error(run->cmd);
    if (needed > run->text_capacity) {
        char *grown = realloc(run->text, needed);
        if (!grown)
            return cli_error(run->cmd, "out of memory");
        run->text = grown;
        run->text_capacity = needed;
    }
    if (bmc_index_get_text(index, id, run->text, run->text_capacity, NULL) != BMC_OK)
        return cli_library_error(run->cmd);
    return CLI_OK;
}

static int print_query(search_run *run, const char *query, const int64_t *ids, const float *scores)
{
    fputs("{\"query\": ", stdout);
    cli_json_string(stdout, query);
    fputs(", \"results\": [", stdout);
    for (int32_t r = 0; r < run->k && ids[r] >= 0; r++) {
        if (entry_text(run, ids[r]) != CLI_OK)
            return CLI_FAIL;
        printf("%s{\"id\": %lld, \"score\": %.9g, \"text\": ", r ? ", " : "", (long long)ids[r],
               (double)scores[r]);
        cli_json_string(stdout, run->text);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
    return CLI_OK;
}

static int search_chunk(void *user_data, size_t first, size_t count, const float *embeddings)
{
    search_run *run = user_data;
    size_t k = (size_t)run->k;
    if (bmc_index_set_search(run->set, embeddings, count, run->k, NULL, run->ids, run->scores,
                             count * k) != BMC_OK)
        return cli_library_error(run->cmd);
    for (size_t i = 0; i < count; i++) {
        const char *query = run->queries ? run->queries[first + i] : run->inputs[first + i].path;
        if (print_query(run, query, run->ids + i * k, run->scores + i * k) != CLI_OK)
            return CLI_FAIL;
    }
    return fflush(stdout) == 0 ? CLI_OK : cli_error(run->cmd, "cannot write the results");
}

static int run_queries(const index_args *ia, bmc_model *model, const bmc_encoder_options *eopts,
                       cli_progress *progress, search_run *run)
{
    if (ia->texts) {
        cli_lines lines;
        float *embeddings;
        int rc = cli_encode_stdin(ia->cmd, model, eopts, progress, 0, &lines, &embeddings);
        if (rc != CLI_OK)
            return rc;
        run->queries = (const char *const *)lines.text;
        /* Search a chunk of queries at a time, like images, to bound the result buffers. */
        size_t chunk = (size_t)eopts->batch_size * CLI_CHUNK_BATCHES;
        size_t dim = (size_t)bmc_model_embed_dim(model);
        for (size_t first = 0; rc == CLI_OK && first < lines.count; first += chunk) {
            size_t count = lines.count - first < chunk ? lines.count - first : chunk;
            rc = search_chunk(run, first, count, embeddings + first * dim);
        }
        free(embeddings);
        cli_lines_free(&lines);
        return rc;
    }
    bmc_image_encoder *encoder;
    if (bmc_image_encoder_create(model, eopts, &encoder) != BMC_OK)
        return cli_library_error(ia->cmd);
    cli_encode_job job = {ia->args.inputs, ia->args.input_count, &ia->view,
                          (size_t)eopts->batch_size, bmc_model_embed_dim(model), 0, progress};
    int rc = cli_encode_inputs(ia->cmd, encoder, &job, search_chunk, run);
    bmc_image_encoder_free(encoder);
    return rc;
}

/* ---- composed queries --------------------------------------------------------------------- */

typedef struct composed_run {
    search_run *search;
    bmc_text_encoder *text_encoder;
    const char *image, *text;
    double text_weight; /* as given; the library takes it as a float */
    int32_t dim;
} composed_run;

/* Receives the one image's embedding: composes it with the text's and searches. */
static int search_composed_chunk(void *user_data, size_t first, size_t count, const float *embeddings)
{
    composed_run *c = user_data;
    search_run *run = c->search;
    size_t dim = (size_t)c->dim;
    float *text = malloc(2 * dim * sizeof *text), *query = text ? text + dim : NULL;
    int rc = CLI_OK;
    if (!text)
        rc = cli_error(run->cmd, "out of memory");
    else if (bmc_text_encoder_encode(c->text_encoder, &c->text, 1, 0, text, dim) != BMC_OK ||
             bmc_compose_query(embeddings, text, dim, (float)c->text_weight, query) != BMC_OK ||
             bmc_index_set_search(run->set, query, 1, run->k, NULL, run->ids, run->scores,
                                  (size_t)run->k) != BMC_OK)
        rc = cli_library_error(run->cmd);
    if (rc == CLI_OK) {
        fputs("{\"query\": {\"image\": ", stdout);
        cli_json_string(stdout, c->image);
        fputs(", \"text\": ", stdout);
        cli_json_string(stdout, c->text);
        printf(", \"text_weight\": %.9g}, \"results\": [", c->text_weight);
        for (int32_t r = 0; rc == CLI_OK && r < run->k && run->ids[r] >= 0; r++) {
            if ((rc = entry_text(run, run->ids[r])) != CLI_OK)
                break;
            printf("%s{\"id\": %lld, \"score\": %.9g, \"text\": ", r ? ", " : "",
                   (long long)run->ids[r], (double)run->scores[r]);
            cli_json_string(stdout, run->text);
            fputc('}', stdout);
        }
        if (rc == CLI_OK)
            fputs("]}\n", stdout);
    }
    free(text);
    (void)first;
    (void)count;
    return rc != CLI_OK ? rc : fflush(stdout) == 0 ? CLI_OK : cli_error(run->cmd, "cannot write the results");
}

/* One composed query: the image (--image, or the one --pixels input) and --text. */
static int run_composed(const index_args *ia, bmc_model *model, const bmc_encoder_options *eopts,
                        search_run *run)
{
    double weight = 0.5;
    int rc = cli_parse_double(ia->cmd, "--text-weight", ia->text_weight, 0.0, 1.0, &weight);
    if (rc != CLI_OK)
        return rc;
    cli_input input = {.path = ia->image};
    const cli_input *inputs = ia->image ? &input : ia->args.inputs;
    composed_run c = {run, NULL, inputs[0].path, ia->text, weight, bmc_model_embed_dim(model)};
    bmc_image_encoder *encoder = NULL;
    if (bmc_text_encoder_create(model, eopts, &c.text_encoder) != BMC_OK ||
        bmc_image_encoder_create(model, eopts, &encoder) != BMC_OK)
        rc = cli_library_error(ia->cmd);
    else {
        cli_encode_job job = {inputs, 1, &ia->view, (size_t)eopts->batch_size, c.dim, 0, NULL};
        rc = cli_encode_inputs(ia->cmd, encoder, &job, search_composed_chunk, &c);
    }
    bmc_image_encoder_free(encoder);
    bmc_text_encoder_free(c.text_encoder);
    return rc;
}

static int search(const index_args *ia, bmc_model *model, const bmc_encoder_options *eopts,
                  cli_progress *progress)
{
    int32_t top = DEFAULT_TOP;
    int rc = cli_parse_int(ia->cmd, "--top", ia->top, 1, 1000000, &top);
    if (rc != CLI_OK)
        return rc;
    bmc_index_set *set;
    if ((rc = open_set(ia, &set)) != CLI_OK)
        return rc;
    if (bmc_index_set_dim(set) != bmc_model_embed_dim(model)) {
        rc = cli_error(ia->cmd, "'%s' holds %d-dimensional vectors, but the model's embeddings "
                       "have %d", set_name(ia), (int)bmc_index_set_dim(set),
                       (int)bmc_model_embed_dim(model));
        bmc_index_set_free(set);
        return rc;
    }
    /* More results than entries would only be empty slots. */
    size_t entries = bmc_index_set_count(set);
    if (entries > 0 && (size_t)top > entries)
        top = (int32_t)entries;
    size_t chunk = (size_t)eopts->batch_size * CLI_CHUNK_BATCHES;
    search_run run = {ia->cmd, set, top, NULL, ia->args.inputs, NULL, NULL, NULL, 0};
    run.ids = malloc(chunk * (size_t)top * sizeof *run.ids);
    run.scores = malloc(chunk * (size_t)top * sizeof *run.scores);
    if (!run.ids || !run.scores)
        rc = cli_error(ia->cmd, "out of memory for %zu x %d results", chunk, (int)top);
    else if (ia->text)
        rc = run_composed(ia, model, eopts, &run);
    else
        rc = run_queries(ia, model, eopts, progress, &run);
    free(run.text);
    free(run.scores);
    free(run.ids);
    bmc_index_set_free(set);
    return rc;
}

/* ---- info --------------------------------------------------------------------------------- */

static int info(const index_args *ia)
{
    bmc_index_set *set;
    int rc = open_set(ia, &set);
    if (rc != CLI_OK)
        return rc;
    int32_t dtype = bmc_index_set_dtype(set);
    printf("entries %zu\ndim %d\nstorage %s\n", bmc_index_set_count(set),
           (int)bmc_index_set_dim(set),
           dtype == BMC_DTYPE_F16 ? "f16" : dtype == BMC_DTYPE_BF16 ? "bf16" : "f32");
    if (ia->manifest || ia->index_count > 1)
        printf("shards %zu\n", bmc_index_set_shard_count(set));
    bmc_index_set_free(set);
    return CLI_OK;
}

/* ---- the command -------------------------------------------------------------------------- */

/* Checks the options an action needs and that it is given no others. */
static int check_action(const index_args *ia, const char *action)
{
    int is_build = strcmp(action, "build") == 0, is_search = strcmp(action, "search") == 0;
    int is_manifest = strcmp(action, "manifest") == 0;
    const char *cmd = ia->cmd;
    if ((is_search || !is_build) && !is_manifest && (ia->index ? 1 : 0) + (ia->manifest ? 1 : 0) != 1)
        return cli_usage_error(cmd, "give --index FILE (one or more) or --manifest SET");
    if (ia->first_id && !is_build)
        return cli_usage_error(cmd, "only build takes --first-id");
    if (is_manifest) {
        if (!ia->out || ia->args.input_count == 0)
            return cli_usage_error(cmd, "give --out SET and the shard files");
        if (ia->margs.model || ia->index || ia->manifest || ia->texts || ia->storage || ia->top ||
            ia->image || ia->text || ia->text_weight)
            return cli_usage_error(cmd, "manifest takes only --out SET and the shard files");
        return CLI_OK;
    }
    if (!is_build && !is_search) { /* info */
        if (ia->margs.model || ia->out || ia->texts || ia->args.input_count || ia->image ||
            ia->text || ia->text_weight)
            return cli_usage_error(cmd, "info takes only --index FILE... or --manifest SET");
        return CLI_OK;
    }
    if (!ia->margs.model)
        return cli_usage_error(cmd, "--model BUNDLE is required");
    if (is_build && !ia->out)
        return cli_usage_error(cmd, "--out FILE is required");
    if (is_build && (ia->index || ia->manifest || ia->top))
        return cli_usage_error(cmd, "build takes --out, not --index, --manifest or --top");
    if (is_search && (ia->out || ia->storage))
        return cli_usage_error(cmd, "search takes --index or --manifest, not --out or --storage");
    if (is_build && (ia->image || ia->text || ia->text_weight))
        return cli_usage_error(cmd, "--image, --text and --text-weight are for search");
    if (ia->text_weight && !ia->text)
        return cli_usage_error(cmd, "--text-weight needs --text");
    if (ia->image && !ia->text)
        return cli_usage_error(cmd, "--image X needs --text T (a composed query); search images "
                               "alone by naming them");
    if (ia->text) {
        if (ia->texts)
            return cli_usage_error(cmd, "--text is one composed query; --texts reads queries from stdin");
        size_t raw = 0;
        for (size_t i = 0; i < ia->args.input_count; i++)
            raw += ia->args.inputs[i].raw != 0;
        if (ia->image ? ia->args.input_count != 0 : ia->args.input_count != 1 || raw != 1)
            return cli_usage_error(cmd, "a composed query takes one image: --image X, or one "
                                   "--pixels FILE");
        return CLI_OK;
    }
    if (ia->texts && ia->args.input_count)
        return cli_usage_error(cmd, "with --texts the inputs come from stdin, not from arguments");
    if (!ia->texts && ia->args.input_count == 0)
        return cli_usage_error(cmd, "give images, or --texts to read texts from stdin");
    return CLI_OK;
}

static int run_action(index_args *ia, const char *action)
{
    int rc = check_action(ia, action);
    if (rc != CLI_OK)
        return rc;
    if (strcmp(action, "info") == 0)
        return info(ia);
    if (strcmp(action, "manifest") == 0)
        return write_manifest(ia);
    if ((rc = cli_pixel_view(ia->cmd, &ia->pargs, &ia->args, &ia->view)) != CLI_OK)
        return rc;
    cli_progress progress = {ia->cmd, 0, ia->args.input_count};
    bmc_encoder_options eopts;
    bmc_model *model;
    if ((rc = cli_encoder_options(ia->cmd, &ia->margs, &progress, &eopts)) != CLI_OK ||
        (rc = cli_load_model(ia->cmd, &ia->margs, &model)) != CLI_OK)
        return rc;
    rc = strcmp(action, "build") == 0 ? build(ia, model, &eopts, &progress)
                                      : search(ia, model, &eopts, &progress);
    bmc_model_free(model);
    return rc;
}

/* Every --index given (cli_parse keeps only the last in ia->index), and --first-id. */
static int collect_indexes(index_args *ia)
{
    for (size_t i = 0; i < ia->args.value_count; i++) {
        if (strcmp(ia->args.values[i].name, "--index") != 0)
            continue;
        const char **grown = realloc(ia->indexes, (ia->index_count + 1) * sizeof *grown);
        if (!grown)
            return cli_error(ia->cmd, "out of memory");
        grown[ia->index_count++] = ia->args.values[i].value;
        ia->indexes = grown;
    }
    if (ia->first_id) {
        char *end;
        errno = 0;
        long long value = strtoll(ia->first_id, &end, 10);
        if (end == ia->first_id || *end != '\0' || errno != 0 || value < 0)
            return cli_usage_error(ia->cmd, "--first-id must be a non-negative integer, not '%s'",
                                   ia->first_id);
        ia->first = (int64_t)value;
    }
    return CLI_OK;
}

int cli_index(int argc, char **argv)
{
    static const char *const actions[] = {"build", "search", "info", "manifest"};
    static const char *const cmds[] = {"index build", "index search", "index info",
                                       "index manifest"};
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage();
        return CLI_OK;
    }
    size_t a = 0;
    while (a < 4 && (argc < 2 || strcmp(argv[1], actions[a]) != 0))
        a++;
    if (a == 4)
        return cli_usage_error("index", "expected build, search, info or manifest, not '%s'",
                               argc < 2 ? "" : argv[1]);
    index_args ia = {.cmd = cmds[a]};
    cli_option options[11 + CLI_MODEL_OPTION_COUNT + CLI_PIXEL_OPTION_COUNT] = {
        {"--fast-jpeg", NULL, &ia.margs.fast_jpeg, 0},
        {"--out", &ia.out, NULL, 0},
        {"--image", &ia.image, NULL, 0},
        {"--text", &ia.text, NULL, 0},
        {"--text-weight", &ia.text_weight, NULL, 0},
        {"--index", &ia.index, NULL, 0},
        {"--manifest", &ia.manifest, NULL, 0},
        {"--first-id", &ia.first_id, NULL, 0},
        {"--storage", &ia.storage, NULL, 0},
        {"--top", &ia.top, NULL, 0},
        {"--texts", NULL, &ia.texts, 0},
    };
    size_t option_count = 11;
    option_count += cli_model_options(&ia.margs, options + option_count);
    option_count += cli_pixel_options(&ia.pargs, options + option_count);
    int rc = cli_parse(ia.cmd, argc - 1, argv + 1, options, option_count, &ia.args);
    if (rc != CLI_OK)
        return rc;
    if (ia.args.help) {
        usage();
    } else if ((rc = collect_indexes(&ia)) == CLI_OK) {
        rc = run_action(&ia, actions[a]);
    }
    free(ia.indexes);
    cli_args_free(&ia.args);
    return rc;
}
