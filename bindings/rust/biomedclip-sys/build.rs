// SPDX-License-Identifier: MIT
//! Links libbiomedclip: from the folder in BIOMEDCLIP_LIB_DIR, else from the libdir that
//! `pkg-config --variable=libdir biomedclip` reports, else wherever the linker looks by default.
//! At run time the loader must find the library too (install it, or set LD_LIBRARY_PATH).
use std::env;
use std::path::Path;
use std::process::Command;

fn pkg_config_libdir() -> Option<String> {
    let output = Command::new("pkg-config")
        .args(["--variable=libdir", "biomedclip"])
        .output()
        .ok()?;
    let dir = String::from_utf8(output.stdout).ok()?.trim().to_string();
    if output.status.success() && !dir.is_empty() {
        Some(dir)
    } else {
        None
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=BIOMEDCLIP_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let dir = env::var("BIOMEDCLIP_LIB_DIR").ok().filter(|d| !d.is_empty()).or_else(pkg_config_libdir);
    if let Some(dir) = dir {
        let dir = Path::new(&dir);
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        println!("cargo:rustc-link-search=native={}", dir.display());
        // For dependents' build scripts (DEP_BIOMEDCLIP_LIB_DIR).
        println!("cargo:lib_dir={}", dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=biomedclip");
}
