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

/// `a > b` per lane for `a` below 2^31: the signed comparison, one instruction on SSE2
/// (where the unsigned one takes an extra XOR).
fn above(a: u32x8, b: u32) -> u32x8 {
    let a: i32x8 = bytemuck::cast(a);
    bytemuck::cast(a.simd_gt(i32x8::splat(b as i32)))
}

/// `|x| > +Inf` per lane: all ones where the f32 pattern is a NaN.
fn nan_mask(x: u32x8) -> u32x8 {
    above(x & splat(0x7fff_ffff), 0x7f80_0000)
}

pub(super) fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    for_each_chunk::<_, _, 8>(
        src,
        dst,
        |s, d| {
            let x = u32x8::new(s.map(f32::to_bits));
            let lsb = (x >> 16u32) & splat(1);
            let rounded = (x + splat(0x7fff) + lsb) >> 16u32;
            // One test per step: the NaN lanes' own result is needed only where there are any.
            let out = if f32x8::new(*s).is_nan().to_bitmask() == 0 {
                rounded
            } else {
                let quiet_nan = (x >> 16u32) | splat(0x40);
                nan_mask(x).select(quiet_nan, rounded)
            }
            .to_array();
            *d = out.map(|v| bf16::from_bits(v as u16));
        },
        r::f32_to_bf16_slice,
    );
}

/// Eight 16-bit patterns, zero-extended. Written out: `array::map` was left out of line in
/// the dot products.
#[inline(always)]
pub(super) fn patterns<T: bytemuck::Pod>(h: &[T; 8]) -> u32x8 {
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
            let out = above(a, 0x387f_ffff).select(normal, subnormal);
            let out = above(a, 0x477f_efff).select(splat(0x7c00), out);
            let out = above(a, 0x7f80_0000).select(quiet_nan, out);
            *d = (out | sign).to_array().map(|v| f16::from_bits(v as u16));
        },
        r::f32_to_f16_slice,
    );
}

/// 8 f16 -> 8 f32 patterns, exactly (NaN quieted, as `half`'s `to_f32`).
pub(super) fn widen_f16(s: &[f16; 8]) -> u32x8 {
    let h = patterns(s);
    let em = h & splat(0x7fff);
    // Normal: shifted into place and rebiased (127 - 15).
    let normal = (em << 13u32) + splat(112 << 23);
    // Subnormal (and zero): the same pattern one binade up is 2^-14 (1 + m/1024); less 2^-14
    // that is m 2^-24, exactly (a difference of two normal floats that is itself a normal
    // float or +0: neither flush-to-zero nor denormals-are-zero nor the rounding mode
    // changes it).
    let up: f32x8 = bytemuck::cast(normal + splat(1 << 23));
    let subnormal = up - f32x8::splat(f32::from_bits(113 << 23));
    let out = above(em, 0x03ff).select(normal, bytemuck::cast(subnormal));
    // Inf and NaN: rebiased once more, to the all-ones exponent; NaN gets the quiet bit.
    let out = out + (above(em, 0x7bff) & splat(112 << 23));
    let out = out | (above(em, 0x7c00) & splat(0x0040_0000));
    out | ((h & splat(0x8000)) << 16u32)
}

pub(super) fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
    for_each_chunk::<_, _, 8>(
        src,
        dst,
        |s, d| *d = widen_f16(s).to_array().map(f32::from_bits),
        r::f16_to_f32_slice,
    );
}
