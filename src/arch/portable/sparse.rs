//! Sparse kernels on `f32x8`. The sparse dot builds x eight lanes at a time from its indices
//! into two accumulators (independent chains, where the scalar dot is one) and widens the
//! values eight at a time; the row product is vectorised along the dense columns with the
//! scalar kernel's operations (multiply, then add), so its bits are the scalar kernel's.

use wide::f32x8;

use super::fmac::Lanes;
use crate::arch::scalar::sparse;

/// The dot of one row: 16 nonzeros per step in two accumulators, then 8, then the rest in
/// order.
///
/// # Safety
/// Every index is below `x.len()`.
unsafe fn dot<T: Lanes>(indices: &[u32], values: &[T], x: &[f32]) -> f32 {
    let n = indices.len().min(values.len());
    let (pairs, whole) = (n / 16 * 16, n / 8 * 8);
    let gather = |at: usize| {
        let idx: &[u32; 8] = indices[at..at + 8].try_into().unwrap();
        // SAFETY: per the function's contract. Checking each read halved the speed (bf16
        // values, 4096 columns at 50-99 % sparsity, on SSE2).
        f32x8::new(idx.map(|j| unsafe { *x.get_unchecked(j as usize) }))
    };
    let mut acc = [f32x8::ZERO; 2];
    for p in (0..pairs).step_by(16) {
        for (h, acc) in acc.iter_mut().enumerate() {
            let at = p + 8 * h;
            *acc = T::lanes(&values[at..at + 8]).mul_add(gather(at), *acc);
        }
    }
    if whole > pairs {
        acc[0] = T::lanes(&values[pairs..whole]).mul_add(gather(pairs), acc[0]);
    }
    let mut total = (acc[0] + acc[1]).reduce_add();
    total += sparse::dot(&indices[whole..n], &values[whole..n], x);
    total
}

/// [`dot`] of each row `r < out.len()` of a compressed structure.
///
/// # Safety
/// Every index is below `x.len()` (the [`crate::backend::SparseDots`] contract).
pub(super) unsafe fn dots<T: Lanes>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
) {
    for (r, o) in out.iter_mut().enumerate() {
        let range = indptr[r]..indptr[r + 1];
        // SAFETY: per the function's contract.
        *o = unsafe { dot(&indices[range.clone()], &values[range], x) };
    }
}

pub(super) fn row<T: Copy + Into<f32>>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let n = out.len();
    let whole = n / 8 * 8;
    for j in (0..whole).step_by(8) {
        let mut acc = f32x8::ZERO;
        for (&i, &v) in indices.iter().zip(values) {
            let brow: [f32; 8] = b[i as usize * stride + j..][..8].try_into().unwrap();
            acc += f32x8::splat(v.into()) * f32x8::new(brow);
        }
        out[j..j + 8].copy_from_slice(&acc.to_array());
    }
    sparse::row(
        indices,
        values,
        &b[whole.min(b.len())..],
        stride,
        &mut out[whole..],
    );
}
