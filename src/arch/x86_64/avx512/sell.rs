//! One chunk of a packed CSR (`sparse::PackedCsr`) in 16 lanes: lane `r` follows row `r`, so
//! a step is one contiguous load of 16 indices and 16 values, one `vgatherdps` of x and one
//! FMA, with the lanes whose row has ended masked off (their gather loads nothing, their sum
//! keeps its value). No horizontal sum, no tail: what short rows pay for in the CSR dot.
//! Indices and values are prefetched [`PACKED_PREFETCH_PAIRS`](super::super::PACKED_PREFETCH_PAIRS) pairs ahead (against none,
//! from DRAM 1.14–1.57x at 50–99 % sparsity on an Emerald Rapids, 8192 ahead; the distance's
//! figures are the constant's).
//! Values widen through the dot kernels' `Lanes16`.

use core::arch::x86_64::*;

use half::{bf16, f16};

use crate::arch::x86_64::avx2::sparse::HARDWARE_GATHER_MAX_LEN;

use super::super::prefetch_packed_step;
use super::fmac::Lanes16;

#[inline(always)]
fn chunk<T: Lanes16 + crate::fmac::Output>(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    if x.len() > HARDWARE_GATHER_MAX_LEN {
        // Columns past 2^31 would read as negative gather indices.
        return crate::arch::scalar::sparse::sell_chunk(lens, indices, values, x, out);
    }
    let steps = lens.iter().copied().max().unwrap_or(0) as usize;
    assert!(indices.len() >= 16 * steps && values.len() >= 16 * steps);
    // SAFETY: inlined only into the kernels below, which enable avx512f; the assert keeps the
    // loads of step `p < steps` inside `indices` and `values`, and a lane gathers only while
    // `p < lens[r]`, where the caller's contract puts its index below `x.len()`.
    unsafe {
        let lens = _mm512_loadu_si512(lens.as_ptr().cast());
        let mut sums = _mm512_loadu_ps(out.as_ptr());
        for p in 0..steps {
            let live = _mm512_cmpgt_epu32_mask(lens, _mm512_set1_epi32(p as i32));
            prefetch_packed_step(indices, values, p);
            let at = _mm512_loadu_si512(indices.as_ptr().add(16 * p).cast());
            let v = T::lanes16(values.as_ptr().add(16 * p));
            let xs = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), live, at, x.as_ptr());
            sums = _mm512_mask3_fmadd_ps(v, xs, sums, live);
        }
        _mm512_storeu_ps(out.as_mut_ptr(), sums);
    }
}

/// # Safety
/// The CPU has the `Avx512` tier; `backend::SellChunk`'s precondition.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn chunk_f32(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[f32],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(lens, indices, values, x, out)
}

/// # Safety
/// As [`chunk_f32`].
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn chunk_bf16(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[bf16],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(lens, indices, values, x, out)
}

/// # Safety
/// As [`chunk_f32`].
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn chunk_f16(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[f16],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(lens, indices, values, x, out)
}
