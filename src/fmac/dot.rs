//! Dot products with f32 accumulation.

use half::{bf16, f16};

use crate::error::check_len;
use crate::{Backend, Error};

macro_rules! dots {
    ($($(#[$doc:meta])* $name:ident: $a:ty, $b:ty;)*) => {
        $(
            $(#[$doc])*
            ///
            /// # Errors
            /// [`Error::LengthMismatch`] when `b.len() != a.len()`.
            pub fn $name(a: &[$a], b: &[$b]) -> Result<f32, Error> {
                Backend::active().$name(a, b)
            }
        )*

        impl Backend {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// [`Error::LengthMismatch`] when `b.len() != a.len()`.
                pub fn $name(self, a: &[$a], b: &[$b]) -> Result<f32, Error> {
                    check_len("b", a.len(), b.len())?;
                    // SAFETY: `self` exists only if the CPU supports `self.isa()`, the one
                    // precondition of its kernel table.
                    Ok(unsafe { (self.kernels.$name)(a, b) })
                }
            )*
        }
    };
}

dots! {
    /// `Σ aᵢbᵢ` of two bf16 vectors, accumulated in f32 (see [`crate::fmac`] for the bound).
    ///
    /// ```
    /// use half::bf16;
    /// let a = [bf16::from_f32(1.5); 100];
    /// let b = [bf16::from_f32(2.0); 100];
    /// assert_eq!(lowp::fmac::dot_bf16(&a, &b)?, 300.0);
    /// # Ok::<(), lowp::Error>(())
    /// ```
    dot_bf16: bf16, bf16;
    /// `Σ aᵢbᵢ` of two f16 vectors, accumulated in f32.
    dot_f16: f16, f16;
    /// `Σ aᵢbᵢ` of f32 activations and bf16 weights, accumulated in f32.
    dot_f32_bf16: f32, bf16;
}
