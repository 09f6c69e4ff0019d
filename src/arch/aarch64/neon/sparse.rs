//! Sparse kernels: the sparse dot builds x four lanes at a time with lane loads (NEON has no
//! gather) into four FMA accumulators; the row product runs 32 dense columns per pass in
//! eight q-register accumulators, and the rest in one pass, with a multiply then an add (the
//! scalar kernel's operations, so the same bits).

use core::arch::aarch64::*;

use super::fmac::Lanes;
use crate::arch::scalar::sparse as scalar;
use crate::arch::with_width;

/// Four x values at `indices[..4]`, one lane load each.
///
/// # Safety
/// `indices` is valid for reading 4 entries, each below the length of `x`.
#[inline(always)]
unsafe fn gather4(indices: *const u32, x: *const f32) -> float32x4_t {
    // SAFETY: per the function's contract, each load reads `x` at one of the four indices.
    unsafe {
        let [i0, i1, i2, i3] = [0, 1, 2, 3].map(|k| *indices.add(k) as usize);
        let v = vld1q_dup_f32(x.add(i0));
        let v = vld1q_lane_f32::<1>(x.add(i1), v);
        let v = vld1q_lane_f32::<2>(x.add(i2), v);
        vld1q_lane_f32::<3>(x.add(i3), v)
    }
}

/// `acc` plus the products of the four nonzeros at `at`.
///
/// # Safety
/// `at + 4` is within `indices` and `values`, and those indices are below `x.len()`.
#[inline(always)]
unsafe fn step<T: Lanes>(
    acc: float32x4_t,
    indices: &[u32],
    values: &[T],
    x: &[f32],
    at: usize,
) -> float32x4_t {
    // SAFETY: per the function's contract; neon is part of the aarch64 baseline.
    unsafe {
        let xs = gather4(indices.as_ptr().add(at), x.as_ptr());
        vfmaq_f32(acc, T::lanes(values.as_ptr().add(at)), xs)
    }
}

/// The dot of one row: 16 nonzeros per step in four accumulators, then four at a time, then
/// the rest in order.
///
/// # Safety
/// Every index is below `x.len()`.
#[inline(always)]
unsafe fn dot<T: Lanes>(indices: &[u32], values: &[T], x: &[f32]) -> f32 {
    let n = indices.len().min(values.len());
    let (whole, quads) = (n / 16 * 16, n / 4 * 4);
    // SAFETY: every step is at `at + 4 <= quads <= n`, and the indices are below `x.len()`
    // by the contract; neon is part of the aarch64 baseline.
    unsafe {
        let mut acc = [vdupq_n_f32(0.0); 4];
        for p in (0..whole).step_by(16) {
            for (q, acc) in acc.iter_mut().enumerate() {
                *acc = step(*acc, indices, values, x, p + 4 * q);
            }
        }
        for (q, at) in (whole..quads).step_by(4).enumerate() {
            acc[q] = step(acc[q], indices, values, x, at);
        }
        let sum = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3]));
        let mut tail = 0.0;
        for (&j, &v) in indices[quads..n].iter().zip(&values[quads..n]) {
            tail += vgetq_lane_f32::<0>(v.splat()) * x[j as usize];
        }
        vaddvq_f32(sum) + tail
    }
}

/// [`dot`] of each row `r < out.len()` of a compressed structure.
///
/// # Safety
/// Every index is below `x.len()` (the [`crate::backend::SparseDots`] contract).
#[target_feature(enable = "neon")]
pub(super) unsafe fn dots<T: Lanes>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
) {
    // SAFETY: per the function's contract.
    scalar::each_row(indptr, indices, values, out, |i, v| unsafe { dot(i, v, x) });
}

/// Columns `[j, j + 4Q + r)` of the row product: `Q` four-column accumulators, then one for
/// the last `r < 4` columns, read and written a lane at a time (NEON has no masked loads).
///
/// # Safety
/// `j + 4Q + r <= out.len()`, and every `indices[p]·stride + out.len() <= b.len()`.
#[inline(always)]
unsafe fn pass<T: Lanes, const Q: usize>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    (j, r): (usize, usize),
    out: &mut [f32],
) {
    // SAFETY: per the function's contract, every load reads columns below `j + 4Q + r` of a
    // row of B (the lanes of the last accumulator past `r` repeat its first column and are
    // never stored), every store the same columns of `out`; neon is part of the aarch64
    // baseline.
    unsafe {
        let mut acc = [vdupq_n_f32(0.0); Q];
        let mut last = vdupq_n_f32(0.0);
        for (&i, &v) in indices.iter().zip(values) {
            let v = v.splat();
            let brow = b.as_ptr().add(i as usize * stride + j);
            for (q, acc) in acc.iter_mut().enumerate() {
                *acc = vaddq_f32(*acc, vmulq_f32(v, vld1q_f32(brow.add(4 * q))));
            }
            if r > 0 {
                let p = brow.add(4 * Q);
                let mut bs = vld1q_dup_f32(p);
                if r > 1 {
                    bs = vld1q_lane_f32::<1>(p.add(1), bs);
                }
                if r > 2 {
                    bs = vld1q_lane_f32::<2>(p.add(2), bs);
                }
                last = vaddq_f32(last, vmulq_f32(v, bs));
            }
        }
        let o = out.as_mut_ptr().add(j);
        for (q, acc) in acc.iter().enumerate() {
            vst1q_f32(o.add(4 * q), *acc);
        }
        let o = o.add(4 * Q);
        if r > 0 {
            vst1q_lane_f32::<0>(o, last);
        }
        if r > 1 {
            vst1q_lane_f32::<1>(o.add(1), last);
        }
        if r > 2 {
            vst1q_lane_f32::<2>(o.add(2), last);
        }
    }
}

/// The row product: passes of 32 columns, then the rest in one pass. Each column is one chain
/// of adds (the order is fixed), so a pass's time per nonzero hardly depends on its width, and
/// the x86 tiers ran 1.6-2.0x faster at n = 33 once the last columns joined the last pass.
pub(super) fn row<T: Lanes>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let n = out.len();
    let mut j = 0;
    // SAFETY: the passes cover `[0, n)` exactly; the caller guarantees B's rows (see `pass`).
    unsafe {
        while n - j >= 32 {
            pass::<T, 8>(indices, values, b, stride, (j, 0), out);
            j += 32;
        }
        if j < n {
            let at = (j, (n - j) % 4);
            with_width!((n - j) / 4, pass::<T>(indices, values, b, stride, at, out));
        }
    }
}
