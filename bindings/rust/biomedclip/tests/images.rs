// SPDX-License-Identifier: MIT
//! Images and pixel views: strides and bounds, the display pipeline's stretch rule, PNG
//! round trips, preprocessing options.
mod common;

use biomedclip::{preprocess_rgb8, write_png, Image, Mode, PixelView, PreprocessOptions, ResizeMode, Status};
use common::*;

#[test]
fn open_and_from_memory_agree() {
    for path in image_paths() {
        let opened = Image::open(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let decoded = Image::from_memory(&bytes).unwrap();
        assert_eq!(opened.to_rgb8().unwrap(), decoded.to_rgb8().unwrap());
        assert!(matches!(opened.mode(), Mode::L | Mode::Rgb | Mode::Rgba));
    }
    assert_eq!(Image::from_memory(b"GIF89a").unwrap_err().status, Status::Unsupported);
}

/// A deterministic pseudo-random sequence (no crates needed).
fn samples(count: usize, seed: u64) -> Vec<u16> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % 4096) as u16
        })
        .collect()
}

#[test]
fn u8_views_are_taken_as_they_are() {
    let gray: Vec<u8> = (0..35u32).map(|v| (v * 7) as u8).collect();
    let image = Image::from_pixels(&PixelView::new(&gray, 7, 5, 1)).unwrap();
    assert_eq!(image.mode(), Mode::L);
    let rgb = image.to_rgb8().unwrap();
    assert!(rgb.chunks(3).zip(&gray).all(|(p, g)| p == [*g, *g, *g]));
}

fn window(view: PixelView<'_, u16>) -> PixelView<'_, u16> {
    view.window(2048.0, 4096.0)
}

#[test]
fn strided_and_bottom_up_views_read_the_same_rows() {
    let (width, height, stride) = (6usize, 4usize, 9usize);
    let buffer = samples(stride * height, 1);
    let packed: Vec<u16> = buffer.chunks(stride).flat_map(|r| r[..width].to_vec()).collect();
    let flipped: Vec<u16> = packed.chunks(width).rev().flatten().copied().collect();
    let reference = Image::from_pixels(&window(PixelView::new(&packed, width, height, 1))).unwrap();
    let strided = Image::from_pixels(&window(PixelView::new(&buffer, width, height, 1).row_stride(stride as isize))).unwrap();
    let bottom_up = Image::from_pixels(&window(PixelView::new(&flipped, width, height, 1).row_stride(-(width as isize)))).unwrap();
    assert_eq!(strided.to_rgb8().unwrap(), reference.to_rgb8().unwrap());
    assert_eq!(bottom_up.to_rgb8().unwrap(), reference.to_rgb8().unwrap());
}

#[test]
fn views_outside_their_slice_are_refused() {
    let data = vec![0u16; 20];
    let bad = [
        PixelView::new(&data, 5, 5, 1),                  // needs 25 samples
        PixelView::new(&data, 5, 4, 1).row_stride(6),    // needs 3 * 6 + 5 = 23
        PixelView::new(&data, 5, 4, 1).row_stride(4),    // rows overlap
        PixelView::new(&data, 2, 2, 2),                  // 2 channels
        PixelView::new(&data, 0, 2, 1),
    ];
    for view in &bad {
        assert_eq!(Image::from_pixels(view).unwrap_err().status, Status::InvalidArgument);
    }
    let error = Image::from_pixels(&PixelView::new(&data, 5, 4, 1).window(0.0, 0.5)).unwrap_err();
    assert_eq!(error.status, Status::InvalidArgument); // the library's own check
}

#[test]
fn full_range_stretch_follows_the_header() {
    // (v - min) * 255 / (max - min), rounded halves up, in double precision.
    let values: Vec<i16> = samples(48, 2).into_iter().map(|v| v as i16 - 2000).collect();
    let image = Image::from_pixels(&PixelView::new(&values, 8, 6, 1).rescale(2.0, -5.0)).unwrap();
    let shown: Vec<f64> = values.iter().map(|&v| v as f64 * 2.0 - 5.0).collect();
    let (low, high) = shown.iter().fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let expected: Vec<u8> = shown.iter().map(|v| ((v - low) * 255.0 / (high - low) + 0.5).floor() as u8).collect();
    let rgb = image.to_rgb8().unwrap();
    assert_eq!(rgb.chunks(3).map(|p| p[0]).collect::<Vec<u8>>(), expected);
    let inverted = Image::from_pixels(&PixelView::new(&values, 8, 6, 1).rescale(2.0, -5.0).monochrome1(true)).unwrap();
    assert!(inverted.to_rgb8().unwrap().iter().zip(&rgb).all(|(a, b)| *a == 255 - *b));
}

#[test]
fn png_round_trip_and_preprocessing() {
    let dir = std::env::temp_dir().join(format!("biomedclip-rust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pixels: Vec<u8> = (0..(20 * 10 * 3) as u32).map(|v| (v % 251) as u8).collect();
    let path = dir.join("round.png");
    write_png(&path, &pixels, 20, 10, 3).unwrap();
    let image = Image::open(&path).unwrap();
    assert_eq!((image.width(), image.height(), image.mode()), (20, 10, Mode::Rgb));
    assert_eq!(image.to_rgb8().unwrap(), pixels);
    assert_eq!(write_png(&path, &pixels, 20, 10, 4).unwrap_err().status, Status::InvalidArgument);
    assert_eq!(write_png(dir.join("no/dir.png"), &pixels, 20, 10, 3).unwrap_err().status, Status::Io);

    let options = PreprocessOptions { image_size: 10, resize_mode: ResizeMode::Squash, ..Default::default() };
    let squashed = preprocess_rgb8(&image, &options).unwrap();
    assert_eq!(squashed.len(), 10 * 10 * 3);
    let bad = PreprocessOptions { image_size: 100_000, ..Default::default() };
    assert_eq!(preprocess_rgb8(&image, &bad).unwrap_err().status, Status::InvalidArgument);
    std::fs::remove_dir_all(&dir).unwrap();
}
