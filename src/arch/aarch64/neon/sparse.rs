//! Sparse kernels: the row product runs 16 dense columns per pass in four q-register
//! accumulators with a multiply then an add (the scalar kernel's operations, so the same
//! bits); the sparse dot is the scalar one (NEON has no gather).

use core::arch::aarch64::*;

use crate::arch::scalar::sparse as scalar;

pub(super) use scalar::dots;

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
