//! [`PackedB`]: a GEMM right-hand side rearranged once into the panels a backend's micro-kernel
//! streams.

use half::{bf16, f16};

use super::{Input, MatRef};
use crate::aligned::AlignedVec;
use crate::backend::Bf16Panel;
use crate::{Backend, DType, Element, Error, Isa};

/// `B [k × n]` packed for one backend's GEMM micro-kernel: pack a layer's weights once at load,
/// then call [`gemm_packed`](super::gemm_packed) on every step.
///
/// The layout is the backend's business: `k` is cut into blocks of 256 and `n` into panels of
/// `nr` columns (the micro-kernel's width, zero-padded at the right edge), each block's panels
/// stored one after another so the kernel streams them front to back; the values stay bf16/f16 where the backend's kernel widens
/// them itself and are widened to f32 at packing where that is faster. A `PackedB` made for one
/// backend works with any backend of the same layout, and is refused with
/// [`Error::PackedLayout`] by any other.
///
/// ```
/// use half::bf16;
/// use lowp::fmac::{MatRef, PackedB};
/// // A linear layer's weights W [n × k] = [3 × 2]; GEMM wants B = Wᵀ [k × n].
/// let w: Vec<bf16> = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0].map(bf16::from_f32).to_vec();
/// let packed = PackedB::pack(MatRef::new(&w, 3, 2)?.t());
/// assert_eq!((packed.k(), packed.n()), (2, 3));
/// # Ok::<(), lowp::Error>(())
/// ```
#[derive(Clone)]
pub struct PackedB {
    k: usize,
    n: usize,
    nr: usize,
    /// The layout of the panels (`GemmKernels::bf16_panel` for bf16 panels, else in order).
    layout: Bf16Panel,
    /// No value of B is subnormal, so a hardware bf16 kernel that flushes them may run
    /// (`GemmKernels::bf16_bf16`).
    normal: bool,
    source: DType,
    isa: Isa,
    panels: Panels,
}

/// The packed values, in the element type the micro-kernel reads.
#[derive(Clone)]
pub(crate) enum Panels {
    F32(AlignedVec<f32>),
    Bf16(AlignedVec<bf16>),
    F16(AlignedVec<f16>),
}

impl Panels {
    fn dtype(&self) -> DType {
        match self {
            Panels::F32(_) => DType::F32,
            Panels::Bf16(_) => DType::BF16,
            Panels::F16(_) => DType::F16,
        }
    }
}

impl core::fmt::Debug for PackedB {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PackedB")
            .field("k", &self.k)
            .field("n", &self.n)
            .field("nr", &self.nr)
            .field("source", &self.source)
            .field("panels", &self.panels.dtype())
            .field("isa", &self.isa)
            .finish()
    }
}

impl PackedB {
    /// Packs `b` (`[k × n]`, any strides: pass `w.t()` for weights stored `[n × k]`) for
    /// [`Backend::active`].
    pub fn pack<B: Input>(b: MatRef<'_, B>) -> PackedB {
        Backend::active().pack_b(b)
    }

    /// The inner dimension (rows of B).
    pub fn k(&self) -> usize {
        self.k
    }

    /// The number of output columns (columns of B).
    pub fn n(&self) -> usize {
        self.n
    }

    /// The backend tier it was packed for.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The element type of the matrix it was packed from.
    pub fn source_dtype(&self) -> DType {
        self.source
    }

    /// Bytes of packed data.
    pub fn size_bytes(&self) -> usize {
        match &self.panels {
            Panels::F32(v) => v.len() * 4,
            Panels::Bf16(v) => v.len() * 2,
            Panels::F16(v) => v.len() * 2,
        }
    }

    /// Whether no value of B is subnormal (computed when packed for a tier with a bf16
    /// hardware kernel, else `false`).
    pub(crate) fn is_normal(&self) -> bool {
        self.normal
    }

    /// The panels, checked to be laid out for `backend`.
    pub(crate) fn panels_for(&self, backend: Backend) -> Result<&Panels, Error> {
        let expected = panel_dtype(backend, self.source);
        let g = &backend.kernels.gemm;
        if g.nr == self.nr
            && expected == self.panels.dtype()
            && panel_layout(backend, expected) == self.layout
        {
            Ok(&self.panels)
        } else {
            Err(Error::PackedLayout {
                packed_for: self.isa,
                backend: backend.isa(),
            })
        }
    }
}

/// The layout of `backend`'s B panels of element type `panels`.
fn panel_layout(backend: Backend, panels: DType) -> Bf16Panel {
    match panels {
        DType::BF16 => backend.kernels.gemm.bf16_panel,
        _ => Bf16Panel::InOrder,
    }
}

/// The element type `backend` keeps B panels in when B holds `source`.
fn panel_dtype(backend: Backend, source: DType) -> DType {
    let g = &backend.kernels.gemm;
    match source {
        DType::BF16 if g.bf16.is_some() => DType::BF16,
        DType::F16 if g.f16.is_some() => DType::F16,
        _ => DType::F32,
    }
}

impl Backend {
    /// Packs `b` (`[k × n]`, any strides) for this backend's GEMM micro-kernel; see [`PackedB`].
    pub fn pack_b<B: Input>(self, b: MatRef<'_, B>) -> PackedB {
        let nr = self.kernels.gemm.nr;
        let dtype = panel_dtype(self, B::DTYPE);
        let layout = panel_layout(self, dtype);
        let panels = match dtype {
            DType::F32 => Panels::F32(pack_panels(b, nr, layout, |v: B| v.into())),
            DType::BF16 => Panels::Bf16(pack_panels(b, nr, layout, as_dtype::<B, bf16>)),
            DType::F16 => Panels::F16(pack_panels(b, nr, layout, as_dtype::<B, f16>)),
        };
        // Only a bf16 hardware kernel cares, so only its tiers pay for the scan.
        let normal = self.kernels.gemm.bf16_bf16.is_some()
            && B::DTYPE == DType::BF16
            && (0..b.rows()).all(|p| (0..b.cols()).all(|j| !b.get(p, j).into().is_subnormal()));
        PackedB {
            k: b.rows(),
            n: b.cols(),
            nr,
            layout,
            normal,
            source: B::DTYPE,
            isa: self.isa(),
            panels,
        }
    }
}

/// `v` as `T`, which [`panel_dtype`] guarantees is the same type.
fn as_dtype<B: Element, T: Element>(v: B) -> T {
    bytemuck::cast(v)
}

/// Depth of one block of packed B (and of packed A): a `KC × nr` micro-panel fits L1.
pub(crate) const KC: usize = 256;

/// Where the micro-panel of panel `jp` (`nr` columns) at depth block `pc` starts, with `n`
/// rounded up to `padded_n`: depth blocks are outermost, so a block's panels for all of `n` are
/// one contiguous stream, and each micro-panel is `kc × nr`, `kc`-major (`[p*nr + j]`).
pub(crate) fn micro_panel_offset(
    padded_n: usize,
    nr: usize,
    jp: usize,
    pc: usize,
    kc: usize,
) -> usize {
    pc * padded_n + jp * kc * nr
}

/// B packed into depth blocks of [`KC`] and panels of `nr` columns (zero-padded columns),
/// each micro-panel laid out as `layout` says.
pub(crate) fn pack_panels<B: Copy, T: bytemuck::Pod>(
    b: MatRef<'_, B>,
    nr: usize,
    layout: Bf16Panel,
    convert: impl Fn(B) -> T,
) -> AlignedVec<T> {
    let (k, n) = (b.rows(), b.cols());
    let padded_n = n.div_ceil(nr) * nr;
    // Zero bits are +0 in every panel type; each micro-panel starts on a cache line (its
    // offset is a multiple of 64 bytes for every tier's `nr` and `KC`).
    let mut out = AlignedVec::<T>::zeroed(padded_n * k);
    for pc in (0..k).step_by(KC) {
        let kc = KC.min(k - pc);
        for jp in 0..n.div_ceil(nr) {
            let panel = &mut out[micro_panel_offset(padded_n, nr, jp, pc, kc)..][..kc * nr];
            let cols = nr.min(n - jp * nr);
            if b.col_stride() == 1 {
                // B's rows are contiguous: copy row pieces.
                for p in 0..kc {
                    for (jj, &v) in b.row(pc + p)[jp * nr..][..cols].iter().enumerate() {
                        panel[layout.position(p, jj, kc, nr)] = convert(v);
                    }
                }
            } else {
                // Read each column along k (contiguous for B = Wᵀ).
                for jj in 0..cols {
                    for p in 0..kc {
                        let at = layout.position(p, jj, kc, nr);
                        panel[at] = convert(b.get(pc + p, jp * nr + jj));
                    }
                }
            }
        }
    }
    out
}
