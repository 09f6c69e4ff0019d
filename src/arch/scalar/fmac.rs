//! Dot products: one f32 accumulator, elements in order, each product rounded then added (the
//! plainest f32 summation, within the bound of [`crate::reference::fmac`]).

use half::{bf16, f16};

// `Output::to_f32` widens exactly, as `Into<f32>` does, and under Miri without `half`'s F16C
// instruction, which Miri cannot run.
use crate::fmac::Output;

fn dot<A: Output, B: Output>(a: &[A], b: &[B]) -> f32 {
    a.iter()
        .zip(b)
        .fold(0.0f32, |acc, (&x, &y)| acc + x.to_f32() * y.to_f32())
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
