# SPDX-License-Identifier: MIT
"""biomedclip — Python bindings of libbiomedclip (BiomedCLIP on a stable C ABI).

    import biomedclip as bmc

    with bmc.Model("model.bmc.pt") as model:
        texts = model.text_encoder()
        images = model.image_encoder()
        classifier = bmc.Classifier(texts, ["pneumothorax", "normal lungs"],
                                    ["a chest X-ray showing {}."])
        image = bmc.Image.open("chest.png")
        print(classifier.classify(images, image))

A few labelled images make a linear probe (logistic regression on their embeddings):

        probe = bmc.Probe(model, images.encode_files(paths), labels, c=10)
        probe.save("findings.bmcprobe")
        print(probe.classify(images, image))

Numpy arrays go in and come out (float32 embeddings, uint8 pixels); DICOM files open with
Image.open() (frame 0) or Dicom (attributes, every frame, a window of one's own), and frames
already held as pydicom datasets enter through biomedclip.dicom.image_from_dataset(). Every library failure raises a
BiomedclipError subclass carrying .status and .message. Objects that own library handles have
close() and are context managers; closing a Model closes what was made from it.

The shared library is found through BIOMEDCLIP_LIBRARY, then pkg-config, then the system loader
(see biomedclip._library).
"""
from ._library import ABI_MAJOR
from .captions import caption_score
from .classifier import (DEFAULT_NEGATIVE_TEMPLATE, DEFAULT_POSITIVE_TEMPLATE, DEFAULT_TEMPLATE,
                         Classifier, MultiLabel, template_set, template_sets)
from .errors import (BiomedclipError, BufferTooSmallError, CancelledError, CorruptDataError,
                     DeviceError, InternalError, InvalidArgumentError, InvalidUtf8Error, IoError,
                     LimitError, ModelError, NotFoundError, OutOfMemoryError, UnsupportedError,
                     VersionError)
from .dicom import Dicom
from .images import MODE_NAMES, Image, write_png
from .index import Index, IndexSet
from .model import ImageEncoder, Model, TextEncoder
from .preprocess import (FILTER_BICUBIC, FILTER_BILINEAR, FILTER_NEAREST, RESIZE_SHORTEST_CROP,
                         RESIZE_SQUASH, PreprocessOptions, preprocess, preprocess_rgb8)
from .probe import Probe, ProbeTraining
from .runtime import (LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN, configure, library_version,
                      runtime_config)
from .scoring import compose_query, cosine_similarity, softmax, top_k
from .segmentation import Segmenter, mask_overlay, mask_threshold
from .tokenizer import Tokenizer
from .vqa import Vqa, vqa_statement, vqa_zero_shot

__version__ = "0.1.0"

__all__ = [
    "ABI_MAJOR",
    "BiomedclipError",
    "BufferTooSmallError",
    "CancelledError",
    "Classifier",
    "CorruptDataError",
    "DEFAULT_NEGATIVE_TEMPLATE",
    "DEFAULT_POSITIVE_TEMPLATE",
    "DEFAULT_TEMPLATE",
    "DeviceError",
    "Dicom",
    "FILTER_BICUBIC",
    "FILTER_BILINEAR",
    "FILTER_NEAREST",
    "Image",
    "ImageEncoder",
    "Index",
    "IndexSet",
    "InternalError",
    "InvalidArgumentError",
    "InvalidUtf8Error",
    "IoError",
    "LOG_DEBUG",
    "LOG_ERROR",
    "LOG_INFO",
    "LOG_WARN",
    "LimitError",
    "MODE_NAMES",
    "Model",
    "ModelError",
    "MultiLabel",
    "NotFoundError",
    "OutOfMemoryError",
    "PreprocessOptions",
    "Probe",
    "ProbeTraining",
    "RESIZE_SHORTEST_CROP",
    "RESIZE_SQUASH",
    "Segmenter",
    "TextEncoder",
    "Tokenizer",
    "UnsupportedError",
    "VersionError",
    "Vqa",
    "caption_score",
    "compose_query",
    "configure",
    "cosine_similarity",
    "library_version",
    "mask_overlay",
    "mask_threshold",
    "preprocess",
    "preprocess_rgb8",
    "runtime_config",
    "softmax",
    "template_set",
    "template_sets",
    "top_k",
    "vqa_statement",
    "vqa_zero_shot",
    "write_png",
]
