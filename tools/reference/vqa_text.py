# SPDX-License-Identifier: MIT
"""The text rules of visual question answering, exactly as the C library applies them
(lib/vqa/rules.c, lib/vqa/zero_shot.c): answer normalisation, the words of a question,
question-type rules that restrict closed questions to their answer set, and the statements
that zero-shot answering scores against the image. docs/vqa.md describes them.

Words: maximal runs of ASCII letters, ASCII digits and non-ASCII characters; ASCII letters
are lowercased (non-ASCII ones are kept as they are, as the C code works on UTF-8 bytes).
"""
import re
from typing import Dict, List, Optional, Sequence

_WORD = re.compile(r"[A-Za-z0-9\u0080-\U0010FFFF]+")
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# First words of closed yes/no questions ("Is there ...?", "Does the image show ...?").
YES_NO_WORDS = ["is", "are", "was", "were", "does", "do", "did", "can", "could", "has",
                "have", "had", "will", "would", "should", "shall", "may", "might", "must"]

# The verbs that "is there X?" questions start with, for the statement rule.
_THERE_VERBS = ("is", "are", "was", "were")
# Determiners dropped after "no" in a negative statement ("there is no circle").
_DROPPED_AFTER_NO = ("a", "an", "any", "some")


def words(text: str) -> List[str]:
    return [w.translate(_ASCII_LOWER) for w in _WORD.findall(text)]


def normalize_answer(text: str) -> str:
    """How the training tool stores answers: lowercased, whitespace collapsed, a final full
    stop dropped ("Yes." and " yes" are the same answer)."""
    text = " ".join(text.lower().split())
    return text[:-1].rstrip() if text.endswith(".") else text


def default_rules() -> List[Dict]:
    """The question-type rules the training tool writes into a head, in the order they are
    tried: "X or Y?" choices first (they often start like yes/no questions), then yes/no."""
    return [{"name": "choice", "match": "choice"},
            {"name": "yes/no", "match": "first_word", "words": list(YES_NO_WORDS),
             "answers": ["yes", "no"]}]


def _contains(haystack: List[str], needle: List[str]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def rule_answers(rule: Dict, question: str, answers: Sequence[str]) -> Optional[List[int]]:
    """Indices (into `answers`) a rule allows for `question`, or None when it does not apply.
      first_word: the question's first word is one of rule["words"]; allows rule["answers"];
      choice:     the question has the word "or" and mentions at least two answers (each as
                  a whole run of words); allows exactly those."""
    qwords = words(question)
    if rule["match"] == "first_word":
        if not qwords or qwords[0] not in rule["words"]:
            return None
        return [answers.index(a) for a in rule["answers"]]
    if rule["match"] == "choice":
        if "or" not in qwords:
            return None
        found = [i for i, a in enumerate(answers) if _contains(qwords, words(a))]
        return found if len(found) >= 2 else None
    raise ValueError(f"unknown rule match {rule['match']!r}")


def classify_question(rules: Sequence[Dict], question: str,
                      answers: Sequence[str]) -> Optional[int]:
    """The index of the first rule that applies, or None (an open question)."""
    for index, rule in enumerate(rules):
        if rule_answers(rule, question, answers) is not None:
            return index
    return None


def allowed_answers(rules: Sequence[Dict], question: str, answers: Sequence[str]) -> List[int]:
    """The answers a question may get: those of the first rule that applies, else all."""
    for rule in rules:
        allowed = rule_answers(rule, question, answers)
        if allowed is not None:
            return allowed
    return list(range(len(answers)))


def statement(question: str, answer: str) -> str:
    """The sentence zero-shot answering scores against the image.
      "Is there a circle?" + yes -> "there is a circle"; + no -> "there is no circle"
      (first word is/are/was/were, second "there"; a/an/any/some after "no" is dropped);
      anything else: the question, trimmed, a space, the answer, trimmed
      ("What organ is shown? liver")."""
    q, a = question.strip(" \t\n\r\f\v"), answer.strip(" \t\n\r\f\v")
    tokens = [t for t in _SPACES.split(q.rstrip("?")) if t]
    lowered = [t.translate(_ASCII_LOWER) for t in tokens]
    kind = a.translate(_ASCII_LOWER)
    if (len(tokens) >= 3 and lowered[0] in _THERE_VERBS and lowered[1] == "there"
            and kind in ("yes", "no")):
        rest = tokens[2:]
        if kind == "no":
            if len(rest) > 1 and rest[0].translate(_ASCII_LOWER) in _DROPPED_AFTER_NO:
                rest = rest[1:]
            rest = ["no"] + rest
        return " ".join(["there", lowered[0]] + rest)
    return f"{q} {a}"
