// SPDX-License-Identifier: MIT
//! Index sets against numpy's exact search over the concatenated shards and against one Index
//! holding every shard (tools/fixtures/make_index_set_fixtures.py).
mod common;

use biomedclip::{Index, IndexDtype, IndexSet, Status};
use common::*;
use std::path::PathBuf;

fn set_file(name: &str) -> PathBuf {
    let path = fixtures().join("index_set").join(name);
    assert!(path.exists(), "missing fixture {}", path.display());
    path
}

fn meta() -> Vec<usize> {
    let text = std::fs::read_to_string(set_file("meta.txt")).unwrap();
    text.split_whitespace().map(|v| v.parse().unwrap()).collect()
}

#[test]
fn search_matches_numpy_and_one_index() {
    let m = meta();
    let (rows, dim, k, shards) = (m[0], m[1], m[3], m[4]);
    let queries = read_f32(set_file("queries.f32"));
    for (dtype, suffix) in [(IndexDtype::F32, "f32"), (IndexDtype::F16, "f16"), (IndexDtype::BF16, "bf16")] {
        let paths: Vec<PathBuf> =
            (0..shards).map(|s| set_file(&format!("shard_{suffix}_{s}.bmcidx"))).collect();
        let set = IndexSet::open(&paths, true).unwrap();
        assert_eq!((set.len(), set.dim(), set.dtype(), set.shard_count()), (rows, dim, dtype, shards));
        let found = set.search(&queries, k, 0).unwrap();
        // exact ties across shards, no near ties: numpy's stable order holds exactly
        assert_eq!(found.ids, read_i64(set_file(&format!("top_{suffix}.i64"))));
        let expected = read_f64(set_file(&format!("top_{suffix}.f64")));
        for (&score, &reference) in found.scores.iter().zip(&expected) {
            assert!((score as f64 - reference).abs() < 2e-6);
        }
        let mut one = Index::new(dim, dtype).unwrap();
        for s in 0..shards {
            one.append(&set.shard(s).unwrap()).unwrap();
        }
        for kk in [1, k, rows + 2] {
            assert_eq!(set.search(&queries, kk, 3).unwrap(), one.search(&queries, kk, 1).unwrap());
        }
        let by_manifest = IndexSet::open_manifest(set_file(&format!("set_{suffix}.bmcset")), false).unwrap();
        assert_eq!(by_manifest.search(&queries, k, 1).unwrap(), found);
    }
}

#[test]
fn entries_manifests_and_errors() {
    let m = meta();
    let shards = m[4];
    let ids = read_i64(set_file("ids.i64"));
    let paths: Vec<PathBuf> = (0..shards).map(|s| set_file(&format!("shard_f32_{s}.bmcidx"))).collect();
    let set = IndexSet::open(&paths, false).unwrap();
    assert_eq!(set.find(ids[700]).unwrap(), (ids[700] >> 32) as usize);
    assert_eq!(set.text(ids[700]).unwrap(), "row 700");
    assert_eq!(set.find(-3).unwrap_err().status, Status::NotFound);
    assert!(set.shard(shards).is_none());
    // a manifest written here is the Python-written one, byte for byte
    let dir = std::env::temp_dir().join(format!("bmc-rust-set-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("set.bmcset");
    IndexSet::write_manifest(&manifest, &paths, true).unwrap(); // absolute paths
    let names: Vec<String> = (0..shards).map(|s| format!("shard_f32_{s}.bmcidx")).collect();
    let relative = set_file("set_f32.bmcset").parent().unwrap().join("rust-written.bmcset");
    IndexSet::write_manifest(&relative, &names, true).unwrap();
    assert_eq!(std::fs::read(&relative).unwrap(), std::fs::read(set_file("set_f32.bmcset")).unwrap());
    std::fs::remove_file(&relative).unwrap();
    assert_eq!(IndexSet::open_manifest(&manifest, true).unwrap().len(), set.len());
    // ids in two shards; a damaged manifest
    let twice = [paths[0].clone(), paths[0].clone()];
    assert_eq!(IndexSet::open(&twice, true).err().unwrap().status, Status::InvalidArgument);
    let mut bytes = std::fs::read(&manifest).unwrap();
    bytes[14] ^= 1;
    std::fs::write(&manifest, &bytes).unwrap();
    assert_eq!(IndexSet::open_manifest(&manifest, true).err().unwrap().status, Status::CorruptData);
    std::fs::remove_dir_all(&dir).unwrap();
}
