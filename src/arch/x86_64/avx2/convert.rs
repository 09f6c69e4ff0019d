//! Conversions, 16 elements per step; the edges go through the reference. Large outputs are
//! streamed (see [`for_each_chunk_streaming`]).
//!
//! bf16 uses integer ops only (bit-exact whatever MXCSR says), and skips the NaN handling in
//! a step of 16 with no NaN (one comparison tells): 1.36-1.39x on a Zen 4 core. f16 uses
//! F16C, whose `vcvtps2ph` with an explicit round-to-nearest-even immediate ignores
//! MXCSR.RC, and whose results agree with the reference on all 2^32 inputs (the exhaustive
//! test checks it). Its results reach their stores through [`in_register_m128i`]: folded into
//! the store, the instruction ran at half the rate on Zen 4.

use core::arch::x86_64::*;

use super::f16c::{narrow8, widen8};

use half::{bf16, f16};

use super::super::{for_each_chunk_streaming, in_register_m128i};
use crate::reference::convert as r;

/// `convert(src, dst)` for an edge (under 16 elements), compiled without AVX2: inlined into
/// the kernels, LLVM vectorized the reference's f32 -> bf16 loop with `vmaskmovps`, whose
/// masked-off lanes cost about 125 ns per call on a Zen 5 core where they lay on a page that
/// is not mapped ([`within_valid_pages`](super::super::within_valid_pages)).
#[inline(never)]
fn outside_avx2<S, D>(src: &[S], dst: &mut [D], convert: fn(&[S], &mut [D])) {
    convert(src, dst);
}

/// f32 patterns -> bf16 patterns (in the low 16 bits of each lane), round to nearest even,
/// NaN quieted.
#[inline]
#[target_feature(enable = "avx2")]
fn round_bf16(x: __m256i) -> __m256i {
    let rounded = _mm256_srli_epi32::<16>(round_ordered_bf16(x));
    // NaN lanes take their high half with the quiet bit instead (the bias could carry into
    // the sign).
    let quiet_nan = _mm256_or_si256(_mm256_srli_epi32::<16>(x), _mm256_set1_epi32(0x40));
    let xf = _mm256_castsi256_ps(x);
    let is_nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(xf, xf));
    _mm256_blendv_epi8(rounded, quiet_nan, is_nan)
}

/// f32 patterns, none a NaN -> their bf16 patterns, round to nearest even, in the high 16
/// bits of each lane (the low bits are junk): [`round_bf16`] without its NaN lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn round_ordered_bf16(x: __m256i) -> __m256i {
    // x + 0x7fff + (bit 16), as x + 0x8000 - (bit 16 clear): a comparison, not a shift
    // (Zen 1 issues vector shifts on one pipe of four).
    let lsb_clear = _mm256_cmpeq_epi32(
        _mm256_and_si256(x, _mm256_set1_epi32(0x1_0000)),
        _mm256_setzero_si256(),
    );
    _mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x8000)), lsb_clear)
}

/// The high 16 bits of the lanes of `a` (elements 0..8), then of `b` (8..16), in order. One
/// byte shuffle per vector copies its high halves into both 64-bit halves of each 128-bit
/// lane, a blend takes `a`'s low and `b`'s high ones, a 64-bit permute restores the order:
/// shuffles, where two shifts and `vpackusdw` put three operations on Zen 1's one shift pipe.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn high_halves(a: __m256i, b: __m256i) -> __m256i {
    #[rustfmt::skip]
    let high = _mm256_setr_epi8(
        2, 3, 6, 7, 10, 11, 14, 15, 2, 3, 6, 7, 10, 11, 14, 15,
        2, 3, 6, 7, 10, 11, 14, 15, 2, 3, 6, 7, 10, 11, 14, 15,
    );
    let joined = _mm256_blend_epi32::<0b1100_1100>(
        _mm256_shuffle_epi8(a, high),
        _mm256_shuffle_epi8(b, high),
    );
    _mm256_permute4x64_epi64::<0b11_01_10_00>(joined)
}

/// 16 bf16 patterns -> 16 f32 patterns in two vectors (elements 0..8, then 8..16), NaN
/// quieted (the quiet bit set where the magnitude is above Inf's). The NaNs are quieted
/// in the 16-bit words (magnitudes are under 2^15, so the signed compare is the unsigned
/// one); one 64-bit permute then puts each output vector's two 4-word groups in the low
/// halves (`lo`) or the high halves (`hi`) of the 128-bit lanes, where the word unpacks with
/// a zero below them place each word in the high half of its 32-bit lane.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn widen_bf16_x16(h: __m256i) -> [__m256i; 2] {
    let magnitude = _mm256_and_si256(h, _mm256_set1_epi16(0x7fff));
    let is_nan = _mm256_cmpgt_epi16(magnitude, _mm256_set1_epi16(0x7f80));
    let h = _mm256_or_si256(h, _mm256_and_si256(is_nan, _mm256_set1_epi16(0x0040)));
    let placed = _mm256_permute4x64_epi64::<0b11_01_10_00>(h);
    let zero = _mm256_setzero_si256();
    [
        _mm256_unpacklo_epi16(zero, placed),
        _mm256_unpackhi_epi16(zero, placed),
    ]
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    for_each_chunk_streaming::<_, _, 16>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 16 f32 (two 32-byte loads), `d` 16 bf16 (one 32-byte store,
            // aligned when streaming).
            let (a, b) = unsafe {
                (
                    _mm256_loadu_si256(s.as_ptr().cast()),
                    _mm256_loadu_si256(s.as_ptr().add(8).cast()),
                )
            };
            // One comparison tells whether the short way is exact for all 16 lanes.
            let (a_ps, b_ps) = (_mm256_castsi256_ps(a), _mm256_castsi256_ps(b));
            let ordered = if _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_UNORD_Q>(a_ps, b_ps)) == 0 {
                high_halves(round_ordered_bf16(a), round_ordered_bf16(b))
            } else {
                // packus interleaves 128-bit halves: [a0-3 b0-3 | a4-7 b4-7]; the permute
                // restores element order. Lanes are < 2^16, so the saturation never triggers.
                let packed = _mm256_packus_epi32(round_bf16(a), round_bf16(b));
                _mm256_permute4x64_epi64::<0b11_01_10_00>(packed)
            };
            // SAFETY: see above.
            unsafe { store.m256(d.as_mut_ptr().cast(), ordered) };
        },
        |s, d| outside_avx2(s, d, r::f32_to_bf16_slice),
    );
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn bf16_to_f32(src: &[bf16], dst: &mut [f32]) {
    for_each_chunk_streaming::<_, _, 16>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 16 bf16 (one 32-byte load).
            let h = unsafe { _mm256_loadu_si256(s.as_ptr().cast()) };
            let [lo, hi] = widen_bf16_x16(h);
            // SAFETY: `d` holds 16 f32 (two 32-byte stores, aligned when streaming).
            unsafe {
                store.m256(d.as_mut_ptr().cast(), lo);
                store.m256(d.as_mut_ptr().add(8).cast(), hi);
            }
        },
        |s, d| outside_avx2(s, d, r::bf16_to_f32_slice),
    );
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn f32_to_f16(src: &[f32], dst: &mut [f16]) {
    for_each_chunk_streaming::<_, _, 16>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 16 f32 (two 32-byte loads).
            let (a, b) = unsafe {
                (
                    _mm256_loadu_ps(s.as_ptr()),
                    _mm256_loadu_ps(s.as_ptr().add(8)),
                )
            };
            let a = in_register_m128i(narrow8::<_MM_FROUND_TO_NEAREST_INT>(a));
            let b = in_register_m128i(narrow8::<_MM_FROUND_TO_NEAREST_INT>(b));
            // SAFETY: `d` holds 16 f16 (two 16-byte stores, aligned when streaming).
            unsafe {
                store.m128(d.as_mut_ptr().cast(), a);
                store.m128(d.as_mut_ptr().add(8).cast(), b);
            }
        },
        |s, d| outside_avx2(s, d, r::f32_to_f16_slice),
    );
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
    for_each_chunk_streaming::<_, _, 16>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 16 f16 (two 16-byte loads).
            let (a, b) = unsafe {
                (
                    _mm_loadu_si128(s.as_ptr().cast()),
                    _mm_loadu_si128(s.as_ptr().add(8).cast()),
                )
            };
            let (a, b) = (widen8(a), widen8(b));
            // SAFETY: `d` holds 16 f32 (two 32-byte stores, aligned when streaming).
            unsafe {
                store.m256(d.as_mut_ptr().cast(), _mm256_castps_si256(a));
                store.m256(d.as_mut_ptr().add(8).cast(), _mm256_castps_si256(b));
            }
        },
        |s, d| outside_avx2(s, d, r::f16_to_f32_slice),
    );
}
