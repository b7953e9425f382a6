# SPDX-License-Identifier: MIT
"""The BiomedBERT WordPiece tokenizer, as open_clip's HFTokenizer drives it for BiomedCLIP."""
import ctypes
from typing import List, Sequence, Tuple, Union

import numpy as np

from . import _capi
from ._handle import Handle
from ._util import PathLike, fspath, pointer, text_array, utf8
from .errors import check

_SPECIAL = {"[PAD]": _capi.BMC_TOKEN_PAD, "[UNK]": _capi.BMC_TOKEN_UNK,
            "[CLS]": _capi.BMC_TOKEN_CLS, "[SEP]": _capi.BMC_TOKEN_SEP,
            "[MASK]": _capi.BMC_TOKEN_MASK}


def _options(context_length=None, lowercase=None, clean=None, invalid_utf8=None, overflow=None,
             special_tokens=None) -> _capi.bmc_tokenizer_options:
    options = _capi.bmc_tokenizer_options()
    _capi.bmc_tokenizer_options_init(ctypes.byref(options))
    if context_length is not None:
        options.context_length = context_length
    for name, value in (("lowercase", lowercase), ("clean", clean),
                        ("special_tokens", special_tokens)):
        if value is not None:
            setattr(options, name, 1 if value else 0)
    if invalid_utf8 is not None:
        options.invalid_utf8 = {"error": _capi.BMC_INVALID_UTF8_ERROR,
                                "replace": _capi.BMC_INVALID_UTF8_REPLACE}[invalid_utf8]
    if overflow is not None:
        options.overflow = {"truncate": _capi.BMC_OVERFLOW_TRUNCATE,
                            "error": _capi.BMC_OVERFLOW_ERROR}[overflow]
    return options


class Tokenizer(Handle):
    """Text to token ids: [CLS] ... [SEP], truncated to the context length.

    Make one from a vocab.txt with Tokenizer.from_file() / from_vocab(), or take a model's
    with Model.tokenizer. Keyword options (None keeps the library's default, BiomedCLIP's):
    context_length (256), lowercase (True), clean (True: open_clip's text cleaning),
    invalid_utf8 ("error" or "replace"), overflow ("truncate" or "error"), special_tokens
    (True: "[CLS]" etc. written in the text are those tokens). Immutable: any number of
    threads may use one tokenizer at once.
    """

    def __init__(self, _pointer=None, _owner=None):
        if _pointer is None:
            raise TypeError("use Tokenizer.from_file(), Tokenizer.from_vocab() or Model.tokenizer")
        if _owner is None:
            self._own(_pointer, _capi.bmc_tokenizer_free)
        else:
            self._borrow(_pointer, _owner)

    @classmethod
    def from_file(cls, vocab_path: PathLike, **options) -> "Tokenizer":
        """A tokenizer from a vocab.txt file (bmc_tokenizer_create_file)."""
        out = ctypes.POINTER(_capi.bmc_tokenizer)()
        check(_capi.bmc_tokenizer_create_file(fspath(vocab_path),
                                              ctypes.byref(_options(**options)),
                                              ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_vocab(cls, vocab: Union[str, bytes], **options) -> "Tokenizer":
        """A tokenizer from the text of a vocab.txt (bmc_tokenizer_create_memory)."""
        data = utf8(vocab, "vocab")
        out = ctypes.POINTER(_capi.bmc_tokenizer)()
        check(_capi.bmc_tokenizer_create_memory(data, len(data),
                                                ctypes.byref(_options(**options)),
                                                ctypes.byref(out)))
        return cls(out)

    def encode(self, text: Union[str, bytes], return_truncated: bool = False):
        """The ids of one text, unpadded: a new int32 array (bmc_tokenizer_encode).

        With return_truncated=True, returns (ids, truncated) where truncated tells whether
        tokens were dropped to fit the context length. `text` may be bytes (UTF-8).
        """
        data = utf8(text)
        count, truncated = ctypes.c_size_t(), ctypes.c_int32()
        check(_capi.bmc_tokenizer_encode(self._ptr, data, len(data), None, 0,
                                         ctypes.byref(count), None))
        ids = np.empty(count.value, np.int32)
        check(_capi.bmc_tokenizer_encode(self._ptr, data, len(data), pointer(ids, ctypes.c_int32),
                                         ids.size, ctypes.byref(count), ctypes.byref(truncated)))
        return (ids, bool(truncated.value)) if return_truncated else ids

    def encode_batch(self, texts: Sequence[Union[str, bytes]]) -> Tuple[np.ndarray, np.ndarray]:
        """The (n, context_length) int32 matrix open_clip's tokenizer returns (rows padded
        with [PAD]) and the (n,) int32 lengths before the padding (bmc_tokenizer_encode_batch)."""
        array, n = text_array(texts)
        ids = np.empty((n, self.context_length), np.int32)
        lengths = np.empty(n, np.int32)
        if n:
            check(_capi.bmc_tokenizer_encode_batch(self._ptr, array, n,
                                                   pointer(ids, ctypes.c_int32), ids.size,
                                                   pointer(lengths, ctypes.c_int32), None))
        return ids, lengths

    def tokens(self, ids) -> List[str]:
        """The token strings of `ids` ("##s" for continuations)."""
        return [self.token(int(i)) for i in ids]

    def token(self, token_id: int) -> str:
        """The token string of one id (bmc_tokenizer_token); NotFoundError if out of range."""
        text = ctypes.c_char_p()
        check(_capi.bmc_tokenizer_token(self._ptr, token_id, ctypes.byref(text)))
        return text.value.decode("utf-8")

    def token_id(self, token: str) -> int:
        """The id of an exact token string (bmc_tokenizer_token_id); NotFoundError if absent."""
        value = ctypes.c_int32()
        check(_capi.bmc_tokenizer_token_id(self._ptr, utf8(token, "token"), ctypes.byref(value)))
        return value.value

    def special_id(self, token: str) -> int:
        """The id of "[PAD]", "[UNK]", "[CLS]", "[SEP]" or "[MASK]" in this vocabulary."""
        if token not in _SPECIAL:
            raise ValueError("%r is not one of %s" % (token, ", ".join(_SPECIAL)))
        value = ctypes.c_int32()
        check(_capi.bmc_tokenizer_special_id(self._ptr, _SPECIAL[token], ctypes.byref(value)))
        return value.value

    @property
    def vocab_size(self) -> int:
        value = ctypes.c_int32()
        check(_capi.bmc_tokenizer_vocab_size(self._ptr, ctypes.byref(value)))
        return value.value

    @property
    def context_length(self) -> int:
        value = ctypes.c_int32()
        check(_capi.bmc_tokenizer_context_length(self._ptr, ctypes.byref(value)))
        return value.value
