//! Dot products: one f32 accumulator, elements in order, each product rounded then added (the
//! plainest f32 summation, within the bound of [`crate::reference::fmac`]).

use half::{bf16, f16};

fn dot<A: Copy + Into<f32>, B: Copy + Into<f32>>(a: &[A], b: &[B]) -> f32 {
    a.iter()
        .zip(b)
        .fold(0.0f32, |acc, (&x, &y)| acc + x.into() * y.into())
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
