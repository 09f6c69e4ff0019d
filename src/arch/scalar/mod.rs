//! The `Scalar` tier: the reference itself, so it is the oracle by construction.

use crate::backend::Kernels;
use crate::reference::convert as r;

pub(crate) static KERNELS: Kernels = Kernels {
    f32_to_bf16: r::f32_to_bf16_slice,
    bf16_to_f32: r::bf16_to_f32_slice,
    f32_to_f16: r::f32_to_f16_slice,
    f16_to_f32: r::f16_to_f32_slice,
};
