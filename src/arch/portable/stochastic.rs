//! Stochastic rounding and the fused bf16 update on `u32x8` lanes: Philox4x32-10 on 8 blocks
//! at once (64 elements per step), then add-and-truncate, as in
//! [`crate::reference::stochastic`]. ARS-5's bits come from software AES by tables
//! ([`ars`](crate::arch::portable::ars)): `wide` has no AES instructions to offer. The edges
//! go one element at a time ([`crate::arch::edge`]), ARS-5's blocks by the same tables.

use half::{bf16, f16};
use wide::{f32x8, i16x8, i32x8, u16x8, u32x4, u32x8, u64x2};

use super::ars::{table_blocks, ArsKeys};
use super::convert::patterns;
use crate::arch::edge::{self, values_of_words};
use crate::arch::{for_each_block_chunk, sr_block, F16_FAST_LOW, F16_FAST_SPAN, PADDED_TAIL_MIN};
use crate::backend::Sr;
use crate::reference::rng::{Generator, M0, M1, W0, W1};
use crate::reference::stochastic::{self as r, Overflow};

const STEP: usize = 64;

/// The shortest ARS-5 tail rounded on a padded chunk rather than an element at a time: the
/// chunk draws 8 blocks by the tables whatever the tail's length, an edge one per 8 elements.
/// On a Zen 5 core f32 -> bf16 of 256 + 16, 32, 40 and 48 elements took 878, 874, 869 and 883
/// ns padded, and 785, 845, 877 and 915 ns an element at a time (minima of 3).
const ARS_PADDED_TAIL_MIN: usize = 40;

fn splat(v: u32) -> u32x8 {
    u32x8::splat(v)
}

/// The random 16-bit values of the 64 elements of blocks `first..first + 8`, each
/// zero-extended, a block (eight elements) per vector: ARS-5's where `ars` holds its keys,
/// else Philox's. Inlined: returned from a call, the 256 bytes went through two `memcpy`s a
/// chunk, and Philox f32 -> bf16 of 4096 elements took 1.19x as long on a Zen 5 core.
#[inline(always)]
fn random_values(ars: Option<&ArsKeys>, seed: u64, first: u64) -> [u32x8; 8] {
    let words: [[u32; 4]; 8] = match ars {
        Some(keys) => core::array::from_fn(|j| keys.block_words(sr_block(first, j as u64))),
        None => philox(seed, first).map(u32x4::to_array),
    };
    words.map(|w| u32x8::from(u16x8::new(values_of_words(w))))
}

/// Philox4x32-10 of blocks `first..first + 8`, each block's four words in one `u32x4`, in
/// order. A round multiplies words 0 and 2 by one widening multiply of the even lanes
/// (`pmuludq` on SSE2), giving `[lo0, hi0, lo1, hi1]`; reversed, that is the next state but
/// for the XORs of words 1 and 3 (the old state's odd lanes, moved down) and of the keys: six
/// SSE2 instructions a block and round. The words come out in the order of the block's
/// elements. With the eight blocks across the lanes instead (a word of each block per
/// vector), each multiply's products were shuffled back into lanes and each block's words
/// gathered from four vectors: Philox f32 -> bf16 of 4096 elements took 1.25x as long on a
/// Zen 5 core.
fn philox(seed: u64, first: u64) -> [u32x4; 8] {
    let multipliers = u32x4::new([M0, 0, M1, 0]);
    let mut c: [u32x4; 8] = core::array::from_fn(|j| {
        let block = sr_block(first, j as u64);
        u32x4::new([block as u32, (block >> 32) as u32, 0, 0])
    });
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let keys = u32x4::new([k0, 0, k1, 0]);
        for c in &mut c {
            let [lo0, hi0, lo1, hi1] = even_products(*c, multipliers).to_array();
            let odd: u32x4 = bytemuck::cast(bytemuck::cast::<u32x4, u64x2>(*c) >> 32u32);
            *c = u32x4::new([hi1, lo1, hi0, lo0]) ^ odd ^ keys;
        }
    }
    c
}

/// The 64-bit products of lanes 0 and 2 of `a` and `m`, as `[low 0, high 0, low 2, high 2]`.
/// Of `widening_mul`'s four products only these two are used, so the compiler keeps one
/// multiply instruction (`pmuludq` on SSE2).
fn even_products(a: u32x4, m: u32x4) -> u32x4 {
    let products = a.widening_mul(m).to_array();
    bytemuck::cast(u64x2::new([products[0], products[2]]))
}

/// bf16 patterns in the low halves of the lanes, sign-extended: the patterns' high halves are
/// taken by arithmetic shifts, so that narrowing the lanes to 16 bits ([`narrow`]) is one
/// signed pack on SSE2 (after logical shifts it also shifted each lane left and back).
fn sr_bf16(x: u32x8, r: u32x8, saturate: bool) -> u32x8 {
    let high = |v: u32x8| -> u32x8 { bytemuck::cast(bytemuck::cast::<u32x8, i32x8>(v) >> 16) };
    let y = high(x + r);
    let magnitude = x & splat(0x7fff_ffff);
    let is_nan = magnitude.simd_gt(splat(0x7f80_0000));
    let y = is_nan.select(high(x) | splat(0x40), y);
    if saturate {
        let finite = magnitude.simd_lt(splat(0x7f80_0000));
        let at_inf = (y & splat(0x7fff)).simd_eq(splat(0x7f80));
        y + (finite & at_inf) // all-ones lanes subtract one
    } else {
        y
    }
}

/// f16 patterns in the low halves of the lanes, sign-extended as [`sr_bf16`]'s.
fn sr_f16(x: u32x8, r: u32x8, saturate: bool) -> u32x8 {
    let a = x & splat(0x7fff_ffff);
    let sign: u32x8 = bytemuck::cast(bytemuck::cast::<u32x8, i32x8>(x) >> 31);
    let sign = sign & splat(0xffff_8000);
    // Fast path, as on the x86 tiers ([`F16_FAST_LOW`]): every lane in f16's normal range below
    // its largest finite value (13 bits drop: add the top 13 random bits, shift, rebias), or
    // under 2^-97 (±0 whatever the random bits).
    let shifted = x << 1u32;
    let key = (shifted - splat(F16_FAST_LOW)).min(shifted);
    if splat(F16_FAST_SPAN).simd_gt(key).all() {
        let kept = ((a + (r >> 3u32)) >> 13u32) - splat(112 << 10);
        return a.simd_lt(splat(0x3880_0000)).select(splat(0), kept) | sign;
    }
    let e = a >> 23u32;
    let m = (a & splat(0x007f_ffff)) | splat(0x0080_0000);
    let normal = e.simd_gt(splat(112));
    // d capped at 47 keeps shift counts below 32 (`wide` wraps larger ones); see the AVX2
    // kernel for the algebra.
    let d = normal.select(splat(13), (splat(126) - e.min(splat(126))).min(splat(47)));
    let above = d.max(splat(16)) - splat(16);
    let below = splat(16) - d.min(splat(16));
    let kept = ((m >> above) + (r >> below)) >> d.min(splat(16));
    let exponent = normal & ((e - splat(113)) << 10u32);
    let limit = splat(if saturate { 0x7bff } else { 0x7c00 });
    let finite = (exponent + kept).min(limit);
    let nan_bits = splat(0x0200) | ((a >> 13u32) & splat(0x03ff));
    let special = splat(0x7c00) | (a.simd_gt(splat(0x7f80_0000)) & nan_bits);
    a.simd_gt(splat(0x7f7f_ffff)).select(special, finite) | sign
}

/// Shared driver: `round(x_bits, r)` 8 lanes at a time over chunks of [`STEP`] elements.
fn drive<S: Copy + Default, D: Copy + Default>(
    src: &[S],
    dst: &mut [D],
    sr: Sr,
    load: impl Fn(&[S; 8], &[D; 8]) -> u32x8,
    round: impl Fn(u32x8, u32x8) -> u32x8,
    store: impl Fn(u32x8) -> [D; 8],
    edge: impl FnMut(&[S], &mut [D], u64),
) {
    let ars = (sr.generator == Generator::Ars5).then(|| ArsKeys::new(sr.seed));
    for_each_block_chunk::<_, _, STEP>(
        src,
        dst,
        sr.offset,
        if ars.is_some() {
            ARS_PADDED_TAIL_MIN
        } else {
            PADDED_TAIL_MIN
        },
        |s, d, block| {
            let bits = random_values(ars.as_ref(), sr.seed, block);
            for (k, &r) in bits.iter().enumerate() {
                let range = 8 * k..8 * k + 8;
                let x = load(
                    s[range.clone()].try_into().unwrap(),
                    d[range.clone()].try_into().unwrap(),
                );
                d[range].copy_from_slice(&store(round(x, r)));
            }
        },
        edge,
    );
}

fn to_bf16(y: u32x8) -> [bf16; 8] {
    narrow(y).map(bf16::from_bits)
}

/// [`sr_bf16`]'s and [`sr_f16`]'s sign-extended lanes to 16 bits by a signed pack, which
/// leaves them unchanged.
fn narrow(y: u32x8) -> [u16; 8] {
    i16x8::from_i32x8_saturate(bytemuck::cast(y))
        .to_array()
        .map(|v| v as u16)
}

fn bits_of(s: &[f32; 8]) -> u32x8 {
    u32x8::new(s.map(f32::to_bits))
}

pub(in crate::arch) fn f32_to_bf16(src: &[f32], dst: &mut [bf16], sr: Sr) {
    let saturate = sr.overflow == Overflow::Saturate;
    let edge = |s: &[f32], d: &mut [bf16], at| edge::f32_to_bf16(s, d, at, sr, table_blocks(sr));
    drive(
        src,
        dst,
        sr,
        |s, _| bits_of(s),
        |x, r| sr_bf16(x, r, saturate),
        to_bf16,
        edge,
    );
}

pub(in crate::arch) fn f32_to_f16(src: &[f32], dst: &mut [f16], sr: Sr) {
    let saturate = sr.overflow == Overflow::Saturate;
    let edge = |s: &[f32], d: &mut [f16], at| edge::f32_to_f16(s, d, at, sr, table_blocks(sr));
    let store = |y: u32x8| narrow(y).map(f16::from_bits);
    drive(
        src,
        dst,
        sr,
        |s, _| bits_of(s),
        |x, r| sr_f16(x, r, saturate),
        store,
        edge,
    );
}

/// bf16 widened to f32. Their NaNs are not quieted (`half`'s `to_f32`, the reference's,
/// quiets them): the fused update only takes them into its sum, whose NaNs all become the
/// canonical NaN, so no payload reaches a result.
fn widen(h: &[bf16; 8]) -> f32x8 {
    bytemuck::cast(patterns(h) << 16u32)
}

fn axpy<G: Copy + Default + Into<f32>>(
    alpha: f32,
    g: &[G],
    w: &mut [bf16],
    sr: Sr,
    grad: impl Fn(&[G; 8]) -> f32x8,
) {
    let saturate = sr.overflow == Overflow::Saturate;
    let edge = |g: &[G], w: &mut [bf16], at| edge::axpy(alpha, g, w, at, sr, table_blocks(sr));
    // Separate multiply and add (no fused multiply-add), as the reference defines.
    let sum = |g: &[G; 8], w: &[bf16; 8]| {
        bytemuck::cast::<f32x8, u32x8>(widen(w) + f32x8::splat(alpha) * grad(g))
    };
    let round = |t: u32x8, r: u32x8| {
        let tf: f32x8 = bytemuck::cast(t);
        let is_nan: u32x8 = bytemuck::cast(tf.simd_ne(tf));
        is_nan.select(
            splat(u32::from(r::CANONICAL_NAN.to_bits())),
            sr_bf16(t, r, saturate),
        )
    };
    drive(g, w, sr, sum, round, to_bf16, edge);
}

pub(in crate::arch) fn axpy_f32(alpha: f32, g: &[f32], w: &mut [bf16], sr: Sr) {
    axpy(alpha, g, w, sr, |g| f32x8::new(*g));
}

pub(in crate::arch) fn axpy_bf16(alpha: f32, g: &[bf16], w: &mut [bf16], sr: Sr) {
    axpy(alpha, g, w, sr, widen);
}
