//! Dot products, 16 lanes: inputs widened to f32 (shift for bf16, `vcvtph2ps` for f16), FMA
//! into four accumulators (64 elements per step), then whole 16-element vectors into the
//! first, the last few elements by masked loads into the second, and a fixed reduction.
//! bf16 · bf16 splits each load into even and odd lanes instead, as the `Avx2` tier does.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::super::avx2::fmac::hsum;
use super::super::{
    pair_prefetch_within, prefetch_pair_ahead, prefetch_read_ahead, prefetches_dot,
    prefetches_row_pairs, widens_f16_in_halves, within_valid_pages,
};

/// Sixteen elements from `p` as f32 lanes.
pub(super) trait Lanes16: Copy {
    /// # Safety
    /// `p` is valid for reading 16 elements, and the CPU has avx512f.
    unsafe fn lanes16(p: *const Self) -> __m512;
}

impl Lanes16 for f32 {
    #[inline(always)]
    unsafe fn lanes16(p: *const f32) -> __m512 {
        // SAFETY: per the trait's contract.
        unsafe { _mm512_loadu_ps(p) }
    }
}

impl Lanes16 for bf16 {
    #[inline(always)]
    unsafe fn lanes16(p: *const bf16) -> __m512 {
        // SAFETY: per the trait's contract (16 bf16 = one 32-byte load).
        unsafe {
            let h = _mm256_loadu_si256(p.cast());
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h)))
        }
    }
}

impl Lanes16 for f16 {
    #[inline(always)]
    unsafe fn lanes16(p: *const f16) -> __m512 {
        // SAFETY: per the trait's contract (16 f16 = one 32-byte load).
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) }
    }
}

/// Up to sixteen elements from `p` as f32 lanes, zero in the lanes outside `lanes`.
pub(super) trait MaskedLanes16: Lanes16 {
    /// # Safety
    /// `p` is valid for reading the elements of the lanes in `lanes` (the others are not
    /// touched), and the CPU has avx512f, avx512bw and avx512vl.
    unsafe fn masked_lanes16(p: *const Self, lanes: __mmask16) -> __m512;
}

impl MaskedLanes16 for f32 {
    #[inline(always)]
    unsafe fn masked_lanes16(p: *const f32, lanes: __mmask16) -> __m512 {
        // SAFETY: per the trait's contract; masked-off lanes are neither read nor faulted on.
        unsafe { _mm512_maskz_loadu_ps(lanes, p) }
    }
}

impl MaskedLanes16 for bf16 {
    #[inline(always)]
    unsafe fn masked_lanes16(p: *const bf16, lanes: __mmask16) -> __m512 {
        // SAFETY: per the trait's contract; masked-off lanes are neither read nor faulted on.
        unsafe {
            let h = _mm256_maskz_loadu_epi16(lanes, p.cast());
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h)))
        }
    }
}

impl MaskedLanes16 for f16 {
    #[inline(always)]
    unsafe fn masked_lanes16(p: *const f16, lanes: __mmask16) -> __m512 {
        // SAFETY: per the trait's contract; masked-off lanes are neither read nor faulted on.
        unsafe { _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, p.cast())) }
    }
}

/// The first `n` (1 to 15) elements from `p` as f32 lanes, zero above: one masked load from
/// `p`, or, where its window would reach a page that holds none of them
/// ([`within_valid_pages`]), one from the window that ends with the `n`-th element, its lanes
/// then moved down (`vcompressps`). That window lies on the page of the `n`-th element: the
/// first one crossed out of it, so that element ends within 64 bytes of its page's end.
///
/// # Safety
/// `p` is valid for reading `n` elements, and the CPU has avx512f, avx512bw and avx512vl.
#[inline(always)]
pub(super) unsafe fn first_lanes16<T: MaskedLanes16>(p: *const T, n: usize) -> __m512 {
    debug_assert!((1..16).contains(&n));
    let at = p as usize;
    // SAFETY: per the function's contract; either load reads only the `n` elements from `p`
    // (the lanes of `high` from `16 - n` elements before it are those).
    unsafe {
        if within_valid_pages(at, 16 * size_of::<T>(), at, n * size_of::<T>()) {
            return T::masked_lanes16(p, ((1u32 << n) - 1) as __mmask16);
        }
        let high = (0xffff_u32 << (16 - n)) as __mmask16;
        let v = T::masked_lanes16(p.wrapping_sub(16 - n), high);
        _mm512_maskz_compress_ps(high, v)
    }
}

/// Horizontal sum of 16 lanes in a fixed order: the halves added, then the `Avx2` tier's sum.
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) fn hsum16(v: __m512) -> f32 {
    let lo = _mm512_castps512_ps256(v);
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    hsum(_mm256_add_ps(lo, hi))
}

/// The rest of a dot (`a` and `b` of equal length, under 32), then the fixed reduction of the
/// four accumulators: a whole vector of the rest into `acc[0]`, its last partial vector into
/// `acc[1]` by masked loads (the lanes past the end keep the accumulator's value).
///
/// # Safety
/// The CPU has avx512f, avx512bw and avx512vl.
#[inline(always)]
pub(super) unsafe fn finish16<A: MaskedLanes16, B: MaskedLanes16>(
    mut acc: [__m512; 4],
    a: &[A],
    b: &[B],
) -> f32 {
    let n = a.len();
    debug_assert!(b.len() == n && n < 32);
    // SAFETY: per the function's contract; the whole vector reads 16 elements at `0 + 16 <=
    // n`, the masked loads only the lanes below `n`.
    unsafe {
        let mut at = 0;
        if n >= 16 {
            acc[0] = _mm512_fmadd_ps(A::lanes16(a.as_ptr()), B::lanes16(b.as_ptr()), acc[0]);
            at = 16;
        }
        if at < n {
            let lanes = ((1u32 << (n - at)) - 1) as __mmask16;
            let xa = first_lanes16(a.as_ptr().add(at), n - at);
            let xb = first_lanes16(b.as_ptr().add(at), n - at);
            acc[1] = _mm512_mask3_fmadd_ps(xa, xb, acc[1], lanes);
        }
        let sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        hsum16(sum)
    }
}

/// The dot of two vectors the caller holds: prefetching `b` as a GEMV row does only where
/// [`prefetches_dot`] says so.
#[inline(always)]
fn dot<A: MaskedLanes16, B: MaskedLanes16>(a: &[A], b: &[B]) -> f32 {
    if prefetches_dot(size_of_val(b)) {
        dot_fetching::<A, B, true>(a, b, b.as_ptr_range().end)
    } else {
        dot_fetching::<A, B, false>(a, b, b.as_ptr_range().end)
    }
}

/// The dot, prefetching `b` ahead (a GEMV row, and past it the next) when `FETCH`.
#[inline(always)]
fn dot_fetching<A: MaskedLanes16, B: MaskedLanes16, const FETCH: bool>(
    a: &[A],
    b: &[B],
    end: *const B,
) -> f32 {
    let n = a.len().min(b.len());
    let whole = n / 64 * 64;
    // SAFETY: only called from the kernels below, which enable avx512f/bw/dq/vl; every load
    // reads 16 elements at `i + 16j + 16 <= whole <= n`.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); 4];
        for i in (0..whole).step_by(64) {
            if FETCH {
                prefetch_read_ahead(&b[i..i + 64], end);
            }
            for (j, acc) in acc.iter_mut().enumerate() {
                let k = i + 16 * j;
                *acc = _mm512_fmadd_ps(
                    A::lanes16(a.as_ptr().add(k)),
                    B::lanes16(b.as_ptr().add(k)),
                    *acc,
                );
            }
        }
        rest16(acc, &a[whole..n], &b[whole..n])
    }
}

/// What a dot's 64-element steps leave (`a` and `b` of equal length, under 64): whole
/// vectors into `acc[0]`, then [`finish16`].
///
/// # Safety
/// The CPU has avx512f, avx512bw and avx512vl.
#[inline(always)]
unsafe fn rest16<A: MaskedLanes16, B: MaskedLanes16>(
    mut acc: [__m512; 4],
    a: &[A],
    b: &[B],
) -> f32 {
    let vectors = a.len() / 16 * 16;
    // SAFETY: per the function's contract; every load reads 16 elements at `k + 16 <= vectors
    // <= a.len() = b.len()`.
    unsafe {
        for k in (0..vectors).step_by(16) {
            acc[0] = _mm512_fmadd_ps(
                A::lanes16(a.as_ptr().add(k)),
                B::lanes16(b.as_ptr().add(k)),
                acc[0],
            );
        }
        finish16(acc, &a[vectors..], &b[vectors..])
    }
}

/// [`dot`] of two f16 vectors with each 16-lane accumulator held as two 8-lane halves, so
/// that the 64-element steps widen by 256-bit `vcvtph2ps`: the same lanes and operations, so
/// the same bits. For Zen 4 ([`widens_f16_in_halves`]), where dots do not prefetch.
#[inline(always)]
fn dot_f16_halves(a: &[f16], b: &[f16]) -> f32 {
    let n = a.len().min(b.len());
    let whole = n / 64 * 64;
    let (pa, pb) = (a.as_ptr().cast::<__m128i>(), b.as_ptr().cast::<__m128i>());
    // SAFETY: only called from the kernel below, which enables avx512f/bw/dq/vl; every load
    // reads the 8 elements from `8(i + h)`, and `8(i + h) + 8 <= whole <= n`.
    unsafe {
        let mut halves = [_mm256_setzero_ps(); 8];
        for i in (0..whole / 8).step_by(8) {
            for (h, half) in halves.iter_mut().enumerate() {
                let xa = _mm256_cvtph_ps(_mm_loadu_si128(pa.add(i + h)));
                let xb = _mm256_cvtph_ps(_mm_loadu_si128(pb.add(i + h)));
                *half = _mm256_fmadd_ps(xa, xb, *half);
            }
        }
        rest16(join_halves(halves), &a[whole..n], &b[whole..n])
    }
}

/// Four 16-lane accumulators from their eight 8-lane halves, low half first.
///
/// # Safety
/// The CPU has avx512f and avx512dq.
#[inline(always)]
unsafe fn join_halves(halves: [__m256; 8]) -> [__m512; 4] {
    // SAFETY: register-only, per the function's contract.
    unsafe {
        [
            join(halves[0], halves[1]),
            join(halves[2], halves[3]),
            join(halves[4], halves[5]),
            join(halves[6], halves[7]),
        ]
    }
}

/// `low` in lanes 0..8, `high` in lanes 8..16.
///
/// # Safety
/// The CPU has avx512f and avx512dq.
#[inline(always)]
unsafe fn join(low: __m256, high: __m256) -> __m512 {
    // SAFETY: register-only, per the function's contract.
    unsafe { _mm512_insertf32x8::<1>(_mm512_castps256_ps512(low), high) }
}

/// Two rows against one `x`, sharing its loads: each row's operations are exactly those of
/// [`dot`]`(x, row)`, so each result has the same bits as the one-row kernel's.
#[inline(always)]
fn dot2<B: MaskedLanes16>(x: &[f32], r0: &[B], r1: &[B]) -> [f32; 2] {
    let n = x.len().min(r0.len()).min(r1.len());
    if !prefetches_row_pairs() {
        dot2_fetching::<B, false, false>(x, r0, r1)
    } else if pair_prefetch_within(&r0[..n], &r1[..n], r1.as_ptr_range().end) {
        dot2_fetching::<B, true, false>(x, r0, r1)
    } else {
        dot2_fetching::<B, true, true>(x, r0, r1)
    }
}

/// [`dot2`], prefetching ahead when `FETCH`, checked against W's end when `BOUNDED`.
#[inline(always)]
fn dot2_fetching<B: MaskedLanes16, const FETCH: bool, const BOUNDED: bool>(
    x: &[f32],
    r0: &[B],
    r1: &[B],
) -> [f32; 2] {
    let n = x.len().min(r0.len()).min(r1.len());
    let whole = n / 64 * 64;
    let vectors = n / 16 * 16;
    // SAFETY: as in `dot`.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); 4]; 2];
        let step = |acc: &mut [[__m512; 4]; 2], j: usize, k: usize| {
            let xv = f32::lanes16(x.as_ptr().add(k));
            acc[0][j] = _mm512_fmadd_ps(xv, B::lanes16(r0.as_ptr().add(k)), acc[0][j]);
            acc[1][j] = _mm512_fmadd_ps(xv, B::lanes16(r1.as_ptr().add(k)), acc[1][j]);
        };
        for i in (0..whole).step_by(64) {
            if FETCH {
                prefetch_pair_ahead::<_, BOUNDED>(&r0[..n], &r1[..n], i, 64, r1.as_ptr_range().end);
            }
            for j in 0..4 {
                step(&mut acc, j, i + 16 * j);
            }
        }
        for k in (whole..vectors).step_by(16) {
            step(&mut acc, 0, k);
        }
        let [acc0, acc1] = &acc;
        [
            finish16(*acc0, &x[vectors..n], &r0[vectors..n]),
            finish16(*acc1, &x[vectors..n], &r1[vectors..n]),
        ]
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dot2_f32_bf16(
    x: &[f32],
    r0: &[bf16],
    r1: &[bf16],
) -> [f32; 2] {
    dot2(x, r0, r1)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dot2_f32_f16(x: &[f32], r0: &[f16], r1: &[f16]) -> [f32; 2] {
    dot2(x, r0, r1)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dot2_f32(x: &[f32], r0: &[f32], r1: &[f32]) -> [f32; 2] {
    dot2(x, r0, r1)
}

/// One 32-element step of [`dot_bf16_pairs`] into accumulators `2h` (even lanes) and `2h + 1`
/// (odd lanes). A function forced inline, not a closure: a closure is compiled without the
/// kernel's target features, and one here was left as an out-of-line call per step (the dot
/// ran at 1 G elements/s instead of 90 and more).
///
/// # Safety
/// `a` and `b` are valid for reading 32 elements, and the CPU has avx512f.
#[inline(always)]
unsafe fn pair_step(acc: &mut [__m512; 4], h: usize, a: *const bf16, b: *const bf16) {
    // SAFETY: per the function's contract (one 64-byte load from each).
    unsafe {
        let high = _mm512_set1_epi32(0xffff_0000_u32 as i32);
        let (wa, wb) = (_mm512_loadu_si512(a.cast()), _mm512_loadu_si512(b.cast()));
        let (a_even, b_even) = (_mm512_slli_epi32::<16>(wa), _mm512_slli_epi32::<16>(wb));
        let (a_odd, b_odd) = (_mm512_and_si512(wa, high), _mm512_and_si512(wb, high));
        acc[2 * h] = _mm512_fmadd_ps(
            _mm512_castsi512_ps(a_even),
            _mm512_castsi512_ps(b_even),
            acc[2 * h],
        );
        acc[2 * h + 1] = _mm512_fmadd_ps(
            _mm512_castsi512_ps(a_odd),
            _mm512_castsi512_ps(b_odd),
            acc[2 * h + 1],
        );
    }
}

/// bf16 · bf16 with no widening shuffles: a 64-byte load holds 32 values as 16 words, whose
/// high halves (AND) are the odd elements' f32 patterns and whose low halves shifted up are the
/// even ones'. Each 64-element step feeds (even, odd) × two halves, then whole 32-element
/// loads feed the first pair, then [`finish16`].
#[inline(always)]
fn dot_bf16_pairs(a: &[bf16], b: &[bf16]) -> f32 {
    let n = a.len().min(b.len());
    let whole = n / 64 * 64;
    let loads = n / 32 * 32;
    // SAFETY: only called from the kernel below, which enables avx512f/bw/dq/vl; every load
    // reads 32 elements at `k + 32 <= loads <= n`.
    unsafe {
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm512_setzero_ps(); 4];
        for i in (0..whole).step_by(64) {
            pair_step(&mut acc, 0, pa.add(i), pb.add(i));
            pair_step(&mut acc, 1, pa.add(i + 32), pb.add(i + 32));
        }
        if loads > whole {
            pair_step(&mut acc, 0, pa.add(whole), pb.add(whole));
        }
        finish16(acc, &a[loads..n], &b[loads..n])
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dot_bf16(a: &[bf16], b: &[bf16]) -> f32 {
    dot_bf16_pairs(a, b)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dot_f16(a: &[f16], b: &[f16]) -> f32 {
    if widens_f16_in_halves() {
        dot_f16_halves(a, b)
    } else {
        dot(a, b)
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dot_f32_bf16(a: &[f32], b: &[bf16]) -> f32 {
    dot(a, b)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn row_f32_bf16(x: &[f32], row: &[bf16]) -> f32 {
    dot_fetching::<_, _, true>(x, row, row.as_ptr_range().end)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn row_f32_f16(x: &[f32], row: &[f16]) -> f32 {
    dot_fetching::<_, _, true>(x, row, row.as_ptr_range().end)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn row_f32(x: &[f32], row: &[f32]) -> f32 {
    dot_fetching::<_, _, true>(x, row, row.as_ptr_range().end)
}

#[cfg(test)]
mod tests {
    //! The f16 · f16 dot's two ways of widening give the same bits (each CPU runs only one of
    //! them).

    use half::f16;

    /// The bits of the f16 · f16 dot of `a` and `b`, by halves and by 512-bit widening.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    unsafe fn both(a: &[f16], b: &[f16]) -> [u32; 2] {
        let halves = super::dot_f16_halves(a, b);
        let whole = super::dot_fetching::<f16, f16, false>(a, b, b.as_ptr_range().end);
        [halves.to_bits(), whole.to_bits()]
    }

    #[test]
    fn f16_dot_halves_and_512_bit_widening_give_the_same_bits() {
        if !crate::Isa::Avx512.is_supported() {
            return;
        }
        let mut next = crate::arch::x86_64::xorshift(0x9e37_79b9_7f4a_7c15u64);
        // Every f16 bit pattern but NaN and infinity (whose sums are the same NaN either way):
        // subnormals, zeros of both signs and the largest finite values among them.
        let mut value = || loop {
            let h = f16::from_bits(next() as u16);
            if h.is_finite() {
                break h;
            }
        };
        let a: Vec<f16> = (0..400).map(|_| value()).collect();
        let b: Vec<f16> = (0..400).map(|_| value()).collect();
        for start in 0..4 {
            for len in 0..=300 {
                let (a, b) = (&a[start..start + len], &b[start + 7..start + 7 + len]);
                // SAFETY: the CPU has the Avx512 tier's features (checked above).
                let [halves, whole] = unsafe { both(a, b) };
                assert_eq!(halves, whole, "length {len}, start {start}");
            }
        }
    }
}
