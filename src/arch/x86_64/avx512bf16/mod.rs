//! The `Avx512Bf16` tier: `Avx512` plus the BF16 extension: `vcvtneps2bf16` for f32 -> bf16
//! and `vdpbf16ps` for the bf16 × bf16 GEMM; everything else is `Avx512`'s.

mod convert;
mod gemm;

use super::avx512;
use crate::backend::Kernels;

pub(crate) static KERNELS: Kernels = Kernels {
    f32_to_bf16: convert::f32_to_bf16,
    gemm: gemm::GEMM,
    ..avx512::KERNELS
};
