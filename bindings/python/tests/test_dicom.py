# SPDX-License-Identifier: MIT
"""DICOM: the display pipeline against pydicom's own LUT functions, the dicom_classify example
against the PyTorch reference model, and tools/fixtures/render_dicom_samples.py."""
import copy
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pydicom
import pytest
from PIL import Image as PILImage
from pydicom.data import get_testdata_file
from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut

from biomedclip.dicom import display_parameters, image_from_dataset
from conftest import HERE, ROOT, fixture_path

CT = get_testdata_file("CT_small.dcm")
MR = get_testdata_file("MR_small.dcm")


def pydicom_display(dataset) -> np.ndarray:
    """The 8-bit image by pydicom: modality LUT, VOI LUT (linear window) into pydicom's output
    range, mapped to 0..255 and rounded halves up, as the header specifies the library's.
    Without a window, the rescaled range is stretched as the header says."""
    values = apply_modality_lut(dataset.pixel_array, dataset).astype(np.float64)
    if "WindowCenter" not in dataset:
        return np.floor((values - values.min()) * 255.0 / (values.max() - values.min())
                        + 0.5).astype(np.uint8)
    values = apply_voi_lut(values, dataset)
    # pydicom's output range for the window: y_min..y_max from the stored bit depth (and the
    # rescale), see pydicom.pixel_data_handlers.util.apply_windowing.
    bits = dataset.BitsStored
    low, high = ((0, 2 ** bits - 1) if dataset.PixelRepresentation == 0
                 else (-2 ** (bits - 1), 2 ** (bits - 1) - 1))
    slope, intercept = float(dataset.get("RescaleSlope", 1)), float(dataset.get("RescaleIntercept", 0))
    if "RescaleSlope" in dataset:
        low, high = low * slope + intercept, high * slope + intercept
    return np.floor((values - low) / (high - low) * 255.0 + 0.5).astype(np.uint8)


def windowed(path, center=None, width=None):
    dataset = pydicom.dcmread(path)
    if center is not None:
        dataset = copy.deepcopy(dataset)
        dataset.WindowCenter, dataset.WindowWidth = center, width
    return dataset


@pytest.mark.parametrize("path,center,width", [
    (MR, None, None),        # MR_small's own window (600/1600), no rescale
    (CT, None, None),        # CT_small as it is: rescale to HU, no window: full range
    (CT, 40, 400),           # soft-tissue window
    (CT, 500, 2000),         # bone window
    (CT, -600, 1500),        # lung window
    (CT, 40.5, 1),           # width 1: a threshold
])
def test_display_pipeline_matches_pydicom(path, center, width):
    dataset = windowed(path, center, width)
    with image_from_dataset(dataset) as image:
        ours = image.to_rgb8()[:, :, 0]
    reference = pydicom_display(dataset)
    # Values that land within 1e-9 of a rounding boundary may round either way in the two
    # float64 computations; every other pixel must be identical.
    assert np.abs(ours.astype(int) - reference).max() <= 1
    assert np.count_nonzero(ours != reference) <= ours.size // 1000
    assert ours.shape == dataset.pixel_array.shape


def test_parameters_are_read_from_the_dataset():
    rescale, window, monochrome1 = display_parameters(pydicom.dcmread(CT))
    assert rescale == (1.0, -1024.0) and window is None and not monochrome1
    rescale, window, monochrome1 = display_parameters(pydicom.dcmread(MR))
    assert rescale is None and window == (600.0, 1600.0)
    dataset = windowed(MR)
    dataset.PhotometricInterpretation = "MONOCHROME1"
    assert display_parameters(dataset)[2]
    dataset.VOILUTFunction = "SIGMOID"
    with pytest.raises(ValueError):
        display_parameters(dataset)
    assert display_parameters(dataset, window=(10, 20))[1] == (10, 20)


def test_monochrome1_dataset_is_inverted():
    normal = windowed(MR)
    inverted = copy.deepcopy(normal)
    inverted.PhotometricInterpretation = "MONOCHROME1"
    with image_from_dataset(normal) as a, image_from_dataset(inverted) as b:
        assert np.array_equal(b.to_rgb8(), 255 - a.to_rgb8())


def load_example():
    path = os.path.join(HERE, "..", "examples", "dicom_classify.py")
    spec = importlib.util.spec_from_file_location("dicom_classify", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_probabilities(dataset, labels, templates) -> np.ndarray:
    """What the PyTorch reference model (eager, from the checkpoint the bundle was exported
    from) gives for the pydicom-rendered slice, preprocessed by Pillow as open_clip does."""
    import torch

    from tools.export.checkpoint import load_model
    from tools.export.make_test_models import DEFAULT_VOCAB
    from tools.fixtures.make_model_fixtures import preprocess
    from tools.reference import bert_tokenizer

    model, cfg = load_model(fixture_path("open_clip_pytorch_model.bin"))
    pixels = preprocess(PILImage.fromarray(pydicom_display(dataset), "L"), cfg.image_size)
    vocab = bert_tokenizer.load_vocab(DEFAULT_VOCAB)
    with torch.no_grad():
        image = model.encode_image(pixels[None]).double()
        classes = []
        for label in labels:
            ids = torch.tensor([bert_tokenizer.encode(t.replace("{}", label), vocab,
                                                      cfg.context_length) for t in templates])
            emb = model.encode_text(ids).double()
            emb = emb / emb.norm(dim=1, keepdim=True)
            classes.append(emb.mean(dim=0) / emb.mean(dim=0).norm())
        image = image / image.norm(dim=1, keepdim=True)
        scale = float(model.logit_scale.exp())
        return torch.softmax(scale * image @ torch.stack(classes).T, dim=1)[0].numpy()


def test_dicom_classify_example_matches_the_reference_model(model):
    example = load_example()
    results = example.classify_files(model, [CT, MR], example.DEFAULT_LABELS)
    assert [r[1]["modality"] for r in results] == ["CT", "MR"]
    for (path, result), dataset in zip(results, [windowed(CT), windowed(MR)]):
        ours = np.array(list(result["probabilities"].values()))
        reference = reference_probabilities(dataset, example.DEFAULT_LABELS, example.TEMPLATES)
        assert list(result["probabilities"]) == example.DEFAULT_LABELS
        assert np.abs(ours - reference).max() < 1e-4, (path, ours, reference)
        assert result["label"] == example.DEFAULT_LABELS[int(np.argmax(reference))]
        assert result["embedding"].shape == (model.embed_dim,)
        assert abs(float(np.linalg.norm(result["embedding"])) - 1) < 1e-5


def test_dicom_classify_command_line():
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    script = os.path.join(HERE, "..", "examples", "dicom_classify.py")
    run = subprocess.run([sys.executable, script, fixture_path("model.bmc.pt"), CT, MR,
                          "--labels", "a CT scan,an MRI scan"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "CT_small.dcm (CT):" in run.stdout and "MR_small.dcm (MR):" in run.stdout
    run = subprocess.run([sys.executable, script, fixture_path("model.bmc.pt"),
                          fixture_path("manifest.txt")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 1 and "dicom_classify:" in run.stderr


def test_render_dicom_samples(tmp_path):
    run = subprocess.run([sys.executable, "-m", "tools.fixtures.render_dicom_samples", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 4
    expected = {"ct_small.png": windowed(CT), "ct_small_soft_tissue.png": windowed(CT, 40, 400),
                "ct_small_bone.png": windowed(CT, 500, 2000), "mr_small.png": windowed(MR)}
    for name, dataset in expected.items():
        assert any(line.startswith(str(tmp_path / name) + ":") for line in lines)
        with PILImage.open(tmp_path / name) as png:
            written = np.array(png.convert("L"))
        reference = pydicom_display(dataset)
        assert np.abs(written.astype(int) - reference).max() <= 1
        assert np.count_nonzero(written != reference) <= written.size // 1000
