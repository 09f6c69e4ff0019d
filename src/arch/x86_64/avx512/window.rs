//! One chunk of a windowed packed CSR (`sparse::PackedCsr`, `PackedLayout::Windowed`) in 16
//! lanes, lane `r` following row `r`. A window's 31 columns of x and a zero sit in two
//! registers, so a step is one load of 16 byte offsets, one of 16 values, one `vpermt2ps`
//! and one FMA: no gather, and 3 bytes a stored pair instead of 6. The padding pairs (`-0`
//! at offset 31, the zero) add `-0`, which leaves every sum as it was, so no masks.
//! Values widen through the dot kernels' `Lanes16`. Offsets and values are prefetched as
//! [`windowed_prefetch`] says: 2048 pairs ahead as in the gathered kernel, and on Zen 4 also
//! into L2 from further ahead.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::super::{windowed_prefetch, within_valid_pages};
use super::fmac::Lanes16;
use crate::backend::WINDOW_COLS;

#[inline(always)]
fn chunk<T: Lanes16>(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    // Where the windows that reach past x would also reach a page that holds none of it
    // ([`within_valid_pages`]), they load from a zero-padded copy of its last 32 values. Two
    // copies of the loop: one loop choosing between x and the copy at every window ran 1.22x
    // slower at 99 % sparsity on a Zen 5 core (41 nonzeros a row, 1-3 steps a window).
    let x_at = x.as_ptr() as usize;
    if x.is_empty() || within_valid_pages(x_at, 4 * (x.len() + 32), x_at, 4 * x.len()) {
        return windows_of(windows, offsets, values, x, None, out);
    }
    let base = x.len().saturating_sub(32);
    let mut padded = [0.0f32; 64];
    padded[..x.len() - base].copy_from_slice(&x[base..]);
    windows_of(windows, offsets, values, x, Some((&padded, base)), out);
}

/// [`chunk`]'s loop; the windows past x's end read `tail.0`, which holds x from column
/// `tail.1` on, where one is given.
#[inline(always)]
fn windows_of<T: Lanes16>(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[T],
    x: &[f32],
    tail: Option<(&[f32; 64], usize)>,
    out: &mut [f32; 16],
) {
    let steps: usize = windows.iter().map(|w| w[1] as usize).sum();
    assert!(offsets.len() >= 16 * steps && values.len() >= 16 * steps);
    // SAFETY: inlined only into the kernels below, which enable avx512f; the assert keeps the
    // loads of every step inside `offsets` and `values`; x (or the copy of its last values,
    // placed at the same columns) is read by masked loads of the columns below x.len() only
    // (masked-off lanes are not accessed, and the pointer is never dereferenced beyond them);
    // `vpermt2ps` reads registers, whatever the offsets hold.
    unsafe {
        let mut sums = _mm512_loadu_ps(out.as_ptr());
        let ahead = windowed_prefetch().starting_at(0, offsets.len(), values.len());
        let mut at = 0;
        for &[col, steps] in windows {
            let col = col as usize;
            let mut window = x.as_ptr().wrapping_add(col);
            // Lane 31 stays zero. Only a row's last windows reach past x, so the others skip
            // the masks' arithmetic: where windows hold 1-3 steps it took up to a third (95 %
            // sparsity) to two thirds (99 %) of the kernel's time.
            let (low, high) = if col + WINDOW_COLS <= x.len() {
                (u16::MAX, u16::MAX >> 1)
            } else {
                if let Some((copy, base)) = tail {
                    window = copy.as_ptr().wrapping_add(col.wrapping_sub(base));
                }
                let there = x.len().saturating_sub(col);
                (
                    ((1u32 << there.min(16)) - 1) as u16,
                    ((1u32 << there.saturating_sub(16)) - 1) as u16,
                )
            };
            let x_low = _mm512_maskz_loadu_ps(low, window);
            let x_high = _mm512_maskz_loadu_ps(high, window.wrapping_add(16));
            for _ in 0..steps {
                ahead.fetch::<true, _, _>(offsets.as_ptr(), values.as_ptr(), at);
                let offset = _mm512_cvtepu8_epi32(_mm_loadu_si128(offsets.as_ptr().add(at).cast()));
                let xs = _mm512_permutex2var_ps(x_low, offset, x_high);
                sums = _mm512_fmadd_ps(T::lanes16(values.as_ptr().add(at)), xs, sums);
                at += 16;
            }
        }
        _mm512_storeu_ps(out.as_mut_ptr(), sums);
    }
}

/// # Safety
/// The CPU has the `Avx512` tier; `backend::WindowChunk`'s precondition.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
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
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
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
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn chunk_f16(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[f16],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(windows, offsets, values, x, out)
}
