//! SpMV and SpMM: the drivers (checks, the nnz-balanced thread split, alpha/beta) around each
//! backend's sparse kernels.

use super::{CscRef, CsrRef};
use crate::error::check_len;
use crate::fmac::gemm::scale_add;
use crate::fmac::par::{for_each_task, same_type, spmv_tasks, tasks, Par};
use crate::fmac::workspace::with_workspace;
use crate::fmac::{Input, MatMut, MatRef, RowsMut};
use crate::{Backend, DType, Error};

/// The major-slice boundaries that give `tasks` ranges of about equal nonzeros.
pub(super) fn balanced_split(indptr: &[usize], tasks: usize) -> Vec<usize> {
    let major = indptr.len() - 1;
    let nnz = indptr[major];
    let mut cuts: Vec<usize> = (1..tasks)
        .map(|t| indptr.partition_point(|&p| p < nnz * t / tasks).min(major))
        .collect();
    cuts.insert(0, 0);
    cuts.push(major);
    cuts.dedup();
    cuts
}

/// `out` cut at `cuts` (which start at 0 and end at `out.len()`): `(first index, piece)`.
pub(super) fn split_at_cuts<'a, T>(
    mut rest: &'a mut [T],
    cuts: &[usize],
) -> Vec<(usize, &'a mut [T])> {
    let mut pieces = Vec::with_capacity(cuts.len());
    for w in cuts.windows(2) {
        let (piece, tail) = rest.split_at_mut(w[1] - w[0]);
        pieces.push((w[0], piece));
        rest = tail;
    }
    pieces
}

impl Backend {
    /// `y = alpha·A·x + beta·y` for CSR `A [m × k]`, `x` of length `k`, `y` of length `m`:
    /// each `yᵢ` is a dot product of row `i`'s entries with the `x` they index (f32
    /// accumulation, within the dot bound of the row's length), then `alpha·s + beta·yᵢ`.
    /// With `beta == 0`, `y` is not read.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `x.len() != a.cols()` or `y.len() != a.rows()`.
    pub fn spmv<T: Input>(
        self,
        alpha: f32,
        a: CsrRef<'_, T>,
        x: &[f32],
        beta: f32,
        y: &mut [f32],
        par: Par,
    ) -> Result<(), Error> {
        check_len("x", a.cols(), x.len())?;
        check_len("y", a.rows(), y.len())?;
        self.compressed_mv(alpha, a.indptr(), a.indices(), a.values(), x, beta, y, par);
        Ok(())
    }

    /// `y = alpha·Aᵀ·x + beta·y` for CSC `A [m × k]` (each column contiguous, so column `j`
    /// of A is row `j` of Aᵀ), `x` of length `m`, `y` of length `k`; otherwise as
    /// [`Backend::spmv`].
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `x.len() != a.rows()` or `y.len() != a.cols()`.
    pub fn spmv_t<T: Input>(
        self,
        alpha: f32,
        a: CscRef<'_, T>,
        x: &[f32],
        beta: f32,
        y: &mut [f32],
        par: Par,
    ) -> Result<(), Error> {
        check_len("x", a.rows(), x.len())?;
        check_len("y", a.cols(), y.len())?;
        self.compressed_mv(alpha, a.indptr(), a.indices(), a.values(), x, beta, y, par);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn compressed_mv<T: Input>(
        self,
        alpha: f32,
        indptr: &[usize],
        indices: &[u32],
        values: &[T],
        x: &[f32],
        beta: f32,
        y: &mut [f32],
        par: Par,
    ) {
        let k = &self.kernels;
        let task = |(first, ys): (usize, &mut [f32])| {
            // Dots a block at a time on the stack, then alpha/beta.
            let mut dots = [0f32; 64];
            for (c, ys) in ys.chunks_mut(dots.len()).enumerate() {
                let start = first + c * dots.len();
                let ptr = &indptr[start..=start + ys.len()];
                let out = &mut dots[..ys.len()];
                // SAFETY: `self` proves the CPU supports its tier; the structure is validated
                // (every index below the minor dimension, which the caller checked is x.len();
                // `ptr`, `out.len() + 1` offsets, non-decreasing and at most the nonzeros).
                unsafe {
                    match T::DTYPE {
                        DType::F32 => (k.sparse_dots_f32)(ptr, indices, same_type(values), x, out),
                        DType::BF16 => {
                            (k.sparse_dots_bf16)(ptr, indices, same_type(values), x, out)
                        }
                        DType::F16 => (k.sparse_dots_f16)(ptr, indices, same_type(values), x, out),
                    }
                }
                for (y, &d) in ys.iter_mut().zip(out.iter()) {
                    scale_add(alpha, beta, d, y);
                }
            }
        };
        match spmv_tasks(par, indices.len() + y.len()) {
            // One task, run here: nothing to split, nothing allocated.
            1 => task((0, y)),
            n => for_each_task(split_at_cuts(y, &balanced_split(indptr, n)), task),
        }
    }

    /// `C = alpha·A·B + beta·C` for CSR `A [m × k]`, dense `B [k × n]` with contiguous rows
    /// (the fast layout: each nonzero scales a row of B, vectorised along `n`) and
    /// `C [m × n]`. Every element is the same bits on every backend and thread count (products
    /// rounded, then added in storage order from 0); then `alpha·s + beta·c`. With
    /// `beta == 0`, C is not read and the rows are written in place; otherwise each row's sums
    /// go through one row of scratch in the thread's workspace (allocated by a thread's first
    /// call of a size, then reused).
    ///
    /// ```
    /// use lowp::fmac::{MatMut, MatRef, Par};
    /// use lowp::sparse::Csr;
    /// use lowp::Backend;
    /// let a = Csr::try_new(2, 3, vec![0, 1, 3], vec![2, 0, 1], vec![2.0f32, 1.0, -1.0])?;
    /// let b = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // [3 × 2]
    /// let mut c = [0.0f32; 4];
    /// Backend::active().spmm(1.0, a.view(), MatRef::new(&b, 3, 2)?, 0.0,
    ///                        MatMut::new(&mut c, 2, 2)?, Par::Seq)?;
    /// assert_eq!(c, [10.0, 12.0, -2.0, -2.0]);
    /// # Ok::<(), lowp::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] when `b` is not `a.cols() × c.cols()` with contiguous rows, or `c` not
    /// `a.rows() × b.cols()`.
    pub fn spmm<T: Input>(
        self,
        alpha: f32,
        a: CsrRef<'_, T>,
        b: MatRef<'_, f32>,
        beta: f32,
        c: MatMut<'_, f32>,
        par: Par,
    ) -> Result<(), Error> {
        if b.rows() != a.cols() || !b.rows_are_contiguous() {
            return Err(Error::Shape {
                shape: vec![a.rows(), a.cols(), b.rows(), b.cols(), b.col_stride()],
                reason: "SpMM needs B with a.cols() rows, each contiguous",
            });
        }
        check_output(&c, a.rows(), b.cols())?;
        let n = b.cols();
        if n == 0 || a.rows() == 0 {
            return Ok(());
        }
        let b_data = b.data();
        let stride = b.row_stride();
        let row = |i: usize, out: &mut [f32]| {
            let (idx, vals) = a.slice(i);
            // SAFETY: the structure is validated, so every index is below `b.rows()`, and
            // `b_data` holds `(rows - 1)·stride + n` elements: row `idx` ends inside it.
            unsafe { self.sparse_row(idx, vals, b_data, stride, out) };
        };
        let task = |(first, mut block): (usize, MatMut<'_, f32>)| {
            let scratch_len = if beta == 0.0 { 0 } else { n };
            with_workspace(scratch_len, |scratch| {
                for r in 0..block.rows() {
                    let out = block.row_mut(r);
                    if beta == 0.0 {
                        row(first + r, out);
                        if alpha != 1.0 {
                            out.iter_mut().for_each(|v| *v *= alpha);
                        }
                    } else {
                        row(first + r, scratch);
                        for (o, &s) in out.iter_mut().zip(scratch.iter()) {
                            scale_add(alpha, beta, s, o);
                        }
                    }
                }
            })
        };
        match tasks(par, a.nnz().saturating_mul(n)) {
            // One task, run here: nothing to split, nothing allocated.
            1 => task((0, c)),
            t => for_each_task(c.split_at_rows(&balanced_split(a.indptr(), t)), task),
        }
        Ok(())
    }

    /// `Y = alpha·X·Aᵀ + beta·Y` for activations `X [n × k]` as rows (the linear-layer layout),
    /// CSR weights `A [m × k]` and `Y [n × m]`: exactly the bits of [`Backend::spmm`] with
    /// `B = Xᵀ`, at 0.6–1.1x its speed (the transposes and the write-back weigh most at high
    /// sparsity, where the product has least work; README, run F). Threads split A's rows
    /// balanced by nonzeros, as in `spmm`; each transposes up to 64 rows of `X` at a time into
    /// a `[k × 64]` panel (1 MiB at `k = 4096`, in the thread's workspace: allocated by its
    /// first call of a size, then reused) with the tier's transpose kernel, runs the `spmm`
    /// row kernel against it and writes the results back a cache line per row of `Y`.
    ///
    /// ```
    /// use lowp::fmac::{MatMut, MatRef, Par};
    /// use lowp::sparse::Csr;
    /// use lowp::Backend;
    /// // Weights [2 outputs × 3 inputs], a batch of two activation rows [2 × 3].
    /// let a = Csr::try_new(2, 3, vec![0, 1, 3], vec![2, 0, 1], vec![2.0f32, 1.0, -1.0])?;
    /// let x = [1.0f32, 3.0, 5.0, 2.0, 4.0, 6.0];
    /// let mut y = [0.0f32; 4];
    /// Backend::active().spmm_xt(1.0, MatRef::new(&x, 2, 3)?, a.view(), 0.0,
    ///                           MatMut::new(&mut y, 2, 2)?, Par::Seq)?;
    /// assert_eq!(y, [10.0, -2.0, 12.0, -2.0]); // the `spmm` example's C, transposed
    /// # Ok::<(), lowp::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` is not `y.rows() × a.cols()` with contiguous rows, or `y` not
    /// `x.rows() × a.rows()`.
    pub fn spmm_xt<T: Input>(
        self,
        alpha: f32,
        x: MatRef<'_, f32>,
        a: CsrRef<'_, T>,
        beta: f32,
        y: MatMut<'_, f32>,
        par: Par,
    ) -> Result<(), Error> {
        if x.cols() != a.cols() || !x.rows_are_contiguous() {
            return Err(Error::Shape {
                shape: vec![x.rows(), x.cols(), a.rows(), a.cols()],
                reason: "X must be n x k (k = a.cols()) with contiguous rows",
            });
        }
        check_output(&y, x.rows(), a.rows())?;
        if x.rows() == 0 || a.rows() == 0 {
            return Ok(());
        }
        let k = a.cols();
        let n = x.rows();
        // Threads split A's rows (Y's columns) as `spmm` does: each task needs all of X, but
        // only its part of A, so small batches scale too.
        let task = |(first, mut y_part): (usize, RowsMut<'_, f32>)| {
            let rows_of_a = y_part.row_width();
            with_workspace(k * XT_PANEL.min(n), |panel| {
                // The sums of TILE rows of A, before they go to Y a line per row.
                let mut sums = [[0.0f32; XT_PANEL]; TILE];
                let mut rows: [&[f32]; XT_PANEL] = [&[]; XT_PANEL];
                for r0 in (0..n).step_by(XT_PANEL) {
                    let w = XT_PANEL.min(n - r0);
                    for (row, j) in rows.iter_mut().zip(r0..r0 + w) {
                        *row = x.row(j);
                    }
                    let panel = &mut panel[..k * w];
                    // SAFETY: `self` proves the CPU has the tier.
                    unsafe { (self.kernels.transpose_f32)(&rows[..w], panel) };
                    for i0 in (0..rows_of_a).step_by(TILE) {
                        let tile = TILE.min(rows_of_a - i0);
                        for (i, sums) in (first + i0..).zip(&mut sums[..tile]) {
                            let (idx, vals) = a.slice(i);
                            // SAFETY: the structure is validated, so every index is below `k`,
                            // and the panel's row `idx` (w wide, at idx·w) ends inside its k·w
                            // elements.
                            unsafe { self.sparse_row(idx, vals, panel, w, &mut sums[..w]) };
                        }
                        for j in 0..w {
                            let y_row = &mut y_part.row(r0 + j)[i0..i0 + tile];
                            for (out, sums) in y_row.iter_mut().zip(&sums) {
                                scale_add(alpha, beta, sums[j], out);
                            }
                        }
                    }
                }
            })
        };
        match tasks(par, a.nnz().saturating_mul(n)) {
            // One task, run here: nothing to split, nothing allocated.
            1 => task((0, RowsMut::Block(y))),
            t => {
                let cuts = balanced_split(a.indptr(), t);
                let mut parts: Vec<Vec<&mut [f32]>> = (1..cuts.len()).map(|_| Vec::new()).collect();
                for y_row in y.into_rows() {
                    for (part, (_, piece)) in parts.iter_mut().zip(split_at_cuts(y_row, &cuts)) {
                        part.push(piece);
                    }
                }
                let parts = parts.into_iter().map(RowsMut::Columns);
                for_each_task(cuts.iter().copied().zip(parts).collect(), task);
            }
        }
        Ok(())
    }
}

impl Backend {
    /// Bytes of per-thread workspace [`Backend::spmm`] uses for `A [m × k]` times `B [k × n]`
    /// with this `beta`: one row of sums (`n` f32, in whole 64-byte lines) when `beta != 0`,
    /// none when `beta == 0`;
    /// as with [`Backend::gemm_workspace_bytes`], a thread's first call grows its workspace
    /// to it and later calls that need no more allocate nothing.
    ///
    /// ```
    /// let backend = lowp::Backend::active();
    /// assert_eq!(backend.spmm_workspace_bytes(4096, 32, 0.0), 0);
    /// assert_eq!(backend.spmm_workspace_bytes(4096, 32, 1.0), 32 * 4);
    /// ```
    pub fn spmm_workspace_bytes(self, m: usize, n: usize, beta: f32) -> usize {
        if m == 0 || beta == 0.0 {
            return 0;
        }
        crate::fmac::workspace::bytes_for(n)
    }

    /// Bytes of per-thread workspace [`Backend::spmm_xt`] uses for `X [batch × k]` and
    /// `A [m × k]`: its panel of up to 64 transposed rows of X (`k × min(batch, 64)` f32, in
    /// whole 64-byte lines),
    /// as [`Backend::spmm_workspace_bytes`] otherwise.
    ///
    /// ```
    /// let backend = lowp::Backend::active();
    /// assert_eq!(backend.spmm_xt_workspace_bytes(4096, 4096, 32), 4096 * 32 * 4);
    /// assert_eq!(backend.spmm_xt_workspace_bytes(4096, 4096, 1000), 1 << 20); // 64 rows at most
    /// ```
    pub fn spmm_xt_workspace_bytes(self, m: usize, k: usize, batch: usize) -> usize {
        if m == 0 || batch == 0 {
            return 0;
        }
        crate::fmac::workspace::bytes_for(k * XT_PANEL.min(batch))
    }
}

impl Backend {
    /// `out = Σ_p vals[p]·b[idx[p]·stride..][..out.len()]`, in `p` order from 0, on this tier.
    ///
    /// # Safety
    /// Every `idx[p]·stride + out.len() <= b.len()`. (`self` proves the CPU has the tier.)
    unsafe fn sparse_row<T: Input>(
        self,
        idx: &[u32],
        vals: &[T],
        b: &[f32],
        stride: usize,
        out: &mut [f32],
    ) {
        let kern = &self.kernels;
        // SAFETY: per the function's contract; `same_type` only casts to the type T is.
        unsafe {
            match T::DTYPE {
                DType::F32 => (kern.sparse_row_f32)(idx, same_type(vals), b, stride, out),
                DType::BF16 => (kern.sparse_row_bf16)(idx, same_type(vals), b, stride, out),
                DType::F16 => (kern.sparse_row_f16)(idx, same_type(vals), b, stride, out),
            }
        }
    }
}

/// Rows of `X` that [`Backend::spmm_xt`] transposes into one panel, `k × 64` floats (1 MiB at
/// `k = 4096`). Each panel is a pass over A's structure, so wider panels pay off where the
/// product is small: at n = 128, 4096², 99 %, 64 ran at 0.65x `spmm`'s speed (128: 0.63x)
/// where 32 ran at 0.44x (same runs, before the tile transpose).
const XT_PANEL: usize = 64;

/// Floats in a cache line: `spmm_xt` writes a line of each row of `Y` at a time (the panel
/// transposes read `X` the same way). Rows of `Y` often lie a multiple of 4 KiB apart, so
/// walking them side by side an element at a time keeps all of them in one L1 set: at 99 %,
/// n = 32, writing Y back an element at a time took a third of the call.
const TILE: usize = 16;

fn check_output(c: &MatMut<'_, f32>, rows: usize, cols: usize) -> Result<(), Error> {
    if (c.rows(), c.cols()) == (rows, cols) {
        Ok(())
    } else {
        Err(Error::Shape {
            shape: vec![c.rows(), c.cols(), rows, cols],
            reason: "the output must be rows x cols of the product",
        })
    }
}
