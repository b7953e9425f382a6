/* SPDX-License-Identifier: MIT */
/* Linear probes through the C API: every bad training set refused with a message (one class,
 * a class without examples, NaN features, bad labels and options), the optimality of the
 * solution (the objective's gradient, restated here from its definition, vanishes), save and
 * load round trips, and damaged or mismatched probe files. Parity with scikit-learn is
 * tests/check_probe.sh. */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "biomedclip.h"
#include "harness.h"
#include "model/model.h"

#define N 60
#define DIM 8
#define K 3

/* Only the name, source and size of a model matter to a probe: a model without networks. */
static struct bmc_model fake_model = {.embed_dim = DIM, .name = "fake-model", .source = "seed 7"};
static float features[N * DIM];
static int32_t classes[N];
static const char *const labels[K] = {"liver", "kidney", "spleen"};

/* Deterministic features: three noisy clusters. */
static void make_data(void)
{
    uint32_t state = 12345;
    for (int i = 0; i < N; i++) {
        classes[i] = i % K;
        for (int d = 0; d < DIM; d++) {
            state = state * 1664525u + 1013904223u;
            float noise = (float)((state >> 8) & 0xffff) / 65536.0f - 0.5f;
            features[i * DIM + d] = noise + (d == classes[i] ? 1.0f : 0.0f);
        }
    }
}

static bmc_probe *train(double c)
{
    bmc_probe_options options;
    bmc_probe_options_init(&options);
    options.c = c;
    bmc_probe *probe = NULL;
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, classes, labels, K, &options, &probe), BMC_OK);
    return probe;
}

static void test_refusals(void)
{
    bmc_probe *probe = NULL;
    int32_t bad[N];
    memcpy(bad, classes, sizeof bad);
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, classes, labels, 1, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "at least two classes") != NULL, "one class: %s", bmc_last_error());
    for (int i = 0; i < N; i++)
        bad[i] = bad[i] == 2 ? 0 : bad[i];
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, bad, labels, K, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "'spleen' has no examples") != NULL, "empty class: %s", bmc_last_error());
    bad[5] = 3;
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, bad, labels, K, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "example 5") != NULL, "class out of range: %s", bmc_last_error());
    float nan_features[N * DIM];
    memcpy(nan_features, features, sizeof nan_features);
    nan_features[17 * DIM + 3] = NAN;
    CHECK_STATUS(bmc_probe_train(&fake_model, nan_features, N, classes, labels, K, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "embedding 17") != NULL, "NaN: %s", bmc_last_error());
    nan_features[17 * DIM + 3] = INFINITY;
    CHECK_STATUS(bmc_probe_train(&fake_model, nan_features, N, classes, labels, K, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    const char *twice[K] = {"liver", "kidney", "liver"}, *empty[K] = {"liver", "", "x"};
    const char *invalid[K] = {"liver", "kidney", "\xff"};
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, classes, twice, K, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, classes, empty, K, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, classes, invalid, K, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_probe_train(&fake_model, features, 0, classes, labels, K, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_probe_train(NULL, features, N, classes, labels, K, NULL, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, classes, labels, K, NULL, NULL), BMC_ERR_INVALID_ARGUMENT);
    bmc_probe_options options;
    double bad_c[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        bmc_probe_options_init(&options);
        options.c = bad_c[i];
        CHECK_STATUS(bmc_probe_train(&fake_model, features, N, classes, labels, K, &options, &probe), BMC_ERR_INVALID_ARGUMENT);
    }
    bmc_probe_options_init(&options);
    options.max_iterations = 0;
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, classes, labels, K, &options, &probe), BMC_ERR_INVALID_ARGUMENT);
    bmc_probe_options_init(&options);
    options.struct_size = 3;
    CHECK_STATUS(bmc_probe_train(&fake_model, features, N, classes, labels, K, &options, &probe), BMC_ERR_INVALID_ARGUMENT);
    CHECK(probe == NULL, "a refused call wrote its out-parameter");
}

/* The gradient of 0.5 ||W||^2 + c sum_i CE_i at the trained W, b, restated from the
 * definition: it must vanish at the minimum (relative to the loss gradient's scale). */
static void test_optimality(void)
{
    const double cs[] = {0.1, 1.0, 100.0};
    for (size_t t = 0; t < 3; t++) {
        bmc_probe *probe = train(cs[t]);
        if (!probe)
            return;
        float w[K * DIM], b[K], p[N * K];
        CHECK_STATUS(bmc_probe_weights(probe, w, K * DIM, b, K), BMC_OK);
        CHECK_STATUS(bmc_probe_probabilities(probe, features, N, p, N * K), BMC_OK);
        double gw[K * DIM], gb[K] = {0}, scale = 0.0, bias_sum = 0.0;
        for (int j = 0; j < K * DIM; j++)
            gw[j] = w[j];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < K; j++) {
                double r = cs[t] * (p[i * K + j] - (classes[i] == j));
                for (int d = 0; d < DIM; d++)
                    gw[j * DIM + d] += r * features[i * DIM + d];
                gb[j] += r;
                scale = fmax(scale, cs[t] * fabs(features[i * DIM]));
            }
        double worst = 0.0;
        for (int j = 0; j < K * DIM; j++)
            worst = fmax(worst, fabs(gw[j]));
        for (int j = 0; j < K; j++) {
            worst = fmax(worst, fabs(gb[j]));
            bias_sum += b[j];
        }
        /* float32 probabilities and weights bound how small the restated gradient can be. */
        CHECK(worst <= 1e-5 * fmax(1.0, scale * N), "C=%g: gradient %.3g at the solution", cs[t], worst);
        CHECK(fabs(bias_sum) < 1e-5, "C=%g: biases sum to %g", cs[t], bias_sum);
        int32_t converged = 0;
        CHECK_STATUS(bmc_probe_training(probe, NULL, NULL, &converged), BMC_OK);
        CHECK(converged == 1, "C=%g did not converge", cs[t]);
        bmc_probe_free(probe);
    }
}

static void test_round_trip(void)
{
    bmc_probe *probe = train(2.0), *loaded = NULL;
    if (!probe)
        return;
    char path[] = "/tmp/test_probe_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_STATUS(bmc_probe_save(probe, path), BMC_OK);
    CHECK_STATUS(bmc_probe_load(&fake_model, path, &loaded), BMC_OK);
    if (loaded) {
        float w1[K * DIM], w2[K * DIM], b1[K], b2[K], p1[N * K], p2[N * K];
        bmc_probe_weights(probe, w1, K * DIM, b1, K);
        bmc_probe_weights(loaded, w2, K * DIM, b2, K);
        CHECK(memcmp(w1, w2, sizeof w1) == 0 && memcmp(b1, b2, sizeof b1) == 0, "weights changed");
        bmc_probe_probabilities(probe, features, N, p1, N * K);
        bmc_probe_probabilities(loaded, features, N, p2, N * K);
        CHECK(memcmp(p1, p2, sizeof p1) == 0, "probabilities changed");
        CHECK(bmc_probe_label_count(loaded) == K && strcmp(bmc_probe_label(loaded, 2), "spleen") == 0,
              "labels changed");
        CHECK(bmc_probe_label(loaded, K) == NULL, "label out of range");
        CHECK(strcmp(bmc_probe_model_name(loaded), "fake-model") == 0 &&
              strcmp(bmc_probe_model_source(loaded), "seed 7") == 0 && bmc_probe_dim(loaded) == DIM,
              "model identity changed");
        double c = 0;
        CHECK_STATUS(bmc_probe_training(loaded, &c, NULL, NULL), BMC_OK);
        CHECK(c == 2.0, "c is %g", c);
    }
    bmc_probe_free(loaded);
    loaded = NULL;
    struct bmc_model other = fake_model;
    other.source = "seed 8";
    CHECK_STATUS(bmc_probe_load(&other, path, &loaded), BMC_ERR_MODEL);
    other = fake_model;
    other.embed_dim = DIM + 1;
    CHECK_STATUS(bmc_probe_load(&other, path, &loaded), BMC_ERR_MODEL);
    CHECK_STATUS(bmc_probe_load(NULL, path, &loaded), BMC_OK);
    bmc_probe_free(loaded);

    /* Damaged files: each byte flipped in turn (a sample of them) and every truncation. */
    FILE *f = fopen(path, "rb");
    unsigned char data[4096];
    size_t size = f ? fread(data, 1, sizeof data, f) : 0;
    if (f)
        fclose(f);
    int refused = 1;
    for (size_t cut = 0; cut < size; cut += 7) {
        f = fopen(path, "wb");
        fwrite(data, 1, cut, f);
        fclose(f);
        loaded = NULL;
        refused &= bmc_probe_load(NULL, path, &loaded) != BMC_OK && loaded == NULL;
    }
    CHECK(refused, "a truncated probe file loaded");
    refused = 1;
    for (size_t at = 0; at < size; at += 5) {
        data[at] ^= 0x40;
        f = fopen(path, "wb");
        fwrite(data, 1, size, f);
        fclose(f);
        data[at] ^= 0x40;
        loaded = NULL;
        refused &= bmc_probe_load(NULL, path, &loaded) != BMC_OK && loaded == NULL;
    }
    CHECK(refused, "a damaged probe file loaded");
    CHECK_STATUS(bmc_probe_load(NULL, "/nonexistent/x.bmcprobe", &loaded), BMC_ERR_IO);
    CHECK_STATUS(bmc_probe_save(probe, "/nonexistent/x.bmcprobe"), BMC_ERR_IO);
    unlink(path);

    float nan_row[DIM] = {NAN}, p[K];
    CHECK_STATUS(bmc_probe_probabilities(probe, nan_row, 1, p, K), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_probe_probabilities(probe, features, 2, p, K), BMC_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(bmc_probe_weights(probe, p, K, NULL, 0), BMC_ERR_BUFFER_TOO_SMALL);
    bmc_probe_free(probe);
    bmc_probe_free(NULL);
}

int main(void)
{
    make_data();
    RUN(test_refusals);
    RUN(test_optimality);
    RUN(test_round_trip);
    return harness_summary("test_probe");
}
