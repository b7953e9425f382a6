// SPDX-License-Identifier: MIT
//! Caption metrics: BLEU-1..4, ROUGE-L, METEOR and CIDEr-D (`bmc_caption_score`);
//! docs/caption-metrics.md defines each and names the implementation it reproduces.
use biomedclip_sys as sys;

use crate::error::{c_strings, check, Error, Result};

/// The metrics of [`caption_score`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptionMetric {
    Bleu1,
    Bleu2,
    Bleu3,
    Bleu4,
    RougeL,
    Meteor,
    CiderD,
}

/// Metric parameters; the default is the library's (nltk's and coco-caption's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptionOptions {
    /// 0: none; 1..4: nltk's SmoothingFunction().method1..method4.
    pub bleu_smoothing: i32,
    pub bleu_epsilon: f64,
    pub bleu_k: f64,
    pub rouge_beta: f64,
    pub meteor_alpha: f64,
    pub meteor_beta: f64,
    pub meteor_gamma: f64,
    pub cider_sigma: f64,
}

fn raw_defaults() -> sys::bmc_caption_options {
    let mut raw: sys::bmc_caption_options = unsafe { std::mem::zeroed() };
    // SAFETY: a valid, writable struct.
    unsafe { sys::bmc_caption_options_init(&mut raw) };
    raw
}

impl Default for CaptionOptions {
    fn default() -> Self {
        let raw = raw_defaults();
        CaptionOptions {
            bleu_smoothing: raw.bleu_smoothing,
            bleu_epsilon: raw.bleu_epsilon,
            bleu_k: raw.bleu_k,
            rouge_beta: raw.rouge_beta,
            meteor_alpha: raw.meteor_alpha,
            meteor_beta: raw.meteor_beta,
            meteor_gamma: raw.meteor_gamma,
            cider_sigma: raw.cider_sigma,
        }
    }
}

/// The corpus score (corpus BLEU for BLEU, else the mean) and each candidate's own.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionScores {
    pub corpus: f64,
    pub per_candidate: Vec<f64>,
}

/// Scores each candidate against its references (`references[i]`, at least one each).
pub fn caption_score(
    metric: CaptionMetric,
    candidates: &[&str],
    references: &[&[&str]],
    options: &CaptionOptions,
) -> Result<CaptionScores> {
    if candidates.len() != references.len() {
        return Err(Error::invalid(format!(
            "{} candidates but {} reference lists",
            candidates.len(),
            references.len()
        )));
    }
    let code = match metric {
        CaptionMetric::Bleu1 => sys::BMC_CAPTION_BLEU_1,
        CaptionMetric::Bleu2 => sys::BMC_CAPTION_BLEU_2,
        CaptionMetric::Bleu3 => sys::BMC_CAPTION_BLEU_3,
        CaptionMetric::Bleu4 => sys::BMC_CAPTION_BLEU_4,
        CaptionMetric::RougeL => sys::BMC_CAPTION_ROUGE_L,
        CaptionMetric::Meteor => sys::BMC_CAPTION_METEOR,
        CaptionMetric::CiderD => sys::BMC_CAPTION_CIDER_D,
    };
    let mut raw = raw_defaults();
    raw.bleu_smoothing = options.bleu_smoothing;
    raw.bleu_epsilon = options.bleu_epsilon;
    raw.bleu_k = options.bleu_k;
    raw.rouge_beta = options.rouge_beta;
    raw.meteor_alpha = options.meteor_alpha;
    raw.meteor_beta = options.meteor_beta;
    raw.meteor_gamma = options.meteor_gamma;
    raw.cider_sigma = options.cider_sigma;
    let (_candidates, candidate_ptrs) = c_strings(candidates, "a candidate")?;
    let flat: Vec<&str> = references.iter().flat_map(|r| r.iter().copied()).collect();
    let (_references, reference_ptrs) = c_strings(&flat, "a reference")?;
    let counts: Vec<usize> = references.iter().map(|r| r.len()).collect();
    let mut corpus = 0f64;
    let mut per_candidate = vec![0f64; candidates.len()];
    // SAFETY: the arrays hold count candidates, sum(counts) references and count counts.
    check(unsafe {
        sys::bmc_caption_score(code, candidate_ptrs.as_ptr(), candidates.len(),
                               reference_ptrs.as_ptr(), counts.as_ptr(), &raw, &mut corpus,
                               per_candidate.as_mut_ptr())
    })?;
    Ok(CaptionScores { corpus, per_candidate })
}
