// SPDX-License-Identifier: MIT
//! The BiomedBERT WordPiece tokenizer, as open_clip's HFTokenizer drives it for BiomedCLIP.
use std::ffi::CStr;
use std::marker::PhantomData;
use std::ops::Deref;
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::error::{c_path, c_string, c_strings, check, Error, Result};
use crate::model::Model;

/// Options of a tokenizer made from a vocabulary file; the default is BiomedCLIP's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizerOptions {
    /// Ids per text, [CLS] and [SEP] included (256).
    pub context_length: i32,
    /// Lowercase and strip accents (an uncased vocabulary).
    pub lowercase: bool,
    /// open_clip's text cleaning first.
    pub clean: bool,
    /// Read invalid UTF-8 bytes as U+FFFD instead of failing with `Status::InvalidUtf8`.
    pub replace_invalid_utf8: bool,
    /// Fail with `Status::Limit` instead of truncating texts longer than the context.
    pub error_on_overflow: bool,
    /// "[CLS]", "[SEP]", ... written in the text are those special tokens.
    pub special_tokens: bool,
}

impl Default for TokenizerOptions {
    fn default() -> Self {
        let raw = raw_options();
        TokenizerOptions {
            context_length: raw.context_length,
            lowercase: raw.lowercase != 0,
            clean: raw.clean != 0,
            replace_invalid_utf8: raw.invalid_utf8 == sys::BMC_INVALID_UTF8_REPLACE,
            error_on_overflow: raw.overflow == sys::BMC_OVERFLOW_ERROR,
            special_tokens: raw.special_tokens != 0,
        }
    }
}

fn raw_options() -> sys::bmc_tokenizer_options {
    let mut raw: sys::bmc_tokenizer_options = unsafe { std::mem::zeroed() };
    // SAFETY: raw is a valid, writable struct.
    unsafe { sys::bmc_tokenizer_options_init(&mut raw) };
    raw
}

impl TokenizerOptions {
    fn to_raw(&self) -> sys::bmc_tokenizer_options {
        let mut raw = raw_options();
        raw.context_length = self.context_length;
        raw.lowercase = i32::from(self.lowercase);
        raw.clean = i32::from(self.clean);
        raw.invalid_utf8 = if self.replace_invalid_utf8 {
            sys::BMC_INVALID_UTF8_REPLACE
        } else {
            sys::BMC_INVALID_UTF8_ERROR
        };
        raw.overflow =
            if self.error_on_overflow { sys::BMC_OVERFLOW_ERROR } else { sys::BMC_OVERFLOW_TRUNCATE };
        raw.special_tokens = i32::from(self.special_tokens);
        raw
    }
}

/// Special tokens, for [`Tokenizer::special_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialToken {
    Pad,
    Unk,
    Cls,
    Sep,
    Mask,
}

/// Text to token ids: `[CLS] ... [SEP]`, truncated to the context length. Immutable, so it is
/// `Send` and `Sync`.
pub struct Tokenizer {
    raw: NonNull<sys::bmc_tokenizer>,
    owned: bool,
}

// SAFETY: the header says a tokenizer is immutable once created and usable by any number of
// threads at once.
unsafe impl Send for Tokenizer {}
unsafe impl Sync for Tokenizer {}

/// A model's own tokenizer, borrowed from the model (see [`Model::tokenizer`]).
pub struct ModelTokenizer<'m> {
    tokenizer: Tokenizer,
    _model: PhantomData<&'m Model>,
}

impl<'m> Deref for ModelTokenizer<'m> {
    type Target = Tokenizer;
    fn deref(&self) -> &Tokenizer {
        &self.tokenizer
    }
}

impl<'m> ModelTokenizer<'m> {
    pub(crate) fn new(raw: *const sys::bmc_tokenizer, _model: &'m Model) -> Self {
        let raw = NonNull::new(raw as *mut _).expect("a loaded model has a tokenizer");
        ModelTokenizer { tokenizer: Tokenizer { raw, owned: false }, _model: PhantomData }
    }
}

/// One text's ids, unpadded, and whether tokens were dropped to fit the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    pub ids: Vec<i32>,
    pub truncated: bool,
}

impl Tokenizer {
    fn as_ptr(&self) -> *const sys::bmc_tokenizer {
        self.raw.as_ptr()
    }

    fn from_raw(raw: *mut sys::bmc_tokenizer) -> Tokenizer {
        Tokenizer { raw: NonNull::new(raw).expect("BMC_OK and no tokenizer"), owned: true }
    }

    /// A tokenizer from a vocab.txt file (`bmc_tokenizer_create_file`).
    pub fn from_file<P: AsRef<Path>>(path: P, options: &TokenizerOptions) -> Result<Tokenizer> {
        let path = c_path(path.as_ref())?;
        let raw_options = options.to_raw();
        let mut out = ptr::null_mut();
        // SAFETY: valid C string, options and out-pointer.
        check(unsafe { sys::bmc_tokenizer_create_file(path.as_ptr(), &raw_options, &mut out) })?;
        Ok(Tokenizer::from_raw(out))
    }

    /// A tokenizer from the contents of a vocab.txt (`bmc_tokenizer_create_memory`).
    pub fn from_vocab(vocab: &[u8], options: &TokenizerOptions) -> Result<Tokenizer> {
        let raw_options = options.to_raw();
        let mut out = ptr::null_mut();
        // SAFETY: vocab is valid for vocab.len() bytes during the call.
        check(unsafe {
            sys::bmc_tokenizer_create_memory(
                vocab.as_ptr() as *const c_char,
                vocab.len(),
                &raw_options,
                &mut out,
            )
        })?;
        Ok(Tokenizer::from_raw(out))
    }

    /// The ids of a text ([CLS] ... [SEP], unpadded).
    pub fn encode(&self, text: &str) -> Result<Vec<i32>> {
        Ok(self.encode_bytes(text.as_bytes())?.ids)
    }

    /// The ids of UTF-8 bytes (invalid UTF-8 is an error or replaced, as the options say) and
    /// whether the text was truncated (`bmc_tokenizer_encode`, with a size query first).
    pub fn encode_bytes(&self, text: &[u8]) -> Result<Encoding> {
        let pointer = text.as_ptr() as *const c_char;
        let mut count = 0usize;
        // SAFETY: text is valid for text.len() bytes; NULL ids makes this a size query.
        check(unsafe {
            sys::bmc_tokenizer_encode(self.as_ptr(), pointer, text.len(), ptr::null_mut(), 0,
                                      &mut count, ptr::null_mut())
        })?;
        let mut ids = vec![0i32; count];
        let mut truncated = 0i32;
        // SAFETY: ids has room for count ids.
        check(unsafe {
            sys::bmc_tokenizer_encode(self.as_ptr(), pointer, text.len(), ids.as_mut_ptr(),
                                      ids.len(), &mut count, &mut truncated)
        })?;
        ids.truncate(count);
        Ok(Encoding { ids, truncated: truncated != 0 })
    }

    /// The n x context_length id matrix open_clip's tokenizer returns (rows padded with
    /// [PAD]), row-major, and each row's length before the padding.
    pub fn encode_batch(&self, texts: &[&str]) -> Result<(Vec<i32>, Vec<i32>)> {
        let context = self.context_length()? as usize;
        let (_owned, pointers) = c_strings(texts, "a text")?;
        let mut ids = vec![0i32; texts.len() * context];
        let mut lengths = vec![0i32; texts.len()];
        if texts.is_empty() {
            return Ok((ids, lengths));
        }
        // SAFETY: pointers holds texts.len() valid C strings; ids and lengths are sized.
        check(unsafe {
            sys::bmc_tokenizer_encode_batch(self.as_ptr(), pointers.as_ptr(), texts.len(),
                                            ids.as_mut_ptr(), ids.len(), lengths.as_mut_ptr(),
                                            ptr::null_mut())
        })?;
        Ok((ids, lengths))
    }

    /// The token string of an id ("##s" for a continuation); `Status::NotFound` if out of range.
    pub fn token(&self, id: i32) -> Result<&str> {
        let mut token: *const c_char = ptr::null();
        // SAFETY: a live tokenizer; the string lives as long as it does (so, as &self).
        check(unsafe { sys::bmc_tokenizer_token(self.as_ptr(), id, &mut token) })?;
        unsafe { CStr::from_ptr(token) }
            .to_str()
            .map_err(|_| Error::invalid("the vocabulary holds a token that is not UTF-8"))
    }

    /// The id of an exact token string; `Status::NotFound` if it is not in the vocabulary.
    pub fn token_id(&self, token: &str) -> Result<i32> {
        let token = c_string(token, "the token")?;
        let mut id = 0;
        // SAFETY: valid C string and out-pointer.
        check(unsafe { sys::bmc_tokenizer_token_id(self.as_ptr(), token.as_ptr(), &mut id) })?;
        Ok(id)
    }

    /// The id of a special token in this vocabulary.
    pub fn special_id(&self, token: SpecialToken) -> Result<i32> {
        let which = match token {
            SpecialToken::Pad => sys::BMC_TOKEN_PAD,
            SpecialToken::Unk => sys::BMC_TOKEN_UNK,
            SpecialToken::Cls => sys::BMC_TOKEN_CLS,
            SpecialToken::Sep => sys::BMC_TOKEN_SEP,
            SpecialToken::Mask => sys::BMC_TOKEN_MASK,
        };
        let mut id = 0;
        // SAFETY: a live tokenizer and an out-pointer.
        check(unsafe { sys::bmc_tokenizer_special_id(self.as_ptr(), which, &mut id) })?;
        Ok(id)
    }

    /// The number of ids in the vocabulary.
    pub fn vocab_size(&self) -> Result<i32> {
        let mut size = 0;
        // SAFETY: a live tokenizer and an out-pointer.
        check(unsafe { sys::bmc_tokenizer_vocab_size(self.as_ptr(), &mut size) })?;
        Ok(size)
    }

    /// The context length in ids, [CLS] and [SEP] included.
    pub fn context_length(&self) -> Result<i32> {
        let mut length = 0;
        // SAFETY: a live tokenizer and an out-pointer.
        check(unsafe { sys::bmc_tokenizer_context_length(self.as_ptr(), &mut length) })?;
        Ok(length)
    }
}

impl Drop for Tokenizer {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: we own this tokenizer and nothing else uses it any more.
            unsafe { sys::bmc_tokenizer_free(self.raw.as_ptr()) }
        }
    }
}
