# SPDX-License-Identifier: MIT
"""Caption metrics: BLEU-1..4, ROUGE-L, METEOR and CIDEr-D (bmc_caption_score).

docs/caption-metrics.md defines each metric and names the implementation it reproduces
(nltk for BLEU and METEOR, coco-caption for ROUGE-L and CIDEr-D).
"""
import ctypes
from typing import Sequence, Tuple, Union

import numpy as np

from . import _capi
from ._util import pointer, text_array
from .errors import check

METRICS = {
    "bleu1": _capi.BMC_CAPTION_BLEU_1, "bleu2": _capi.BMC_CAPTION_BLEU_2,
    "bleu3": _capi.BMC_CAPTION_BLEU_3, "bleu4": _capi.BMC_CAPTION_BLEU_4,
    "rouge_l": _capi.BMC_CAPTION_ROUGE_L, "meteor": _capi.BMC_CAPTION_METEOR,
    "cider_d": _capi.BMC_CAPTION_CIDER_D,
}

_OPTIONS = ("bleu_smoothing", "bleu_epsilon", "bleu_k", "rouge_beta", "meteor_alpha",
            "meteor_beta", "meteor_gamma", "cider_sigma")


def caption_score(metric: Union[str, int], candidates: Sequence[str],
                  references: Sequence[Sequence[str]], **options) -> Tuple[float, np.ndarray]:
    """Scores candidate captions against their references with one metric.

    `metric`: "bleu1".."bleu4", "rouge_l", "meteor", "cider_d" (or a BMC_CAPTION_* value).
    `references[i]` lists candidate i's references (at least one). Keyword options, None or
    absent for the library's defaults: bleu_smoothing (0 none, 1..4 nltk's method1..4),
    bleu_epsilon, bleu_k, rouge_beta, meteor_alpha, meteor_beta, meteor_gamma, cider_sigma.

    Returns (corpus score, per-candidate float64 array): corpus BLEU for BLEU, else the mean.
    """
    if isinstance(metric, str) and metric not in METRICS:
        raise ValueError("metric must be one of %s, not %r" % (", ".join(METRICS), metric))
    code = METRICS[metric] if isinstance(metric, str) else int(metric)
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise TypeError("unknown options: %s" % ", ".join(sorted(unknown)))
    if len(references) != len(candidates):
        raise ValueError("%d candidates but %d reference lists" % (len(candidates), len(references)))
    raw = _capi.bmc_caption_options()
    _capi.bmc_caption_options_init(ctypes.byref(raw))
    for name, value in options.items():
        if value is not None:
            setattr(raw, name, value)
    if any(isinstance(refs, (str, bytes)) for refs in references):
        raise TypeError("references[i] must be a list of strings, not one string")
    candidate_array, count = text_array(candidates, "candidates")
    reference_array, _ = text_array([r for refs in references for r in refs], "references")
    counts = np.array([len(refs) for refs in references], dtype=np.uintp)
    corpus = ctypes.c_double()
    per_candidate = np.empty(count, np.float64)
    check(_capi.bmc_caption_score(code, candidate_array, count, reference_array,
                                  pointer(counts, ctypes.c_size_t), ctypes.byref(raw),
                                  ctypes.byref(corpus), pointer(per_candidate, ctypes.c_double)))
    return corpus.value, per_candidate
