// SPDX-License-Identifier: MIT
//! Versions and the process-wide settings (`bmc_configure`).
use std::ffi::CStr;

use biomedclip_sys as sys;

use crate::error::{check, Result};

/// The loaded library's version, "MAJOR.MINOR.PATCH".
pub fn version() -> &'static str {
    // SAFETY: a static string.
    unsafe { CStr::from_ptr(sys::bmc_version_string()) }.to_str().unwrap_or("?")
}

/// Process-wide settings other than the log callback (which this crate leaves as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Intra-op threads for CPU inference (0..1024); 0 lets the library choose per model
    /// (1 for float32, one per physical core for bfloat16).
    pub cpu_threads: i32,
    pub log_level: i32,
    pub max_image_width: i64,
    pub max_image_height: i64,
    pub max_image_pixels: i64,
}

fn current() -> Result<sys::bmc_runtime_config> {
    let mut raw: sys::bmc_runtime_config = unsafe { std::mem::zeroed() };
    // SAFETY: a valid, writable struct, initialised before the get.
    unsafe { sys::bmc_runtime_config_init(&mut raw) };
    check(unsafe { sys::bmc_runtime_config_get(&mut raw) })?;
    Ok(raw)
}

/// The current settings (`bmc_runtime_config_get`).
pub fn runtime_config() -> Result<RuntimeConfig> {
    let raw = current()?;
    Ok(RuntimeConfig {
        cpu_threads: raw.cpu_threads,
        log_level: raw.log_level,
        max_image_width: raw.max_image_width,
        max_image_height: raw.max_image_height,
        max_image_pixels: raw.max_image_pixels,
    })
}

/// Applies settings (`bmc_configure`); call it at start-up, before other threads use the
/// library. On error nothing changes.
pub fn configure(config: &RuntimeConfig) -> Result<()> {
    let mut raw = current()?;
    raw.cpu_threads = config.cpu_threads;
    raw.log_level = config.log_level;
    raw.max_image_width = config.max_image_width;
    raw.max_image_height = config.max_image_height;
    raw.max_image_pixels = config.max_image_pixels;
    // SAFETY: a complete, initialised struct.
    check(unsafe { sys::bmc_configure(&raw) })
}
