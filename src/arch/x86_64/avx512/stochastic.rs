//! Stochastic rounding and the fused bf16 update, 16 lanes: Philox4x32-10 (or ARS-5, with
//! VAES: [`super::ars`]) on 32 blocks per step (256 elements), then add-and-truncate.
//! Bit-identical to
//! [`crate::reference::stochastic`]; chunks start on block boundaries
//! ([`for_each_block_chunk`]). The elements before the first one, and the tail after the last,
//! are rounded in place through masks ([`round_head`], [`round_tail`]), but for a Philox tail
//! shorter than a block, rounded one at a time as the reference rounds it ([`edge`],
//! [`PHILOX_TAIL_MIN`]).
//!
//! The same computation as the `Avx2` tier's, with what AVX-512 adds: `vpternlogd` folds each
//! round's two XORs into one instruction, mask registers replace the blends, and 32 vector
//! registers hold four chains of eight blocks each (256 elements per step).
//!
//! IEEE bf16 rounding, the common case, takes a shorter way than the `Avx2` tier's: the
//! generators give each random value complemented ([`Bits`]), so rounding 32 lanes is two
//! `vpermt2w` (the patterns' high and low halves), one unsigned comparison and a masked add
//! ([`nan_free_bf16`]), with one NaN test per chunk ([`drive`]'s `OPTIMISTIC`), and the next
//! chunk's bits are drawn before this one is rounded. Together, on a Zen 4 core, ARS-5
//! f32 -> bf16 of 4096 elements went from 407 to 283-300 ns a call (session 24). Since
//! session 32 ARS-5 draws each vector of bits where it is used instead ([`ChunkBits`]).

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::super::{
    avx2, edge, head_in_place, in_place_tail_min, prefetch_ahead, reach_within, tail_in_place,
    to_line, within_valid_pages, Vaes, STREAM_MIN_BYTES,
};
use super::ars::{self, ArsKeys};
use super::convert::{narrow32, ordered};
use crate::arch::{for_each_block_chunk, DrawAhead, F16_FAST_LOW, F16_FAST_SPAN, SR_BLOCK};
use crate::backend::Sr;
use crate::reference::rng::{round_keys, Generator, M0, M1};
use crate::reference::stochastic::{self as r, Overflow};

/// Independent Philox computations in flight (each a latency-bound chain of ten rounds).
/// On Zen 5 (`lowp bench --only l1`, same run): 2 chains 26–28 GB/s, 4 chains 33–35, 8 chains
/// 33–36 (4 fill the registers without spilling).
const CHAINS: usize = 4;

/// Blocks per step: eight per chain (64-bit lanes of a 512-bit vector).
const BLOCKS: usize = 8 * CHAINS;

/// Elements per step.
const STEP: usize = 8 * BLOCKS;

/// `vpternlogd` immediate for `a ^ b ^ c`.
const XOR3: i32 = 0x96;

/// The ten round keys of a seed, broadcast: `[k0 of round i]`, then `[k1 of round i]`.
#[derive(Clone, Copy)]
struct RoundKeys([[__m512i; 10]; 2]);

impl RoundKeys {
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn new(seed: u64) -> RoundKeys {
        // Loops, not `map` closures: a closure does not inherit the target features, and
        // left out of line it made every call pay for twenty non-inlined intrinsic calls.
        let mut broadcast = RoundKeys([[_mm512_setzero_si512(); 10]; 2]);
        let keys = round_keys([seed as u32, (seed >> 32) as u32]);
        for (out, keys) in broadcast.0.iter_mut().zip(keys) {
            for (out, key) in out.iter_mut().zip(keys) {
                *out = _mm512_set1_epi32(key as i32);
            }
        }
        broadcast
    }
}

/// Philox4x32-10 of the blocks in the 64-bit lanes of `blocks`, computed in the low 32 bits
/// of each lane (`vpmuludq` reads only those and gives the whole 64-bit product; the high
/// halves carry junk). Returns the four words per chain, each in the low halves.
#[inline]
#[target_feature(enable = "avx512f")]
fn philox(blocks: [__m512i; CHAINS], keys: &RoundKeys) -> [[__m512i; 4]; CHAINS] {
    let (m0, m1) = (
        _mm512_set1_epi64(i64::from(M0)),
        _mm512_set1_epi64(i64::from(M1)),
    );
    let [k0, k1] = &keys.0;
    // Round 1, with counter words 2 and 3 zero.
    let mut c = [[_mm512_setzero_si512(); 4]; CHAINS];
    for h in 0..CHAINS {
        let p0 = _mm512_mul_epu32(blocks[h], m0);
        c[h] = [
            _mm512_xor_si512(_mm512_srli_epi64::<32>(blocks[h]), k0[0]),
            _mm512_setzero_si512(),
            _mm512_xor_si512(_mm512_srli_epi64::<32>(p0), k1[0]),
            p0,
        ];
    }
    for round in 1..10 {
        for c in &mut c {
            let p0 = _mm512_mul_epu32(c[0], m0);
            let p1 = _mm512_mul_epu32(c[2], m1);
            *c = [
                _mm512_ternarylogic_epi32::<XOR3>(_mm512_srli_epi64::<32>(p1), c[1], k0[round]),
                p1,
                _mm512_ternarylogic_epi32::<XOR3>(_mm512_srli_epi64::<32>(p0), c[3], k1[round]),
                p0,
            ];
        }
    }
    c
}

/// The [`Bits`] of blocks `first..first + BLOCKS`.
#[inline]
#[target_feature(enable = "avx512f")]
fn random_blocks(keys: &RoundKeys, first: u64) -> Bits {
    let mask = _mm512_set1_epi64((u64::MAX / 8) as i64);
    let base = _mm512_add_epi64(
        _mm512_set1_epi64(first as i64),
        _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7),
    );
    let mut blocks = [_mm512_setzero_si512(); CHAINS];
    for (h, b) in blocks.iter_mut().enumerate() {
        *b = _mm512_and_si512(
            _mm512_add_epi64(base, _mm512_set1_epi64(8 * h as i64)),
            mask,
        );
    }
    let words = philox(blocks, keys);
    // Word pairs: dword 2b of `x` then of `y`, for each block b.
    let pairs = _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    // Blocks in order: block b's four words are qword b of (words 0,1) then of (words 2,3).
    let first_half = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
    let second_half = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
    let not = |v| _mm512_ternarylogic_epi32::<0x55>(v, v, v);
    let mut out = [_mm512_setzero_si512(); BLOCKS / 4];
    for h in 0..CHAINS {
        let [w0, w1, w2, w3] = words[h];
        let low = _mm512_permutex2var_epi32(w0, pairs, w1);
        let high = _mm512_permutex2var_epi32(w2, pairs, w3);
        out[2 * h] = not(_mm512_permutex2var_epi64(low, first_half, high)); // blocks 0..4
        out[2 * h + 1] = not(_mm512_permutex2var_epi64(low, second_half, high));
        // blocks 4..8
    }
    out
}

/// 16 f32 patterns + 16 random values -> 16 bf16 patterns, in the high halves of the lanes
/// (the narrowing picks them there, so no shift is needed).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn sr_bf16<const SATURATE: bool>(x: __m512i, r: __m512i) -> __m512i {
    let splat = |v: i32| _mm512_set1_epi32(v);
    // NaN: no random carry into its payload, and the quiet bit set (RNE's NaN).
    let is_nan = _mm512_fpclass_ps_mask::<{ QNAN | SNAN }>(_mm512_castsi512_ps(x));
    let y = _mm512_mask_or_epi32(_mm512_add_epi32(x, r), is_nan, x, splat(0x0040_0000));
    if SATURATE {
        // Finite inputs that carried into ±Inf step back to ±max finite.
        let finite =
            !_mm512_fpclass_ps_mask::<{ QNAN | SNAN | POS_INF | NEG_INF }>(_mm512_castsi512_ps(x));
        let high = _mm512_and_si512(y, splat(0x7fff_0000));
        let at_inf = _mm512_cmpeq_epi32_mask(high, splat(0x7f80_0000));
        _mm512_mask_sub_epi32(y, finite & at_inf, y, splat(0x1_0000))
    } else {
        y
    }
}

/// `vfpclassps` categories.
const QNAN: i32 = 0x01;
const POS_INF: i32 = 0x08;
const NEG_INF: i32 = 0x10;
const SNAN: i32 = 0x80;

/// 16 f32 patterns + 16 random values -> 16 f16 patterns (low halves of the lanes), for any
/// input; [`sr_f16_pair`] takes a shorter way where all lanes allow it.
#[inline]
#[target_feature(enable = "avx512f")]
fn sr_f16<const SATURATE: bool>(x: __m512i, r: __m512i) -> __m512i {
    let splat = |v: i32| _mm512_set1_epi32(v);
    let a = _mm512_and_si512(x, splat(0x7fff_ffff));
    let sign = _mm512_and_si512(_mm512_srli_epi32::<16>(x), splat(0x8000));
    let e = _mm512_srli_epi32::<23>(a);
    let m = _mm512_or_si512(_mm512_and_si512(a, splat(0x007f_ffff)), splat(0x0080_0000));
    // Dropped bits d: 13 in f16's normal range, 126 - e below (capped where the result is 0).
    let normal = _mm512_cmpgt_epi32_mask(e, splat(112));
    let d = _mm512_mask_blend_epi32(
        normal,
        _mm512_min_epi32(_mm512_sub_epi32(splat(126), e), splat(47)),
        splat(13),
    );
    // floor((m + floor(r * 2^d / 2^16)) / 2^d), in 32 bits: ((m >> (d-16)) + r) >> 16 for
    // d >= 16, (m + (r >> (16-d))) >> d below.
    let above = _mm512_max_epi32(_mm512_sub_epi32(d, splat(16)), _mm512_setzero_si512());
    let below = _mm512_max_epi32(_mm512_sub_epi32(splat(16), d), _mm512_setzero_si512());
    let sum = _mm512_add_epi32(_mm512_srlv_epi32(m, above), _mm512_srlv_epi32(r, below));
    let kept = _mm512_srlv_epi32(sum, _mm512_min_epi32(d, splat(16)));
    let exponent = _mm512_maskz_slli_epi32::<10>(normal, _mm512_sub_epi32(e, splat(113)));
    let limit = splat(if SATURATE { 0x7bff } else { 0x7c00 });
    let finite = _mm512_min_epu32(_mm512_add_epi32(exponent, kept), limit);
    let nan_bits = _mm512_or_si512(
        splat(0x0200),
        _mm512_and_si512(_mm512_srli_epi32::<13>(a), splat(0x03ff)),
    );
    let is_nan = _mm512_cmpgt_epi32_mask(a, splat(0x7f80_0000));
    let special = _mm512_mask_or_epi32(splat(0x7c00), is_nan, splat(0x7c00), nan_bits);
    let out = _mm512_mask_blend_epi32(
        _mm512_cmpgt_epi32_mask(a, splat(0x7f7f_ffff)),
        finite,
        special,
    );
    _mm512_or_si512(out, sign)
}

/// 32 headrooms -> their random values, in two vectors of 16 zero-extended to 32 bits.
#[inline]
#[target_feature(enable = "avx512f")]
fn random_values(headroom: __m512i) -> [__m512i; 2] {
    let r = _mm512_ternarylogic_epi32::<0x55>(headroom, headroom, headroom);
    [
        _mm512_cvtepu16_epi32(_mm512_castsi512_si256(r)),
        _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(r)),
    ]
}

/// IEEE mode's bf16 rounding of 32 lanes, where none holds a NaN (one comparison of the two
/// vectors tells): the bare add-and-truncate, as ±Inf plus at most 0xffff stays ±Inf.
/// Done in 16-bit lanes, so the random values need no widening: the high halves of the
/// patterns, plus one where their low halves exceed the headroom (so adding the random value
/// carries).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn without_nan(x: [__m512i; 2], headroom: __m512i, one: __m512i) -> Option<__m512i> {
    (ordered(u16::MAX, x) == u16::MAX).then(|| nan_free_bf16(x, headroom, one))
}

/// [`without_nan`]'s rounding, unchecked; `one` holds 1 in every 16-bit lane ([`drive`] says
/// why it is an argument).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn nan_free_bf16(x: [__m512i; 2], headroom: __m512i, one: __m512i) -> __m512i {
    let high = narrow32::<true>(x[0], x[1]);
    let low = narrow32::<false>(x[0], x[1]);
    let carries = _mm512_cmpgt_epu16_mask(low, headroom);
    _mm512_mask_add_epi16(high, carries, high, one)
}

/// Two groups of 16 f32 patterns and their 32 headrooms -> 32 bf16 patterns in order.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn sr_bf16_pair<const SATURATE: bool>(x: [__m512i; 2], headroom: __m512i) -> __m512i {
    let one = _mm512_set1_epi16(1);
    if let (false, Some(y)) = (SATURATE, without_nan(x, headroom, one)) {
        return y;
    }
    let r = random_values(headroom);
    narrow32::<true>(
        sr_bf16::<SATURATE>(x[0], r[0]),
        sr_bf16::<SATURATE>(x[1], r[1]),
    )
}

/// Two groups of 16 f32 patterns and their 32 headrooms -> 32 f16 patterns in order, for
/// any input: [`normal_f16`] where every lane allows it.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn sr_f16_pair<const SATURATE: bool>(x: [__m512i; 2], headroom: __m512i) -> __m512i {
    // The patterns' top halves m, sign dropped: `2m - FAST_LOW16` is below FAST_SPAN16 in
    // f16's normal range, and `min(2m - FAST_LOW16, 2m)` also for tiny magnitudes.
    let doubled = _mm512_slli_epi16::<1>(narrow32::<true>(x[0], x[1]));
    let moved = _mm512_sub_epi16(doubled, _mm512_set1_epi16(FAST_LOW16 as i16));
    let key = _mm512_min_epu16(moved, doubled);
    let span = _mm512_set1_epi16(FAST_SPAN16 as i16);
    if _mm512_cmplt_epu16_mask(key, span) == u32::MAX {
        let normal = _mm512_cmplt_epu16_mask(moved, span);
        return normal_f16(x, headroom, normal);
    }
    let r = random_values(headroom);
    narrow32::<false>(
        sr_f16::<SATURATE>(x[0], r[0]),
        sr_f16::<SATURATE>(x[1], r[1]),
    )
}

/// f16 rounding of 32 lanes (two groups of 16 f32 patterns, their 32 headrooms), where each
/// lane is ±0, under 2^-97 or (in `normal`) in f16's normal range below its largest finite
/// value, in either overflow mode.
///
/// In the normal range 13 bits drop, so the result is the pattern converted toward zero, plus
/// one where the dropped bits exceed the top 13 of the headroom: `8 * dropped > headroom` in
/// 16 bits, bf16's one comparison. Below 2^-40 the reference gives ±0 for every random value,
/// and so does the conversion. Adding the random values to the patterns before converting,
/// as until session 34, widened them to 32 bits first: with that, ARS-5 f32 -> f16 of 4096
/// elements took 1.05-1.12x as long on a Zen 5 core (values near N(0, 0.02) and `lowp
/// bench`'s), and rounding every chunk this way first (redoing those with other values) gave
/// 1.25x on `lowp bench`'s values but nothing on the others, 8 of whose 4096 lie under f16's
/// normal range.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn normal_f16(x: [__m512i; 2], headroom: __m512i, normal: __mmask32) -> __m512i {
    let dropped = _mm512_slli_epi16::<3>(narrow32::<false>(x[0], x[1]));
    let carries = _mm512_mask_cmpgt_epu16_mask(normal, dropped, headroom);
    let toward_zero =
        |x| _mm512_cvtps_ph::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(_mm512_castsi512_ps(x));
    let lo = _mm512_castsi256_si512(toward_zero(x[0]));
    let truncated = _mm512_inserti64x4::<1>(lo, toward_zero(x[1]));
    _mm512_mask_add_epi16(truncated, carries, truncated, _mm512_set1_epi16(1))
}

/// [`sr_f16_pair`]'s key is below this for the patterns' top halves `m` (sign dropped) in
/// 0x3880..0x477f and below 0x0eff: whole patterns inside [`F16_FAST_LOW`]'s two ranges
/// (0x477f itself is left out, as 0x477f_e001.. are outside).
const FAST_SPAN16: u16 = 2 * (0x477f - 0x3880);

/// See [`FAST_SPAN16`].
const FAST_LOW16: u16 = (F16_FAST_LOW >> 16) as u16;

const _: () = assert!(
    F16_FAST_LOW.trailing_zeros() >= 16 && (FAST_SPAN16 as u32) << 16 <= F16_FAST_SPAN,
    "the 16-bit test must pass a subset of the 32-bit one"
);

/// The random values of a step's blocks, as `random(first)` gives them for blocks
/// `first..first + 32`: four blocks per vector in element order (32 values), each value `r`
/// complemented. `!r = 0xffff - r` is the headroom below a carry: bf16 rounding rounds away
/// exactly where the dropped bits exceed it, one unsigned comparison ([`nan_free_bf16`]), and
/// ARS-5 gives it at no cost ([`super::ars`]).
pub(super) type Bits = [__m512i; BLOCKS / 4];

/// A chunk's random values, a vector of [`Bits`] at a time: drawn all at once (Philox, whose
/// four chains of eight blocks give a chunk's bits together) or where each is used (ARS-5:
/// [`super::ars::ArsChunk`]).
pub(super) trait ChunkBits: Copy {
    /// Whether the driver draws the next chunk's before rounding this one.
    const DRAW_AHEAD: bool = true;

    /// Vector `j` of the chunk's [`Bits`].
    fn step(&self, j: usize) -> __m512i;
}

impl ChunkBits for Bits {
    #[inline(always)]
    fn step(&self, j: usize) -> __m512i {
        self[j]
    }
}

/// All of a chunk's bits at once, so that the driver draws them a chunk ahead: for f16, whose
/// steps branch on their values' range. ARS-5 f32 -> f16 drawn inside each step ran at
/// 0.77-0.81x on a Zen 5 core.
#[inline(always)]
fn eager(bits: impl ChunkBits) -> Bits {
    let mut all = [bits.step(0); BLOCKS / 4];
    for (j, out) in all.iter_mut().enumerate().skip(1) {
        *out = bits.step(j);
    }
    all
}

/// Shared driver: `round(x_bits, headroom)`, 32 lanes in two vectors and their 32 headrooms
/// ([`Bits`]) to 32 16-bit results in order, over chunks of [`STEP`] elements, with the bits
/// of `random`. `WRITE_ONLY`: `load` never reads `dst`, so a large output is streamed (see
/// below). `OPTIMISTIC` (IEEE bf16 only): each chunk is first rounded as if it held no NaN.
#[inline(always)]
fn drive<
    S: Copy + Default,
    D: Copy + Default,
    B: ChunkBits,
    const WRITE_ONLY: bool,
    const OPTIMISTIC: bool,
>(
    src: &[S],
    dst: &mut [D],
    sr: Sr,
    random: impl Fn(u64) -> B,
    load: impl Fn(&[S], &[D], usize) -> __m512i,
    round: impl Fn([__m512i; 2], __m512i) -> __m512i,
    mut edge: impl FnMut(&[S], &mut [D], u64),
) {
    // Large arrays come from DRAM: fetch ahead, as the conversions do. A large output that is
    // only written is streamed from chunks that start on a 64-byte line (all of them or none:
    // a chunk is 512 bytes), skipping the read-for-ownership of its lines: ARS-5 f32 -> bf16
    // at 256 MiB 1.2-1.4x faster on an Emerald Rapids core (0.72-0.78 of a copy's rate
    // against 0.60-0.68, two alternated runs of `lowp bench --only dram`). The edge takes up to
    // three blocks more to get the chunks there ([`to_line`]): 64 MiB from `Vec`s 1.22-1.34x
    // faster on a Zen 5 core. The fused update reads its output first, so it keeps cached
    // stores and fetches `dst` ahead.
    const {
        assert!(
            WRITE_ONLY || !OPTIMISTIC,
            "an optimistic chunk is written twice"
        )
    };
    let large = size_of_val(dst) >= STREAM_MIN_BYTES;
    // The head (the elements before the first block boundary) is rounded in place
    // ([`round_head`]) rather than an element at a time (`edge`): f32 -> bf16 of 32 elements
    // from offset 3 on a Zen 5 core, ARS-5 36-37 -> 23 ns (15 from offset 0), Philox 52.8 ->
    // 46.1 ns (30.9 from offset 0).
    let (src, dst, sr) = head_in_place(src, dst, sr, |s, d, lane, block| {
        let first = random(block).step(0);
        // SAFETY: `drive` is inlined into the kernels below, which enable these features.
        unsafe { round_head(s, d, lane, first, &load, &round) }
    });
    let (src, dst, sr) = if large && WRITE_ONLY {
        to_line(src, dst, sr, 64, &mut edge)
    } else {
        (src, dst, sr)
    };
    // A tail of `tail_min` or more elements after the last whole chunk is rounded first, in
    // place, its loads and stores masked ([`round_tail`]): on a zeroed padded copy
    // (`for_each_block_chunk`'s way, which no tail takes now) ARS-5 f32 -> bf16 of 1000
    // elements took 65 ns on a Zen 5 core, where 768 took 31. The chunks and a shorter tail
    // then go as before. (`for_each_block_chunk` keeps `tail_min`: given `usize::MAX`, which
    // compiles its padded branch out, LLVM allocated the loop's registers differently and
    // ARS-5 f32 -> bf16 of 4096 elements ran 1.06-1.10x slower there; the tail rounded after
    // the chunks instead cost f32 -> f16 1.05x.)
    let tail_min = in_place_tail_min(sr, PHILOX_TAIL_MIN);
    let (src, dst) = tail_in_place(src, dst, sr, STEP, tail_min, |s, d, block| {
        let bits = eager(random(block));
        // SAFETY: `drive` is inlined into the kernels below, which enable these features.
        unsafe { round_tail(s, d, &bits, &load, &round) }
    });
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
            let stream = large && WRITE_ONLY && (d.as_ptr() as usize).is_multiple_of(64);
            // Philox's bits drawn a chunk ahead (ARS-5's, then drawn the same way, f32 -> bf16
            // of 4096 elements on a Zen 4 core: 349 -> 326 ns); ARS-5's where each is used.
            let bits = if B::DRAW_AHEAD {
                ahead.take(block, &random)
            } else {
                random(block)
            };
            let store = |d: &mut [D], k: usize, ys| {
                let p: *mut __m512i = d[32 * k..].as_mut_ptr().cast();
                // SAFETY: `d` holds STEP 16-bit elements; this writes 32 of them from 32k,
                // streamed only where `p` is 64-byte aligned.
                unsafe {
                    if stream {
                        _mm512_stream_si512(p, ys)
                    } else {
                        _mm512_storeu_si512(p, ys)
                    }
                };
            };
            // IEEE bf16 with no NaN in the chunk: one comparison per 32 lanes and one test
            // per chunk, instead of a test and a branch per 32 lanes. A chunk with a NaN is
            // rounded again below (its output is only written, never read).
            let done = OPTIMISTIC && {
                // 1 in every 16-bit lane, hidden from LLVM: given the constant, it turns each
                // carry's masked `vpaddw` into `vpmovm2w` and a `vpsubw`, one more
                // instruction on the pipes the step is short of (ARS-5 f32 -> bf16 of 4096
                // elements 1.07-1.13x faster on a Zen 5 core without it, three alternated
                // runs of `lowp bench --only l1`). The conversions' other paths keep the
                // constant: hidden there too, it took the registers that held a chunk's ARS-5
                // counters (0.94-0.97x).
                // SAFETY: `drive` is inlined into the kernels below, which enable avx512f.
                let one = core::hint::black_box(unsafe { _mm512_set1_epi16(1) });
                let mut no_nan = u16::MAX;
                for k in 0..BLOCKS / 4 {
                    let r = bits.step(k);
                    let x = [load(s, d, 32 * k), load(s, d, 32 * k + 16)];
                    // SAFETY: `drive` is inlined into the kernels below, which enable
                    // avx512f and avx512bw.
                    unsafe {
                        no_nan = ordered(no_nan, x);
                        store(d, k, nan_free_bf16(x, r, one));
                    }
                }
                no_nan == u16::MAX
            };
            if !done {
                for k in 0..BLOCKS / 4 {
                    let r = bits.step(k);
                    let x = [load(s, d, 32 * k), load(s, d, 32 * k + 16)];
                    store(d, k, round(x, r));
                }
            }
        },
        &mut edge,
    );
    if large && WRITE_ONLY {
        // Order the weakly-ordered streaming stores before anything the caller does next.
        // SAFETY: SSE is part of the x86_64 baseline.
        unsafe { _mm_sfence() };
    }
}

/// The low `n` of 32 lanes (all for `n` of 32 or more).
#[inline(always)]
fn low_lanes32(n: usize) -> __mmask32 {
    if n >= 32 {
        u32::MAX
    } else {
        (1u32 << n) - 1
    }
}

/// The shortest Philox tail `drive` rounds in place ([`round_tail`]) rather than one element
/// at a time ([`edge`]; with ARS-5 any tail goes in place: [`in_place_tail_min`]). Philox
/// f32 -> bf16 calls of 256 + 15, 256 + 8 and 256 + 1 elements took 88, 65 and 52 ns on a Zen 5
/// core with the tail through the reference, and 60, 60 and 61 ns in place (medians of 5).
const PHILOX_TAIL_MIN: usize = SR_BLOCK as usize;

/// Rounds `src` into `dst` (fewer than [`STEP`] elements from a block boundary) with the bits
/// of their chunk, 32 lanes at a time: `load` zeroes the lanes past the end, and the stores are
/// masked.
#[inline(always)]
fn round_in_place<S, D>(
    src: &[S],
    dst: &mut [D],
    bits: &Bits,
    load: &impl Fn(&[S], &[D], usize) -> __m512i,
    round: &impl Fn([__m512i; 2], __m512i) -> __m512i,
) {
    const { assert!(size_of::<D>() == 2, "the stores write 16-bit elements") };
    let n = src.len().min(dst.len());
    assert!(n < STEP);
    for k in 0..n.div_ceil(32) {
        let x = [load(src, dst, 32 * k), load(src, dst, 32 * k + 16)];
        let p: *mut i16 = dst[32 * k..].as_mut_ptr().cast();
        // SAFETY: writes the elements of `dst` from `32 * k`, at most 32 (the masked-off lanes
        // are not touched); inlined into the functions below, which enable avx512bw.
        unsafe { _mm512_mask_storeu_epi16(p, low_lanes32(n - 32 * k), round(x, bits[k])) };
    }
}

/// `drive`'s tail, in place ([`round_in_place`]); where those masked loads and stores would
/// reach a page the slices do not ([`within_valid_pages`]), through zero-padded copies. Out of
/// line, so that it leaves the chunks' loop its registers.
#[inline(never)]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn round_tail<S: Copy + Default, D: Copy + Default>(
    src: &[S],
    dst: &mut [D],
    bits: &Bits,
    load: &impl Fn(&[S], &[D], usize) -> __m512i,
    round: &impl Fn([__m512i; 2], __m512i) -> __m512i,
) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    // The masked loads and stores reach the end of the last step of 32 elements.
    let whole = n.div_ceil(32) * 32;
    if reach_within(src, whole) && reach_within(dst, whole) {
        return round_in_place(src, dst, bits, load, round);
    }
    let (mut s, mut d) = ([S::default(); STEP], [D::default(); STEP]);
    s[..n].copy_from_slice(src);
    d[..n].copy_from_slice(dst);
    round_in_place(&s[..n], &mut d[..n], bits, load, round);
    dst.copy_from_slice(&d[..n]);
}

/// `drive`'s head: the elements before the first block boundary (at most 7), the first of
/// them at `lane` of its block, whose bits open `first`. They are rounded at that place in
/// 32-lane copies, as a tail is: the copies are one masked load and one store each way, since
/// `copy_from_slice` (a `memcpy` call, then loads it could not forward) cost 12-13 ns of a
/// 30 ns call on a Zen 5 core.
#[inline(never)]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn round_head<S: Copy + Default, D: Copy + Default>(
    src: &[S],
    dst: &mut [D],
    lane: usize,
    first: __m512i,
    load: &impl Fn(&[S], &[D], usize) -> __m512i,
    round: &impl Fn([__m512i; 2], __m512i) -> __m512i,
) {
    let h = src.len().min(dst.len());
    let (src, dst) = (&src[..h], &mut dst[..h]);
    let end = lane + h;
    let mut bits = [_mm512_setzero_si512(); BLOCKS / 4];
    bits[0] = first;
    // `shifted`'s loads and the store below: 64 bytes from `lane` elements before the slices.
    let (s_at, d_at) = (src.as_ptr() as usize, dst.as_ptr() as usize);
    let (s_window, d_window) = (
        s_at.wrapping_sub(lane * size_of::<S>()),
        d_at.wrapping_sub(lane * size_of::<D>()),
    );
    let masked = within_valid_pages(s_window, 64, s_at, size_of_val(src))
        && within_valid_pages(d_window, 64, d_at, size_of_val(dst));
    if !masked {
        let (mut s, mut d) = ([S::default(); 32], [D::default(); 32]);
        s[lane..end].copy_from_slice(src);
        d[lane..end].copy_from_slice(dst);
        round_in_place(&s[..end], &mut d[..end], &bits, load, round);
        dst.copy_from_slice(&d[lane..end]);
        return;
    }
    let (s, mut d) = (shifted(src, lane), shifted(dst, lane));
    round_in_place(&s[..end], &mut d[..end], &bits, load, round);
    let lanes = low_lanes32(h) << lane;
    let p: *mut i16 = dst.as_mut_ptr().cast::<i16>().wrapping_sub(lane);
    // SAFETY: the lanes set in `lanes` are `dst[..h]`, placed at `lane` (`shifted` asserted
    // `lane + h <= 8`); the others are neither written nor faulted on. `d` holds 32 16-bit
    // elements.
    unsafe { _mm512_mask_storeu_epi16(p, lanes, _mm512_loadu_si512(d.as_ptr().cast())) };
}

/// `v` (at most 8 elements of 2 or 4 bytes) moved to lanes `lane..` of 64 bytes, zero
/// elsewhere: one masked load from `lane` elements before `v`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn shifted<T: Copy + Default>(v: &[T], lane: usize) -> [T; 32] {
    const { assert!(size_of::<T>() == 2 || size_of::<T>() == 4) };
    assert!(lane + v.len() <= SR_BLOCK as usize);
    let lanes = low_lanes32(v.len()) << lane;
    let mut out = [T::default(); 32];
    // SAFETY: the loaded lanes are `v`'s elements, placed from `lane` (under 8, with at most
    // 8 elements: all inside the 16 or 32 lanes); the others are neither read nor faulted on.
    // `out` holds at least 64 bytes.
    unsafe {
        let x = match size_of::<T>() {
            4 => _mm512_maskz_loadu_epi32(
                lanes as __mmask16,
                v.as_ptr().cast::<i32>().wrapping_sub(lane),
            ),
            _ => _mm512_maskz_loadu_epi16(lanes, v.as_ptr().cast::<i16>().wrapping_sub(lane)),
        };
        _mm512_storeu_si512(out.as_mut_ptr().cast(), x);
    }
    out
}

/// 16 f32 from `s[i..]` as bit patterns; lanes past the end of `s` (a tail's) are zero.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_f32(s: &[f32], i: usize) -> __m512i {
    // In a chunk `s.len()` and `i` are constants, and the test folds away.
    if i + 16 <= s.len() {
        // SAFETY: checked just above.
        return unsafe { _mm512_loadu_si512(s[i..].as_ptr().cast()) };
    }
    let p: *const i32 = s.as_ptr().wrapping_add(i).cast();
    // SAFETY: reads only the lanes of elements inside `s` (none where `i >= s.len()`); masked
    // lanes neither load nor fault.
    unsafe { _mm512_maskz_loadu_epi32(low_lanes32(s.len().saturating_sub(i)) as __mmask16, p) }
}

/// 16 bf16 from `s[i..]` widened to f32, NaNs not quieted, as the `Avx2` tier's (its
/// `load_bf16` says why that is exact): here it also saves a comparison into a mask, which
/// competes with `vaesenc` for its pipes on Zen 4 (session 25).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn load_bf16(s: &[bf16], i: usize) -> __m512 {
    let h = if i + 16 <= s.len() {
        // SAFETY: checked just above.
        unsafe { _mm256_loadu_si256(s[i..].as_ptr().cast()) }
    } else {
        let p: *const i16 = s.as_ptr().wrapping_add(i).cast();
        // SAFETY: as `load_f32`'s tail.
        unsafe { _mm256_maskz_loadu_epi16(low_lanes32(s.len().saturating_sub(i)) as __mmask16, p) }
    };
    _mm512_castsi512_ps(_mm512_slli_epi32::<16>(_mm512_cvtepu16_epi32(h)))
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn f32_to_bf16_with<B: ChunkBits>(
    src: &[f32],
    dst: &mut [bf16],
    sr: Sr,
    random: impl Fn(u64) -> B,
) {
    let edge = |s: &[f32], d: &mut [bf16], at| edge::f32_to_bf16(s, d, at, sr);
    let load = |s: &[f32], _: &[bf16], i| load_f32(s, i);
    match sr.overflow {
        Overflow::Infinity => drive::<_, _, _, true, true>(
            src,
            dst,
            sr,
            random,
            load,
            |x, r| sr_bf16_pair::<false>(x, r),
            edge,
        ),
        Overflow::Saturate => drive::<_, _, _, true, false>(
            src,
            dst,
            sr,
            random,
            load,
            |x, r| sr_bf16_pair::<true>(x, r),
            edge,
        ),
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn f32_to_f16_with<B: ChunkBits>(src: &[f32], dst: &mut [f16], sr: Sr, random: impl Fn(u64) -> B) {
    let edge = |s: &[f32], d: &mut [f16], at| edge::f32_to_f16(s, d, at, sr);
    let load = |s: &[f32], _: &[f16], i| load_f32(s, i);
    let random = |first| eager(random(first));
    match sr.overflow {
        Overflow::Infinity => drive::<_, _, _, true, false>(
            src,
            dst,
            sr,
            random,
            load,
            |x, r| sr_f16_pair::<false>(x, r),
            edge,
        ),
        Overflow::Saturate => drive::<_, _, _, true, false>(
            src,
            dst,
            sr,
            random,
            load,
            |x, r| sr_f16_pair::<true>(x, r),
            edge,
        ),
    }
}

/// `w = sr(w + alpha * g)` for two groups of 16 lanes, the sums `t` as f32 patterns and their
/// 32 headrooms, to 32 bf16 in order; NaN sums become the canonical NaN.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq")]
fn update<const SATURATE: bool>(t: [__m512i; 2], headroom: __m512i, one: __m512i) -> __m512i {
    if let (false, Some(y)) = (SATURATE, without_nan(t, headroom, one)) {
        return y;
    }
    let r = random_values(headroom);
    let nan = _mm512_set1_epi32(i32::from(r::CANONICAL_NAN.to_bits()) << 16);
    let one = |t: __m512i, r| {
        let is_nan =
            _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(_mm512_castsi512_ps(t), _mm512_castsi512_ps(t));
        _mm512_mask_blend_epi32(is_nan, sr_bf16::<SATURATE>(t, r), nan)
    };
    narrow32::<true>(one(t[0], r[0]), one(t[1], r[1]))
}

/// The fused update with gradients read by `grad(g, i)` (16 lanes from element `i`).
#[inline(always)]
fn axpy<G: Copy + Default + Into<f32>, B: ChunkBits>(
    alpha: f32,
    g: &[G],
    w: &mut [bf16],
    sr: Sr,
    random: impl Fn(u64) -> B,
    grad: impl Fn(&[G], usize) -> __m512,
) {
    let edge = |g: &[G], w: &mut [bf16], at| edge::axpy(alpha, g, w, at, sr);
    // SAFETY (all three): these closures run inside the kernels below, which enable avx512f.
    // The product and the sum round separately, as the reference's `w + alpha * g` does.
    let sum = |g: &[G], w: &[bf16], i| unsafe {
        let t = _mm512_add_ps(
            load_bf16(w, i),
            _mm512_mul_ps(_mm512_set1_ps(alpha), grad(g, i)),
        );
        _mm512_castps_si512(t)
    };
    // 1 in every 16-bit lane, hidden from LLVM as in `drive`'s first pass: ARS-5 with bf16
    // gradients ran 1.12-1.13x faster (f32 gradients 1.01-1.05x) in two alternated runs of
    // `lowp bench --only l1`.
    // SAFETY: as above.
    let one = core::hint::black_box(unsafe { _mm512_set1_epi16(1) });
    // SAFETY: as above.
    let to_infinity = |t, r| unsafe { update::<false>(t, r, one) };
    // SAFETY: as above.
    let saturating = |t, r| unsafe { update::<true>(t, r, one) };
    match sr.overflow {
        Overflow::Infinity => {
            drive::<_, _, _, false, false>(g, w, sr, random, sum, to_infinity, edge)
        }
        Overflow::Saturate => {
            drive::<_, _, _, false, false>(g, w, sr, random, sum, saturating, edge)
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn axpy_f32_with<B: ChunkBits>(
    alpha: f32,
    g: &[f32],
    w: &mut [bf16],
    sr: Sr,
    random: impl Fn(u64) -> B,
) {
    axpy(alpha, g, w, sr, random, |g, i| {
        _mm512_castsi512_ps(load_f32(g, i))
    });
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn axpy_bf16_with<B: ChunkBits>(
    alpha: f32,
    g: &[bf16],
    w: &mut [bf16],
    sr: Sr,
    random: impl Fn(u64) -> B,
) {
    axpy(alpha, g, w, sr, random, |g, i| load_bf16(g, i));
}

/// The kernel table's entries, one per operation, and their ARS-5 twins: `$name` draws the
/// bits `sr.generator` names, ARS-5 through `$ars` where the CPU has VAES and through the
/// `Avx2` tier's kernel (xmm AES) where it does not.
macro_rules! entries {
    ($($name:ident, $ars:ident, $with:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
        pub(super) unsafe fn $name($($arg: $ty,)* sr: Sr) {
            if sr.generator == Generator::Ars5 {
                return match Vaes::detect() {
                    // SAFETY: this tier's features, and `vaes` proves the ones `$ars` adds.
                    Some(vaes) => unsafe { $ars(vaes, $($arg,)* sr) },
                    // SAFETY: the Avx512 tier includes the Avx2 tier's features.
                    None => unsafe { avx2::stochastic::$name($($arg,)* sr) },
                };
            }
            // Opaque to the optimiser, so the loop reads the keys from memory (as broadcast
            // operands) instead of rebuilding them from the seed in every step.
            let keys = core::hint::black_box(RoundKeys::new(sr.seed));
            $with($($arg,)* sr, |first| random_blocks(&keys, first))
        }

        /// # Safety
        /// The CPU supports the Avx512 tier.
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,aes,vaes")]
        unsafe fn $ars(_: Vaes, $($arg: $ty,)* sr: Sr) {
            // Not `black_box`ed as Philox's: the chunks hold the round keys in registers.
            let keys = ArsKeys::new(sr.seed);
            $with($($arg,)* sr, |first| ars::random_blocks(&keys, first))
        }
    )*};
}

entries! {
    f32_to_bf16, f32_to_bf16_ars, f32_to_bf16_with(src: &[f32], dst: &mut [bf16]);
    f32_to_f16, f32_to_f16_ars, f32_to_f16_with(src: &[f32], dst: &mut [f16]);
    axpy_f32, axpy_f32_ars, axpy_f32_with(alpha: f32, g: &[f32], w: &mut [bf16]);
    axpy_bf16, axpy_bf16_ars, axpy_bf16_with(alpha: f32, g: &[bf16], w: &mut [bf16]);
}
