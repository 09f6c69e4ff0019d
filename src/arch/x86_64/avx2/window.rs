//! One chunk of a windowed packed CSR (`sparse::PackedCsr`, `PackedLayout::Windowed`) in two
//! halves of 8 lanes side by side, lane `r` following row `r`. A step per half is one load of
//! 8 byte offsets and 8 values, a load of x at the window's first column plus the offsets
//! (see [`steps`]), masked to the offsets inside the window and x, and one FMA. The padding pairs
//! (`-0`, masked to a `+0` of x) add `-0`, which leaves every sum as it was. (Looking x up
//! in four registers with `vpermps` and three blends measured slower here than the gather:
//! SpMV at 50 % sparsity 0.46 vs 0.63 of the dense GEMV's speed.) Values widen through the
//! tier's `Lanes`.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::fmac::Lanes;
use super::sparse::{gather8, hardware_gather_for};
use crate::backend::WINDOW_COLS;

#[inline(always)]
fn chunk<T: Lanes + crate::fmac::Output>(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    if x.is_empty() {
        // No lane is live, and the lane-by-lane loads would read x[0] for them.
        return crate::arch::scalar::sparse::window_chunk(windows, offsets, values, x, out);
    }
    // SAFETY (both): inlined only into the kernels below, which enable avx2, fma and f16c;
    // `hardware_gather_for` was checked for the hardware gather, and x is not empty.
    unsafe {
        if hardware_gather_for(x) {
            steps::<T, true>(windows, offsets, values, x, out)
        } else {
            steps::<T, false>(windows, offsets, values, x, out)
        }
    }
}

/// [`chunk`]'s steps, x loaded by one masked `vgatherdps` a half when `HARDWARE_GATHER`, else
/// lane by lane ([`gather8`]) and masked by an AND: the same lanes, so the same bits (see
/// `super::sell`'s `steps`). On a Zen 1 core (4096² bf16, `Windowed`, `lowp bench --only
/// sparse`) the lane loads took 0.57–0.63 of the gather's time at 50–99 % sparsity.
///
/// # Safety
/// The CPU has avx2, fma and f16c; x is not empty; when `HARDWARE_GATHER`,
/// [`hardware_gather_for`] holds for x.
#[inline(always)]
unsafe fn steps<T: Lanes + crate::fmac::Output, const HARDWARE_GATHER: bool>(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    let steps: usize = windows.iter().map(|w| w[1] as usize).sum();
    assert!(offsets.len() >= 16 * steps && values.len() >= 16 * steps);
    // SAFETY: per the function's contract for the features; the assert keeps the loads of
    // every step inside `offsets` and `values`; a lane reads x only where its offset is below
    // `there`, at `col + offset < x.len()` (at most 2^31, a non-negative i32, when gathered
    // by the hardware), or (lane by lane) at index 0, inside the non-empty x.
    unsafe {
        let mut sums = [0, 8].map(|h| _mm256_loadu_ps(out.as_ptr().add(h)));
        let mut live_indices = [0u32; 8];
        let mut at = 0;
        for &[col, steps] in windows {
            let col = col as usize;
            let there = x.len().saturating_sub(col).min(WINDOW_COLS) as i32;
            let limit = _mm256_set1_epi32(there);
            let first = _mm256_set1_epi32(col as i32);
            for _ in 0..steps {
                for (h, sums) in sums.iter_mut().enumerate() {
                    let at = at + 8 * h;
                    let offsets =
                        _mm256_cvtepu8_epi32(_mm_loadl_epi64(offsets.as_ptr().add(at).cast()));
                    let live = _mm256_cmpgt_epi32(limit, offsets);
                    let live_ps = _mm256_castsi256_ps(live);
                    let columns = _mm256_add_epi32(first, offsets);
                    let xs = if HARDWARE_GATHER {
                        _mm256_mask_i32gather_ps::<4>(
                            _mm256_setzero_ps(),
                            x.as_ptr(),
                            columns,
                            live_ps,
                        )
                    } else {
                        // Dead lanes read x[0], then take +0 as the masked gather gives them.
                        let columns = _mm256_and_si256(columns, live);
                        _mm256_storeu_si256(live_indices.as_mut_ptr().cast(), columns);
                        _mm256_and_ps(gather8(live_indices.as_ptr(), x), live_ps)
                    };
                    let v = T::lanes(values.as_ptr().add(at));
                    *sums = _mm256_fmadd_ps(v, xs, *sums);
                }
                at += 16;
            }
        }
        _mm256_storeu_ps(out.as_mut_ptr(), sums[0]);
        _mm256_storeu_ps(out.as_mut_ptr().add(8), sums[1]);
    }
}

/// # Safety
/// The CPU has the `Avx2` tier; `backend::WindowChunk`'s precondition.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn chunk_f32(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[f32],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(windows, offsets, values, x, out)
}

/// # Safety
/// As [`chunk_f32`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn chunk_bf16(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[bf16],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(windows, offsets, values, x, out)
}

/// # Safety
/// As [`chunk_f32`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn chunk_f16(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[f16],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(windows, offsets, values, x, out)
}
