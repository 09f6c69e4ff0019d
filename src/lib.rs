//! # lowp — CPU SIMD numerics for compressed models
//!
//! lowp is the kernel layer under inference engines and training tools that store models in
//! bf16/f16 (and, as the crate grows, sparse and block floating-point formats). Every kernel
//! has a plain reference definition ([`reference`](mod@reference)) and hand-vectorised paths per instruction
//! set, picked at run time.
//!
//! ## Families and instruction sets
//!
//! | family | Scalar | Portable (`wide`) | Avx2 | Avx512 | Avx512Bf16 | Amx | Neon | NeonBf16 |
//! |---|---|---|---|---|---|---|---|---|
//! | [`convert`]: f32 <-> bf16, f32 <-> f16 | reference | u32x8 integer ops | integer ops / F16C | integer ops / `vcvtps2ph` | `vcvtne2ps2bf16` + subnormal fix-up | (Avx512Bf16's) | integer ops / `fcvtn`,`fcvtl` | (Neon's) |
//! | [`convert`] `_stochastic`, [`update`]: stochastic rounding, fused bf16 update | reference | Philox on u32x8 (ARS-5: software AES by tables) | Philox in 64-bit lanes; ARS-5 with `aesenc` | same, 16 lanes, `vpternlogd`; ARS-5 with VAES | (Avx512's) | (Avx512Bf16's) | Philox on 4 lanes; ARS-5 with `AESE` | (Neon's) |
//! | [`fmac`]: dot products, GEMV (bf16/f16/f32 × f32 → f32) | one accumulator | f32x8 | widen + FMA | widen + FMA, 16 lanes | (Avx512's) | (Avx512Bf16's) | widen + FMA | (Neon's) |
//! | [`fmac`]: GEMM micro-kernel (the driver is shared) | 4×4 | 4×8 f32x8 | 6×16 FMA, bf16/f16 widened in registers | 12×32 FMA, same | 12×32 `vdpbf16ps` for bf16 × bf16 where [`fmac::Bf16Gemm`] says (AMD), else (Avx512's) | 24×32 on AMX tiles (`tdpbf16ps`) for bf16 × bf16, else 12×32 FMA | 8×8 by-lane FMA | 8×8 `BFMMLA` for bf16 × bf16, else (Neon's) |
//! | [`sparse`]: SpMV (sparse dot) | in order | indexed reads into f32x8, 2 accumulators | broadcast loads + blends, FMA | one-lane masked broadcasts, masked last step (rows under 64 nonzeros: Avx2's) | (Avx512's) | (Avx512Bf16's) | lane loads, 4 FMA accumulators | (Neon's) |
//! | [`sparse`]: SpMM (sparse row × dense rows) | in order | f32x8 along n, 32 columns per pass, the rest in one pass | 64 columns per pass, the rest in one masked pass, B rows prefetched | 128 columns per pass, same | (Avx512's) | (Avx512Bf16's) | 32 columns per pass, the rest in one pass | (Neon's) |
//! | [`blockfp`]: MX quantize / dequantize | integer steps on bit patterns / a table of code values | (Scalar's) | 8 lanes, per-lane shifts / values built from their fields | (Avx2's) | (Avx2's) | (Avx512Bf16's) | (Scalar's) | (Scalar's) |
//!
//! ## Dispatch
//!
//! A [`Backend`] is a tier ([`Isa`]) this CPU supports; [`Backend::new`] is its only
//! constructor, so holding one proves the instructions may run. The free functions use
//! [`Backend::active`]: detected once, overridable by [`Backend::set_active`] or for a whole
//! process by the environment:
//!
//! - `LOWP_ISA=<scalar|portable|avx2|avx512|avx512bf16|amx|neon|neonbf16>` picks the tier. An unknown name or
//!   a tier this CPU lacks is an error naming the supported ones (the first kernel call panics
//!   with it), never a silent fallback.
//! - `LOWP_EXPECT_ISAS=avx2,avx512,...` is read by the test suite: it fails when this machine
//!   lacks a tier CI expects to test.
//!
//! No `-C target-cpu=native` is needed or wanted: one binary runs everywhere and picks.
//!
//! ## Exactness
//!
//! Conversions are **bit-exact on every backend**: identical to [`reference::convert`] and to
//! `half`'s `from_f32`/`to_f32` for all 2^32 f32 and all 2^16 bf16/f16 inputs (the release-mode
//! test suite checks every input on every backend). Round to nearest, ties to even; subnormals
//! kept; overflow to ±infinity; NaNs keep sign and top payload bits and come out quiet.
//!
//! Stochastic rounding is **bit-exact on every backend too**: a pure function of the value, a
//! seed and the element's global index ([`reference::stochastic`], random bits from
//! Philox4x32-10, or ARS-5 where asked for, in [`reference::rng`]), so the bits never depend on
//! the backend, the vector width or how an array is split into calls or threads.
//!
//! Sparse × dense products vectorised along the dense axis ([`sparse`] SpMM) are **bit-exact
//! on every backend** too: a multiply then an add per nonzero, in storage order, everywhere.
//!
//! MX block quantization and dequantization ([`blockfp`]) are **bit-exact on every backend**
//! too, defined in [`reference::blockfp`].
//!
//! Sums ([`fmac`], [`sparse`] SpMV) are **error-bounded and deterministic**: within `k·u·Σ|aᵢbᵢ| + k·2^-149` of
//! the exact value, the same bits for any thread count on a given backend. (bf16 × bf16 GEMM
//! on `NeonBf16` uses the hardware's bf16 arithmetic: within
//! [`reference::fmac::bf16_hardware_error_bound`], about `(k+2)·u·Σ|aᵢbᵢ|`.)
//!
//! ```
//! use half::{bf16, f16};
//! use lowp::{Backend, Isa};
//!
//! let x = [0.1f32, 65520.0, f32::MIN_POSITIVE / 2.0];
//! let mut h = [f16::ZERO; 3];
//! lowp::convert::f32_to_f16(&x, &mut h)?;
//! assert_eq!(h[1], f16::INFINITY); // 65520 is the overflow tie: rounds to even = infinity
//!
//! // Every supported backend gives the same bits.
//! let mut b = [bf16::ZERO; 3];
//! for backend in Backend::all_supported() {
//!     backend.f32_to_bf16(&x, &mut b)?;
//!     assert_eq!(b[2].to_bits(), 0x0040); // a subnormal result, not flushed
//! }
//! # Ok::<(), lowp::Error>(())
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod aligned;
mod arch;
mod backend;
pub mod blockfp;
pub mod convert;
mod error;
pub mod fmac;
mod isa;
pub mod reference;
pub mod sparse;
mod tensor;
pub mod update;

pub use backend::Backend;
pub use error::Error;
pub use half::{bf16, f16};
pub use isa::Isa;
pub use reference::rng::Generator;
pub use reference::stochastic::{Overflow, SrOptions};
pub use tensor::{DType, Element, Rounding, Tensor};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
