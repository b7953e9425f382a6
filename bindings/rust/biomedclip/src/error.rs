// SPDX-License-Identifier: MIT
//! Errors: every failing library call becomes an [`Error`] with its status and message.
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::c_char;
use std::path::Path;

use biomedclip_sys as sys;

/// A library status code other than `BMC_OK` (the header's pinned `BMC_ERR_*` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    InvalidArgument,
    OutOfMemory,
    Io,
    CorruptData,
    Unsupported,
    Limit,
    BufferTooSmall,
    InvalidUtf8,
    Model,
    Version,
    Device,
    Cancelled,
    Internal,
    NotFound,
    /// A code this version of the crate does not know.
    Other(i32),
}

impl Status {
    /// The status for a `BMC_ERR_*` code.
    pub fn from_code(code: i32) -> Status {
        match code {
            sys::BMC_ERR_INVALID_ARGUMENT => Status::InvalidArgument,
            sys::BMC_ERR_OUT_OF_MEMORY => Status::OutOfMemory,
            sys::BMC_ERR_IO => Status::Io,
            sys::BMC_ERR_CORRUPT_DATA => Status::CorruptData,
            sys::BMC_ERR_UNSUPPORTED => Status::Unsupported,
            sys::BMC_ERR_LIMIT => Status::Limit,
            sys::BMC_ERR_BUFFER_TOO_SMALL => Status::BufferTooSmall,
            sys::BMC_ERR_INVALID_UTF8 => Status::InvalidUtf8,
            sys::BMC_ERR_MODEL => Status::Model,
            sys::BMC_ERR_VERSION => Status::Version,
            sys::BMC_ERR_DEVICE => Status::Device,
            sys::BMC_ERR_CANCELLED => Status::Cancelled,
            sys::BMC_ERR_INTERNAL => Status::Internal,
            sys::BMC_ERR_NOT_FOUND => Status::NotFound,
            other => Status::Other(other),
        }
    }

    /// The `BMC_ERR_*` code.
    pub fn code(self) -> i32 {
        match self {
            Status::InvalidArgument => sys::BMC_ERR_INVALID_ARGUMENT,
            Status::OutOfMemory => sys::BMC_ERR_OUT_OF_MEMORY,
            Status::Io => sys::BMC_ERR_IO,
            Status::CorruptData => sys::BMC_ERR_CORRUPT_DATA,
            Status::Unsupported => sys::BMC_ERR_UNSUPPORTED,
            Status::Limit => sys::BMC_ERR_LIMIT,
            Status::BufferTooSmall => sys::BMC_ERR_BUFFER_TOO_SMALL,
            Status::InvalidUtf8 => sys::BMC_ERR_INVALID_UTF8,
            Status::Model => sys::BMC_ERR_MODEL,
            Status::Version => sys::BMC_ERR_VERSION,
            Status::Device => sys::BMC_ERR_DEVICE,
            Status::Cancelled => sys::BMC_ERR_CANCELLED,
            Status::Internal => sys::BMC_ERR_INTERNAL,
            Status::NotFound => sys::BMC_ERR_NOT_FOUND,
            Status::Other(code) => code,
        }
    }

    /// The library's short description ("invalid argument", ...).
    pub fn description(self) -> &'static str {
        // SAFETY: bmc_status_string returns a static string for any code, never NULL.
        unsafe { CStr::from_ptr(sys::bmc_status_string(self.code())) }
            .to_str()
            .unwrap_or("unknown status")
    }
}

/// A failed call: the status and the library's message (`bmc_last_error()`), or the binding's
/// own message for arguments it refuses before calling the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.status.description())
    }
}

impl std::error::Error for Error {}

/// The result of every fallible call of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An argument refused by the binding itself (status InvalidArgument).
    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error { status: Status::InvalidArgument, message: message.into() }
    }
}

/// Ok for BMC_OK, else the error with this thread's last error message. Must run right after
/// the call, on the same thread (the message is thread-local).
pub(crate) fn check(status: sys::bmc_status) -> Result<()> {
    if status == sys::BMC_OK {
        return Ok(());
    }
    // SAFETY: bmc_last_error never returns NULL; the string is valid until the next call.
    let message = unsafe { string_from(sys::bmc_last_error()) };
    Err(Error { status: Status::from_code(status), message })
}

/// Copies a C string (NULL gives "").
///
/// # Safety
/// `text` must be NULL or a valid NUL-terminated string.
pub(crate) unsafe fn string_from(text: *const c_char) -> String {
    if text.is_null() {
        String::new()
    } else {
        CStr::from_ptr(text).to_string_lossy().into_owned()
    }
}

/// Borrows a C string the library keeps inside a handle (a label), for as long as the caller
/// borrows the handle; None for NULL (an index out of range) or text that is not UTF-8.
///
/// # Safety
/// `text` must be NULL or a valid NUL-terminated string that lives at least as long as `'a`.
pub(crate) unsafe fn borrowed_str<'a>(text: *const c_char) -> Option<&'a str> {
    if text.is_null() {
        None
    } else {
        CStr::from_ptr(text).to_str().ok()
    }
}

/// A Rust string as a C string; an interior NUL is an InvalidArgument error.
pub(crate) fn c_string(text: &str, what: &str) -> Result<CString> {
    CString::new(text).map_err(|_| Error::invalid(format!("{} contains a NUL character", what)))
}

/// A path as the C string the library opens.
pub(crate) fn c_path(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::invalid("the path is not valid Unicode"))?
        .as_bytes()
        .to_vec();
    CString::new(bytes).map_err(|_| Error::invalid("the path contains a NUL character"))
}

/// C strings for a list of texts, and the pointer array that refers to them (keep both).
pub(crate) fn c_strings(texts: &[&str], what: &str) -> Result<(Vec<CString>, Vec<*const c_char>)> {
    let owned = texts
        .iter()
        .map(|t| c_string(t, what))
        .collect::<Result<Vec<CString>>>()?;
    let pointers = owned.iter().map(|s| s.as_ptr()).collect();
    Ok((owned, pointers))
}
