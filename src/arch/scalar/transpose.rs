//! The panel transpose of [`crate::Backend::spmm_xt`], in plain Rust (the oracle, and the
//! tiers without a vector one), and the block driver the vector tiers share.

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

/// `panel[c·w + j] = rows[j][c]` for the `w = rows.len()` rows and the `panel.len() / w`
/// columns, by blocks of `B` rows × `B` columns: `block(group, c, out, w)` writes columns
/// `c..c + B` of the `B` rows in `group` to `out[t·w..][..B]` for `t < B`, where `out` holds at
/// least `(B - 1)·w + B` entries. The leftover rows and columns go one at a time. A pass takes
/// [`TILE`] columns of every row, so the panel rows it fills are written whole before the next.
///
/// # Panics
/// When a row is shorter than `panel.len() / w`.
#[inline(always)]
pub(crate) fn by_blocks<const B: usize>(
    rows: &[&[f32]],
    panel: &mut [f32],
    mut block: impl FnMut(&[&[f32]; B], usize, &mut [f32], usize),
) {
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
        let groups = rows.chunks_exact(B);
        let first_leftover = w - groups.remainder().len();
        for (g, group) in groups.enumerate() {
            let group: &[&[f32]; B] = group.try_into().expect("chunks of B");
            let mut c = c0;
            while c + B <= end {
                // From c·w + B·g, with c + B <= cols and B·(g + 1) <= w: (B - 1)·w + B entries
                // at least.
                block(group, c, &mut panel[c * w + B * g..], w);
                c += B;
            }
            for c in c..end {
                for (j, row) in (B * g..).zip(group) {
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
