// SPDX-License-Identifier: MIT
//! Multi-label zero-shot scoring, the built-in template sets and composed queries, against
//! restatements in f64 on the model's own embeddings (as tests/test_multilabel.c and the
//! Python suite's numpy restatements do).
mod common;

use biomedclip::{
    compose_query, template_set, template_sets, Image, Index, IndexDtype, Model, MultiLabel, Status,
    DEFAULT_NEGATIVE_TEMPLATE, DEFAULT_POSITIVE_TEMPLATE,
};
use common::*;

fn unit(v: &[f64]) -> Vec<f64> {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Each label's ensemble over `templates`: every prompt encoded in one call, label by label, as
/// the scorer encodes them (so the embeddings are the very ones it averages).
fn ensemble(encoder: &mut biomedclip::TextEncoder<'_>, labels: &[&str], templates: &[&str]) -> Vec<Vec<f64>> {
    let prompts: Vec<String> =
        labels.iter().flat_map(|l| templates.iter().map(move |t| t.replacen("{}", l, 1))).collect();
    let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let embeddings = encoder.encode(&refs).unwrap();
    (0..labels.len())
        .map(|l| {
            let mut mean = vec![0f64; embeddings.cols];
            for t in 0..templates.len() {
                for (m, x) in mean.iter_mut().zip(unit(&to_f64(embeddings.row(l * templates.len() + t)))) {
                    *m += x / templates.len() as f64;
                }
            }
            unit(&mean)
        })
        .collect()
}

#[test]
fn multilabel_matches_the_restatement() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let mut texts = model.text_encoder().unwrap();
    let mut images = model.image_encoder().unwrap();
    let labels = ["pleural effusion", "pneumothorax", "cardiomegaly"];
    let scale = model.logit_scale() as f64;
    let loaded: Vec<Image> = image_paths().iter().map(|p| Image::open(p).unwrap()).collect();
    let refs: Vec<&Image> = loaded.iter().collect();
    let embeddings = images.encode(&refs).unwrap();
    for set in ["", "chest-xray", "dermatology"] {
        let (positive, negative) = if set.is_empty() {
            (vec![DEFAULT_POSITIVE_TEMPLATE], vec![DEFAULT_NEGATIVE_TEMPLATE])
        } else {
            let s = template_set(set).unwrap();
            (s.positive, s.negative)
        };
        let scorer = if set.is_empty() {
            MultiLabel::new(&mut texts, &labels, &[], &[]).unwrap()
        } else {
            MultiLabel::with_template_set(&mut texts, &labels, set).unwrap()
        };
        assert_eq!(scorer.labels(), labels);
        let pos = ensemble(&mut texts, &labels, &positive);
        let neg = ensemble(&mut texts, &labels, &negative);
        let got = scorer.probabilities(&embeddings.data).unwrap();
        let mut worst = 0f64;
        for (i, row) in embeddings.rows().enumerate() {
            let x = unit(&to_f64(row));
            for l in 0..labels.len() {
                let (a, b) = (scale * dot(&x, &pos[l]), scale * dot(&x, &neg[l]));
                let top = a.max(b);
                let want = (a - top).exp() / ((a - top).exp() + (b - top).exp());
                worst = worst.max((got.row(i)[l] as f64 - want).abs());
            }
        }
        assert!(worst <= 1e-6, "{}: max error {}", set, worst);
        let one = scorer.classify(&mut images, &loaded[0]).unwrap();
        assert_eq!(one.len(), labels.len());
    }
    let error = MultiLabel::new(&mut texts, &labels, &["no slot"], &[]).err().unwrap();
    assert_eq!(error.status, Status::InvalidArgument);
    assert!(error.message.contains("positive template 0"), "{}", error.message);
}

#[test]
fn template_sets_by_name() {
    let names = template_sets();
    assert_eq!(names, ["generic", "chest-xray", "ct", "mri", "ultrasound", "histopathology",
                       "dermatology", "fundus"]);
    for name in names {
        let set = template_set(name).unwrap();
        assert!(!set.positive.is_empty() && set.positive.len() == set.negative.len());
        for t in set.positive.iter().chain(&set.negative) {
            assert_eq!(t.matches("{}").count(), 1, "{}", t);
        }
    }
    assert_eq!(template_set("chest_xray").err().unwrap().status, Status::NotFound);
}

#[test]
fn composed_queries_match_the_restatement() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let mut texts = model.text_encoder().unwrap();
    let mut images = model.image_encoder().unwrap();
    let mut collection = Index::new(model.embed_dim(), IndexDtype::F32).unwrap();
    collection.add_image_directory(&mut images, model_fixture("images"), 0).unwrap();
    let ids = collection.ids().unwrap();
    let stored: Vec<Vec<f64>> = ids.iter().map(|&id| to_f64(&collection.vector(id).unwrap())).collect();
    let image = Image::open(&image_paths()[1]).unwrap();
    let image_embedding = images.encode(&[&image]).unwrap();
    let text = "a chest X-ray showing pneumothorax";
    let text_embedding = texts.encode(&[text]).unwrap();
    for weight in [0.0f32, 0.4, 1.0] {
        let w = weight as f64;
        let q: Vec<f64> = unit(&to_f64(image_embedding.row(0)))
            .iter()
            .zip(unit(&to_f64(text_embedding.row(0))))
            .map(|(i, t)| (1.0 - w) * i + w * t)
            .collect();
        let q = unit(&q);
        let composed = compose_query(image_embedding.row(0), text_embedding.row(0), weight).unwrap();
        assert!(composed.iter().zip(&q).all(|(c, r)| (*c as f64 - r).abs() <= 1e-6));
        let found = collection.search_composed(&mut images, &mut texts, &image, text, weight, 3).unwrap();
        for rank in 0..3 {
            let position = ids.iter().position(|&id| id == found.ids[rank]).unwrap();
            assert!((found.scores[rank] as f64 - dot(&stored[position], &q)).abs() <= 1e-5);
        }
        assert!(found.scores.windows(2).all(|s| s[0] >= s[1]));
    }
    let error = compose_query(image_embedding.row(0), text_embedding.row(0), 1.5).err().unwrap();
    assert_eq!(error.status, Status::InvalidArgument);
}
