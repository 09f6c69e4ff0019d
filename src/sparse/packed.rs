//! [`PackedCsr`]: a CSR matrix repacked for SpMV in chunks of 16 rows, stored step by step
//! (sliced ELLPACK with slices of 16): step `p` of a chunk holds the `p`-th nonzero of each of
//! its rows side by side, so a vector lane follows one row. Rows of a few dozen nonzeros need
//! no horizontal sum and no tail; the price is padding where a chunk's rows differ in length.

use half::{bf16, f16};

use super::products::{balanced_split, split_at_cuts};
use super::CsrRef;
use crate::error::check_len;
use crate::fmac::gemm::scale_add;
use crate::fmac::par::{for_each_task, same_type, tasks, Par};
use crate::fmac::Input;
use crate::{Backend, DType, Error};

/// Rows per chunk: one lane each in a 512-bit vector of f32.
const CHUNK: usize = 16;

/// A CSR matrix packed for [`Backend::spmv_packed`], once (like [`PackedB`] for GEMM):
/// chunks of 16 rows, each stored as `max(row lengths)` steps of 16 (index, value) pairs,
/// padded where a row is shorter (the padding is never read by the product). It holds the
/// matrix's values unchanged, so the product's bits are defined by the CSR it came from.
///
/// [`PackedB`]: crate::fmac::PackedB
///
/// ```
/// use lowp::fmac::Par;
/// use lowp::sparse::{Csr, PackedCsr};
/// use lowp::Backend;
/// let a = Csr::try_new(2, 3, vec![0, 1, 3], vec![2, 0, 1], vec![2.0f32, 1.0, -1.0])?;
/// let packed = PackedCsr::pack(a.view());
/// let mut y = [0.0f32; 2];
/// Backend::active().spmv_packed(1.0, &packed, &[1.0, 2.0, 3.0], 0.0, &mut y, Par::Seq)?;
/// assert_eq!(y, [6.0, -1.0]);
/// # Ok::<(), lowp::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PackedCsr<T> {
    rows: usize,
    cols: usize,
    nnz: usize,
    /// Chunk `c`'s steps are elements `starts[c]..starts[c + 1]` of `indices` and `values`
    /// (a multiple of 16 each); `starts` ends at their length.
    starts: Vec<usize>,
    /// Row lengths, 16 per chunk (0 past the last row).
    lens: Vec<u32>,
    indices: Vec<u32>,
    values: Vec<T>,
}

impl<T: Input> PackedCsr<T> {
    /// Packs `a`. Reads it once; the result holds `16·Σ(chunk widths)` index/value pairs,
    /// `nnz` of them real (see [`PackedCsr::padded_len`]).
    pub fn pack(a: CsrRef<'_, T>) -> PackedCsr<T> {
        let rows = a.rows();
        let chunks = rows.div_ceil(CHUNK);
        let mut lens = vec![0u32; chunks * CHUNK];
        for (r, len) in lens.iter_mut().enumerate().take(rows) {
            // A validated row has at most `cols <= 2^32` entries, distinct u32 indices.
            *len = u32::try_from(a.slice(r).0.len()).expect("a row holds distinct u32 indices");
        }
        let mut starts = Vec::with_capacity(chunks + 1);
        starts.push(0);
        for chunk in lens.chunks_exact(CHUNK) {
            let steps = chunk.iter().copied().max().unwrap_or(0) as usize;
            starts.push(starts.last().copied().unwrap_or(0) + CHUNK * steps);
        }
        let padded = starts.last().copied().unwrap_or(0);
        let (mut indices, mut values) = (
            vec![0u32; padded],
            vec![<T as bytemuck::Zeroable>::zeroed(); padded],
        );
        for r in 0..rows {
            let (idx, vals) = a.slice(r);
            let (base, lane) = (starts[r / CHUNK], r % CHUNK);
            for (p, (&i, &v)) in idx.iter().zip(vals).enumerate() {
                indices[base + CHUNK * p + lane] = i;
                values[base + CHUNK * p + lane] = v;
            }
        }
        PackedCsr {
            rows,
            cols: a.cols(),
            nnz: a.nnz(),
            starts,
            lens,
            indices,
            values,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Stored nonzeros (those of the CSR it was packed from).
    pub fn nnz(&self) -> usize {
        self.nnz
    }

    /// Index/value pairs stored, padding included: `nnz` when the rows of every chunk are
    /// equally long (per-row pruning), more when they differ.
    pub fn padded_len(&self) -> usize {
        self.indices.len()
    }

    /// Bytes held: the padded indices and values, and 4 bytes per row of lengths.
    pub fn size_bytes(&self) -> usize {
        self.indices.len() * (4 + size_of::<T>())
            + self.lens.len() * 4
            + self.starts.len() * size_of::<usize>()
    }
}

impl Backend {
    /// `y = alpha·A·x + beta·y` for a [`PackedCsr`] `A [m × k]`, `x` of length `k`, `y` of
    /// length `m`. Each `yᵢ` is row `i`'s products fused into one sum in storage order
    /// (`s = fma(aᵢⱼ, xⱼ, s)` from `+0`), then `alpha·s + beta·yᵢ`: **the same bits on every
    /// backend and thread count** (a fused multiply-add rounds once everywhere), within the
    /// dot bound of the row's length. With `beta == 0`, `y` is not read. Threads split the
    /// chunks balanced by stored pairs; nothing is allocated on one thread.
    ///
    /// Faster than [`Backend::spmv`] on the CSR where rows are short (a few dozen nonzeros);
    /// slower where they are long, which the CSR dot's contiguous loads serve better (README).
    /// The x86 tiers gather x with `vgatherdps`; the portable and NEON tiers, which have no
    /// gather instruction, run the scalar loop.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `x.len() != a.cols()` or `y.len() != a.rows()`.
    pub fn spmv_packed<T: Input>(
        self,
        alpha: f32,
        a: &PackedCsr<T>,
        x: &[f32],
        beta: f32,
        y: &mut [f32],
        par: Par,
    ) -> Result<(), Error> {
        check_len("x", a.cols, x.len())?;
        check_len("y", a.rows, y.len())?;
        let task = |(first, ys): (usize, &mut [f32])| {
            let mut sums = [0f32; CHUNK];
            for (c, ys) in (first / CHUNK..).zip(ys.chunks_mut(CHUNK)) {
                let lens: &[u32; CHUNK] = a.lens[c * CHUNK..][..CHUNK]
                    .try_into()
                    .expect("16 lengths per chunk");
                let steps = a.starts[c]..a.starts[c + 1];
                // SAFETY: `self` proves the CPU supports its tier; the chunk holds
                // 16·max(lens) pairs, and every real pair's index came from a validated CSR
                // with `cols == x.len()` columns (checked above).
                unsafe {
                    self.sell_chunk(
                        lens,
                        &a.indices[steps.clone()],
                        &a.values[steps],
                        x,
                        &mut sums,
                    )
                };
                for (y, &s) in ys.iter_mut().zip(&sums) {
                    scale_add(alpha, beta, s, y);
                }
            }
        };
        match tasks(par, a.indices.len() + y.len()) {
            // One task, run here: nothing to split, nothing allocated.
            1 => task((0, y)),
            n => {
                let rows = a.rows;
                let cuts: Vec<usize> = balanced_split(&a.starts, n)
                    .into_iter()
                    .map(|c| (c * CHUNK).min(rows))
                    .collect();
                for_each_task(split_at_cuts(y, &cuts), task)
            }
        }
        Ok(())
    }

    /// One chunk on this tier's kernel for `T`.
    ///
    /// # Safety
    /// `backend::SellChunk`'s precondition. (`self` proves the CPU has the tier.)
    unsafe fn sell_chunk<T: Input>(
        self,
        lens: &[u32; CHUNK],
        indices: &[u32],
        values: &[T],
        x: &[f32],
        out: &mut [f32; CHUNK],
    ) {
        let k = &self.kernels;
        // SAFETY: per the function's contract; `same_type` only casts to the type T is.
        unsafe {
            match T::DTYPE {
                DType::F32 => (k.sell_f32)(lens, indices, same_type::<T, f32>(values), x, out),
                DType::BF16 => (k.sell_bf16)(lens, indices, same_type::<T, bf16>(values), x, out),
                DType::F16 => (k.sell_f16)(lens, indices, same_type::<T, f16>(values), x, out),
            }
        }
    }
}
