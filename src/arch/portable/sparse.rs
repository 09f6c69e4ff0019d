//! Sparse kernels on `f32x8`. The sparse dot builds x eight lanes at a time from its indices
//! into two accumulators (independent chains, where the scalar dot is one) and widens the
//! values eight at a time; the row product is vectorised along the dense columns, 32 per pass,
//! with the scalar kernel's operations (multiply, then add), so its bits are the scalar
//! kernel's.

use wide::f32x8;

use super::fmac::Lanes;
use crate::arch::scalar::sparse;
use crate::arch::with_width;

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
    let mut tail = 0.0;
    for (&j, &v) in indices[whole..n].iter().zip(&values[whole..n]) {
        tail += v.one() * x[j as usize];
    }
    (acc[0] + acc[1]).reduce_add() + tail
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
    // SAFETY: per the function's contract.
    sparse::each_row(indptr, indices, values, out, |i, v| unsafe { dot(i, v, x) });
}

/// Columns `[j, j + 8Q + r)` of the row product: `Q` eight-column accumulators, then one for
/// the last `r < 8` columns, which reads eight columns of B when B holds them for every
/// nonzero (the lanes past `r` are never stored), else is scalar. Values are widened eight
/// at a time (`Into<f32>` on f16 costs a call per element).
fn pass<T: Lanes, const Q: usize>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    (j, r): (usize, usize),
    out: &mut [f32],
) {
    let mut acc = [f32x8::ZERO; Q];
    let mut last = f32x8::ZERO;
    let mut last_scalar = [0f32; 8];
    // The furthest row of B is looked up only for a pass with a partial vector.
    let wide = r > 0
        && indices
            .iter()
            .max()
            .is_none_or(|&i| i as usize * stride + j + 8 * Q + 8 <= b.len());
    let mut add = |i: u32, v: f32| {
        let brow = &b[i as usize * stride + j..];
        let splat = f32x8::splat(v);
        for (acc, bs) in acc.iter_mut().zip(brow[..8 * Q].chunks_exact(8)) {
            *acc += splat * f32x8::new(bs.try_into().unwrap());
        }
        if wide {
            last += splat * f32x8::new(brow[8 * Q..8 * Q + 8].try_into().unwrap());
        } else {
            for (o, &x) in last_scalar[..r].iter_mut().zip(&brow[8 * Q..]) {
                *o += v * x;
            }
        }
    };
    let n = indices.len().min(values.len());
    let whole = n / 8 * 8;
    for (is, vs) in indices[..whole]
        .chunks_exact(8)
        .zip(values[..whole].chunks_exact(8))
    {
        for (&i, v) in is.iter().zip(T::lanes(vs).to_array()) {
            add(i, v);
        }
    }
    for (&i, &v) in indices[whole..n].iter().zip(&values[whole..n]) {
        add(i, v.one());
    }
    let out = &mut out[j..j + 8 * Q + r];
    for (o, acc) in out.chunks_exact_mut(8).zip(&acc) {
        o.copy_from_slice(&acc.to_array());
    }
    let last = if wide { last.to_array() } else { last_scalar };
    out[8 * Q..].copy_from_slice(&last[..r]);
}

/// The row product: passes of 32 columns, then the rest in one pass. Each column is one chain
/// of adds (the order is fixed, so the bits are the scalar kernel's), so a pass's time per
/// nonzero hardly depends on its width.
pub(super) fn row<T: Lanes>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let n = out.len();
    let mut j = 0;
    while n - j >= 32 {
        pass::<T, 4>(indices, values, b, stride, (j, 0), out);
        j += 32;
    }
    if j < n {
        let at = (j, (n - j) % 8);
        with_width!((n - j) / 8, pass::<T>(indices, values, b, stride, at, out));
    }
}
