//! x86_64 tiers. Each is a folder with its `KERNELS` table and one file per family.

pub(crate) mod avx2;
pub(crate) mod avx512;
pub(crate) mod avx512bf16;
