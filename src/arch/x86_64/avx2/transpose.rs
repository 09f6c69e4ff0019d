//! The panel transpose of [`crate::Backend::spmm_xt`]: 8 × 8 blocks through registers, for
//! the `Avx2` and AVX-512 tiers (the product's loads of the panel are what it serves; a
//! 16-lane version would only move more columns per block).

use core::arch::x86_64::*;

use crate::arch::scalar::transpose::by_blocks;

/// `panel[c·w + j] = rows[j][c]` for the `w = rows.len()` rows and the `panel.len() / w`
/// columns: 8 rows × 8 columns per block, the leftover rows and columns one at a time.
///
/// # Panics
/// When a row is shorter than `panel.len() / w`.
///
/// # Safety
/// The CPU has AVX2 (the tier's table proves it).
#[target_feature(enable = "avx2")]
pub(in crate::arch::x86_64) unsafe fn transpose(rows: &[&[f32]], panel: &mut [f32]) {
    by_blocks::<8>(rows, panel, |group, c, out, w| {
        assert!(out.len() >= 7 * w + 8);
        // SAFETY: the rows hold columns c..c + 8 (`by_blocks`' contract), `out` the 8 writes
        // of 8 floats (checked just above), and this runs inside the function above, which
        // enables avx2.
        unsafe { block(group, c, out.as_mut_ptr(), w) }
    });
}

/// Columns `c..c + 8` of the 8 rows to `out[t·w..][..8]` for `t < 8`.
///
/// # Safety
/// Every row holds `c + 8` columns; `out` is valid for those 8 writes of 8 floats.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block(rows: &[&[f32]; 8], c: usize, out: *mut f32, w: usize) {
    // Each register holds 4 columns of row i in its low half and of row i + 4 in its high
    // half, so one 4 × 4 transpose per half finishes the job (no cross-half permutes).
    // SAFETY (the loads): every row holds columns c..c + 8.
    let (left, right) = unsafe {
        (
            [
                pair(rows[0], rows[4], c),
                pair(rows[1], rows[5], c),
                pair(rows[2], rows[6], c),
                pair(rows[3], rows[7], c),
            ],
            [
                pair(rows[0], rows[4], c + 4),
                pair(rows[1], rows[5], c + 4),
                pair(rows[2], rows[6], c + 4),
                pair(rows[3], rows[7], c + 4),
            ],
        )
    };
    for (half, regs) in [left, right].into_iter().enumerate() {
        let lo01 = _mm256_unpacklo_ps(regs[0], regs[1]);
        let hi01 = _mm256_unpackhi_ps(regs[0], regs[1]);
        let lo23 = _mm256_unpacklo_ps(regs[2], regs[3]);
        let hi23 = _mm256_unpackhi_ps(regs[2], regs[3]);
        let columns = [
            _mm256_shuffle_ps::<0x44>(lo01, lo23),
            _mm256_shuffle_ps::<0xee>(lo01, lo23),
            _mm256_shuffle_ps::<0x44>(hi01, hi23),
            _mm256_shuffle_ps::<0xee>(hi01, hi23),
        ];
        for (t, column) in (4 * half..).zip(columns) {
            // SAFETY: per this function's contract (t < 8).
            unsafe { _mm256_storeu_ps(out.add(t * w), column) };
        }
    }
}

/// Columns `c..c + 4` of `low` and of `high`, in the two halves of one register.
///
/// # Safety
/// Both rows hold `c + 4` columns.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn pair(low: &[f32], high: &[f32], c: usize) -> __m256 {
    // SAFETY: per this function's contract.
    unsafe { _mm256_loadu2_m128(high.as_ptr().add(c), low.as_ptr().add(c)) }
}
