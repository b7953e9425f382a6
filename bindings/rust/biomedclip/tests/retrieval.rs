// SPDX-License-Identifier: MIT
//! Captioning by retrieval, text-to-image search and caption metrics, against the reference
//! embeddings' rankings and nltk's scores (tools/fixtures/make_metrics_fixtures.py).
mod common;

use biomedclip::{caption_score, CaptionMetric, CaptionOptions, Image, Index, IndexDtype, Model, Status};
use common::*;

/// The rows of a float32 fixture, normalised, in float64.
fn unit_rows(name: &str, dim: usize) -> Vec<Vec<f64>> {
    read_f32(model_fixture(name))
        .chunks(dim)
        .map(|r| {
            let norm = r.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
            r.iter().map(|&x| x as f64 / norm).collect()
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn caption_bank_ranks_like_the_reference() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let dim = model.embed_dim();
    let texts = texts();
    let images = unit_rows("image_embeddings.f32", dim);
    let captions = unit_rows("text_embeddings_padded.f32", dim);
    let mut bank = Index::new(dim, IndexDtype::F32).unwrap();
    let mut text_encoder = model.text_encoder().unwrap();
    let mut image_encoder = model.image_encoder().unwrap();
    let added = bank.add_text_file(&mut text_encoder, model_fixture("texts.txt"), 100).unwrap();
    assert_eq!(added, texts.len());
    assert_eq!(bank.text(100).unwrap(), texts[0]);
    for (path, image_embedding) in image_paths().iter().zip(&images) {
        let image = Image::open(path).unwrap();
        let found = bank.search_image(&mut image_encoder, &image, 3).unwrap();
        let mut order: Vec<usize> = (0..captions.len()).collect();
        let similarity: Vec<f64> = captions.iter().map(|c| dot(c, image_embedding)).collect();
        order.sort_by(|&a, &b| similarity[b].partial_cmp(&similarity[a]).unwrap());
        for rank in 0..3 {
            let want = similarity[order[rank]];
            assert!((found.scores[rank] as f64 - want).abs() < 1e-4);
            assert!(found.ids[rank] == 100 + order[rank] as i64 || (found.scores[rank] as f64 - want).abs() < 1e-4);
        }
    }
    let missing = bank.add_text_file(&mut text_encoder, "/nonexistent/bank.txt", 0).unwrap_err();
    assert_eq!(missing.status, Status::Io);
}

#[test]
fn image_collection_is_searched_by_text() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let mut collection = Index::new(model.embed_dim(), IndexDtype::F32).unwrap();
    let mut image_encoder = model.image_encoder().unwrap();
    let mut text_encoder = model.text_encoder().unwrap();
    let folder = model_fixture("images");
    let (added, skipped) = collection.add_image_directory(&mut image_encoder, &folder, 0).unwrap();
    assert_eq!((added, skipped), (image_paths().len(), 0));
    let mut names: Vec<String> = image_paths().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    names.sort();
    let ids = collection.ids().unwrap();
    assert_eq!(ids.iter().map(|&id| collection.text(id).unwrap()).collect::<Vec<_>>(), names);
    // The search equals encoding the text and searching with its embedding.
    let query = "a chest X-ray showing pneumothorax";
    let found = collection.search_text(&mut text_encoder, query, added).unwrap();
    let embedding = text_encoder.encode(&[query]).unwrap();
    let direct = collection.search(&embedding.data, added, 1).unwrap();
    assert_eq!(found, direct);
}

fn metrics_fixture(name: &str) -> String {
    let path = fixtures().join("metrics").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} (run `make fixtures`): {}", path.display(), e))
}

#[test]
fn bleu_and_meteor_match_nltk() {
    let candidates = metrics_fixture("candidates.txt");
    // One caption a line; a line may be empty (an empty candidate), so only the final
    // newline's empty remainder is dropped.
    let candidates: Vec<&str> = candidates.strip_suffix('\n').unwrap().split('\n').collect();
    let references = metrics_fixture("references.txt");
    let references: Vec<Vec<&str>> =
        references.strip_suffix('\n').unwrap().split('\n').map(|l| l.split('\t').collect()).collect();
    let reference_refs: Vec<&[&str]> = references.iter().map(Vec::as_slice).collect();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    let mut checked = 0;
    for line in metrics_fixture("expected.tsv").lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (metric, smoothing) = match fields[0] {
            "METEOR" => (CaptionMetric::Meteor, 0),
            name if name.starts_with("BLEU-") => {
                let (n, s) = name["BLEU-".len()..].split_once("/smoothing-").unwrap();
                let metric = [CaptionMetric::Bleu1, CaptionMetric::Bleu2, CaptionMetric::Bleu3, CaptionMetric::Bleu4]
                    [n.parse::<usize>().unwrap() - 1];
                (metric, s.parse().unwrap())
            }
            _ => continue,
        };
        let options = CaptionOptions { bleu_smoothing: smoothing, ..CaptionOptions::default() };
        let scores = caption_score(metric, &candidates, &reference_refs, &options).unwrap();
        assert!(close(scores.corpus, fields[1].parse().unwrap()), "{}", fields[0]);
        for (got, want) in scores.per_candidate.iter().zip(&fields[2..]) {
            assert!(close(*got, want.parse().unwrap()), "{}", fields[0]);
        }
        checked += 1;
    }
    assert!(checked >= 5);
    let error = caption_score(CaptionMetric::Bleu1, &["a"], &[&[]], &CaptionOptions::default()).unwrap_err();
    assert_eq!(error.status, Status::InvalidArgument);
}
