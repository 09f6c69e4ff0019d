//! The `Portable` tier: `wide`'s compile-time SIMD (SSE2 on x86_64, NEON on aarch64), safe code
//! but for the sparse dot's unchecked reads of x (at indices a validated structure guarantees).

pub(super) mod ars;
mod convert;
mod fmac;
mod gemm;
mod sparse;
/// Also Neon's stochastic kernels where the CPU has no AES instructions.
pub(super) mod stochastic;

use half::{bf16, f16};

use crate::backend::Kernels;

pub(crate) static KERNELS: Kernels = Kernels {
    f32_to_bf16: convert::f32_to_bf16,
    bf16_to_f32: convert::bf16_to_f32,
    f32_to_f16: convert::f32_to_f16,
    f16_to_f32: convert::f16_to_f32,
    f32_to_bf16_sr: stochastic::f32_to_bf16,
    f32_to_f16_sr: stochastic::f32_to_f16,
    axpy_bf16_sr: stochastic::axpy_f32,
    axpy_bf16_sr_bf16: stochastic::axpy_bf16,
    dot_bf16: fmac::dot_bf16,
    dot_f16: fmac::dot_f16,
    dot_f32_bf16: fmac::dot_f32_bf16,
    row_f32_bf16: fmac::dot_f32_bf16,
    row_f32_f16: fmac::dot_f32_f16,
    row_f32: fmac::dot_f32,
    dot2_f32_bf16: fmac::dot2_f32_bf16,
    dot2_f32_f16: fmac::dot2_f32_f16,
    dot2_f32: fmac::dot2_f32,
    gemm: gemm::GEMM,
    fma_peak: gemm::fma_peak,
    sparse_dots_f32: sparse::dots::<f32>,
    sparse_dots_bf16: sparse::dots::<bf16>,
    sparse_dots_f16: sparse::dots::<f16>,
    sparse_row_f32: sparse::row::<f32>,
    sparse_row_bf16: sparse::row::<bf16>,
    sparse_row_f16: sparse::row::<f16>,
    // No gather instruction: a packed CSR's chunks run the scalar loop.
    sell_f32: crate::arch::scalar::sparse::sell_chunk::<f32>,
    sell_bf16: crate::arch::scalar::sparse::sell_chunk::<bf16>,
    sell_f16: crate::arch::scalar::sparse::sell_chunk::<f16>,
    window_f32: crate::arch::scalar::sparse::window_chunk::<f32>,
    window_bf16: crate::arch::scalar::sparse::window_chunk::<bf16>,
    window_f16: crate::arch::scalar::sparse::window_chunk::<f16>,
    transpose_f32: crate::arch::scalar::transpose::transpose,
    mx_quantize: crate::arch::scalar::blockfp::quantize,
    mx_dequantize: crate::arch::scalar::blockfp::dequantize,
};
