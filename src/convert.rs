//! Conversions between f32 and the 16-bit formats, on slices.
//!
//! Each function has a twin method on [`Backend`] with the same name; the free function runs
//! on [`Backend::active`]. All are bit-identical to [`crate::reference::convert`] (and to
//! `half`'s `from_f32`/`to_f32`) for every input on every backend: round to nearest even,
//! subnormals kept, NaN sign and top payload bits kept with the quiet bit set.
//!
//! ```
//! use half::bf16;
//! let src = [1.0f32, 1.00390625, -0.0, f32::INFINITY];
//! let mut dst = [bf16::ZERO; 4];
//! lowp::convert::f32_to_bf16(&src, &mut dst)?;
//! assert_eq!(dst.map(bf16::to_bits), [0x3f80, 0x3f80, 0x8000, 0x7f80]); // 1 + ulp/2 ties to even
//!
//! let mut short = [bf16::ZERO; 3];
//! assert!(lowp::convert::f32_to_bf16(&src, &mut short).is_err()); // lengths must match
//! # Ok::<(), lowp::Error>(())
//! ```

use half::{bf16, f16};

use crate::error::check_len;
use crate::{Backend, Error};

macro_rules! conversions {
    ($($(#[$doc:meta])* $name:ident: $src:ty => $dst:ty;)*) => {
        $(
            $(#[$doc])*
            ///
            /// # Errors
            /// [`Error::LengthMismatch`] when `dst.len() != src.len()`; nothing is written then.
            pub fn $name(src: &[$src], dst: &mut [$dst]) -> Result<(), Error> {
                Backend::active().$name(src, dst)
            }
        )*

        impl Backend {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// [`Error::LengthMismatch`] when `dst.len() != src.len()`; nothing is written then.
                pub fn $name(self, src: &[$src], dst: &mut [$dst]) -> Result<(), Error> {
                    check_len("dst", src.len(), dst.len())?;
                    // SAFETY: `self` exists only if the CPU supports `self.isa()`, the one
                    // precondition of its kernel table.
                    unsafe { (self.kernels.$name)(src, dst) };
                    Ok(())
                }
            )*
        }
    };
}

conversions! {
    /// f32 -> bf16, round to nearest even (subnormal results kept, never flushed).
    f32_to_bf16: f32 => bf16;
    /// bf16 -> f32, exact (a signalling NaN comes out quiet).
    bf16_to_f32: bf16 => f32;
    /// f32 -> f16 (IEEE binary16), round to nearest even; overflow gives ±infinity.
    f32_to_f16: f32 => f16;
    /// f16 -> f32, exact (a signalling NaN comes out quiet).
    f16_to_f32: f16 => f32;
}
