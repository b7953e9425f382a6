// SPDX-License-Identifier: MIT
//! The tokenizer against the reference ids of the fixtures (tools/reference/bert_tokenizer.py).
mod common;

use biomedclip::{Model, SpecialToken, Status, Tokenizer, TokenizerOptions};
use common::*;

#[test]
fn batch_matches_the_reference() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let tokenizer = model.tokenizer();
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (ids, lengths) = tokenizer.encode_batch(&refs).unwrap();
    assert_eq!(ids, read_i32(model_fixture("text_ids.i32")));
    assert_eq!(lengths, read_i32(model_fixture("text_lengths.i32")));
    let context = tokenizer.context_length().unwrap() as usize;
    for (i, text) in refs.iter().enumerate() {
        let one = tokenizer.encode_bytes(text.as_bytes()).unwrap();
        assert_eq!(one.ids, ids[i * context..i * context + lengths[i] as usize]);
        assert_eq!(one.truncated, lengths[i] as usize == context);
    }
}

#[test]
fn tokens_ids_and_options() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let tokenizer = model.tokenizer();
    let ids = tokenizer.encode("a chest X-ray").unwrap();
    let tokens: Vec<&str> = ids.iter().map(|&id| tokenizer.token(id).unwrap()).collect();
    assert_eq!(tokens.first(), Some(&"[CLS]"));
    assert_eq!(tokens.last(), Some(&"[SEP]"));
    for (token, id) in tokens.iter().zip(&ids) {
        assert_eq!(tokenizer.token_id(token).unwrap(), *id);
    }
    assert_eq!(tokenizer.special_id(SpecialToken::Cls).unwrap(), ids[0]);
    let size = tokenizer.vocab_size().unwrap();
    assert_eq!(tokenizer.token(size).unwrap_err().status, Status::NotFound);
    assert_eq!(tokenizer.encode_bytes(b"abc \xff").unwrap_err().status, Status::InvalidUtf8);

    let vocab: Vec<u8> = (0..size).flat_map(|id| format!("{}\n", tokenizer.token(id).unwrap()).into_bytes()).collect();
    let options = TokenizerOptions { context_length: 4, error_on_overflow: true, ..Default::default() };
    let small = Tokenizer::from_vocab(&vocab, &options).unwrap();
    assert_eq!(small.encode("one two three four").unwrap_err().status, Status::Limit);
    let lenient = Tokenizer::from_vocab(&vocab, &TokenizerOptions { replace_invalid_utf8: true, ..Default::default() }).unwrap();
    assert_eq!(lenient.encode_bytes(b"chest \xff").unwrap().ids, tokenizer.encode("chest").unwrap());
    assert_eq!(Tokenizer::from_vocab(b"a\nb\n", &TokenizerOptions::default()).err().unwrap().status, Status::CorruptData);
}
