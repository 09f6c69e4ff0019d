//! The sparse row product, 16 lanes: 128 (then 64, then 16) dense columns per pass with a
//! multiply then an add (the scalar kernel's operations, so the same bits), prefetching the
//! rows of B a few nonzeros ahead, as the `Avx2` tier does. (The sparse dot is the `Avx2`
//! tier's: see this tier's kernel table.)

use core::arch::x86_64::*;

use half::{bf16, f16};

use crate::arch::scalar::sparse as scalar;

/// Nonzeros ahead whose rows of B are prefetched (the `Avx2` tier's measured choice).
const AHEAD: usize = 8;

/// Columns `[j, j + 16Q)` of the row product, in `Q` accumulators.
///
/// # Safety
/// `j + 16Q <= out.len()`, every `indices[p]·stride + out.len() <= b.len()`, and the CPU has
/// avx512f.
#[inline(always)]
unsafe fn pass<T: Copy + Into<f32>, const Q: usize>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    j: usize,
    out: &mut [f32],
) {
    // SAFETY: per the function's contract, every load reads 16 columns inside a row of B and
    // every store 16 inside `out`; prefetches are hints that never fault, and their addresses
    // are formed with wrapping arithmetic, never dereferenced.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); Q];
        for (p, (&i, &v)) in indices.iter().zip(values).enumerate() {
            if let Some(&ahead) = indices.get(p + AHEAD) {
                let row = b.as_ptr().wrapping_add(ahead as usize * stride + j);
                for line in 0..Q {
                    _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(16 * line) as *const i8);
                }
            }
            let v = _mm512_set1_ps(v.into());
            let brow = b.as_ptr().add(i as usize * stride + j);
            for (q, acc) in acc.iter_mut().enumerate() {
                let prod = _mm512_mul_ps(v, _mm512_loadu_ps(brow.add(16 * q)));
                *acc = _mm512_add_ps(*acc, prod);
            }
        }
        for (q, acc) in acc.iter().enumerate() {
            _mm512_storeu_ps(out.as_mut_ptr().add(j + 16 * q), *acc);
        }
    }
}

#[inline(always)]
fn row<T: Copy + Into<f32>>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let n = out.len();
    let mut j = 0;
    // Each column is one chain of adds (the order is fixed), so wide passes keep enough
    // independent chains in flight to cover the add latency.
    while n - j >= 128 {
        // SAFETY: `j + 128 <= n`; see `pass`.
        unsafe { pass::<T, 8>(indices, values, b, stride, j, out) };
        j += 128;
    }
    if n - j >= 64 {
        // SAFETY: `j + 64 <= n`; see `pass`.
        unsafe { pass::<T, 4>(indices, values, b, stride, j, out) };
        j += 64;
    }
    while n - j >= 16 {
        // SAFETY: `j + 16 <= n`; see `pass`.
        unsafe { pass::<T, 1>(indices, values, b, stride, j, out) };
        j += 16;
    }
    let narrow = j;
    scalar::row(
        indices,
        values,
        &b[narrow.min(b.len())..],
        stride,
        &mut out[narrow..],
    );
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn row_f32(
    i: &[u32],
    v: &[f32],
    b: &[f32],
    s: usize,
    o: &mut [f32],
) {
    row(i, v, b, s, o)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn row_bf16(
    i: &[u32],
    v: &[bf16],
    b: &[f32],
    s: usize,
    o: &mut [f32],
) {
    row(i, v, b, s, o)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn row_f16(
    i: &[u32],
    v: &[f16],
    b: &[f32],
    s: usize,
    o: &mut [f32],
) {
    row(i, v, b, s, o)
}
