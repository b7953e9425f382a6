# SPDX-License-Identifier: MIT
"""Embedding an archive on a Dask cluster into index shards, and searching them.

    from dask.distributed import Client
    from biomedclip import distributed

    client = Client("tcp://scheduler:8786")
    report = distributed.embed(client, "model.bmc.pt", ["/archive"], "/shared/archive-index")
    ids, scores = distributed.search(client, "/shared/archive-index/archive.bmcset", queries, 10)

or from a shell: ``python3 -m biomedclip.distributed embed --scheduler tcp://scheduler:8786
--model model.bmc.pt --out /shared/archive-index /archive``.

How the work is cut (docs/scale-out.md):

- The PNG and JPEG files are listed (folders recursively) and sorted once, on the client, and
  split into shards of ``shard_size`` consecutive files. File i of the list gets id i, so the
  shards hold disjoint, contiguous id ranges, and the set of shards is the single index built
  from the same list (docs/index-format.md, "Index sets").
- One task per shard: it embeds the shard's files with the model of its worker process (loaded
  once per process and kept, not once per task) and writes ``part-NNNNN.bmcidx`` atomically
  (bmc_index_save writes a temporary file and renames it), so a shard file either is complete
  or does not exist. A file that cannot be decoded is left out of its shard (its id is unused)
  and reported.
- A shard whose file already exists and holds its own files (ids of its range, with the file
  paths as texts) is complete: a re-run (after a stopped job, a lost worker, a crash of the
  client) embeds only the missing shards, and a shard from a list of files that has changed
  since (files added or removed before it shift its ids) is embedded again.
- The manifest (``archive.bmcset``) is written by the client at the end, after every shard.
- A task lost with its worker is run again elsewhere by Dask (the scheduler's
  ``allowed-failures``); its shard file is written by whichever run finishes, whole.

Workers need the library, this package and the model file at the same path, and the output
folder on storage they all share. Run them with one thread each (``--nthreads 1``; a worker
with several threads keeps one image encoder per thread) and as many processes as the machine
has cores to spare, or one per GPU with ``device="cuda"``.
"""
import argparse
import ctypes
import json
import os
import sys
import threading
import uuid
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .index import Index, IndexSet
from .model import Model
from .runtime import configure

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MANIFEST_NAME = "archive.bmcset"


def list_images(inputs: Sequence[str]) -> List[str]:
    """The PNG and JPEG files of `inputs` (files, and folders walked recursively), as absolute
    paths, sorted and without duplicates: the order that gives each file its id."""
    found = set()
    for item in inputs:
        item = os.path.abspath(os.fspath(item))
        if os.path.isdir(item):
            for folder, _, names in os.walk(item):
                for name in names:
                    if name.lower().endswith(IMAGE_SUFFIXES):
                        found.add(os.path.join(folder, name))
        elif os.path.isfile(item):
            found.add(item)
        else:
            raise FileNotFoundError("no such file or folder: %s" % item)
    return sorted(found)


def shard_name(number: int) -> str:
    return "part-%05d.bmcidx" % number


def plan(files: Sequence[str], shard_size: int) -> List[Tuple[int, int, List[str]]]:
    """(shard number, first id, files) for consecutive runs of `shard_size` files."""
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    return [(n, start, list(files[start:start + shard_size]))
            for n, start in enumerate(range(0, len(files), shard_size))]


# ---- on the workers ---------------------------------------------------------------------------

_models: Dict[Tuple[str, str, str], Model] = {}
_models_lock = threading.Lock()
_local = threading.local()
loads = 0  # models loaded by this process (the tests check that it is one per worker)


def _keep_freed_memory() -> None:
    """Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536 (to hand memory back to the
    system), and a fixed trim threshold also freezes glibc's mmap threshold at 128 KiB: every
    activation of a forward pass is then a fresh mapping, zeroed page by page at every batch
    (4.3 images/s instead of 16 on the benchmark's files). Give glibc back its thresholds for
    large blocks in this worker process; elsewhere (not glibc) nothing is done."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(-3, 32 << 20)   # M_MMAP_THRESHOLD: glibc's largest on 64-bit
    mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD


def _encoder(model_path: str, device: str, dtype: str, batch_size: int, threads: int = 0):
    """This process's model (loaded on first use, then kept for every later task) and this
    thread's image encoder for it. `threads` > 0 sets the process's intra-op threads before
    the first model is loaded (the library's default is one per physical core, which N worker
    processes on one machine would each take)."""
    global loads
    key = (model_path, device, dtype)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            if not _models:
                _keep_freed_memory()
                if threads > 0:
                    configure(cpu_threads=threads)
            model = _models[key] = Model(model_path, device=device, dtype=dtype)
            loads += 1
    encoders = getattr(_local, "encoders", None)
    if encoders is None:
        encoders = _local.encoders = {}
    if (key, batch_size) not in encoders:
        encoders[(key, batch_size)] = model.image_encoder(batch_size=batch_size)
    return model, encoders[(key, batch_size)]


def shard_complete(path: str, first_id: int, texts: Sequence[str]) -> bool:
    """Whether `path` holds a finished shard of these files: ids first_id .. first_id +
    len(texts) - 1 (some may be missing: undecodable files) with the file paths as texts.
    Shards are renamed into place when written, so a file that opens is whole; the ids and
    texts say it is this plan's shard, not one from a list of files that has changed since."""
    if not os.path.exists(path):
        return False
    try:
        index = Index.map(path, check_vectors=False)
    except Exception:  # a damaged or foreign file: embed the shard again
        return False
    with index:
        for entry_id in index.ids().tolist():
            position = entry_id - first_id
            if not 0 <= position < len(texts) or index.text(entry_id) != texts[position]:
                return False
    return True


def embed_shard(model_path: str, out_dir: str, number: int, first_id: int, files: Sequence[str],
                batch_size: int = 32, storage: str = "float32", device: str = "cpu",
                dtype: str = "float32", root: Optional[str] = None, threads: int = 0) -> dict:
    """One task: embed `files` (ids first_id, first_id + 1, ...) into out_dir/part-NNNNN.bmcidx,
    unless that shard is already complete. Entry texts are the paths relative to `root`.
    Returns {"shard", "path", "entries", "skipped" (undecodable files), "embedded" (False if
    the shard was already there)}."""
    path = os.path.join(out_dir, shard_name(number))
    report = {"shard": number, "path": path, "entries": 0, "skipped": [], "embedded": False}
    texts = [os.path.relpath(f, root) if root else f for f in files]
    if shard_complete(path, first_id, texts):
        with Index.map(path, check_vectors=False) as done:
            report["entries"] = len(done)
        return report
    model, encoder = _encoder(model_path, device, dtype, batch_size, threads)
    index = Index(model.embed_dim, storage)
    ids = np.arange(first_id, first_id + len(files), dtype=np.int64)
    try:
        embeddings = encoder.encode_files(files)
        keep = list(range(len(files)))
    except Exception:
        # One bad file fails the batch call: embed one by one, leaving out those that fail.
        rows, keep = [], []
        for i, f in enumerate(files):
            try:
                rows.append(encoder.encode_files([f])[0])
                keep.append(i)
            except Exception as error:  # reported, not fatal: one bad file of a million
                report["skipped"].append("%s: %s" % (f, error))
        embeddings = np.array(rows, np.float32).reshape(len(rows), model.embed_dim)
    if keep:
        index.add(embeddings, ids[keep], [texts[i] for i in keep])
    os.makedirs(out_dir, exist_ok=True)
    index.save(path)
    report.update(entries=len(index), embedded=True)
    index.close()
    return report


def _search_shards(paths: Sequence[str], queries: np.ndarray, k: int,
                   threads: int) -> Tuple[np.ndarray, np.ndarray]:
    with IndexSet(paths, check_vectors=False) as part:
        return part.search(queries, k, threads=threads)


# ---- on the client ----------------------------------------------------------------------------

def embed(client, model_path: str, inputs: Sequence[str], out_dir: str, shard_size: int = 1024,
          batch_size: int = 32, storage: str = "float32", device: str = "cpu",
          dtype: str = "float32", progress: bool = False, retries: int = 2,
          first_id: int = 0, threads: int = 0) -> dict:
    """Embed the images of `inputs` on the cluster of `client` into shards in `out_dir`, then
    write the manifest out_dir/archive.bmcset. File i of the sorted list gets id first_id + i.
    Shards already complete are kept. Entry texts are the paths relative to the common folder
    of the inputs. `progress` shows Dask's progress bar. Returns {"manifest", "files",
    "shards": [per-shard reports]}. `threads` > 0: intra-op threads of each worker process
    (give cores / worker processes where several share a machine); 0: the library's choice,
    one per physical core, right for one worker per machine or per GPU.

    For the set to equal, bit for bit, one index embedded in one process with the same batch
    size, make shard_size a multiple of batch_size (the batches then hold the same images)."""
    from dask.distributed import progress as show_progress, wait

    files = list_images(inputs)
    if not files:
        raise ValueError("no PNG or JPEG files in %s" % (list(inputs),))
    root = os.path.commonpath([os.path.dirname(f) for f in files])
    model_path, out_dir = os.path.abspath(model_path), os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    if first_id < 0:
        raise ValueError("first_id must not be negative")
    futures = [client.submit(embed_shard, model_path, out_dir, number, first_id + first, shard_files,
                             batch_size, storage, device, dtype, root, threads,
                             key="biomedclip-shard-%05d-%s" % (number, uuid.uuid4().hex),
                             retries=retries, pure=False)
               for number, first, shard_files in plan(files, shard_size)]
    if progress:
        show_progress(futures)
    wait(futures)
    reports = client.gather(futures)
    # Temporary files of saves cut short by a lost worker: every task is done, so none is live.
    for name in os.listdir(out_dir):
        if name.startswith("part-") and ".bmcidx.tmp-" in name:
            os.unlink(os.path.join(out_dir, name))
    shards = [os.path.basename(r["path"]) for r in reports]
    manifest = os.path.join(out_dir, MANIFEST_NAME)
    IndexSet.write_manifest(manifest, shards, check_vectors=False)
    return {"manifest": manifest, "files": len(files), "shards": reports}


def _manifest_shards(manifest: str) -> List[str]:
    """The shard paths a manifest names, resolved against its folder (read with the manifest
    format of docs/index-format.md; the workers' IndexSet checks the shards themselves)."""
    folder = os.path.dirname(os.path.abspath(manifest))
    paths = []
    with open(manifest, "rb") as f:
        for line in f.read().decode("utf-8").split("\n"):
            if line.startswith("shard "):
                name = line.split(" ", 4)[4]
                paths.append(name if os.path.isabs(name) else os.path.join(folder, name))
    return paths


def merge(results: Sequence[Tuple[np.ndarray, np.ndarray]], k: int) -> Tuple[np.ndarray, np.ndarray]:
    """Merge top-k results of consecutive groups of shards, given in shard order, into the
    top-k of all of them: a stable sort by score keeps equal scores in group order, then rank
    order, which is the order of one index holding every shard (docs/index-format.md)."""
    ids = np.concatenate([r[0] for r in results], axis=1)
    scores = np.concatenate([r[1] for r in results], axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(scores, order, axis=1)


def search(client, manifest: str, queries, k: int, groups: Optional[int] = None,
           threads: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Top-k over a set larger than one machine's memory: the manifest's shards are cut into
    `groups` consecutive runs (default: one per worker), each searched by a worker as an
    IndexSet, and the client merges the results. Equals IndexSet.open_manifest(manifest)
    .search(queries, k) (same ids, same scores, same tie order)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if queries.ndim == 1:
        queries = queries[None, :]
    paths = _manifest_shards(manifest)
    if groups is None:
        groups = max(1, len(client.scheduler_info()["workers"]))
    groups = max(1, min(groups, len(paths)))
    bounds = [len(paths) * g // groups for g in range(groups + 1)]
    futures = [client.submit(_search_shards, paths[bounds[g]:bounds[g + 1]], queries, k, threads,
                             pure=False)
               for g in range(groups)]
    return merge(client.gather(futures), k)


# ---- command line -----------------------------------------------------------------------------

def _client(address: str, workers: int):
    from dask.distributed import Client, LocalCluster
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
        return Client(cluster), cluster
    return Client(address), None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m biomedclip.distributed",
                                     description="Embed image archives into index shards on a "
                                                 "Dask cluster, and search them.")
    commands = parser.add_subparsers(dest="command", required=True)
    e = commands.add_parser("embed", help="embed the images of files and folders into shards")
    e.add_argument("inputs", nargs="+", help="image files and folders (walked recursively)")
    e.add_argument("--out", required=True, help="the shard folder, on storage every worker sees")
    e.add_argument("--shard-size", type=int, default=1024, help="files per shard (1024)")
    e.add_argument("--storage", default="float32", choices=("float32", "float16", "bfloat16"))
    e.add_argument("--threads", type=int, default=0,
                   help="intra-op threads per worker process (0: one per physical core; with "
                        "several CPU workers on a machine, give cores / workers)")
    e.add_argument("--first-id", type=int, default=0,
                   help="the id of the first file (0), e.g. to add a set of new files whose ids "
                        "follow another set's")
    s = commands.add_parser("search", help="search a manifest's shards with text queries")
    s.add_argument("--manifest", required=True)
    s.add_argument("--top", type=int, default=5)
    for p in (e, s):
        p.add_argument("--scheduler", required=True,
                       help="the scheduler's address (tcp://host:8786), or 'local' for a "
                            "LocalCluster on this machine")
        p.add_argument("--workers", type=int, default=2, help="workers of a 'local' cluster")
        p.add_argument("--model", required=True, help="the model bundle, at this path on "
                                                       "every worker")
        p.add_argument("--batch", type=int, default=32)
        p.add_argument("--device", default="cpu")
        p.add_argument("--dtype", default="float32")
    args = parser.parse_args(argv)
    client, cluster = _client(args.scheduler, args.workers)
    try:
        if args.command == "embed":
            report = embed(client, args.model, args.inputs, args.out, args.shard_size,
                           args.batch, args.storage, args.device, args.dtype, progress=True,
                           first_id=args.first_id, threads=args.threads)
            embedded = sum(r["embedded"] for r in report["shards"])
            skipped = [s for r in report["shards"] for s in r["skipped"]]
            print("\n%d files, %d shards (%d embedded now, %d already complete), %d skipped; "
                  "manifest %s" % (report["files"], len(report["shards"]), embedded,
                                   len(report["shards"]) - embedded, len(skipped),
                                   report["manifest"]))
            for line in skipped:
                print("skipped: " + line, file=sys.stderr)
        else:
            texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
            with Model(args.model, device=args.device, dtype=args.dtype) as model:
                queries = model.text_encoder(batch_size=args.batch).encode(texts)
            ids, scores = search(client, args.manifest, queries, args.top)
            with IndexSet.open_manifest(args.manifest, check_vectors=False) as index_set:
                for q, text in enumerate(texts):
                    results = [{"id": int(i), "score": float(sc), "text": index_set.text(int(i))}
                               for i, sc in zip(ids[q], scores[q]) if i >= 0]
                    print(json.dumps({"query": text, "results": results}, ensure_ascii=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return 0


if __name__ == "__main__":
    # Run the module's own copy: functions of __main__ would be pickled by value for the
    # workers (with this copy's locks), those of biomedclip.distributed by name.
    from biomedclip.distributed import main as module_main
    sys.exit(module_main())
