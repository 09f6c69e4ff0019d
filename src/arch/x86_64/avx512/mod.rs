//! The `Avx512` tier: AVX-512 F, BW, DQ, VL.

pub(super) mod convert;

use crate::backend::Kernels;

pub(crate) static KERNELS: Kernels = Kernels {
    f32_to_bf16: convert::f32_to_bf16,
    bf16_to_f32: convert::bf16_to_f32,
    f32_to_f16: convert::f32_to_f16,
    f16_to_f32: convert::f16_to_f32,
    ..crate::arch::scalar::KERNELS
};
