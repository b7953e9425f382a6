/* SPDX-License-Identifier: MIT */
/* CIDEr-D as coco-caption computes it (pycocoevalcap/cider/cider_scorer.py; Vedantam et al.
 * 2015): for n = 1..4, every sentence becomes a vector of tf-idf weights
 *     w(g) = tf(g) * (log N - log max(1, df(g))),
 * where N is the number of candidates (images) and df(g) the number of images whose
 * references contain g. Against each reference, per n:
 *     sim_n = sum over the candidate's g of min(w_c(g), w_r(g)) * w_r(g) / (|w_c| |w_r|)
 *             (the division only when both norms are non-zero)
 *           * e^(-delta^2 / (2 sigma^2)),  sigma = 6,
 * with delta the difference of the two sentences' lengths as coco-caption counts them: the
 * number of bigrams (words - 1). A candidate's score is 10 x the mean over n of sim_n summed
 * over its references and divided by their number; the corpus score is the mean. */
#include "captions/caption.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define ORDERS 4

/* One sentence as four weighted n-gram lists (sorted by id) with their norms. */
typedef struct vector {
    bmci_ngram_count *grams[ORDERS];
    double *weights[ORDERS];
    long size[ORDERS];
    double norm[ORDERS];
    long length; /* bigram count: coco-caption's sentence length */
} vector;

typedef struct context {
    bmci_intern table;
    double *df;       /* per n-gram id */
    size_t *seen_in;  /* the last image that counted toward df, plus one */
    size_t df_capacity;
    double log_images;
} context;

static int grow_df(context *ctx)
{
    size_t needed = ctx->table.count;
    if (needed <= ctx->df_capacity)
        return 1;
    size_t capacity = ctx->df_capacity ? ctx->df_capacity * 2 : 1024;
    while (capacity < needed)
        capacity *= 2;
    double *df = realloc(ctx->df, capacity * sizeof *df);
    if (df)
        ctx->df = df;
    size_t *seen = realloc(ctx->seen_in, capacity * sizeof *seen);
    if (seen)
        ctx->seen_in = seen;
    if (!df || !seen)
        return 0;
    memset(ctx->df + ctx->df_capacity, 0, (capacity - ctx->df_capacity) * sizeof *df);
    memset(ctx->seen_in + ctx->df_capacity, 0, (capacity - ctx->df_capacity) * sizeof *seen);
    ctx->df_capacity = capacity;
    return 1;
}

/* Count the n-grams of `s` into v (its arrays have room for s->length entries per order). */
static int count_grams(context *ctx, const bmci_sentence *s, vector *v)
{
    for (int n = 1; n <= ORDERS; n++) {
        v->size[n - 1] = bmci_ngram_counts(&ctx->table, s, n, v->grams[n - 1]);
        if (v->size[n - 1] < 0)
            return 0;
    }
    return grow_df(ctx);
}

static void weigh(const context *ctx, vector *v)
{
    v->length = 0;
    for (int n = 0; n < ORDERS; n++) {
        double sum = 0.0;
        for (long k = 0; k < v->size[n]; k++) {
            double df = ctx->df[v->grams[n][k].id];
            double w = (double)v->grams[n][k].count * (ctx->log_images - log(df > 1.0 ? df : 1.0));
            v->weights[n][k] = w;
            sum += w * w;
            if (n == 1)
                v->length += v->grams[n][k].count;
        }
        v->norm[n] = sqrt(sum);
    }
}

static void similarity(const vector *c, const vector *r, double sigma, double sim[ORDERS])
{
    double delta = (double)(c->length - r->length);
    double penalty = pow(M_E, -(delta * delta) / (2 * (sigma * sigma)));
    for (int n = 0; n < ORDERS; n++) {
        double value = 0.0;
        for (long a = 0, b = 0; a < c->size[n] && b < r->size[n];) { /* both sorted by id */
            if (c->grams[n][a].id < r->grams[n][b].id) {
                a++;
            } else if (c->grams[n][a].id > r->grams[n][b].id) {
                b++;
            } else {
                double wc = c->weights[n][a], wr = r->weights[n][b];
                value += (wc < wr ? wc : wr) * wr; /* clipping */
                a++;
                b++;
            }
        }
        if (c->norm[n] != 0.0 && r->norm[n] != 0.0)
            value /= c->norm[n] * r->norm[n];
        sim[n] = value * penalty;
    }
}

static int make_vector(vector *v, size_t room)
{
    memset(v, 0, sizeof *v);
    for (int n = 0; n < ORDERS; n++) {
        v->grams[n] = malloc(room * sizeof *v->grams[n]);
        v->weights[n] = malloc(room * sizeof *v->weights[n]);
        if (!v->grams[n] || !v->weights[n])
            return 0;
    }
    return 1;
}

static void free_vector(vector *v)
{
    for (int n = 0; n < ORDERS; n++) {
        free(v->grams[n]);
        free(v->weights[n]);
    }
}

bmc_status bmci_cider_d(const bmci_caption_corpus *corpus, const bmc_caption_options *options,
                        double *corpus_score, double *per_candidate)
{
    size_t references = corpus->first_reference[corpus->count], longest = 1;
    for (size_t i = 0; i < corpus->count; i++)
        if (corpus->candidates[i].length > longest)
            longest = corpus->candidates[i].length;
    for (size_t r = 0; r < references; r++)
        if (corpus->references[r].length > longest)
            longest = corpus->references[r].length;
    context ctx = {.log_images = log((double)corpus->count)};
    bmci_intern_init(&ctx.table);
    vector c, r;
    int ok = make_vector(&c, longest) & make_vector(&r, longest);

    /* Document frequency: each image counts once for every n-gram of its references. */
    for (size_t i = 0; ok && i < corpus->count; i++) {
        for (size_t j = corpus->first_reference[i]; ok && j < corpus->first_reference[i + 1]; j++) {
            ok = count_grams(&ctx, &corpus->references[j], &r);
            for (int n = 0; ok && n < ORDERS; n++) {
                for (long k = 0; k < r.size[n]; k++) {
                    int32_t id = r.grams[n][k].id;
                    if (ctx.seen_in[id] != i + 1) {
                        ctx.seen_in[id] = i + 1;
                        ctx.df[id] += 1.0;
                    }
                }
            }
        }
    }
    double sum = 0.0;
    for (size_t i = 0; ok && i < corpus->count; i++) {
        ok = count_grams(&ctx, &corpus->candidates[i], &c);
        if (!ok)
            break;
        weigh(&ctx, &c);
        double total[ORDERS] = {0};
        size_t first = corpus->first_reference[i], last = corpus->first_reference[i + 1];
        for (size_t j = first; ok && j < last; j++) {
            ok = count_grams(&ctx, &corpus->references[j], &r);
            if (!ok)
                break;
            weigh(&ctx, &r);
            double sim[ORDERS];
            similarity(&c, &r, options->cider_sigma, sim);
            for (int n = 0; n < ORDERS; n++)
                total[n] += sim[n];
        }
        double score = (((total[0] + total[1]) + total[2]) + total[3]) / ORDERS;
        score /= (double)(last - first);
        score *= 10.0;
        if (per_candidate)
            per_candidate[i] = score;
        sum += score;
    }
    free_vector(&c);
    free_vector(&r);
    bmci_intern_free(&ctx.table);
    free(ctx.df);
    free(ctx.seen_in);
    if (!ok)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
    *corpus_score = sum / (double)corpus->count;
    return BMC_OK;
}
