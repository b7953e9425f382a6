#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: libbiomedclip's exact index search against FAISS IndexFlatIP.

Both get the same L2-normalised float32 vectors (seeded random normal, 512-d by default) and
the same queries; the library is called through ctypes in this same process. For each size
it prints the time of one batch search (best of --repeat runs) single-threaded and on all
cores for the library's float32, float16 and bfloat16 storage and for FAISS, the ratios FAISS
time / library time (above 1: the library is faster), whether the float32 top-k ids agree
with FAISS (rows that differ are checked for near-ties in FAISS's scores), and the recall@k of
the float16 and bfloat16 indexes against the library's exact float32 search.

    BUILD=build /usr/bin/python3 -m tools.bench.bench_index [--sizes 100000,1000000] [--dim 512]
        [--queries 100] [--k 10] [--repeat 3]
"""
import argparse
import ctypes
import os
import sys
import time

import numpy as np

try:
    import faiss
except ImportError:  # the peer is optional for `make bench` on machines without it
    faiss = None

BMC_DTYPE_F32, BMC_DTYPE_F16, BMC_DTYPE_BF16 = 1, 2, 3
DTYPES = (("fp32", BMC_DTYPE_F32), ("fp16", BMC_DTYPE_F16), ("bf16", BMC_DTYPE_BF16))


class SearchOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("threads", ctypes.c_int32)]


def load_library(build):
    lib = ctypes.CDLL(os.path.join(build, "libbiomedclip.so"))
    lib.bmc_index_create.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p)]
    lib.bmc_index_add.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                  ctypes.c_void_p, ctypes.c_void_p]
    lib.bmc_index_search.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                     ctypes.c_int32, ctypes.POINTER(SearchOptions),
                                     ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.bmc_index_search_options_init.argtypes = [ctypes.POINTER(SearchOptions)]
    lib.bmc_index_free.argtypes = [ctypes.c_void_p]
    lib.bmc_last_error.restype = ctypes.c_char_p
    for name in ("bmc_index_create", "bmc_index_add", "bmc_index_search"):
        getattr(lib, name).restype = ctypes.c_int32
    return lib


def check(lib, status, what):
    if status != 0:
        sys.exit(f"{what} failed: {lib.bmc_last_error().decode()}")


class LibraryIndex:
    def __init__(self, lib, data, dtype):
        self.lib = lib
        self.handle = ctypes.c_void_p()
        check(lib, lib.bmc_index_create(data.shape[1], dtype, ctypes.byref(self.handle)), "create")
        ids = np.arange(len(data), dtype=np.int64)
        chunk = 65536  # add in pieces: same result, less temporary memory
        for start in range(0, len(data), chunk):
            part = np.ascontiguousarray(data[start:start + chunk])
            check(lib, lib.bmc_index_add(self.handle, part.ctypes.data, len(part),
                                         ids[start:].ctypes.data, None), "add")

    def search(self, queries, k, threads):
        options = SearchOptions()
        self.lib.bmc_index_search_options_init(ctypes.byref(options))
        options.threads = threads
        ids = np.empty((len(queries), k), dtype=np.int64)
        scores = np.empty((len(queries), k), dtype=np.float32)
        check(self.lib, self.lib.bmc_index_search(self.handle, queries.ctypes.data, len(queries), k,
                                                  ctypes.byref(options), ids.ctypes.data,
                                                  scores.ctypes.data, ids.size), "search")
        return scores, ids

    def close(self):
        self.lib.bmc_index_free(self.handle)


def set_faiss_threads(n):
    """FAISS's loops use OpenMP, but its matrix product runs in BLAS, which on Debian is
    OpenBLAS with its own thread pool: both must be set for a single-threaded run."""
    faiss.omp_set_num_threads(n)
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            ctypes.CDLL(name).openblas_set_num_threads(n)
        except (OSError, AttributeError):
            continue


def best_time(fn, repeat):
    """Best wall-clock time and best process CPU time over `repeat` runs, and the result.
    CPU time of a single-threaded run is robust against other processes on the machine."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    return best, best_cpu, result


def normalised(rng, rows, dim):
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    build = os.environ.get("BUILD", "build")
    lib = load_library(build)
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(f"index search: {args.queries} queries, k={args.k}, dim {args.dim}, "
          f"{cores} cores (load average {load:.1f}), best of {args.repeat}")
    if load > cores / 2:
        print("  note: the machine is busy; wall times are inflated and thread scaling (FAISS's\n"
              "  OpenMP especially) suffers; the single-thread CPU-time ratio is the robust one")
    if faiss is None:
        print("FAISS is not installed (Debian: python3-faiss): library times only")
    rng = np.random.default_rng(0)
    queries = normalised(rng, args.queries, args.dim)
    for size in (int(s) for s in args.sizes.split(",")):
        data = normalised(rng, size, args.dim)
        ours = {}  # name: (1-thread time, its cpu time, all-cores time, ids)
        exact_ids = exact_scores = None
        for name, dtype in DTYPES:
            index = LibraryIndex(lib, data, dtype)
            t1, c1, (scores, ids) = best_time(lambda: index.search(queries, args.k, 1), args.repeat)
            tn, _, (scores_n, ids_n) = best_time(lambda: index.search(queries, args.k, 0), args.repeat)
            index.close()
            same_threads = np.array_equal(ids, ids_n) and np.array_equal(scores, scores_n)
            if dtype == BMC_DTYPE_F32:
                exact_ids, exact_scores = ids, scores
                quality = ""
            else:
                recall = np.mean([len(np.intersect1d(ids[q], exact_ids[q])) / args.k
                                  for q in range(args.queries)])
                quality = f"; recall@{args.k} vs fp32 {recall:.4f}"
            ours[name] = (t1, c1, tn)
            print(f"  {size:>8} vectors  library {name}: 1 thread {t1 * 1e3:8.1f} ms (cpu {c1 * 1e3:.1f} ms), "
                  f"{cores} threads {tn * 1e3:8.1f} ms; threaded results identical: "
                  f"{'yes' if same_threads else 'NO'}{quality}")
        if faiss is not None:
            index = faiss.IndexFlatIP(args.dim)
            index.add(data)
            set_faiss_threads(1)
            f1, fc1, (their_scores, their_ids) = best_time(lambda: index.search(queries, args.k), args.repeat)
            set_faiss_threads(cores)
            fn, _, _ = best_time(lambda: index.search(queries, args.k), args.repeat)
            del index
            differ = [q for q in range(args.queries) if not np.array_equal(exact_ids[q], their_ids[q])]
            near_ties = sum(1 for q in differ if np.min(np.abs(np.diff(their_scores[q]))) < 1e-5)
            score_error = float(np.max(np.abs(exact_scores - their_scores)))
            print(f"  {size:>8} vectors  FAISS IndexFlatIP: 1 thread {f1 * 1e3:8.1f} ms (cpu {fc1 * 1e3:.1f} ms), "
                  f"{cores} threads {fn * 1e3:8.1f} ms; fp32 top-{args.k} ids identical for "
                  f"{args.queries - len(differ)}/{args.queries} queries ({near_ties} of the others "
                  f"near ties); max |score diff| {score_error:.2e}")
            # On small machines FAISS's OpenMP and OpenBLAS threads can oversubscribe the cores
            # and run slower than one thread; the fair all-cores ratio takes its better time.
            fbest = min(f1, fn)
            for name, (t1, c1, tn) in ours.items():
                print(f"  {size:>8} vectors  ratio FAISS/library {name} (above 1: library faster): "
                      f"1 thread {f1 / t1:.2f}x (cpu time {fc1 / c1:.2f}x), {cores} threads {fn / tn:.2f}x "
                      f"(against FAISS's best of 1 and {cores} threads {fbest / tn:.2f}x)")
        del data

if __name__ == "__main__":
    main()
