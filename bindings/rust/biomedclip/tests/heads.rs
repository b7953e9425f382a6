// SPDX-License-Identifier: MIT
//! Segmentation and VQA against the Python references of tools/fixtures/make_segmentation_fixtures.py
//! and tools/fixtures/make_vqa_fixtures.py (the tolerances of the C tests).
mod common;

use std::path::PathBuf;

use biomedclip::{
    mask_overlay, mask_threshold, vqa_statement, vqa_zero_shot, Answers, Image, Model, Segmenter,
    Status, Vqa,
};
use common::*;

fn fixture(kind: &str, name: &str) -> PathBuf {
    let path = fixtures().join(kind).join(name);
    assert!(path.exists(), "missing fixture {} (run `make fixtures`)", path.display());
    path
}

fn manifest(kind: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(fixture(kind, "manifest.txt"))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn segmentation_matches_the_reference() {
    let manifest = manifest("segmentation");
    let find = |key: &'static str| manifest.iter().filter(move |l| l[0] == key);
    let prompts: Vec<String> = find("prompt").map(|l| l[3..].join(" ")).collect();
    let prompts: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let threshold: f32 = find("threshold").next().unwrap()[1].parse().unwrap();
    let model = Model::load(fixture("segmentation", "model.bmc.pt")).unwrap();
    for decoder in find("decoder") {
        let segmenter = Segmenter::load(&model, fixture("segmentation", &decoder[2]), true).unwrap();
        assert!(!segmenter.name().is_empty());
        for case in find("case").filter(|c| c[1] == decoder[1]).take(3) {
            let image_line = find("image").find(|l| l[1] == case[2]).unwrap();
            let image = Image::open(fixture("segmentation", &format!("images/{}", image_line[2]))).unwrap();
            let logits = segmenter.logits(&image, &prompts).unwrap();
            let probabilities = segmenter.segment(&image, &prompts).unwrap();
            let reference = |what: &str| read_f32(fixture("segmentation", &format!("ref/{}.{}.{}.f32", case[1], case[2], what)));
            assert!(max_abs_diff(&logits, &reference("logits")) <= 1e-4);
            let ref_probs = reference("prob");
            assert!(max_abs_diff(&probabilities, &ref_probs) <= 1e-4);
            let mask = mask_threshold(&probabilities, threshold).unwrap();
            for (i, &m) in mask.iter().enumerate() {
                if (ref_probs[i] - threshold).abs() > 1e-4 {
                    assert_eq!(m, if ref_probs[i] > threshold { 255 } else { 0 });
                }
            }
        }
    }
    // The overlay of image 0, prompt 0, is Pillow's byte for byte.
    let image_line = find("image").find(|l| l[1] == "0").unwrap();
    let (width, height): (usize, usize) = (image_line[3].parse().unwrap(), image_line[4].parse().unwrap());
    let image = Image::open(fixture("segmentation", &format!("images/{}", image_line[2]))).unwrap();
    let probabilities = read_f32(fixture("segmentation", "ref/trained.0.prob.f32"));
    let mask = mask_threshold(&probabilities[..width * height], threshold).unwrap();
    let overlay = mask_overlay(&image, &mask, [255, 64, 0], 0.45).unwrap();
    assert_eq!(overlay, std::fs::read(fixture("segmentation", "ref/overlay.u8")).unwrap());
    assert_eq!(mask_overlay(&image, &mask, [0, 0, 0], 2.0).unwrap_err().status, Status::InvalidArgument);
    for broken in find("broken") {
        let error = Segmenter::load(&model, fixture("segmentation", &broken[1]), true).err().unwrap();
        assert_ne!(error.status.code(), 0);
    }
}

/// Fields of a fixture .tsv, unescaped (\\, \t, \n, \r).
fn table(name: &str) -> Vec<Vec<String>> {
    let unescape = |field: &str| {
        let mut out = String::new();
        let mut chars = field.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                out.push(match chars.next() { Some('t') => '\t', Some('n') => '\n', Some('r') => '\r', _ => '\\' });
            } else {
                out.push(c);
            }
        }
        out
    };
    std::fs::read_to_string(fixture("vqa", name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(unescape).collect())
        .collect()
}

#[test]
fn vqa_matches_the_reference() {
    let model = Model::load(fixture("vqa", "model.bmc.pt")).unwrap();
    let head = Vqa::load(&model, fixture("vqa", "fusion.vqa.pt")).unwrap();
    let answers = head.answers();
    let rows = table("test.tsv");
    let ref_logits = read_f32(fixture("vqa", "fusion_test_logits.f32"));
    let ref_probs = read_f32(fixture("vqa", "fusion_test_probs.f32"));
    let a = answers.len();
    for (i, row) in rows.iter().enumerate().take(16) {
        let image = Image::open(fixture("vqa", &row[0])).unwrap();
        let logits = head.logits(&image, &[&row[1]]).unwrap();
        assert!(max_abs_diff(&logits, &ref_logits[i * a..(i + 1) * a]) <= 1e-4);
        let ranked = head.ask(&image, &[&row[1]], a, &Answers::Auto, 0.0).unwrap();
        let mut probabilities = vec![0f32; a];
        for answer in &ranked[0] {
            probabilities[answer.index] = answer.probability;
            assert_eq!(answer.answer, answers[answer.index]);
        }
        assert!(max_abs_diff(&probabilities, &ref_probs[i * a..(i + 1) * a]) <= 1e-5);
    }
    for row in table("rules.tsv") {
        let rule: i64 = row[1].parse().unwrap();
        assert_eq!(head.question_rule(&row[0]).unwrap(), if rule < 0 { None } else { Some(rule as usize) });
    }
    for row in table("statements.tsv") {
        assert_eq!(vqa_statement(&row[0], &row[1]).unwrap(), row[2]);
    }
    let image = Image::open(fixture("vqa", &rows[0][0])).unwrap();
    let choices = ["yes", "no"];
    let picked = head.ask(&image, &["is there a circle?"], a, &Answers::Choices(&choices), 0.0).unwrap();
    assert_eq!(picked[0].len(), 2);
    let error = head.ask(&image, &["what?"], 1, &Answers::Choices(&["not an answer"]), 0.0).unwrap_err();
    assert_eq!(error.status, Status::NotFound);
}

#[test]
fn vqa_zero_shot_matches_the_reference() {
    let model = Model::load(fixture("vqa", "model.bmc.pt")).unwrap();
    let mut images = model.image_encoder().unwrap();
    let mut texts = model.text_encoder().unwrap();
    let reference = read_f32(fixture("vqa", "zero_shot_probs.f32"));
    let mut offset = 0;
    for row in table("zero_shot.tsv") {
        let candidates: Vec<&str> = row[2].split('|').collect();
        let image = Image::open(fixture("vqa", &row[0])).unwrap();
        let probabilities = vqa_zero_shot(&mut images, &mut texts, &image, &row[1], &candidates).unwrap();
        assert!(max_abs_diff(&probabilities, &reference[offset..offset + candidates.len()]) <= 1e-5);
        offset += candidates.len();
    }
    assert_eq!(offset, reference.len());
}
