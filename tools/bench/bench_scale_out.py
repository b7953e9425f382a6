#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: embedding on a Dask LocalCluster with 1, 2 and 4 workers, and the cost of an
exact search as the number of entries and of shards grows (docs/scale-out.md).

Embedding: the same files (make_images of bench_model: 256² to 2048×1536, half JPEG, half PNG)
through biomedclip.distributed.embed on a LocalCluster of N worker processes of one Dask
thread each. Every worker loads the model before the clock starts (a task per worker), so
the figure is the steady rate, files / wall time; the load time is printed beside it. Each
run writes a fresh shard folder. The machine's load average is printed before and after.

Search: seeded random unit vectors in float32 indexes, 100 queries, k = 10; one index of
`entries` rows searched as an IndexSet of 1, 8 or 64 equal shards (in one process, every
core), and a set of 1M entries searched on the cluster with `distributed.search`.

    BUILD=build BIOMEDCLIP_LIBRARY=build/libbiomedclip.so PYTHONPATH=bindings/python \\
        /usr/bin/python3 -m tools.bench.bench_scale_out MODEL [--files 96] [--workers 1,2,4]
        [--dtype bfloat16] [--entries 100000,1000000] [--shards 1,8,64]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

from biomedclip import distributed
from biomedclip.index import Index, IndexSet
from tools.bench.bench_model import make_images


def load_average() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


def _load_model(model_path: str, dtype: str, batch: int, threads: int) -> int:
    """Runs on each worker before the clock starts: this process's model and encoder."""
    distributed._encoder(model_path, "cpu", dtype, batch, threads)
    return os.getpid()


def embed_rate(model: str, folder: str, workers: int, dtype: str, batch: int, shard_size: int,
               threads: int, scratch: str) -> tuple:
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        start = time.perf_counter()
        client.run(_load_model, os.path.abspath(model), dtype, batch, threads)
        loaded = time.perf_counter() - start
        out = tempfile.mkdtemp(dir=scratch)
        start = time.perf_counter()
        report = distributed.embed(client, model, [folder], out, shard_size=shard_size,
                                   batch_size=batch, dtype=dtype, threads=threads)
        seconds = time.perf_counter() - start
        shutil.rmtree(out)
    return report["files"] / seconds, loaded


def unit_rows(rng, count: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((count, dim), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def write_shards(folder: str, vectors: np.ndarray, shards: int) -> list:
    paths = []
    bounds = np.linspace(0, len(vectors), shards + 1).astype(np.int64)
    for s in range(shards):
        part = Index(vectors.shape[1], "float32")
        part.add(vectors[bounds[s]:bounds[s + 1]], np.arange(bounds[s], bounds[s + 1]))
        path = os.path.join(folder, "part-%05d.bmcidx" % s)
        part.save(path)
        part.close()
        paths.append(path)
    return paths


def median_seconds(fn, repeat: int) -> float:
    fn()  # pages mapped, threads started
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_search(entries_list, shards_list, dim: int, queries: int, k: int, repeat: int,
                 cluster_workers: int, scratch: str) -> None:
    rng = np.random.default_rng(0)
    query = unit_rows(rng, queries, dim)
    print("\nexact search, %d queries, k=%d, dim %d, float32, all cores; ms per batch (ms per "
          "query per million entries)" % (queries, k, dim))
    for entries in entries_list:
        vectors = unit_rows(rng, entries, dim)
        for shards in shards_list:
            folder = tempfile.mkdtemp(dir=scratch)
            paths = write_shards(folder, vectors, shards)
            with IndexSet(paths, check_vectors=False) as index_set:
                seconds = median_seconds(lambda: index_set.search(query, k), repeat)
            print("  %8d entries, %3d shards, one process: %8.1f ms (%.3f)"
                  % (entries, shards, seconds * 1e3, seconds * 1e3 / queries / (entries / 1e6)))
            if cluster_workers and shards == max(shards_list) and entries == max(entries_list):
                IndexSet.write_manifest(os.path.join(folder, "set.bmcset"), paths,
                                        check_vectors=False)
                cluster_search(os.path.join(folder, "set.bmcset"), query, k, repeat,
                               cluster_workers, entries, shards)
            shutil.rmtree(folder)
        del vectors


def cluster_search(manifest: str, query: np.ndarray, k: int, repeat: int, workers: int,
                   entries: int, shards: int) -> None:
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        seconds = median_seconds(lambda: distributed.search(client, manifest, query, k), repeat)
    print("  %8d entries, %3d shards, %d Dask workers: %8.1f ms (%.3f)"
          % (entries, shards, workers, seconds * 1e3,
             seconds * 1e3 / len(query) / (entries / 1e6)))


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--files", type=int, default=96)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--shard-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=-1,
                        help="intra-op threads per worker; -1 (default): cores / workers, "
                             "0: the library's own choice")
    parser.add_argument("--entries", default="100000,1000000")
    parser.add_argument("--shards", default="1,8,64")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-embed", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    scratch = tempfile.mkdtemp(prefix="bmc-scale-")
    try:
        print("scale-out: %d cores, load average %s" % (cores, load_average()))
        if not args.skip_embed:
            folder = os.path.join(scratch, "files")
            os.makedirs(folder)
            make_images(folder, args.files)
            print("embedding %d files (%s, batch %d, shards of %d files) on a LocalCluster"
                  % (args.files, args.dtype, args.batch, args.shard_size))
            base = None
            for workers in [int(w) for w in args.workers.split(",")]:
                threads = max(1, cores // workers) if args.threads < 0 else args.threads
                rate, loaded = embed_rate(args.model, folder, workers, args.dtype, args.batch,
                                          args.shard_size, threads, scratch)
                base = base or rate
                print("  %d workers x %s threads: %6.2f images/s (%.2fx 1 worker; model loads "
                      "%.1f s), load average %s"
                      % (workers, threads or "library's", rate, rate / base, loaded,
                         load_average()))
        if not args.skip_search:
            bench_search([int(e) for e in args.entries.split(",")],
                         [int(s) for s in args.shards.split(",")], 512, args.queries, 10,
                         args.repeat, 2, scratch)
        print("load average at the end %s" % load_average())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
