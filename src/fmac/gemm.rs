//! GEMM: `C = alpha·A·B + beta·C` with bf16/f16/f32 inputs, f32 accumulation, f32/bf16/f16
//! output.

use half::{bf16, f16};

use super::packed::PackedB;
use super::par::{tasks, Par};
use super::{driver, Input, MatMut, MatRef};
use crate::{Backend, DType, Element, Error};

/// An output element type of [`gemm`]: `f32`, or `half::bf16` / `half::f16` rounded to nearest
/// even from the f32 result.
pub trait Output: Element + Send + Sync {
    /// The value as f32 (exact).
    fn to_f32(self) -> f32;
    /// `v` rounded to nearest, ties to even.
    fn from_f32(v: f32) -> Self;
}

impl Output for f32 {
    fn to_f32(self) -> f32 {
        self
    }
    fn from_f32(v: f32) -> f32 {
        v
    }
}

impl Output for bf16 {
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }
    fn from_f32(v: f32) -> bf16 {
        bf16::from_f32(v)
    }
}

// Under Miri, lowp's own conversions (the same bits, checked exhaustively): where the target
// has F16C, `half` converts by that instruction, which Miri cannot run. Elsewhere `half`'s,
// which are faster one element at a time.
impl Output for f16 {
    fn to_f32(self) -> f32 {
        #[cfg(miri)]
        return crate::reference::convert::f16_to_f32(self);
        #[cfg(not(miri))]
        f16::to_f32(self)
    }
    fn from_f32(v: f32) -> f16 {
        #[cfg(miri)]
        return crate::reference::convert::f32_to_f16(v);
        #[cfg(not(miri))]
        f16::from_f32(v)
    }
}

/// `out = alpha·s + beta·out`, each step rounded, then rounded to `C`; `out` is not read when
/// `beta == 0` (BLAS: a NaN there must not leak). The epilogue of GEMV, GEMM and the sparse
/// products.
#[inline]
pub(crate) fn scale_add<C: Output>(alpha: f32, beta: f32, s: f32, out: &mut C) {
    let scaled = alpha * s;
    *out = C::from_f32(if beta == 0.0 {
        scaled
    } else {
        scaled + beta * out.to_f32()
    });
}

/// [`scale_add`] over a row of C: the same bits, but an f16 C is widened and rounded by the
/// backend's conversion kernels a chunk at a time. One element at a time, `half`'s f16
/// rounding costs about 2 ns (a feature check and a call each), which a GEMM with f16 C paid
/// per element of C. bf16's rounding is a few integer operations that the compiler inlines
/// and vectorizes, so bf16 stays element-wise: chunked kernel calls cost more on short rows.
pub(crate) fn scale_add_row<C: Output>(
    backend: Backend,
    alpha: f32,
    beta: f32,
    sums: &[f32],
    out: &mut [C],
) {
    debug_assert_eq!(sums.len(), out.len());
    if C::DTYPE != DType::F16 {
        for (c, &s) in out.iter_mut().zip(sums) {
            scale_add(alpha, beta, s, c);
        }
        return;
    }
    const CHUNK: usize = 64;
    let mut buf = [0.0f32; CHUNK];
    for (sums, out) in sums.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
        let out: &mut [f16] = bytemuck::cast_slice_mut(out);
        let buf = &mut buf[..sums.len()];
        if beta != 0.0 {
            let widened = backend.f16_to_f32(out, buf);
            widened.expect("chunks of equal length");
        }
        // The f32 epilogue on the widened row: the same arithmetic, rounded to f16 below.
        for (b, &s) in buf.iter_mut().zip(sums) {
            scale_add(alpha, beta, s, b);
        }
        let rounded = backend.f32_to_f16(buf, out);
        rounded.expect("chunks of equal length");
    }
}

/// `C = alpha·A·B + beta·C` on [`Backend::active`]; see [`Backend::gemm`].
///
/// # Errors
/// As [`Backend::gemm`].
pub fn gemm<A: Input, B: Input, C: Output>(
    alpha: f32,
    a: MatRef<'_, A>,
    b: MatRef<'_, B>,
    beta: f32,
    c: MatMut<'_, C>,
    par: Par,
) -> Result<(), Error> {
    Backend::active().gemm(alpha, a, b, beta, c, par)
}

/// `C = alpha·A·B + beta·C` with B packed once; see [`Backend::gemm_packed`].
///
/// # Errors
/// As [`Backend::gemm_packed`].
pub fn gemm_packed<A: Input, C: Output>(
    alpha: f32,
    a: MatRef<'_, A>,
    b: &PackedB,
    beta: f32,
    c: MatMut<'_, C>,
    par: Par,
) -> Result<(), Error> {
    Backend::active().gemm_packed(alpha, a, b, beta, c, par)
}

impl Backend {
    /// `C = alpha·A·B + beta·C`: A `[m × k]`, B `[k × n]` (any strides: a linear layer's
    /// weights `W [n × k]` are `w.t()`), C `[m × n]` row-major.
    ///
    /// Each element of `A·B` is one f32 accumulation of the exactly widened products in `k`
    /// order, within `k·u·Σ|aᵢₚbₚⱼ| + k·2^-149` of the exact value; then `alpha·s` and
    /// `+ beta·c` are each rounded to nearest, and the result to C's type. One exception:
    /// bf16 × bf16 on the aarch64 `NeonBf16` tier runs `BFMMLA` (products
    /// summed in pairs, rounded to odd, tiny results flushed), within
    /// [`bf16_hardware_error_bound`](crate::reference::fmac::bf16_hardware_error_bound)
    /// (about `(k+2)·u·Σ|aᵢₚbₚⱼ|`), NaN results the default NaN; it is used only when B has
    /// no subnormal value, and only on 8-row panels of A with none, so no input is ever
    /// flushed. With `beta == 0`,
    /// C is not read (NaNs in it do not leak). Work is split over C's rows or columns, never
    /// over `k`, so the bits do not depend on `par`.
    ///
    /// This packs B into a fresh buffer on every call (`k·n` elements); for weights used more
    /// than once, pack them with [`Backend::pack_b`] and call [`Backend::gemm_packed`].
    ///
    /// ```
    /// use half::bf16;
    /// use lowp::fmac::{gemm, MatMut, MatRef, Par};
    /// let x = [1.0f32, 2.0, 3.0, 4.0]; // activations [2 × 2]
    /// let w: Vec<bf16> = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0].map(bf16::from_f32).to_vec(); // W [3 × 2]
    /// let mut y = [f32::NAN; 6]; // y = x·Wᵀ [2 × 3]
    /// let (a, b) = (MatRef::new(&x, 2, 2)?, MatRef::new(&w, 3, 2)?.t());
    /// gemm(1.0, a, b, 0.0, MatMut::new(&mut y, 2, 3)?, Par::Seq)?;
    /// assert_eq!(y, [1.0, 2.0, 3.0, 3.0, 4.0, 7.0]);
    /// # Ok::<(), lowp::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] when `a.cols() != b.rows()` or C is not `a.rows() × b.cols()`.
    pub fn gemm<A: Input, B: Input, C: Output>(
        self,
        alpha: f32,
        a: MatRef<'_, A>,
        b: MatRef<'_, B>,
        beta: f32,
        c: MatMut<'_, C>,
        par: Par,
    ) -> Result<(), Error> {
        check_shapes(a.rows(), a.cols(), b.rows(), b.cols(), &c)?;
        self.gemm_packed(alpha, a, &self.pack_b(b), beta, c, par)
    }

    /// `C = alpha·A·B + beta·C` with B packed by [`Backend::pack_b`] (or [`PackedB::pack`]);
    /// the semantics of [`Backend::gemm`], without the packing. On one thread it allocates
    /// nothing after the thread's first call of a given size (packed A and the accumulators
    /// live in a per-thread workspace); split over threads it allocates only the task list.
    ///
    /// ```
    /// use half::bf16;
    /// use lowp::fmac::{MatMut, MatRef, Par};
    /// use lowp::Backend;
    /// let backend = Backend::active();
    /// let w: Vec<bf16> = (0..6).map(|v| bf16::from_f32(v as f32)).collect(); // W [3 × 2]
    /// let packed = backend.pack_b(MatRef::new(&w, 3, 2)?.t()); // once, at load
    /// let mut y = [0.0f32; 3];
    /// backend.gemm_packed(1.0, MatRef::new(&[1.0f32, 1.0], 1, 2)?, &packed, 0.0,
    ///                     MatMut::new(&mut y, 1, 3)?, Par::Seq)?;
    /// assert_eq!(y, [1.0, 5.0, 9.0]);
    /// # Ok::<(), lowp::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] as [`Backend::gemm`]; [`Error::PackedLayout`] when `b` was packed for a
    /// backend with another micro-kernel layout.
    pub fn gemm_packed<A: Input, C: Output>(
        self,
        alpha: f32,
        a: MatRef<'_, A>,
        b: &PackedB,
        beta: f32,
        c: MatMut<'_, C>,
        par: Par,
    ) -> Result<(), Error> {
        check_shapes(a.rows(), a.cols(), b.k(), b.n(), &c)?;
        let panels = b.panels_for(self)?;
        let work = a.rows().saturating_mul(a.cols()).saturating_mul(b.n());
        driver::gemm(
            self,
            alpha,
            a,
            panels,
            b.is_normal(),
            beta,
            c,
            tasks(par, work),
        );
        Ok(())
    }
}

impl Backend {
    /// Bytes of per-thread workspace (packed A and the accumulator tiles) that
    /// [`Backend::gemm`] and [`Backend::gemm_packed`] use for `A [m × k]` times `B [k × n]`:
    /// the calling thread's on one thread, at most this on each thread running part of a
    /// split call. A thread's first call of a size grows its workspace to this; later calls
    /// that need no more allocate nothing (see [`thread_workspace_bytes`] and
    /// [`release_thread_workspace`]). `gemm` also packs B into a fresh buffer on every call,
    /// outside the workspace ([`PackedB::size_bytes`] of it).
    ///
    /// [`thread_workspace_bytes`]: super::thread_workspace_bytes
    /// [`release_thread_workspace`]: super::release_thread_workspace
    /// [`PackedB::size_bytes`]: super::PackedB::size_bytes
    ///
    /// ```
    /// let bytes = lowp::Backend::active().gemm_workspace_bytes(64, 4096, 4096);
    /// assert!(bytes > 0 && bytes < 4 << 20); // packed A for 64 rows, and their tiles
    /// ```
    pub fn gemm_workspace_bytes(self, m: usize, n: usize, k: usize) -> usize {
        if m == 0 || n == 0 || k == 0 {
            return 0;
        }
        let g = &self.kernels.gemm;
        let [a, acc] = driver::task_workspace(g.mr, g.nr, m, n.div_ceil(g.nr), k);
        super::workspace::bytes_for(a + acc)
    }
}

fn check_shapes<C>(
    m: usize,
    k: usize,
    kb: usize,
    n: usize,
    c: &MatMut<'_, C>,
) -> Result<(), Error> {
    if k != kb {
        return Err(Error::Shape {
            shape: vec![m, k, kb, n],
            reason: "A is m x k and B is k' x n with k != k'",
        });
    }
    if (c.rows(), c.cols()) != (m, n) {
        return Err(Error::Shape {
            shape: vec![c.rows(), c.cols()],
            reason: "C must be m x n (A's rows by B's columns)",
        });
    }
    Ok(())
}
