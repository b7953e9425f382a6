# SPDX-License-Identifier: MIT
"""Paths shared by the tests. tests/check_python.sh sets BIOMEDCLIP_LIBRARY, BMC_FIXTURES and
BUILD; run by hand from the repository root, the defaults are those of `make check`."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
FIXTURES = os.path.abspath(os.environ.get("BMC_FIXTURES", os.path.join(BUILD, "fixtures")))
MODEL_FIXTURES = os.path.join(FIXTURES, "model")

os.environ.setdefault("BIOMEDCLIP_LIBRARY", os.path.join(BUILD, "libbiomedclip.so"))
# The binding under test and the project's tools package (tools.*), both from this checkout.
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
sys.path.insert(0, ROOT)


def fixture_path(*parts: str) -> str:
    path = os.path.join(MODEL_FIXTURES, *parts)
    if not os.path.exists(path):
        pytest.fail("missing fixture %s (run `make fixtures`)" % path)
    return path


def read_lines(name: str):
    with open(fixture_path(name), encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def manifest() -> dict:
    """The model fixtures' manifest.txt: scalars, and lists of image and text entries."""
    info = {"image": [], "text": []}
    for line in read_lines("manifest.txt"):
        if line.startswith("#"):
            continue
        key, *values = line.split()
        if key in ("image", "text"):
            info[key].append(values)
        else:
            info[key] = values[0]
    return info


@pytest.fixture(scope="session")
def model():
    import biomedclip
    with biomedclip.Model(fixture_path("model.bmc.pt")) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def info():
    return manifest()


@pytest.fixture(scope="session")
def image_paths(info):
    return [fixture_path("images", entry[1]) for entry in info["image"]]
