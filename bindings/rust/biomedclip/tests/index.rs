// SPDX-License-Identifier: MIT
//! The embedding index against numpy's exact search (tools/fixtures/make_index_fixtures.py).
mod common;

use biomedclip::{Index, IndexDtype, Status};
use common::*;

fn meta() -> Vec<usize> {
    let path = fixtures().join("index").join("meta.txt");
    std::fs::read_to_string(&path).unwrap().split_whitespace().map(|v| v.parse().unwrap()).collect()
}

fn index_file(name: &str) -> std::path::PathBuf {
    let path = fixtures().join("index").join(name);
    assert!(path.exists(), "missing fixture {}", path.display());
    path
}

#[test]
fn search_matches_numpy() {
    for (dtype, suffix) in [(IndexDtype::F32, "f32"), (IndexDtype::F16, "f16"), (IndexDtype::BF16, "bf16")] {
        search_matches_numpy_as(dtype, suffix);
    }
}

fn search_matches_numpy_as(dtype: IndexDtype, suffix: &str) {
    let m = meta();
    let (dim, k) = (m[1], m[3]);
    let vectors = read_f32(index_file("vectors.f32"));
    let ids = read_i64(index_file("ids.i64"));
    let queries = read_f32(index_file("queries.f32"));
    let expected_ids = read_i64(index_file(&format!("top_{suffix}.i64")));
    let expected_scores = read_f64(index_file(&format!("top_{suffix}.f64")));
    let mut index = Index::new(dim, dtype).unwrap();
    index.add(&vectors, &ids, None).unwrap();
    assert_eq!(index.dtype(), dtype);
    assert_eq!(index.len(), ids.len());
    assert_eq!(index.ids().unwrap(), ids);
    for threads in [1, 0] {
        let found = index.search(&queries, k, threads).unwrap();
        for (i, (&score, &expected)) in found.scores.iter().zip(&expected_scores).enumerate() {
            assert!((score as f64 - expected).abs() < 1e-5);
            // Near-equal scores may swap places between float64 and float32.
            if found.ids[i] != expected_ids[i] {
                assert!((score as f64 - expected_scores[i]).abs() < 1e-5);
            }
        }
    }
}

#[test]
fn files_texts_and_edits() {
    let m = meta();
    let (dim, file_rows) = (m[1], m[4]);
    let texts = std::fs::read_to_string(index_file("texts.txt")).unwrap();
    let texts: Vec<&str> = texts.split('\n').take(file_rows).collect();
    let ids = read_i64(index_file("ids.i64"));
    let loaded = Index::load(index_file("python_f16.bmcidx")).unwrap();
    let mut mapped = Index::map(index_file("python_f16.bmcidx"), false).unwrap();
    assert_eq!(loaded.dtype(), IndexDtype::F16);
    for i in 0..20 {
        assert_eq!(loaded.text(ids[i]).unwrap(), texts[i]);
        assert_eq!(mapped.text(ids[i]).unwrap(), texts[i]);
        assert_eq!(loaded.vector(ids[i]).unwrap(), mapped.vector(ids[i]).unwrap());
    }
    let one = loaded.vector(ids[0]).unwrap();
    assert_eq!(mapped.add(&one, &[1 << 40], None).unwrap_err().status, Status::Unsupported);

    let mut copy = Index::new(dim, IndexDtype::F32).unwrap();
    copy.append(&loaded).unwrap();
    assert_eq!(copy.remove(&[ids[0], -5]).unwrap(), 1);
    assert_eq!(copy.len(), file_rows - 1);
    assert_eq!(copy.vector(ids[0]).unwrap_err().status, Status::NotFound);
    copy.add(&one, &[ids[0]], Some(&["back"])).unwrap();
    assert_eq!(copy.text(ids[0]).unwrap(), "back");
    let results = copy.search(&one, 2, 1).unwrap();
    assert_eq!(results.query(0).0[0], ids[0]);
    assert_eq!(copy.add(&one, &[ids[0]], None).unwrap_err().status, Status::InvalidArgument);
    let small = Index::new(dim, IndexDtype::F32).unwrap();
    let empty = small.search(&one, 3, 0).unwrap();
    assert_eq!(empty.ids, vec![-1, -1, -1]);
    assert!(empty.scores.iter().all(|s| s.is_infinite()));
}
