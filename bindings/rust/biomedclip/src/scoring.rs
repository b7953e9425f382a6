// SPDX-License-Identifier: MIT
//! Scoring: cosine similarity, softmax, top-k, composed queries.
use biomedclip_sys as sys;

use crate::error::{check, Error, Result};
use crate::matrix::Matrix;
use crate::model::rows_of;

/// Cosine similarity of every `dim`-float row of `a` with every row of `b`: an
/// a-rows x b-rows matrix (`bmc_cosine_similarity`). A zero row gives 0.
pub fn cosine_similarity(a: &[f32], b: &[f32], dim: usize) -> Result<Matrix> {
    let rows_a = rows_of(a, dim, "a")?;
    let rows_b = rows_of(b, dim, "b")?;
    let mut out = Matrix::zeros(rows_a, rows_b);
    // SAFETY: a and b hold whole rows; out is sized.
    check(unsafe {
        sys::bmc_cosine_similarity(a.as_ptr(), rows_a, b.as_ptr(), rows_b, dim,
                                   out.data.as_mut_ptr(), out.data.len())
    })?;
    Ok(out)
}

/// Softmax of each row of `cols` values, in place (`bmc_softmax`).
pub fn softmax(values: &mut [f32], cols: usize) -> Result<()> {
    let rows = if cols == 0 || values.len() % cols != 0 {
        return Err(Error::invalid(format!("{} values are not rows of {}", values.len(), cols)));
    } else {
        values.len() / cols
    };
    // SAFETY: values holds rows x cols floats.
    check(unsafe { sys::bmc_softmax(values.as_mut_ptr(), rows, cols) })
}

/// Indices of the `k` largest values, largest first, ties by the lower index (`bmc_top_k`).
pub fn top_k(values: &[f32], k: usize) -> Result<Vec<usize>> {
    if k > values.len() {
        return Err(Error::invalid(format!("k = {} is more than the {} values", k, values.len())));
    }
    let mut indices = vec![0i32; k];
    // SAFETY: indices holds k entries; k <= values.len().
    check(unsafe { sys::bmc_top_k(values.as_ptr(), values.len(), k, indices.as_mut_ptr()) })?;
    Ok(indices.into_iter().map(|i| i as usize).collect())
}

/// A composed query (image + text -> image): the normalised weighted sum
/// (1 - text_weight) x image + text_weight x text of the two normalised embeddings, to search an
/// index with (`bmc_compose_query`).
pub fn compose_query(image_embedding: &[f32], text_embedding: &[f32], text_weight: f32) -> Result<Vec<f32>> {
    if image_embedding.len() != text_embedding.len() {
        return Err(Error::invalid(format!("embeddings of {} and {} values", image_embedding.len(),
                                          text_embedding.len())));
    }
    let mut out = vec![0f32; image_embedding.len()];
    // SAFETY: both inputs and out hold len floats.
    check(unsafe {
        sys::bmc_compose_query(image_embedding.as_ptr(), text_embedding.as_ptr(),
                               image_embedding.len(), text_weight, out.as_mut_ptr())
    })?;
    Ok(out)
}
