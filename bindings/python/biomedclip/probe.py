# SPDX-License-Identifier: MIT
"""Few-shot linear probes: multinomial logistic regression with L2 regularisation trained in
the library on image embeddings (bmc_probe_*); docs/linear-probe.md has the solver and file."""
import ctypes
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import PathLike, float32_rows, fspath, pointer, text_array, utf8
from .errors import check, error_for
from .images import Image
from .model import ImageEncoder, Model


class ProbeTraining(NamedTuple):
    """How a probe's training went (bmc_probe_training): the C it used, the L-BFGS iterations
    it ran, and whether the gradient tolerance was met (False: max_iterations stopped it)."""
    c: float
    iterations: int
    converged: bool


class Probe(Handle):
    """A linear probe: scikit-learn's LogisticRegression(C=c, multi_class="multinomial") on
    image embeddings, trained by the library with L-BFGS (bmc_probe_train).

    Probe(model, embeddings, example_labels) trains one on `embeddings` (n, embed_dim), most
    often image_encoder.encode_files(paths), where example_labels[i] (a str) is the label of
    row i. The probe's labels are `labels` in that order when given (each example's label must
    be one of them), else the distinct example labels in order of first appearance. There must
    be at least two, each with an example. c (scikit-learn's C, inverse regularisation
    strength), max_iterations and tolerance default to the library's (1, 10000, 1e-9); stopping
    at max_iterations is not an error: `training` says whether it converged. Bad sets (one
    label, a label without examples, NaN or infinite values) raise InvalidArgumentError.

    Probe.load() reads a probe file. A probe records the model it was trained for (name,
    source, embedding size) but does not refer to it: closing the model leaves it usable.
    Immutable: threads may share one probe.
    """

    def __init__(self, model: Model, embeddings, example_labels: Sequence[Union[str, bytes]],
                 labels: Optional[Sequence[Union[str, bytes]]] = None, c: Optional[float] = None,
                 max_iterations: Optional[int] = None, tolerance: Optional[float] = None):
        embeddings = float32_rows(embeddings, "embeddings", model.embed_dim)
        if isinstance(example_labels, (str, bytes)):
            raise TypeError("example_labels must be a sequence of labels, not one string")
        names = [utf8(label, "example_labels") for label in example_labels]
        if len(names) != embeddings.shape[0]:
            raise ValueError("%d embeddings but %d example labels"
                             % (embeddings.shape[0], len(names)))
        if labels is None:
            order = list(dict.fromkeys(names))
        else:
            if isinstance(labels, (str, bytes)):
                raise TypeError("labels must be a sequence of labels, not one string")
            order = [utf8(label, "labels") for label in labels]
        position = {name: i for i, name in reversed(list(enumerate(order)))}
        classes = np.empty(len(names), np.int32)
        for i, name in enumerate(names):
            if name not in position:
                raise ValueError("example %d has the label %r, which is not one of the labels"
                                 % (i, name.decode("utf-8", "replace")))
            classes[i] = position[name]
        # Repeated, empty or non-UTF-8 labels, one label, labels without examples: the
        # library refuses them with its own messages.
        label_array, label_count = text_array(order, "labels")
        options = _capi.bmc_probe_options()
        _capi.bmc_probe_options_init(ctypes.byref(options))
        if c is not None:
            options.c = c
        if max_iterations is not None:
            options.max_iterations = max_iterations
        if tolerance is not None:
            options.tolerance = tolerance
        out = ctypes.POINTER(_capi.bmc_probe)()
        check(_capi.bmc_probe_train(model._ptr, pointer(embeddings, ctypes.c_float),
                                    embeddings.shape[0], pointer(classes, ctypes.c_int32),
                                    label_array, label_count, ctypes.byref(options),
                                    ctypes.byref(out)))
        self._own(out, _capi.bmc_probe_free)

    @classmethod
    def load(cls, path: PathLike, model: Optional[Model] = None) -> "Probe":
        """Reads a probe file, checking its structure and checksums (bmc_probe_load), and, with
        `model`, that it was trained for that model (else ModelError, saying what differs);
        without one it is read unchecked, e.g. to inspect it."""
        out = ctypes.POINTER(_capi.bmc_probe)()
        check(_capi.bmc_probe_load(None if model is None else model._ptr, fspath(path),
                                   ctypes.byref(out)))
        probe = cls.__new__(cls)
        probe._own(out, _capi.bmc_probe_free)
        return probe

    def save(self, path: PathLike) -> None:
        """Writes the probe file (atomically: a temporary file renamed into place)."""
        check(_capi.bmc_probe_save(self._ptr, fspath(path)))

    @property
    def labels(self) -> List[str]:
        """The labels, in the probe's order (that of the probabilities and weights)."""
        count = _capi.bmc_probe_label_count(self._ptr)
        return [_capi.bmc_probe_label(self._ptr, i).decode("utf-8") for i in range(count)]

    @property
    def dim(self) -> int:
        """The embedding size the probe reads."""
        return _capi.bmc_probe_dim(self._ptr)

    @property
    def model_name(self) -> str:
        """The name of the model the probe was trained for (Model.name)."""
        return _capi.bmc_probe_model_name(self._ptr).decode("utf-8", "replace")

    @property
    def model_source(self) -> str:
        """The source of the model the probe was trained for (Model.source)."""
        return _capi.bmc_probe_model_source(self._ptr).decode("utf-8", "replace")

    @property
    def training(self) -> ProbeTraining:
        """How training went; a loaded probe reports what its file records."""
        c, iterations, converged = ctypes.c_double(), ctypes.c_int32(), ctypes.c_int32()
        check(_capi.bmc_probe_training(self._ptr, ctypes.byref(c), ctypes.byref(iterations),
                                       ctypes.byref(converged)))
        return ProbeTraining(c.value, iterations.value, bool(converged.value))

    def _weights(self) -> Tuple[np.ndarray, np.ndarray]:
        count = _capi.bmc_probe_label_count(self._ptr)
        weights = np.empty((count, self.dim), np.float32)
        biases = np.empty(count, np.float32)
        check(_capi.bmc_probe_weights(self._ptr, pointer(weights, ctypes.c_float), weights.size,
                                      pointer(biases, ctypes.c_float), biases.size))
        return weights, biases

    @property
    def weights(self) -> np.ndarray:
        """The weights: a new (labels, dim) float32 array, row k for label k. scikit-learn's
        coef_, except that a two-label probe has both rows (scikit-learn keeps the second;
        the first is its negative)."""
        return self._weights()[0]

    @property
    def biases(self) -> np.ndarray:
        """The biases: a new (labels,) float32 array, summing to zero (scikit-learn's
        intercept_ less its mean)."""
        return self._weights()[1]

    def probabilities(self, embeddings) -> np.ndarray:
        """softmax(W x + b) for each embedding (rows of dim values, of the kind the probe was
        trained on): a new (n, labels) float32 array in label order (bmc_probe_probabilities),
        scikit-learn's predict_proba."""
        embeddings = float32_rows(embeddings, "embeddings", self.dim)
        out = np.empty((embeddings.shape[0], _capi.bmc_probe_label_count(self._ptr)),
                       np.float32)
        check(_capi.bmc_probe_probabilities(self._ptr, pointer(embeddings, ctypes.c_float),
                                            embeddings.shape[0], pointer(out, ctypes.c_float),
                                            out.size))
        return out

    def predict(self, embeddings) -> List[str]:
        """The most probable label of each embedding (ties: the earlier label, as bmc_top_k
        ranks them), scikit-learn's predict."""
        labels = self.labels
        return [labels[_top(row, 1)[0]] for row in self.probabilities(embeddings)]

    def classify(self, image_encoder: ImageEncoder, image: Image,
                 k: Optional[int] = None) -> List[Tuple[str, float]]:
        """The k (default: all) most probable labels of one image, as (label, probability)
        pairs, most probable first, as Classifier.classify gives them: the image's embedding
        by `image_encoder`, whose model must be the one the probe was trained for (else
        ModelError), then probabilities()."""
        model = image_encoder.model
        if (model.name, model.source, model.embed_dim) != \
                (self.model_name, self.model_source, self.dim):
            raise error_for(_capi.BMC_ERR_MODEL,
                            "Probe.classify: the probe was trained for model %r (%s, %d-d), "
                            "the encoder runs %r (%s, %d-d)"
                            % (self.model_name, self.model_source, self.dim, model.name,
                               model.source, model.embed_dim))
        labels = self.labels
        k = len(labels) if k is None else k
        if not 1 <= k <= len(labels):
            raise ValueError("k = %d is outside 1..%d" % (k, len(labels)))
        row = self.probabilities(image_encoder.encode([image]))[0]
        return [(labels[i], float(row[i])) for i in _top(row, k)]

    def __repr__(self) -> str:
        if self.closed:
            return "<biomedclip.Probe (closed)>"
        return "<biomedclip.Probe %d labels x %d for %r>" % (
            _capi.bmc_probe_label_count(self._ptr), self.dim, self.model_name)


def _top(row: np.ndarray, k: int) -> np.ndarray:
    indices = np.empty(k, np.int32)
    check(_capi.bmc_top_k(pointer(row, ctypes.c_float), row.size, k,
                          pointer(indices, ctypes.c_int32)))
    return indices
