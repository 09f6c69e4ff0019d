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
//!
//! The `_stochastic` forms round at random instead, with probability proportional to
//! closeness, so that rounding errors average out (pure-bf16 training needs this: round to
//! nearest drops every update smaller than half an ulp). The definition, one pure function of
//! `(x, seed, index)`, is in [`crate::reference::stochastic`]. The random bits come from
//! Philox4x32-10 unless the `_with` forms name [`Generator::Ars5`](crate::Generator), which is
//! 2.5-3x faster on CPUs with AES instructions (x86 AES-NI/VAES, Arm's crypto extension).
//!
//! ```
//! use half::bf16;
//! let x = [1.0f32 + 1.0 / 512.0; 4096]; // a quarter of the way from 1 to the next bf16
//! let mut y = [bf16::ZERO; 4096];
//! lowp::convert::f32_to_bf16_stochastic(&x, &mut y, 42, 0)?;
//! let up = y.iter().filter(|v| v.to_f32() > 1.0).count();
//! assert!((850..1200).contains(&up)); // about 1024 of 4096 round up
//! # Ok::<(), lowp::Error>(())
//! ```

use half::{bf16, f16};

use crate::backend::Sr;
use crate::error::check_len;
use crate::reference::stochastic::{Overflow, SrOptions};
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

macro_rules! stochastic_conversions {
    ($($(#[$doc:meta])* $name:ident, $with:ident, $kernel:ident: $dst:ty;)*) => {
        $(
            $(#[$doc])*
            ///
            /// Element `i` is rounded with the random bits of index `offset + i` under `seed`
            /// (see [`crate::reference::rng`]), so any split of an array into calls or threads
            /// gives the same bits; overflow gives ±infinity (see the `_with` form for
            /// saturation).
            ///
            /// # Errors
            /// [`Error::LengthMismatch`] when `dst.len() != src.len()`; nothing is written then.
            pub fn $name(src: &[f32], dst: &mut [$dst], seed: u64, offset: u64) -> Result<(), Error> {
                Backend::active().$name(src, dst, seed, offset)
            }

            #[doc = concat!("[`", stringify!($name), "`] with a choice of [`Overflow`] behaviour")]
            /// and of [`Generator`](crate::Generator): pass an [`Overflow`], a
            /// [`Generator`](crate::Generator) or both in [`SrOptions`].
            ///
            /// # Errors
            /// [`Error::LengthMismatch`] when `dst.len() != src.len()`; nothing is written then.
            pub fn $with(
                src: &[f32],
                dst: &mut [$dst],
                seed: u64,
                offset: u64,
                options: impl Into<SrOptions>,
            ) -> Result<(), Error> {
                Backend::active().$with(src, dst, seed, offset, options)
            }
        )*

        impl Backend {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// [`Error::LengthMismatch`] when `dst.len() != src.len()`.
                pub fn $name(self, src: &[f32], dst: &mut [$dst], seed: u64, offset: u64) -> Result<(), Error> {
                    self.$with(src, dst, seed, offset, Overflow::Infinity)
                }

                #[doc = concat!("[`Backend::", stringify!($name), "`] with a choice of [`Overflow`] behaviour and [`Generator`](crate::Generator).")]
                ///
                /// # Errors
                /// [`Error::LengthMismatch`] when `dst.len() != src.len()`.
                pub fn $with(
                    self,
                    src: &[f32],
                    dst: &mut [$dst],
                    seed: u64,
                    offset: u64,
                    options: impl Into<SrOptions>,
                ) -> Result<(), Error> {
                    check_len("dst", src.len(), dst.len())?;
                    let sr = Sr::new(seed, offset, options.into());
                    // SAFETY: `self` exists only if the CPU supports `self.isa()`, the one
                    // precondition of its kernel table.
                    unsafe { (self.kernels.$kernel)(src, dst, sr) };
                    Ok(())
                }
            )*
        }
    };
}

stochastic_conversions! {
    /// f32 -> bf16 with stochastic rounding: unbiased, one of the two neighbours of each value.
    f32_to_bf16_stochastic, f32_to_bf16_stochastic_with, f32_to_bf16_sr: bf16;
    /// f32 -> f16 with stochastic rounding: unbiased, one of the two neighbours of each value.
    f32_to_f16_stochastic, f32_to_f16_stochastic_with, f32_to_f16_sr: f16;
}
