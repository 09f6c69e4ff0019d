//! Dot products: inputs widened to f32 lanes (a byte shuffle for bf16, F16C for f16), FMA
//! into four accumulators (32 elements per step), the rest in vectors (the last one ending at
//! the last element, its lanes already summed left as they were), a fixed reduction.
//! bf16 · bf16 splits each load into even and odd lanes instead (no shuffles at all).

use core::arch::x86_64::*;

use super::f16c::widen8;

use half::{bf16, f16};

use super::super::{
    pair_prefetch_within, prefetch_pair_ahead, prefetch_read_ahead, prefetches_dot,
};

/// Eight elements from `p` as f32 lanes.
pub(in crate::arch::x86_64) trait Lanes: Copy {
    /// # Safety
    /// `p` is valid for reading 8 elements, and the CPU has avx2 and f16c.
    unsafe fn lanes(p: *const Self) -> __m256;

    /// One element as f32 in all eight lanes, widened by this tier's instructions
    /// (`Into<f32>` on f16 costs a call and a feature check per element: a sixth more time
    /// per 41-nonzero sparse row).
    ///
    /// # Safety
    /// The CPU has avx2 and f16c.
    unsafe fn splat(self) -> __m256;
}

impl Lanes for f32 {
    #[inline(always)]
    unsafe fn lanes(p: *const f32) -> __m256 {
        // SAFETY: per the trait's contract.
        unsafe { _mm256_loadu_ps(p) }
    }

    #[inline(always)]
    unsafe fn splat(self) -> __m256 {
        // SAFETY: per the trait's contract; register-only.
        unsafe { _mm256_set1_ps(self) }
    }
}

impl Lanes for bf16 {
    #[inline(always)]
    unsafe fn lanes(p: *const bf16) -> __m256 {
        // The 16 bytes in both 128-bit lanes, then each bf16 moved to the high half of its
        // f32 by one byte shuffle. The obvious `vpmovzxwd` then `vpslld` by 16 costs two
        // operations where this costs one (the broadcast is a load), and Zen 1 runs vector
        // shifts on a single pipe: there an `Avx2` bf16 GEMV of 64 x 2048 (in L2) ran 1.40x
        // faster (12.3 to 17.3 GB/s), an f32 · bf16 dot of 4096 elements 1.47x.
        // A control byte that `vpshufb` turns into a zero.
        const Z: i8 = -128;
        // SAFETY: per the trait's contract (8 bf16 = one 16-byte load); the rest is
        // register-only.
        unsafe {
            #[rustfmt::skip]
            let high_halves = _mm256_setr_epi8(
                Z, Z, 0, 1, Z, Z, 2, 3, Z, Z, 4, 5, Z, Z, 6, 7,
                Z, Z, 8, 9, Z, Z, 10, 11, Z, Z, 12, 13, Z, Z, 14, 15,
            );
            let h = _mm256_broadcastsi128_si256(_mm_loadu_si128(p.cast()));
            _mm256_castsi256_ps(_mm256_shuffle_epi8(h, high_halves))
        }
    }

    #[inline(always)]
    unsafe fn splat(self) -> __m256 {
        // SAFETY: per the trait's contract; register-only.
        unsafe { _mm256_set1_ps(f32::from_bits(u32::from(self.to_bits()) << 16)) }
    }
}

impl Lanes for f16 {
    #[inline(always)]
    unsafe fn lanes(p: *const f16) -> __m256 {
        // SAFETY: per the trait's contract (8 f16 = one 16-byte load).
        unsafe { widen8(_mm_loadu_si128(p.cast())) }
    }

    #[inline(always)]
    unsafe fn splat(self) -> __m256 {
        // SAFETY: per the trait's contract (f16c); register-only. The conversion of a
        // broadcast, not a broadcast of `_mm_cvtsi32_si128`'s conversion: LLVM made that a
        // `vpinsrw` into whatever register was free (an accumulator of the sparse row
        // product), chaining every nonzero's value to it.
        unsafe { widen8(_mm_set1_epi16(self.to_bits() as i16)) }
    }
}

/// Horizontal sum of 8 lanes in a fixed order.
#[inline]
#[target_feature(enable = "avx2")]
pub(in crate::arch::x86_64) fn hsum(v: __m256) -> f32 {
    let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)))
}

/// The rest of a dot past its whole steps (`a` and `b` of equal length, `whole` a multiple of
/// 8 at most their length), then the fixed reduction of the four accumulators. The rest's
/// whole vectors (at most three) go into `acc[0..3]`; its last partial vector goes into
/// `acc[3]` as the vector that ends at the last element, whose lanes already summed keep the
/// accumulator's value (so no element is read outside the slices). Only a dot shorter than
/// one vector adds its elements one at a time. (When every rest went one element at a time,
/// with `half`'s call for each f16, a 256 × 1055 f16 GEMV took 1.9x the time of 256 × 1024.)
///
/// # Safety
/// The CPU has avx2, fma and f16c.
#[inline(always)]
unsafe fn finish<A: Lanes, B: Lanes>(mut acc: [__m256; 4], a: &[A], b: &[B], whole: usize) -> f32 {
    let n = a.len();
    debug_assert!(b.len() == n && whole.is_multiple_of(8) && whole <= n && n - whole < 32);
    // SAFETY: per the function's contract; every vector load reads 8 elements ending at or
    // before `n`.
    unsafe {
        let mut at = whole;
        for acc in &mut acc[..3] {
            if n - at >= 8 {
                let (xa, xb) = (A::lanes(a.as_ptr().add(at)), B::lanes(b.as_ptr().add(at)));
                *acc = _mm256_fmadd_ps(xa, xb, *acc);
                at += 8;
            }
        }
        let mut total = 0.0;
        if at < n && n >= 8 {
            // Lanes `l >= 8 - (n - at)` hold the elements not yet summed.
            let fresh = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                _mm256_set1_epi32(7 - (n - at) as i32),
            ));
            let (xa, xb) = (
                A::lanes(a.as_ptr().add(n - 8)),
                B::lanes(b.as_ptr().add(n - 8)),
            );
            acc[3] = _mm256_blendv_ps(acc[3], _mm256_fmadd_ps(xa, xb, acc[3]), fresh);
        } else {
            for (&x, &y) in a[at..].iter().zip(&b[at..]) {
                total += _mm256_cvtss_f32(x.splat()) * _mm256_cvtss_f32(y.splat());
            }
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        hsum(sum) + total
    }
}

/// The dot of two vectors the caller holds: prefetching `b` as a GEMV row does only where
/// [`prefetches_dot`] says so.
#[inline(always)]
fn dot<A: Lanes, B: Lanes>(a: &[A], b: &[B]) -> f32 {
    if prefetches_dot(size_of_val(b)) {
        dot_fetching::<A, B, true>(a, b, b.as_ptr_range().end)
    } else {
        dot_fetching::<A, B, false>(a, b, b.as_ptr_range().end)
    }
}

/// The dot, prefetching `b` ahead (a GEMV row, and past it the next) when `FETCH`.
#[inline(always)]
fn dot_fetching<A: Lanes, B: Lanes, const FETCH: bool>(a: &[A], b: &[B], end: *const B) -> f32 {
    let n = a.len().min(b.len());
    let whole = n / 32 * 32;
    // SAFETY: only called from the kernels below, which enable avx2, fma and f16c; every load
    // reads 8 elements at `i + 8j + 8 <= whole <= n`.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); 4];
        for i in (0..whole).step_by(32) {
            if FETCH {
                prefetch_read_ahead(&b[i..i + 32], end);
            }
            for (j, acc) in acc.iter_mut().enumerate() {
                let k = i + 8 * j;
                *acc = _mm256_fmadd_ps(
                    A::lanes(a.as_ptr().add(k)),
                    B::lanes(b.as_ptr().add(k)),
                    *acc,
                );
            }
        }
        finish(acc, &a[..n], &b[..n], whole)
    }
}

/// Two rows against one `x`, sharing its loads: each row's operations are exactly those of
/// [`dot`]`(x, row)`, so each result has the same bits as the one-row kernel's.
#[inline(always)]
fn dot2<B: Lanes>(x: &[f32], r0: &[B], r1: &[B]) -> [f32; 2] {
    let n = x.len().min(r0.len()).min(r1.len());
    if pair_prefetch_within(&r0[..n], &r1[..n], r1.as_ptr_range().end) {
        dot2_bounded::<B, false>(x, r0, r1)
    } else {
        dot2_bounded::<B, true>(x, r0, r1)
    }
}

/// [`dot2`], its prefetch checked against W's end when `BOUNDED`.
#[inline(always)]
fn dot2_bounded<B: Lanes, const BOUNDED: bool>(x: &[f32], r0: &[B], r1: &[B]) -> [f32; 2] {
    let n = x.len().min(r0.len()).min(r1.len());
    let whole = n / 32 * 32;
    // SAFETY: as in `dot`.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 4]; 2];
        for i in (0..whole).step_by(32) {
            prefetch_pair_ahead::<_, BOUNDED>(&r0[..n], &r1[..n], i, 32, r1.as_ptr_range().end);
            let [acc0, acc1] = &mut acc;
            for (j, (a0, a1)) in acc0.iter_mut().zip(acc1.iter_mut()).enumerate() {
                let k = i + 8 * j;
                let xv = f32::lanes(x.as_ptr().add(k));
                *a0 = _mm256_fmadd_ps(xv, B::lanes(r0.as_ptr().add(k)), *a0);
                *a1 = _mm256_fmadd_ps(xv, B::lanes(r1.as_ptr().add(k)), *a1);
            }
        }
        let [acc0, acc1] = &acc;
        [
            finish(*acc0, &x[..n], &r0[..n], whole),
            finish(*acc1, &x[..n], &r1[..n], whole),
        ]
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn dot2_f32_bf16(
    x: &[f32],
    r0: &[bf16],
    r1: &[bf16],
) -> [f32; 2] {
    dot2(x, r0, r1)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn dot2_f32_f16(x: &[f32], r0: &[f16], r1: &[f16]) -> [f32; 2] {
    dot2(x, r0, r1)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn dot2_f32(x: &[f32], r0: &[f32], r1: &[f32]) -> [f32; 2] {
    dot2(x, r0, r1)
}

/// bf16 · bf16 with no widening shuffles: a 32-byte load holds 16 values as 8 words, whose
/// high halves (AND) are the odd elements' f32 patterns and whose low halves shifted up are the
/// even ones'. Both operands split the same way, so even meets even and odd meets odd; each
/// 32-element step feeds the four accumulators (even, odd) × two halves, then [`dot`]'s
/// reduction and rest. (Not for f32 · bf16: splitting the f32 side costs the shuffles
/// this saves, and GEMV measured slower that way.)
#[inline(always)]
fn dot_bf16_pairs(a: &[bf16], b: &[bf16]) -> f32 {
    let n = a.len().min(b.len());
    let whole = n / 32 * 32;
    // SAFETY: only called from the kernel below, which enables avx2 and fma; every load reads
    // 16 elements at `i + 16h + 16 <= whole <= n`.
    unsafe {
        let high = _mm256_set1_epi32(0xffff_0000_u32 as i32);
        let split = |p: *const bf16| {
            let w = _mm256_loadu_si256(p.cast());
            (
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(w)),
                _mm256_castsi256_ps(_mm256_and_si256(w, high)),
            )
        };
        let mut acc = [_mm256_setzero_ps(); 4];
        for i in (0..whole).step_by(32) {
            for h in 0..2 {
                let (a_even, a_odd) = split(a.as_ptr().add(i + 16 * h));
                let (b_even, b_odd) = split(b.as_ptr().add(i + 16 * h));
                acc[2 * h] = _mm256_fmadd_ps(a_even, b_even, acc[2 * h]);
                acc[2 * h + 1] = _mm256_fmadd_ps(a_odd, b_odd, acc[2 * h + 1]);
            }
        }
        finish(acc, &a[..n], &b[..n], whole)
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn dot_bf16(a: &[bf16], b: &[bf16]) -> f32 {
    dot_bf16_pairs(a, b)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn dot_f16(a: &[f16], b: &[f16]) -> f32 {
    dot(a, b)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn dot_f32_bf16(a: &[f32], b: &[bf16]) -> f32 {
    dot(a, b)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn row_f32_bf16(x: &[f32], row: &[bf16]) -> f32 {
    dot_fetching::<_, _, true>(x, row, row.as_ptr_range().end)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn row_f32_f16(x: &[f32], row: &[f16]) -> f32 {
    dot_fetching::<_, _, true>(x, row, row.as_ptr_range().end)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn row_f32(x: &[f32], row: &[f32]) -> f32 {
    dot_fetching::<_, _, true>(x, row, row.as_ptr_range().end)
}
