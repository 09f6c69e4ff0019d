//! The panel transpose of [`crate::Backend::spmm_xt`], in plain Rust: the oracle and the
//! tiers without a vector one.

/// Columns per pass: a cache line of each row is read at a time. Rows of `X` often lie a
/// multiple of 4 KiB apart (k = 4096 in the benchmarks), so walking them side by side an
/// element at a time would keep all of them in one L1 set.
const TILE: usize = 16;

/// Most rows a call takes (the panel width of `spmm_xt`).
const MAX_ROWS: usize = 64;

/// `panel[c·w + j] = rows[j][c]` for the `w = rows.len()` rows (at most 64) and the
/// `panel.len() / w` columns, [`TILE`] columns at a time through a small transposed tile.
///
/// # Panics
/// When a row is shorter than `panel.len() / w`, or there are more than 64 rows.
pub(crate) fn transpose(rows: &[&[f32]], panel: &mut [f32]) {
    let w = rows.len();
    if w == 0 {
        return;
    }
    assert!(w <= MAX_ROWS, "at most {MAX_ROWS} rows per panel");
    let mut tile = [[0.0f32; MAX_ROWS]; TILE];
    for (c0, block) in (0..).step_by(TILE).zip(panel.chunks_mut(TILE * w)) {
        let cols = block.len() / w;
        for (j, row) in rows.iter().enumerate() {
            for (t, &v) in tile.iter_mut().zip(&row[c0..c0 + cols]) {
                t[j] = v;
            }
        }
        for (out, t) in block.chunks_exact_mut(w).zip(&tile) {
            out.copy_from_slice(&t[..w]);
        }
    }
}
