#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`make bench`: the Orthanc plugin (bindings/orthanc) against the CLI on the same model.

    BUILD=build /usr/bin/python3 -m tools.bench.bench_orthanc BUILD MODEL

1. Indexing rate: SAMPLE synthetic CT-like DICOM files (pydicom, 512 x 512, 16-bit, with a
   window) are stored in Orthanc while the plugin is not loaded; Orthanc then starts with the
   plugin, and the time from "ready" to a drained queue (fetch, decode, embed in batches, add)
   gives instances per second. The peer: `biomedclip embed-image` with the same batch size on
   the same files, its start-up (the run on one file) subtracted.
2. Search latency: the remaining files (64 x 64 slices) are uploaded until Orthanc holds
   INSTANCES instances, all indexed; then /biomedclip/search is timed over HTTP (median and 95th percentile of 50
   queries) at the instance and study levels.

BMC_ORTHANC_BENCH_INSTANCES (default 10000) and BMC_ORTHANC_BENCH_SAMPLE (default 500) set
the sizes, BMC_ORTHANC_BENCH_DTYPE (f32 by default) the dtype of both. Orthanc runs as in
tests/check_orthanc.sh, on a free loopback port, and is stopped whatever happens.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tools.checks.orthanc_server import Orthanc, orthanc_binary, upload

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
QUERIES = ["a CT scan of the liver", "a chest radiograph with pleural effusion",
           "an MRI of the brain", "a kidney lesion", "normal lungs"]


def write_ct(path, rng, study, series, number, size):
    """One synthetic CT slice of size x size: discs in Hounsfield units, a soft-tissue
    window."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.PatientID, ds.PatientName, ds.Modality = "BENCH%04d" % (number // 100), "Bench^Patient", "CT"
    ds.InstanceNumber = number
    y, x = np.mgrid[0:size, 0:size]
    image = np.full((size, size), -1000.0)
    for _ in range(6):
        cy, cx = rng.uniform(0.2, 0.8, 2) * size
        r = rng.uniform(0.04, 0.25) * size
        image[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(-100, 300)
    image += rng.normal(0, 20, image.shape)
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = np.clip(image + 1024, -32768, 32767).astype("<i2").tobytes()
    ds.save_as(path, write_like_original=False)


def make_files(folder, count, sample, rng):
    paths = []
    study, series = generate_uid(), generate_uid()
    for i in range(count):
        if i % 100 == 0:  # studies of one series of 100 slices
            study, series = generate_uid(), generate_uid()
        path = os.path.join(folder, "ct%05d.dcm" % i)
        # The rate is measured on CT-sized slices; the rest only fill the index, small so
        # that 10,000 of them stay small on disk.
        write_ct(path, rng, study, series, i, 512 if i < sample else 64)
        paths.append(path)
    return paths


def cli_seconds(cli, model, paths, batch, dtype, out):
    start = time.perf_counter()
    subprocess.run([cli, "embed-image", "--model", model, "--batch", str(batch), "--dtype", dtype,
                    "--out", out] + paths, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    build, model = sys.argv[1], os.path.abspath(sys.argv[2])
    plugin = os.path.abspath(os.path.join(build, "orthanc", "libOrthancBiomedClip.so"))
    cli = os.path.join(build, "biomedclip")
    if not os.path.exists(orthanc_binary()) or not os.path.exists(plugin):
        print("orthanc bench: skipped (no Orthanc, or the plugin was not built)")
        return 0
    total = int(os.environ.get("BMC_ORTHANC_BENCH_INSTANCES", "10000"))
    sample = min(int(os.environ.get("BMC_ORTHANC_BENCH_SAMPLE", "500")), total)
    batch = 16
    dtype = os.environ.get("BMC_ORTHANC_BENCH_DTYPE", "f32")
    work = tempfile.mkdtemp(prefix="bmc-orthanc-bench-")
    orthanc = Orthanc(work, plugin)
    section = {"Model": model, "DataDirectory": os.path.join(work, "biomedclip"),
               "BatchSize": batch, "SaveInterval": 30, "Dtype": dtype}
    try:
        print("orthanc bench: writing %d DICOM files" % total)
        folder = os.path.join(work, "files")
        os.makedirs(folder)
        files = make_files(folder, total, sample, np.random.default_rng(0))

        # ---- 1. indexing rate, Orthanc against the CLI ---------------------------------------
        orthanc.start(None, with_plugin=False)
        for path in files[:sample]:
            upload(orthanc, path)
        orthanc.stop()
        orthanc.start(section)
        orthanc.wait_state({"ready"}, timeout=600)
        start = time.perf_counter()
        status = orthanc.wait_drained(timeout=24 * 3600)
        plugin_seconds = time.perf_counter() - start
        assert status["IndexedInstances"] == sample, status
        out = os.path.join(work, "cli.npy")
        one = cli_seconds(cli, model, files[:1], batch, dtype, out)
        many = cli_seconds(cli, model, files[:sample], batch, dtype, out)
        plugin_rate = sample / plugin_seconds
        cli_rate = (sample - 1) / max(many - one, 1e-9)
        print("orthanc bench: indexing %d instances (%s): plugin in Orthanc %.1f/s, CLI %.1f/s "
              "(ratio %.2f), load average %.2f" % (sample, dtype, plugin_rate, cli_rate,
                                                   plugin_rate / cli_rate, os.getloadavg()[0]))

        # ---- 2. search latency on the full index ------------------------------------------
        start = time.perf_counter()
        for path in files[sample:]:
            upload(orthanc, path)
        status = orthanc.wait_drained(timeout=24 * 3600)
        print("orthanc bench: %d more uploaded and indexed in %.0f s (%d instances indexed)" %
              (total - sample, time.perf_counter() - start, status["IndexedInstances"]))
        for level in ("instance", "study"):
            times = []
            for i in range(50):
                begin = time.perf_counter()
                orthanc.get_json("/biomedclip/search", q=QUERIES[i % len(QUERIES)], limit=10,
                                 level=level)
                times.append(time.perf_counter() - begin)
            times.sort()
            print("orthanc bench: search over %d instances, level=%s: median %.1f ms, "
                  "p95 %.1f ms (HTTP, text tower and index)" %
                  (status["IndexedInstances"], level, 1e3 * statistics.median(times),
                   1e3 * times[int(0.95 * len(times)) - 1]))
    finally:
        orthanc.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
