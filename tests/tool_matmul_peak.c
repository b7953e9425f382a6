/* SPDX-License-Identifier: MIT */
/* The matrix-product peak of the engine the library's CPU forward passes run on, for
 * tools/bench/bench_model.py's "peak" line.
 *
 *   tool_matmul_peak f32|bf16 [SIZE [REPEATS]]
 *
 * Prints "GFLOPS GFLOP/s" for the best of REPEATS (default 5) products of SIZE x SIZE matrices
 * (default 4096). The product is oneDNN's, on a right operand reordered once into oneDNN's own
 * layout, as shim/packed_linear.cpp runs the linear layers; libtorch's torch.mm would measure
 * OpenBLAS for float32, which the library no longer uses for its products, so a ratio against
 * it would flatter the library. Threads: oneDNN's OpenMP default (OMP_NUM_THREADS).
 * In a build without oneDNN (make ONEDNN=) it prints why and exits with status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef BMC_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define CHECK(call)                                                                  \
    do {                                                                             \
        dnnl_status_t status_ = (call);                                              \
        if (status_ != dnnl_success) {                                               \
            fprintf(stderr, "tool_matmul_peak: %s failed (%d)\n", #call, status_);   \
            return 1;                                                                \
        }                                                                            \
    } while (0)

/* Fills a buffer of `bytes` with small values of either type: for bfloat16 the upper halves of
 * float32 values in [-1, 1), so no denormal or infinity slows the product down. */
static void fill(void *data, size_t bytes, int bf16)
{
    unsigned seed = 1;
    if (bf16) {
        unsigned short *p = data;
        for (size_t i = 0; i < bytes / 2; i++) {
            seed = seed * 1103515245u + 12345u;
            float f = (float)((seed >> 16) & 0x7fff) / 16384.0f - 1.0f;
            unsigned u;
            memcpy(&u, &f, sizeof u);
            p[i] = (unsigned short)(u >> 16);
        }
    } else {
        float *p = data;
        for (size_t i = 0; i < bytes / 4; i++) {
            seed = seed * 1103515245u + 12345u;
            p[i] = (float)((seed >> 16) & 0x7fff) / 16384.0f - 1.0f;
        }
    }
}

static int run(int bf16, dnnl_dim_t n, int repeats)
{
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    dnnl_data_type_t type = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t dims = {n, n};
    /* Rows padded by a cache line, as shim/packed_linear.cpp pads row-major weights: rows a
     * power of two apart meet in the same cache sets (4096 x 4096 on AVX2's gemm:jit: 171
     * GFLOP/s, rows of 4,112: 183), which would understate the machine's limit. */
    dnnl_dims_t padded = {n + 64 / (bf16 ? 2 : 4), 1};
    dnnl_memory_desc_t a_md, b_plain_md, b_any_md, c_md;
    CHECK(dnnl_memory_desc_init_by_strides(&a_md, 2, dims, type, padded));
    CHECK(dnnl_memory_desc_init_by_strides(&b_plain_md, 2, dims, type, padded));
    CHECK(dnnl_memory_desc_init_by_tag(&b_any_md, 2, dims, type, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_strides(&c_md, 2, dims, type, padded));
    dnnl_matmul_desc_t desc;
    CHECK(dnnl_matmul_desc_init(&desc, &a_md, &b_any_md, NULL, &c_md));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL));
    const dnnl_memory_desc_t *b_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (b_md->format_kind == dnnl_blocked && b_md->format_desc.blocking.inner_nblks == 0) {
        dnnl_primitive_desc_destroy(pd); /* oneDNN keeps it row-major: the padded rows then */
        CHECK(dnnl_matmul_desc_init(&desc, &a_md, &b_plain_md, NULL, &c_md));
        CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL));
        b_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    }
    const char *impl = NULL;
    CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));

    dnnl_memory_t a, b_plain, b, c;
    CHECK(dnnl_memory_create(&a, &a_md, engine, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&b_plain, &b_plain_md, engine, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&b, b_md, engine, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&c, &c_md, engine, DNNL_MEMORY_ALLOCATE));
    void *handle;
    CHECK(dnnl_memory_get_data_handle(a, &handle));
    fill(handle, dnnl_memory_desc_get_size(&a_md), bf16);
    CHECK(dnnl_memory_get_data_handle(b_plain, &handle));
    fill(handle, dnnl_memory_desc_get_size(&b_plain_md), bf16);

    /* The weight is packed once, outside the timed products, as the library does at load. */
    dnnl_primitive_desc_t reorder_pd;
    dnnl_primitive_t reorder;
    CHECK(dnnl_reorder_primitive_desc_create(&reorder_pd, &b_plain_md, engine, b_md, engine, NULL));
    CHECK(dnnl_primitive_create(&reorder, reorder_pd));
    dnnl_exec_arg_t reorder_args[] = {{DNNL_ARG_FROM, b_plain}, {DNNL_ARG_TO, b}};
    CHECK(dnnl_primitive_execute(reorder, stream, 2, reorder_args));
    CHECK(dnnl_stream_wait(stream));

    dnnl_primitive_t product;
    CHECK(dnnl_primitive_create(&product, pd));
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
    CHECK(dnnl_primitive_execute(product, stream, 3, args)); /* warm-up: JIT, first touch */
    CHECK(dnnl_stream_wait(stream));
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        double start = now();
        CHECK(dnnl_primitive_execute(product, stream, 3, args));
        CHECK(dnnl_stream_wait(stream));
        double took = now() - start;
        if (took < best)
            best = took;
    }
    printf("%.1f GFLOP/s (oneDNN %s, %s)\n", 2.0 * n * n * n / best / 1e9, bf16 ? "bf16" : "f32", impl);

    dnnl_primitive_destroy(product);
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(reorder_pd);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(a);
    dnnl_memory_destroy(b_plain);
    dnnl_memory_destroy(b);
    dnnl_memory_destroy(c);
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
#endif

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4 || (strcmp(argv[1], "f32") != 0 && strcmp(argv[1], "bf16") != 0)) {
        fprintf(stderr, "usage: tool_matmul_peak f32|bf16 [SIZE [REPEATS]]\n");
        return 2;
    }
    long size = argc > 2 ? strtol(argv[2], NULL, 10) : 4096;
    int repeats = argc > 3 ? atoi(argv[3]) : 5;
    if (size < 1 || size > 65536 || repeats < 1) {
        fprintf(stderr, "tool_matmul_peak: SIZE must be 1 to 65536 and REPEATS at least 1\n");
        return 2;
    }
#ifdef BMC_HAVE_ONEDNN
    return run(strcmp(argv[1], "bf16") == 0, size, repeats);
#else
    fprintf(stderr, "tool_matmul_peak: built without oneDNN (make ONEDNN=)\n");
    return 2;
#endif
}
