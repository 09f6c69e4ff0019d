//! The `Avx512Bf16` tier: `Avx512` plus the BF16 extension. Only f32 -> bf16 has a better
//! instruction here; the other conversions are `Avx512`'s.

mod convert;

use super::avx512;
use crate::backend::Kernels;

pub(crate) static KERNELS: Kernels = Kernels {
    f32_to_bf16: convert::f32_to_bf16,
    ..avx512::KERNELS
};
