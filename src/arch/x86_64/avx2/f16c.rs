//! F16C's two conversions, which the `Avx2` kernels reach only through here. Miri has no
//! F16C, so under it each converts lane by lane (as the instruction does: IEEE conversions,
//! NaNs quieted with their payload's top bits); the rest of every kernel, its loads, masks
//! and tails, then runs interpreted, checked for undefined behaviour. Elsewhere each is the
//! one instruction.

use core::arch::x86_64::*;

#[cfg(miri)]
use {crate::reference::stochastic::Overflow, half::f16};

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
        // Toward zero is the stochastic rounding with no random bits, saturating.
        let bits = f.map(|x| match ROUNDING {
            _MM_FROUND_TO_NEAREST_INT => crate::reference::convert::f32_to_f16(x),
            _ => crate::reference::stochastic::f32_to_f16_with_bits(x, 0, Overflow::Saturate),
        });
        let bits = bits.map(f16::to_bits);
        // SAFETY: `bits` holds 16 bytes.
        unsafe { _mm_loadu_si128(bits.as_ptr().cast()) }
    }
}
