# SPDX-License-Identifier: MIT
"""The tokenizer against the reference ids the fixtures hold (tools/reference/bert_tokenizer.py)."""
import os

import numpy as np
import pytest

import biomedclip
from conftest import ROOT, fixture_path

VOCAB = os.path.join(ROOT, "tests", "data", "bert-base-uncased-vocab.txt")


def reference_ids(info):
    texts = len(info["text"])
    context = int(info["context_length"])
    ids = np.fromfile(fixture_path("text_ids.i32"), np.int32).reshape(texts, context)
    lengths = np.fromfile(fixture_path("text_lengths.i32"), np.int32)
    return ids, lengths


def fixture_texts():
    with open(fixture_path("texts.txt"), encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def test_batch_matches_reference(model, info):
    ids, lengths = model.tokenizer.encode_batch(fixture_texts())
    expected_ids, expected_lengths = reference_ids(info)
    assert np.array_equal(ids, expected_ids)
    assert np.array_equal(lengths, expected_lengths)


def test_encode_is_the_unpadded_row(model, info):
    expected_ids, expected_lengths = reference_ids(info)
    tokenizer = model.tokenizer
    for text, row, length in zip(fixture_texts(), expected_ids, expected_lengths):
        ids, truncated = tokenizer.encode(text, return_truncated=True)
        assert np.array_equal(ids, row[:length])
        assert truncated == (length == tokenizer.context_length)  # only the long report


def test_tokens_and_ids(model):
    tokenizer = model.tokenizer
    ids = tokenizer.encode("a chest X-ray")
    tokens = tokenizer.tokens(ids)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert [tokenizer.token_id(t) for t in tokens] == list(ids)
    assert tokenizer.special_id("[CLS]") == ids[0]
    assert tokenizer.special_id("[PAD]") == 0
    with pytest.raises(biomedclip.NotFoundError) as error:
        tokenizer.token(tokenizer.vocab_size)
    assert error.value.status == 14 and isinstance(error.value, LookupError)
    with pytest.raises(ValueError):
        tokenizer.special_id("[BOS]")


def test_tokenizer_from_vocab_file_and_text():
    if not os.path.exists(VOCAB):
        pytest.fail("missing %s" % VOCAB)
    with biomedclip.Tokenizer.from_file(VOCAB, context_length=8) as small:
        ids, truncated = small.encode("the heart is normal in size, no effusion",
                                      return_truncated=True)
        assert len(ids) == 8 and truncated
        with open(VOCAB, encoding="utf-8") as f:
            vocab = f.read()
        with biomedclip.Tokenizer.from_vocab(vocab, context_length=8) as same:
            assert np.array_equal(same.encode("the heart is normal in size"), small.encode(
                "the heart is normal in size"))
    with biomedclip.Tokenizer.from_file(VOCAB, overflow="error", context_length=4) as strict:
        with pytest.raises(biomedclip.LimitError):
            strict.encode("one two three four five")


def test_invalid_utf8(model):
    with pytest.raises(biomedclip.InvalidUtf8Error) as error:
        model.tokenizer.encode(b"abc \xff def")
    assert "offset" in error.value.message or "4" in error.value.message
    with biomedclip.Tokenizer.from_file(VOCAB, invalid_utf8="replace") as lenient:
        assert lenient.tokens(lenient.encode(b"abc \xff def")) == ["[CLS]", "abc", "def", "[SEP]"]


def test_model_tokenizer_closes_with_the_model():
    model = biomedclip.Model(fixture_path("model.bmc.pt"))
    tokenizer = model.tokenizer
    assert tokenizer.vocab_size > 0
    model.close()
    assert tokenizer.closed
    with pytest.raises(ValueError):
        tokenizer.encode("x")


def test_bad_vocabulary_raises():
    with pytest.raises(biomedclip.CorruptDataError):
        biomedclip.Tokenizer.from_vocab("just\nwords\n")
