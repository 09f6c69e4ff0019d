//! One chunk of a packed CSR (`sparse::PackedCsr`) in two halves of 8 lanes, side by side in
//! one pass: lane `r` follows row `r`; a step per half is one load of 8 indices and 8 values,
//! a load of x's 8 lanes (see [`steps`]) and one FMA, whose result a blend keeps only in the lanes
//! whose row goes on (the others keep their sum, `-0` included). Values widen through the
//! tier's `Lanes`. Indices and values are prefetched [`PACKED_PREFETCH_PAIRS`](super::super::PACKED_PREFETCH_PAIRS) pairs ahead:
//! with this tier forced on an Emerald Rapids (4096² bf16, `Gather`), 1.4–1.65x from DRAM at
//! 90–99 % sparsity, cache-resident 0.93–1.6x (three runs). (The windowed kernel does not:
//! there the same prefetch gained 1.04–1.15x from DRAM and cost up to 12 % cache-resident.)

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::super::prefetch_packed_step;
use super::fmac::Lanes;
use super::sparse::{gather8, hardware_gather_for};

#[inline(always)]
fn chunk<T: Lanes + crate::fmac::Output>(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    // SAFETY (both): inlined only into the kernels below, which enable avx2, fma and f16c;
    // `hardware_gather_for` was checked for the hardware gather.
    unsafe {
        if hardware_gather_for(x) {
            steps::<T, true>(lens, indices, values, x, out)
        } else {
            steps::<T, false>(lens, indices, values, x, out)
        }
    }
}

/// [`chunk`]'s steps, x loaded by one masked `vgatherdps` a half when `HARDWARE_GATHER`, else
/// lane by lane ([`gather8`]): the same lanes, so the same bits. `vgatherdps` is slow on most
/// cores (see `prefers_hardware_gather`): on a Zen 1 core, 4096² bf16 at 99 % sparsity
/// (`lowp bench --only sparse`, `Gather`), the lane loads took 0.44–0.61 of its time at
/// 50–99 % sparsity.
///
/// # Safety
/// The CPU has avx2, fma and f16c; when `HARDWARE_GATHER`, [`hardware_gather_for`] holds for x.
#[inline(always)]
unsafe fn steps<T: Lanes + crate::fmac::Output, const HARDWARE_GATHER: bool>(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    let steps = lens.iter().copied().max().unwrap_or(0) as usize;
    assert!(indices.len() >= 16 * steps && values.len() >= 16 * steps);
    // SAFETY: per the function's contract for the features; the assert keeps the loads of
    // step `p < steps` inside `indices` and `values`; a lane reads x only while `p < lens[r]`,
    // where the caller's contract puts its index below `x.len()`, or (lane by lane) at index 0,
    // which is inside x: a chunk with a step has a live lane, whose index is below `x.len()`.
    unsafe {
        let lens = [0, 8].map(|h| _mm256_loadu_si256(lens.as_ptr().add(h).cast()));
        let mut sums = [0, 8].map(|h| _mm256_loadu_ps(out.as_ptr().add(h)));
        let mut live_indices = [0u32; 8];
        for p in 0..steps {
            prefetch_packed_step(indices, values, p);
            let next = _mm256_set1_epi32(p as i32 + 1);
            for (h, (sums, &lens)) in sums.iter_mut().zip(&lens).enumerate() {
                // lens > p, unsigned: max(lens, p + 1) == lens.
                let live = _mm256_cmpeq_epi32(_mm256_max_epu32(lens, next), lens);
                let at = 16 * p + 8 * h;
                let idx = _mm256_loadu_si256(indices.as_ptr().add(at).cast());
                let v = T::lanes(values.as_ptr().add(at));
                let live_ps = _mm256_castsi256_ps(live);
                let xs = if HARDWARE_GATHER {
                    _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), x.as_ptr(), idx, live_ps)
                } else {
                    // Finished lanes read x[0]; the blend below drops them.
                    let idx = _mm256_and_si256(idx, live);
                    _mm256_storeu_si256(live_indices.as_mut_ptr().cast(), idx);
                    gather8(live_indices.as_ptr(), x)
                };
                *sums = _mm256_blendv_ps(*sums, _mm256_fmadd_ps(v, xs, *sums), live_ps);
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
