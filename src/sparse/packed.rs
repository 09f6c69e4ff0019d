//! [`PackedCsr`]: a CSR matrix repacked for SpMV in chunks of 16 rows, a vector lane per
//! row, in one of two layouts ([`PackedLayout`]). Both store a chunk step by step: step `p`
//! holds the `p`-th entry of each of its rows side by side. `Gather` steps through the whole
//! row with `u32` columns and gathers x; `Windowed` steps through windows of 31 columns with
//! byte offsets and looks x up in registers. Either way each row's products are fused into
//! its sum in storage order, so the layout changes the speed, never the bits.

use half::{bf16, f16};

use super::products::{balanced_split, split_at_cuts};
use super::CsrRef;
use crate::backend::WINDOW_COLS;
use crate::error::check_len;
use crate::fmac::gemm::scale_add;
use crate::fmac::par::{for_each_task, same_type, tasks, Par};
use crate::fmac::Input;
use crate::{Backend, DType, Error, Isa};

/// Rows per chunk: one lane each in a 512-bit vector of f32.
const CHUNK: usize = 16;

/// How a [`PackedCsr`] stores its chunks; [`PackedCsr::pack`] picks the one it expects to be
/// faster, [`PackedCsr::pack_with`] takes it as given. The products' bits are the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PackedLayout {
    /// A chunk is `max(row lengths)` steps of 16 (`u32` column, value) pairs: one gather of x
    /// a step, 4 bytes of index a pair, padding only where the rows' lengths differ. Suits
    /// short rows (a few dozen nonzeros: 99 % sparsity in a 4096-wide matrix).
    Gather,
    /// A chunk is cut at every 31 columns into windows, each `max(row's entries in it)` steps
    /// of 16 (byte offset, value) pairs: x of the window is held in registers and looked up
    /// (AVX-512: one `vpermt2ps` a step), 1 byte of index a pair, padding wherever the rows'
    /// counts in a window differ. Suits denser rows (50–90 % sparsity).
    Windowed,
}

/// The layouts' own parts; the values (and their chunk offsets) are shared.
#[derive(Clone, Debug, PartialEq)]
enum Steps {
    Gather {
        /// Row lengths, 16 per chunk (0 past the last row).
        lens: Vec<u32>,
        indices: Vec<u32>,
    },
    Windowed {
        /// Chunk `c`'s windows are `windows[first_window[c]..first_window[c + 1]]`.
        first_window: Vec<usize>,
        /// `[first column, steps]`, in column order, only windows where the chunk has entries.
        windows: Vec<[u32; 2]>,
        /// Column minus the window's first; `WINDOW_COLS` marks padding.
        offsets: Vec<u8>,
    },
}

/// A CSR matrix packed for [`Backend::spmv_packed`], once (like [`PackedB`] for GEMM):
/// chunks of 16 rows stored step by step in a [`PackedLayout`], padded where the rows differ
/// (the product skips the padding, or adds `-0`, which changes no sum). It holds the
/// matrix's values unchanged, so the product's bits are defined by the CSR it came from.
///
/// [`PackedB`]: crate::fmac::PackedB
///
/// ```
/// use lowp::fmac::Par;
/// use lowp::sparse::{Csr, PackedCsr, PackedLayout};
/// use lowp::Backend;
/// let a = Csr::try_new(2, 3, vec![0, 1, 3], vec![2, 0, 1], vec![2.0f32, 1.0, -1.0])?;
/// let x = [1.0, 2.0, 3.0];
/// for layout in [PackedLayout::Gather, PackedLayout::Windowed] {
///     let packed = PackedCsr::pack_with(a.view(), layout);
///     let mut y = [0.0f32; 2];
///     Backend::active().spmv_packed(1.0, &packed, &x, 0.0, &mut y, Par::Seq)?;
///     assert_eq!(y, [6.0, -1.0]);
/// }
/// # Ok::<(), lowp::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PackedCsr<T> {
    rows: usize,
    cols: usize,
    nnz: usize,
    /// Chunk `c`'s pairs are `starts[c]..starts[c + 1]` of `values` (and of the layout's
    /// indices or offsets), a multiple of 16 each; `starts` ends at their length.
    starts: Vec<usize>,
    values: Vec<T>,
    steps: Steps,
}

/// How many padded `Windowed` pairs cost as much as one `Gather` pair on `isa`, measured on an
/// Intel Xeon (Emerald Rapids) on 4096-column matrices pruned per row at 85–95 % sparsity,
/// kept entries at random-like positions: with AVX-512, `Windowed` took 0.77–0.98x
/// `Gather`'s time at 1.8–2.1x its pairs, 0.88–1.00x at 2.18x, 1.03–1.45x at 2.28–2.40x.
/// (A windowed pair is a lane of one `vpermt2ps`, a gathered one a lane of `vgatherdps`.)
/// `Avx2` loads x element by element in both layouts, so `Windowed` wins there only by its
/// fewer bytes: 0.70x `Gather`'s time at 1.20–1.31x its pairs (30–50 %), 1.29x at 1.39x.
/// The others take `Avx2`'s figure: NEON's `tbl` kernel is untimed (no Arm hardware here).
fn windowed_break_even(isa: Isa) -> f64 {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 | Isa::Avx512Bf16 => 2.2,
        _ => 1.35,
    }
}

impl<T: Input> PackedCsr<T> {
    /// Packs `a` in the layout expected to be faster on this CPU's best tier ([`Isa::best`]):
    /// `Windowed` unless its padded pairs outnumber `Gather`'s by more than a gathered pair
    /// costs against a windowed one there (2.2x with AVX-512, 1.35x elsewhere). Reads `a`
    /// twice; [`PackedCsr::pack_with`] takes the layout as given.
    pub fn pack(a: CsrRef<'_, T>) -> PackedCsr<T> {
        let gathered = Self::gather_starts(a).last().copied().unwrap_or(0);
        let windows = Windows::of(a);
        let break_even = windowed_break_even(Isa::best());
        if (windows.padded as f64) <= break_even * gathered as f64 {
            Self::windowed(a, windows)
        } else {
            Self::gathered(a)
        }
    }

    /// Packs `a` in `layout`. The result holds [`PackedCsr::padded_len`] pairs, `nnz` of
    /// them real.
    pub fn pack_with(a: CsrRef<'_, T>, layout: PackedLayout) -> PackedCsr<T> {
        match layout {
            PackedLayout::Gather => Self::gathered(a),
            PackedLayout::Windowed => Self::windowed(a, Windows::of(a)),
        }
    }

    /// `a` in the `Gather` layout.
    fn gathered(a: CsrRef<'_, T>) -> PackedCsr<T> {
        let starts = Self::gather_starts(a);
        let padded = starts.last().copied().unwrap_or(0);
        let (mut indices, mut values) = (vec![0u32; padded], vec![zero::<T>(); padded]);
        let mut lens = vec![0u32; starts.len().saturating_sub(1) * CHUNK];
        for r in 0..a.rows() {
            let (idx, vals) = a.slice(r);
            let (base, lane) = (starts[r / CHUNK], r % CHUNK);
            lens[r] = u32::try_from(idx.len()).expect("a row holds distinct u32 indices");
            for (p, (&i, &v)) in idx.iter().zip(vals).enumerate() {
                indices[base + CHUNK * p + lane] = i;
                values[base + CHUNK * p + lane] = v;
            }
        }
        PackedCsr {
            rows: a.rows(),
            cols: a.cols(),
            nnz: a.nnz(),
            starts,
            values,
            steps: Steps::Gather { lens, indices },
        }
    }

    /// `a` in the `Windowed` layout, whose windows are `windows`.
    fn windowed(a: CsrRef<'_, T>, windows: Windows) -> PackedCsr<T> {
        let Windows {
            first_window,
            padded,
            windows,
        } = windows;
        let mut offsets = vec![WINDOW_COLS as u8; padded];
        let mut values = vec![negative_zero::<T>(); padded];
        let mut starts = Vec::with_capacity(first_window.len());
        starts.push(0);
        let mut base = 0;
        for (c, chunk) in first_window.windows(2).enumerate() {
            // Each row's entries fill its lane window by window, in column order.
            let mut next = [0usize; CHUNK];
            for &[col, steps] in &windows[chunk[0]..chunk[1]] {
                let end = col as usize + WINDOW_COLS;
                for (lane, next) in next.iter_mut().enumerate() {
                    let Some((idx, vals)) = row(a, c * CHUNK + lane) else {
                        break;
                    };
                    let (idx, vals) = (&idx[*next..], &vals[*next..]);
                    let count = idx.partition_point(|&i| (i as usize) < end);
                    for (p, (&i, &v)) in idx[..count].iter().zip(vals).enumerate() {
                        offsets[base + CHUNK * p + lane] = (i - col) as u8;
                        values[base + CHUNK * p + lane] = v;
                    }
                    *next += count;
                }
                base += CHUNK * steps as usize;
            }
            starts.push(base);
        }
        PackedCsr {
            rows: a.rows(),
            cols: a.cols(),
            nnz: a.nnz(),
            starts,
            values,
            steps: Steps::Windowed {
                first_window,
                windows,
                offsets,
            },
        }
    }

    /// `Gather`'s chunk offsets: 16·max(row lengths) pairs a chunk.
    fn gather_starts(a: CsrRef<'_, T>) -> Vec<usize> {
        let chunks = a.rows().div_ceil(CHUNK);
        let mut starts = Vec::with_capacity(chunks + 1);
        starts.push(0);
        for c in 0..chunks {
            let rows = c * CHUNK..((c + 1) * CHUNK).min(a.rows());
            let steps = rows.map(|r| a.slice(r).0.len()).max().unwrap_or(0);
            starts.push(starts[c] + CHUNK * steps);
        }
        starts
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

    /// The layout it was packed in.
    pub fn layout(&self) -> PackedLayout {
        match self.steps {
            Steps::Gather { .. } => PackedLayout::Gather,
            Steps::Windowed { .. } => PackedLayout::Windowed,
        }
    }

    /// (Index or offset, value) pairs stored, padding included. `Gather`: `nnz` when the rows
    /// of every chunk are equally long (per-row pruning), more when they differ. `Windowed`:
    /// more wherever a chunk's rows differ in how many entries fall in a window.
    pub fn padded_len(&self) -> usize {
        self.values.len()
    }

    /// Bytes held: the padded pairs (`Gather`: 4 bytes of index and a value each;
    /// `Windowed`: 1 byte of offset and a value), the chunks' offsets into them (8 bytes a
    /// chunk), and `Gather`'s row lengths (4 bytes a row) or `Windowed`'s windows (8 bytes
    /// each, and 8 a chunk to find them).
    pub fn size_bytes(&self) -> usize {
        let layout = match &self.steps {
            Steps::Gather { lens, indices } => 4 * (lens.len() + indices.len()),
            Steps::Windowed {
                first_window,
                windows,
                offsets,
            } => {
                size_of_val(first_window.as_slice())
                    + size_of_val(windows.as_slice())
                    + offsets.len()
            }
        };
        size_of_val(self.values.as_slice()) + size_of_val(self.starts.as_slice()) + layout
    }
}

/// Where `Windowed` cuts a matrix: every window where a chunk has entries, and the pairs
/// they take with their padding.
struct Windows {
    /// Chunk `c`'s windows are `windows[first_window[c]..first_window[c + 1]]`.
    first_window: Vec<usize>,
    /// `16·Σ steps` over all windows.
    padded: usize,
    /// `[first column, steps]`: steps = the most entries any of the chunk's rows has there.
    windows: Vec<[u32; 2]>,
}

impl Windows {
    fn of<T: Input>(a: CsrRef<'_, T>) -> Windows {
        let chunks = a.rows().div_ceil(CHUNK);
        let (mut first_window, mut windows, mut padded) = (vec![0], Vec::new(), 0);
        for c in 0..chunks {
            let mut next = [0usize; CHUNK];
            loop {
                // The leftmost window holding an entry still to place, and its count per row.
                let lanes = (0..CHUNK).filter_map(|lane| Some((lane, row(a, c * CHUNK + lane)?)));
                let Some(window) = lanes
                    .clone()
                    .filter_map(|(lane, (idx, _))| idx.get(next[lane]))
                    .map(|&i| i as usize / WINDOW_COLS)
                    .min()
                else {
                    break;
                };
                let end = (window + 1) * WINDOW_COLS;
                let mut steps = 0;
                for (lane, (idx, _)) in lanes {
                    let count = idx[next[lane]..].partition_point(|&i| (i as usize) < end);
                    next[lane] += count;
                    steps = steps.max(count);
                }
                // A window starts below cols <= 2^32 and holds at most 31 pairs a row.
                windows.push([(window * WINDOW_COLS) as u32, steps as u32]);
                padded += CHUNK * steps;
            }
            first_window.push(windows.len());
        }
        Windows {
            first_window,
            padded,
            windows,
        }
    }
}

/// Row `r`'s indices and values, `None` past the last row.
fn row<T: Input>(a: CsrRef<'_, T>, r: usize) -> Option<(&[u32], &[T])> {
    (r < a.rows()).then(|| a.slice(r))
}

fn zero<T: Input>() -> T {
    <T as bytemuck::Zeroable>::zeroed()
}

/// `-0` as `T`: the padding value of `Windowed`, whose product with the zero in x's window
/// adds `-0`, leaving every sum as it was (`+0 + -0 = +0`).
fn negative_zero<T: Input>() -> T {
    match T::DTYPE {
        DType::F32 => bytemuck::cast_slice::<f32, T>(&[-0.0f32])[0],
        DType::BF16 => bytemuck::cast_slice::<bf16, T>(&[bf16::NEG_ZERO])[0],
        DType::F16 => bytemuck::cast_slice::<f16, T>(&[f16::NEG_ZERO])[0],
    }
}

impl Backend {
    /// `y = alpha·A·x + beta·y` for a [`PackedCsr`] `A [m × k]`, `x` of length `k`, `y` of
    /// length `m`. Each `yᵢ` is row `i`'s products fused into one sum in storage order
    /// (`s = fma(aᵢⱼ, xⱼ, s)` from `+0`), then `alpha·s + beta·yᵢ`: **the same bits on every
    /// backend and thread count** (a fused multiply-add rounds once everywhere), within the
    /// dot bound of the row's length, in either [`PackedLayout`]. With `beta == 0`, `y` is
    /// not read. Threads split the chunks balanced by stored pairs; nothing is allocated on
    /// one thread.
    ///
    /// Faster than [`Backend::spmv`] on the CSR at every sparsity the README measures, in the
    /// layout [`PackedCsr::pack`] picks for the CPU's best tier (with AVX-512, `Windowed` at
    /// 50–95 % sparsity beats even the dense GEMV). `Gather`: the x86 tiers gather x with `vgatherdps`; NEON and
    /// portable, without a gather instruction, run the scalar loop. `Windowed`: the AVX-512
    /// tiers look x up in registers with `vpermt2ps`, NEON with `tbl`/`tbx`, `Avx2` gathers
    /// it, portable runs the scalar loop.
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
                let pairs = a.starts[c]..a.starts[c + 1];
                let values = &a.values[pairs.clone()];
                // SAFETY: `self` proves the CPU supports its tier. Gather: the chunk holds
                // 16·max(lens) pairs, and every real pair's index came from a validated CSR
                // with `cols == x.len()` columns (checked above). Windowed: the chunk holds
                // 16·Σ steps pairs of its windows (the kernels read x only below x.len()).
                unsafe {
                    match &a.steps {
                        Steps::Gather { lens, indices } => {
                            let lens = lens[c * CHUNK..][..CHUNK]
                                .try_into()
                                .expect("16 lengths per chunk");
                            self.sell_chunk(lens, &indices[pairs], values, x, &mut sums)
                        }
                        Steps::Windowed {
                            first_window,
                            windows,
                            offsets,
                        } => {
                            let windows = &windows[first_window[c]..first_window[c + 1]];
                            self.window_chunk(windows, &offsets[pairs], values, x, &mut sums)
                        }
                    }
                };
                for (y, &s) in ys.iter_mut().zip(&sums) {
                    scale_add(alpha, beta, s, y);
                }
            }
        };
        match tasks(par, a.values.len() + y.len()) {
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

    /// One chunk of a windowed [`PackedCsr`] on this tier's kernel for `T`.
    ///
    /// # Safety
    /// `backend::WindowChunk`'s precondition. (`self` proves the CPU has the tier.)
    unsafe fn window_chunk<T: Input>(
        self,
        windows: &[[u32; 2]],
        offsets: &[u8],
        values: &[T],
        x: &[f32],
        out: &mut [f32; CHUNK],
    ) {
        let k = &self.kernels;
        // SAFETY: per the function's contract; `same_type` only casts to the type T is.
        unsafe {
            match T::DTYPE {
                DType::F32 => (k.window_f32)(windows, offsets, same_type::<T, f32>(values), x, out),
                DType::BF16 => {
                    (k.window_bf16)(windows, offsets, same_type::<T, bf16>(values), x, out)
                }
                DType::F16 => (k.window_f16)(windows, offsets, same_type::<T, f16>(values), x, out),
            }
        }
    }
}
