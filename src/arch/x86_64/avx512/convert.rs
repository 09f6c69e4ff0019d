//! Conversions, 32 elements per step and masked 16-lane edges (no scalar code). Large outputs
//! are streamed (see [`for_each_chunk_streaming`]).
//!
//! Same algorithms as the `Avx2` tier: integer ops for bf16, `vcvtps2ph`/`vcvtph2ps` with an
//! explicit round-to-nearest-even immediate for f16, kept out of its store (see
//! [`in_register_m256i`]); 32 bf16 are packed by [`round_bf16_x32`]. A step of f32 -> bf16
//! with no NaN, the common case (one comparison tells), takes half its operations
//! ([`round_ordered_bf16_x32`]): 1.52-1.60x on a Zen 4 core.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::super::{for_each_chunk_streaming, in_register_m256i};
use crate::reference::convert as r;

/// Mask of the low `n` lanes, `n <= 16`.
fn low_lanes(n: usize) -> __mmask16 {
    debug_assert!(n <= 16);
    ((1u32 << n) - 1) as __mmask16
}

/// Runs `step(src_ptr, dst_ptr, mask)` over an edge (head or tail), 16 lanes at a time. An
/// edge whose last 16-lane windows cross a page boundary is converted by `reference` instead,
/// which gives the same bits: the page past it may hold none of the slices, and a masked
/// window there is slow ([`within_valid_pages`](super::super::within_valid_pages)). The test
/// is the bare crossing (for a random place, about one edge in 32 goes that way).
#[inline(always)]
pub(in crate::arch::x86_64) fn masked_tail<S, D>(
    src: &[S],
    dst: &mut [D],
    reference: fn(&[S], &mut [D]),
    mut step: impl FnMut(*const S, *mut D, __mmask16),
) {
    let n = src.len().min(dst.len());
    let last = n & !15;
    let crosses = |at: usize, size: usize| at % 4096 + 16 * size > 4096;
    let (s_at, d_at) = (
        src.as_ptr().wrapping_add(last),
        dst.as_ptr().wrapping_add(last),
    );
    if last < n
        && (crosses(s_at as usize, size_of::<S>()) || crosses(d_at as usize, size_of::<D>()))
    {
        return beside_a_page(&src[..n], &mut dst[..n], reference);
    }
    let mut i = 0;
    while i < n {
        let lanes = (n - i).min(16);
        // The pointers stay in bounds (`i < n`); `step` touches only the `lanes` masked lanes.
        step(src[i..].as_ptr(), dst[i..].as_mut_ptr(), low_lanes(lanes));
        i += lanes;
    }
}

/// [`masked_tail`]'s other way, out of line.
#[cold]
#[inline(never)]
fn beside_a_page<S, D>(src: &[S], dst: &mut [D], reference: fn(&[S], &mut [D])) {
    reference(src, dst);
}

/// 16 f32 patterns -> 16 bf16 patterns, round to nearest even, NaN quieted, each in the low
/// half of its 32-bit lane.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn round_bf16_lanes(x: __m512i) -> __m512i {
    let high = _mm512_srli_epi32::<16>(x);
    let rounded = _mm512_srli_epi32::<16>(biased_bf16(x));
    let magnitude = _mm512_and_si512(x, _mm512_set1_epi32(0x7fff_ffff));
    let is_nan = _mm512_cmpgt_epu32_mask(magnitude, _mm512_set1_epi32(0x7f80_0000));
    _mm512_mask_or_epi32(rounded, is_nan, high, _mm512_set1_epi32(0x40))
}

/// 16 f32 patterns -> 16 bf16 patterns, round to nearest even, NaN quieted.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) fn round_bf16(x: __m512i) -> __m256i {
    _mm512_cvtepi32_epi16(round_bf16_lanes(x))
}

/// 32 f32 patterns (`a`, then `b`), none a NaN -> 32 bf16 patterns in order, round to
/// nearest even: the bias added in 32-bit lanes, whose high halves one `vpermt2w` picks.
/// Half the operations of [`round_bf16_x32`], which the NaN lanes need.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn round_ordered_bf16_x32(a: __m512i, b: __m512i) -> __m512i {
    narrow32::<true>(biased_bf16(a), biased_bf16(b))
}

/// f32 patterns plus round-to-nearest-even's bias (0x7fff and the lowest kept bit): the
/// rounded bf16 pattern in the high half of each lane where the pattern is not a NaN.
#[inline]
#[target_feature(enable = "avx512f")]
fn biased_bf16(x: __m512i) -> __m512i {
    let lsb = _mm512_and_si512(_mm512_srli_epi32::<16>(x), _mm512_set1_epi32(1));
    _mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), lsb)
}

/// 32 f32 patterns (`a`, then `b`) -> 32 bf16 patterns in order: [`round_bf16`]'s, packed by
/// one `vpackusdw` (exact: every lane is below 2^16) and one 64-bit permute instead of two
/// `vpmovdw` (f32 -> bf16 of 4096 elements on the `Avx512` tier of a Zen 4 core: 1.06-1.12x).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) fn round_bf16_x32(a: __m512i, b: __m512i) -> __m512i {
    // Each 128-bit lane of the pack holds four of `a`'s results, then the same four of `b`'s.
    let packed = _mm512_packus_epi32(round_bf16_lanes(a), round_bf16_lanes(b));
    _mm512_permutexvar_epi64(_mm512_set_epi64(7, 5, 3, 1, 6, 4, 2, 0), packed)
}

/// Two groups of 16 results (u32 lanes holding 16-bit patterns, in the high halves when
/// `HIGH`, else the low ones) -> 32 u16 in order: one `vpermt2w`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn narrow32<const HIGH: bool>(a: __m512i, b: __m512i) -> __m512i {
    // Word 2i (+1 for the high halves) of `a` then of `b` (`vpermt2w` numbers b's words 32..64).
    const fn words(high: bool) -> [u16; 32] {
        let mut idx = [0u16; 32];
        let mut i = 0;
        while i < 32 {
            idx[i] = 2 * i as u16 + high as u16;
            i += 1;
        }
        idx
    }
    const LOW_WORDS: [u16; 32] = words(false);
    const HIGH_WORDS: [u16; 32] = words(true);
    let idx = if HIGH { &HIGH_WORDS } else { &LOW_WORDS };
    // SAFETY: a 64-byte load of a 64-byte constant.
    let idx = unsafe { _mm512_loadu_si512(idx.as_ptr().cast()) };
    _mm512_permutex2var_epi16(a, idx, b)
}

/// `mask` with the lanes cleared where `x[0]` or `x[1]` holds a NaN (one `vcmpps`).
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) fn ordered(mask: __mmask16, x: [__m512i; 2]) -> __mmask16 {
    let (x0, x1) = (_mm512_castsi512_ps(x[0]), _mm512_castsi512_ps(x[1]));
    _mm512_mask_cmp_ps_mask::<_CMP_ORD_Q>(mask, x0, x1)
}

/// 16 bf16 patterns -> 16 f32 patterns, NaN quieted.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) fn widen_bf16(h: __m256i) -> __m512i {
    let x = _mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h));
    let magnitude = _mm512_and_si512(x, _mm512_set1_epi32(0x7fff_ffff));
    let is_nan = _mm512_cmpgt_epu32_mask(magnitude, _mm512_set1_epi32(0x7f80_0000));
    _mm512_mask_or_epi32(x, is_nan, x, _mm512_set1_epi32(0x0040_0000))
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    for_each_chunk_streaming::<_, _, 32>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 32 f32 (two 64-byte loads), `d` 32 bf16 (one 64-byte store,
            // aligned when streaming).
            unsafe {
                let a = _mm512_loadu_si512(s.as_ptr().cast());
                let b = _mm512_loadu_si512(s.as_ptr().add(16).cast());
                // One comparison tells whether the short way is exact for all 32 lanes.
                let y = if ordered(u16::MAX, [a, b]) == u16::MAX {
                    round_ordered_bf16_x32(a, b)
                } else {
                    round_bf16_x32(a, b)
                };
                store.m512(d.as_mut_ptr().cast(), y);
            }
        },
        |s, d| {
            masked_tail(s, d, r::f32_to_bf16_slice, |s, d, k| {
                // SAFETY: masked lanes are neither read nor written (no fault either); the
                // unmasked ones are in bounds (see `masked_tail`).
                unsafe {
                    let x = _mm512_maskz_loadu_epi32(k, s.cast());
                    _mm256_mask_storeu_epi16(d.cast(), k, round_bf16(x));
                }
            })
        },
    );
}

/// 32 bf16 patterns -> 32 f32 patterns in two vectors (elements 0..16, then 16..32), NaN
/// quieted: [`widen_bf16`]'s results, by fewer operations. The NaNs are quieted in the 16-bit
/// words; one 64-bit permute then puts each output vector's four 4-word groups in the low
/// halves (`lo`) or the high halves (`hi`) of its 128-bit lanes, where the word unpacks with
/// a zero below them place each word in the high half of its 32-bit lane.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) fn widen_bf16_x32(h: __m512i) -> [__m512i; 2] {
    let magnitude = _mm512_and_si512(h, _mm512_set1_epi16(0x7fff));
    let is_nan = _mm512_cmpgt_epu16_mask(magnitude, _mm512_set1_epi16(0x7f80));
    let quiet = _mm512_or_si512(h, _mm512_set1_epi16(0x0040));
    let h = _mm512_mask_blend_epi16(is_nan, h, quiet);
    let placed = _mm512_permutexvar_epi64(_mm512_set_epi64(7, 3, 6, 2, 5, 1, 4, 0), h);
    let zero = _mm512_setzero_si512();
    [
        _mm512_unpacklo_epi16(zero, placed),
        _mm512_unpackhi_epi16(zero, placed),
    ]
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn bf16_to_f32(src: &[bf16], dst: &mut [f32]) {
    for_each_chunk_streaming::<_, _, 32>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 32 bf16 (two 32-byte loads), `d` 32 f32 (two 64-byte stores,
            // aligned when streaming).
            unsafe {
                let [a, b] = widen_bf16_x32(_mm512_loadu_si512(s.as_ptr().cast()));
                store.m512(d.as_mut_ptr().cast(), a);
                store.m512(d.as_mut_ptr().add(16).cast(), b);
            }
        },
        |s, d| {
            masked_tail(s, d, r::bf16_to_f32_slice, |s, d, k| {
                // SAFETY: as in `f32_to_bf16`'s tail.
                unsafe {
                    let h = _mm256_maskz_loadu_epi16(k, s.cast());
                    _mm512_mask_storeu_epi32(d.cast(), k, widen_bf16(h));
                }
            })
        },
    );
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn f32_to_f16(src: &[f32], dst: &mut [f16]) {
    for_each_chunk_streaming::<_, _, 32>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 32 f32 (two 64-byte loads), `d` 32 f16 (two 32-byte stores,
            // aligned when streaming).
            unsafe {
                let a = _mm512_loadu_ps(s.as_ptr());
                let b = _mm512_loadu_ps(s.as_ptr().add(16));
                let a = in_register_m256i(_mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(a));
                let b = in_register_m256i(_mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(b));
                store.m256(d.as_mut_ptr().cast(), a);
                store.m256(d.as_mut_ptr().add(16).cast(), b);
            }
        },
        |s, d| {
            masked_tail(s, d, r::f32_to_f16_slice, |s, d, k| {
                // SAFETY: as in `f32_to_bf16`'s tail.
                unsafe {
                    let x = _mm512_maskz_loadu_ps(k, s);
                    let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(x);
                    _mm256_mask_storeu_epi16(d.cast(), k, h);
                }
            })
        },
    );
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
    for_each_chunk_streaming::<_, _, 32>(
        src,
        dst,
        |s, d, store| {
            // SAFETY: `s` holds 32 f16 (two 32-byte loads), `d` 32 f32 (two 64-byte stores,
            // aligned when streaming).
            unsafe {
                let a = _mm256_loadu_si256(s.as_ptr().cast());
                let b = _mm256_loadu_si256(s.as_ptr().add(16).cast());
                store.m512(
                    d.as_mut_ptr().cast(),
                    _mm512_castps_si512(_mm512_cvtph_ps(a)),
                );
                store.m512(
                    d.as_mut_ptr().add(16).cast(),
                    _mm512_castps_si512(_mm512_cvtph_ps(b)),
                );
            }
        },
        |s, d| {
            masked_tail(s, d, r::f16_to_f32_slice, |s, d, k| {
                // SAFETY: as in `f32_to_bf16`'s tail.
                unsafe {
                    let h = _mm256_maskz_loadu_epi16(k, s.cast());
                    _mm512_mask_storeu_ps(d.cast(), k, _mm512_cvtph_ps(h));
                }
            })
        },
    );
}
