//! Dot products on `f32x8` lanes: four accumulators (32 elements per step), the rest in
//! vectors (the last one ending at the last element), then a fixed pairwise reduction.

use half::{bf16, f16};
use wide::f32x8;

use super::convert::{widen_bf16, widen_f16};

/// Widens eight elements to f32 lanes: bf16 and f16 in integer lanes, as the conversions do
/// (`Into<f32>` one element at a time, with `half`'s F16C check in every f16 one, ran the f16
/// GEMV at a third of this speed).
pub(super) trait Lanes: Copy {
    fn lanes(c: &[Self]) -> f32x8;

    /// One element (for f16 the reference's plain conversion, not `half`'s call per element).
    fn one(self) -> f32;
}

impl Lanes for f32 {
    fn lanes(c: &[f32]) -> f32x8 {
        f32x8::new(c[..8].try_into().unwrap())
    }

    fn one(self) -> f32 {
        self
    }
}

impl Lanes for bf16 {
    fn lanes(c: &[bf16]) -> f32x8 {
        bytemuck::cast(widen_bf16(c[..8].try_into().unwrap()))
    }

    fn one(self) -> f32 {
        f32::from_bits(u32::from(self.to_bits()) << 16)
    }
}

impl Lanes for f16 {
    fn lanes(c: &[f16]) -> f32x8 {
        bytemuck::cast(widen_f16(c[..8].try_into().unwrap()))
    }

    fn one(self) -> f32 {
        crate::reference::convert::f16_to_f32(self)
    }
}

fn dot<A: Lanes, B: Lanes>(a: &[A], b: &[B]) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [f32x8::ZERO; 4];
    let whole = n / 32 * 32;
    for i in (0..whole).step_by(32) {
        for (j, acc) in acc.iter_mut().enumerate() {
            let k = i + 8 * j;
            *acc = A::lanes(&a[k..k + 8]).mul_add(B::lanes(&b[k..k + 8]), *acc);
        }
    }
    // The rest: up to three whole vectors into acc[0..3], then the vector that ends at the
    // last element into acc[3], its lanes already summed keeping acc[3]'s value. Only a dot
    // shorter than a vector adds its elements one at a time.
    let mut at = whole;
    for acc in &mut acc[..3] {
        if n - at >= 8 {
            *acc = A::lanes(&a[at..at + 8]).mul_add(B::lanes(&b[at..at + 8]), *acc);
            at += 8;
        }
    }
    if at < n && n >= 8 {
        let lane = f32x8::new([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let fresh = lane.simd_ge(f32x8::splat((8 - (n - at)) as f32));
        let sum = A::lanes(&a[n - 8..n]).mul_add(B::lanes(&b[n - 8..n]), acc[3]);
        acc[3] = fresh.select(sum, acc[3]);
        at = n;
    }
    let sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    let mut total = sum.reduce_add();
    for (&x, &y) in a[at..n].iter().zip(&b[at..n]) {
        total += x.one() * y.one();
    }
    total
}

pub(super) fn dot_bf16(a: &[bf16], b: &[bf16]) -> f32 {
    dot(a, b)
}

pub(super) fn dot_f16(a: &[f16], b: &[f16]) -> f32 {
    dot(a, b)
}

pub(super) fn dot_f32_bf16(a: &[f32], b: &[bf16]) -> f32 {
    dot(a, b)
}

pub(super) fn dot_f32_f16(a: &[f32], b: &[f16]) -> f32 {
    dot(a, b)
}

pub(super) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b)
}

crate::arch::two_rows! {
    dot2_f32_bf16: dot_f32_bf16, bf16;
    dot2_f32_f16: dot_f32_f16, f16;
    dot2_f32: dot_f32, f32;
}
