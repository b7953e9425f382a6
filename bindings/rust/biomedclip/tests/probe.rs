// SPDX-License-Identifier: MIT
//! Linear probes against scikit-learn's fits of tools/fixtures/make_probe_fixtures.py (the bars
//! of docs/linear-probe.md: weights within 1e-3 of the lbfgs fit relative to its largest weight
//! and within 1e-5 of newton-cg's minimum, probabilities within 1e-4, identical predictions),
//! against the CLI's probe train / predict (the C results, bit for bit), and bad input refused.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use biomedclip::{Image, Model, Probe, ProbeOptions, ProbeTraining, Status};
use common::*;

fn probe_fixture(name: &str) -> PathBuf {
    let path = fixtures().join("probe").join(name);
    assert!(path.exists(), "missing fixture {} (run `make fixtures`)", path.display());
    path
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bmc-rust-probe-{}-{}", what, std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The largest differences of weights and biases from a reference's, relative to the largest
/// magnitude among its weights (and, for the biases, its biases), as probe_check.py measures.
fn weight_errors(weights: &[f32], biases: &[f32], want: &(Vec<f64>, Vec<f64>)) -> (f64, f64) {
    let largest = |v: &[f64]| v.iter().fold(0f64, |m, x| m.max(x.abs()));
    let error = |got: &[f32], want: &[f64]| {
        assert_eq!(got.len(), want.len());
        got.iter().zip(want).map(|(g, w)| (*g as f64 - w).abs()).fold(0f64, f64::max)
    };
    let scale = largest(&want.0);
    (error(weights, &want.0) / scale, error(biases, &want.1) / scale.max(largest(&want.1)))
}

struct Case {
    name: String,
    c: f64,
    labels: Vec<String>,
}

fn cases() -> (usize, Vec<Case>) {
    let manifest = fs::read_to_string(probe_fixture("manifest.txt")).unwrap();
    let mut dim = 0;
    let mut cases = Vec::new();
    for line in manifest.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[0] {
            "dim" => dim = fields[1].parse().unwrap(),
            "case" => {
                let name = fields[1].to_string();
                let labels = fs::read_to_string(probe_fixture(&format!("{}.labels.txt", name)))
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>();
                assert_eq!(labels.len(), fields[2].parse::<usize>().unwrap());
                cases.push(Case { name, c: fields[3].parse().unwrap(), labels });
            }
            _ => panic!("unexpected manifest line {:?}", line),
        }
    }
    (dim, cases)
}

#[test]
fn probe_matches_scikit_learn() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let (dim, cases) = cases();
    assert_eq!(dim, model.embed_dim());
    assert_eq!(cases.len(), 3);
    for case in cases {
        let file = |suffix: &str| probe_fixture(&format!("{}.{}", case.name, suffix));
        let labels: Vec<&str> = case.labels.iter().map(String::as_str).collect();
        let train = read_f32(file("train.f32"));
        let examples: Vec<&str> = read_i32(file("train.i32")).iter().map(|&i| labels[i as usize]).collect();
        let test = read_f32(file("test.f32"));
        // The labels given in the fixture's order, whatever the order of first appearance.
        let options = ProbeOptions { c: case.c, ..ProbeOptions::default() };
        let probe = Probe::train(&model, &train, &examples, &labels, &options).unwrap();
        assert_eq!(probe.labels(), labels);
        assert_eq!(probe.dim(), dim);
        assert_eq!((probe.model_name(), probe.model_source()), (model.name(), model.source()));
        let training = probe.training().unwrap();
        assert!(training.converged && training.iterations >= 1 && training.c == case.c);

        let (weights, biases) = probe.weights().unwrap();
        assert_eq!((weights.rows, weights.cols), (labels.len(), dim));
        let lbfgs = (read_f64(file("lbfgs_weights.f64")), read_f64(file("lbfgs_biases.f64")));
        let newton = (read_f64(file("newton_weights.f64")), read_f64(file("newton_biases.f64")));
        let (w_err, b_err) = weight_errors(&weights.data, &biases, &lbfgs);
        assert!(w_err <= 1e-3 && b_err <= 1e-3, "{}: vs lbfgs {} {}", case.name, w_err, b_err);
        let (w_min, b_min) = weight_errors(&weights.data, &biases, &newton);
        assert!(w_min <= 1e-5 && b_min <= 1e-5, "{}: vs newton-cg {} {}", case.name, w_min, b_min);
        eprintln!("{}: vs lbfgs weights {:.1e} biases {:.1e}, vs newton-cg {:.1e} {:.1e}",
                  case.name, w_err, b_err, w_min, b_min);

        let probabilities = probe.probabilities(&test).unwrap();
        let expected = read_f64(file("lbfgs_probs.f64"));
        let p_err = probabilities.data.iter().zip(&expected).map(|(p, e)| (*p as f64 - e).abs()).fold(0f64, f64::max);
        assert!(p_err <= 1e-4, "{}: probabilities {}", case.name, p_err);
        let predicted: Vec<i32> = probe.predict(&test).unwrap().iter().map(|p| p.index as i32).collect();
        assert_eq!(predicted, read_i32(file("lbfgs_predict.i32")), "{}", case.name);
        for (prediction, row) in probe.predict(&test).unwrap().iter().zip(probabilities.rows()) {
            assert_eq!(prediction.label, labels[prediction.index]);
            assert_eq!(prediction.probability, row[prediction.index]);
        }
    }
}

/// The model fixture's images, labelled by colour mode (RGB, L, RGBA) from its manifest.
fn labelled_images() -> Vec<(PathBuf, String)> {
    let modes: Vec<String> = lines("manifest.txt")
        .iter()
        .filter(|l| l.starts_with("image "))
        .map(|l| l.split_whitespace().nth(5).unwrap().to_string())
        .collect();
    image_paths().into_iter().zip(modes).collect()
}

fn run_cli(args: &[&std::ffi::OsStr]) -> String {
    let program = build_dir().join("biomedclip");
    let output = Command::new(&program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {}", program.display(), e));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The (label, probability) pairs of one JSON line of probe predict, in its order.
fn predicted_labels(line: &str) -> Vec<(String, f32)> {
    line.split("{\"label\": \"")
        .skip(1)
        .map(|entry| {
            let (label, rest) = entry.split_once('"').unwrap();
            let number = rest.split("\"probability\": ").nth(1).unwrap();
            let number = &number[..number.find('}').unwrap()];
            (label.to_string(), number.parse::<f32>().unwrap())
        })
        .collect()
}

#[test]
fn probe_is_identical_to_the_clis() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let images = labelled_images();
    let dir = temp_dir("cli");
    let tsv = dir.join("train.tsv");
    let text: String = images.iter().map(|(p, mode)| format!("{}\t{}\n", p.display(), mode)).collect();
    fs::write(&tsv, text).unwrap();
    let probe_file = dir.join("modes.bmcprobe");
    let report = run_cli(&["probe".as_ref(), "train".as_ref(), "--model".as_ref(),
                           model_fixture("model.bmc.pt").as_os_str(), "--out".as_ref(),
                           probe_file.as_os_str(), "--c".as_ref(), "10".as_ref(), tsv.as_os_str()]);
    assert!(report.contains("\"converged\": true"), "{}", report);

    let paths: Vec<&Path> = images.iter().map(|(p, _)| p.as_path()).collect();
    let examples: Vec<&str> = images.iter().map(|(_, mode)| mode.as_str()).collect();
    let mut encoder = model.image_encoder().unwrap();
    let embeddings = encoder.encode_files(&paths, false).unwrap();
    let options = ProbeOptions { c: 10.0, ..ProbeOptions::default() };
    let ours = Probe::train(&model, &embeddings.data, &examples, &[], &options).unwrap();
    let theirs = Probe::load(&probe_file, Some(&model)).unwrap();
    // The same embeddings, labels and solver: the same probe, bit for bit.
    assert_eq!(ours.labels(), vec!["RGB", "L", "RGBA"]);
    assert_eq!(theirs.labels(), ours.labels());
    assert_eq!(theirs.training().unwrap(), ours.training().unwrap());
    assert!(report.contains(&format!("\"iterations\": {}", ours.training().unwrap().iterations)));
    assert_eq!(theirs.weights().unwrap(), ours.weights().unwrap());

    // probe predict prints %.9g, which reads back as the same float32.
    let mut args: Vec<&std::ffi::OsStr> = vec!["probe".as_ref(), "predict".as_ref(), "--model".as_ref()];
    let model_path = model_fixture("model.bmc.pt");
    args.extend([model_path.as_os_str(), "--probe".as_ref(), probe_file.as_os_str()]);
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let output = run_cli(&args);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), paths.len());
    let probabilities = ours.probabilities(&embeddings.data).unwrap();
    let predictions = ours.predict(&embeddings.data).unwrap();
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("{{\"image\": \"{}\"", paths[i].display())));
        let theirs = predicted_labels(line);
        assert_eq!(theirs.len(), 3);
        for (label, probability) in &theirs {
            let index = ours.labels().iter().position(|l| l == label).unwrap();
            assert_eq!(*probability, probabilities.row(i)[index], "{} {}", line, label);
        }
        assert_eq!(theirs[0].0, predictions[i].label);
        // classify() encodes the image by itself: the same ranking, probabilities to rounding.
        let image = Image::open(paths[i]).unwrap();
        let ranked = ours.classify(&mut encoder, &image, 3).unwrap();
        assert_eq!(ranked.iter().map(|p| p.label).collect::<Vec<_>>(),
                   theirs.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>());
        for (p, (_, q)) in ranked.iter().zip(&theirs) {
            assert!((p.probability - q).abs() < 1e-6);
        }
        assert_eq!(ours.classify(&mut encoder, &image, 1).unwrap(), ranked[..1].to_vec());
    }
    fs::remove_dir_all(&dir).ok();
}

/// A synthetic training set of the fixtures (the "three" case): embeddings and example labels.
fn three() -> (Vec<f32>, Vec<String>) {
    let labels = ["circle", "square", "triangle"];
    let examples = read_i32(probe_fixture("three.train.i32")).iter().map(|&i| labels[i as usize].to_string()).collect();
    (read_f32(probe_fixture("three.train.f32")), examples)
}

#[test]
fn probe_file_round_trip() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let (x, examples) = three();
    let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
    let options = ProbeOptions { c: 3.0, ..ProbeOptions::default() };
    let probe = Probe::train(&model, &x, &examples, &[], &options).unwrap();
    let dir = temp_dir("file");
    let path = dir.join("three.bmcprobe");
    probe.save(&path).unwrap();
    // docs/linear-probe.md: the magic, the version, then d and K.
    let data = fs::read(&path).unwrap();
    assert_eq!(&data[..8], b"BMCPROBE");
    let word = |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    assert_eq!((word(8), word(12) as usize, word(16) as usize), (1, probe.dim(), 3));
    for checked in [Some(&model), None] {
        let loaded = Probe::load(&path, checked).unwrap();
        assert_eq!(loaded.labels(), probe.labels());
        assert_eq!(loaded.training().unwrap(), probe.training().unwrap());
        assert_eq!((loaded.model_name(), loaded.model_source()), (model.name(), model.source()));
        assert_eq!(loaded.weights().unwrap(), probe.weights().unwrap());
        assert_eq!(loaded.probabilities(&x).unwrap(), probe.probabilities(&x).unwrap());
    }
    assert!(format!("{:?}", probe).starts_with("Probe(3 labels x 64"));
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn probe_training_report() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let (x, examples) = three();
    let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
    let defaults = ProbeOptions::default();
    assert_eq!((defaults.c, defaults.max_iterations, defaults.tolerance), (1.0, 10000, 1e-9));
    let stopped = Probe::train(&model, &x, &examples, &[],
                               &ProbeOptions { max_iterations: 2, ..defaults }).unwrap();
    assert_eq!(stopped.training().unwrap(), ProbeTraining { c: 1.0, iterations: 2, converged: false });
    let loose = Probe::train(&model, &x, &examples, &[], &ProbeOptions { tolerance: 1e-2, ..defaults }).unwrap();
    let tight = Probe::train(&model, &x, &examples, &[], &defaults).unwrap();
    let (loose, tight) = (loose.training().unwrap(), tight.training().unwrap());
    assert!(loose.converged && loose.iterations < tight.iterations);
}

#[test]
fn probe_outlives_its_model_and_is_shared_by_threads() {
    let (x, examples) = three();
    let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
    let probe = {
        let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
        Probe::train(&model, &x, &examples, &[], &ProbeOptions::default()).unwrap()
    };
    let expected = probe.probabilities(&x).unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| (0..20).all(|_| probe.probabilities(&x).unwrap() == expected)))
            .collect();
        assert!(handles.into_iter().all(|h| h.join().unwrap()));
    });
}

#[test]
fn probe_refuses_bad_input() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let (x, examples) = three();
    let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
    let dim = model.embed_dim();
    let o = ProbeOptions::default();
    let refused = |result: biomedclip::Result<Probe>, status: Status, text: &str| {
        let error = result.err().expect("refused");
        assert_eq!(error.status, status, "{}", error);
        assert!(error.message.contains(text), "{:?} should say {:?}", error.message, text);
    };
    refused(Probe::train(&model, &x[..5 * dim], &["circle"; 5], &[], &o), Status::InvalidArgument, "at least two");
    refused(Probe::train(&model, &x, &examples, &["circle", "square", "triangle", "hexagon"], &o),
            Status::InvalidArgument, "'hexagon' has no examples");
    refused(Probe::train(&model, &x, &examples, &["circle", "square", "triangle", "circle"], &o),
            Status::InvalidArgument, "given twice");
    let mut nan = x.clone();
    nan[7 * dim + 3] = f32::NAN;
    refused(Probe::train(&model, &nan, &examples, &[], &o), Status::InvalidArgument, "embedding 7");
    let mut inf = x.clone();
    inf[9 * dim] = f32::INFINITY;
    refused(Probe::train(&model, &inf, &examples, &[], &o), Status::InvalidArgument, "embedding 9");
    refused(Probe::train(&model, &x[..2 * dim], &["", "circle"], &[], &o), Status::InvalidArgument, "empty");
    refused(Probe::train(&model, &x, &examples, &[], &ProbeOptions { c: 0.0, ..o }),
            Status::InvalidArgument, "c must be positive");
    refused(Probe::train(&model, &x, &examples, &[], &ProbeOptions { max_iterations: 0, ..o }),
            Status::InvalidArgument, "max_iterations");
    refused(Probe::train(&model, &[], &[], &[], &o), Status::InvalidArgument, "no examples");
    // What the binding checks before calling the library.
    refused(Probe::train(&model, &x, &examples, &["circle", "square"], &o),
            Status::InvalidArgument, "not one of the labels");
    refused(Probe::train(&model, &x, &examples[1..], &[], &o), Status::InvalidArgument, "example labels");
    refused(Probe::train(&model, &x[1..], &examples, &[], &o), Status::InvalidArgument, "not rows of 64");
    refused(Probe::train(&model, &x[..dim], &["circle\0"], &[], &o), Status::InvalidArgument, "NUL");

    let probe = Probe::train(&model, &x, &examples, &[], &o).unwrap();
    let error = probe.probabilities(&x[..dim - 1]).unwrap_err();
    assert_eq!(error.status, Status::InvalidArgument);
    let error = probe.probabilities(&nan).unwrap_err();
    assert!(error.message.contains("embedding 7"), "{}", error);
    let error = probe.probabilities(&[]).unwrap_err();
    assert!(error.message.contains("count is 0"), "{}", error);
    let mut encoder = model.image_encoder().unwrap();
    let image = Image::open(&image_paths()[0]).unwrap();
    assert_eq!(probe.classify(&mut encoder, &image, 4).unwrap_err().status, Status::InvalidArgument);
    assert_eq!(probe.classify(&mut encoder, &image, 0).unwrap_err().status, Status::InvalidArgument);
}

/// zlib's CRC-32, for rewriting probe files as docs/linear-probe.md lays them out.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A copy of a probe file recording another model source (or format version), checksums
/// recomputed.
fn rewrite(data: &[u8], source: &str, version: u32) -> Vec<u8> {
    let word = |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
    let (name_bytes, source_bytes) = (word(40), word(44));
    let mut payload = data[64..64 + name_bytes].to_vec();
    payload.extend_from_slice(source.as_bytes());
    payload.extend_from_slice(&data[64 + name_bytes + source_bytes..]);
    let mut header = data[..64].to_vec();
    header[8..12].copy_from_slice(&version.to_le_bytes());
    header[44..48].copy_from_slice(&(source.len() as u32).to_le_bytes());
    header[56..60].copy_from_slice(&crc32(&payload).to_le_bytes());
    let crc = crc32(&header[..60]);
    header[60..64].copy_from_slice(&crc.to_le_bytes());
    header.extend(payload);
    header
}

#[test]
fn probe_refuses_mismatched_and_damaged_files() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let (x, examples) = three();
    let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
    let probe = Probe::train(&model, &x, &examples, &[], &ProbeOptions::default()).unwrap();
    let dir = temp_dir("damaged");
    let good = dir.join("good.bmcprobe");
    probe.save(&good).unwrap();
    let data = fs::read(&good).unwrap();
    // The rewrite itself is faithful: the same source gives a file that loads.
    let same = dir.join("same.bmcprobe");
    fs::write(&same, rewrite(&data, model.source(), 1)).unwrap();
    assert_eq!(fs::read(&same).unwrap(), data);

    let other = dir.join("other.bmcprobe");
    fs::write(&other, rewrite(&data, "sha256 0123", 1)).unwrap();
    let error = Probe::load(&other, Some(&model)).unwrap_err();
    assert_eq!(error.status, Status::Model);
    assert!(error.message.contains("sha256 0123"), "{}", error);
    // Read unchecked, it says what it was trained for, and classify() refuses the encoder.
    let unchecked = Probe::load(&other, None).unwrap();
    assert_eq!(unchecked.model_source(), "sha256 0123");
    let mut encoder = model.image_encoder().unwrap();
    let image = Image::open(&image_paths()[0]).unwrap();
    let error = unchecked.classify(&mut encoder, &image, 1).unwrap_err();
    assert_eq!(error.status, Status::Model);
    assert!(error.message.contains("trained for model"), "{}", error);

    let newer = dir.join("newer.bmcprobe");
    fs::write(&newer, rewrite(&data, model.source(), 2)).unwrap();
    assert_eq!(Probe::load(&newer, Some(&model)).unwrap_err().status, Status::Version);
    let truncated = dir.join("truncated.bmcprobe");
    fs::write(&truncated, &data[..100]).unwrap();
    assert_eq!(Probe::load(&truncated, Some(&model)).unwrap_err().status, Status::CorruptData);
    let mut flipped = data.clone();
    flipped[200] ^= 0x55;
    let flipped_path = dir.join("flipped.bmcprobe");
    fs::write(&flipped_path, flipped).unwrap();
    let error = Probe::load(&flipped_path, Some(&model)).unwrap_err();
    assert_eq!(error.status, Status::CorruptData);
    assert!(error.message.contains("checksum"), "{}", error);
    assert_eq!(Probe::load(dir.join("missing.bmcprobe"), Some(&model)).unwrap_err().status, Status::Io);
    assert_eq!(probe.save(dir.join("no/such/folder.bmcprobe")).unwrap_err().status, Status::Io);
    fs::remove_dir_all(&dir).ok();
}
