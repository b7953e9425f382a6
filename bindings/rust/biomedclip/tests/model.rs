// SPDX-License-Identifier: MIT
//! Model, encoders, scoring and the classifier against the eager PyTorch reference fixtures,
//! and the acceptance test: probabilities bit-identical to the C program's.
mod common;

use std::process::Command;

use biomedclip::{
    cosine_similarity, softmax, top_k, Classifier, EncoderOptions, Image, ImageEncoder, Model,
    ModelOptions, Status, TextEncoder,
};
use common::*;

fn model() -> Model {
    Model::load(model_fixture("model.bmc.pt")).expect("the tiny model loads")
}

fn images() -> Vec<Image> {
    image_paths().iter().map(|p| Image::open(p).expect("fixture image")).collect()
}

#[test]
fn metadata() {
    let model = model();
    let manifest = lines("manifest.txt");
    let value = |key: &str| {
        manifest.iter().find(|l| l.starts_with(&format!("{} ", key))).unwrap()
            .split_whitespace().nth(1).unwrap().to_string()
    };
    assert_eq!(model.embed_dim().to_string(), value("embed_dim"));
    assert_eq!(model.context_length().to_string(), value("context_length"));
    let scale: f64 = value("logit_scale").parse().unwrap();
    assert!((model.logit_scale() as f64 - scale.exp()).abs() < 1e-4 * scale.exp());
    assert!(!model.name().is_empty() && !model.source().is_empty());
    assert_eq!(model.preprocess_options().unwrap().image_size.to_string(), value("image_size"));
}

#[test]
fn image_embeddings_match_the_reference() {
    let model = model();
    let images = images();
    let refs: Vec<&Image> = images.iter().collect();
    let expected = read_f32(model_fixture("image_embeddings.f32"));
    let mut encoder = model.image_encoder().unwrap();
    let raw = encoder.encode_raw(&refs).unwrap();
    assert_eq!((raw.rows, raw.cols), (images.len(), model.embed_dim()));
    assert!(max_abs_diff(&raw.data, &expected) < 1e-4);
    let unit = encoder.encode(&refs).unwrap();
    assert!(max_abs_diff(&unit.data, &normalised(&expected, model.embed_dim())) < 1e-5);

    let options = model.preprocess_options().unwrap();
    let mut tensors = Vec::new();
    for image in &images {
        tensors.extend(biomedclip::preprocess(image, &options).unwrap());
    }
    let pixels = read_f32(model_fixture("image_pixels.f32"));
    assert!(max_abs_diff(&tensors, &pixels) <= 1e-6, "preprocessing differs from Pillow's");
    let from_tensors = encoder.encode_tensors(&tensors, images.len(), true).unwrap();
    assert!(max_abs_diff(&from_tensors.data, &raw.data) < 1e-5);
}

#[test]
fn text_embeddings_and_logits_match_the_reference() {
    let model = model();
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let options = EncoderOptions { batch_size: 3, ..EncoderOptions::default() };
    let mut encoder = TextEncoder::new(&model, options).unwrap();
    let raw = encoder.encode_raw(&refs).unwrap();
    let expected = read_f32(model_fixture("text_embeddings_padded.f32"));
    assert!(max_abs_diff(&raw.data, &expected) < 1e-4);

    let images = images();
    let image_refs: Vec<&Image> = images.iter().collect();
    let image_emb = model.image_encoder().unwrap().encode(&image_refs).unwrap();
    let text_emb = encoder.encode(&refs).unwrap();
    let logits = model.logits(&image_emb.data, &text_emb.data).unwrap();
    assert!(max_abs_diff(&logits.data, &read_f32(model_fixture("logits.f32"))) < 1e-3);

    let cosine = cosine_similarity(&image_emb.data, &text_emb.data, model.embed_dim()).unwrap();
    let scaled: Vec<f32> = cosine.data.iter().map(|c| c * model.logit_scale()).collect();
    assert!(max_abs_diff(&scaled, &logits.data) < 1e-4);
    let mut probabilities = logits.data.clone();
    softmax(&mut probabilities, logits.cols).unwrap();
    for row in probabilities.chunks(logits.cols) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let best = top_k(logits.row(0), 3).unwrap();
    assert!(logits.row(0)[best[0]] >= logits.row(0)[best[1]]);
    assert!(logits.row(0)[best[1]] >= logits.row(0)[best[2]]);
}

#[test]
fn zero_shot_probabilities_match_the_reference() {
    let model = model();
    let (labels, templates) = (lines("zeroshot_labels.txt"), lines("zeroshot_templates.txt"));
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
    let mut texts = model.text_encoder().unwrap();
    let classifier = Classifier::new(&mut texts, &labels, &templates).unwrap();
    assert_eq!(classifier.labels(), labels);
    let images = images();
    let refs: Vec<&Image> = images.iter().collect();
    let embeddings = model.image_encoder().unwrap().encode(&refs).unwrap();
    let probabilities = classifier.probabilities(&embeddings.data).unwrap();
    let expected = read_f32(model_fixture("zeroshot_probs.f32"));
    assert!(max_abs_diff(&probabilities.data, &expected) < 1e-5);
}

/// The C program's output: (image path, label, probability) per line.
fn c_probabilities(paths: &[std::path::PathBuf]) -> Vec<(String, String, f32)> {
    let program = build_dir().join("examples").join("zeroshot_probs");
    let output = Command::new(&program)
        .arg(model_fixture("model.bmc.pt"))
        .arg(model_fixture("zeroshot_labels.txt"))
        .arg(model_fixture("zeroshot_templates.txt"))
        .args(paths)
        .output()
        .unwrap_or_else(|e| panic!("{}: {}", program.display(), e));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (fields[0].to_string(), fields[1].to_string(), fields[2].parse::<f32>().unwrap())
        })
        .collect()
}

#[test]
fn probabilities_are_bit_identical_to_c() {
    let paths = image_paths();
    let expected = c_probabilities(&paths);
    let model = model();
    let (labels, templates) = (lines("zeroshot_labels.txt"), lines("zeroshot_templates.txt"));
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
    let mut texts = model.text_encoder().unwrap();
    let mut encoder = model.image_encoder().unwrap();
    let classifier = Classifier::new(&mut texts, &labels, &templates).unwrap();
    let mut ours = Vec::new();
    for path in &paths {
        let image = Image::open(path).unwrap();
        let embedding = encoder.encode(&[&image]).unwrap();
        let row = classifier.probabilities(&embedding.data).unwrap();
        for (label, p) in labels.iter().zip(&row.data) {
            ours.push((path.display().to_string(), label.to_string(), *p));
        }
        // bmc_classify ranks the same floats.
        let ranked = classifier.classify(&mut encoder, &image, labels.len()).unwrap();
        for prediction in ranked {
            assert_eq!(prediction.probability.to_bits(), row.data[prediction.index].to_bits());
            assert_eq!(prediction.label, labels[prediction.index]);
        }
    }
    assert_eq!(ours.len(), expected.len());
    assert_eq!(ours.len(), paths.len() * labels.len());
    for (a, b) in ours.iter().zip(&expected) {
        assert_eq!((&a.0, &a.1), (&b.0, &b.1));
        assert_eq!(a.2.to_bits(), b.2.to_bits(), "{} {}: {} vs C {}", a.0, a.1, a.2, b.2);
    }
}

#[test]
fn errors_carry_status_and_message() {
    let broken = |name: &str| model_fixture(&format!("broken/{}", name));
    let error = Model::load(broken("bad_version.bmc.pt")).unwrap_err();
    assert_eq!(error.status, Status::Version);
    assert_eq!(error.status.code(), 10);
    assert!(!error.message.is_empty());
    assert_eq!(Model::load(broken("no_text.bmc.pt")).unwrap_err().status, Status::Model);
    let missing = model_fixture("broken").join("missing.bmc.pt");
    assert_eq!(Model::load(missing).unwrap_err().status, Status::Io);
    let options = ModelOptions { device: "tpu".to_string(), ..ModelOptions::default() };
    let error = Model::load_with(model_fixture("model.bmc.pt"), &options).unwrap_err();
    assert_eq!(error.status, Status::Device);
    assert!(error.to_string().contains(&error.message));

    let model = model();
    let mut strict = TextEncoder::new(&model, EncoderOptions { truncate: false, ..Default::default() }).unwrap();
    let long = "word ".repeat(400);
    assert_eq!(strict.encode(&[&long]).unwrap_err().status, Status::Limit);
    assert_eq!(strict.encode(&["a\0b"]).unwrap_err().status, Status::InvalidArgument);
    let error = Classifier::new(&mut strict, &["x"], &["no slot"]).err().unwrap();
    assert_eq!(error.status, Status::InvalidArgument);
    assert_eq!(Image::open("/nonexistent/x.png").unwrap_err().status, Status::Io);
}

#[test]
fn encode_files_is_the_serial_result() {
    let model = model();
    let paths = image_paths();
    for (batch_size, count) in [(4, paths.len()), (3, 11), (1, 1), (32, paths.len())] {
        let files: Vec<_> = (0..count).map(|i| paths[i % paths.len()].clone()).collect();
        let images: Vec<Image> = files.iter().map(|p| Image::open(p).unwrap()).collect();
        let refs: Vec<&Image> = images.iter().collect();
        let options = || EncoderOptions { batch_size, ..EncoderOptions::default() };
        let serial = ImageEncoder::new(&model, options()).unwrap().encode_raw(&refs).unwrap();
        let mut encoder = ImageEncoder::new(&model, options()).unwrap();
        let piped = encoder.encode_files(&files, true).unwrap();
        assert_eq!((piped.rows, piped.cols), (count, model.embed_dim()));
        assert!(piped.data.iter().zip(&serial.data).all(|(a, b)| a.to_bits() == b.to_bits()),
                "batch {} count {}: not bit for bit the serial result", batch_size, count);
        let unit = encoder.encode_files(&files, false).unwrap();
        assert!(max_abs_diff(&unit.data, &normalised(&serial.data, model.embed_dim())) < 1e-6);
    }

    let dir = std::env::temp_dir().join(format!("bmc-rust-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.png");
    std::fs::write(&junk, b"not a png").unwrap();
    let mut bad = paths.clone();
    bad.insert(3, junk.clone());
    let options = EncoderOptions { batch_size: 2, ..EncoderOptions::default() };
    let mut encoder = ImageEncoder::new(&model, options).unwrap();
    let error = encoder.encode_files(&bad, false).unwrap_err();
    assert_eq!(error.status, Status::Unsupported);
    assert!(error.message.contains("file 3") && error.message.contains("junk.png"), "{}", error.message);
    let empty: [&str; 0] = [];
    assert_eq!(encoder.encode_files(&empty, false).unwrap_err().status, Status::InvalidArgument);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn progress_cancels_and_panics_resume() {
    let model = model();
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = calls.clone();
    let options = EncoderOptions {
        batch_size: 2,
        progress: Some(Box::new(move |done, total| {
            seen.lock().unwrap().push((done, total));
            false
        })),
        ..EncoderOptions::default()
    };
    let mut encoder = TextEncoder::new(&model, options).unwrap();
    encoder.encode(&["a", "b", "c", "d", "e"]).unwrap();
    assert_eq!(calls.lock().unwrap().last().map(|c| c.1), Some(5));

    let options = EncoderOptions {
        batch_size: 2,
        progress: Some(Box::new(|done, _| done >= 2)),
        ..EncoderOptions::default()
    };
    let mut cancelling = TextEncoder::new(&model, options).unwrap();
    let error = cancelling.encode(&["a", "b", "c", "d", "e"]).unwrap_err();
    assert_eq!(error.status, Status::Cancelled);

    let options = EncoderOptions {
        batch_size: 1,
        progress: Some(Box::new(|_, _| panic!("from the callback"))),
        ..EncoderOptions::default()
    };
    let mut panicking = TextEncoder::new(&model, options).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = panicking.encode(&["a", "b"]);
    }));
    let payload = result.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"from the callback"));
}
