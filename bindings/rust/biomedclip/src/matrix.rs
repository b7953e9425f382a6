// SPDX-License-Identifier: MIT
//! A row-major matrix of floats, as the library returns embeddings and scores.
use biomedclip_sys as sys;

use crate::error::{check, Result};
use crate::model::rows_of;

/// `rows` x `cols` values, row-major, in `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub(crate) fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// The `cols` values per row of `input` (rows of `dim` floats; `what` names it in errors)
    /// that `fill(input, rows, out, out_len)`, a library call such as
    /// `bmc_classifier_probabilities`, writes; its status is checked.
    pub(crate) fn per_row(
        input: &[f32],
        dim: usize,
        what: &str,
        cols: usize,
        fill: impl FnOnce(*const f32, usize, *mut f32, usize) -> sys::bmc_status,
    ) -> Result<Matrix> {
        let rows = rows_of(input, dim, what)?;
        let mut out = Matrix::zeros(rows, cols);
        check(fill(input.as_ptr(), rows, out.data.as_mut_ptr(), out.data.len()))?;
        Ok(out)
    }

    /// Row `i` (panics if out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The rows in order.
    pub fn rows(&self) -> std::slice::Chunks<'_, f32> {
        self.data.chunks(self.cols.max(1))
    }
}
