# SPDX-License-Identifier: MIT
"""Finding the library: BIOMEDCLIP_LIBRARY (file or folder), pkg-config, the system loader;
and installing the package with pip."""
import os
import shutil
import subprocess
import sys

from conftest import BUILD, ROOT

PACKAGE = os.path.join(ROOT, "bindings", "python")
PROBE = ("import biomedclip, biomedclip._capi as c; "
         "print(biomedclip.library_version(), c.lib._name)")


def probe(env_changes, cwd=None, path=PACKAGE):
    env = {k: v for k, v in os.environ.items()
           if k not in ("BIOMEDCLIP_LIBRARY", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH")}
    env.update(env_changes)
    env["PYTHONPATH"] = path
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, timeout=120)


def test_environment_variable_file_and_folder():
    for value in (os.path.join(BUILD, "libbiomedclip.so"), BUILD):
        run = probe({"BIOMEDCLIP_LIBRARY": value})
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("0.1.0 ") and BUILD in run.stdout


def test_environment_variable_pointing_nowhere_is_an_error():
    run = probe({"BIOMEDCLIP_LIBRARY": os.path.join(BUILD, "nothing-here.so")})
    assert run.returncode != 0 and "BIOMEDCLIP_LIBRARY" in run.stderr


def test_pkg_config():
    # The build folder holds an uninstalled biomedclip.pc whose libdir is that folder.
    run = probe({"PKG_CONFIG_PATH": BUILD})
    assert run.returncode == 0, run.stderr
    assert os.path.join(BUILD, "libbiomedclip.so.0") in run.stdout


def test_system_loader():
    run = probe({"LD_LIBRARY_PATH": BUILD, "PKG_CONFIG_PATH": "/nonexistent"})
    assert run.returncode == 0, run.stderr
    assert "libbiomedclip.so.0" in run.stdout


def test_pip_installs_the_package(tmp_path):
    # Offline: Debian's setuptools builds it in place of an isolated build environment. A copy
    # is installed, so that the build leaves nothing behind in the checkout.
    source, target = tmp_path / "source", tmp_path / "site"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--no-build-isolation", "--no-index", "--target", str(target),
                          str(source)], capture_output=True, text=True, timeout=300,
                         cwd=str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert (target / "biomedclip" / "__init__.py").exists()
    run = probe({"BIOMEDCLIP_LIBRARY": BUILD}, cwd=str(tmp_path), path=str(target))
    assert run.returncode == 0, run.stderr
