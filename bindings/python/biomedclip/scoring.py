# SPDX-License-Identifier: MIT
"""Scoring: cosine similarity, softmax, top-k, composed queries."""
import ctypes

import numpy as np

from . import _capi
from ._util import float32_rows, pointer
from .errors import check


def cosine_similarity(a, b) -> np.ndarray:
    """Cosine similarity of every row of `a` with every row of `b`: a new (rows_a, rows_b)
    float32 array (bmc_cosine_similarity). Rows need not be normalised; a zero row gives 0."""
    a, b = float32_rows(a, "a"), float32_rows(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError("rows of %d and %d values" % (a.shape[1], b.shape[1]))
    out = np.empty((a.shape[0], b.shape[0]), np.float32)
    check(_capi.bmc_cosine_similarity(pointer(a, ctypes.c_float), a.shape[0],
                                      pointer(b, ctypes.c_float), b.shape[0], a.shape[1],
                                      pointer(out, ctypes.c_float), out.size))
    return out


def softmax(values) -> np.ndarray:
    """Softmax of each row (of a vector: of it), as a new float32 array (bmc_softmax)."""
    values = np.array(values, dtype=np.float32, order="C")  # a copy: the C call works in place
    matrix = values.reshape(1, -1) if values.ndim == 1 else values
    if matrix.ndim != 2:
        raise ValueError("softmax takes a vector or a matrix, not shape %s" % (values.shape,))
    check(_capi.bmc_softmax(pointer(matrix, ctypes.c_float), matrix.shape[0], matrix.shape[1]))
    return values


def top_k(values, k: int) -> np.ndarray:
    """Indices of the k largest values, largest first, ties by lower index (bmc_top_k)."""
    values = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    if not 0 <= k <= values.size:
        raise ValueError("k = %d is outside 0..%d" % (k, values.size))
    indices = np.empty(k, np.int32)
    check(_capi.bmc_top_k(pointer(values, ctypes.c_float), values.size, k,
                          pointer(indices, ctypes.c_int32)))
    return indices


def compose_query(image_embedding, text_embedding, text_weight: float = 0.5) -> np.ndarray:
    """A composed query (image + text -> image): the normalised weighted sum
    (1 - text_weight) x image + text_weight x text of the two normalised embeddings, a new
    float32 vector to search an index with (bmc_compose_query)."""
    image = np.ascontiguousarray(image_embedding, dtype=np.float32).reshape(-1)
    text = np.ascontiguousarray(text_embedding, dtype=np.float32).reshape(-1)
    if image.size != text.size:
        raise ValueError("embeddings of %d and %d values" % (image.size, text.size))
    out = np.empty(image.size, np.float32)
    check(_capi.bmc_compose_query(pointer(image, ctypes.c_float), pointer(text, ctypes.c_float),
                                  image.size, float(text_weight), pointer(out, ctypes.c_float)))
    return out
