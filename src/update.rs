//! Optimizer-side kernels for pure-bf16 training.
//!
//! [`axpy_bf16_stochastic`] is the weight update `w += alpha * g` for weights stored in bf16:
//! computed in f32 and rounded once, stochastically. With round-to-nearest, every update
//! smaller than half an ulp of the weight (2^-9 relative) is lost, and training stalls; with
//! stochastic rounding the expected weight follows the f32 trajectory.
//!
//! ```
//! use half::bf16;
//! let mut w = [bf16::ONE; 1000];
//! let g = [1.0f32; 1000];
//! // 1e-3 is a quarter of bf16's spacing at 1.0: round-to-nearest would never move w.
//! for step in 0..10u64 {
//!     lowp::update::axpy_bf16_stochastic(1e-3, &g, &mut w, 7, step * 1000)?;
//! }
//! let mean = w.iter().map(|v| f64::from(v.to_f32())).sum::<f64>() / 1000.0;
//! assert!((mean - 1.01).abs() < 0.002, "{mean}");
//! # Ok::<(), lowp::Error>(())
//! ```

use half::bf16;

use crate::backend::Sr;
use crate::error::check_len;
use crate::reference::stochastic::{Overflow, SrOptions};
use crate::{Backend, DType, Element, Error};

/// A gradient element type of [`axpy_bf16_stochastic`]: `f32` or `half::bf16`.
pub trait Gradient: Element {}

impl Gradient for f32 {}

impl Gradient for bf16 {}

/// `w[i] = sr(w[i] + alpha * g[i])` on [`Backend::active`]; see
/// [`Backend::axpy_bf16_stochastic`].
///
/// # Errors
/// [`Error::LengthMismatch`] when `g.len() != w.len()`; nothing is written then.
pub fn axpy_bf16_stochastic<G: Gradient>(
    alpha: f32,
    g: &[G],
    w: &mut [bf16],
    seed: u64,
    offset: u64,
) -> Result<(), Error> {
    Backend::active().axpy_bf16_stochastic(alpha, g, w, seed, offset)
}

/// [`axpy_bf16_stochastic`] with a choice of [`Overflow`] behaviour and of
/// [`Generator`](crate::Generator); see [`Backend::axpy_bf16_stochastic_with`].
///
/// # Errors
/// [`Error::LengthMismatch`] when `g.len() != w.len()`; nothing is written then.
pub fn axpy_bf16_stochastic_with<G: Gradient>(
    alpha: f32,
    g: &[G],
    w: &mut [bf16],
    seed: u64,
    offset: u64,
    options: impl Into<SrOptions>,
) -> Result<(), Error> {
    Backend::active().axpy_bf16_stochastic_with(alpha, g, w, seed, offset, options)
}

impl Backend {
    /// The fused bf16 weight update `w[i] = sr(w[i] + alpha * g[i])`: `w[i]` widened exactly,
    /// `alpha * g[i]` and the sum each rounded to nearest in f32 (no FMA, so every backend
    /// computes the same f32), then one stochastic rounding to bf16 with the bits of index
    /// `offset + i` under `seed` ([`crate::reference::stochastic::axpy_bf16_stochastic`]).
    /// Overflow gives ±infinity.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `g.len() != w.len()`; nothing is written then.
    pub fn axpy_bf16_stochastic<G: Gradient>(
        self,
        alpha: f32,
        g: &[G],
        w: &mut [bf16],
        seed: u64,
        offset: u64,
    ) -> Result<(), Error> {
        self.axpy_bf16_stochastic_with(alpha, g, w, seed, offset, Overflow::Infinity)
    }

    /// [`Backend::axpy_bf16_stochastic`] with a choice of [`Overflow`] behaviour and of
    /// [`Generator`](crate::Generator): pass either or both in [`SrOptions`].
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `g.len() != w.len()`; nothing is written then.
    pub fn axpy_bf16_stochastic_with<G: Gradient>(
        self,
        alpha: f32,
        g: &[G],
        w: &mut [bf16],
        seed: u64,
        offset: u64,
        options: impl Into<SrOptions>,
    ) -> Result<(), Error> {
        check_len("w", g.len(), w.len())?;
        let sr = Sr::new(seed, offset, options.into());
        // SAFETY (both arms): `self` exists only if the CPU supports `self.isa()`, the one
        // precondition of its kernel table.
        match G::DTYPE {
            DType::F32 => unsafe {
                (self.kernels.axpy_bf16_sr)(alpha, bytemuck::cast_slice(g), w, sr)
            },
            DType::BF16 => unsafe {
                (self.kernels.axpy_bf16_sr_bf16)(alpha, bytemuck::cast_slice(g), w, sr)
            },
            _ => unreachable!("Gradient is implemented for f32 and bf16 only"),
        }
        Ok(())
    }
}
