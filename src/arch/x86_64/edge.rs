//! The x86 stochastic kernels' edges ([`crate::arch::edge`]), ARS-5's blocks drawn by one
//! AES-NI chain each ([`ars::block_values`]).

use core::arch::x86_64::__m128i;

use half::bf16;

use super::avx2::ars::{self, round_keys128};
use super::Aes;
use crate::arch::edge::{self as shared, Blocks};
use crate::backend::Sr;
use crate::reference::ars::ROUNDS;
use crate::reference::rng::Generator;

/// ARS-5's blocks by AES-NI under one seed's round keys.
struct AesBlocks {
    aes: Aes,
    keys: [__m128i; ROUNDS + 1],
}

impl AesBlocks {
    /// `sr`'s seed's blocks where `sr` names ARS-5 and the CPU has AES-NI; `None` otherwise
    /// (the reference draws the values).
    fn new(sr: Sr) -> Option<AesBlocks> {
        let aes = Aes::detect().filter(|_| sr.generator == Generator::Ars5)?;
        // SAFETY: SSE2 is part of the x86_64 baseline.
        let keys = unsafe { round_keys128(sr.seed) };
        Some(AesBlocks { aes, keys })
    }
}

impl Blocks for AesBlocks {
    fn values(&self, block: u64) -> [u16; 8] {
        ars::block_values(self.aes, &self.keys, block)
    }
}

/// `dst[i] = sr(src[i])` as bf16 with index `at + i`.
#[inline]
pub(super) fn f32_to_bf16(src: &[f32], dst: &mut [bf16], at: u64, sr: Sr) {
    shared::f32_to_bf16(src, dst, at, sr, AesBlocks::new(sr));
}

/// `dst[i] = sr(src[i])` as f16 with index `at + i`.
#[inline]
pub(super) fn f32_to_f16(src: &[f32], dst: &mut [half::f16], at: u64, sr: Sr) {
    shared::f32_to_f16(src, dst, at, sr, AesBlocks::new(sr));
}

/// `w[i] = sr(w[i] + alpha * g[i])` with index `at + i`.
#[inline]
pub(super) fn axpy<G: Copy + Into<f32>>(alpha: f32, g: &[G], w: &mut [bf16], at: u64, sr: Sr) {
    shared::axpy(alpha, g, w, at, sr, AesBlocks::new(sr));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::edge::tests::check_edges;

    #[test]
    fn aes_ni_edges_match_the_reference() {
        check_edges("AES-NI", |s, out, sr| {
            f32_to_bf16(s, &mut out.bf16, sr.offset, sr);
            f32_to_f16(s, &mut out.f16, sr.offset, sr);
            axpy(0.5, s, &mut out.axpy, sr.offset, sr);
        });
    }
}
