//! The panel transpose of [`crate::Backend::spmm_xt`]: 4 × 4 blocks through q registers.

use core::arch::aarch64::*;

use crate::arch::scalar::transpose::by_blocks;

/// `panel[c·w + j] = rows[j][c]` for the `w = rows.len()` rows and the `panel.len() / w`
/// columns: 4 rows × 4 columns per block, the leftover rows and columns one at a time.
///
/// # Panics
/// When a row is shorter than `panel.len() / w`.
pub(super) fn transpose(rows: &[&[f32]], panel: &mut [f32]) {
    by_blocks::<4>(rows, panel, |group, c, out, w| {
        assert!(out.len() >= 3 * w + 4);
        // SAFETY: the rows hold columns c..c + 4 (`by_blocks`' contract), `out` the 4 writes
        // of 4 floats (checked just above).
        unsafe { block(group, c, out.as_mut_ptr(), w) }
    });
}

/// Columns `c..c + 4` of the 4 rows to `out[t·w..][..4]` for `t < 4`.
///
/// # Safety
/// Every row holds `c + 4` columns; `out` is valid for those 4 writes of 4 floats.
#[inline]
unsafe fn block(rows: &[&[f32]; 4], c: usize, out: *mut f32, w: usize) {
    // SAFETY: neon is part of the aarch64 baseline; the loads and stores are in bounds per
    // this function's contract.
    unsafe {
        let a = [0, 1, 2, 3].map(|i| vld1q_f32(rows[i].as_ptr().add(c)));
        // Pairs first (rows 0, 1 and 2, 3 interleaved), then the 64-bit halves.
        let even01 = vreinterpretq_f64_f32(vtrn1q_f32(a[0], a[1]));
        let odd01 = vreinterpretq_f64_f32(vtrn2q_f32(a[0], a[1]));
        let even23 = vreinterpretq_f64_f32(vtrn1q_f32(a[2], a[3]));
        let odd23 = vreinterpretq_f64_f32(vtrn2q_f32(a[2], a[3]));
        let columns = [
            vtrn1q_f64(even01, even23),
            vtrn1q_f64(odd01, odd23),
            vtrn2q_f64(even01, even23),
            vtrn2q_f64(odd01, odd23),
        ];
        for (t, column) in columns.into_iter().enumerate() {
            vst1q_f32(out.add(t * w), vreinterpretq_f32_f64(column));
        }
    }
}
