# SPDX-License-Identifier: MIT
"""biomedclip.distributed on a LocalCluster of worker processes: a few hundred images embedded
into shards rank as the index one process builds from the same files (and as numpy's ranking
of those embeddings), scores within float rounding; the cluster search equals the in-process IndexSet; a re-run after
an interruption embeds only the missing shards; a worker killed during the job costs a retried
task, not a wrong or missing shard."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import biomedclip
from conftest import MODEL_FIXTURES

try:
    from dask.distributed import Client, LocalCluster
except ImportError:  # tools/install-deps.sh installs Debian's python3-distributed
    pytest.fail("dask.distributed is missing (python3-distributed)", pytrace=False)

from biomedclip import distributed

IMAGES, SHARD, BATCH, WORKERS = 240, 32, 8, 3


@pytest.fixture(scope="module", autouse=True)
def restore_environment():
    """Starting a LocalCluster sets OMP_NUM_THREADS=1 (and more) in this process's environment
    for the workers it spawns, and leaves them: later tests that start programs (the C examples
    of test_identical.py) would run them with one thread and get other float roundings."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def model_path():
    path = os.path.join(MODEL_FIXTURES, "model.bmc.pt")
    if not os.path.exists(path):
        pytest.fail("missing fixture %s (run `make fixtures`)" % path)
    return path


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """IMAGES small PNG and JPEG files in nested folders, and one file that is not an image."""
    from PIL import Image
    root = tmp_path_factory.mktemp("archive")
    rng = np.random.default_rng(17)
    for i in range(IMAGES):
        folder = root / ("study-%02d" % (i % 7)) / ("series-%d" % (i % 2))
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (24 + i % 9, 30 + i % 5, 3), dtype=np.uint8)
        suffix = ".jpg" if i % 5 == 0 else ".png"
        Image.fromarray(pixels).save(folder / ("image-%03d%s" % (i, suffix)))
    (root / "study-00" / "notes.txt").write_text("not an image")
    return str(root)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local, Client(local) as client:
        yield client


@pytest.fixture(scope="module")
def reference(model_path, archive):
    """One process, the same files in the same order, the same batch size."""
    files = distributed.list_images([archive])
    assert len(files) == IMAGES
    with biomedclip.Model(model_path) as model:
        embeddings = model.image_encoder(batch_size=BATCH).encode_files(files)
        index = biomedclip.Index(model.embed_dim)
        index.add(embeddings, np.arange(IMAGES), [os.path.relpath(f, archive) for f in files])
    return index, embeddings


def queries(dim, n=13):
    return np.random.default_rng(3).standard_normal((n, dim)).astype(np.float32)


def same_search(index_set, index, dim):
    """The same ranking as the one-process index, scores within float rounding: Dask runs each
    worker with one BLAS/OpenMP thread (OMP_NUM_THREADS=1), this process may use more, and
    libtorch's sums then differ in the last bits. (That the set searches exactly as one index
    of the same vectors is tests/test_index_set.c's and test_index_set.py's job.)"""
    worst = 0.0
    for k in (1, 10, IMAGES + 4):
        got, want = index_set.search(queries(dim), k), index.search(queries(dim), k)
        assert np.array_equal(got[0], want[0])
        worst = max(worst, float(np.max(np.abs(got[1] - want[1]))))
    assert worst < 1e-5, worst
    return worst


def test_embed_equals_one_process(cluster, model_path, archive, reference, tmp_path):
    index, embeddings = reference
    report = distributed.embed(cluster, model_path, [archive], str(tmp_path), shard_size=SHARD,
                               batch_size=BATCH)
    assert report["files"] == IMAGES
    assert len(report["shards"]) == -(-IMAGES // SHARD)
    assert all(r["embedded"] and not r["skipped"] for r in report["shards"])
    with biomedclip.IndexSet.open_manifest(report["manifest"]) as index_set:
        assert len(index_set) == IMAGES and index_set.shard_count == len(report["shards"])
        same_search(index_set, index, index.dim)
        # numpy's ranking of the shards' own vectors
        q = queries(index.dim)
        vectors = np.stack([index_set.vector(i) for i in range(IMAGES)])
        q64 = q / np.linalg.norm(q.astype(np.float64), axis=1, keepdims=True)
        e64 = vectors / np.linalg.norm(vectors.astype(np.float64), axis=1, keepdims=True)
        scores = q64 @ e64.T
        ids, got = index_set.search(q, 10)
        assert np.max(np.abs(got - np.take_along_axis(scores, ids, axis=1))) < 1e-5
        assert np.array_equal(ids, np.argsort(-scores, axis=1, kind="stable")[:, :10])
        assert index_set.text(int(ids[0, 0])) == index.text(int(ids[0, 0]))
        # the cluster search (each worker a run of shards, merged here) is the same search
        for groups in (None, 2, len(report["shards"])):
            for k in (1, 10, IMAGES + 4):
                got = distributed.search(cluster, report["manifest"], q, k, groups=groups)
                want = index_set.search(q, k)
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    # the model was loaded once per worker process, not once per task
    loads = cluster.run(lambda: distributed.loads)
    assert all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1


def test_rerun_embeds_only_missing_shards(cluster, model_path, archive, reference, tmp_path):
    first = distributed.embed(cluster, model_path, [archive], str(tmp_path), shard_size=SHARD,
                              batch_size=BATCH)
    paths = [r["path"] for r in first["shards"]]
    # an interrupted job: some shards never written, one half-written temporary file, no manifest
    for p in paths[1:7:2]:
        os.unlink(p)
    with open(paths[1] + ".tmp-999-0", "wb") as f:
        f.write(b"BMCINDEX partial")
    os.unlink(first["manifest"])
    kept = {p: os.stat(p).st_mtime_ns for p in paths if os.path.exists(p)}
    # a shard is complete only with its own files: a changed list of files is embedded again
    texts = [os.path.relpath(f, archive) for f in distributed.list_images([archive])]
    assert distributed.shard_complete(paths[0], 0, texts[:SHARD])
    assert not distributed.shard_complete(paths[0], 0, texts[1:SHARD + 1])
    assert not distributed.shard_complete(paths[0], 0, texts[:SHARD // 2])
    assert not distributed.shard_complete(paths[1], SHARD, texts[SHARD:2 * SHARD])
    second = distributed.embed(cluster, model_path, [archive], str(tmp_path), shard_size=SHARD,
                               batch_size=BATCH)
    embedded = sorted(r["path"] for r in second["shards"] if r["embedded"])
    assert embedded == sorted(paths[1:7:2])
    assert all(os.stat(p).st_mtime_ns == t for p, t in kept.items())
    assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n]
    with biomedclip.IndexSet.open_manifest(second["manifest"]) as index_set:
        same_search(index_set, reference[0], reference[0].dim)


def test_killed_worker_costs_a_retry(model_path, archive, reference, tmp_path):
    # A cluster of its own: one of its workers is killed.
    with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local, Client(local) as client:
        pids = client.run(os.getpid)
        result = {}
        job = threading.Thread(target=lambda: result.update(distributed.embed(
            client, model_path, [archive], str(tmp_path), shard_size=SHARD // 2,
            batch_size=BATCH, threads=1)))
        job.start()
        victim = None
        deadline = time.time() + 120
        while victim is None and time.time() < deadline and job.is_alive():
            busy = [w for w, tasks in client.processing().items()
                    if any(str(t).startswith("biomedclip-shard") for t in tasks)]
            if busy:
                victim = busy[0]
                os.kill(pids[victim], signal.SIGKILL)  # a worker process this test started
            else:
                time.sleep(0.05)
        job.join(timeout=600)
        assert victim is not None, "the job ended before a worker could be killed"
        assert not job.is_alive() and result, "the job did not finish after the kill"
        assert victim not in client.run(os.getpid) or client.run(os.getpid)[victim] != pids[victim]
        assert len(result["shards"]) == -(-IMAGES // (SHARD // 2))
        # threads=1 reached the library of every worker that loaded the model
        configs = client.run(lambda: (distributed.loads,
                                      biomedclip.runtime_config()["cpu_threads"]))
        assert any(n for n, _ in configs.values())
        assert all(threads == 1 for n, threads in configs.values() if n)
        with biomedclip.IndexSet.open_manifest(result["manifest"]) as index_set:
            assert len(index_set) == IMAGES
            same_search(index_set, reference[0], reference[0].dim)


def test_command_line(model_path, archive, reference, tmp_path):
    """python3 -m biomedclip.distributed embed / search on a local cluster of two workers."""
    import json
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = tmp_path / "index"
    run = subprocess.run([sys.executable, "-m", "biomedclip.distributed", "embed", "--scheduler",
                          "local", "--workers", "2", "--model", model_path, "--out", str(out),
                          "--shard-size", "64", "--batch", str(BATCH), archive],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "240 files, 4 shards (4 embedded now, 0 already complete), 0 skipped" in run.stdout
    manifest = out / "archive.bmcset"
    texts = "a chest X-ray\nleft pleural effusion\n"
    run = subprocess.run([sys.executable, "-m", "biomedclip.distributed", "search", "--scheduler",
                          "local", "--workers", "2", "--model", model_path, "--manifest",
                          str(manifest), "--top", "4"], input=texts, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    with biomedclip.Model(model_path) as model, \
            biomedclip.IndexSet.open_manifest(manifest) as index_set:
        ids, scores = index_set.search(model.text_encoder().encode(texts.split("\n")[:2]), 4)
        assert [line["query"] for line in lines] == texts.split("\n")[:2]
        for q, line in enumerate(lines):
            assert [r["id"] for r in line["results"]] == ids[q].tolist()
            assert max(abs(r["score"] - s) for r, s in zip(line["results"], scores[q])) < 1e-5
            assert [r["text"] for r in line["results"]] == [index_set.text(int(i)) for i in ids[q]]
