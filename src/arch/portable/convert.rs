//! Conversions on `u32x8` lanes, integer arithmetic but for two exact or correctly rounded
//! float operations on f16 subnormals (which neither flush-to-zero nor denormals-are-zero
//! can change: see each).
//! Eight elements per step; the sub-vector tail goes through the reference.

use half::{bf16, f16};
use wide::{f32x8, i32x8, u32x8};

use crate::arch::for_each_chunk;
use crate::reference::convert as r;

fn splat(v: u32) -> u32x8 {
    u32x8::splat(v)
}

/// `|x| > +Inf` per lane: all ones where the f32 pattern is a NaN.
fn nan_mask(x: u32x8) -> u32x8 {
    (x & splat(0x7fff_ffff)).simd_gt(splat(0x7f80_0000))
}

pub(super) fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    for_each_chunk::<_, _, 8>(
        src,
        dst,
        |s, d| {
            let x = u32x8::new(s.map(f32::to_bits));
            let lsb = (x >> 16u32) & splat(1);
            let rounded = (x + splat(0x7fff) + lsb) >> 16u32;
            let quiet_nan = (x >> 16u32) | splat(0x40);
            let out = nan_mask(x).select(quiet_nan, rounded).to_array();
            *d = out.map(|v| bf16::from_bits(v as u16));
        },
        r::f32_to_bf16_slice,
    );
}

/// Eight 16-bit patterns, zero-extended. Written out: `array::map` was left out of line in
/// the dot products.
#[inline(always)]
fn patterns<T: bytemuck::Pod>(h: &[T; 8]) -> u32x8 {
    let h: [u16; 8] = bytemuck::cast(*h);
    u32x8::new([
        h[0] as u32,
        h[1] as u32,
        h[2] as u32,
        h[3] as u32,
        h[4] as u32,
        h[5] as u32,
        h[6] as u32,
        h[7] as u32,
    ])
}

/// 8 bf16 -> 8 f32 patterns, NaN quieted.
pub(super) fn widen_bf16(h: &[bf16; 8]) -> u32x8 {
    let x = patterns(h) << 16u32;
    x | (nan_mask(x) & splat(0x0040_0000))
}

pub(super) fn bf16_to_f32(src: &[bf16], dst: &mut [f32]) {
    for_each_chunk::<_, _, 8>(
        src,
        dst,
        |s, d| *d = widen_bf16(s).to_array().map(f32::from_bits),
        r::bf16_to_f32_slice,
    );
}

pub(super) fn f32_to_f16(src: &[f32], dst: &mut [f16]) {
    for_each_chunk::<_, _, 8>(
        src,
        dst,
        |s, d| {
            let x = u32x8::new(s.map(f32::to_bits));
            let sign = (x >> 16u32) & splat(0x8000);
            let a: u32x8 = x & splat(0x7fff_ffff);
            // f16 normal range: round away 13 bits, then rebias the exponent (127 - 15).
            let lsb = (a >> 13u32) & splat(1);
            let normal = ((a + splat(0x0fff) + lsb) >> 13u32) - splat(112 << 10);
            // Below 2^-14 the unit is 2^-24, f32's ulp in [0.5, 1): adding 0.5 rounds |x| to it
            // (to nearest even), and the sum's pattern less 0.5's is the f16 pattern (0x0400
            // where it rounds up to 2^-14; an f32 subnormal gives 0 either way, so
            // denormals-are-zero cannot change it). A float add, not per-lane shifts, which
            // SSE2 and other targets of `wide` lack.
            let sum = bytemuck::cast::<u32x8, f32x8>(a) + f32x8::splat(0.5);
            let subnormal = bytemuck::cast::<f32x8, u32x8>(sum) - splat(0x3f00_0000);
            let quiet_nan = splat(0x7e00) | ((a >> 13u32) & splat(0x03ff));
            let out = a.simd_lt(splat(0x3880_0000)).select(subnormal, normal);
            let out = a.simd_gt(splat(0x477f_efff)).select(splat(0x7c00), out);
            let out = a.simd_gt(splat(0x7f80_0000)).select(quiet_nan, out);
            *d = (out | sign).to_array().map(|v| f16::from_bits(v as u16));
        },
        r::f32_to_f16_slice,
    );
}

/// 8 f16 -> 8 f32 patterns, exactly (NaN quieted, as `half`'s `to_f32`).
pub(super) fn widen_f16(s: &[f16; 8]) -> u32x8 {
    let h = patterns(s);
    let sign: u32x8 = (h & splat(0x8000)) << 16u32;
    let em = h & splat(0x7fff);
    // Normal: shift into place and rebias (127 - 15); Inf/NaN: all-ones exponent, and
    // NaN gets the quiet bit.
    let normal = (em << 13u32) + splat(112 << 23);
    let special = (em << 13u32) | splat(0x7f80_0000);
    let special = special | (em.simd_gt(splat(0x7c00)) & splat(0x0040_0000));
    // Subnormal (and zero): m * 2^-24 is exact in f32 arithmetic, and a normal f32.
    let m: i32x8 = bytemuck::cast(em & splat(0x03ff));
    let subnormal = m.round_float() * f32x8::splat(f32::from_bits(0x3380_0000)); // 2^-24
    let subnormal: u32x8 = bytemuck::cast(subnormal);
    let out = em.simd_lt(splat(0x0400)).select(subnormal, normal);
    let out = em.simd_gt(splat(0x7bff)).select(special, out);
    out | sign
}

pub(super) fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
    for_each_chunk::<_, _, 8>(
        src,
        dst,
        |s, d| *d = widen_f16(s).to_array().map(f32::from_bits),
        r::f16_to_f32_slice,
    );
}
