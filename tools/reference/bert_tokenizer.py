# SPDX-License-Identifier: MIT
"""A small reference of the BiomedCLIP text pipeline, for making model fixtures.

What open_clip's HFTokenizer does with clean='whitespace' and a BERT uncased vocab.txt:
  clean      html.unescape twice, strip, collapse whitespace runs to one space
             (open_clip also runs ftfy.fix_text first; ftfy is not installed here and is left
             out: it changes nothing on plain ASCII text without mojibake, which is what the
             fixtures use);
  normalize  drop U+0000, U+FFFD and control characters (category C* except tab, newline,
             carriage return), whitespace -> space, spaces around CJK ideographs, NFD and drop
             combining marks (Mn), lowercase;
  split      on whitespace; every punctuation character (ASCII punctuation or Unicode P*) is
             a word of its own;
  wordpiece  greedy longest match, "##" continuations, [UNK] for a word over 100 characters or
             one with an unmatchable position;
  post       [CLS] tokens [SEP], the tokens truncated so the whole fits context_length, padded
             with [PAD].
The fixtures use ASCII text; the library's own tokenizer is tested against a full reference.
"""
import html
import unicodedata
from typing import Dict, List

MAX_WORD_CHARS = 100

# CJK ideograph blocks that BERT's normalizer surrounds with spaces.
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def load_vocab(path: str) -> Dict[str, int]:
    """token -> id, id = 0-based line; trailing whitespace of a line is not part of the token
    and a repeated token keeps its last id (as the Rust tokenizers library reads vocab.txt)."""
    with open(path, encoding="utf-8", newline="\n") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return {line.rstrip(): i for i, line in enumerate(lines)}


def clean(text: str) -> str:
    """open_clip's 'whitespace' clean, without ftfy."""
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).strip()


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def normalize(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\x00\ufffd" or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_cjk(ch):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFD", "".join(out))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return text.lower()


def pre_tokenize(text: str) -> List[str]:
    words, current = [], []
    for ch in text:
        if ch.isspace() or _is_punctuation(ch):
            if current:
                words.append("".join(current))
                current = []
            if not ch.isspace():
                words.append(ch)
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


def wordpiece(word: str, vocab: Dict[str, int], unk: str = "[UNK]") -> List[str]:
    if len(word) > MAX_WORD_CHARS:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


def tokenize(text: str, vocab: Dict[str, int]) -> List[str]:
    """The WordPiece tokens of a text, before [CLS]/[SEP]."""
    return [p for w in pre_tokenize(normalize(clean(text))) for p in wordpiece(w, vocab)]


def encode(text: str, vocab: Dict[str, int], context_length: int = 256,
           pad: bool = True) -> List[int]:
    """Token ids as open_clip feeds the model: [CLS] ... [SEP], truncated to context_length,
    padded with [PAD] to context_length when pad is set."""
    ids = [vocab[t] for t in tokenize(text, vocab)][:context_length - 2]
    ids = [vocab["[CLS]"]] + ids + [vocab["[SEP]"]]
    if pad:
        ids += [vocab["[PAD]"]] * (context_length - len(ids))
    return ids
