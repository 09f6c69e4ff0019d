//! The dispatch handle: a tier plus its kernel table, constructible only on a CPU that has it.

use core::sync::atomic::{AtomicUsize, Ordering};

use half::{bf16, f16};

use crate::blockfp::MxFormat;
use crate::reference::rng::Generator;
use crate::reference::stochastic::{Overflow, SrOptions};
use crate::{arch, Error, Isa};

/// The parameters of one stochastic-rounding call: element `i` of the slices uses the random
/// bits of index `offset + i` under `seed`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sr {
    pub(crate) seed: u64,
    pub(crate) offset: u64,
    pub(crate) overflow: Overflow,
    pub(crate) generator: Generator,
}

impl Sr {
    pub(crate) fn new(seed: u64, offset: u64, options: SrOptions) -> Sr {
        Sr {
            seed,
            offset,
            overflow: options.overflow,
            generator: options.generator,
        }
    }

    pub(crate) fn options(self) -> SrOptions {
        SrOptions {
            overflow: self.overflow,
            generator: self.generator,
        }
    }
}

/// `(x, row0, row1) -> [row0·x, row1·x]`.
pub(crate) type TwoRows<W> = unsafe fn(&[f32], &[W], &[W]) -> [f32; 2];

/// One micro-kernel step of GEMM over `kc` values of k, for an `mr × nr` tile:
/// `acc[i*nr + j] = (accumulate ? acc[i*nr + j] : 0) + Σ_p a[p*mr + i] · b[p*nr + j]`, the
/// products added in `p` order into one f32 accumulator per element (FMA where the tier has
/// it). Each element's operations depend only on its own row of `a` and column of `b`, so a
/// tile's position (and the thread split) never changes its bits. Kernels check the slice
/// lengths (`a >= kc*mr`, `b >= kc*nr`, `acc >= mr*nr`) and panic rather than read past them.
pub(crate) type MicroKernel<B> = unsafe fn(usize, &[f32], &[B], &mut [f32], bool);

/// A tier's GEMM micro-kernels: the tile shape and, per B element type, the kernel that reads B
/// panels of that type directly (`None`: B is widened to f32 when packed, and the f32 kernel
/// runs). Packed A is f32, except for a hardware kernel that reads k-pairs (below).
#[derive(Clone, Copy)]
pub(crate) struct GemmKernels {
    pub(crate) mr: usize,
    pub(crate) nr: usize,
    pub(crate) f32: MicroKernel<f32>,
    pub(crate) bf16: Option<MicroKernel<bf16>>,
    pub(crate) f16: Option<MicroKernel<f16>>,
    /// How bf16 B panels are laid out (see [`Bf16Panel`]).
    pub(crate) bf16_panel: Bf16Panel,
    /// A kernel for bf16 A times bf16 B panels (the `bf16` layout) with the hardware's own
    /// bf16 arithmetic (Arm `BFMMLA`: products summed in pairs, round-to-odd, subnormal
    /// results flushed; x86 `vdpbf16ps`: each lane's two products added in turn, step `p + 1`
    /// first, subnormals flushed; x86 AMX `tdpbf16ps`: the same pairs, on 16 × 16 tiles), so
    /// not the `MicroKernel` contract's f32 chain: within
    /// [`crate::reference::fmac::bf16_hardware_error_bound`]. Packed A holds bf16 values (exact
    /// in f32). The driver runs it only when A is bf16, B has no subnormal value and the tile's
    /// panel of A has none (the instruction would flush those inputs), else the `bf16` kernel.
    pub(crate) bf16_bf16: Option<MicroKernel<bf16>>,
    /// `bf16_bf16` for two consecutive panels of A at once (`2·mr` rows: `a` holds both
    /// panels, `acc` both tiles), the same bits per element as two calls of `bf16_bf16`. The
    /// driver runs it where both panels may take the hardware kernel.
    pub(crate) bf16_bf16_x2: Option<MicroKernel<bf16>>,
    /// How `bf16_bf16` reads packed A (see [`APanel`]). The driver converts only the panels
    /// that kernel runs on; the others stay f32.
    pub(crate) bf16_bf16_a: APanel,
    /// Called on a thread once a GEMM task that may have run `bf16_bf16` is done, to return
    /// the state the kernel leaves set up between calls (AMX: the tile configuration, which
    /// costs ten times a tile product to load, so the kernels keep it while a task runs).
    pub(crate) bf16_bf16_done: Option<unsafe fn()>,
}

/// The layout of a micro-panel of bf16 B (`kc × nr`, row `p` of B's depth block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bf16Panel {
    /// Element `(p, j)` at `p·nr + j`.
    InOrder,
    /// Each row of `nr` columns in pairs: column `j` at `p·nr + 2·(j mod nr/2) + j div nr/2`,
    /// so a 32-bit word holds columns `i` and `nr/2 + i` and two vector ops widen a whole row.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    ColumnPairs,
    /// Rows in k-pairs: `(p, j)` at `(p − p mod 2)·nr + 2j + p mod 2`, so a 32-bit word holds
    /// column `j` of rows `2q` (low half) and `2q + 1` (high half) and a row pair is one AMX B
    /// tile row; an odd `kc`'s last row stays in order at `(kc − 1)·nr + j`.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    KPairs,
}

impl Bf16Panel {
    /// Where element `(p, j)` of a `kc × nr` micro-panel is stored.
    pub(crate) fn position(self, p: usize, j: usize, kc: usize, nr: usize) -> usize {
        match self {
            Bf16Panel::InOrder => p * nr + j,
            Bf16Panel::ColumnPairs => p * nr + 2 * (j % (nr / 2)) + j / (nr / 2),
            Bf16Panel::KPairs if p == kc - 1 && kc % 2 == 1 => p * nr + j,
            Bf16Panel::KPairs => (p - p % 2) * nr + 2 * j + p % 2,
        }
    }
}

/// How a hardware bf16 kernel reads a panel of A (`mr` rows, depth `kc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum APanel {
    /// f32 values, `panel[p·mr + i]`, as every `MicroKernel`.
    F32,
    /// k-pairs, step-major: word `q·mr + i` holds the bf16 bits of `a[i][2q]` in its low half
    /// and of `a[i][2q + 1]` in its high half (zero past `kc`), so one broadcast load gives a
    /// row's operand for two steps of k (x86 `vdpbf16ps`).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    KPairs,
    /// k-pairs, row-major: word `i·row_words(kc) + q` holds what `KPairs` puts at
    /// `q·mr + i`, so a row's pairs are contiguous: an AMX A tile's row.
    RowPairs,
}

impl APanel {
    /// Words from one row of a `RowPairs` panel to the next: `⌈kc/2⌉`, rounded up to a
    /// cache line's 16 words where the panel's `mr·kc` words allow it (`kc >= 32`), so that
    /// rows start on lines in an aligned panel.
    pub(crate) fn row_words(kc: usize) -> usize {
        let pairs = kc.div_ceil(2);
        if kc >= 32 {
            pairs.next_multiple_of(16)
        } else {
            pairs
        }
    }
}

/// What a register-only FMA loop did: `flops` floating-point operations, and a value that
/// depends on all of them (so the loop cannot be optimised away).
pub(crate) struct PeakRun {
    pub(crate) flops: u64,
    pub(crate) sink: f32,
}

/// `(indptr, indices, values, x, out)`: `out[r] = Σ values[p]·x[indices[p]]` over row `r`.
/// Besides the CPU's support, the vector kernels need every index below `x.len()` (they read
/// x unchecked), and `indptr` to hold at least `out.len() + 1` non-decreasing offsets, the
/// last at most `indices.len()` and `values.len()` (the `Avx2` tier slices the rows
/// unchecked); the callers pass validated structures.
pub(crate) type SparseDots<T> = unsafe fn(&[usize], &[u32], &[T], &[f32], &mut [f32]);

/// `(lens, indices, values, x, out)`: one chunk of a [`PackedCsr`](crate::sparse::PackedCsr),
/// 16 rows with `lens[r]` nonzeros each, step `p` of row `r` at `16·p + r`:
/// `out[r] = fma(values[16p + r], x[indices[16p + r]], out[r])` over `p < lens[r]` in order,
/// onto what `out` holds (so a chunk's windowed and gathered steps make one sum). A fused
/// multiply-add is one rounding on every tier, so the bits are the same everywhere.
/// Precondition beyond the tier: `indices` and `values` hold `16·max(lens)` elements and
/// `indices[16p + r] < x.len()` for every `p < lens[r]`.
pub(crate) type SellChunk<T> = unsafe fn(&[u32; 16], &[u32], &[T], &[f32], &mut [f32; 16]);

/// Columns per window of a windowed [`PackedCsr`](crate::sparse::PackedCsr): 31 of x plus a
/// zero make the 32 lanes one `vpermt2ps` looks up. An offset of `WINDOW_COLS` or more is
/// padding.
pub(crate) const WINDOW_COLS: usize = 31;

/// `(windows, offsets, values, x, out)`: one chunk of a windowed
/// [`PackedCsr`](crate::sparse::PackedCsr), 16 rows. Window `[col, steps]` holds `steps`
/// steps of 16 (offset, value) pairs, row `r`'s at `16·p + r` (counted on from the previous
/// windows'): `out[r] = fma(value, x[col + offset], out[r])` in order, onto what `out` holds,
/// over the pairs whose offset is below [`WINDOW_COLS`]. The padding pairs hold `-0`, and
/// tiers that do not skip them multiply it by `+0`: `s + (-0) = s` for every `s`, so the
/// bits are the same on every tier. Precondition beyond the tier: `offsets` and `values`
/// hold `16·Σ steps` elements.
/// (Out-of-range offsets or windows give wrong sums or a panic, never a read outside x.)
pub(crate) type WindowChunk<T> = unsafe fn(&[[u32; 2]], &[u8], &[T], &[f32], &mut [f32; 16]);

/// `(indices, values, b, stride, out)`: `out = Σ_p values[p]·b[indices[p]·stride..]`.
pub(crate) type SparseRow<T> = unsafe fn(&[u32], &[T], &[f32], usize, &mut [f32]);

/// One tier's kernels. Every entry is an `unsafe fn` whose only precondition (but for the
/// sparse dots' indices, see [`SparseDots`]) is that the CPU supports the tier the table
/// belongs to; lengths are the callers' business (kernels process
/// `min(src.len(), dst.len())` elements and never touch memory outside the slices).
pub(crate) struct Kernels {
    pub(crate) f32_to_bf16: unsafe fn(&[f32], &mut [bf16]),
    pub(crate) bf16_to_f32: unsafe fn(&[bf16], &mut [f32]),
    pub(crate) f32_to_f16: unsafe fn(&[f32], &mut [f16]),
    pub(crate) f16_to_f32: unsafe fn(&[f16], &mut [f32]),
    pub(crate) f32_to_bf16_sr: unsafe fn(&[f32], &mut [bf16], Sr),
    pub(crate) f32_to_f16_sr: unsafe fn(&[f32], &mut [f16], Sr),
    /// `w = sr(w + alpha * g)`, g in f32.
    pub(crate) axpy_bf16_sr: unsafe fn(f32, &[f32], &mut [bf16], Sr),
    /// `w = sr(w + alpha * g)`, g in bf16.
    pub(crate) axpy_bf16_sr_bf16: unsafe fn(f32, &[bf16], &mut [bf16], Sr),
    /// The public dots, of vectors the caller holds (most often in cache).
    pub(crate) dot_bf16: unsafe fn(&[bf16], &[bf16]) -> f32,
    pub(crate) dot_f16: unsafe fn(&[f16], &[f16]) -> f32,
    pub(crate) dot_f32_bf16: unsafe fn(&[f32], &[bf16]) -> f32,
    /// One GEMV row, `dot(x, row)`, for W walked a row at a time (16 MiB and more, from
    /// memory): the bits of the dot of the same types, but prefetching W ahead (past the
    /// row, into the next) where the tier prefetches. `row` runs on to W's end: its first
    /// `x.len()` elements are the row, and the prefetch stops at its end.
    pub(crate) row_f32_bf16: unsafe fn(&[f32], &[bf16]) -> f32,
    pub(crate) row_f32_f16: unsafe fn(&[f32], &[f16]) -> f32,
    pub(crate) row_f32: unsafe fn(&[f32], &[f32]) -> f32,
    /// Two GEMV rows at once; each result bit-identical to the one-row kernel's. The rows run
    /// on to W's end, as the one-row kernel's does.
    pub(crate) dot2_f32_bf16: TwoRows<bf16>,
    pub(crate) dot2_f32_f16: TwoRows<f16>,
    pub(crate) dot2_f32: TwoRows<f32>,
    pub(crate) gemm: GemmKernels,
    /// `out[r] = Σ_p values[p]·x[indices[p]]` over `p` in `indptr[r]..indptr[r + 1]`, for
    /// every `r < out.len()`: a block of sparse rows times a dense vector. Precondition beyond
    /// the tier: a validated structure (see [`SparseDots`]).
    pub(crate) sparse_dots_f32: SparseDots<f32>,
    pub(crate) sparse_dots_bf16: SparseDots<bf16>,
    pub(crate) sparse_dots_f16: SparseDots<f16>,
    /// `out[j] = Σ_p values[p]·b[indices[p]·stride + j]` for `j < out.len()`: one sparse row
    /// times a dense row-major matrix. Each product is rounded, then added in `p` order
    /// starting from 0, on every tier: the bits are the same everywhere. Precondition beyond
    /// the tier: `indices[p]·stride + out.len() <= b.len()` for every `p`.
    pub(crate) sparse_row_f32: SparseRow<f32>,
    pub(crate) sparse_row_bf16: SparseRow<bf16>,
    pub(crate) sparse_row_f16: SparseRow<f16>,
    /// One chunk of a packed CSR for `spmv_packed` (see [`SellChunk`]).
    pub(crate) sell_f32: SellChunk<f32>,
    pub(crate) sell_bf16: SellChunk<bf16>,
    pub(crate) sell_f16: SellChunk<f16>,
    /// One chunk of a windowed packed CSR (see [`WindowChunk`]).
    pub(crate) window_f32: WindowChunk<f32>,
    pub(crate) window_bf16: WindowChunk<bf16>,
    pub(crate) window_f16: WindowChunk<f16>,
    /// `panel[c·w + j] = rows[j][c]` for the `w = rows.len()` rows (1..=64) and the
    /// `panel.len() / w` columns: `spmm_xt`'s panels. Panics when a row is shorter.
    pub(crate) transpose_f32: unsafe fn(&[&[f32]], &mut [f32]),
    /// MX quantization of `src` into one scale byte and `format.block_bytes()` packed code
    /// bytes per block of 32 (the last one partial), the same bits on every tier.
    /// Precondition beyond the tier: `scales.len() == format.blocks(src.len())` and
    /// `elements.len() == scales.len() * format.block_bytes()`.
    pub(crate) mx_quantize: unsafe fn(MxFormat, &[f32], &mut [u8], &mut [u8]),
    /// MX dequantization of `scales` and `elements` (laid out as `mx_quantize` writes them)
    /// into `dst`, the same bits on every tier. Precondition beyond the tier: the lengths, as
    /// for `mx_quantize` with `dst` for `src`.
    pub(crate) mx_dequantize: unsafe fn(MxFormat, &[u8], &[u8], &mut [f32]),
    /// `iterations` rounds of independent multiply-adds on registers only: the tier's peak
    /// (`Amx`: `tdpbf16ps` on tiles).
    pub(crate) fma_peak: unsafe fn(u64) -> PeakRun,
}

/// How bf16 × bf16 GEMM multiplies on a tier with a hardware bf16 instruction (`Avx512Bf16`:
/// `vdpbf16ps`; `Amx`: `tdpbf16ps` on tiles; `NeonBf16`: `BFMMLA`). The two give different
/// bits, each deterministic.
///
/// [`Backend::new`] picks the faster one for the CPU: `Hardware` on `Amx` (5x the FMA kernel
/// where measured), and on `Avx512Bf16` by the vendor: `Hardware` on AMD's cores and on Arm,
/// `WidenFma` on other x86 CPUs (Intel's, where `vdpbf16ps` issues at half the FMA rate). A
/// process that needs the same GEMM bits on every CPU of a tier picks one with
/// [`Backend::with_bf16_gemm`] (and [`Backend::set_active`] for the free functions).
///
/// ```
/// use lowp::fmac::Bf16Gemm;
/// use lowp::{Backend, Isa};
/// let fma = Backend::best().with_bf16_gemm(Bf16Gemm::WidenFma).expect("every tier has it");
/// assert_eq!(fma.bf16_gemm(), Bf16Gemm::WidenFma);
/// // Tiers without a bf16 instruction have no hardware kernel to choose.
/// assert!(Backend::new(Isa::Scalar).unwrap().with_bf16_gemm(Bf16Gemm::Hardware).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bf16Gemm {
    /// The tier's bf16 instruction: two products per lane and step, within
    /// [`crate::reference::fmac::bf16_hardware_error_bound`]; subnormal inputs make the
    /// driver fall back to `WidenFma` for the panels that hold them.
    Hardware,
    /// Both operands widened exactly to f32, then one FMA chain per output in k order (the
    /// f32 dot bound, and the bits of the tier below, `Avx512` or `Neon`).
    WidenFma,
}

/// A tier this CPU is known to support, with its kernel table.
///
/// `Backend` is `Copy` and cheap; holding one is the proof that its tier's instructions may run
/// here, so every kernel is a method on it. The free functions of each family
/// (e.g. [`crate::convert::f32_to_bf16`]) call the same method on [`Backend::active`].
///
/// ```
/// use lowp::{Backend, Isa};
/// for backend in Backend::all_supported() {
///     println!("{} can run here", backend.isa());
/// }
/// assert!(Backend::new(Isa::Scalar).is_some());
/// ```
#[derive(Clone, Copy)]
pub struct Backend {
    isa: Isa,
    pub(crate) kernels: &'static Kernels,
    /// Whether GEMM runs `kernels.gemm.bf16_bf16` (only ever true where it is `Some`).
    hardware_bf16_gemm: bool,
}

impl core::fmt::Debug for Backend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Backend")
            .field(&self.isa)
            .field(&self.bf16_gemm())
            .finish()
    }
}

impl PartialEq for Backend {
    fn eq(&self, other: &Backend) -> bool {
        (self.isa, self.hardware_bf16_gemm) == (other.isa, other.hardware_bf16_gemm)
    }
}

impl Eq for Backend {}

/// The process-wide backend: `Isa::index() + 1`, plus [`HARDWARE_BF16_GEMM`] when it runs its
/// tier's hardware GEMM kernel; 0 until first use.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// The flag of [`ACTIVE`] for [`Bf16Gemm::Hardware`] (above every `Isa::index() + 1`).
const HARDWARE_BF16_GEMM: usize = 1 << 8;

impl Backend {
    /// The backend for `isa`, or `None` when this CPU (or OS) lacks any feature it uses.
    /// This is the only constructor.
    pub fn new(isa: Isa) -> Option<Backend> {
        if isa.is_supported() {
            // SAFETY: `isa.is_supported()` was just checked.
            Some(unsafe { Backend::new_unchecked(isa) })
        } else {
            None
        }
    }

    /// # Safety
    /// The CPU must support `isa` (`isa.is_supported()`).
    unsafe fn new_unchecked(isa: Isa) -> Backend {
        // SAFETY: the caller guarantees `isa.is_supported()`.
        let kernels = unsafe { arch::table(isa) };
        Backend {
            isa,
            kernels,
            hardware_bf16_gemm: kernels.gemm.bf16_bf16.is_some()
                && arch::prefers_hardware_bf16_gemm(isa),
        }
    }

    /// The tier of this backend.
    pub fn isa(self) -> Isa {
        self.isa
    }

    /// How this backend's GEMM multiplies bf16 by bf16 ([`Bf16Gemm`]); `WidenFma` on tiers
    /// without a bf16 instruction.
    pub fn bf16_gemm(self) -> Bf16Gemm {
        if self.hardware_bf16_gemm {
            Bf16Gemm::Hardware
        } else {
            Bf16Gemm::WidenFma
        }
    }

    /// This backend with `choice` for bf16 × bf16 GEMM, or `None` for `Hardware` on a tier
    /// without a bf16 instruction. Everything else about the backend stays as it is.
    pub fn with_bf16_gemm(self, choice: Bf16Gemm) -> Option<Backend> {
        let hardware = choice == Bf16Gemm::Hardware;
        if hardware && self.kernels.gemm.bf16_bf16.is_none() {
            return None;
        }
        Some(Backend {
            hardware_bf16_gemm: hardware,
            ..self
        })
    }

    /// The tier's hardware bf16 × bf16 GEMM kernel, where this backend runs it.
    pub(crate) fn hardware_bf16_gemm(self) -> Option<MicroKernel<bf16>> {
        self.kernels
            .gemm
            .bf16_bf16
            .filter(|_| self.hardware_bf16_gemm)
    }

    /// The best tier this CPU supports.
    pub fn best() -> Backend {
        Backend::new(Isa::best()).expect("Isa::best() is supported")
    }

    /// Every tier this CPU supports, lowest first. Tests loop over this instead of flipping the
    /// process-wide choice.
    pub fn all_supported() -> Vec<Backend> {
        Isa::ALL
            .iter()
            .filter_map(|&isa| Backend::new(isa))
            .collect()
    }

    /// The backend the free functions use: [`Backend::set_active`]'s choice if one was made,
    /// else `LOWP_ISA` if set, else [`Backend::best`]. Decided once, then one atomic load.
    ///
    /// # Panics
    /// On first use, if `LOWP_ISA` names an unknown tier or one this CPU lacks (the message lists
    /// the supported ones). A misconfigured process stops instead of silently running another
    /// path; call [`Backend::from_env`] first to handle that case yourself.
    pub fn active() -> Backend {
        match ACTIVE.load(Ordering::Relaxed) {
            0 => {
                let chosen = Backend::from_env().unwrap_or_else(|e| panic!("LOWP_ISA: {e}"));
                // Keep a concurrent `set_active` if it won the race.
                let _ = ACTIVE.compare_exchange(
                    0,
                    chosen.encoded(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                Backend::active()
            }
            stored => {
                let isa = Isa::ALL[(stored & !HARDWARE_BF16_GEMM) - 1];
                // SAFETY: ACTIVE only ever holds the tier of a `Backend` that was constructed,
                // i.e. whose support was checked.
                let backend = unsafe { Backend::new_unchecked(isa) };
                Backend {
                    hardware_bf16_gemm: stored & HARDWARE_BF16_GEMM != 0,
                    ..backend
                }
            }
        }
    }

    /// This backend as [`ACTIVE`] stores it.
    fn encoded(self) -> usize {
        let flag = if self.hardware_bf16_gemm {
            HARDWARE_BF16_GEMM
        } else {
            0
        };
        (self.isa.index() + 1) | flag
    }

    /// Makes `backend` the process-wide choice of the free functions, overriding `LOWP_ISA`
    /// (its [`Bf16Gemm`] choice included).
    pub fn set_active(backend: Backend) {
        ACTIVE.store(backend.encoded(), Ordering::Relaxed);
    }

    /// The backend `LOWP_ISA` asks for (the best one when it is unset or empty).
    pub fn from_env() -> Result<Backend, Error> {
        match std::env::var("LOWP_ISA") {
            Ok(name) => Backend::from_name(&name),
            Err(std::env::VarError::NotPresent) => Ok(Backend::best()),
            Err(std::env::VarError::NotUnicode(raw)) => Err(Error::UnknownIsa {
                name: raw.to_string_lossy().into_owned(),
            }),
        }
    }

    /// The backend named `name` (as `LOWP_ISA` spells it; empty means the best one), or why not.
    pub fn from_name(name: &str) -> Result<Backend, Error> {
        if name.trim().is_empty() {
            return Ok(Backend::best());
        }
        let isa: Isa = name.parse()?;
        Backend::new(isa).ok_or(Error::UnsupportedIsa { isa })
    }
}
