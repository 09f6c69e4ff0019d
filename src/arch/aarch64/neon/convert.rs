//! Conversions, 16 elements per step; the tail goes through the reference.
//!
//! bf16 uses integer ops only. f16 uses `fcvtn`/`fcvtl`, part of base ARMv8 Advanced SIMD,
//! through `asm!` because the intrinsics' `float16x4_t` needs the unstable `f16` type on older
//! compilers. They round to nearest even and keep NaN payloads under the default FPCR
//! (RMode = RNE, DN = 0, AHP = 0), which Rust programs run with.

use core::arch::aarch64::*;
use core::arch::asm;

use half::{bf16, f16};

use crate::arch::for_each_chunk;
use crate::reference::convert as r;

/// 4 f32 patterns -> 4 bf16 patterns, round to nearest even, NaN quieted.
#[inline]
#[target_feature(enable = "neon")]
fn round_bf16(x: uint32x4_t) -> uint16x4_t {
    let rounded = round_ordered_bf16(x);
    let quiet_nan = vorr_u16(vshrn_n_u32::<16>(x), vdup_n_u16(0x40));
    let magnitude = vandq_u32(x, vdupq_n_u32(0x7fff_ffff));
    let is_nan = vmovn_u32(vcgtq_u32(magnitude, vdupq_n_u32(0x7f80_0000)));
    vbsl_u16(is_nan, quiet_nan, rounded)
}

/// 4 f32 patterns, none a NaN -> 4 bf16 patterns, round to nearest even: [`round_bf16`] less
/// its NaN handling, in three instructions. The bias, 0x7fff plus the kept part's lowest bit
/// (bit 16), is built by a shift left and a shift-right-accumulate; `addhn` adds it and keeps
/// the high halves.
#[inline]
#[target_feature(enable = "neon")]
fn round_ordered_bf16(x: uint32x4_t) -> uint16x4_t {
    let bias = vsraq_n_u32::<31>(vdupq_n_u32(0x7fff), vshlq_n_u32::<15>(x));
    vaddhn_u32(x, bias)
}

/// Whether none of 16 f32 patterns is a NaN (a NaN is the one value unequal to itself).
#[inline]
#[target_feature(enable = "neon")]
fn none_is_nan(x: &[uint32x4_t; 4]) -> bool {
    let ordered = |v: uint32x4_t| {
        let v = vreinterpretq_f32_u32(v);
        vceqq_f32(v, v)
    };
    let all = vandq_u32(
        vandq_u32(ordered(x[0]), ordered(x[1])),
        vandq_u32(ordered(x[2]), ordered(x[3])),
    );
    vminvq_u32(all) == u32::MAX
}

/// 4 bf16 patterns -> 4 f32 patterns, NaN quieted.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn widen_bf16(h: uint16x4_t) -> uint32x4_t {
    let x = vshll_n_u16::<16>(h);
    let magnitude = vandq_u32(x, vdupq_n_u32(0x7fff_ffff));
    let is_nan = vcgtq_u32(magnitude, vdupq_n_u32(0x7f80_0000));
    vorrq_u32(x, vandq_u32(is_nan, vdupq_n_u32(0x0040_0000)))
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    for_each_chunk::<_, _, 16>(
        src,
        dst,
        |s, d| {
            let s = s.as_ptr().cast::<u32>();
            let d = d.as_mut_ptr().cast::<u16>();
            // SAFETY: `s` holds 16 f32 (four 4-lane loads) and `d` 16 bf16 (two 8-lane
            // stores). NEON loads/stores are unaligned-safe for element-aligned pointers.
            unsafe {
                let x = [0, 4, 8, 12].map(|j| vld1q_u32(s.add(j)));
                // One test per 16 lanes tells whether the short way is exact for all of them.
                let y = if none_is_nan(&x) {
                    x.map(|x| round_ordered_bf16(x))
                } else {
                    x.map(|x| round_bf16(x))
                };
                vst1q_u16(d, vcombine_u16(y[0], y[1]));
                vst1q_u16(d.add(8), vcombine_u16(y[2], y[3]));
            }
        },
        r::f32_to_bf16_slice,
    );
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn bf16_to_f32(src: &[bf16], dst: &mut [f32]) {
    for_each_chunk::<_, _, 16>(
        src,
        dst,
        |s, d| {
            let s = s.as_ptr().cast::<u16>();
            let d = d.as_mut_ptr().cast::<u32>();
            for j in (0..16).step_by(8) {
                // SAFETY: `s` holds 16 bf16 and `d` 16 f32; `j + 8 <= 16`.
                unsafe {
                    let h = vld1q_u16(s.add(j));
                    vst1q_u32(d.add(j), widen_bf16(vget_low_u16(h)));
                    vst1q_u32(d.add(j + 4), widen_bf16(vget_high_u16(h)));
                }
            }
        },
        r::bf16_to_f32_slice,
    );
}

/// 8 f32 -> 8 f16 (`fcvtn` + `fcvtn2`), round to nearest even.
#[inline]
#[target_feature(enable = "neon")]
fn narrow_f16(a: float32x4_t, b: float32x4_t) -> uint16x8_t {
    let out: uint16x8_t;
    // SAFETY: register-only conversions of base Advanced SIMD (enabled on this function); no
    // memory is touched and no flags are changed.
    unsafe {
        asm!(
            "fcvtn {out:v}.4h, {a:v}.4s",
            "fcvtn2 {out:v}.8h, {b:v}.4s",
            a = in(vreg) a,
            b = in(vreg) b,
            out = out(vreg) out,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    out
}

/// 8 f16 -> 8 f32 (`fcvtl` + `fcvtl2`), exact.
#[inline]
#[target_feature(enable = "neon")]
fn widen_f16(h: uint16x8_t) -> (float32x4_t, float32x4_t) {
    let (lo, hi): (float32x4_t, float32x4_t);
    // SAFETY: register-only conversions of base Advanced SIMD (enabled on this function).
    unsafe {
        asm!(
            "fcvtl {lo:v}.4s, {h:v}.4h",
            "fcvtl2 {hi:v}.4s, {h:v}.8h",
            h = in(vreg) h,
            lo = out(vreg) lo,
            hi = out(vreg) hi,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    (lo, hi)
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn f32_to_f16(src: &[f32], dst: &mut [f16]) {
    for_each_chunk::<_, _, 16>(
        src,
        dst,
        |s, d| {
            let s = s.as_ptr();
            let d = d.as_mut_ptr().cast::<u16>();
            for j in (0..16).step_by(8) {
                // SAFETY: `s` holds 16 f32 and `d` 16 f16; `j + 8 <= 16`.
                unsafe {
                    let h = narrow_f16(vld1q_f32(s.add(j)), vld1q_f32(s.add(j + 4)));
                    vst1q_u16(d.add(j), h);
                }
            }
        },
        r::f32_to_f16_slice,
    );
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
    for_each_chunk::<_, _, 16>(
        src,
        dst,
        |s, d| {
            let s = s.as_ptr().cast::<u16>();
            let d = d.as_mut_ptr();
            for j in (0..16).step_by(8) {
                // SAFETY: `s` holds 16 f16 and `d` 16 f32; `j + 8 <= 16`.
                unsafe {
                    let (lo, hi) = widen_f16(vld1q_u16(s.add(j)));
                    vst1q_f32(d.add(j), lo);
                    vst1q_f32(d.add(j + 4), hi);
                }
            }
        },
        r::f16_to_f32_slice,
    );
}
