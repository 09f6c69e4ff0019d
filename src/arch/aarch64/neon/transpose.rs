//! The panel transpose of [`crate::Backend::spmm_xt`]: 4 × 4 blocks through q registers.

use core::arch::aarch64::*;

/// Columns per pass over the rows: a cache line of each row is read at a time (rows of `X`
/// often lie a multiple of 4 KiB apart, so all of them share a few cache sets), and the panel
/// rows of the pass are written whole before the next.
const TILE: usize = 16;

/// `panel[c·w + j] = rows[j][c]` for the `w = rows.len()` rows and the `panel.len() / w`
/// columns: 4 rows × 4 columns per block, the leftover rows and columns one at a time.
///
/// # Panics
/// When a row is shorter than `panel.len() / w`.
pub(super) fn transpose(rows: &[&[f32]], panel: &mut [f32]) {
    let w = rows.len();
    if w == 0 {
        return;
    }
    let cols = panel.len() / w;
    for row in rows {
        assert!(row.len() >= cols, "a row shorter than the panel");
    }
    for c0 in (0..cols).step_by(TILE) {
        let end = cols.min(c0 + TILE);
        let groups = rows.chunks_exact(4);
        let first_leftover = w - groups.remainder().len();
        for (g, group) in groups.enumerate() {
            let group: &[&[f32]; 4] = group.try_into().expect("chunks of 4");
            let mut c = c0;
            while c + 4 <= end {
                // SAFETY: the rows hold `cols >= c + 4` columns (asserted above), and panel
                // rows c..c + 4 hold their entries 4g..4g + 4 (4g + 4 <= w), so
                // `c·w + 4g + 3·w + 4 <= panel.len()`.
                unsafe { block(group, c, panel.as_mut_ptr().add(c * w + 4 * g), w) };
                c += 4;
            }
            for c in c..end {
                for (j, row) in (4 * g..).zip(group) {
                    panel[c * w + j] = row[c];
                }
            }
        }
        for (j, row) in rows.iter().enumerate().skip(first_leftover) {
            for c in c0..end {
                panel[c * w + j] = row[c];
            }
        }
    }
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
