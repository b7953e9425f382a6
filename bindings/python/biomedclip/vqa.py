# SPDX-License-Identifier: MIT
"""Visual question answering: a trained head over the model (bmc_vqa_*), and zero-shot
answering with the two encoders."""
import ctypes
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import PathLike, fspath, pointer, text_array, utf8
from .errors import check
from .images import Image
from .model import ImageEncoder, Model, TextEncoder, call_with_progress

_QUESTION_TYPES = {"auto": _capi.BMC_VQA_AUTO, "open": _capi.BMC_VQA_OPEN}


def _c_text(text, name: str) -> bytes:
    data = utf8(text, name)
    if b"\0" in data:
        raise ValueError("%s contains a NUL character" % name)
    return data


class Vqa(Handle):
    """A VQA head archive loaded for `model` (bmc_vqa_load): a classifier over its answer
    vocabulary, with question-type rules; docs/vqa.md has the format. Immutable: threads may
    ask one head at once. Closing the model closes it."""

    def __init__(self, model: Model, path: PathLike):
        out = ctypes.POINTER(_capi.bmc_vqa)()
        check(_capi.bmc_vqa_load(model._ptr, fspath(path), ctypes.byref(out)))
        self._own(out, _capi.bmc_vqa_free, model)

    @property
    def name(self) -> str:
        return _capi.bmc_vqa_name(self._ptr).decode("utf-8", "replace")

    @property
    def answers(self) -> List[str]:
        """The answer vocabulary, in the head's order."""
        count = _capi.bmc_vqa_answer_count(self._ptr)
        return [_capi.bmc_vqa_answer(self._ptr, i).decode("utf-8") for i in range(count)]

    @property
    def rules(self) -> List[str]:
        """The names of the question-type rules ("yes/no", "choice", ...)."""
        count = _capi.bmc_vqa_rule_count(self._ptr)
        return [_capi.bmc_vqa_rule_name(self._ptr, i).decode("utf-8") for i in range(count)]

    def question_rule(self, question: str) -> Optional[int]:
        """The index of the rule that applies to `question`, or None for an open question."""
        rule = ctypes.c_int32()
        check(_capi.bmc_vqa_question_rule(self._ptr, _c_text(question, "question"),
                                          ctypes.byref(rule)))
        return None if rule.value < 0 else rule.value

    def logits(self, image: Image, questions: Sequence[str]) -> np.ndarray:
        """The head's raw logits, (questions, answers) float32 (bmc_vqa_logits)."""
        array, count = text_array(questions, "questions")
        out = np.empty((count, _capi.bmc_vqa_answer_count(self._ptr)), np.float32)
        check(_capi.bmc_vqa_logits(self._ptr, image._ptr, array, count,
                                   pointer(out, ctypes.c_float), out.size))
        return out

    def ask(self, image: Image, questions: Sequence[str], k: int = 5,
            question_type: str = "auto", min_probability: float = 0.0,
            choices: Optional[Sequence[str]] = None) -> List[List[Tuple[str, float]]]:
        """Answers each question: a list per question of up to k (answer, probability) pairs,
        most probable first (bmc_vqa_ask). question_type "auto" lets the head's rules restrict
        closed questions to their answers, "open" allows every answer; `choices` makes every
        question multiple choice among those answers; answers below min_probability are left
        out."""
        if question_type not in _QUESTION_TYPES:
            raise ValueError("question_type must be auto or open, not %r" % (question_type,))
        array, count = text_array(questions, "questions")
        options = _capi.bmc_vqa_options()
        _capi.bmc_vqa_options_init(ctypes.byref(options))
        options.question_type = _QUESTION_TYPES[question_type]
        options.min_probability = min_probability
        if choices is not None:
            choice_array, options.choice_count = text_array(choices, "choices")
            options.choices = ctypes.cast(choice_array, ctypes.POINTER(ctypes.c_char_p))
        answers = np.empty((count, k), np.int32) if k > 0 else np.empty(0, np.int32)
        probabilities = np.empty((count, k), np.float32) if k > 0 else np.empty(0, np.float32)
        check(_capi.bmc_vqa_ask(self._ptr, image._ptr, array, count, ctypes.byref(options), k,
                                pointer(answers, ctypes.c_int32),
                                pointer(probabilities, ctypes.c_float), answers.size))
        names = self.answers
        return [[(names[a], float(p)) for a, p in zip(row_a, row_p) if a >= 0]
                for row_a, row_p in zip(answers, probabilities)]


def vqa_statement(question: str, answer: str) -> str:
    """The statement zero-shot answering scores for a question and an answer
    ("Is there a lesion?", "no" -> "there is no lesion") (bmc_vqa_statement)."""
    q, a = _c_text(question, "question"), _c_text(answer, "answer")
    needed = ctypes.c_size_t()
    check(_capi.bmc_vqa_statement(q, a, None, 0, ctypes.byref(needed)))
    buffer = ctypes.create_string_buffer(needed.value)
    check(_capi.bmc_vqa_statement(q, a, buffer, len(buffer), ctypes.byref(needed)))
    return buffer.value.decode("utf-8")


def vqa_zero_shot(image_encoder: ImageEncoder, text_encoder: TextEncoder, image: Image,
                  question: str, candidates: Sequence[str]) -> np.ndarray:
    """Zero-shot probabilities of candidate answers, in candidate order: the softmax of the
    CLIP similarity of the image with each answer's statement (bmc_vqa_zero_shot)."""
    array, count = text_array(candidates, "candidates")
    out = np.empty(count, np.float32)
    call_with_progress([image_encoder, text_encoder], _capi.bmc_vqa_zero_shot,
                       image_encoder._ptr, text_encoder._ptr, image._ptr,
                       _c_text(question, "question"), array, count,
                       pointer(out, ctypes.c_float), out.size)
    return out
