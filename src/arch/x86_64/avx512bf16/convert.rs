//! f32 -> bf16 with `vcvtne2ps2bf16`, 32 elements per instruction.
//!
//! The instruction rounds to nearest even and quiets NaNs exactly like the reference, but it
//! treats subnormal inputs as zero (DAZ). Lanes holding a nonzero subnormal are rare, so one
//! `vfpclassps` per 16 lanes finds them and, when there are any, the integer path recomputes
//! those lanes.

use core::arch::x86_64::*;

use half::bf16;

use super::super::avx512::convert::{masked_tail, round_bf16, round_bf16_x32};
use super::super::for_each_chunk_streaming;

/// `vfpclassps` category: subnormal (of either sign; zeros are a separate category).
const SUBNORMAL: i32 = 0x20;

/// 32 f32 (`lo` then `hi`) -> 32 bf16, bit-identical to the reference.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")]
fn convert32(lo: __m512, hi: __m512) -> __m512i {
    // SAFETY: `__m512bh` and `__m512i` are both 64-byte plain vectors; every bit pattern is
    // valid. The instruction puts its second operand in the low half.
    let hw: __m512i = unsafe { core::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo)) };
    let subnormal_lo = _mm512_fpclass_ps_mask::<SUBNORMAL>(lo);
    let subnormal_hi = _mm512_fpclass_ps_mask::<SUBNORMAL>(hi);
    if subnormal_lo | subnormal_hi == 0 {
        return hw;
    }
    let exact = round_bf16_x32(_mm512_castps_si512(lo), _mm512_castps_si512(hi));
    let subnormal = u32::from(subnormal_lo) | (u32::from(subnormal_hi) << 16);
    _mm512_mask_mov_epi16(hw, subnormal, exact)
}

/// 16 f32 -> 16 bf16 (the masked edges), bit-identical to the reference.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")]
fn convert16(x: __m512) -> __m256i {
    // SAFETY: as in `convert32`, for 32-byte vectors.
    let hw: __m256i = unsafe { core::mem::transmute(_mm512_cvtneps_pbh(x)) };
    let subnormal = _mm512_fpclass_ps_mask::<SUBNORMAL>(x);
    if subnormal == 0 {
        hw
    } else {
        _mm256_mask_mov_epi16(hw, subnormal, round_bf16(_mm512_castps_si512(x)))
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")]
pub(super) unsafe fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    for_each_chunk_streaming::<_, _, 32>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 32 f32 (two 64-byte loads), `d` 32 bf16 (one 64-byte store,
            // aligned when streaming).
            unsafe {
                let lo = _mm512_loadu_ps(s.as_ptr());
                let hi = _mm512_loadu_ps(s.as_ptr().add(16));
                store.m512(d.as_mut_ptr().cast(), convert32(lo, hi));
            }
        },
        |s, d| {
            masked_tail(
                s,
                d,
                crate::reference::convert::f32_to_bf16_slice,
                |s, d, k| {
                    // SAFETY: masked lanes are neither read nor written (no fault either); the
                    // unmasked ones are in bounds (see `masked_tail`).
                    unsafe {
                        let x = _mm512_maskz_loadu_ps(k, s);
                        _mm256_mask_storeu_epi16(d.cast(), k, convert16(x));
                    }
                },
            )
        },
    );
}
