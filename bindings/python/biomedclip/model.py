# SPDX-License-Identifier: MIT
"""Model bundles and the image and text encoders."""
import ctypes
import os
from typing import Callable, Optional, Sequence, Union

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import PathLike, float32_rows, fspath, pointer, text_array
from .errors import check
from .images import Image
from .preprocess import PreprocessOptions
from .tokenizer import Tokenizer

_DTYPES = {"float32": _capi.BMC_DTYPE_F32, "float16": _capi.BMC_DTYPE_F16,
           "bfloat16": _capi.BMC_DTYPE_BF16}

#: A progress callback: called between batches with (done, total); return True to cancel.
Progress = Callable[[int, int], bool]


class Model(Handle):
    """A loaded BiomedCLIP model bundle (bmc_model_load).

    `device` is "cpu", "cuda" or "cuda:N"; `dtype` "float32", "float16" (CUDA only) or
    "bfloat16" (CUDA, and CPUs with AVX512_BF16 or AMX-BF16). Immutable: threads may share one model, each with its own
    encoders. Closing the model closes every encoder and classifier made from it.
    """

    def __init__(self, path: PathLike, device: str = "cpu", dtype: str = "float32"):
        if dtype not in _DTYPES:
            raise ValueError("dtype must be one of %s, not %r" % (", ".join(_DTYPES), dtype))
        options = _capi.bmc_model_options()
        _capi.bmc_model_options_init(ctypes.byref(options))
        options.device = device.encode("utf-8")
        options.dtype = _DTYPES[dtype]
        out = ctypes.POINTER(_capi.bmc_model)()
        check(_capi.bmc_model_load(fspath(path), ctypes.byref(options), ctypes.byref(out)))
        self._own(out, _capi.bmc_model_free)

    @property
    def embed_dim(self) -> int:
        """The joint embedding size (512 for BiomedCLIP)."""
        return _capi.bmc_model_embed_dim(self._ptr)

    @property
    def context_length(self) -> int:
        """The text context in tokens, [CLS] and [SEP] included (256 for BiomedCLIP)."""
        return _capi.bmc_model_context_length(self._ptr)

    @property
    def logit_scale(self) -> float:
        """The multiplier exp(logit_scale) applied to cosine similarities."""
        return _capi.bmc_model_logit_scale(self._ptr)

    @property
    def name(self) -> str:
        return _capi.bmc_model_name(self._ptr).decode("utf-8", "replace")

    @property
    def source(self) -> str:
        """Where the weights came from (a checkpoint digest, or "random seed N")."""
        return _capi.bmc_model_source(self._ptr).decode("utf-8", "replace")

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer of the bundle's vocabulary (owned by the model)."""
        return Tokenizer(_capi.bmc_model_tokenizer(self._ptr), _owner=self)

    def preprocess_options(self) -> PreprocessOptions:
        """The model's own preprocessing, for biomedclip.preprocess()."""
        options = PreprocessOptions()._to_c()
        check(_capi.bmc_model_preprocess_options(self._ptr, ctypes.byref(options)))
        return PreprocessOptions._from_c(options)

    def image_encoder(self, batch_size: int = 32, progress: Optional[Progress] = None,
                      fast_jpeg: bool = False) -> "ImageEncoder":
        """A new image encoder for this model (one per thread). `fast_jpeg`: encode_files
        decodes large JPEGs at reduced scale (faster, not bit-exact; see ImageEncoder)."""
        return ImageEncoder(self, batch_size, progress, fast_jpeg)

    def text_encoder(self, batch_size: int = 32, truncate: bool = True,
                     progress: Optional[Progress] = None) -> "TextEncoder":
        """A new text encoder for this model (one per thread)."""
        return TextEncoder(self, batch_size, truncate, progress)

    def logits(self, image_embeddings, text_embeddings) -> np.ndarray:
        """logit_scale x cosine similarity: a new (images, texts) float32 array
        (bmc_model_logits). Follow with softmax() for probabilities over the texts."""
        images = float32_rows(image_embeddings, "image_embeddings")
        texts = float32_rows(text_embeddings, "text_embeddings")
        if images.shape[1] != texts.shape[1]:
            raise ValueError("embeddings of %d and %d values" % (images.shape[1], texts.shape[1]))
        out = np.empty((images.shape[0], texts.shape[0]), np.float32)
        check(_capi.bmc_model_logits(self._ptr, pointer(images, ctypes.c_float), images.shape[0],
                                     pointer(texts, ctypes.c_float), texts.shape[0],
                                     pointer(out, ctypes.c_float), out.size))
        return out

    def __repr__(self) -> str:
        if self.closed:
            return "<biomedclip.Model (closed)>"
        return "<biomedclip.Model %r, embed_dim %d>" % (self.name, self.embed_dim)


def call_with_progress(encoders, function, *args) -> None:
    """Runs a library call that may call the encoders' progress callbacks: an exception a
    callback raised is raised here, else the call's status is checked."""
    failures = [encoder._progress_error for encoder in encoders]
    for failure in failures:
        failure[0] = None
    status = function(*args)
    for failure in failures:
        if failure[0] is not None:
            error, failure[0] = failure[0], None
            raise error
    check(status)


class _Encoder(Handle):
    """What the two encoders share: options, the progress callback and the output buffer."""

    def _options(self, batch_size: int, truncate: bool, progress: Optional[Progress]):
        options = _capi.bmc_encoder_options()
        _capi.bmc_encoder_options_init(ctypes.byref(options))
        options.batch_size = batch_size
        options.truncate = 1 if truncate else 0
        # The callback writes an exception it catches here (not on self: no reference cycle),
        # to be raised again once the call has returned.
        self._progress_error = failure = [None]
        if progress is not None:
            def call(user_data, done, total):
                try:
                    return 1 if progress(done, total) else 0
                except BaseException as error:
                    failure[0] = error
                    return 1
            # Kept on the encoder: the library calls it during every encode.
            self._progress_fn = _capi.bmc_progress_fn(call)
            options.progress_fn = self._progress_fn
        return options

    def _call(self, function, *args) -> None:
        """Runs a library call that may call this encoder's progress callback."""
        call_with_progress([self], function, *args)

    def _run(self, encode, count: int) -> np.ndarray:
        embeddings = np.empty((count, self.embed_dim), np.float32)
        self._call(encode, pointer(embeddings, ctypes.c_float), embeddings.size)
        return embeddings


class ImageEncoder(_Encoder):
    """Runs the image tower (bmc_image_encoder_*). Not for two threads at once: make one per
    thread. `progress(done, total)` is called between batches; returning True cancels the
    call with CancelledError, and an exception it raises is raised by encode(). With
    `fast_jpeg`, encode_files() loads JPEGs as Image.open(path, draft=S) does (S the model's
    input size) instead of in full: faster on large JPEGs, embeddings move slightly."""

    def __init__(self, model: Model, batch_size: int = 32, progress: Optional[Progress] = None,
                 fast_jpeg: bool = False):
        options = self._options(batch_size, True, progress)
        options.fast_jpeg = 1 if fast_jpeg else 0
        out = ctypes.POINTER(_capi.bmc_image_encoder)()
        check(_capi.bmc_image_encoder_create(model._ptr, ctypes.byref(options), ctypes.byref(out)))
        self.model, self.embed_dim = model, model.embed_dim
        self._own(out, _capi.bmc_image_encoder_free, model)

    def encode(self, images: Sequence[Image], raw: bool = False) -> np.ndarray:
        """Embeddings of `images`: a new (n, embed_dim) float32 array, L2-normalised unless
        `raw` (then the projection's output)."""
        if isinstance(images, Image):
            raise TypeError("encode takes a sequence of images; wrap one image in a list")
        pointers = (ctypes.POINTER(_capi.bmc_image) * max(len(images), 1))(
            *[image._ptr for image in images])
        flags = _capi.BMC_ENCODE_RAW if raw else 0
        return self._run(lambda out, capacity: _capi.bmc_image_encoder_encode(
            self._ptr, pointers, len(images), flags, out, capacity), len(images))

    def encode_tensors(self, tensors, raw: bool = False) -> np.ndarray:
        """Embeddings of preprocessed (n, 3, S, S) float32 tensors, as preprocess() makes them."""
        tensors = np.ascontiguousarray(tensors, dtype=np.float32)
        if tensors.ndim == 3:
            tensors = tensors[np.newaxis]
        if tensors.ndim != 4:
            raise ValueError("tensors must have shape (n, 3, S, S), not %s" % (tensors.shape,))
        count = tensors.shape[0]
        flags = _capi.BMC_ENCODE_RAW if raw else 0
        return self._run(lambda out, capacity: _capi.bmc_image_encoder_encode_tensors(
            self._ptr, pointer(tensors, ctypes.c_float), tensors.size, count, flags, out,
            capacity), count)

    def encode_files(self, paths: Sequence[PathLike], raw: bool = False) -> np.ndarray:
        """Embeddings of the PNG and JPEG files at `paths`, in order: the same array, bit for
        bit, as encode() of the files opened with Image.open, while the library decodes the
        next batch on its own threads as the model runs the current one. The first file that
        cannot be read fails the call (IoError, CorruptDataError, ...; the message names it)."""
        if isinstance(paths, (str, bytes, os.PathLike)):
            raise TypeError("encode_files takes a sequence of paths; wrap one path in a list")
        encoded = [fspath(p) for p in paths]
        for i, p in enumerate(encoded):
            if b"\0" in p:
                raise ValueError("paths[%d] contains a NUL character" % i)
        array = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
        flags = _capi.BMC_ENCODE_RAW if raw else 0
        return self._run(lambda out, capacity: _capi.bmc_image_encoder_encode_files(
            self._ptr, array, len(encoded), flags, out, capacity), len(encoded))


class TextEncoder(_Encoder):
    """Tokenizes and runs the text tower (bmc_text_encoder_*). Not for two threads at once:
    make one per thread. With truncate=False a text longer than the context is an error
    (LimitError) instead of being cut. `progress` as for ImageEncoder."""

    def __init__(self, model: Model, batch_size: int = 32, truncate: bool = True,
                 progress: Optional[Progress] = None):
        options = self._options(batch_size, truncate, progress)
        out = ctypes.POINTER(_capi.bmc_text_encoder)()
        check(_capi.bmc_text_encoder_create(model._ptr, ctypes.byref(options), ctypes.byref(out)))
        self.model, self.embed_dim = model, model.embed_dim
        self._own(out, _capi.bmc_text_encoder_free, model)

    def encode(self, texts: Sequence[Union[str, bytes]], raw: bool = False) -> np.ndarray:
        """Embeddings of `texts` (a sequence of str or UTF-8 bytes): a new (n, embed_dim)
        float32 array, L2-normalised unless `raw`."""
        array, count = text_array(texts)
        flags = _capi.BMC_ENCODE_RAW if raw else 0
        return self._run(lambda out, capacity: _capi.bmc_text_encoder_encode(
            self._ptr, array, count, flags, out, capacity), count)
