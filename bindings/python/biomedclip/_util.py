# SPDX-License-Identifier: MIT
"""Small helpers shared by the modules: paths, numpy buffers and text lists for the C calls."""
import ctypes
import os
from typing import Sequence, Union

import numpy as np

PathLike = Union[str, bytes, "os.PathLike[str]"]


def fspath(path: PathLike) -> bytes:
    """A path as the bytes the C library takes."""
    return os.fsencode(path)


def pointer(array: np.ndarray, ctype):
    """A typed pointer to the first element of a C-contiguous numpy array (kept alive by the
    caller for the duration of the call)."""
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def float32_rows(values, name: str, dim: int = 0) -> np.ndarray:
    """`values` as a C-contiguous float32 matrix (a 1-D vector becomes one row); with `dim`,
    the rows must have that length."""
    matrix = np.ascontiguousarray(values, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2:
        raise ValueError("%s must be a vector or a matrix, not shape %s" % (name, matrix.shape))
    if dim and matrix.shape[1] != dim:
        raise ValueError("%s has rows of %d values, expected %d" % (name, matrix.shape[1], dim))
    return matrix


def utf8(text: Union[str, bytes], name: str = "text") -> bytes:
    """A str as UTF-8 (bytes pass through unchanged, for callers with their own bytes)."""
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    if isinstance(text, (bytes, bytearray)):
        return bytes(text)
    raise TypeError("%s must be str or bytes, not %s" % (name, type(text).__name__))


def text_array(texts: Sequence[Union[str, bytes]], name: str = "texts"):
    """A C array of NUL-terminated strings (const char *const *) holding its own copies."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("%s must be a sequence of strings, not one string" % name)
    encoded = [utf8(t, name) for t in texts]
    for i, t in enumerate(encoded):
        if b"\0" in t:
            raise ValueError("%s[%d] contains a NUL character" % (name, i))
    return (ctypes.c_char_p * max(len(encoded), 1))(*encoded), len(encoded)
