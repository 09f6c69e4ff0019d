//! Sparse kernels, 16 lanes: the sparse dot gathers x sixteen lanes at a time with
//! `vgatherdps` (one instruction, where AVX2 needs a tree of blends) into two FMA
//! accumulators, the last 1..=15 nonzeros of a row in one masked step (short rows are where
//! an in-order scalar tail costs most: 99 % sparsity); the row product runs 128 (then 64, then 16) dense columns per pass with a
//! multiply then an add (the scalar kernel's operations, so the same bits), prefetching the
//! rows of B a few nonzeros ahead, as the `Avx2` tier does.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::fmac::{hsum16, Lanes16};
use crate::arch::scalar::sparse as scalar;
use crate::backend::SparseDots;

/// Nonzeros ahead whose rows of B are prefetched (the `Avx2` tier's measured choice).
const AHEAD: usize = 8;

#[inline(always)]
fn dot<T: Lanes16>(indices: &[u32], values: &[T], x: &[f32]) -> f32 {
    let n = indices.len().min(values.len());
    let (pairs, whole) = (n / 32 * 32, n / 16 * 16);
    // SAFETY: only called from `dots`, inside the kernels below, which enable avx512f/bw/dq/vl;
    // loads read 16 elements at `p + 16 <= whole <= n`, the masked ones only those below `n`;
    // the gathers read x at indices the
    // caller guarantees are below `x.len()`, which `dots` checked fits `vgatherdps`'s signed
    // 32-bit offsets.
    unsafe {
        let gather = |at: usize| {
            let idx = _mm512_loadu_si512(indices.as_ptr().add(at).cast());
            _mm512_i32gather_ps::<4>(idx, x.as_ptr().cast())
        };
        let mut acc = [_mm512_setzero_ps(); 2];
        for p in (0..pairs).step_by(32) {
            for (h, acc) in acc.iter_mut().enumerate() {
                let at = p + 16 * h;
                *acc = _mm512_fmadd_ps(T::lanes16(values.as_ptr().add(at)), gather(at), *acc);
            }
        }
        if whole > pairs {
            let v = T::lanes16(values.as_ptr().add(pairs));
            acc[0] = _mm512_fmadd_ps(v, gather(pairs), acc[0]);
        }
        if n > whole {
            // The last 1..=15 nonzeros in one masked step: masked-off lanes are neither read
            // nor gathered, and add zero.
            let k = ((1u32 << (n - whole)) - 1) as __mmask16;
            let idx = _mm512_maskz_loadu_epi32(k, indices.as_ptr().add(whole).cast());
            let xs = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), k, idx, x.as_ptr().cast());
            let v = T::lanes16_masked(values.as_ptr().add(whole), k);
            acc[1] = _mm512_fmadd_ps(v, xs, acc[1]);
        }
        hsum16(_mm512_add_ps(acc[0], acc[1]))
    }
}

/// [`dot`] of each row of a block, inlined into one target-feature function; `fallback` (the
/// `Avx2` kernel) where x is too long for 32-bit signed gather offsets.
#[inline(always)]
fn dots<T: Lanes16>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
    fallback: SparseDots<T>,
) {
    if x.len() > i32::MAX as usize {
        // SAFETY: this tier's CPU has the Avx2 tier's features.
        return unsafe { fallback(indptr, indices, values, x, out) };
    }
    for (r, o) in out.iter_mut().enumerate() {
        let range = indptr[r]..indptr[r + 1];
        *o = dot(&indices[range.clone()], &values[range], x);
    }
}

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
pub(in crate::arch::x86_64) unsafe fn dots_f32(
    indptr: &[usize],
    indices: &[u32],
    values: &[f32],
    x: &[f32],
    out: &mut [f32],
) {
    dots(
        indptr,
        indices,
        values,
        x,
        out,
        super::super::avx2::sparse::dots_f32,
    )
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dots_bf16(
    indptr: &[usize],
    indices: &[u32],
    values: &[bf16],
    x: &[f32],
    out: &mut [f32],
) {
    dots(
        indptr,
        indices,
        values,
        x,
        out,
        super::super::avx2::sparse::dots_bf16,
    )
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dots_f16(
    indptr: &[usize],
    indices: &[u32],
    values: &[f16],
    x: &[f32],
    out: &mut [f32],
) {
    dots(
        indptr,
        indices,
        values,
        x,
        out,
        super::super::avx2::sparse::dots_f16,
    )
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
