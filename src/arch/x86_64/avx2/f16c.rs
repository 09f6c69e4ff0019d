//! F16C's two conversions, which the `Avx2` kernels reach only through here. Miri has no
//! F16C, so under it each converts lane by lane (as the instruction does: IEEE conversions,
//! NaNs quieted with their payload's top bits); the rest of every kernel, its loads, masks
//! and tails, then runs interpreted, checked for undefined behaviour. Elsewhere each is the
//! one instruction.

use core::arch::x86_64::*;

#[cfg(miri)]
use half::f16;

/// 8 f16 patterns (a 16-byte vector) widened to f32: `vcvtph2ps`.
#[inline]
#[target_feature(enable = "avx,f16c")]
pub(super) fn widen8(h: __m128i) -> __m256 {
    #[cfg(not(miri))]
    return _mm256_cvtph_ps(h);
    #[cfg(miri)]
    {
        let mut bits = [0u16; 8];
        // SAFETY: `bits` holds 16 bytes.
        unsafe { _mm_storeu_si128(bits.as_mut_ptr().cast(), h) };
        let f = bits.map(|b| crate::reference::convert::f16_to_f32(f16::from_bits(b)));
        // SAFETY: `f` holds 32 bytes.
        unsafe { _mm256_loadu_ps(f.as_ptr()) }
    }
}

/// 8 f32 narrowed to f16 patterns (a 16-byte vector) with the rounding `ROUNDING`, one of
/// `_MM_FROUND_TO_NEAREST_INT` and `_MM_FROUND_TO_ZERO`: `vcvtps2ph`.
#[inline]
#[target_feature(enable = "avx,f16c")]
pub(super) fn narrow8<const ROUNDING: i32>(x: __m256) -> __m128i {
    const { assert!(ROUNDING == _MM_FROUND_TO_NEAREST_INT || ROUNDING == _MM_FROUND_TO_ZERO) };
    #[cfg(not(miri))]
    return _mm256_cvtps_ph::<ROUNDING>(x);
    #[cfg(miri)]
    {
        let mut f = [0f32; 8];
        // SAFETY: `f` holds 32 bytes.
        unsafe { _mm256_storeu_ps(f.as_mut_ptr(), x) };
        let bits = f.map(|x| match ROUNDING {
            _MM_FROUND_TO_NEAREST_INT => crate::reference::convert::f32_to_f16(x).to_bits(),
            _ => toward_zero(x),
        });
        // SAFETY: `bits` holds 16 bytes.
        unsafe { _mm_loadu_si128(bits.as_ptr().cast()) }
    }
}

/// `x` as f16 rounded toward zero (finite values past the largest finite one give it).
#[cfg(miri)]
fn toward_zero(x: f32) -> u16 {
    let sign = ((x.to_bits() >> 16) & 0x8000) as u16;
    let a = x.to_bits() & 0x7fff_ffff;
    let magnitude = match a {
        0x7f80_0001.. => 0x7e00 | ((a >> 13) & 0x03ff) as u16,
        0x7f80_0000 => 0x7c00,
        0x4780_0000.. => 0x7bff,
        // Normal f16: the exponent rebiased (127 - 15 = 112), the low 13 bits dropped.
        0x3880_0000.. => ((a >> 13) - (112 << 10)) as u16,
        // Subnormal f16 or zero: whole multiples of 2^-24 (exact scaling, then truncation).
        _ => (f32::from_bits(a) * (1u32 << 24) as f32) as u16,
    };
    sign | magnitude
}
