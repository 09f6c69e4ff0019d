//! The VAES ARS-5 kernels' random values, two blocks per vector as `vaesenc` on ymm registers
//! leaves them (block `2j` in the low 128-bit lane of vector `j`, block `2j + 1` in the high
//! one), and IEEE bf16 rounding that reads its inputs in that order.
//!
//! Widening a block's eight 16-bit values to 32-bit lanes in element order moves half of them
//! across the 128-bit lanes (`vpmovzxwd`, or `vpermq` and unpacks), and so does putting 16
//! results back in order (`vpermq`). On Zen 3 each of those took 1.3 cycles, against 0.5 for an
//! in-lane shuffle: lowp's in-order step spent 16 of them per 64 values. Here the inputs are
//! loaded in the vectors' order instead, `x[0..4]` and `x[8..12]` in one vector and `x[4..8]`
//! and `x[12..16]` in the other (a blend of two 16-byte broadcasts each, which the load ports
//! do), so that `vpunpcklwd` and `vpunpckhwd` put each value beside its input and `vpackusdw`
//! returns the results in order, no lane crossed.

use core::arch::x86_64::*;

use super::stochastic::ChunkBits;

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
        let x = &x[8 * k..8 * k + 16];
        // SAFETY: the caller's contract (AVX2); each load reads 4 of the 16 elements of `x`.
        unsafe {
            let quarter = |i: usize| {
                _mm256_broadcastsi128_si256(_mm_loadu_si128(x[i..i + 4].as_ptr().cast()))
            };
            let low = _mm256_blend_epi32::<0b1111_0000>(quarter(0), quarter(8));
            let high = _mm256_blend_epi32::<0b1111_0000>(quarter(4), quarter(12));
            let v = self.0[k / 2];
            let zero = _mm256_setzero_si256();
            let truncated = |x, r| _mm256_srli_epi32::<16>(_mm256_add_epi32(x, r));
            let a = truncated(low, _mm256_unpacklo_epi16(v, zero));
            let b = truncated(high, _mm256_unpackhi_epi16(v, zero));
            let unordered =
                _mm256_cmp_ps::<_CMP_UNORD_Q>(_mm256_castsi256_ps(low), _mm256_castsi256_ps(high));
            // Lanes of `a` (values 0-3 | 8-11) and `b` (4-7 | 12-15) are below 2^16, so the
            // pack does not saturate, and it leaves each 128-bit lane's values in order.
            (_mm256_packus_epi32(a, b), unordered)
        }
    }
}
