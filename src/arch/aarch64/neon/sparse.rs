//! Sparse kernels: the sparse dot builds x four lanes at a time with lane loads (NEON has no
//! gather) into four FMA accumulators; the row product runs 16 dense columns per pass in four
//! q-register accumulators with a multiply then an add (the scalar kernel's operations, so
//! the same bits).

use core::arch::aarch64::*;

use super::fmac::Lanes;
use crate::arch::scalar::sparse as scalar;

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
        vaddvq_f32(sum) + scalar::dot(&indices[quads..n], &values[quads..n], x)
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
    let whole = n / 16 * 16;
    // SAFETY: neon is part of the aarch64 baseline; every load reads 4 columns at
    // `i·stride + j + 4 <= i·stride + n <= b.len()` (the caller's guarantee), every store 4 at
    // `j + 4 <= n`.
    unsafe {
        for j in (0..whole).step_by(16) {
            let mut acc = [vdupq_n_f32(0.0); 4];
            for (&i, &v) in indices.iter().zip(values) {
                let v = vdupq_n_f32(v.into());
                let brow = b.as_ptr().add(i as usize * stride + j);
                for (q, acc) in acc.iter_mut().enumerate() {
                    *acc = vaddq_f32(*acc, vmulq_f32(v, vld1q_f32(brow.add(4 * q))));
                }
            }
            for (q, acc) in acc.iter().enumerate() {
                vst1q_f32(out.as_mut_ptr().add(j + 4 * q), *acc);
            }
        }
    }
    scalar::row(
        indices,
        values,
        &b[whole.min(b.len())..],
        stride,
        &mut out[whole..],
    );
}
