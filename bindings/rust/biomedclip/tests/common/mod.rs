// SPDX-License-Identifier: MIT
//! Fixture paths and readers shared by the integration tests. tests/check_rust.sh sets
//! BMC_FIXTURES (the fixtures folder) and BMC_BUILD (the build folder), both absolute.
#![allow(dead_code)]
use std::env;
use std::fs;
use std::path::PathBuf;

pub fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env::var("BMC_FIXTURES").expect("set BMC_FIXTURES (tests/check_rust.sh does)"));
    assert!(dir.is_absolute(), "BMC_FIXTURES must be absolute (cargo runs tests elsewhere)");
    dir
}

pub fn model_fixture(name: &str) -> PathBuf {
    let path = fixtures().join("model").join(name);
    assert!(path.exists(), "missing fixture {} (run `make fixtures`)", path.display());
    path
}

pub fn build_dir() -> PathBuf {
    PathBuf::from(env::var("BMC_BUILD").expect("set BMC_BUILD (tests/check_rust.sh does)"))
}

pub fn read_f32(path: PathBuf) -> Vec<f32> {
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

pub fn read_f64(path: PathBuf) -> Vec<f64> {
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
    bytes.chunks_exact(8).map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])).collect()
}

pub fn read_i32(path: PathBuf) -> Vec<i32> {
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
    bytes.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

pub fn read_i64(path: PathBuf) -> Vec<i64> {
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {}", path.display(), e));
    bytes.chunks_exact(8).map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])).collect()
}

/// Non-empty lines of a text fixture.
pub fn lines(name: &str) -> Vec<String> {
    fs::read_to_string(model_fixture(name))
        .expect("readable fixture")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// The fixture images, in manifest order.
pub fn image_paths() -> Vec<PathBuf> {
    lines("manifest.txt")
        .iter()
        .filter(|l| l.starts_with("image "))
        .map(|l| model_fixture(&format!("images/{}", l.split_whitespace().nth(2).unwrap())))
        .collect()
}

/// The fixture texts (one a line; tabs may occur inside a line).
pub fn texts() -> Vec<String> {
    let text = fs::read_to_string(model_fixture("texts.txt")).expect("readable fixture");
    text.split('\n').filter(|l| !l.is_empty()).map(str::to_string).collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

pub fn normalised(rows: &[f32], dim: usize) -> Vec<f32> {
    rows.chunks(dim)
        .flat_map(|r| {
            let norm = r.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>().sqrt();
            r.iter().map(move |x| (*x as f64 / norm) as f32).collect::<Vec<_>>()
        })
        .collect()
}
