//! The VAES ARS-5 kernels' random values, two blocks per vector as `vaesenc` on ymm registers
//! leaves them (block `2j` in the low 128-bit lane of vector `j`, block `2j + 1` in the high
//! one), and the IEEE bf16 roundings (of a conversion's inputs, and of the fused update's
//! sums) that read their inputs in that order.
//!
//! Widening a block's eight 16-bit values to 32-bit lanes in element order moves half of them
//! across the 128-bit lanes (`vpmovzxwd`, or `vpermq` and unpacks), and so does putting 16
//! results back in order (`vpermq`). On Zen 3 each of those took 1.3 cycles, against 0.5 for an
//! in-lane shuffle: lowp's in-order step spent 16 of them per 64 values. Here the inputs are
//! loaded in the vectors' order instead, `x[0..4]` and `x[8..12]` in one vector and `x[4..8]`
//! and `x[12..16]` in the other (a blend of two 16-byte broadcasts each, which the load ports
//! do), so that `vpunpcklwd` and `vpunpckhwd` put each value beside its input and `vpackusdw`
//! returns the results in order, no lane crossed. The fused update loads its weights and bf16
//! gradients the same way in one 32-byte load, each value unpacked into the high half of its
//! lane (`vpunpcklwd` and `vpunpckhwd` with zero), where the in-order loads widened them by a
//! shuffle or `vpmovzxwd`.

use core::arch::x86_64::*;

use half::bf16;

use super::stochastic::{ChunkBits, F32Lanes};

/// Blocks per step: eight vectors of two, enough `vaesenc` chains in flight to cover the
/// instruction's latency (four gave 0.85-0.87x the throughput of eight in a Zen 3 probe).
pub(super) const PAIRED_BLOCKS: usize = 16;

/// Elements per step.
pub(super) const PAIRED_STEP: usize = 8 * PAIRED_BLOCKS;

/// A step's random values: vector `j` holds blocks `2j` (low lane) and `2j + 1` (high lane).
#[derive(Clone, Copy)]
pub(super) struct PairedBits(pub(super) [__m256i; PAIRED_BLOCKS / 2]);

impl ChunkBits<PAIRED_STEP> for PairedBits {
    #[inline(always)]
    unsafe fn widen(&self, k: usize) -> [__m256i; 2] {
        // SAFETY: the caller's contract (AVX2).
        unsafe {
            // 64-bit quarters (0, 2 | 1, 3): each lane's low half then holds the values of
            // one 128-bit lane of the result, and unpacking with zero widens them in place.
            let v = _mm256_permute4x64_epi64::<0b11_01_10_00>(self.0[k / 2]);
            let zero = _mm256_setzero_si256();
            [
                _mm256_unpacklo_epi16(v, zero),
                _mm256_unpackhi_epi16(v, zero),
            ]
        }
    }

    #[inline(always)]
    unsafe fn nan_free_bf16(&self, x: &[f32; PAIRED_STEP], k: usize) -> (__m256i, __m256) {
        // SAFETY: the caller's contract (AVX2).
        unsafe {
            let [low, high] = f32::in_lanes(&x[8 * k..8 * k + 16]);
            self.nan_free_in_lanes([_mm256_castps_si256(low), _mm256_castps_si256(high)], k)
        }
    }

    #[inline(always)]
    unsafe fn nan_free_update<G: F32Lanes>(
        &self,
        alpha: f32,
        g: &[G; PAIRED_STEP],
        w: &[bf16; PAIRED_STEP],
        k: usize,
    ) -> (__m256i, __m256) {
        let at = 8 * k;
        // SAFETY: the caller's contract (AVX2); `in_lanes` reads the 16 elements sliced.
        unsafe {
            let w = bf16::in_lanes(&w[at..at + 16]);
            let g = G::in_lanes(&g[at..at + 16]);
            let alpha = _mm256_set1_ps(alpha);
            // In f32 and not fused, as the reference computes it.
            let t = |i: usize| _mm256_castps_si256(_mm256_add_ps(w[i], _mm256_mul_ps(alpha, g[i])));
            self.nan_free_in_lanes([t(0), t(1)], k)
        }
    }
}

impl PairedBits {
    /// IEEE bf16 rounding of 16 f32 patterns `x` in this order's lanes (elements `0..4 | 8..12`,
    /// then `4..8 | 12..16` of `8k..8k + 16`), assuming none is a NaN: the results in order,
    /// and all-ones lanes where some was.
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[inline(always)]
    unsafe fn nan_free_in_lanes(&self, x: [__m256i; 2], k: usize) -> (__m256i, __m256) {
        // SAFETY: the caller's contract (AVX2); register-only.
        unsafe {
            let v = self.0[k / 2];
            let zero = _mm256_setzero_si256();
            let truncated = |x, r| _mm256_srli_epi32::<16>(_mm256_add_epi32(x, r));
            let a = truncated(x[0], _mm256_unpacklo_epi16(v, zero));
            let b = truncated(x[1], _mm256_unpackhi_epi16(v, zero));
            let unordered =
                _mm256_cmp_ps::<_CMP_UNORD_Q>(_mm256_castsi256_ps(x[0]), _mm256_castsi256_ps(x[1]));
            // Lanes of `a` (values 0-3 | 8-11) and `b` (4-7 | 12-15) are below 2^16, so the
            // pack does not saturate, and it leaves each 128-bit lane's values in order.
            (_mm256_packus_epi32(a, b), unordered)
        }
    }
}
