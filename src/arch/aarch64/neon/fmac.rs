//! Dot products: inputs widened to f32 lanes (shift for bf16, `fcvtl` for f16), FMA into four
//! accumulators (16 elements per step), the rest in vectors (the last one ending at the last
//! element, its lanes already summed left as they were), a fixed reduction.

use core::arch::aarch64::*;
use core::arch::asm;

use half::{bf16, f16};

/// Four elements from `p` as f32 lanes.
pub(super) trait Lanes: Copy {
    /// # Safety
    /// `p` is valid for reading 4 elements.
    unsafe fn lanes(p: *const Self) -> float32x4_t;

    /// One element as f32 in all four lanes (`Into<f32>` on f16 checks the CPU's features
    /// and calls out, per element).
    fn splat(self) -> float32x4_t;
}

impl Lanes for f32 {
    #[inline(always)]
    unsafe fn lanes(p: *const f32) -> float32x4_t {
        // SAFETY: per the trait's contract.
        unsafe { vld1q_f32(p) }
    }

    #[inline(always)]
    fn splat(self) -> float32x4_t {
        // SAFETY: neon is part of the aarch64 baseline; register-only.
        unsafe { vdupq_n_f32(self) }
    }
}

impl Lanes for bf16 {
    #[inline(always)]
    unsafe fn lanes(p: *const bf16) -> float32x4_t {
        // SAFETY: per the trait's contract (4 bf16 = one 8-byte load).
        unsafe { vreinterpretq_f32_u32(vshll_n_u16::<16>(vld1_u16(p.cast()))) }
    }

    #[inline(always)]
    fn splat(self) -> float32x4_t {
        // SAFETY: neon is part of the aarch64 baseline; register-only.
        unsafe { vdupq_n_f32(f32::from_bits(u32::from(self.to_bits()) << 16)) }
    }
}

impl Lanes for f16 {
    #[inline(always)]
    unsafe fn lanes(p: *const f16) -> float32x4_t {
        // SAFETY: per the trait's contract (4 f16 = one 8-byte load).
        widen_f16(unsafe { vld1_u16(p.cast()) })
    }

    #[inline(always)]
    fn splat(self) -> float32x4_t {
        // SAFETY: neon is part of the aarch64 baseline; register-only.
        widen_f16(unsafe { vdup_n_u16(self.to_bits()) })
    }
}

/// Four f16 patterns to f32 lanes (`fcvtl`; the intrinsic needs the unstable `f16` type).
#[inline(always)]
fn widen_f16(h: uint16x4_t) -> float32x4_t {
    let out: float32x4_t;
    // SAFETY: a register-only conversion of base Advanced SIMD; touches no memory or flags.
    unsafe {
        asm!("fcvtl {out:v}.4s, {h:v}.4h", h = in(vreg) h, out = out(vreg) out,
             options(pure, nomem, nostack, preserves_flags));
    }
    out
}

#[inline(always)]
fn dot<A: Lanes, B: Lanes>(a: &[A], b: &[B]) -> f32 {
    let n = a.len().min(b.len());
    let whole = n / 16 * 16;
    // SAFETY: every load reads 4 elements at `i + 4j + 4 <= whole <= n`, or ending at or before
    // `n`; neon is part of the aarch64 baseline.
    unsafe {
        let mut acc = [vdupq_n_f32(0.0); 4];
        for i in (0..whole).step_by(16) {
            for (j, acc) in acc.iter_mut().enumerate() {
                let k = i + 4 * j;
                *acc = vfmaq_f32(
                    *acc,
                    A::lanes(a.as_ptr().add(k)),
                    B::lanes(b.as_ptr().add(k)),
                );
            }
        }
        // The rest: up to three whole vectors into acc[0..3], then the vector that ends at
        // the last element into acc[3], its lanes already summed keeping acc[3]'s value. Only
        // a dot shorter than a vector adds its elements one at a time.
        let mut at = whole;
        for acc in &mut acc[..3] {
            if n - at >= 4 {
                *acc = vfmaq_f32(
                    *acc,
                    A::lanes(a.as_ptr().add(at)),
                    B::lanes(b.as_ptr().add(at)),
                );
                at += 4;
            }
        }
        if at < n && n >= 4 {
            let lane: [u32; 4] = [0, 1, 2, 3];
            let fresh = vcgeq_u32(vld1q_u32(lane.as_ptr()), vdupq_n_u32((4 - (n - at)) as u32));
            let (xa, xb) = (
                A::lanes(a.as_ptr().add(n - 4)),
                B::lanes(b.as_ptr().add(n - 4)),
            );
            acc[3] = vbslq_f32(fresh, vfmaq_f32(acc[3], xa, xb), acc[3]);
            at = n;
        }
        let sum = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3]));
        let mut total = vaddvq_f32(sum);
        for (&x, &y) in a[at..n].iter().zip(&b[at..n]) {
            total += vgetq_lane_f32::<0>(x.splat()) * vgetq_lane_f32::<0>(y.splat());
        }
        total
    }
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_bf16(a: &[bf16], b: &[bf16]) -> f32 {
    dot(a, b)
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_f16(a: &[f16], b: &[f16]) -> f32 {
    dot(a, b)
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_f32_bf16(a: &[f32], b: &[bf16]) -> f32 {
    dot(a, b)
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_f32_f16(a: &[f32], b: &[f16]) -> f32 {
    dot(a, b)
}

#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b)
}

crate::arch::two_rows! {
    dot2_f32_bf16: dot_f32_bf16, bf16;
    dot2_f32_f16: dot_f32_f16, f16;
    dot2_f32: dot_f32, f32;
}
