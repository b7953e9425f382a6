# SPDX-License-Identifier: MIT
"""Zero-shot classification with prompt templates and template ensembling: single-label
(Classifier), multi-label (MultiLabel) and the built-in template sets by modality."""
import ctypes
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import float32_rows, pointer, text_array, utf8
from .errors import check
from .images import Image
from .model import ImageEncoder, TextEncoder

#: The template BiomedCLIP's authors use.
DEFAULT_TEMPLATE = _capi.BMC_DEFAULT_TEMPLATE
#: CheXzero's prompt pair, MultiLabel's defaults.
DEFAULT_POSITIVE_TEMPLATE = _capi.BMC_DEFAULT_POSITIVE_TEMPLATE
DEFAULT_NEGATIVE_TEMPLATE = _capi.BMC_DEFAULT_NEGATIVE_TEMPLATE

Templates = Union[str, Sequence[str], None]


def template_sets() -> List[str]:
    """The names of the built-in template sets, in the header's order (bmc_template_set_name)."""
    return [_capi.bmc_template_set_name(i).decode("utf-8")
            for i in range(_capi.bmc_template_set_count())]


def template_set(name: str) -> Tuple[List[str], List[str]]:
    """The (positive, negative) templates of a built-in set such as "chest-xray"
    (bmc_template_set); NotFoundError for an unknown name."""
    positive, negative = ctypes.POINTER(ctypes.c_char_p)(), ctypes.POINTER(ctypes.c_char_p)()
    positive_count, negative_count = ctypes.c_size_t(), ctypes.c_size_t()
    check(_capi.bmc_template_set(utf8(name, "name"), ctypes.byref(positive),
                                 ctypes.byref(positive_count), ctypes.byref(negative),
                                 ctypes.byref(negative_count)))
    return ([positive[i].decode("utf-8") for i in range(positive_count.value)],
            [negative[i].decode("utf-8") for i in range(negative_count.value)])


def _templates(templates: Templates, negative: bool, name: str):
    """A C array for `templates`: None for the library's default, a str names a built-in set
    (its positive or negative side), else the sequence itself."""
    if templates is None:
        return None, 0
    if isinstance(templates, str):
        templates = template_set(templates)[1 if negative else 0]
    return text_array(templates, name)


def _labels(label_count, label, handle) -> List[str]:
    """The labels of a classifier or scorer, through its bmc_*_label_count and bmc_*_label."""
    return [label(handle, i).decode("utf-8") for i in range(label_count(handle))]


def _probabilities(probabilities, handle, embed_dim: int, label_count: int,
                   image_embeddings) -> np.ndarray:
    """A new (n, labels) float32 array from bmc_classifier_probabilities or
    bmc_multilabel_probabilities, which take the same arguments after the handle."""
    embeddings = float32_rows(image_embeddings, "image_embeddings", embed_dim)
    out = np.empty((embeddings.shape[0], label_count), np.float32)
    check(probabilities(handle, pointer(embeddings, ctypes.c_float), embeddings.shape[0],
                        pointer(out, ctypes.c_float), out.size))
    return out


class Classifier(Handle):
    """One embedding per label, averaged over prompt templates (bmc_classifier_create).

    Each template holds "{}" once, where the label goes ("a chest X-ray showing {}."); None
    uses DEFAULT_TEMPLATE, and a string names a built-in set (template_sets()), whose positive
    templates are used. Building it runs the text tower on labels x templates prompts with
    `text_encoder`. Immutable afterwards: threads may share one classifier.
    """

    def __init__(self, text_encoder: TextEncoder, labels: Sequence[str],
                 templates: Templates = None):
        label_array, label_count = text_array(labels, "labels")
        template_array, template_count = _templates(templates, False, "templates")
        out = ctypes.POINTER(_capi.bmc_classifier)()
        check(_capi.bmc_classifier_create(text_encoder._ptr, label_array, label_count,
                                          template_array, template_count, ctypes.byref(out)))
        # The classifier refers to the model (for its logit scale), not to the encoder.
        self._own(out, _capi.bmc_classifier_free, text_encoder.model)
        self.embed_dim = text_encoder.embed_dim

    @property
    def labels(self) -> List[str]:
        """The labels, in the order given."""
        return _labels(_capi.bmc_classifier_label_count, _capi.bmc_classifier_label, self._ptr)

    def probabilities(self, image_embeddings) -> np.ndarray:
        """Probabilities over the labels for each embedding: a new (n, labels) float32 array in
        label order (bmc_classifier_probabilities)."""
        return _probabilities(_capi.bmc_classifier_probabilities, self._ptr, self.embed_dim,
                              _capi.bmc_classifier_label_count(self._ptr), image_embeddings)

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


class MultiLabel(Handle):
    """Multi-label zero-shot scoring as CheXzero does it (bmc_multilabel_create): every label
    gets its own probability, the softmax over its pair of logits with the positive and with
    the negative templates, independent of the other labels.

    `templates` and `negative_templates` are sequences of templates with "{}" once, or None
    for DEFAULT_POSITIVE_TEMPLATE / DEFAULT_NEGATIVE_TEMPLATE. A string names a built-in set
    (template_sets()): `templates="chest-xray"` takes the set's positive templates and, unless
    `negative_templates` is given, its negative ones. Immutable afterwards: threads may share
    one scorer.
    """

    def __init__(self, text_encoder: TextEncoder, labels: Sequence[str],
                 templates: Templates = None, negative_templates: Templates = None):
        label_array, label_count = text_array(labels, "labels")
        if negative_templates is None and isinstance(templates, str):
            negative_templates = templates
        positive_array, positive_count = _templates(templates, False, "templates")
        negative_array, negative_count = _templates(negative_templates, True,
                                                    "negative_templates")
        out = ctypes.POINTER(_capi.bmc_multilabel)()
        check(_capi.bmc_multilabel_create(text_encoder._ptr, label_array, label_count,
                                          positive_array, positive_count, negative_array,
                                          negative_count, ctypes.byref(out)))
        self._own(out, _capi.bmc_multilabel_free, text_encoder.model)
        self.embed_dim = text_encoder.embed_dim

    @property
    def labels(self) -> List[str]:
        """The labels, in the order given."""
        return _labels(_capi.bmc_multilabel_label_count, _capi.bmc_multilabel_label, self._ptr)

    def probabilities(self, image_embeddings) -> np.ndarray:
        """Each label's probability for each embedding: a new (n, labels) float32 array in
        label order (bmc_multilabel_probabilities)."""
        return _probabilities(_capi.bmc_multilabel_probabilities, self._ptr, self.embed_dim,
                              _capi.bmc_multilabel_label_count(self._ptr), image_embeddings)

    def classify(self, image_encoder: ImageEncoder, image: Image) -> List[Tuple[str, float]]:
        """Every label of one image with its probability, in label order, as (label,
        probability) pairs (bmc_multilabel_classify)."""
        count = _capi.bmc_multilabel_label_count(self._ptr)
        out = np.empty(count, np.float32)
        check(_capi.bmc_multilabel_classify(self._ptr, image_encoder._ptr, image._ptr,
                                            pointer(out, ctypes.c_float), count))
        return list(zip(self.labels, (float(p) for p in out)))
