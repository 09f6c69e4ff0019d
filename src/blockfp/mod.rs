//! Block floating point: OCP Microscaling (MX) blocks, 32 values sharing one power-of-two
//! scale (an E8M0 byte), each stored in an 8-, 6- or 4-bit element format.
//!
//! - [`MxFormat`]: the element formats of OCP MX v1.0 (MXFP8 E4M3 and E5M2, MXFP6 E3M2 and
//!   E2M3, MXFP4 E2M1, MXINT8).
//! - [`mx_quantize`] / [`mx_dequantize`]: f32 slices to and from one scale byte per block and
//!   the elements' codes packed [`MxFormat::block_bytes`] bytes a block (LSB first: an FP4
//!   block's element 0 is the low nibble of its first byte).
//!
//! Exactness: quantizing and dequantizing are **bit-exact**, defined element by element in
//! [`reference::blockfp`](crate::reference::blockfp): the scale by the spec's
//! `floor(log2(amax)) - emax` rule, each element rounded to nearest, ties to even, saturating.
//! Every backend gives the same bits ([`Backend::mx_quantize`](crate::Backend::mx_quantize)
//! and [`Backend::mx_dequantize`](crate::Backend::mx_dequantize) pick one): `Scalar` works on
//! the values' bit patterns, `Avx2` and the AVX-512 tiers eight lanes at a time; `Portable`
//! and `Neon` run the scalar kernels so far.
//!
//! ```
//! use lowp::blockfp::{mx_dequantize, mx_quantize, MxFormat};
//! let x: Vec<f32> = (0..40).map(|i| i as f32 / 8.0).collect();
//! let format = MxFormat::E2M1; // MXFP4: 16 bytes of codes and a scale byte per 32 values
//! let blocks = format.blocks(x.len());
//! let (mut scales, mut codes) = (vec![0u8; blocks], vec![0u8; blocks * format.block_bytes()]);
//! mx_quantize(format, &x, &mut scales, &mut codes)?;
//! assert_eq!(scales, [126, 127]); // amax 3.875: 2^(1 - 2); amax 4.875: 2^(2 - 2)
//! let mut y = vec![0.0f32; x.len()];
//! mx_dequantize(format, &scales, &codes, &mut y)?;
//! assert_eq!(y[31], 3.0); // 3.875 = 7.75 · 2^-1, saturated to E2M1's largest, 6 · 2^-1
//! assert_eq!(y[3], 0.5); // 0.375 = 0.75 · 2^-1: a tie between 0.5 and 1, to 1 (the even code)
//! # Ok::<(), lowp::Error>(())
//! ```

mod format;
mod mx;

pub use format::MxFormat;
pub use mx::{mx_dequantize, mx_quantize};
