//! Stochastic rounding and the fused bf16 update: Philox4x32-10 on 4 blocks per vector, two
//! interleaved chains (64 elements per step), or ARS-5 with the AES instructions
//! ([`super::ars`]), then add-and-truncate. Bit-identical to
//! [`crate::reference::stochastic`]; chunks start on block boundaries
//! ([`for_each_block_chunk`]); the edges go an element at a time ([`crate::arch::edge`]),
//! ARS-5's blocks by the AES instructions ([`AesBlocks`]).

use core::arch::aarch64::*;

use half::{bf16, f16};

use super::super::Aes;
use super::ars::{self, AesBlocks, ArsKeys};
use crate::arch::edge;
use crate::arch::portable::stochastic as portable;
use crate::arch::{for_each_block_chunk, sr_block, F16_FAST_LOW, F16_FAST_SPAN, PADDED_TAIL_MIN};
use crate::backend::Sr;
use crate::reference::rng::{Generator, M0, M1, W0, W1};
use crate::reference::stochastic::{self as r, Overflow};

/// Independent Philox computations in flight (each a latency-bound chain of ten rounds).
const CHAINS: usize = 2;

/// Blocks per step: four per chain (the 32-bit lanes of a vector).
const BLOCKS: usize = 4 * CHAINS;

/// Elements per step.
const STEP: usize = 8 * BLOCKS;

/// (high, low) 32-bit halves of `a * m` per lane.
#[inline]
#[target_feature(enable = "neon")]
fn mulhilo(a: uint32x4_t, m: u32) -> (uint32x4_t, uint32x4_t) {
    let lo = vmulq_n_u32(a, m);
    let p_lo = vreinterpretq_u32_u64(vmull_n_u32(vget_low_u32(a), m));
    let p_hi = vreinterpretq_u32_u64(vmull_high_n_u32(a, m));
    (vuzp2q_u32(p_lo, p_hi), lo)
}

/// Philox4x32-10 of the blocks in the lanes of `blocks` (low and high counter words).
#[inline]
#[target_feature(enable = "neon")]
fn philox(
    lo: [uint32x4_t; CHAINS],
    hi: [uint32x4_t; CHAINS],
    seed: u64,
) -> [[uint32x4_t; 4]; CHAINS] {
    let zero = vdupq_n_u32(0);
    let mut c = [[zero; 4]; CHAINS];
    for h in 0..CHAINS {
        c[h] = [lo[h], hi[h], zero, zero];
    }
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let (k0v, k1v) = (vdupq_n_u32(k0), vdupq_n_u32(k1));
        for c in &mut c {
            let (hi0, lo0) = mulhilo(c[0], M0);
            let (hi1, lo1) = mulhilo(c[2], M1);
            *c = [
                veorq_u32(veorq_u32(hi1, c[1]), k0v),
                lo1,
                veorq_u32(veorq_u32(hi0, c[3]), k1v),
                lo0,
            ];
        }
    }
    c
}

/// The random 16-bit values of blocks `first..first + BLOCKS`, in element order: `out[k]`
/// holds block `first + k`'s eight values.
#[inline]
#[target_feature(enable = "neon")]
fn random_blocks(seed: u64, first: u64) -> [uint16x8_t; BLOCKS] {
    let zero = vdupq_n_u32(0);
    let (mut lo, mut hi) = ([zero; CHAINS], [zero; CHAINS]);
    for h in 0..CHAINS {
        let b: [u64; 4] = core::array::from_fn(|j| sr_block(first, (4 * h + j) as u64));
        let l = b.map(|b| b as u32);
        let u = b.map(|b| (b >> 32) as u32);
        // SAFETY: the arrays hold four u32 each.
        unsafe {
            lo[h] = vld1q_u32(l.as_ptr());
            hi[h] = vld1q_u32(u.as_ptr());
        }
    }
    let words = philox(lo, hi, seed);
    let mut out = [vdupq_n_u16(0); BLOCKS];
    for h in 0..CHAINS {
        let c = &words[h];
        // 4x4 transpose: lanes are blocks; gather each block's four words.
        let t0 = vtrn1q_u32(c[0], c[1]);
        let t1 = vtrn2q_u32(c[0], c[1]);
        let t2 = vtrn1q_u32(c[2], c[3]);
        let t3 = vtrn2q_u32(c[2], c[3]);
        let as64 = vreinterpretq_u64_u32;
        let blocks = [
            vtrn1q_u64(as64(t0), as64(t2)),
            vtrn1q_u64(as64(t1), as64(t3)),
            vtrn2q_u64(as64(t0), as64(t2)),
            vtrn2q_u64(as64(t1), as64(t3)),
        ];
        for (j, b) in blocks.into_iter().enumerate() {
            out[4 * h + j] = vreinterpretq_u16_u64(b);
        }
    }
    out
}

/// 4 f32 patterns + 4 random values -> 4 bf16 patterns.
#[inline]
#[target_feature(enable = "neon")]
fn sr_bf16<const SATURATE: bool>(x: uint32x4_t, r: uint32x4_t) -> uint16x4_t {
    let y = vshrn_n_u32::<16>(vaddq_u32(x, r));
    let magnitude = vandq_u32(x, vdupq_n_u32(0x7fff_ffff));
    let is_nan = vmovn_u32(vcgtq_u32(magnitude, vdupq_n_u32(0x7f80_0000)));
    let quiet_nan = vorr_u16(vshrn_n_u32::<16>(x), vdup_n_u16(0x40));
    let y = vbsl_u16(is_nan, quiet_nan, y);
    if SATURATE {
        // Finite inputs that carried into ±Inf step back to ±max finite.
        let finite = vmovn_u32(vcltq_u32(magnitude, vdupq_n_u32(0x7f80_0000)));
        let at_inf = vceq_u16(vand_u16(y, vdup_n_u16(0x7fff)), vdup_n_u16(0x7f80));
        vadd_u16(y, vand_u16(finite, at_inf)) // all-ones lanes subtract one
    } else {
        y
    }
}

/// Shift right by a per-lane count (NEON shifts left by a signed count; 32 or more gives 0).
#[inline]
#[target_feature(enable = "neon")]
fn shr(x: uint32x4_t, n: uint32x4_t) -> uint32x4_t {
    vshlq_u32(x, vnegq_s32(vreinterpretq_s32_u32(n)))
}

/// 4 f32 patterns + 4 random values -> 4 f16 patterns (see the AVX2 kernel for the algebra).
#[inline]
#[target_feature(enable = "neon")]
fn sr_f16<const SATURATE: bool>(x: uint32x4_t, r: uint32x4_t) -> uint16x4_t {
    let splat = vdupq_n_u32;
    let a = vandq_u32(x, splat(0x7fff_ffff));
    let sign = vandq_u32(vshrq_n_u32::<16>(x), splat(0x8000));
    // Fast path, as on the other tiers ([`F16_FAST_LOW`]): every lane in f16's normal range
    // below its largest finite value (13 bits drop: add the top 13 random bits, shift,
    // rebias), or under 2^-97 (±0 whatever the random bits).
    let shifted = vshlq_n_u32::<1>(x);
    let key = vminq_u32(vsubq_u32(shifted, splat(F16_FAST_LOW)), shifted);
    if vmaxvq_u32(key) < F16_FAST_SPAN {
        let kept = vsubq_u32(
            vshrq_n_u32::<13>(vaddq_u32(a, vshrq_n_u32::<3>(r))),
            splat(112 << 10),
        );
        let kept = vandq_u32(vcgeq_u32(a, splat(0x3880_0000)), kept);
        return vmovn_u32(vorrq_u32(kept, sign));
    }
    let e = vshrq_n_u32::<23>(a);
    let m = vorrq_u32(vandq_u32(a, splat(0x007f_ffff)), splat(0x0080_0000));
    let normal = vcgtq_u32(e, splat(112));
    let d = vbslq_u32(
        normal,
        splat(13),
        vminq_u32(vsubq_u32(splat(126), vminq_u32(e, splat(126))), splat(47)),
    );
    let above = vqsubq_u32(d, splat(16));
    let below = vqsubq_u32(splat(16), d);
    let kept = shr(
        vaddq_u32(shr(m, above), shr(r, below)),
        vminq_u32(d, splat(16)),
    );
    let exponent = vandq_u32(normal, vshlq_n_u32::<10>(vsubq_u32(e, splat(113))));
    let limit = splat(if SATURATE { 0x7bff } else { 0x7c00 });
    let finite = vminq_u32(vaddq_u32(exponent, kept), limit);
    let nan_bits = vorrq_u32(
        splat(0x0200),
        vandq_u32(vshrq_n_u32::<13>(a), splat(0x03ff)),
    );
    let is_nan = vcgtq_u32(a, splat(0x7f80_0000));
    let special = vorrq_u32(splat(0x7c00), vandq_u32(is_nan, nan_bits));
    let out = vbslq_u32(vcgtq_u32(a, splat(0x7f7f_ffff)), special, finite);
    vmovn_u32(vorrq_u32(out, sign))
}

/// The random values of a step's blocks: `random(first)` gives blocks `first..first + 8`,
/// one per vector in element order.
type Bits = [uint16x8_t; BLOCKS];

/// Shared driver: `round(x_bits, r)` four lanes at a time over chunks of [`STEP`] elements,
/// with the random values of `random`.
#[inline(always)]
fn drive<S: Copy + Default, D: Copy + Default>(
    src: &[S],
    dst: &mut [D],
    sr: Sr,
    random: impl Fn(u64) -> Bits,
    mut load: impl FnMut(&[S], &[D], usize) -> uint32x4_t,
    mut round: impl FnMut(uint32x4_t, uint32x4_t) -> uint16x4_t,
    edge: impl FnMut(&[S], &mut [D], u64),
) {
    for_each_block_chunk::<_, _, STEP>(
        src,
        dst,
        sr.offset,
        PADDED_TAIL_MIN,
        |s, d, block| {
            let bits = random(block);
            for (k, b) in bits.into_iter().enumerate() {
                // SAFETY: neon is part of the aarch64 baseline this crate is built for; `load`
                // reads 4 elements from 8k and 8k + 4 of the chunk.
                let y = unsafe {
                    let lo = round(load(s, d, 8 * k), vmovl_u16(vget_low_u16(b)));
                    let hi = round(load(s, d, 8 * k + 4), vmovl_high_u16(b));
                    vcombine_u16(lo, hi)
                };
                // SAFETY: `d` holds STEP 16-bit elements; this writes 8 of them from 8k.
                unsafe { vst1q_u16(d[8 * k..].as_mut_ptr().cast(), y) };
            }
        },
        edge,
    );
}

/// 4 f32 from `s[i..]` as bit patterns.
#[inline]
#[target_feature(enable = "neon")]
fn load_f32(s: &[f32], i: usize) -> uint32x4_t {
    assert!(i + 4 <= s.len());
    // SAFETY: checked just above.
    unsafe { vld1q_u32(s[i..].as_ptr().cast()) }
}

/// 4 bf16 from `s[i..]` widened to f32 patterns. Their NaNs are not quieted (`half`'s
/// `to_f32`, the reference's, quiets them): the fused update only takes them into its sum,
/// whose NaNs all become the canonical NaN, so no payload reaches a result.
#[inline]
#[target_feature(enable = "neon")]
fn load_bf16(s: &[bf16], i: usize) -> uint32x4_t {
    assert!(i + 4 <= s.len());
    // SAFETY: checked just above.
    vshll_n_u16::<16>(unsafe { vld1_u16(s[i..].as_ptr().cast()) })
}

#[inline]
#[target_feature(enable = "neon")]
fn f32_to_bf16_with(src: &[f32], dst: &mut [bf16], sr: Sr, random: impl Fn(u64) -> Bits) {
    let edge = |s: &[f32], d: &mut [bf16], at| edge::f32_to_bf16(s, d, at, sr, AesBlocks::new(sr));
    match sr.overflow {
        Overflow::Infinity => drive(
            src,
            dst,
            sr,
            &random,
            |s, _, i| load_f32(s, i),
            |x, r| sr_bf16::<false>(x, r),
            edge,
        ),
        Overflow::Saturate => drive(
            src,
            dst,
            sr,
            &random,
            |s, _, i| load_f32(s, i),
            |x, r| sr_bf16::<true>(x, r),
            edge,
        ),
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn f32_to_f16_with(src: &[f32], dst: &mut [f16], sr: Sr, random: impl Fn(u64) -> Bits) {
    let edge = |s: &[f32], d: &mut [f16], at| edge::f32_to_f16(s, d, at, sr, AesBlocks::new(sr));
    match sr.overflow {
        Overflow::Infinity => drive(
            src,
            dst,
            sr,
            &random,
            |s, _, i| load_f32(s, i),
            |x, r| sr_f16::<false>(x, r),
            edge,
        ),
        Overflow::Saturate => drive(
            src,
            dst,
            sr,
            &random,
            |s, _, i| load_f32(s, i),
            |x, r| sr_f16::<true>(x, r),
            edge,
        ),
    }
}

/// `w = sr(w + alpha * g)` for 4 lanes (`t` holds the f32 sum); NaN sums become the
/// canonical NaN.
#[inline]
#[target_feature(enable = "neon")]
fn update<const SATURATE: bool>(t: uint32x4_t, r: uint32x4_t) -> uint16x4_t {
    let tf = vreinterpretq_f32_u32(t);
    let is_nan = vmovn_u32(vmvnq_u32(vceqq_f32(tf, tf)));
    let y = sr_bf16::<SATURATE>(t, r);
    vbsl_u16(is_nan, vdup_n_u16(r::CANONICAL_NAN.to_bits()), y)
}

/// The fused update with gradients read by `grad(g, i)` (4 lanes from element `i`).
#[inline(always)]
fn axpy<G: Copy + Default + Into<f32>>(
    alpha: f32,
    g: &[G],
    w: &mut [bf16],
    sr: Sr,
    random: impl Fn(u64) -> Bits,
    grad: impl Fn(&[G], usize) -> float32x4_t,
) {
    let edge = |g: &[G], w: &mut [bf16], at| edge::axpy(alpha, g, w, at, sr, AesBlocks::new(sr));
    // SAFETY (all three): neon is part of the aarch64 baseline this crate is built for. The
    // product and the sum are separate instructions (no fused multiply-add).
    let sum = |g: &[G], w: &[bf16], i| unsafe {
        let wf = vreinterpretq_f32_u32(load_bf16(w, i));
        vreinterpretq_u32_f32(vaddq_f32(wf, vmulq_f32(vdupq_n_f32(alpha), grad(g, i))))
    };
    // SAFETY: as above.
    let to_infinity = |t, r| unsafe { update::<false>(t, r) };
    // SAFETY: as above.
    let saturating = |t, r| unsafe { update::<true>(t, r) };
    match sr.overflow {
        Overflow::Infinity => drive(g, w, sr, random, sum, to_infinity, edge),
        Overflow::Saturate => drive(g, w, sr, random, sum, saturating, edge),
    }
}

#[inline]
#[target_feature(enable = "neon")]
fn axpy_f32_with(alpha: f32, g: &[f32], w: &mut [bf16], sr: Sr, random: impl Fn(u64) -> Bits) {
    axpy(alpha, g, w, sr, random, |g, i| {
        vreinterpretq_f32_u32(load_f32(g, i))
    });
}

#[inline]
#[target_feature(enable = "neon")]
fn axpy_bf16_with(alpha: f32, g: &[bf16], w: &mut [bf16], sr: Sr, random: impl Fn(u64) -> Bits) {
    axpy(alpha, g, w, sr, random, |g, i| {
        vreinterpretq_f32_u32(load_bf16(g, i))
    });
}

/// The kernel table's entries, one per operation, and their ARS-5 twins: `$name` draws the
/// bits `sr.generator` names, ARS-5 through `$ars` where the CPU has the AES instructions and
/// through the `Portable` tier's kernel (software AES by tables) where it does not.
macro_rules! entries {
    ($($name:ident, $ars:ident, $with:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[target_feature(enable = "neon")]
        pub(super) unsafe fn $name($($arg: $ty,)* sr: Sr) {
            if sr.generator == Generator::Ars5 {
                return match Aes::detect() {
                    // SAFETY: this tier's features, and `aes` proves the one `$ars` adds.
                    Some(aes) => unsafe { $ars(aes, $($arg,)* sr) },
                    None => portable::$name($($arg,)* sr),
                };
            }
            $with($($arg,)* sr, |first| random_blocks(sr.seed, first))
        }

        /// # Safety
        /// The CPU supports the Neon tier.
        #[target_feature(enable = "neon,aes")]
        unsafe fn $ars(_: Aes, $($arg: $ty,)* sr: Sr) {
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
