//! The `Scalar` tier: the reference itself, so it is the oracle by construction.

pub(crate) mod blockfp;
mod fmac;
mod gemm;
pub(crate) mod sparse;
pub(crate) mod transpose;

use half::{bf16, f16};

use crate::backend::{Kernels, Sr};
use crate::reference::convert as r;
use crate::reference::stochastic as sr;

pub(crate) static KERNELS: Kernels = Kernels {
    f32_to_bf16: r::f32_to_bf16_slice,
    bf16_to_f32: r::bf16_to_f32_slice,
    f32_to_f16: r::f32_to_f16_slice,
    f16_to_f32: r::f16_to_f32_slice,
    f32_to_bf16_sr: |s, d, p| sr::f32_to_bf16_stochastic_slice(s, d, p.seed, p.offset, p.options()),
    f32_to_f16_sr: |s, d, p| sr::f32_to_f16_stochastic_slice(s, d, p.seed, p.offset, p.options()),
    axpy_bf16_sr: axpy::<f32>,
    axpy_bf16_sr_bf16: axpy::<bf16>,
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
    sell_f32: sparse::sell_chunk::<f32>,
    sell_bf16: sparse::sell_chunk::<bf16>,
    sell_f16: sparse::sell_chunk::<f16>,
    window_f32: sparse::window_chunk::<f32>,
    window_bf16: sparse::window_chunk::<bf16>,
    window_f16: sparse::window_chunk::<f16>,
    transpose_f32: transpose::transpose,
    mx_quantize: blockfp::quantize,
    mx_dequantize: blockfp::dequantize,
};

fn axpy<G: Copy + Into<f32>>(alpha: f32, g: &[G], w: &mut [bf16], p: Sr) {
    sr::axpy_bf16_stochastic_slice(alpha, g, w, p.seed, p.offset, p.options());
}
