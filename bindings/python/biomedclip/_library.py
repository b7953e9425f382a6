# SPDX-License-Identifier: MIT
"""Finding and opening libbiomedclip.

Search order (the first that exists wins):
  1. the environment variable BIOMEDCLIP_LIBRARY: the path of the shared library file, or of
     the folder holding it;
  2. pkg-config: ``pkg-config --variable=libdir biomedclip`` (honours PKG_CONFIG_PATH), then
     ``libbiomedclip.so.<ABI>`` in that folder;
  3. the system's dynamic loader (LD_LIBRARY_PATH, ldconfig's cache) by soname.
"""
import ctypes
import os
import shutil
import subprocess
import sys
from typing import List, Optional

#: The ABI major version these bindings were written for (the soname's number).
ABI_MAJOR = 0

_SONAME = {"darwin": "libbiomedclip.%d.dylib" % ABI_MAJOR,
           "win32": "biomedclip.dll"}.get(sys.platform, "libbiomedclip.so.%d" % ABI_MAJOR)


def _from_environment() -> Optional[str]:
    path = os.environ.get("BIOMEDCLIP_LIBRARY")
    if not path:
        return None
    if os.path.isdir(path):
        path = os.path.join(path, _SONAME)
    if not os.path.exists(path):
        raise OSError("BIOMEDCLIP_LIBRARY is set to %r, which does not exist" % path)
    return path


def _from_pkg_config() -> Optional[str]:
    pkg_config = shutil.which("pkg-config")
    if not pkg_config:
        return None
    try:
        result = subprocess.run([pkg_config, "--variable=libdir", "biomedclip"],
                                capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = result.stdout.strip()
    if result.returncode != 0 or not libdir:
        return None
    path = os.path.join(os.path.abspath(libdir), _SONAME)
    return path if os.path.exists(path) else None


def candidates() -> List[str]:
    """The paths (or the bare soname, for the loader's own search) that load() tries, in order."""
    found = [_from_environment() or _from_pkg_config()]
    return [p for p in found if p] + [_SONAME]


def load() -> ctypes.CDLL:
    """Opens the library; raises OSError naming every place that was tried."""
    errors = []
    for path in candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as error:
            errors.append("%s: %s" % (path, error))
    raise OSError("libbiomedclip not found; set BIOMEDCLIP_LIBRARY to its path, or make "
                  "`pkg-config --variable=libdir biomedclip` find it. Tried:\n  "
                  + "\n  ".join(errors))
