#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The Orthanc plugin (bindings/orthanc) in Debian's real Orthanc, for tests/check_orthanc.sh.

    PYTHONPATH=bindings/python /usr/bin/python3 -m tools.checks.orthanc_check \
        --work DIR --plugin PLUGIN --fixtures FIXTURES

Starts Orthanc on a free loopback port with a temporary configuration (HTTP authentication on,
no DICOM server, remote access off), uploads pydicom's test files over REST and compares every
route with the library called directly through the Python binding on the same files: search
and similar (the same ranking, scores within 1e-6), classify (probabilities within 1e-6),
segment (the same mask and overlay bytes), ask (the head's answers, zero-shot probabilities).
Then: status codes of bad requests, deletion, a restart that keeps the index and catches up
with uploads made while the plugin was not loaded, and bad configurations that leave the
plugin disabled while Orthanc runs on. Orthanc's pid is kept in DIR/orthanc.pid so that the
calling suite can stop it whatever happens. Prints "ok"/"FAIL" lines; exits 1 on a failure.
"""
import argparse
import io
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image as PILImage

import pydicom

import biomedclip as bmc
from tools.checks.orthanc_server import Orthanc, upload

TOLERANCE = 1e-6
HELD_BACK = ("CT_small.dcm", "SC_rgb_jpeg_dcmtk.dcm")  # uploaded while the plugin is not loaded
CONFIGURED_TEMPLATES = "ct"
MR_IMAGE_STORAGE, CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.2"
CONFIGURED_LABELS = ["liver", "kidney"]
QUERIES = ("a chest X-ray showing pneumonia", "an MRI scan of the brain", "liver")


class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print("ok   %s%s" % (name, ": " + detail if detail else ""))
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, ": " + detail if detail else ""))
        sys.stdout.flush()
        return condition


class Reference:
    """The library called directly on the uploaded files."""

    def __init__(self, fixtures, max_frames):
        seg = os.path.join(fixtures, "segmentation")
        self.model = bmc.Model(os.path.join(seg, "model.bmc.pt"))
        self.images = self.model.image_encoder(batch_size=1)
        self.texts = self.model.text_encoder()
        self.segmenter = bmc.Segmenter(self.model, os.path.join(seg, "trained.bmcseg.pt"),
                                       )
        self.vqa = bmc.Vqa(self.model, os.path.join(fixtures, "vqa", "fusion.vqa.pt"))
        self.max_frames = max_frames
        self.vectors = {}   # (instance, frame) -> embedding
        self.parents = {}   # instance -> (series id, study id)
        self.kind = {}      # instance -> "indexed", "no-pixels", "undecodable"
        self.frames = {}    # instance -> its number of frames, when it opens

    def add(self, instance, path, series, study):
        self.parents[instance] = (series, study)
        try:
            dicom = bmc.Dicom.open(path)
        except bmc.BiomedclipError:
            self.kind[instance] = "undecodable"
            return
        self.frames[instance] = dicom.frames
        if dicom.frames == 0:
            self.kind[instance] = "no-pixels"
            return
        try:
            frames = [dicom.frame_image(f) for f in range(min(dicom.frames, self.max_frames))]
        except bmc.BiomedclipError:
            self.kind[instance] = "undecodable"
            return
        self.kind[instance] = "indexed"
        for f, image in enumerate(frames):
            self.vectors[(instance, f)] = self.images.encode([image])[0]

    def remove(self, instance):
        self.kind.pop(instance, None)
        for key in [k for k in self.vectors if k[0] == instance]:
            del self.vectors[key]

    def ranking(self, query, level, exclude=None):
        """(group id, score) of every group, best first: a group scores its best frame."""
        best = {}
        for (instance, frame), vector in self.vectors.items():
            if instance == exclude:
                continue
            series, study = self.parents[instance]
            group = {"instance": instance, "series": series, "study": study}[level]
            score = float(np.dot(vector.astype(np.float64), query.astype(np.float64)))
            score /= float(np.linalg.norm(vector.astype(np.float64)) *
                           np.linalg.norm(query.astype(np.float64)))
            best[group] = max(best.get(group, -2.0), score)
        return sorted(best.items(), key=lambda item: -item[1])


def compare_hits(report, name, hits, ranking, limit):
    """The same ranking as the reference (up to ties within the tolerance), same scores."""
    scores = dict(ranking)
    if not report.check(name + " count", len(hits) == min(limit, len(ranking)),
                        "%d hits, %d expected" % (len(hits), min(limit, len(ranking)))):
        return
    worst = 0.0
    ok = True
    for rank, hit in enumerate(hits):
        if hit["ID"] not in scores:
            ok = False
            break
        worst = max(worst, abs(hit["Score"] - scores[hit["ID"]]),
                    abs(hit["Score"] - ranking[rank][1]))
    report.check(name, ok and worst <= TOLERANCE and len({h["ID"] for h in hits}) == len(hits),
                 "%d hits, largest score difference %.2e" % (len(hits), worst))


def check_routes(report, orthanc, ref, ids_by_name):
    indexed = sorted(i for i, k in ref.kind.items() if k == "indexed")
    # ---- search at the three levels -------------------------------------------------------
    for q in QUERIES:
        query = ref.texts.encode([q])[0]
        for level in ("instance", "series", "study"):
            hits = orthanc.get_json("/biomedclip/search", q=q, limit=7, level=level)
            compare_hits(report, "search %r level=%s" % (q, level), hits,
                         ref.ranking(query, level), 7)
    hits = orthanc.get_json("/biomedclip/search", q=QUERIES[0], limit=1000)
    report.check("search covers the index", {h["ID"] for h in hits} == set(indexed),
                 "%d instances found, %d indexed by the reference" % (len(hits), len(indexed)))
    sample = hits[0]
    dicom = bmc.Dicom.open(ids_by_name[sample["ID"]])
    report.check("search answer has the DICOM UIDs",
                 sample["0020000D"]["Value"] == [dicom.study_instance_uid] and
                 sample["0020000E"]["Value"] == [dicom.series_instance_uid] and
                 sample["00080018"]["Value"] == [dicom.sop_instance_uid] and
                 (sample["ParentSeries"], sample["ParentStudy"]) == ref.parents[sample["ID"]])
    # ---- similar ------------------------------------------------------------------------------
    for instance in indexed[:3]:
        hits = orthanc.get_json("/biomedclip/instances/%s/similar" % instance, limit=5)
        compare_hits(report, "similar %s" % instance[:8], hits,
                     ref.ranking(ref.vectors[(instance, 0)], "instance", exclude=instance), 5)
    # ---- classify -----------------------------------------------------------------------------
    labels = ["liver", "kidney", "lesion", "normal tissue"]
    for templates in (None, "ct", "a scan of {}|an image showing {}"):
        instance = indexed[1]
        args = {"labels": ",".join(labels)}
        if templates:
            args["templates"] = templates
        answer = orthanc.get_json("/biomedclip/instances/%s/classify" % instance, **args)
        # Without "templates" the plugin uses the configured ones (section(): the "ct" set).
        template_arg = (templates.split("|") if templates and "{}" in templates
                        else templates or CONFIGURED_TEMPLATES)
        classifier = bmc.Classifier(ref.texts, labels, template_arg)
        want = classifier.probabilities(ref.vectors[(instance, 0)][None, :])[0]
        got = {item["Label"]: item["Probability"] for item in answer["Labels"]}
        order = [item["Label"] for item in answer["Labels"]]
        error = max(abs(got[label] - float(want[i])) for i, label in enumerate(labels))
        report.check("classify templates=%s" % templates,
                     error <= TOLERANCE and sorted(got) == sorted(labels) and
                     [got[l] for l in order] == sorted(got.values(), reverse=True),
                     "largest probability difference %.2e" % error)
    # Without "labels" the configured ones are used.
    answer = orthanc.get_json("/biomedclip/instances/%s/classify" % indexed[0])
    want = bmc.Classifier(ref.texts, CONFIGURED_LABELS, CONFIGURED_TEMPLATES).probabilities(
        ref.vectors[(indexed[0], 0)][None, :])[0]
    got = {item["Label"]: item["Probability"] for item in answer["Labels"]}
    report.check("classify with the configured labels",
                 sorted(got) == sorted(CONFIGURED_LABELS) and
                 max(abs(got[l] - float(w)) for l, w in zip(CONFIGURED_LABELS, want)) <= TOLERANCE)
    # A frame that is not indexed goes through the image tower: frame 1 of a two-frame file.
    multi = [i for i in indexed if (i, 1) in ref.vectors]
    if report.check("a multi-frame instance is indexed", bool(multi)):
        answer = orthanc.get_json("/biomedclip/instances/%s/classify" % multi[0],
                                  labels=",".join(labels), frame=1)
        want = bmc.Classifier(ref.texts, labels, CONFIGURED_TEMPLATES).probabilities(
            ref.vectors[(multi[0], 1)][None, :])[0]
        got = {item["Label"]: item["Probability"] for item in answer["Labels"]}
        error = max(abs(got[label] - float(want[i])) for i, label in enumerate(labels))
        report.check("classify frame=1", error <= TOLERANCE, "largest difference %.2e" % error)
    # ---- segment ------------------------------------------------------------------------------
    for instance in indexed[:4]:
        image = bmc.Dicom.open(ids_by_name[instance]).frame_image(0)
        probabilities = ref.segmenter.segment(image, ["liver"])[0]
        mask = bmc.mask_threshold(probabilities, 0.5)
        status, body = orthanc.get("/biomedclip/instances/%s/segment" % instance, prompt="liver")
        got = np.asarray(PILImage.open(io.BytesIO(body))) if status == 200 else None
        report.check("segment mask %s" % instance[:8],
                     got is not None and got.shape == mask.shape and np.array_equal(got, mask),
                     "%s mask, %d pixels set" % ("x".join(map(str, mask.shape)),
                                                 int((mask > 0).sum())))
        status, body = orthanc.get("/biomedclip/instances/%s/segment" % instance, prompt="liver",
                                   overlay=1, threshold=0.3)
        overlay = bmc.mask_overlay(image, bmc.mask_threshold(probabilities, 0.3))
        got = np.asarray(PILImage.open(io.BytesIO(body)).convert("RGB")) if status == 200 else None
        report.check("segment overlay %s" % instance[:8],
                     got is not None and np.array_equal(got, overlay))
    # ---- ask (the VQA head) -------------------------------------------------------------------
    for question in ("is there a lesion?", "what organ is shown?"):
        instance = indexed[2]
        image = bmc.Dicom.open(ids_by_name[instance]).frame_image(0)
        want = ref.vqa.ask(image, [question], k=3)[0]
        answer = orthanc.get_json("/biomedclip/instances/%s/ask" % instance, q=question, top=3)
        got = [(a["Answer"], a["Probability"]) for a in answer["Answers"]]
        report.check("ask (head) %r" % question,
                     answer["Mode"] == "head" and [a for a, _ in got] == [a for a, _ in want] and
                     all(abs(p - q) <= TOLERANCE for (_, p), (_, q) in zip(got, want)),
                     "; ".join("%s %.4f" % a for a in got))


def check_errors(report, orthanc, some_instance):
    status, _ = orthanc.request("GET", "/biomedclip/search?q=liver", auth=False)
    report.check("unauthenticated search gets 401", status == 401, str(status))
    status, _ = orthanc.request("GET", "/biomedclip/status", auth=False)
    report.check("unauthenticated status gets 401", status == 401, str(status))
    unknown = "0123abcd-0123abcd-0123abcd-0123abcd-0123abcd"
    cases = [
        ("/biomedclip/search", {}, 400), ("/biomedclip/search", {"q": "x", "limit": 0}, 400),
        ("/biomedclip/search", {"q": "x", "limit": "ten"}, 400),
        ("/biomedclip/search", {"q": "x", "limit": 100000}, 400),
        ("/biomedclip/search", {"q": "x", "level": "patient"}, 400),
        ("/biomedclip/search", {"q": "x" * 5000}, 413),
        ("/biomedclip/search", {"q": b"\xff\xfe bad utf-8"}, 400),
        ("/biomedclip/instances/not-an-id/similar", {}, 400),
        ("/biomedclip/instances/%s/similar" % unknown, {}, 404),
        ("/biomedclip/instances/%s/classify" % unknown, {"labels": "a,b"}, 404),
        ("/biomedclip/instances/%s/classify" % some_instance, {"labels": "a"}, 400),
        ("/biomedclip/instances/%s/classify" % some_instance, {"labels": "a,,b"}, 400),
        ("/biomedclip/instances/%s/classify" % some_instance,
         {"labels": ",".join("l%d" % i for i in range(100))}, 413),
        ("/biomedclip/instances/%s/classify" % some_instance,
         {"labels": "a,b", "templates": "no-such-set"}, 400),
        ("/biomedclip/instances/%s/classify" % some_instance,
         {"labels": "a,b", "frame": 99}, 404),
        ("/biomedclip/instances/%s/segment" % some_instance, {}, 400),
        ("/biomedclip/instances/%s/segment" % some_instance, {"prompt": "x", "threshold": 2}, 400),
        ("/biomedclip/instances/%s/segment" % unknown, {"prompt": "x"}, 404),
        ("/biomedclip/instances/%s/ask" % some_instance, {}, 400),
        ("/biomedclip/instances/%s/ask" % some_instance, {"q": "x" * 2000}, 413),
        ("/biomedclip/instances/%s/ask" % some_instance, {"q": "x", "top": 0}, 400),
        ("/biomedclip/instances/%s/ask" % some_instance,
         {"q": "x", "answers": "not an answer of the head,yes"}, 400),
    ]
    for path, args, want in cases:
        status, body = orthanc.get(path, **args)
        shown = {k: (v if len(str(v)) < 30 else "%d bytes" % len(v)) for k, v in args.items()}
        described = False
        try:
            described = json.loads(body)["HttpStatus"] == want
        except (ValueError, KeyError, TypeError):
            pass
        report.check("%s %s gets %d" % (path.replace(some_instance, "{id}")[:60], shown, want),
                     status == want and described, "got %d" % status)
    status, _ = orthanc.request("POST", "/biomedclip/search?q=x", b"")
    report.check("POST gets 405", status == 405, str(status))


def check_concurrency(report, orthanc, indexed):
    """Requests of every route at once on 8 threads answer as they do one at a time: the
    model, the heads and the index are shared by Orthanc's HTTP threads."""
    requests = []
    for i, instance in enumerate(indexed[:6]):
        base = "/biomedclip/instances/%s/" % instance
        requests += [("/biomedclip/search", {"q": QUERIES[i % len(QUERIES)], "limit": 5}),
                     (base + "similar", {"limit": 4}),
                     (base + "classify", {"labels": "liver,kidney,lesion"}),
                     (base + "segment", {"prompt": "liver"}),
                     (base + "ask", {"q": "is there a lesion?"})]
    serial = [orthanc.get(path, **args) for path, args in requests]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda r: orthanc.get(r[0], **r[1]), requests * 3))
    same = sum(got == serial[i % len(requests)] for i, got in enumerate(together))
    report.check("%d requests on 8 threads answer as one at a time" % len(together),
                 same == len(together) and all(status == 200 for status, _ in serial),
                 "%d of %d identical" % (same, len(together)))


def check_garbage(report, orthanc, instance):
    """Arguments of random bytes (any byte, percent-encoded) on every route get an answer
    with one of the documented statuses, and Orthanc stays up."""
    rng = np.random.default_rng(14)
    routes = ["/biomedclip/search"] + ["/biomedclip/instances/%s/%s" % (instance, name)
                                       for name in ("similar", "classify", "segment", "ask")]
    names = ["q", "limit", "level", "labels", "templates", "prompt", "frame", "threshold",
             "overlay", "answers", "top"]
    statuses = {}
    for i in range(250):
        args = {}
        for name in rng.choice(names, size=int(rng.integers(1, 5)), replace=False):
            size = int(rng.choice([0, 1, 3, 20, 300, 3000]))
            args[str(name)] = bytes(rng.integers(0, 256, size, dtype=np.uint8))
        if i % 3 == 0:  # mostly printable, so that more of them get past the first checks
            args = {k: bytes(b % 64 + 32 for b in v) for k, v in args.items()}
        status, _ = orthanc.get(routes[i % len(routes)], **args)
        statuses[status] = statuses.get(status, 0) + 1
    report.check("250 requests of random arguments get documented statuses",
                 set(statuses) <= {200, 400, 404, 413, 415} and
                 orthanc.get("/system")[0] == 200,
                 ", ".join("%d: %d" % item for item in sorted(statuses.items())))


def section(fixtures, work, **extra):
    seg = os.path.join(fixtures, "segmentation")
    config = {"Model": os.path.join(seg, "model.bmc.pt"),
              "DataDirectory": os.path.join(work, "biomedclip"),
              "SegmentationDecoder": os.path.join(seg, "trained.bmcseg.pt"),
              "VqaHead": os.path.join(fixtures, "vqa", "fusion.vqa.pt"),
              "BatchSize": 4, "SaveInterval": 1, "MaxFramesPerInstance": 3,
              "Labels": CONFIGURED_LABELS, "Templates": CONFIGURED_TEMPLATES}
    config.update(extra)
    return {k: v for k, v in config.items() if v is not None}


def counts(ref):
    kinds = list(ref.kind.values())
    return {k: kinds.count(k) for k in ("indexed", "no-pixels", "undecodable")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--plugin", required=True)
    parser.add_argument("--fixtures", required=True)
    args = parser.parse_args()
    report = Report()
    orthanc = Orthanc(args.work, os.path.abspath(args.plugin))
    fixtures = os.path.abspath(args.fixtures)
    manifest = [line.rstrip("\n").split("\t") for line in
                open(os.path.join(fixtures, "dicom", "manifest.txt"))]
    files = [(row[1], row[2]) for row in manifest if row[2].endswith(".dcm")]
    ref = Reference(fixtures, 3)
    try:
        # ---- bad configurations: disabled, Orthanc keeps running ------------------------------
        orthanc.start(section(fixtures, args.work, BatchSize=0))
        status = orthanc.get_json("/biomedclip/status")
        code, _ = orthanc.get("/biomedclip/search", q="x")
        log = open(orthanc.log_path, errors="replace").read()
        report.check("BatchSize 0 is refused at start", status["State"] == "disabled" and
                     "BatchSize" in status.get("Error", "") and "BatchSize" in log and code == 503,
                     status.get("Error", ""))
        report.check("Orthanc runs on with the plugin disabled",
                     orthanc.get("/system")[0] == 200)
        orthanc.stop()
        orthanc.start(section(fixtures, args.work,
                              Model=os.path.join(fixtures, "vqa", "manifest.txt")))
        status = orthanc.wait_state({"failed", "ready"})
        code, _ = orthanc.get("/biomedclip/search", q="x")
        report.check("a file that is not a model fails the plugin, not Orthanc",
                     status["State"] == "failed" and code == 503 and
                     orthanc.get("/system")[0] == 200, status.get("Error", ""))
        orthanc.stop()

        # ---- upload, index, compare ------------------------------------------------------------
        orthanc.start(section(fixtures, args.work))
        orthanc.wait_state({"ready"})
        ids_by_name, held = {}, []
        refused = 0
        for name, path in files:
            if name in HELD_BACK:
                held.append((name, path))
                continue
            answer = upload(orthanc, path)
            if answer is None:
                refused += 1
            elif answer["ID"] not in ids_by_name:
                ids_by_name[answer["ID"]] = path
                ref.add(answer["ID"], path, answer["ParentSeries"], answer["ParentStudy"])
        status = orthanc.wait_drained()
        want = counts(ref)
        print("     %d files uploaded as %d instances (%d refused by Orthanc): %s" %
              (len(files) - len(held), len(ids_by_name), refused, want))
        report.check("status: indexed instances", status["IndexedInstances"] == want["indexed"],
                     "%d, reference %d" % (status["IndexedInstances"], want["indexed"]))
        report.check("status: indexed frames", status["IndexedFrames"] == len(ref.vectors),
                     "%d, reference %d" % (status["IndexedFrames"], len(ref.vectors)))
        report.check("status: pixel-less files skipped",
                     want["no-pixels"] > 0 and status["Skipped"]["NoPixelData"] == want["no-pixels"],
                     "%d, reference %d" % (status["Skipped"]["NoPixelData"], want["no-pixels"]))
        report.check("status: undecodable files skipped",
                     status["Skipped"]["Undecodable"] == want["undecodable"],
                     "%d, reference %d" % (status["Skipped"]["Undecodable"], want["undecodable"]))
        check_routes(report, orthanc, ref, ids_by_name)
        indexed = sorted(i for i, k in ref.kind.items() if k == "indexed")
        check_errors(report, orthanc, indexed[0])
        check_concurrency(report, orthanc, indexed)
        check_garbage(report, orthanc, indexed[0])

        # ---- deletion -------------------------------------------------------------------------
        gone = indexed[3]
        orthanc.request("DELETE", "/instances/" + gone)
        ref.remove(gone)
        orthanc.wait_drained()
        hits = orthanc.get_json("/biomedclip/search", q=QUERIES[1], limit=1000)
        report.check("a deleted instance leaves search", gone not in {h["ID"] for h in hits} and
                     len(hits) == len(indexed) - 1, "%d hits" % len(hits))
        code, _ = orthanc.get("/biomedclip/instances/%s/similar" % gone)
        report.check("a deleted instance gets 404 from similar", code == 404, str(code))
        orthanc.stop()
        report.check("the index is saved on stop",
                     os.path.exists(os.path.join(args.work, "biomedclip", "index.bmci")))

        # ---- uploads and a deletion while the plugin is not loaded ---------------------------------
        orthanc.start(None, with_plugin=False)
        for name, path in held:
            answer = upload(orthanc, path)
            if answer and answer["ID"] not in ids_by_name:
                ids_by_name[answer["ID"]] = path
                ref.add(answer["ID"], path, answer["ParentSeries"], answer["ParentStudy"])
        gone_offline = indexed[4]
        orthanc.request("DELETE", "/instances/" + gone_offline)
        ref.remove(gone_offline)
        orthanc.stop()

        # ---- restart: the index kept, the new uploads indexed, zero-shot answers ----------------
        orthanc.start(section(fixtures, args.work, VqaHead=None))
        orthanc.wait_state({"ready"})
        status = orthanc.wait_drained()
        want = counts(ref)
        report.check("restart: only the new uploads are embedded",
                     status["IndexedSinceStart"] == len(held) and
                     status["IndexedInstances"] == want["indexed"],
                     "%d embedded, %d in the index (reference %d)" %
                     (status["IndexedSinceStart"], status["IndexedInstances"], want["indexed"]))
        hits = orthanc.get_json("/biomedclip/search", q=QUERIES[0], limit=1000)
        report.check("restart: an instance deleted while not loaded leaves the index",
                     gone_offline not in {h["ID"] for h in hits})
        for q in QUERIES[:2]:
            query = ref.texts.encode([q])[0]
            hits = orthanc.get_json("/biomedclip/search", q=q, limit=10, level="series")
            compare_hits(report, "restart: search %r" % q, hits, ref.ranking(query, "series"), 10)
        instance = sorted(i for i, k in ref.kind.items() if k == "indexed")[0]
        image = bmc.Dicom.open(ids_by_name[instance]).frame_image(0)
        for question, candidates in (("is there a lesion?", ["yes", "no"]),
                                     ("what organ is shown?", ["liver", "kidney", "brain"])):
            want_p = bmc.vqa_zero_shot(ref.images, ref.texts, image, question, candidates)
            answer = orthanc.get_json("/biomedclip/instances/%s/ask" % instance, q=question,
                                      answers=",".join(candidates))
            got = {a["Answer"]: a["Probability"] for a in answer["Answers"]}
            error = max(abs(got[c] - float(p)) for c, p in zip(candidates, want_p))
            report.check("ask (zero-shot) %r" % question,
                         answer["Mode"] == "zero-shot" and error <= TOLERANCE,
                         "largest probability difference %.2e" % error)
        orthanc.stop()

        # ---- the change number lost: a full catch-up embeds nothing twice ----------------------
        os.remove(os.path.join(args.work, "biomedclip", "state.txt"))
        orthanc.start(section(fixtures, args.work))
        orthanc.wait_state({"ready"})
        status = orthanc.wait_drained()
        report.check("catch-up from change 0 embeds nothing twice",
                     status["IndexedSinceStart"] == 0 and
                     status["AlreadyIndexed"] == want["indexed"] and
                     status["IndexedInstances"] == want["indexed"],
                     "%d embedded, %d already indexed" %
                     (status["IndexedSinceStart"], status["AlreadyIndexed"]))
        orthanc.stop()

        # ---- Modalities and SopClasses: a new index of only what they allow -------------------
        orthanc.start(section(fixtures, args.work, Modalities=["MR", "OT"],
                              SopClasses=[MR_IMAGE_STORAGE, CT_IMAGE_STORAGE],
                              DataDirectory=os.path.join(args.work, "filtered")),
                      OverwriteInstances=True)
        orthanc.wait_state({"ready"})
        status = orthanc.wait_drained()
        # The filters apply to every file with an image, before its frames are decoded.
        present = [i for i, k in ref.kind.items() if k in ("indexed", "undecodable") and
                   ref.frames.get(i, 0) > 0]
        modality = {i: pydicom.dcmread(ids_by_name[i], stop_before_pixels=True) for i in present}
        allowed = {i for i in present if modality[i].get("Modality", "") in ("MR", "OT")}
        want_modality = len(present) - len(allowed)
        want_sop = sum(modality[i].SOPClassUID not in (MR_IMAGE_STORAGE, CT_IMAGE_STORAGE)
                       for i in allowed)
        want_indexed = sum(ref.kind[i] == "indexed" and
                           modality[i].SOPClassUID in (MR_IMAGE_STORAGE, CT_IMAGE_STORAGE)
                           for i in allowed)
        report.check("Modalities: the others are skipped and counted",
                     status["Skipped"]["Modality"] == want_modality and want_modality > 0,
                     "%d skipped, reference %d" % (status["Skipped"]["Modality"], want_modality))
        report.check("SopClasses: the others are skipped and counted",
                     status["Skipped"]["SopClass"] == want_sop and want_sop > 0,
                     "%d skipped, reference %d" % (status["Skipped"]["SopClass"], want_sop))
        report.check("Modalities and SopClasses: what they allow is indexed",
                     status["IndexedInstances"] == want_indexed and want_indexed > 0,
                     "%d indexed" % status["IndexedInstances"])

        # ---- an overwritten instance stays indexed -----------------------------------------
        # Another encoding of the indexed MR image, with its UIDs: Orthanc deletes the stored
        # file and stores this one under the same id.
        mr = [i for i in allowed if ref.kind[i] == "indexed" and
              modality[i].SOPClassUID == MR_IMAGE_STORAGE][0]
        uid = modality[mr].SOPInstanceUID
        other = [path for _, path in files if path != ids_by_name[mr] and path.endswith(".dcm")
                 and "MR_small" in path and
                 pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID == uid][0]
        answer = upload(orthanc, other)
        # Orthanc signals the deletion to plugins from its own thread, after the upload has
        # answered: wait for the index to show the instance again, or for 120 s (a loaded
        # machine delays the deletion's signal and the embedding again).
        deadline = time.time() + 120
        while True:
            status = orthanc.wait_drained()
            hits = orthanc.get_json("/biomedclip/search", q="an MRI", limit=10)
            again = status["IndexedInstances"] == want_indexed and mr in {h["ID"] for h in hits}
            if again or time.time() > deadline:
                break
            time.sleep(0.5)
        report.check("an overwritten instance stays indexed",
                     answer is not None and answer["ID"] == mr and again,
                     "%s over %s (%d indexed of %d, in the hits: %s)" % (
                         os.path.basename(other), os.path.basename(ids_by_name[mr]),
                         status["IndexedInstances"], want_indexed, mr in {h["ID"] for h in hits}))
        orthanc.stop()

        # ---- a crash loses only the unsaved tail, which the catch-up indexes again -----------
        crash = section(fixtures, args.work, DataDirectory=os.path.join(args.work, "crash"),
                        SaveInterval=86400)
        orthanc.start(crash)
        orthanc.wait_state({"ready"})
        before = orthanc.wait_drained()
        orthanc.crash()
        orthanc.start(crash)
        orthanc.wait_state({"ready"})
        after = orthanc.wait_drained()
        report.check("after a crash the catch-up indexes the unsaved tail again",
                     before["IndexedInstances"] == want["indexed"] and
                     after["IndexedInstances"] == want["indexed"] and
                     after["IndexedSinceStart"] == want["indexed"],
                     "%d indexed before the crash, %d after (%d embedded again)" %
                     (before["IndexedInstances"], after["IndexedInstances"],
                      after["IndexedSinceStart"]))
    except Exception as error:  # a crash of the check is a failure, with its reason
        report.check("the check ran to its end", False, "%s: %s" % (type(error).__name__, error))
    finally:
        orthanc.stop()
    if report.failed and os.path.exists(orthanc.log_path):
        print("---- Orthanc's log: the plugin's lines and errors ----")
        lines = [l for l in open(orthanc.log_path, errors="replace")
                 if "biomedclip" in l.lower() or l.startswith("E") or "not indexed" in l
                 or "left the index" in l]
        sys.stdout.write("".join(lines[-30:]))
    print("orthanc: %d passed, %d failed" % (report.passed, report.failed))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
