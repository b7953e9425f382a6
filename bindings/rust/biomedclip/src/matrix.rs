// SPDX-License-Identifier: MIT
//! A row-major matrix of floats, as the library returns embeddings and scores.

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

    /// Row `i` (panics if out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The rows in order.
    pub fn rows(&self) -> std::slice::Chunks<'_, f32> {
        self.data.chunks(self.cols.max(1))
    }
}
