// SPDX-License-Identifier: MIT
//! Send/Sync follow the header's thread-safety, checked at compile time, and a model shared by
//! threads (each with its own encoder) gives the same embeddings.
mod common;

use std::sync::Arc;
use std::thread;

use biomedclip::{Classifier, EncoderOptions, Image, ImageEncoder, Index, Model, Segmenter, TextEncoder, Tokenizer, Vqa};
use common::*;

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

/// Compiles only while T is not Sync: with a Sync T both impls apply and the call is ambiguous.
trait AmbiguousIfSync<A> {
    fn check() {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

#[test]
fn send_and_sync_follow_the_header() {
    assert_send::<Model>();
    assert_sync::<Model>();
    assert_send::<Image>();
    assert_sync::<Image>();
    assert_send::<Tokenizer>();
    assert_sync::<Tokenizer>();
    assert_send::<Classifier<'static>>();
    assert_sync::<Classifier<'static>>();
    assert_send::<Index>();
    assert_sync::<Index>();
    assert_send::<Segmenter<'static>>();
    assert_sync::<Segmenter<'static>>();
    assert_send::<Vqa<'static>>();
    assert_sync::<Vqa<'static>>();
    // An encoder is a per-thread context: it may move to another thread, not be shared.
    assert_send::<ImageEncoder<'static>>();
    assert_send::<TextEncoder<'static>>();
    <ImageEncoder<'static> as AmbiguousIfSync<_>>::check();
    <TextEncoder<'static> as AmbiguousIfSync<_>>::check();
}

#[test]
fn threads_share_one_model() {
    let model = Arc::new(Model::load(model_fixture("model.bmc.pt")).unwrap());
    let images: Arc<Vec<Image>> =
        Arc::new(image_paths().iter().map(|p| Image::open(p).unwrap()).collect());
    let expected = {
        let refs: Vec<&Image> = images.iter().collect();
        model.image_encoder().unwrap().encode(&refs).unwrap()
    };
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let (model, images) = (Arc::clone(&model), Arc::clone(&images));
            thread::spawn(move || {
                let options = EncoderOptions { batch_size: n + 1, ..EncoderOptions::default() };
                let mut encoder = ImageEncoder::new(&model, options).unwrap();
                let refs: Vec<&Image> = images.iter().collect();
                encoder.encode(&refs).unwrap()
            })
        })
        .collect();
    for handle in handles {
        let result = handle.join().unwrap();
        assert!(max_abs_diff(&result.data, &expected.data) < 1e-5);
    }
}

#[test]
fn an_encoder_moves_to_another_thread_and_a_classifier_is_shared() {
    let model = Model::load(model_fixture("model.bmc.pt")).unwrap();
    let image = Image::open(&image_paths()[0]).unwrap();
    let mut texts = model.text_encoder().unwrap();
    let classifier = Classifier::new(&mut texts, &["a", "b", "c"], &[]).unwrap();
    let encoder = model.image_encoder().unwrap();
    let (first, second) = thread::scope(|scope| {
        let moved = scope.spawn(|| {
            let mut encoder = encoder; // moved into this thread
            classifier.classify(&mut encoder, &image, 3).unwrap()[0].probability
        });
        let shared = scope.spawn(|| {
            let mut own = model.image_encoder().unwrap();
            classifier.classify(&mut own, &image, 3).unwrap()[0].probability
        });
        (moved.join().unwrap(), shared.join().unwrap())
    });
    assert_eq!(first.to_bits(), second.to_bits());
}
