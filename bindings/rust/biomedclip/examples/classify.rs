// SPDX-License-Identifier: MIT
//! Zero-shot classification of images, the Rust version of examples/classify.c.
//!
//!     cargo run --example classify -- MODEL "label one,label two" IMAGE...
use std::env;
use std::process::ExitCode;

use biomedclip::{Classifier, Image, Model};

const TEMPLATES: [&str; 3] = ["this is a photo of {}", "a medical image showing {}", "a radiology image of {}"];

fn run(model: &str, labels: &str, images: &[String]) -> biomedclip::Result<()> {
    let model = Model::load(model)?;
    let labels: Vec<&str> = labels.split(',').collect();
    let mut texts = model.text_encoder()?;
    let mut encoder = model.image_encoder()?;
    let classifier = Classifier::new(&mut texts, &labels, &TEMPLATES)?;
    for path in images {
        let image = Image::open(path)?;
        println!("{}", path);
        for prediction in classifier.classify(&mut encoder, &image, labels.len())? {
            println!("  {:6.2}%  {}", 100.0 * prediction.probability, prediction.label);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: {} MODEL \"label one,label two,...\" IMAGE...", args[0]);
        return ExitCode::from(2);
    }
    match run(&args[1], &args[2], &args[3..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("classify: {}", error);
            ExitCode::FAILURE
        }
    }
}
