//! Multiply-accumulate with low-precision inputs and f32 accumulators: dot products, GEMV and
//! GEMM.
//!
//! Inputs (bf16, f16, f32) widen exactly to f32; products accumulate in f32 (FMA where the
//! backend has it). Each result lies within `k·u·Σ|aᵢbᵢ| + k·2^-149` of the exact value
//! (`u = 2^-24`, `k` the length; the second term covers gradual underflow; see
//! [`crate::reference::fmac::dot_error_bound`]). A backend's summation order is fixed, so
//! results are deterministic, and GEMV and GEMM split work over outputs only, so they are the
//! same bits for any thread count. Different backends may differ in the last bits.

mod dot;
mod driver;
pub(crate) mod gemm;
mod gemv;
mod mat;
mod packed;
pub(crate) mod par;
mod peak;
pub(crate) mod workspace;

pub use crate::backend::Bf16Gemm;
pub use dot::{dot_bf16, dot_f16, dot_f32_bf16};
pub use gemm::{gemm, gemm_packed, Output};
pub use gemv::gemv;
pub(crate) use mat::RowsMut;
pub use mat::{MatMut, MatRef};
pub use packed::PackedB;
pub use par::{Input, Par};
pub use workspace::{release_thread_workspace, thread_workspace_bytes};
