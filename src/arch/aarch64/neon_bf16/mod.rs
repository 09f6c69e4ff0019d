//! The `NeonBf16` tier: `Neon` plus the ARMv8.6 BF16 extension. Only the bf16 × bf16 GEMM has
//! a better instruction here (`BFMMLA`); everything else is `Neon`'s.

mod gemm;

use super::neon;
use crate::backend::Kernels;

pub(crate) static KERNELS: Kernels = Kernels {
    gemm: gemm::GEMM,
    ..neon::KERNELS
};
