//! Sparse matrices for pruned weights: validated CSR/CSC with f32/bf16/f16 values, pruning,
//! and products with dense operands on every backend.
//!
//! - [`Sparse`] / [`SparseRef`] ([`Csr`], [`Csc`]): `u32` minor indices, `usize` offsets,
//!   invariants checked once ([`Sparse::try_new`] gives the buffers back on failure;
//!   [`Sparse::new_unchecked`] trusts the caller). [`Sparse::transpose`] is free,
//!   [`Csr::to_csc`] / [`Csc::to_csr`] convert; `from_sprs` / `to_sprs` with the `sprs` feature.
//! - [`prune`]: magnitude (per row or global) and N:M pruning with a documented tie-break.
//! - Products, f32 accumulation, BLAS alpha/beta (`beta == 0` never reads the output):
//!   [`Backend::spmv`](crate::Backend::spmv) (`y = alpha·A·x + beta·y`, CSR), [`Backend::spmv_t`](crate::Backend::spmv_t) (`Aᵀ·x` from CSC),
//!   [`Backend::spmm`](crate::Backend::spmm) (`C = alpha·A·B + beta·C`, B `[k × n]` row-major: the fast layout,
//!   vectorised along `n`) and [`Backend::spmm_xt`](crate::Backend::spmm_xt) (`Y = alpha·X·Aᵀ + beta·Y` with activations
//!   `X [n × k]` as rows: the same kernels on transposed panels of `X`, the same bits as `spmm`
//!   of `Xᵀ`). Threads split A's rows balanced by nonzeros.
//! - [`PackedCsr`]: a CSR packed once in chunks of 16 rows, a vector lane per row, for
//!   [`Backend::spmv_packed`](crate::Backend::spmv_packed): gathered steps (`u32` columns;
//!   short rows need no horizontal sums and no tails), windowed steps (byte offsets into
//!   windows of 31 columns of x held in registers: no gathers, half the bytes), or, as
//!   [`PackedLayout::Hybrid`], windows capped per chunk and the rest gathered after them.
//!   Bit-identical on every backend for a given packing.
//!
//! Exactness: SpMM (both layouts) is **bit-identical on every backend and thread count**: each
//! output is `Σ` of the rounded products added in storage order from 0 (a multiply then an
//! add, never FMA, on every tier). SpMV is error-bounded like a dot product of the row's
//! length (`nnz_i·u·Σ|aᵢⱼxⱼ| + nnz_i·2^-149`) and deterministic per backend; packed SpMV
//! fuses each product into the row's sum in the packed order (one rounding per step on every
//! tier), so it too is the same bits on every backend and thread count, within that bound.
//!
//! ```
//! use half::bf16;
//! use lowp::fmac::{MatRef, Par};
//! use lowp::sparse::prune::{magnitude, Scope};
//! use lowp::Backend;
//! let w: Vec<f32> = (0..16).map(|i| i as f32 - 8.0).collect();
//! let a = magnitude::<f32, bf16>(MatRef::new(&w, 4, 4)?, 0.5, Scope::PerRow)?;
//! let mut y = [0.0f32; 4];
//! Backend::active().spmv(1.0, a.view(), &[1.0; 4], 0.0, &mut y, Par::Seq)?;
//! assert_eq!(y, [-15.0, -7.0, 5.0, 13.0]);
//! # Ok::<(), lowp::Error>(())
//! ```

#[cfg(feature = "sprs")]
mod interop;
mod matrix;
mod packed;
mod products;
pub mod prune;

pub use matrix::{
    ColMajor, Csc, CscRef, Csr, CsrRef, Orientation, Rejected, RowMajor, Sparse, SparseRef,
};
pub use packed::{PackedCsr, PackedLayout};
