//! The `Avx512` tier: AVX-512 F, BW, DQ, VL.

mod ars;
pub(super) mod convert;
mod fmac;
pub(super) mod gemm;
mod sell;
mod sparse;
mod stochastic;
mod window;

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
    row_f32_bf16: fmac::row_f32_bf16,
    row_f32_f16: fmac::row_f32_f16,
    row_f32: fmac::row_f32,
    dot2_f32_bf16: fmac::dot2_f32_bf16,
    dot2_f32_f16: fmac::dot2_f32_f16,
    dot2_f32: fmac::dot2_f32,
    gemm: gemm::GEMM,
    fma_peak: gemm::fma_peak,
    // Masked broadcasts, not `vgatherdps`: the gather measured slower on Zen 5 than even the
    // Avx2 tier's broadcasts and blends (SpMV at 90 % sparsity: 17.2 vs 27.0 GiB/s).
    sparse_dots_f32: sparse::dots_f32,
    sparse_dots_bf16: sparse::dots_bf16,
    sparse_dots_f16: sparse::dots_f16,
    sparse_row_f32: sparse::row_f32,
    sparse_row_bf16: sparse::row_bf16,
    sparse_row_f16: sparse::row_f16,
    sell_f32: sell::chunk_f32,
    sell_bf16: sell::chunk_bf16,
    sell_f16: sell::chunk_f16,
    window_f32: window::chunk_f32,
    window_bf16: window::chunk_bf16,
    window_f16: window::chunk_f16,
    transpose_f32: super::avx2::transpose::transpose,
    mx_quantize: super::avx2::blockfp::quantize,
    mx_dequantize: super::avx2::blockfp::dequantize,
};
