//! [`PackedCsr`]: a CSR matrix repacked for SpMV in chunks of 16 rows, a vector lane per
//! row. A chunk is stored step by step, step `p` holding the `p`-th entry of each of its rows
//! side by side: first windowed steps (windows of 31 columns, byte offsets, x looked up in
//! registers), then gathered steps (`u32` columns, x gathered). Each row's products are fused
//! into one sum in that order. The [`PackedLayout`] says which entries go where.

use half::{bf16, f16};

use super::products::{balanced_split, split_at_cuts};
use super::CsrRef;
use crate::backend::WINDOW_COLS;
use crate::error::check_len;
use crate::fmac::gemm::scale_add;
use crate::fmac::par::{for_each_task, same_type, spmv_tasks, Par};
use crate::fmac::Input;
use crate::{Backend, DType, Error, Isa};

/// Rows per chunk: one lane each in a 512-bit vector of f32.
const CHUNK: usize = 16;

/// Which of a [`PackedCsr`]'s entries are windowed and which gathered. [`PackedCsr::pack`]
/// picks per chunk what it expects to be fastest, [`PackedCsr::pack_with`] takes it as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PackedLayout {
    /// Every entry gathered: a chunk is `max(row lengths)` steps of 16 (`u32` column, value)
    /// pairs, one gather of x a step, 4 bytes of index a pair, padding only where the rows'
    /// lengths differ. Suits short rows (a few dozen nonzeros: 99 % sparsity in a 4096-wide
    /// matrix). Sums in the CSR's order.
    Gather,
    /// Every entry windowed: a chunk is cut at every 31 columns into windows, each
    /// `max(row's entries in it)` steps of 16 (byte offset, value) pairs: x of the window is
    /// held in registers and looked up (AVX-512: one `vpermt2ps` a step), 1 byte of index a
    /// pair, padding wherever the rows' counts in a window differ. Suits denser rows (50–90 %
    /// sparsity). Sums in the CSR's order.
    Windowed,
    /// Each chunk's windows capped at a number of steps, a row's entries past the cap in a
    /// window gathered after the windows: one busy row no longer pads a window for all 16.
    /// The cap is chosen per chunk to minimise `windowed steps + r · gathered steps`, `r`
    /// being what a gathered step costs against a windowed one on the CPU's best tier (2.2
    /// or 3 with AVX-512, 0.8 with AVX2, 1.35 elsewhere), so a chunk may come out all
    /// windowed or all gathered
    /// (when all do, the result is that layout). A row sums its windowed entries, then its
    /// gathered ones, each in column order: where a cap cuts a window, not the CSR's order,
    /// so the bits can differ from the other layouts' (within the same bound) and, through
    /// `r`, between packings on different CPUs. Suits 90–95 % sparsity.
    Hybrid,
}

/// The chunks' windowed steps: chunk `c`'s pairs are `starts[c]..starts[c + 1]` of
/// `offsets` and `values`, its windows `windows[first_window[c]..first_window[c + 1]]`.
#[derive(Clone, Debug, PartialEq)]
struct WindowedSteps<T> {
    starts: Vec<usize>,
    first_window: Vec<usize>,
    /// `[first column, steps]`, in column order, only windows holding a windowed entry.
    windows: Vec<[u32; 2]>,
    /// Column minus the window's first; `WINDOW_COLS` marks padding (whose value is `-0`).
    offsets: Vec<u8>,
    values: Vec<T>,
}

/// The chunks' gathered steps: chunk `c`'s pairs are `starts[c]..starts[c + 1]` of
/// `indices` and `values`, its rows' counts `lens[16c..16c + 16]` (0 past the last row).
#[derive(Clone, Debug, PartialEq)]
struct GatheredSteps<T> {
    starts: Vec<usize>,
    lens: Vec<u32>,
    indices: Vec<u32>,
    values: Vec<T>,
}

/// A CSR matrix packed for [`Backend::spmv_packed`], once (like [`PackedB`] for GEMM):
/// chunks of 16 rows stored step by step as a [`PackedLayout`] says, padded where the rows
/// differ (the product skips the padding, or adds `-0`, which changes no sum). It holds the
/// matrix's values unchanged, so the product's bits are defined by the CSR it came from and
/// the layout.
///
/// [`PackedB`]: crate::fmac::PackedB
///
/// ```
/// use lowp::fmac::Par;
/// use lowp::sparse::{Csr, PackedCsr, PackedLayout};
/// use lowp::Backend;
/// let a = Csr::try_new(2, 3, vec![0, 1, 3], vec![2, 0, 1], vec![2.0f32, 1.0, -1.0])?;
/// let x = [1.0, 2.0, 3.0];
/// for layout in [PackedLayout::Gather, PackedLayout::Windowed, PackedLayout::Hybrid] {
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
    layout: PackedLayout,
    windowed: WindowedSteps<T>,
    gathered: GatheredSteps<T>,
}

/// How many windowed pairs cost as much as one gathered pair on `isa`, measured on an Intel
/// Xeon (Emerald Rapids) on 4096-column matrices pruned per row at 85–95 % sparsity, kept
/// entries at random-like positions: with AVX-512, `Windowed` took 0.77–0.98x `Gather`'s
/// time at 1.8–2.1x its pairs, 0.88–1.00x at 2.18x, 1.03–1.45x at 2.28–2.40x. (A windowed
/// pair is a lane of one `vpermt2ps`, a gathered one a lane of `vgatherdps`.) Where
/// `vgatherdps` is slow (every CPU but those Intel cores, see `gathers_are_fast`) a gathered
/// pair costs more: on an AMD Zen 4 core (`lowp bench --only sparse`, the bench's weights)
/// `Windowed` took 0.37x `Gather`'s time at 2.03x its pairs (90 %), 0.63x at 2.56x (95 %) and
/// 1.33x at 4.9x (99 %). There a cost of 3 took `Hybrid` from 1.26–1.36x to 1.52x lowp's CSR
/// SpMV at 90 % and from 0.99–1.00x to 1.23x at 95 % (paired in each run), and packs 99 % as
/// before; 4 windowed some of 99 %'s chunks, which then read 1.3x slower from DRAM. `Avx2`
/// loads x lane by lane in both (but where `vgatherdps` is fast), so a windowed pair saves
/// only bytes, and costs a mask and an add more: on an AMD Zen 1 core, whose best tier it is,
/// `Windowed` took 1.57–3.26x `Gather`'s time at 1.3–2.6x its pairs (50–95 %), a gathered pair
/// costing 0.78–0.84 windowed ones; 0.8 took `Hybrid` from 0.59–0.69x lowp's CSR SpMV at
/// 50–95 % to
/// 0.74–0.83x (every chunk gathered). The other tiers keep the 1.35 `Avx2` had before (measured on a Zen 4
/// core with that tier forced, when its kernels gathered x by `vgatherdps`): NEON's `tbl`
/// kernel is untimed (no Arm hardware here).
fn gathered_pair_cost(isa: Isa) -> f64 {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 | Isa::Avx512Bf16 | Isa::Amx if crate::arch::gathers_are_fast() => 2.2,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 | Isa::Avx512Bf16 | Isa::Amx => 3.0,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => 0.8,
        _ => 1.35,
    }
}

/// A chunk's windows that hold entries, in column order: `(first column, entries per row)`.
type WindowCounts = Vec<(u32, [u8; CHUNK])>;

impl<T: Input> PackedCsr<T> {
    /// Packs `a` in the [`PackedLayout::Hybrid`] layout: per chunk, windows capped where the
    /// CPU's best tier ([`Isa::best`]) is expected to run it fastest. Its bits can depend on
    /// the CPU (see `Hybrid`); [`PackedCsr::pack_with`] `Gather` or `Windowed` sum every row
    /// in the CSR's order.
    pub fn pack(a: CsrRef<'_, T>) -> PackedCsr<T> {
        Self::pack_with(a, PackedLayout::Hybrid)
    }

    /// Packs `a` in `layout`. The result holds [`PackedCsr::padded_len`] pairs, `nnz` of
    /// them real. `Hybrid` takes this CPU's [`PackedCsr::gathered_step_cost`].
    pub fn pack_with(a: CsrRef<'_, T>, layout: PackedLayout) -> PackedCsr<T> {
        Self::pack_at_cost(a, layout, Self::gathered_step_cost())
    }

    /// What [`PackedCsr::pack`] takes a gathered step to cost against a windowed one on this
    /// CPU's best tier: 2.2 or 3 with AVX-512 (Intel's Sapphire and Emerald Rapids, whose
    /// `vgatherdps` is fast, or not), 0.8 with AVX2, 1.35 elsewhere.
    pub fn gathered_step_cost() -> f64 {
        gathered_pair_cost(Isa::best())
    }

    /// Packs `a` in the [`PackedLayout::Hybrid`] layout as a CPU would whose
    /// [`PackedCsr::gathered_step_cost`] is `cost`: the same packing, so the same product's
    /// bits, wherever it runs (for instance a matrix packed once for a fleet of one CPU
    /// kind). A cost below 1 gathers every entry: a chunk's windowed steps are never
    /// fewer than its gathered ones.
    ///
    /// # Panics
    /// When `cost` is not a positive finite number.
    ///
    /// ```
    /// use lowp::sparse::{Csr, PackedCsr, PackedLayout};
    /// let a = Csr::try_new(1, 40, vec![0, 2], vec![3, 35], vec![1.0f32, 2.0])?;
    /// assert_eq!(PackedCsr::pack_hybrid(a.view(), 0.8).layout(), PackedLayout::Gather);
    /// # Ok::<(), lowp::Error>(())
    /// ```
    pub fn pack_hybrid(a: CsrRef<'_, T>, cost: f64) -> PackedCsr<T> {
        assert!(
            cost.is_finite() && cost > 0.0,
            "a gathered step's cost must be a positive finite number, not {cost}"
        );
        Self::pack_at_cost(a, PackedLayout::Hybrid, cost)
    }

    /// [`PackedCsr::pack_with`] with `cost` for `Hybrid`.
    fn pack_at_cost(a: CsrRef<'_, T>, layout: PackedLayout, cost: f64) -> PackedCsr<T> {
        let chunks = a.rows().div_ceil(CHUNK);
        let mut windowed = WindowedSteps {
            starts: vec![0],
            first_window: vec![0],
            windows: Vec::new(),
            offsets: Vec::new(),
            values: Vec::new(),
        };
        let mut gathered = GatheredSteps {
            starts: vec![0],
            lens: Vec::with_capacity(chunks * CHUNK),
            indices: Vec::new(),
            values: Vec::new(),
        };
        let (mut all_windowed, mut all_gathered) = (true, true);
        let mut counts = WindowCounts::new();
        for c in 0..chunks {
            let rows: [(&[u32], &[T]); CHUNK] = core::array::from_fn(|lane| {
                let r = c * CHUNK + lane;
                if r < a.rows() {
                    a.slice(r)
                } else {
                    (&[][..], &[][..])
                }
            });
            count_windows(&rows, &mut counts);
            let busiest = counts.iter().map(|(_, n)| max(n)).max().unwrap_or(0);
            let cap = match layout {
                PackedLayout::Gather => 0,
                PackedLayout::Windowed => busiest,
                PackedLayout::Hybrid => cheapest_cap(&counts, busiest, cost),
            };
            all_windowed &= cap == busiest;
            all_gathered &= cap == 0;
            windowed.push_chunk(&rows, &counts, cap);
            gathered.push_chunk(&rows, &counts, cap);
        }
        let layout = match layout {
            PackedLayout::Hybrid if all_windowed => PackedLayout::Windowed,
            PackedLayout::Hybrid if all_gathered => PackedLayout::Gather,
            layout => layout,
        };
        PackedCsr {
            rows: a.rows(),
            cols: a.cols(),
            nnz: a.nnz(),
            layout,
            windowed,
            gathered,
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

    /// The layout it was packed in: the one asked for, but `Hybrid` comes out as `Windowed`
    /// (`Gather`) where every chunk chose to window (gather) all its entries.
    pub fn layout(&self) -> PackedLayout {
        self.layout
    }

    /// (Index or offset, value) pairs stored, padding included: windowed ones and gathered
    /// ones. `Gather` stores `nnz` when the rows of every chunk are equally long (per-row
    /// pruning), more when they differ; `Windowed` more wherever a chunk's rows differ in how
    /// many entries fall in a window.
    pub fn padded_len(&self) -> usize {
        self.windowed.values.len() + self.gathered.values.len()
    }

    /// Windowed pairs stored, padding included (the rest of [`PackedCsr::padded_len`] is
    /// gathered).
    pub fn windowed_len(&self) -> usize {
        self.windowed.values.len()
    }

    /// Bytes held: the pairs (a windowed one: 1 byte of offset and a value; a gathered one:
    /// 4 bytes of index and a value), the windows (8 bytes each), and per chunk the offsets
    /// of its pairs and windows (24 bytes) and its rows' gathered counts (4 bytes a row).
    pub fn size_bytes(&self) -> usize {
        let WindowedSteps {
            starts,
            first_window,
            windows,
            offsets,
            values,
        } = &self.windowed;
        let windowed = size_of_val(starts.as_slice())
            + size_of_val(first_window.as_slice())
            + size_of_val(windows.as_slice())
            + offsets.len()
            + size_of_val(values.as_slice());
        let GatheredSteps {
            starts,
            lens,
            indices,
            values,
        } = &self.gathered;
        windowed
            + size_of_val(starts.as_slice())
            + size_of_val(lens.as_slice())
            + size_of_val(indices.as_slice())
            + size_of_val(values.as_slice())
    }
}

/// The largest of a window's per-row counts: its steps when not capped.
fn max(counts: &[u8; CHUNK]) -> u32 {
    u32::from(counts.iter().copied().max().unwrap_or(0))
}

/// Fills `counts` with the windows of 31 columns where the chunk's `rows` have entries.
fn count_windows<T>(rows: &[(&[u32], &[T]); CHUNK], counts: &mut WindowCounts) {
    counts.clear();
    let mut next = [0usize; CHUNK];
    // The leftmost window holding an entry still to count, and its count per row.
    while let Some(window) = (0..CHUNK)
        .filter_map(|lane| rows[lane].0.get(next[lane]))
        .map(|&i| i as usize / WINDOW_COLS)
        .min()
    {
        let end = (window + 1) * WINDOW_COLS;
        let mut n = [0u8; CHUNK];
        for (lane, (n, next)) in n.iter_mut().zip(&mut next).enumerate() {
            let count = rows[lane].0[*next..].partition_point(|&i| (i as usize) < end);
            // At most 31 distinct columns in a window.
            *n = count as u8;
            *next += count;
        }
        // A window starts below cols <= 2^32.
        counts.push(((window * WINDOW_COLS) as u32, n));
    }
}

/// The cap on a chunk's window steps that minimises `windowed steps + cost · gathered
/// steps`, the larger on a tie (fewer gathers).
fn cheapest_cap(counts: &WindowCounts, busiest: u32, cost: f64) -> u32 {
    let modelled = |cap: u32| {
        let windowed: u32 = counts.iter().map(|(_, n)| max(n).min(cap)).sum();
        let gathered = overflow(counts, cap).into_iter().max().unwrap_or(0);
        f64::from(windowed) + cost * f64::from(gathered)
    };
    let mut best = (busiest, modelled(busiest));
    for cap in (0..busiest).rev() {
        let cost = modelled(cap);
        if cost < best.1 {
            best = (cap, cost);
        }
    }
    best.0
}

/// Each row's entries past the first `cap` of a window: its gathered entries.
fn overflow(counts: &WindowCounts, cap: u32) -> [u32; CHUNK] {
    core::array::from_fn(|lane| {
        let over = counts
            .iter()
            .map(|(_, n)| u32::from(n[lane]).saturating_sub(cap));
        over.sum()
    })
}

impl<T: Input> WindowedSteps<T> {
    /// Appends a chunk whose windows are `counts`, each row's first `cap` entries of a window.
    fn push_chunk(&mut self, rows: &[(&[u32], &[T]); CHUNK], counts: &WindowCounts, cap: u32) {
        let mut next = [0usize; CHUNK];
        for &(col, ref n) in counts {
            let steps = max(n).min(cap);
            let base = self.values.len();
            self.offsets
                .resize(base + CHUNK * steps as usize, WINDOW_COLS as u8);
            self.values
                .resize(base + CHUNK * steps as usize, negative_zero::<T>());
            for (lane, (&n, next)) in n.iter().zip(&mut next).enumerate() {
                let (idx, vals) = rows[lane];
                let kept = usize::from(n).min(cap as usize);
                for p in 0..kept {
                    self.offsets[base + CHUNK * p + lane] = (idx[*next + p] - col) as u8;
                    self.values[base + CHUNK * p + lane] = vals[*next + p];
                }
                *next += usize::from(n);
            }
            if steps > 0 {
                self.windows.push([col, steps]);
            }
        }
        self.starts.push(self.values.len());
        self.first_window.push(self.windows.len());
    }
}

impl<T: Input> GatheredSteps<T> {
    /// Appends a chunk whose windows are `counts`, each row's entries past the first `cap`
    /// of a window, in column order.
    fn push_chunk(&mut self, rows: &[(&[u32], &[T]); CHUNK], counts: &WindowCounts, cap: u32) {
        let lens = overflow(counts, cap);
        let base = self.values.len();
        let steps = lens.iter().copied().max().unwrap_or(0) as usize;
        self.indices.resize(base + CHUNK * steps, 0);
        self.values.resize(base + CHUNK * steps, zero::<T>());
        for (lane, &(idx, vals)) in rows.iter().enumerate() {
            let (mut next, mut p) = (0, 0);
            for (_, n) in counts {
                let n = usize::from(n[lane]);
                for at in next + (cap as usize).min(n)..next + n {
                    self.indices[base + CHUNK * p + lane] = idx[at];
                    self.values[base + CHUNK * p + lane] = vals[at];
                    p += 1;
                }
                next += n;
            }
        }
        self.lens.extend_from_slice(&lens);
        self.starts.push(self.values.len());
    }
}

fn zero<T: Input>() -> T {
    <T as bytemuck::Zeroable>::zeroed()
}

/// `-0` as `T`: the padding value of the windowed steps, whose product with the zero in x's
/// window adds `-0`, leaving every sum as it was (`+0 + -0 = +0`).
fn negative_zero<T: Input>() -> T {
    match T::DTYPE {
        DType::F32 => bytemuck::cast_slice::<f32, T>(&[-0.0f32])[0],
        DType::BF16 => bytemuck::cast_slice::<bf16, T>(&[bf16::NEG_ZERO])[0],
        DType::F16 => bytemuck::cast_slice::<f16, T>(&[f16::NEG_ZERO])[0],
    }
}

impl Backend {
    /// `y = alpha·A·x + beta·y` for a [`PackedCsr`] `A [m × k]`, `x` of length `k`, `y` of
    /// length `m`. Each `yᵢ` is row `i`'s products fused into one sum in the packed order
    /// (`s = fma(aᵢⱼ, xⱼ, s)` from `+0`; the CSR's order but where a `Hybrid` cap cuts a
    /// window), then `alpha·s + beta·yᵢ`: **the same bits on every backend and thread count**
    /// for a given [`PackedCsr`] (a fused multiply-add rounds once everywhere), within the
    /// dot bound of the row's length. With `beta == 0`, `y` is not read. Threads split the
    /// chunks balanced by stored pairs; nothing is allocated on one thread.
    ///
    /// Faster than [`Backend::spmv`] on the CSR at every sparsity the README measures, as
    /// [`PackedCsr::pack`] packs it for the CPU's best tier (with AVX-512 on an Emerald Rapids
    /// core it beats the dense GEMV from 50 % sparsity in `lowp bench`, by 1.2x there and
    /// 1.7–1.9x at 70 %). Gathered steps: the x86 tiers gather x with
    /// `vgatherdps`; NEON and portable, without a gather instruction, run the scalar loop.
    /// Windowed steps: the AVX-512 tiers look x up in registers with `vpermt2ps`, NEON with
    /// `tbl`/`tbx`, `Avx2` gathers it, portable runs the scalar loop.
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
        let (w, g) = (&a.windowed, &a.gathered);
        let task = |(first, ys): (usize, &mut [f32])| {
            for (c, ys) in (first / CHUNK..).zip(ys.chunks_mut(CHUNK)) {
                let mut sums = [0f32; CHUNK];
                let pairs = w.starts[c]..w.starts[c + 1];
                if !pairs.is_empty() {
                    let windows = &w.windows[w.first_window[c]..w.first_window[c + 1]];
                    // To the arrays' ends: the kernels prefetch ahead into the next chunks.
                    let (offsets, values) = (&w.offsets[pairs.start..], &w.values[pairs.start..]);
                    // SAFETY: `self` proves the CPU supports its tier; the chunk holds
                    // 16·Σ steps pairs of its windows (the kernels read x only below x.len()).
                    unsafe { self.window_chunk(windows, offsets, values, x, &mut sums) };
                }
                let pairs = g.starts[c]..g.starts[c + 1];
                if !pairs.is_empty() {
                    let lens = g.lens[c * CHUNK..][..CHUNK]
                        .try_into()
                        .expect("16 lengths per chunk");
                    let (indices, values) = (&g.indices[pairs.start..], &g.values[pairs.start..]);
                    // SAFETY: `self` proves the CPU supports its tier; the chunk holds
                    // 16·max(lens) pairs, and every real pair's index came from a validated
                    // CSR with `cols == x.len()` columns (checked above).
                    unsafe { self.sell_chunk(lens, indices, values, x, &mut sums) };
                }
                for (y, &s) in ys.iter_mut().zip(&sums) {
                    scale_add(alpha, beta, s, y);
                }
            }
        };
        match spmv_tasks(par, a.padded_len() + y.len()) {
            // One task, run here: nothing to split, nothing allocated.
            1 => task((0, y)),
            n => {
                let rows = a.rows;
                let pairs: Vec<usize> =
                    w.starts.iter().zip(&g.starts).map(|(w, g)| w + g).collect();
                let cuts: Vec<usize> = balanced_split(&pairs, n)
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
