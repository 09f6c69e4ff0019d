//! One chunk of a packed CSR (`sparse::PackedCsr`) in two halves of 8 lanes, side by side in
//! one pass: lane `r` follows row `r`; a step per half is one load of 8 indices and 8 values,
//! one masked `vgatherdps` of x and one FMA, whose result a blend keeps only in the lanes
//! whose row goes on (the others keep their sum, `-0` included). Values widen through the
//! tier's `Lanes`. Indices and values are prefetched [`PACKED_PREFETCH_PAIRS`] pairs ahead:
//! with this tier forced on an Emerald Rapids (4096² bf16, `Gather`), 1.4–1.65x from DRAM at
//! 90–99 % sparsity, cache-resident 0.93–1.6x (three runs). (The windowed kernel does not:
//! there the same prefetch gained 1.04–1.15x from DRAM and cost up to 12 % cache-resident.)

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::super::{prefetch_at, PACKED_PREFETCH_PAIRS};
use super::fmac::Lanes;
use super::sparse::HARDWARE_GATHER_MAX_LEN;

#[inline(always)]
fn chunk<T: Lanes + Copy + Into<f32>>(
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
    // SAFETY: inlined only into the kernels below, which enable avx2, fma and f16c; the assert
    // keeps the loads of step `p < steps` inside `indices` and `values`, and a lane gathers
    // only while `p < lens[r]`, where the caller's contract puts its index below `x.len()`.
    unsafe {
        let lens = [0, 8].map(|h| _mm256_loadu_si256(lens.as_ptr().add(h).cast()));
        let mut sums = [0, 8].map(|h| _mm256_loadu_ps(out.as_ptr().add(h)));
        for p in 0..steps {
            prefetch_at(indices.as_ptr(), 16 * p + PACKED_PREFETCH_PAIRS);
            prefetch_at(values.as_ptr(), 16 * p + PACKED_PREFETCH_PAIRS);
            let next = _mm256_set1_epi32(p as i32 + 1);
            for (h, (sums, &lens)) in sums.iter_mut().zip(&lens).enumerate() {
                // lens > p, unsigned: max(lens, p + 1) == lens.
                let live =
                    _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_max_epu32(lens, next), lens));
                let at = 16 * p + 8 * h;
                let idx = _mm256_loadu_si256(indices.as_ptr().add(at).cast());
                let v = T::lanes(values.as_ptr().add(at));
                let xs = _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), x.as_ptr(), idx, live);
                *sums = _mm256_blendv_ps(*sums, _mm256_fmadd_ps(v, xs, *sums), live);
            }
        }
        _mm256_storeu_ps(out.as_mut_ptr(), sums[0]);
        _mm256_storeu_ps(out.as_mut_ptr().add(8), sums[1]);
    }
}

/// # Safety
/// The CPU has the `Avx2` tier; `backend::SellChunk`'s precondition.
#[target_feature(enable = "avx2,fma,f16c")]
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
#[target_feature(enable = "avx2,fma,f16c")]
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
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn chunk_f16(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[f16],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(lens, indices, values, x, out)
}
