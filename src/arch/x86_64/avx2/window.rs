//! One chunk of a windowed packed CSR (`sparse::PackedCsr`, `PackedLayout::Windowed`) in two
//! halves of 8 lanes side by side, lane `r` following row `r`. A step per half is one load of
//! 8 byte offsets and 8 values, one `vgatherdps` of x at the window's first column plus the
//! offsets, masked to the offsets inside the window and x, and one FMA. The padding pairs
//! (`-0`, masked to a `+0` of x) add `-0`, which leaves every sum as it was. (Looking x up
//! in four registers with `vpermps` and three blends measured slower here than the gather:
//! SpMV at 50 % sparsity 0.46 vs 0.63 of the dense GEMV's speed.) Values widen through the
//! tier's `Lanes`.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::fmac::Lanes;
use super::sparse::HARDWARE_GATHER_MAX_LEN;
use crate::backend::WINDOW_COLS;

#[inline(always)]
fn chunk<T: Lanes + Copy + Into<f32>>(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    if x.len() > HARDWARE_GATHER_MAX_LEN {
        // Columns past 2^31 would read as negative gather indices.
        return crate::arch::scalar::sparse::window_chunk(windows, offsets, values, x, out);
    }
    let steps: usize = windows.iter().map(|w| w[1] as usize).sum();
    assert!(offsets.len() >= 16 * steps && values.len() >= 16 * steps);
    // SAFETY: inlined only into the kernels below, which enable avx2, fma and f16c; the assert
    // keeps the loads of every step inside `offsets` and `values`; a lane gathers only where
    // its offset is below `there`, at `col + offset < x.len() <= 2^31` (a non-negative i32).
    unsafe {
        let mut sums = [0, 8].map(|h| _mm256_loadu_ps(out.as_ptr().add(h)));
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
                    let live = _mm256_castsi256_ps(_mm256_cmpgt_epi32(limit, offsets));
                    let xs = _mm256_mask_i32gather_ps::<4>(
                        _mm256_setzero_ps(),
                        x.as_ptr(),
                        _mm256_add_epi32(first, offsets),
                        live,
                    );
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
