//! Stochastic rounding and the fused bf16 update: Philox4x32-10 (or ARS-5, with AES-NI:
//! [`super::ars`]) on 8 blocks per step (64 elements; ARS-5 with VAES on 16, in the order
//! [`super::paired_bits`] describes), then add-and-truncate. Bit-identical to
//! [`crate::reference::stochastic`]; chunks start on block boundaries
//! ([`for_each_block_chunk`]). The elements before the first one, and the tail after the last,
//! are rounded in place as on the `Avx512` tier ([`round_head`], [`round_tail`]), with 32-bit
//! masks where AVX-512 has 16-bit ones; a Philox tail under 5 elements goes one element at a
//! time as the reference rounds it ([`edge`], [`PHILOX_TAIL_MIN`]).
//! IEEE bf16 rounding tests a chunk for NaNs once ([`drive`]'s `OPTIMISTIC`, as on the
//! `Avx512` tier).

use core::arch::x86_64::*;

use super::f16c::narrow8;

use half::{bf16, f16};

use super::super::{
    draws_random_bits_ahead, edge, head_in_place, in_place_tail_min, prefetch_ahead, reach_within,
    tail_in_place, to_line, within_valid_pages, Aes, Vaes, STREAM_MIN_BYTES,
};
use super::ars::{self, ArsKeys, ArsKeys2};
use super::convert::high_halves;
use super::fmac::Lanes;
use super::paired_bits::PAIRED_STEP;
use crate::arch::portable::stochastic as portable;
use crate::arch::{for_each_block_chunk, DrawAhead, F16_FAST_LOW, F16_FAST_SPAN, SR_BLOCK};
use crate::backend::Sr;
use crate::reference::rng::{round_keys, Generator, M0, M1};
use crate::reference::stochastic::{self as r, Overflow};

/// Independent Philox computations in flight: one is a chain of ten multiply-shift-xor
/// rounds, latency-bound. Two chains (8 state registers) beat four here: four need 16 state
/// registers, all AVX2 has, and spilled every round (1.5 vs 1.75 cycles per element).
const CHAINS: usize = 2;

/// Blocks per step: four per chain (64-bit lanes of a 256-bit vector).
const BLOCKS: usize = 4 * CHAINS;

/// Elements per step.
const STEP: usize = 8 * BLOCKS;

/// The ten round keys of a seed, broadcast: `[k0 of round i]`, then `[k1 of round i]`.
#[derive(Clone, Copy)]
struct RoundKeys([[__m256i; 10]; 2]);

impl RoundKeys {
    #[inline]
    #[target_feature(enable = "avx2")]
    fn new(seed: u64) -> RoundKeys {
        // Loops, not `map` closures: a closure does not inherit the target features, and
        // left out of line it made every call pay for twenty non-inlined intrinsic calls.
        let mut broadcast = RoundKeys([[_mm256_setzero_si256(); 10]; 2]);
        let keys = round_keys([seed as u32, (seed >> 32) as u32]);
        for (out, keys) in broadcast.0.iter_mut().zip(keys) {
            for (out, key) in out.iter_mut().zip(keys) {
                *out = _mm256_set1_epi32(key as i32);
            }
        }
        broadcast
    }
}

/// Philox4x32-10 of the blocks in the 64-bit lanes of `blocks`,
/// computed in the low 32 bits of each 64-bit lane: `vpmuludq` reads only those and gives the
/// full 64-bit product, so no shuffles are needed between rounds (the high halves carry junk).
/// The chains are interleaved for instruction-level parallelism and share key operands.
#[inline]
#[target_feature(enable = "avx2")]
fn philox(blocks: [__m256i; CHAINS], keys: &RoundKeys) -> [[__m256i; 4]; CHAINS] {
    let (m0, m1) = (
        _mm256_set1_epi64x(i64::from(M0)),
        _mm256_set1_epi64x(i64::from(M1)),
    );
    let [k0, k1] = &keys.0;
    // Round 1, with counter words 2 and 3 zero. (Plain loops, not closures: a closure passed
    // to a generic helper would not inherit this function's target features.)
    let mut c = [[_mm256_setzero_si256(); 4]; CHAINS];
    for h in 0..CHAINS {
        let p0 = _mm256_mul_epu32(blocks[h], m0);
        c[h] = [
            _mm256_xor_si256(_mm256_srli_epi64::<32>(blocks[h]), k0[0]),
            _mm256_setzero_si256(),
            _mm256_xor_si256(_mm256_srli_epi64::<32>(p0), k1[0]),
            p0,
        ];
    }
    for round in 1..10 {
        for c in &mut c {
            let p0 = _mm256_mul_epu32(c[0], m0);
            let p1 = _mm256_mul_epu32(c[2], m1);
            *c = [
                _mm256_xor_si256(
                    _mm256_xor_si256(_mm256_srli_epi64::<32>(p1), c[1]),
                    k0[round],
                ),
                p1,
                _mm256_xor_si256(
                    _mm256_xor_si256(_mm256_srli_epi64::<32>(p0), c[3]),
                    k1[round],
                ),
                p0,
            ];
        }
    }
    c
}

/// The random 16-bit values of the elements of blocks `first..first + BLOCKS`, in element
/// order: `out[k]` holds block `first + k`'s eight values.
#[inline]
#[target_feature(enable = "avx2")]
fn random_blocks(keys: &RoundKeys, first: u64) -> [__m128i; BLOCKS] {
    let mask = _mm256_set1_epi64x((u64::MAX / 8) as i64);
    let base = _mm256_add_epi64(
        _mm256_set1_epi64x(first as i64),
        _mm256_setr_epi64x(0, 1, 2, 3),
    );
    let mut blocks = [_mm256_setzero_si256(); CHAINS];
    for (h, b) in blocks.iter_mut().enumerate() {
        *b = _mm256_and_si256(
            _mm256_add_epi64(base, _mm256_set1_epi64x(4 * h as i64)),
            mask,
        );
    }
    let words = philox(blocks, keys);
    let mut out = [_mm_setzero_si128(); BLOCKS];
    for h in 0..CHAINS {
        let c = &words[h];
        // Gather each block's four words (low halves of the 64-bit lanes) into 128 bits.
        let t0 = _mm256_blend_epi32::<0b1010_1010>(c[0], _mm256_slli_epi64::<32>(c[1]));
        let t1 = _mm256_blend_epi32::<0b1010_1010>(c[2], _mm256_slli_epi64::<32>(c[3]));
        let even = _mm256_unpacklo_epi64(t0, t1); // blocks 0 | 2 of this chain
        let odd = _mm256_unpackhi_epi64(t0, t1); // blocks 1 | 3
        out[4 * h] = _mm256_castsi256_si128(even);
        out[4 * h + 1] = _mm256_castsi256_si128(odd);
        out[4 * h + 2] = _mm256_extracti128_si256::<1>(even);
        out[4 * h + 3] = _mm256_extracti128_si256::<1>(odd);
    }
    out
}

/// 8 f32 patterns + 8 random values -> 8 bf16 patterns (low halves of the lanes).
#[inline]
#[target_feature(enable = "avx2")]
fn sr_bf16<const SATURATE: bool>(x: __m256i, r: __m256i) -> __m256i {
    let y = _mm256_srli_epi32::<16>(_mm256_add_epi32(x, r));
    let xf = _mm256_castsi256_ps(x);
    let is_nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(xf, xf));
    let quiet_nan = _mm256_or_si256(_mm256_srli_epi32::<16>(x), _mm256_set1_epi32(0x40));
    let y = _mm256_blendv_epi8(y, quiet_nan, is_nan);
    if SATURATE {
        // Finite inputs that carried into ±Inf step back to ±max finite.
        let magnitude = _mm256_and_si256(x, _mm256_set1_epi32(0x7fff_ffff));
        let finite = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x7f80_0000), magnitude);
        let at_inf = _mm256_cmpeq_epi32(
            _mm256_and_si256(y, _mm256_set1_epi32(0x7fff)),
            _mm256_set1_epi32(0x7f80),
        );
        let overflowed = _mm256_and_si256(finite, at_inf);
        _mm256_add_epi32(y, overflowed) // all-ones lanes subtract one
    } else {
        y
    }
}

/// 8 f32 patterns + 8 random values -> 8 f16 patterns (low halves of the lanes), for any
/// input; [`sr_f16_pair`] takes a shorter way where all lanes allow it.
#[inline]
#[target_feature(enable = "avx2")]
fn sr_f16<const SATURATE: bool>(x: __m256i, r: __m256i) -> __m256i {
    let splat = |v: i32| _mm256_set1_epi32(v);
    let a = _mm256_and_si256(x, splat(0x7fff_ffff));
    let sign = _mm256_and_si256(_mm256_srli_epi32::<16>(x), splat(0x8000));
    let e = _mm256_srli_epi32::<23>(a);
    let m = _mm256_or_si256(_mm256_and_si256(a, splat(0x007f_ffff)), splat(0x0080_0000));
    // Dropped bits d: 13 in f16's normal range, 126 - e below (capped where the result is 0).
    let normal = _mm256_cmpgt_epi32(e, splat(112));
    let d = _mm256_blendv_epi8(
        _mm256_min_epi32(_mm256_sub_epi32(splat(126), e), splat(47)),
        splat(13),
        normal,
    );
    // floor((m + floor(r * 2^d / 2^16)) / 2^d), in 32 bits: ((m >> (d-16)) + r) >> 16 for
    // d >= 16, (m + (r >> (16-d))) >> d below.
    let above = _mm256_max_epi32(_mm256_sub_epi32(d, splat(16)), _mm256_setzero_si256());
    let below = _mm256_max_epi32(_mm256_sub_epi32(splat(16), d), _mm256_setzero_si256());
    let sum = _mm256_add_epi32(_mm256_srlv_epi32(m, above), _mm256_srlv_epi32(r, below));
    let kept = _mm256_srlv_epi32(sum, _mm256_min_epi32(d, splat(16)));
    let exponent = _mm256_and_si256(
        normal,
        _mm256_slli_epi32::<10>(_mm256_sub_epi32(e, splat(113))),
    );
    let limit = splat(if SATURATE { 0x7bff } else { 0x7c00 });
    let finite = _mm256_min_epu32(_mm256_add_epi32(exponent, kept), limit);
    let nan_bits = _mm256_or_si256(
        splat(0x0200),
        _mm256_and_si256(_mm256_srli_epi32::<13>(a), splat(0x03ff)),
    );
    let is_nan = _mm256_cmpgt_epi32(a, splat(0x7f80_0000));
    let special = _mm256_or_si256(splat(0x7c00), _mm256_and_si256(is_nan, nan_bits));
    let out = _mm256_blendv_epi8(finite, special, _mm256_cmpgt_epi32(a, splat(0x7f7f_ffff)));
    _mm256_or_si256(out, sign)
}

/// Two groups of 8 results (u32 lanes holding 16-bit patterns) -> 16 u16 in order.
#[inline]
#[target_feature(enable = "avx2")]
fn narrow16(a: __m256i, b: __m256i) -> __m256i {
    _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(a, b))
}

/// IEEE mode's bf16 rounding of 16 lanes, where none holds a NaN (one unordered comparison of
/// the two vectors tells: [`unordered`]): the bare add-and-truncate, as ±Inf plus at most
/// 0xffff stays ±Inf.
#[inline]
#[target_feature(enable = "avx2")]
fn without_nan(x: [__m256i; 2], r: [__m256i; 2]) -> Option<__m256i> {
    let unordered = unordered(x);
    (_mm256_testz_ps(unordered, unordered) != 0).then(|| nan_free_bf16(x, r))
}

/// All-ones lanes where `x[0]` or `x[1]` holds a NaN (one `vcmpps`).
#[inline]
#[target_feature(enable = "avx2")]
fn unordered(x: [__m256i; 2]) -> __m256 {
    _mm256_cmp_ps::<_CMP_UNORD_Q>(_mm256_castsi256_ps(x[0]), _mm256_castsi256_ps(x[1]))
}

/// [`without_nan`]'s rounding, unchecked.
#[inline]
#[target_feature(enable = "avx2")]
fn nan_free_bf16(x: [__m256i; 2], r: [__m256i; 2]) -> __m256i {
    high_halves(_mm256_add_epi32(x[0], r[0]), _mm256_add_epi32(x[1], r[1]))
}

/// Two groups of 8 f32 patterns and their random values -> 16 bf16 patterns in order.
#[inline]
#[target_feature(enable = "avx2")]
fn sr_bf16_pair<const SATURATE: bool>(x: [__m256i; 2], r: [__m256i; 2]) -> __m256i {
    if let (false, Some(y)) = (SATURATE, without_nan(x, r)) {
        return y;
    }
    narrow16(
        sr_bf16::<SATURATE>(x[0], r[0]),
        sr_bf16::<SATURATE>(x[1], r[1]),
    )
}

/// Two groups of 8 f32 patterns and their random values -> 16 f16 patterns in order.
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn sr_f16_pair<const SATURATE: bool>(x: [__m256i; 2], r: [__m256i; 2]) -> __m256i {
    // Where every lane's magnitude lies in f16's normal range, below its largest finite value,
    // or is tiny (zeros included), adding the top 13 random bits to the pattern and converting
    // toward zero is the reference's add-and-truncate, as on the `Avx512` tier (its
    // `F16_FAST_LOW` says how the range is checked). Moved to the bottom of i32's range, the
    // largest of the 16 lanes' keys takes one signed comparison.
    let fast = |x| {
        let shifted = _mm256_slli_epi32::<1>(x);
        let moved = _mm256_sub_epi32(shifted, _mm256_set1_epi32(F16_FAST_LOW as i32));
        _mm256_min_epu32(moved, shifted)
    };
    let key = _mm256_xor_si256(
        _mm256_max_epu32(fast(x[0]), fast(x[1])),
        _mm256_set1_epi32(i32::MIN),
    );
    let end = _mm256_set1_epi32(i32::MIN + F16_FAST_SPAN as i32);
    if _mm256_movemask_epi8(_mm256_cmpgt_epi32(end, key)) == -1 {
        let toward_zero = |x, r| {
            let y = _mm256_add_epi32(x, _mm256_srli_epi32::<3>(r));
            narrow8::<_MM_FROUND_TO_ZERO>(_mm256_castsi256_ps(y))
        };
        return _mm256_set_m128i(toward_zero(x[1], r[1]), toward_zero(x[0], r[0]));
    }
    narrow16(
        sr_f16::<SATURATE>(x[0], r[0]),
        sr_f16::<SATURATE>(x[1], r[1]),
    )
}

/// The random values of a step's blocks: `random(first)` gives blocks `first..first + 8`,
/// one per vector in element order.
type Bits = [__m128i; BLOCKS];

/// A chunk's random values as a generator draws them, for [`drive`]: `STEP` elements' worth
/// (the `Avx512` tier has its own `ChunkBits`).
pub(super) trait ChunkBits<const STEP: usize>: Copy {
    /// The random values of elements `8k..8k + 16` of the step (`k` even), widened to 32-bit
    /// lanes in element order.
    ///
    /// # Safety
    /// The CPU has AVX2.
    unsafe fn widen(&self, k: usize) -> [__m256i; 2];

    /// IEEE bf16 rounding of elements `8k..8k + 16` of `x` (`k` even), assuming none is a
    /// NaN: the 16 results in order, and all-ones lanes where some was (which voids them).
    ///
    /// # Safety
    /// The CPU has AVX2.
    unsafe fn nan_free_bf16(&self, x: &[f32; STEP], k: usize) -> (__m256i, __m256);

    /// The fused update's IEEE bf16 rounding of `w + alpha * g` at elements `8k..8k + 16`
    /// (`k` even), assuming no sum is a NaN: the 16 results in order, and all-ones lanes
    /// where some was (which voids them).
    ///
    /// # Safety
    /// The CPU has AVX2.
    unsafe fn nan_free_update<G: F32Lanes>(
        &self,
        alpha: f32,
        g: &[G; STEP],
        w: &[bf16; STEP],
        k: usize,
    ) -> (__m256i, __m256);
}

/// Values loaded as f32 lanes (f32 inputs and gradients, bf16 weights and gradients): 8 in
/// element order, or 16 in the order of [`super::paired_bits::PairedBits`]' random values.
pub(super) trait F32Lanes: Copy + Default + Into<f32> {
    /// Elements `i..i + 8` of `g` as f32 (zero past its end). bf16 widens by `vpmovzxwd` and
    /// a shift ([`load_bf16_shifted`]: see [`load_bf16`] for why).
    ///
    /// # Safety
    /// The CPU has AVX2.
    unsafe fn in_order(g: &[Self], i: usize) -> __m256;

    /// Elements `0..4` and `8..12` of `g` as f32 in one vector, `4..8` and `12..16` in the
    /// other. Panics where `g` holds fewer than 16 elements (a chunk always holds them).
    ///
    /// # Safety
    /// The CPU has AVX2.
    unsafe fn in_lanes(g: &[Self]) -> [__m256; 2];
}

impl F32Lanes for f32 {
    #[inline(always)]
    unsafe fn in_order(g: &[f32], i: usize) -> __m256 {
        // SAFETY: the caller's contract.
        unsafe { _mm256_castsi256_ps(load_f32(g, i)) }
    }

    #[inline(always)]
    unsafe fn in_lanes(g: &[f32]) -> [__m256; 2] {
        // SAFETY: the caller's contract (AVX2); each load reads 4 elements of `g`, whose
        // slicing checks that they are there.
        unsafe {
            let quarter = |i: usize| {
                _mm256_broadcastsi128_si256(_mm_loadu_si128(g[i..i + 4].as_ptr().cast()))
            };
            [
                _mm256_castsi256_ps(_mm256_blend_epi32::<0b1111_0000>(quarter(0), quarter(8))),
                _mm256_castsi256_ps(_mm256_blend_epi32::<0b1111_0000>(quarter(4), quarter(12))),
            ]
        }
    }
}

impl F32Lanes for bf16 {
    #[inline(always)]
    unsafe fn in_order(g: &[bf16], i: usize) -> __m256 {
        // SAFETY: the caller's contract.
        unsafe { load_bf16_shifted(g, i) }
    }

    #[inline(always)]
    unsafe fn in_lanes(g: &[bf16]) -> [__m256; 2] {
        let g = &g[..16];
        // SAFETY: the caller's contract (AVX2); one 32-byte load of the 16 elements just
        // sliced.
        unsafe {
            let v = _mm256_loadu_si256(g.as_ptr().cast());
            // Each 16-bit value into the high half of its lane: no lane crossed.
            let zero = _mm256_setzero_si256();
            [
                _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v)),
                _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v)),
            ]
        }
    }
}

impl ChunkBits<STEP> for Bits {
    // Always inlined: through an `#[inline]` function, ARS-5 f32 -> bf16 of 4096 elements ran
    // 1.05x slower on a Zen 5 core.
    #[inline(always)]
    unsafe fn widen(&self, k: usize) -> [__m256i; 2] {
        // SAFETY: the caller's contract (AVX2).
        unsafe {
            [
                _mm256_cvtepu16_epi32(self[k]),
                _mm256_cvtepu16_epi32(self[k + 1]),
            ]
        }
    }

    #[inline(always)]
    unsafe fn nan_free_bf16(&self, x: &[f32; STEP], k: usize) -> (__m256i, __m256) {
        // SAFETY: the caller's contract (AVX2).
        unsafe {
            let x = [load_f32(x, 8 * k), load_f32(x, 8 * k + 8)];
            (nan_free_bf16(x, self.widen(k)), unordered(x))
        }
    }

    #[inline(always)]
    unsafe fn nan_free_update<G: F32Lanes>(
        &self,
        alpha: f32,
        g: &[G; STEP],
        w: &[bf16; STEP],
        k: usize,
    ) -> (__m256i, __m256) {
        // SAFETY: the caller's contract (AVX2).
        unsafe {
            let t = [
                update_sum(alpha, g, w, 8 * k),
                update_sum(alpha, g, w, 8 * k + 8),
            ];
            (nan_free_bf16(t, self.widen(k)), unordered(t))
        }
    }
}

/// Shared driver: `round(x_bits, r)`, 16 lanes in two vectors to 16 16-bit results in order,
/// over chunks of [`STEP`] elements, with the random values of `random`. `WRITE_ONLY`: `load`
/// never reads `dst`, so a large output is streamed (as on the `Avx512` tier, whose driver
/// says why). `OPTIMISTIC` (IEEE bf16 only): each chunk is first rounded as if it held no
/// NaN, as on the `Avx512` tier. `FAST16` (the IEEE fused update): each 16 lanes are first
/// rounded as if none held a NaN, and only where one does by `round` (a read-write output
/// cannot be rounded twice a chunk). `AHEAD`: each chunk's bits are drawn one chunk ahead
/// ([`draws_random_bits_ahead`] says where that pays).
/// `nan_free` rounds 16 elements of an `OPTIMISTIC` or `FAST16` chunk so
/// ([`ChunkBits::nan_free_bf16`], [`ChunkBits::nan_free_update`]), reading its inputs in
/// whatever order the generator's bits are in.
#[allow(clippy::too_many_arguments)] // each part of a kernel a closure, as the `Avx512` tier's
#[inline(always)]
fn drive<
    S: Copy + Default,
    D: Copy + Default,
    const WRITE_ONLY: bool,
    const OPTIMISTIC: bool,
    const FAST16: bool,
    const AHEAD: bool,
    const STEP: usize,
    B: ChunkBits<STEP>,
>(
    src: &[S],
    dst: &mut [D],
    sr: Sr,
    random: impl Fn(u64) -> B,
    load: impl Fn(&[S], &[D], usize) -> __m256i,
    round: impl Fn([__m256i; 2], [__m256i; 2]) -> __m256i,
    nan_free: impl Fn(&[S; STEP], &[D; STEP], &B, usize) -> (__m256i, __m256),
    mut edge: impl FnMut(&[S], &mut [D], u64),
) {
    // Large arrays come from DRAM: fetch ahead, as the conversions do; stream a write-only
    // output from chunks that start on a 32-byte boundary (all of them or none; the edge takes
    // a block more where that gets there).
    const {
        assert!(
            WRITE_ONLY || !OPTIMISTIC,
            "an optimistic chunk is written twice"
        );
        assert!(!(OPTIMISTIC && FAST16), "one NaN-free path at a time");
    };
    let large = size_of_val(dst) >= STREAM_MIN_BYTES;
    // The head (the elements before the first block boundary) and the tail (after the last
    // whole chunk) are rounded in place, as on the `Avx512` tier ([`round_head`],
    // [`round_tail`]), instead of an element at a time and on a zeroed padded copy.
    let (src, dst, sr) = head_in_place(src, dst, sr, |s, d, lane, block| {
        let bits = random(block);
        // SAFETY: `drive` is inlined into the kernels below, which enable these features.
        unsafe { round_head(s, d, lane, &bits, &load, &round) }
    });
    let (src, dst, sr) = if large && WRITE_ONLY {
        to_line(src, dst, sr, 32, &mut edge)
    } else {
        (src, dst, sr)
    };
    let tail_min = in_place_tail_min(sr, PHILOX_TAIL_MIN);
    let (src, dst) = tail_in_place(src, dst, sr, STEP, tail_min, |s, d, block| {
        let bits = random(block);
        // SAFETY: `drive` is inlined into the kernels below, which enable these features.
        unsafe { round_tail(s, d, &bits, &load, &round) }
    });
    // `for_each_block_chunk` keeps `tail_min`, although no tail of that length is left for its
    // padded branch: given `usize::MAX`, which takes the branch out of the code, ARS-5
    // f32 -> bf16 of 4096 elements ran 1.03x slower on a Zen 5 core (minima of 7 alternated
    // runs) and f32 -> f16 1.11x faster, but not when f16 alone left it out: register
    // allocation and code layout, not the branch.
    let mut ahead = DrawAhead::<B, STEP>::new(src.len().min(dst.len()), sr.offset, tail_min);
    // Where the arrays end: nothing past them is prefetched (see `prefetch_at`).
    let (src_end, dst_end) = (src.as_ptr_range().end, dst.as_ptr_range().end);
    for_each_block_chunk::<_, _, STEP>(
        src,
        dst,
        sr.offset,
        tail_min,
        |s, d, block| {
            if large {
                prefetch_ahead(s, src_end);
                if !WRITE_ONLY {
                    prefetch_ahead(d, dst_end);
                }
            }
            let stream = large && WRITE_ONLY && (d.as_ptr() as usize).is_multiple_of(32);
            let bits = if AHEAD {
                ahead.take(block, &random)
            } else {
                random(block)
            };
            let store = |d: &mut [D], k: usize, ys| {
                let p: *mut __m256i = d[8 * k..].as_mut_ptr().cast();
                // SAFETY: `d` holds STEP 16-bit elements; this writes 16 of them from 8k,
                // streamed only where `p` is 32-byte aligned.
                unsafe {
                    if stream {
                        _mm256_stream_si256(p, ys)
                    } else {
                        _mm256_storeu_si256(p, ys)
                    }
                };
            };
            // SAFETY (both): `drive` is inlined into the kernels below, which enable avx2;
            // `load` reads elements 8k..8k+16 of the chunk.
            let inputs = |d: &[D], k: usize| unsafe {
                let x = [load(s, d, 8 * k), load(s, d, 8 * k + 8)];
                (x, bits.widen(k))
            };
            // IEEE bf16 with no NaN in the chunk: one comparison and one OR per 16 lanes and
            // one test per chunk, instead of a test and a branch per 16 lanes. A chunk with a
            // NaN is rounded again below (its output is only written, never read).
            let done = OPTIMISTIC && {
                // SAFETY: as above.
                let mut nan = unsafe { _mm256_setzero_ps() };
                for k in (0..STEP / 8).step_by(2) {
                    let (y, unordered) = nan_free(s, d, &bits, k);
                    // SAFETY: as above.
                    nan = unsafe { _mm256_or_ps(nan, unordered) };
                    store(d, k, y);
                }
                // SAFETY: as above.
                unsafe { _mm256_testz_ps(nan, nan) != 0 }
            };
            if !done {
                for k in (0..STEP / 8).step_by(2) {
                    if FAST16 {
                        let (y, unordered) = nan_free(s, d, &bits, k);
                        // SAFETY: as above.
                        if unsafe { _mm256_testz_ps(unordered, unordered) } != 0 {
                            store(d, k, y);
                            continue;
                        }
                    }
                    let (x, r) = inputs(d, k);
                    store(d, k, round(x, r));
                }
            }
        },
        edge,
    );
    if large && WRITE_ONLY {
        // Order the weakly-ordered streaming stores before anything the caller does next.
        // SAFETY: SSE is part of the x86_64 baseline.
        unsafe { _mm_sfence() };
    }
}

/// The shortest Philox tail `drive` rounds in place ([`round_tail`]) rather than one element
/// at a time ([`edge`]; with ARS-5 any tail goes in place: [`in_place_tail_min`]). Philox
/// f32 -> bf16 of 256 + 1, 3, 5 and 7 elements took 102, 106, 111 and 114 ns on a Zen 5 core
/// with the tail through the reference, and 110, 109, 109 and 109 ns in place (minima of 5).
const PHILOX_TAIL_MIN: usize = 5;

/// `drive`'s tail: fewer than [`STEP`] elements from a block boundary, rounded with the bits of
/// their chunk, 16 lanes at a time. `load` zeroes the lanes past the end, and the last 16
/// results are stored through a mask ([`store16`]). Where those masked loads and stores would
/// reach a page the slices do not ([`within_valid_pages`]), the tail goes through zero-padded
/// copies instead. Out of line, so that it leaves the chunks' loop its registers.
#[inline(never)]
#[target_feature(enable = "avx2,fma,f16c")]
fn round_tail<S: Copy + Default, D: Copy + Default, const STEP: usize>(
    src: &[S],
    dst: &mut [D],
    bits: &impl ChunkBits<STEP>,
    load: &impl Fn(&[S], &[D], usize) -> __m256i,
    round: &impl Fn([__m256i; 2], [__m256i; 2]) -> __m256i,
) {
    let n = src.len().min(dst.len());
    assert!(n < STEP);
    let (src, dst) = (&src[..n], &mut dst[..n]);
    // The masked loads and stores reach the end of the last step of 16 elements.
    let whole = n.div_ceil(16) * 16;
    if reach_within(src, whole) && reach_within(dst, whole) {
        return round_in_place(src, dst, bits, load, round);
    }
    let (mut s, mut d) = ([S::default(); STEP], [D::default(); STEP]);
    s[..n].copy_from_slice(src);
    d[..n].copy_from_slice(dst);
    round_in_place(&s[..whole], &mut d[..whole], bits, load, round);
    dst.copy_from_slice(&d[..n]);
}

/// [`round_tail`]'s rounding, with the masked loads and stores: from `src` and `dst` (fewer
/// than [`STEP`] elements) to the end of their last step of 16, every page holds some of them.
#[inline(always)]
fn round_in_place<S, D, const STEP: usize>(
    src: &[S],
    dst: &mut [D],
    bits: &impl ChunkBits<STEP>,
    load: &impl Fn(&[S], &[D], usize) -> __m256i,
    round: &impl Fn([__m256i; 2], [__m256i; 2]) -> __m256i,
) {
    let n = src.len().min(dst.len());
    for k in 0..n.div_ceil(16) {
        let x = [load(src, dst, 16 * k), load(src, dst, 16 * k + 8)];
        // SAFETY: inlined into `round_tail`, which enables avx2.
        let y = round(x, unsafe { bits.widen(2 * k) });
        // SAFETY: as above.
        unsafe { store16(&mut dst[16 * k..n], y) };
    }
}

/// `drive`'s head: the elements before the first block boundary (at most 7), the first of
/// them at `lane` of its block, whose bits are `bits[0]`. They are rounded at that place in
/// 16-lane copies ([`shifted`]), and the results moved back down and stored through a mask;
/// where those masked loads and stores would reach a page the slices do not
/// ([`within_valid_pages`]), the copies are made and read back element by element instead.
#[inline(never)]
#[target_feature(enable = "avx2,fma,f16c")]
fn round_head<S: Copy + Default, D: Copy + Default, const STEP: usize>(
    src: &[S],
    dst: &mut [D],
    lane: usize,
    bits: &impl ChunkBits<STEP>,
    load: &impl Fn(&[S], &[D], usize) -> __m256i,
    round: &impl Fn([__m256i; 2], [__m256i; 2]) -> __m256i,
) {
    let h = src.len().min(dst.len());
    let (src, dst) = (&src[..h], &mut dst[..h]);
    // `shifted`'s loads: f32 from `lane` elements before the slice, 16-bit elements from its
    // start; `store16`'s 32 bytes from the start of `dst`.
    let before = if size_of::<S>() == 4 { 4 * lane } else { 0 };
    let (s_at, d_at) = (src.as_ptr() as usize, dst.as_ptr() as usize);
    let masked = within_valid_pages(s_at.wrapping_sub(before), 32, s_at, size_of_val(src))
        && within_valid_pages(d_at, 32, d_at, size_of_val(dst));
    if !masked {
        let (mut s, mut d) = ([S::default(); 16], [D::default(); 16]);
        s[lane..lane + h].copy_from_slice(src);
        d[lane..lane + h].copy_from_slice(dst);
        // SAFETY: `round_head` enables avx2.
        let y = round([load(&s, &d, 0), load(&s, &d, 8)], unsafe { bits.widen(0) });
        // SAFETY: `d` holds 32 bytes.
        unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), y) };
        dst.copy_from_slice(&d[lane..lane + h]);
        return;
    }
    let (s, d) = (shifted(src, lane), shifted(dst, lane));
    // SAFETY: `round_head` enables avx2.
    let y = round([load(&s, &d, 0), load(&s, &d, 8)], unsafe { bits.widen(0) });
    // Lanes `lane..` down to 0: `vpshufb` reads byte `2 * lane + b` for byte `b` (the lanes
    // past the block read junk, and are not stored).
    let down = _mm_add_epi8(bytes_up_to_16(), _mm_set1_epi8(2 * lane as i8));
    let y = _mm_shuffle_epi8(_mm256_castsi256_si128(y), down);
    store16(dst, _mm256_castsi128_si256(y));
}

/// 0, 1, ..., 15 in the bytes of a vector.
#[inline]
#[target_feature(enable = "avx2")]
fn bytes_up_to_16() -> __m128i {
    _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
}

/// `v` (at most 8 elements of 2 or 4 bytes, `lane + v.len() <= 8`) moved to lanes `lane..` of
/// 16, zero elsewhere. f32: one masked load from `lane` elements before `v`; 16-bit elements
/// ([`load16`]), moved up by one `vpshufb`.
#[inline]
#[target_feature(enable = "avx2")]
fn shifted<T: Copy + Default>(v: &[T], lane: usize) -> [T; 16] {
    const { assert!(size_of::<T>() == 2 || size_of::<T>() == 4) };
    assert!(lane + v.len() <= SR_BLOCK as usize);
    let mut out = [T::default(); 16];
    if size_of::<T>() == 4 {
        let lanes = _mm256_andnot_si256(low_lanes(lane), low_lanes(lane + v.len()));
        let p = v.as_ptr().cast::<i32>().wrapping_sub(lane);
        // SAFETY: the loaded lanes are `v`'s elements, placed from `lane`; the others are not
        // read, and `round_head` keeps them on `v`'s pages (AMD may fault on others). `out`
        // holds 64 bytes.
        unsafe {
            let x = _mm256_maskload_epi32(p, lanes);
            _mm256_storeu_si256(out.as_mut_ptr().cast(), x);
        }
    } else {
        // Bytes below `2 * lane` select nothing (their high bit set): zero.
        let up = _mm_sub_epi8(bytes_up_to_16(), _mm_set1_epi8(2 * lane as i8));
        let x = _mm_shuffle_epi8(load16(v, 0), up);
        // SAFETY: `out` holds 32 bytes.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), x) };
    }
    out
}

/// The low `n` of 8 32-bit lanes all ones, the others zero (all for `n >= 8`): a
/// `vpmaskmovd` mask.
#[inline]
#[target_feature(enable = "avx2")]
fn low_lanes(n: usize) -> __m256i {
    let n = _mm256_set1_epi32(n.min(8) as i32);
    _mm256_cmpgt_epi32(n, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
}

/// Stores the first `d.len()` (at most 16) of the 16 16-bit results in `y` to `d`: AVX2 has no
/// 16-bit masked store, so the pairs go through a 32-bit one and an odd last one alone.
#[inline]
#[target_feature(enable = "avx2")]
fn store16<D>(d: &mut [D], y: __m256i) {
    const { assert!(size_of::<D>() == 2, "the stores write 16-bit elements") };
    let m = d.len();
    if m >= 16 {
        // SAFETY: `d` holds at least 16 16-bit elements.
        unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), y) };
        return;
    }
    // SAFETY: writes the first `m / 2` pairs of `d`; the masked-off lanes are not written,
    // and the callers keep them on `d`'s pages (AMD may fault on others).
    unsafe { _mm256_maskstore_epi32(d.as_mut_ptr().cast(), low_lanes(m / 2), y) };
    if m % 2 == 1 {
        let mut lanes = [0u16; 16];
        // SAFETY: `lanes` holds 32 bytes; `m - 1` is an element of `d`, which holds 16-bit
        // elements of any bit pattern (`bf16` or `f16`).
        unsafe {
            _mm256_storeu_si256(lanes.as_mut_ptr().cast(), y);
            d.as_mut_ptr().add(m - 1).cast::<u16>().write(lanes[m - 1]);
        }
    }
}

/// 8 16-bit elements from `s[i..]`, lanes past the end of `s` zero: the pairs through a 32-bit
/// masked load, an odd last one broadcast and blended into its lane.
#[inline]
#[target_feature(enable = "avx2")]
fn load16<T>(s: &[T], i: usize) -> __m128i {
    // Not a `const` assertion: `shifted` names this for 4-byte elements in a branch it never
    // takes.
    assert!(size_of::<T>() == 2);
    // In a chunk `s.len()` and `i` are constants, and the test folds away.
    if i + 8 <= s.len() {
        // SAFETY: checked just above.
        return unsafe { _mm_loadu_si128(s[i..].as_ptr().cast()) };
    }
    let m = s.len().saturating_sub(i);
    let p = s.as_ptr().wrapping_add(i);
    let pairs = _mm256_castsi256_si128(low_lanes(m / 2));
    // SAFETY: reads only the pairs of elements inside `s` (none where `m < 2`); the masked
    // lanes are not read, and the callers keep them on `s`'s pages (AMD may fault on others).
    let x = unsafe { _mm_maskload_epi32(p.cast(), pairs) };
    if m.is_multiple_of(2) {
        return x;
    }
    // SAFETY: `i + m - 1` is the last element of `s`, 2 bytes of any bit pattern.
    let last = unsafe { p.add(m - 1).cast::<i16>().read() };
    let at = _mm_cmpeq_epi16(
        _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7),
        _mm_set1_epi16((m - 1) as i16),
    );
    _mm_blendv_epi8(x, _mm_set1_epi16(last), at)
}

/// 8 f32 from `s[i..]` as bit patterns; lanes past the end of `s` (a tail's) are zero.
#[inline]
#[target_feature(enable = "avx2")]
fn load_f32(s: &[f32], i: usize) -> __m256i {
    // In a chunk `s.len()` and `i` are constants, and the test folds away.
    if i + 8 <= s.len() {
        // SAFETY: checked just above.
        return unsafe { _mm256_loadu_si256(s[i..].as_ptr().cast()) };
    }
    let p: *const i32 = s.as_ptr().wrapping_add(i).cast();
    // SAFETY: reads only the lanes of elements inside `s` (none where `i >= s.len()`); the
    // masked lanes are not read, and `round_tail` keeps them on `s`'s pages (AMD may fault on
    // others).
    unsafe { _mm256_maskload_epi32(p, low_lanes(s.len().saturating_sub(i))) }
}

/// 8 bf16 from `s[i..]` widened to f32, lanes past the end zero. Their NaNs are not quieted
/// (`half`'s `to_f32`, the reference's, quiets them): the fused update only takes them into
/// its sum, whose NaNs all become the canonical NaN, so no payload reaches a result.
/// Weights widen by `Lanes`' broadcast load and byte shuffle where 8 are there, and bf16
/// gradients by a shift ([`load_bf16_shifted`]): on Zen 1, whose vector shifts run on one
/// pipe and shuffles on two, ARS-5 updates of 4096 weights ran 1.08x (bf16 gradients) and
/// 1.10x (f32) faster that way, and 0.95x with both operands shuffled.
#[inline]
#[target_feature(enable = "avx2")]
fn load_bf16(s: &[bf16], i: usize) -> __m256 {
    // In a chunk `s.len()` and `i` are constants, and the test folds away.
    if i + 8 <= s.len() {
        // SAFETY: checked just above; the CPU has avx2.
        return unsafe { <bf16 as Lanes>::lanes(s[i..].as_ptr()) };
    }
    load_bf16_shifted(s, i)
}

/// [`load_bf16`] by `vpmovzxwd` and a shift.
#[inline]
#[target_feature(enable = "avx2")]
fn load_bf16_shifted(s: &[bf16], i: usize) -> __m256 {
    let h = load16(s, i);
    _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h)))
}

/// The fused update's sums `w + alpha * g` of elements `i..i + 8`, as f32 patterns (lanes
/// past the slices' ends zero), computed in f32 and not fused, as the reference does.
///
/// # Safety
/// The CPU has AVX2.
#[inline(always)]
unsafe fn update_sum<G: F32Lanes>(alpha: f32, g: &[G], w: &[bf16], i: usize) -> __m256i {
    // SAFETY: the caller's contract.
    unsafe {
        let t = _mm256_add_ps(
            load_bf16(w, i),
            _mm256_mul_ps(_mm256_set1_ps(alpha), G::in_order(g, i)),
        );
        _mm256_castps_si256(t)
    }
}

/// `drive`'s `nan_free` for the kernels with no NaN-free path (never called).
fn never_nan_free<S, D, B, const STEP: usize>(
    _: &[S; STEP],
    _: &[D; STEP],
    _: &B,
    _: usize,
) -> (__m256i, __m256) {
    unreachable!("only the IEEE bf16 conversion and fused update have a NaN-free path")
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn f32_to_bf16_with<const AHEAD: bool, const STEP: usize, B: ChunkBits<STEP>>(
    src: &[f32],
    dst: &mut [bf16],
    sr: Sr,
    random: impl Fn(u64) -> B,
) {
    let edge = |s: &[f32], d: &mut [bf16], at| edge::f32_to_bf16(s, d, at, sr);
    // SAFETY: this closure runs inside the kernels below, which enable avx2.
    let nan_free = |x: &[f32; STEP], _: &_, bits: &B, k| unsafe { bits.nan_free_bf16(x, k) };
    match sr.overflow {
        Overflow::Infinity => drive::<_, _, true, true, false, AHEAD, STEP, B>(
            src,
            dst,
            sr,
            &random,
            |s, _, i| load_f32(s, i),
            |x, r| sr_bf16_pair::<false>(x, r),
            nan_free,
            edge,
        ),
        Overflow::Saturate => drive::<_, _, true, false, false, AHEAD, STEP, B>(
            src,
            dst,
            sr,
            &random,
            |s, _, i| load_f32(s, i),
            |x, r| sr_bf16_pair::<true>(x, r),
            nan_free,
            edge,
        ),
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn f32_to_f16_with<const AHEAD: bool, const STEP: usize, B: ChunkBits<STEP>>(
    src: &[f32],
    dst: &mut [f16],
    sr: Sr,
    random: impl Fn(u64) -> B,
) {
    let edge = |s: &[f32], d: &mut [f16], at| edge::f32_to_f16(s, d, at, sr);
    match sr.overflow {
        Overflow::Infinity => drive::<_, _, true, false, false, AHEAD, STEP, B>(
            src,
            dst,
            sr,
            &random,
            |s, _, i| load_f32(s, i),
            |x, r| sr_f16_pair::<false>(x, r),
            never_nan_free,
            edge,
        ),
        Overflow::Saturate => drive::<_, _, true, false, false, AHEAD, STEP, B>(
            src,
            dst,
            sr,
            &random,
            |s, _, i| load_f32(s, i),
            |x, r| sr_f16_pair::<true>(x, r),
            never_nan_free,
            edge,
        ),
    }
}

/// `w = sr(w + alpha * g)` for two groups of 8 lanes, the sums `t` as f32 patterns, to 16
/// bf16 in order; NaN sums become the canonical NaN.
#[inline]
#[target_feature(enable = "avx2")]
fn update<const SATURATE: bool>(t: [__m256i; 2], r: [__m256i; 2]) -> __m256i {
    if let (false, Some(y)) = (SATURATE, without_nan(t, r)) {
        return y;
    }
    let nan = _mm256_set1_epi32(i32::from(r::CANONICAL_NAN.to_bits()));
    let one = |t: __m256i, r| {
        let tf = _mm256_castsi256_ps(t);
        let is_nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(tf, tf));
        _mm256_blendv_epi8(sr_bf16::<SATURATE>(t, r), nan, is_nan)
    };
    narrow16(one(t[0], r[0]), one(t[1], r[1]))
}

/// The fused update, its gradients loaded by [`F32Lanes`].
#[inline(always)]
fn axpy<G: F32Lanes, const AHEAD: bool, const STEP: usize, B: ChunkBits<STEP>>(
    alpha: f32,
    g: &[G],
    w: &mut [bf16],
    sr: Sr,
    random: impl Fn(u64) -> B,
) {
    let edge = |g: &[G], w: &mut [bf16], at| edge::axpy(alpha, g, w, at, sr);
    // SAFETY (all four): these closures run inside the kernels below, which enable avx2.
    let sum = |g: &[G], w: &[bf16], i| unsafe { update_sum(alpha, g, w, i) };
    // SAFETY: as above.
    let to_infinity = |t, r| unsafe { update::<false>(t, r) };
    // SAFETY: as above.
    let saturating = |t, r| unsafe { update::<true>(t, r) };
    match sr.overflow {
        Overflow::Infinity => drive::<_, _, false, false, true, AHEAD, STEP, B>(
            g,
            w,
            sr,
            random,
            sum,
            to_infinity,
            // SAFETY: as above.
            |g: &[G; STEP], w: &[bf16; STEP], bits: &B, k| unsafe {
                bits.nan_free_update(alpha, g, w, k)
            },
            edge,
        ),
        Overflow::Saturate => drive::<_, _, false, false, false, AHEAD, STEP, B>(
            g,
            w,
            sr,
            random,
            sum,
            saturating,
            never_nan_free,
            edge,
        ),
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn axpy_f32_with<const AHEAD: bool, const STEP: usize, B: ChunkBits<STEP>>(
    alpha: f32,
    g: &[f32],
    w: &mut [bf16],
    sr: Sr,
    random: impl Fn(u64) -> B,
) {
    axpy::<_, AHEAD, STEP, B>(alpha, g, w, sr, random);
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn axpy_bf16_with<const AHEAD: bool, const STEP: usize, B: ChunkBits<STEP>>(
    alpha: f32,
    g: &[bf16],
    w: &mut [bf16],
    sr: Sr,
    random: impl Fn(u64) -> B,
) {
    axpy::<_, AHEAD, STEP, B>(alpha, g, w, sr, random);
}

/// The kernel table's entries, one per operation, and their ARS-5 twins: `$name` draws the
/// bits `sr.generator` names, ARS-5 through `$vaes` where the CPU has VAES, through `$ars`
/// where it has AES-NI only, and through the `Portable` tier's kernel (software AES by tables)
/// where it has neither.
macro_rules! entries {
    ($($name:ident, $ars:ident, $ars_drawn:ident, $vaes:ident, $with:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[target_feature(enable = "avx2,fma,f16c")]
        pub(in crate::arch::x86_64) unsafe fn $name($($arg: $ty,)* sr: Sr) {
            if sr.generator == Generator::Ars5 {
                if let Some(vaes) = Vaes::detect() {
                    // SAFETY: this tier's features, and `vaes` proves the ones `$vaes` adds.
                    return unsafe { $vaes(vaes, $($arg,)* sr) };
                }
                return match Aes::detect() {
                    // SAFETY: this tier's features, and `aes` proves the one `$ars` adds.
                    Some(aes) => unsafe { $ars(aes, $($arg,)* sr) },
                    None => portable::$name($($arg,)* sr),
                };
            }
            // Opaque to the optimiser, so the loop reads the keys from memory instead of
            // rebuilding each broadcast from the seed (two instructions each) in every step.
            let keys = core::hint::black_box(RoundKeys::new(sr.seed));
            let random = |first| random_blocks(&keys, first);
            if draws_random_bits_ahead() {
                $with::<true, STEP, _>($($arg,)* sr, random)
            } else {
                $with::<false, STEP, _>($($arg,)* sr, random)
            }
        }

        /// # Safety
        /// The CPU supports the Avx2 tier.
        #[target_feature(enable = "avx2,fma,f16c,aes")]
        unsafe fn $ars(aes: Aes, $($arg: $ty,)* sr: Sr) {
            // SAFETY: the caller's contract.
            unsafe {
                if draws_random_bits_ahead() {
                    $ars_drawn::<true>(aes, $($arg,)* sr)
                } else {
                    $ars_drawn::<false>(aes, $($arg,)* sr)
                }
            }
        }

        /// `$ars` with the draw ahead fixed (the tests run both).
        ///
        /// # Safety
        /// The CPU supports the Avx2 tier.
        #[target_feature(enable = "avx2,fma,f16c,aes")]
        unsafe fn $ars_drawn<const AHEAD: bool>(_: Aes, $($arg: $ty,)* sr: Sr) {
            let keys = core::hint::black_box(ArsKeys::new(sr.seed));
            $with::<AHEAD, STEP, _>($($arg,)* sr, |first| ars::random_blocks(&keys, first))
        }

        /// # Safety
        /// The CPU supports the Avx2 tier.
        #[target_feature(enable = "avx2,fma,f16c,aes,vaes")]
        unsafe fn $vaes(_: Vaes, $($arg: $ty,)* sr: Sr) {
            // Not drawn ahead: a step's bits are eight vectors, half the registers. On a Zen 3
            // core, drawing them at each step's start ran 1.02-1.14x faster than one step
            // ahead (f32 -> bf16 of 4096 elements, three alternated pairs).
            let keys = core::hint::black_box(ArsKeys2::new(sr.seed));
            $with::<false, PAIRED_STEP, _>($($arg,)* sr, |first| {
                ars::random_blocks_vaes(&keys, first)
            })
        }
    )*};
}

entries! {
    f32_to_bf16, f32_to_bf16_ars, f32_to_bf16_ars_drawn, f32_to_bf16_vaes,
        f32_to_bf16_with(src: &[f32], dst: &mut [bf16]);
    f32_to_f16, f32_to_f16_ars, f32_to_f16_ars_drawn, f32_to_f16_vaes,
        f32_to_f16_with(src: &[f32], dst: &mut [f16]);
    axpy_f32, axpy_f32_ars, axpy_f32_ars_drawn, axpy_f32_vaes,
        axpy_f32_with(alpha: f32, g: &[f32], w: &mut [bf16]);
    axpy_bf16, axpy_bf16_ars, axpy_bf16_ars_drawn, axpy_bf16_vaes,
        axpy_bf16_with(alpha: f32, g: &[bf16], w: &mut [bf16]);
}

#[cfg(test)]
mod tests {
    //! Both ARS-5 kernels against the reference: a CPU with VAES runs only the ymm one by
    //! default, one with AES-NI alone only the xmm one; and the xmm and Philox kernels with
    //! their bits drawn ahead and not (each CPU runs one of the two by default). And the heads
    //! and tails whose masked loads and stores would reach past their slices' pages
    //! ([`within_valid_pages`]).

    use half::bf16;

    use super::super::super::{check_sr_against_reference, Aes, Vaes};
    use super::*;
    use crate::arch::SrOutputs;
    use crate::reference::stochastic::SrOptions;

    /// The xmm ARS-5 kernels, or the Philox ones (as `sr` names), with the draw ahead fixed.
    #[target_feature(enable = "avx2,fma,f16c,aes")]
    fn drawn<const AHEAD: bool>(aes: Aes, s: &[f32], out: &mut SrOutputs, sr: Sr) {
        if sr.generator == Generator::Ars5 {
            // SAFETY: this function's features are the Avx2 tier's and AES-NI.
            unsafe {
                f32_to_bf16_ars_drawn::<AHEAD>(aes, s, &mut out.bf16, sr);
                f32_to_f16_ars_drawn::<AHEAD>(aes, s, &mut out.f16, sr);
                axpy_f32_ars_drawn::<AHEAD>(aes, 0.5, s, &mut out.axpy, sr);
            }
        } else {
            let keys = RoundKeys::new(sr.seed);
            let random = |first| random_blocks(&keys, first);
            f32_to_bf16_with::<AHEAD, STEP, _>(s, &mut out.bf16, sr, random);
            f32_to_f16_with::<AHEAD, STEP, _>(s, &mut out.f16, sr, random);
            axpy_f32_with::<AHEAD, STEP, _>(0.5, s, &mut out.axpy, sr, random);
        }
    }

    #[test]
    fn every_generator_kernel_and_draw_matches_the_reference() {
        if !crate::Isa::Avx2.is_supported() {
            return;
        }
        let mut next = crate::arch::x86_64::xorshift(0x2545_f491_4f6c_dd1du64);
        let src: Vec<f32> = (0..700).map(|_| f32::from_bits(next() as u32)).collect();
        let w0: Vec<bf16> = (0..700).map(|_| bf16::from_bits(next() as u16)).collect();
        for (len, offset) in [
            (0, 0),
            (1, 5),
            (63, 8),
            (64, 0),
            (300, 3),
            (700, u64::MAX - 40),
        ] {
            for (overflow, generator) in [
                (Overflow::Infinity, Generator::Ars5),
                (Overflow::Saturate, Generator::Ars5),
                (Overflow::Infinity, Generator::Philox4x32_10),
                (Overflow::Saturate, Generator::Philox4x32_10),
            ] {
                let options = SrOptions {
                    overflow,
                    generator,
                };
                let sr = Sr::new(0x5eed, offset, options);
                let s = &src[..len];
                if let Some(aes) = Aes::detect() {
                    check_sr_against_reference(s, &w0, sr, "drawn ahead", |out| {
                        // SAFETY: the Avx2 tier is supported (checked above).
                        unsafe { drawn::<true>(aes, s, out, sr) }
                    });
                    check_sr_against_reference(s, &w0, sr, "drawn in place", |out| {
                        // SAFETY: as above.
                        unsafe { drawn::<false>(aes, s, out, sr) }
                    });
                }
                if generator == Generator::Philox4x32_10 {
                    continue;
                }
                if let Some(vaes) = Vaes::detect() {
                    check_sr_against_reference(s, &w0, sr, "ymm", |out| {
                        // SAFETY: as above.
                        unsafe {
                            f32_to_bf16_vaes(vaes, s, &mut out.bf16, sr);
                            f32_to_f16_vaes(vaes, s, &mut out.f16, sr);
                            axpy_f32_vaes(vaes, 0.5, s, &mut out.axpy, sr);
                        }
                    });
                }
            }
        }
    }

    /// A slice of `n` elements of `buf` that ends (`at_end`) or starts on a 4096-byte
    /// boundary inside it.
    fn at_page<T>(buf: &mut [T], n: usize, at_end: bool) -> &mut [T] {
        let page = buf.as_ptr().align_offset(4096) + 4096 / size_of::<T>();
        let start = if at_end { page - n } else { page };
        &mut buf[start..start + n]
    }

    /// Heads and tails whose masked windows would cross onto a page beyond their slices (the
    /// slices end or start on a page boundary) take the copies, with the reference's bits.
    #[test]
    fn windows_that_would_cross_a_page_go_around() {
        if !crate::Isa::Avx2.is_supported() {
            return;
        }
        let mut next = crate::arch::x86_64::xorshift(0x9e37_79b9_7f4a_7c15);
        let mut src_buf = vec![0.0f32; 4 << 10];
        let mut w_buf = vec![bf16::ZERO; 8 << 10];
        for (n, offset, at_end) in
            (0..=70).flat_map(|n| (0..8u64).flat_map(move |o| [true, false].map(|e| (n, o, e))))
        {
            for generator in [Generator::Ars5, Generator::Philox4x32_10] {
                let sr = Sr::new(0x5eed, offset, SrOptions::from(generator));
                let src = at_page(&mut src_buf, n, at_end);
                src.iter_mut()
                    .for_each(|x| *x = f32::from_bits(next() as u32));
                let src = src.to_vec();
                let (mut b, mut h) = (vec![bf16::ZERO; 8 << 10], vec![half::f16::ZERO; 8 << 10]);
                let w0: Vec<bf16> = (0..n).map(|_| bf16::from_bits(next() as u16)).collect();
                let (want_b, want_h, want_w) = {
                    let (mut b, mut h, mut w) =
                        (vec![bf16::ZERO; n], vec![half::f16::ZERO; n], w0.clone());
                    let o = sr.options();
                    r::f32_to_bf16_stochastic_slice(&src, &mut b, sr.seed, offset, o);
                    r::f32_to_f16_stochastic_slice(&src, &mut h, sr.seed, offset, o);
                    r::axpy_bf16_stochastic_slice(0.5, &w0, &mut w, sr.seed, offset, o);
                    (b, h, w)
                };
                let s = at_page(&mut src_buf, n, at_end);
                s.copy_from_slice(&src);
                let (bs, hs) = (at_page(&mut b, n, at_end), at_page(&mut h, n, at_end));
                let ws = at_page(&mut w_buf, n, at_end);
                ws.copy_from_slice(&w0);
                let g = w0.clone();
                // SAFETY: the Avx2 tier is supported (checked above).
                unsafe {
                    f32_to_bf16(at_page(&mut src_buf, n, at_end), bs, sr);
                    f32_to_f16(at_page(&mut src_buf, n, at_end), hs, sr);
                    axpy_bf16(0.5, &g, ws, sr);
                }
                let case = format!("{n} elements from {offset}, at_end {at_end}, {generator:?}");
                let bits = |v: &[bf16]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(bs), bits(&want_b), "bf16, {case}");
                let hbits: Vec<u16> = hs.iter().map(|x| x.to_bits()).collect();
                assert_eq!(
                    hbits,
                    want_h.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "f16, {case}"
                );
                assert_eq!(bits(ws), bits(&want_w), "update, {case}");
            }
        }
    }
}
