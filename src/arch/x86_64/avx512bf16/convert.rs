//! f32 -> bf16 with `vcvtneps2bf16`.
//!
//! The instruction rounds to nearest even and quiets NaNs exactly like the reference, but it
//! treats subnormal inputs as zero (DAZ). Lanes holding a nonzero subnormal are rare, so they
//! are detected with two mask tests and, when present, recomputed with the integer path.

use core::arch::x86_64::*;

use half::bf16;

use super::super::avx512::convert::{masked_tail, round_bf16};
use super::super::for_each_chunk_streaming;

/// 16 f32 -> 16 bf16, bit-identical to the reference.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")]
fn convert16(x: __m512) -> __m256i {
    // SAFETY: `__m256bh` and `__m256i` are both 32-byte plain vectors; every bit pattern is valid.
    let hw: __m256i = unsafe { core::mem::transmute(_mm512_cvtneps_pbh(x)) };
    let bits = _mm512_castps_si512(x);
    let zero_exponent = _mm512_testn_epi32_mask(bits, _mm512_set1_epi32(0x7f80_0000));
    let nonzero_mantissa = _mm512_test_epi32_mask(bits, _mm512_set1_epi32(0x007f_ffff));
    let subnormal = zero_exponent & nonzero_mantissa;
    if subnormal == 0 {
        hw
    } else {
        _mm256_mask_mov_epi16(hw, subnormal, round_bf16(bits))
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")]
pub(super) unsafe fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    for_each_chunk_streaming::<_, _, 32>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 32 f32 (two 64-byte loads), `d` 32 bf16 (two 32-byte stores).
            unsafe {
                let a = _mm512_loadu_ps(s.as_ptr());
                let b = _mm512_loadu_ps(s.as_ptr().add(16));
                store.m256(d.as_mut_ptr().cast(), convert16(a));
                store.m256(d.as_mut_ptr().add(16).cast(), convert16(b));
            }
        },
        |s, d| {
            masked_tail(s, d, |s, d, k| {
                // SAFETY: masked lanes are neither read nor written (no fault either); the
                // unmasked ones are in bounds (see `masked_tail`).
                unsafe {
                    let x = _mm512_maskz_loadu_ps(k, s);
                    _mm256_mask_storeu_epi16(d.cast(), k, convert16(x));
                }
            })
        },
    );
}
