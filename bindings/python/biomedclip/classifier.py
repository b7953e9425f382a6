# SPDX-License-Identifier: MIT
"""Zero-shot classification with prompt templates and template ensembling."""
import ctypes
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import float32_rows, pointer, text_array
from .errors import check
from .images import Image
from .model import ImageEncoder, TextEncoder

#: The template BiomedCLIP's authors use.
DEFAULT_TEMPLATE = _capi.BMC_DEFAULT_TEMPLATE


class Classifier(Handle):
    """One embedding per label, averaged over prompt templates (bmc_classifier_create).

    Each template holds "{}" once, where the label goes ("a chest X-ray showing {}."); None
    uses DEFAULT_TEMPLATE. Building it runs the text tower on labels x templates prompts with
    `text_encoder`. Immutable afterwards: threads may share one classifier.
    """

    def __init__(self, text_encoder: TextEncoder, labels: Sequence[str],
                 templates: Optional[Sequence[str]] = None):
        label_array, label_count = text_array(labels, "labels")
        if templates is None:
            template_array, template_count = None, 0
        else:
            template_array, template_count = text_array(templates, "templates")
        out = ctypes.POINTER(_capi.bmc_classifier)()
        check(_capi.bmc_classifier_create(text_encoder._ptr, label_array, label_count,
                                          template_array, template_count, ctypes.byref(out)))
        # The classifier refers to the model (for its logit scale), not to the encoder.
        self._own(out, _capi.bmc_classifier_free, text_encoder.model)
        self.embed_dim = text_encoder.embed_dim

    @property
    def labels(self) -> List[str]:
        """The labels, in the order given."""
        count = _capi.bmc_classifier_label_count(self._ptr)
        return [_capi.bmc_classifier_label(self._ptr, i).decode("utf-8") for i in range(count)]

    def probabilities(self, image_embeddings) -> np.ndarray:
        """Probabilities over the labels for each embedding: a new (n, labels) float32 array in
        label order (bmc_classifier_probabilities)."""
        embeddings = float32_rows(image_embeddings, "image_embeddings", self.embed_dim)
        count = _capi.bmc_classifier_label_count(self._ptr)
        out = np.empty((embeddings.shape[0], count), np.float32)
        check(_capi.bmc_classifier_probabilities(self._ptr, pointer(embeddings, ctypes.c_float),
                                                 embeddings.shape[0],
                                                 pointer(out, ctypes.c_float), out.size))
        return out

    def classify(self, image_encoder: ImageEncoder, image: Image,
                 k: Optional[int] = None) -> List[Tuple[str, float]]:
        """The k (default: all) most probable labels of one image, as (label, probability)
        pairs, most probable first (bmc_classify). The probabilities are the library's float32
        values exactly."""
        count = _capi.bmc_classifier_label_count(self._ptr)
        k = count if k is None else k
        if not 1 <= k <= count:
            raise ValueError("k = %d is outside 1..%d" % (k, count))
        indices = np.empty(k, np.int32)
        probabilities = np.empty(k, np.float32)
        check(_capi.bmc_classify(self._ptr, image_encoder._ptr, image._ptr, k,
                                 pointer(indices, ctypes.c_int32),
                                 pointer(probabilities, ctypes.c_float)))
        labels = self.labels
        return [(labels[i], float(p)) for i, p in zip(indices, probabilities)]
