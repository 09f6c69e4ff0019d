//! Pruning a dense matrix to a validated [`Csr`]: by magnitude (per row or global) and N:M.
//!
//! Magnitudes are ordered by `|w|` with NaN above infinity (the total order of the absolute
//! value's bits), so a NaN weight is always kept and visible. Ties are broken by position:
//! the earlier element (lower column; for global pruning, lower row-major index) is kept.
//! The result is deterministic: the same matrix and target give the same structure on every
//! machine. Kept values are converted to the output type rounding to nearest even (exact when
//! the types match); kept zeros stay as explicit entries, so the count is exact.

use super::Csr;
use crate::fmac::{Input, MatRef, Output};
use crate::Error;

/// Whether a sparsity target applies to each row or to the whole matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every row keeps `cols - round(sparsity · cols)` entries.
    PerRow,
    /// The matrix keeps `rows·cols - round(sparsity · rows·cols)` entries, wherever they are.
    Global,
}

/// The sort key of an element: larger magnitude first, then earlier position.
fn key(v: f32, position: usize) -> (core::cmp::Reverse<u32>, usize) {
    (core::cmp::Reverse(v.to_bits() & 0x7fff_ffff), position)
}

/// Keeps the largest-magnitude entries of `w` so that `round(sparsity · count)` entries are
/// dropped (per row or globally), as a CSR matrix of `V`.
///
/// ```
/// use half::bf16;
/// use lowp::fmac::MatRef;
/// use lowp::sparse::prune::{magnitude, Scope};
/// let w = [0.5f32, -3.0, 1.0, 1.0, /* row 1 */ 0.0, 2.0, -2.0, 0.1];
/// let csr = magnitude::<f32, bf16>(MatRef::new(&w, 2, 4)?, 0.5, Scope::PerRow)?;
/// // Row 0 keeps -3 and the first 1.0 (the tie goes to the lower column); row 1 keeps 2, -2.
/// assert_eq!(csr.view().indices(), &[1, 2, 1, 2]);
/// # Ok::<(), lowp::Error>(())
/// ```
///
/// # Errors
/// [`Error::Parameter`] when `sparsity` is not in `[0, 1]`; [`Error::Shape`] when the
/// column count does not fit `u32` indices.
pub fn magnitude<T: Input, V: Input + Output>(
    w: MatRef<'_, T>,
    sparsity: f64,
    scope: Scope,
) -> Result<Csr<V>, Error> {
    if !(0.0..=1.0).contains(&sparsity) {
        return Err(Error::Parameter {
            name: "sparsity",
            reason: "must be in [0, 1]",
        });
    }
    let (rows, cols) = (w.rows(), w.cols());
    let drop = |count: usize| (sparsity * count as f64).round() as usize;
    let mut keep = vec![false; rows * cols];
    let mut order: Vec<(core::cmp::Reverse<u32>, usize)> = Vec::new();
    let mut select = |order: &mut Vec<_>, first: usize, count: usize| {
        let kept = count - drop(count).min(count);
        if kept > 0 && kept < count {
            order.select_nth_unstable(kept - 1);
        }
        for &(_, position) in &order[..kept] {
            keep[first + position] = true;
        }
    };
    match scope {
        Scope::PerRow => {
            for i in 0..rows {
                order.clear();
                order.extend((0..cols).map(|j| key(w.get(i, j).into(), j)));
                select(&mut order, i * cols, cols);
            }
        }
        Scope::Global => {
            order.extend((0..rows * cols).map(|p| key(w.get(p / cols, p % cols).into(), p)));
            select(&mut order, 0, rows * cols);
        }
    }
    gather(w, &keep)
}

/// Keeps, in each group of `m` consecutive entries of a row, the `n` of largest magnitude
/// (2:4 is `n = 2, m = 4`), as a CSR matrix of `V`.
///
/// ```
/// use lowp::fmac::MatRef;
/// use lowp::sparse::prune::n_of_m;
/// let w = [0.1f32, -0.9, 0.5, 0.2, 4.0, 0.0, 0.0, 3.0];
/// let csr = n_of_m::<f32, f32>(MatRef::new(&w, 1, 8)?, 2, 4)?;
/// assert_eq!(csr.view().indices(), &[1, 2, 4, 7]);
/// # Ok::<(), lowp::Error>(())
/// ```
///
/// # Errors
/// [`Error::Parameter`] unless `0 < n <= m` and `m` divides the column count;
/// [`Error::Shape`] when the column count does not fit `u32` indices.
pub fn n_of_m<T: Input, V: Input + Output>(
    w: MatRef<'_, T>,
    n: usize,
    m: usize,
) -> Result<Csr<V>, Error> {
    if n == 0 || n > m || !w.cols().is_multiple_of(m) {
        return Err(Error::Parameter {
            name: "n:m",
            reason: "needs 0 < n <= m and m dividing the number of columns",
        });
    }
    let (rows, cols) = (w.rows(), w.cols());
    let mut keep = vec![false; rows * cols];
    let mut group = Vec::with_capacity(m);
    for i in 0..rows {
        for g in (0..cols).step_by(m) {
            group.clear();
            group.extend((g..g + m).map(|j| key(w.get(i, j).into(), j)));
            group.sort_unstable();
            for &(_, j) in &group[..n] {
                keep[i * cols + j] = true;
            }
        }
    }
    gather(w, &keep)
}

/// The kept entries of `w`, row by row, as CSR.
fn gather<T: Input, V: Input + Output>(w: MatRef<'_, T>, keep: &[bool]) -> Result<Csr<V>, Error> {
    let (rows, cols) = (w.rows(), w.cols());
    if cols > u32::MAX as usize + 1 {
        return Err(Error::Shape {
            shape: vec![rows, cols],
            reason: "the minor dimension does not fit u32 indices",
        });
    }
    let nnz = keep.iter().filter(|&&k| k).count();
    let mut indptr = Vec::with_capacity(rows + 1);
    let mut indices = Vec::with_capacity(nnz);
    let mut values = Vec::with_capacity(nnz);
    indptr.push(0);
    for i in 0..rows {
        for j in (0..cols).filter(|&j| keep[i * cols + j]) {
            indices.push(j as u32);
            values.push(V::from_f32(w.get(i, j).into()));
        }
        indptr.push(indices.len());
    }
    // SAFETY: indptr counts each row's kept columns, which are pushed in increasing order and
    // are below `cols`, which fits u32 (checked above).
    Ok(unsafe { Csr::new_unchecked(rows, cols, indptr, indices, values) })
}
