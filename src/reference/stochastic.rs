//! Stochastic rounding f32 -> bf16 / f16, and the fused bf16 weight update.
//!
//! Rounding `x` with 16 random bits `r`: add `r`, scaled to the width `d` of the bits the
//! narrowing drops, to `x`'s significand, then truncate. So `x` rounds away from zero with
//! probability (dropped part) / 2^d, quantised to 2^-16: the result is always one of the two
//! representable neighbours of `x`, and its expectation is `x` (to within 2^-16 of an ulp).
//!
//! - bf16: `d = 16` for every finite input, subnormals included (the bit pattern is linear in
//!   the value within and across binades): `y = (bits(x) + r) >> 16`.
//! - f16: `d = 13` in f16's normal range; below it the result's unit is 2^-24 and `d` grows by
//!   one per binade. The random addend is `floor(r * 2^d / 2^16)`: `r`'s 16 bits on top of the
//!   dropped field.
//! - NaN gives the round-to-nearest result (quiet NaN, sign and top payload kept); ±Inf and ±0
//!   are unchanged. A finite value past the largest finite number becomes ±Inf with the
//!   probability the rule gives (as if the exponent went on) or, in [`Overflow::Saturate`]
//!   mode, the largest finite value.

use half::{bf16, f16};

use super::convert::{f32_to_bf16, f32_to_f16};
use super::rng::{Generator, Random16};

/// What a stochastic rounding does with a finite value that rounds past the largest finite
/// number of the target format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// IEEE behaviour: ±infinity.
    #[default]
    Infinity,
    /// Clamp to ±(largest finite); infinite inputs stay infinite.
    Saturate,
}

/// The choices of a stochastic rounding besides its seed: what overflow gives, and which
/// generator draws the bits. `Default` is IEEE overflow and Philox4x32-10; an [`Overflow`] or
/// a [`Generator`] converts into the options with the other left at its default.
///
/// ```
/// use lowp::{Generator, Overflow, SrOptions};
/// let fast = SrOptions::from(Generator::Ars5);
/// assert_eq!(fast.overflow, Overflow::Infinity);
/// let both = SrOptions { overflow: Overflow::Saturate, generator: Generator::Ars5 };
/// let mut y = [lowp::bf16::ZERO; 3];
/// lowp::convert::f32_to_bf16_stochastic_with(&[1.0, 2.0, f32::MAX], &mut y, 7, 0, both)?;
/// assert_eq!(y[2], lowp::bf16::MAX);
/// # Ok::<(), lowp::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SrOptions {
    /// What a finite value rounded past the largest finite number gives.
    pub overflow: Overflow,
    /// The generator of the random bits.
    pub generator: Generator,
}

impl From<Overflow> for SrOptions {
    fn from(overflow: Overflow) -> SrOptions {
        SrOptions {
            overflow,
            ..SrOptions::default()
        }
    }
}

impl From<Generator> for SrOptions {
    fn from(generator: Generator) -> SrOptions {
        SrOptions {
            generator,
            ..SrOptions::default()
        }
    }
}

/// f32 -> bf16 with the random bits `r`.
pub fn f32_to_bf16_with_bits(x: f32, r: u16, overflow: Overflow) -> bf16 {
    if !x.is_finite() {
        return f32_to_bf16(x); // NaN: quiet; Inf: unchanged
    }
    let bits = x.to_bits();
    let sign = (bits >> 16) as u16 & 0x8000;
    let magnitude = (((bits & 0x7fff_ffff) + u32::from(r)) >> 16) as u16;
    let magnitude = match overflow {
        Overflow::Saturate => magnitude.min(0x7f7f),
        Overflow::Infinity => magnitude,
    };
    bf16::from_bits(sign | magnitude)
}

/// f32 -> f16 with the random bits `r`.
pub fn f32_to_f16_with_bits(x: f32, r: u16, overflow: Overflow) -> f16 {
    if !x.is_finite() {
        return f32_to_f16(x);
    }
    let bits = x.to_bits();
    let sign = (bits >> 16) as u16 & 0x8000;
    let exp = (bits >> 23) & 0xff;
    let man = bits & 0x007f_ffff;
    // x = significand * 2^(e - 150), e >= 1 (as in the round-to-nearest reference).
    let (significand, e) = if exp == 0 {
        (man, 1)
    } else {
        (man | 0x0080_0000, exp)
    };
    let dropped = if e >= 113 { 13 } else { 126 - e };
    let magnitude = if dropped > 40 {
        0 // below 2^-16 of the smallest subnormal: 16 random bits can never round it up
    } else {
        let addend = (u64::from(r) << dropped) >> 16;
        let kept = ((u64::from(significand) + addend) >> dropped) as u32;
        let encoded = if e >= 113 {
            ((e - 113) << 10) + kept // a carry out of the significand bumps the exponent
        } else {
            kept // may reach 0x0400, the smallest normal
        };
        let limit = match overflow {
            Overflow::Infinity => 0x7c00,
            Overflow::Saturate => 0x7bff,
        };
        encoded.min(limit) as u16
    };
    f16::from_bits(sign | magnitude)
}

/// `sr(x, seed, index)`: f32 -> bf16, stochastic, with the bits of element `index`.
pub fn f32_to_bf16_stochastic(
    x: f32,
    seed: u64,
    index: u64,
    options: impl Into<SrOptions>,
) -> bf16 {
    let o = options.into();
    f32_to_bf16_with_bits(x, o.generator.random16(seed, index), o.overflow)
}

/// `sr(x, seed, index)`: f32 -> f16, stochastic, with the bits of element `index`.
pub fn f32_to_f16_stochastic(x: f32, seed: u64, index: u64, options: impl Into<SrOptions>) -> f16 {
    let o = options.into();
    f32_to_f16_with_bits(x, o.generator.random16(seed, index), o.overflow)
}

/// The fused update of one bf16 weight: `sr(w + alpha * g)`, where the product and the sum are
/// each an f32 operation rounded to nearest (no fused multiply-add, so every backend, with or
/// without FMA hardware, computes the same f32 value), then one stochastic rounding. A NaN
/// sum gives the canonical quiet NaN `0x7fc0`: which input NaN's payload (or the sign of an
/// invalid operation's NaN) survives differs between instruction sets.
pub fn axpy_bf16_stochastic(
    alpha: f32,
    g: f32,
    w: bf16,
    seed: u64,
    index: u64,
    options: impl Into<SrOptions>,
) -> bf16 {
    let o = options.into();
    update_with_bits(alpha, g, w, o.generator.random16(seed, index), o.overflow)
}

/// The canonical NaN of the fused update.
pub const CANONICAL_NAN: bf16 = bf16::from_bits(0x7fc0);

/// One element of [`axpy_bf16_stochastic`] with its random value `r` given.
pub(crate) fn update_with_bits(alpha: f32, g: f32, w: bf16, r: u16, overflow: Overflow) -> bf16 {
    let t = w.to_f32() + alpha * g;
    if t.is_nan() {
        CANONICAL_NAN
    } else {
        f32_to_bf16_with_bits(t, r, overflow)
    }
}

/// The overflow mode, and the random values of elements `offset..` under `seed`.
fn stream(seed: u64, offset: u64, options: SrOptions) -> (Overflow, Random16) {
    let bits = Random16::with_generator(options.generator, seed, offset);
    (options.overflow, bits)
}

/// Slice form of [`f32_to_bf16_stochastic`]: element `i` uses index `offset + i`.
pub fn f32_to_bf16_stochastic_slice(
    src: &[f32],
    dst: &mut [bf16],
    seed: u64,
    offset: u64,
    options: impl Into<SrOptions>,
) {
    let (overflow, bits) = stream(seed, offset, options.into());
    for ((d, &x), r) in dst.iter_mut().zip(src).zip(bits) {
        *d = f32_to_bf16_with_bits(x, r, overflow);
    }
}

/// Slice form of [`f32_to_f16_stochastic`]: element `i` uses index `offset + i`.
pub fn f32_to_f16_stochastic_slice(
    src: &[f32],
    dst: &mut [f16],
    seed: u64,
    offset: u64,
    options: impl Into<SrOptions>,
) {
    let (overflow, bits) = stream(seed, offset, options.into());
    for ((d, &x), r) in dst.iter_mut().zip(src).zip(bits) {
        *d = f32_to_f16_with_bits(x, r, overflow);
    }
}

/// Slice form of [`axpy_bf16_stochastic`]: `w[i] = sr(w[i] + alpha * g[i])` with index
/// `offset + i`; `g` is f32 or bf16 (widened exactly).
pub fn axpy_bf16_stochastic_slice<G: Copy + Into<f32>>(
    alpha: f32,
    g: &[G],
    w: &mut [bf16],
    seed: u64,
    offset: u64,
    options: impl Into<SrOptions>,
) {
    let (overflow, bits) = stream(seed, offset, options.into());
    for ((w, &g), r) in w.iter_mut().zip(g).zip(bits) {
        *w = update_with_bits(alpha, g.into(), *w, r, overflow);
    }
}
