// SPDX-License-Identifier: MIT
//! Visual question answering: a trained head over the model (`bmc_vqa_*`), and zero-shot
//! answering with the two encoders.
use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::{self, NonNull};

use biomedclip_sys as sys;

use crate::error::{c_path, c_string, c_strings, check, Error, Result};
use crate::image::Image;
use crate::model::{ImageEncoder, Model, TextEncoder};

/// A VQA head loaded for a model; docs/vqa.md has the format. Immutable: `Send` and `Sync`.
/// It borrows the model.
pub struct Vqa<'m> {
    raw: NonNull<sys::bmc_vqa>,
    _model: PhantomData<&'m Model>,
}

// SAFETY: the header says any number of threads may ask one head at once.
unsafe impl<'m> Send for Vqa<'m> {}
unsafe impl<'m> Sync for Vqa<'m> {}

/// Which answers a question may get, for [`Vqa::ask`].
#[derive(Debug, Clone, PartialEq)]
pub enum Answers<'a> {
    /// The head's rules restrict closed questions (yes/no, "X or Y?") to their answers.
    Auto,
    /// Every question may get every answer.
    Open,
    /// Every question is multiple choice among these answers of the head.
    Choices(&'a [&'a str]),
}

/// One ranked answer of [`Vqa::ask`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer<'h> {
    pub index: usize,
    pub answer: &'h str,
    pub probability: f32,
}

impl<'m> Vqa<'m> {
    /// Loads a head archive for `model` (`bmc_vqa_load`).
    pub fn load<P: AsRef<Path>>(model: &'m Model, path: P) -> Result<Self> {
        let path = c_path(path.as_ref())?;
        let mut out = ptr::null_mut();
        // SAFETY: a live model, a valid C string and an out-pointer.
        check(unsafe { sys::bmc_vqa_load(model.as_ptr(), path.as_ptr(), &mut out) })?;
        Ok(Vqa { raw: NonNull::new(out).expect("BMC_OK and no head"), _model: PhantomData })
    }

    /// The head's name as its exporter recorded it.
    pub fn name(&self) -> &str {
        // SAFETY: a string owned by the head, which &self keeps alive.
        unsafe { CStr::from_ptr(sys::bmc_vqa_name(self.raw.as_ptr())) }.to_str().unwrap_or("")
    }

    /// The answer vocabulary, in the head's order.
    pub fn answers(&self) -> Vec<&str> {
        // SAFETY: a live head; the strings live as long as it (so, as &self).
        let count = unsafe { sys::bmc_vqa_answer_count(self.raw.as_ptr()) };
        (0..count)
            .map(|i| unsafe { CStr::from_ptr(sys::bmc_vqa_answer(self.raw.as_ptr(), i)) }.to_str().unwrap_or(""))
            .collect()
    }

    /// The names of the question-type rules.
    pub fn rules(&self) -> Vec<&str> {
        // SAFETY: as answers().
        let count = unsafe { sys::bmc_vqa_rule_count(self.raw.as_ptr()) };
        (0..count)
            .map(|i| unsafe { CStr::from_ptr(sys::bmc_vqa_rule_name(self.raw.as_ptr(), i)) }.to_str().unwrap_or(""))
            .collect()
    }

    /// The index of the rule that applies to `question`, or None for an open question.
    pub fn question_rule(&self, question: &str) -> Result<Option<usize>> {
        let question = c_string(question, "the question")?;
        let mut rule = -1;
        // SAFETY: a valid C string and an out-pointer.
        check(unsafe { sys::bmc_vqa_question_rule(self.raw.as_ptr(), question.as_ptr(), &mut rule) })?;
        Ok(if rule < 0 { None } else { Some(rule as usize) })
    }

    /// The head's raw logits: one row of answer_count floats per question (`bmc_vqa_logits`).
    pub fn logits(&self, image: &Image, questions: &[&str]) -> Result<Vec<f32>> {
        let (_owned, pointers) = c_strings(questions, "a question")?;
        let mut out = vec![0f32; questions.len() * self.answers().len()];
        // SAFETY: live handles, questions.len() C strings, out sized.
        check(unsafe {
            sys::bmc_vqa_logits(self.raw.as_ptr(), image.as_ptr(), pointers.as_ptr(),
                                questions.len(), out.as_mut_ptr(), out.len())
        })?;
        Ok(out)
    }

    /// Answers each question: up to `k` answers per question, most probable first, among the
    /// answers `allowed` lets it get and not below `min_probability` (`bmc_vqa_ask`).
    pub fn ask(
        &self,
        image: &Image,
        questions: &[&str],
        k: usize,
        allowed: &Answers<'_>,
        min_probability: f32,
    ) -> Result<Vec<Vec<Answer<'_>>>> {
        let (_questions, question_ptrs) = c_strings(questions, "a question")?;
        let mut options: sys::bmc_vqa_options = unsafe { std::mem::zeroed() };
        // SAFETY: a valid, writable struct.
        unsafe { sys::bmc_vqa_options_init(&mut options) };
        options.min_probability = min_probability;
        let choices: &[&str] = match allowed {
            Answers::Choices(choices) => choices,
            _ => &[],
        };
        let (_choices, choice_ptrs) = c_strings(choices, "a choice")?;
        match allowed {
            Answers::Auto => options.question_type = sys::BMC_VQA_AUTO,
            Answers::Open => options.question_type = sys::BMC_VQA_OPEN,
            Answers::Choices(_) => {
                options.choices = choice_ptrs.as_ptr();
                options.choice_count = choice_ptrs.len();
            }
        }
        let mut indices = vec![0i32; questions.len() * k];
        let mut probabilities = vec![0f32; questions.len() * k];
        // SAFETY: live handles; options' choices point into _choices; the outputs are sized.
        check(unsafe {
            sys::bmc_vqa_ask(self.raw.as_ptr(), image.as_ptr(), question_ptrs.as_ptr(),
                             questions.len(), &options, k, indices.as_mut_ptr(),
                             probabilities.as_mut_ptr(), indices.len())
        })?;
        let names = self.answers();
        Ok(indices
            .chunks(k.max(1))
            .zip(probabilities.chunks(k.max(1)))
            .map(|(row, probs)| {
                row.iter()
                    .zip(probs)
                    .filter(|(&index, _)| index >= 0)
                    .map(|(&index, &probability)| Answer {
                        index: index as usize,
                        answer: names[index as usize],
                        probability,
                    })
                    .collect()
            })
            .collect())
    }
}

impl<'m> Drop for Vqa<'m> {
    fn drop(&mut self) {
        // SAFETY: we own the head; the model outlives it ('m).
        unsafe { sys::bmc_vqa_free(self.raw.as_ptr()) }
    }
}

/// The statement zero-shot answering scores for a question and an answer
/// ("Is there a lesion?", "no" -> "there is no lesion") (`bmc_vqa_statement`).
pub fn vqa_statement(question: &str, answer: &str) -> Result<String> {
    let question = c_string(question, "the question")?;
    let answer = c_string(answer, "the answer")?;
    let mut needed = 0usize;
    // SAFETY: a size query (NULL buffer).
    check(unsafe {
        sys::bmc_vqa_statement(question.as_ptr(), answer.as_ptr(), ptr::null_mut(), 0, &mut needed)
    })?;
    let mut buffer = vec![0u8; needed];
    // SAFETY: buffer holds `needed` bytes.
    check(unsafe {
        sys::bmc_vqa_statement(question.as_ptr(), answer.as_ptr(),
                               buffer.as_mut_ptr() as *mut c_char, buffer.len(), &mut needed)
    })?;
    buffer.truncate(needed.saturating_sub(1)); // the NUL
    String::from_utf8(buffer).map_err(|_| Error::invalid("the statement is not UTF-8"))
}

/// Zero-shot probabilities of candidate answers, in candidate order: the softmax of the CLIP
/// similarity of the image with each answer's statement (`bmc_vqa_zero_shot`).
pub fn vqa_zero_shot(
    image_encoder: &mut ImageEncoder<'_>,
    text_encoder: &mut TextEncoder<'_>,
    image: &Image,
    question: &str,
    candidates: &[&str],
) -> Result<Vec<f32>> {
    let question = c_string(question, "the question")?;
    let (_owned, pointers) = c_strings(candidates, "a candidate")?;
    let mut out = vec![0f32; candidates.len()];
    // SAFETY: live handles, valid C strings, out sized.
    let status = unsafe {
        sys::bmc_vqa_zero_shot(image_encoder.as_mut_ptr(), text_encoder.as_mut_ptr(),
                               image.as_ptr(), question.as_ptr(), pointers.as_ptr(),
                               candidates.len(), out.as_mut_ptr(), out.len())
    };
    // Either encoder's progress callback may have panicked: resume that first.
    image_encoder.finish_call(sys::BMC_OK)?;
    text_encoder.finish_call(status)?;
    Ok(out)
}
