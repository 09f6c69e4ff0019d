//! Sparse kernels, 16 lanes. The sparse dot builds x from one-lane masked broadcasts (LLVM
//! lowers them to `vinsertps` loads into four quarters), or by one `vgatherdps` on the Intel
//! cores where that is the faster (the same lanes, the same bits), and ends a row with a
//! masked step instead of scalar code: 1.02-1.14x the `Avx2` tier's dot at 50-95 % sparsity
//! on Zen 5, whose two vector loads per cycle (one per nonzero, for x) are the limit. Short
//! rows keep the `Avx2` dot, chosen row by row so that a row's bits never depend on its
//! neighbours (and so on the thread split). The row product runs 128 (then 64, 32, 16) dense
//! columns per pass with a multiply then an add (the scalar kernel's operations, so the same
//! bits), prefetching the rows of B a few nonzeros ahead, as the `Avx2` tier does.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::super::avx2::fmac::Lanes;
use super::super::avx2::sparse as avx2;
use super::super::{avx512_short_row_prefetch, avx512_sparse_prefetch, SparsePrefetch};
use super::fmac::{hsum16, MaskedLanes16};
use crate::arch::with_width;

/// Rows of fewer nonzeros than this take the `Avx2` tier's sparse dot: there a row's masked
/// last step and 16-lane sum cost more than 16 lanes gain (at 41 nonzeros a row, 99 %
/// sparsity of 4096 columns, the 16-lane dot ran at 0.94x on Zen 5, and a masked-step-only
/// variant at 0.85-0.90x in probes on Emerald Rapids). The length alone decides, so a row
/// gets the same bits whichever rows share its block or its thread.
const SHORT_ROW: usize = 64;

/// Sixteen x values at `indices[..16]`: four chains of one plain and three one-lane masked
/// broadcasts from memory, joined by three blends (LLVM turns each chain into `vinsertps`
/// loads and the blends into inserts); the indices are read two per 64-bit load.
///
/// # Safety
/// `indices` is valid for reading 16 entries, each below the length of `x`; the CPU has
/// avx512f.
#[inline(always)]
unsafe fn gather16(indices: *const u32, x: *const f32) -> __m512 {
    // SAFETY: per the function's contract: the eight 8-byte loads cover `indices[..16]`, and
    // every broadcast reads `x` at one of those indices.
    unsafe {
        let mut quarters = [_mm512_setzero_ps(); 4];
        for (c, quarter) in quarters.iter_mut().enumerate() {
            // Little-endian: the low half of each pair is the first index.
            let i01 = (indices.add(4 * c) as *const u64).read_unaligned();
            let i23 = (indices.add(4 * c + 2) as *const u64).read_unaligned();
            let lane = 1u16 << (4 * c);
            let mut v = _mm512_set1_ps(*x.add(i01 as u32 as usize));
            v = _mm512_mask_broadcastss_ps(v, lane << 1, _mm_load_ss(x.add((i01 >> 32) as usize)));
            v = _mm512_mask_broadcastss_ps(v, lane << 2, _mm_load_ss(x.add(i23 as u32 as usize)));
            v = _mm512_mask_broadcastss_ps(v, lane << 3, _mm_load_ss(x.add((i23 >> 32) as usize)));
            *quarter = v;
        }
        let low = _mm512_mask_blend_ps(0x00f0, quarters[0], quarters[1]);
        let high = _mm512_mask_blend_ps(0xf000, quarters[2], quarters[3]);
        _mm512_mask_blend_ps(0xff00, low, high)
    }
}

/// [`gather16`] by one `vgatherdps`: the same lanes, faster on the cores that
/// `prefers_hardware_gather` names.
///
/// # Safety
/// `indices` is valid for reading 16 entries, each below the length of `x`, which is at most
/// `HARDWARE_GATHER_MAX_LEN` (the instruction's indices are signed); the CPU has avx512f.
#[inline(always)]
unsafe fn gather16_hardware(indices: *const u32, x: *const f32) -> __m512 {
    // SAFETY: per the function's contract: one 64-byte load of the indices, and sixteen reads
    // of x at them, each below 2^31 so read as non-negative.
    unsafe { _mm512_i32gather_ps::<4>(_mm512_loadu_si512(indices as *const _), x) }
}

/// [`gather16_hardware`] or [`gather16`].
///
/// # Safety
/// As [`gather16_hardware`]'s when `HARDWARE_GATHER`, else as [`gather16`]'s.
#[inline(always)]
unsafe fn x16<const HARDWARE_GATHER: bool>(indices: *const u32, x: *const f32) -> __m512 {
    // SAFETY: per the function's contract.
    unsafe {
        if HARDWARE_GATHER {
            gather16_hardware(indices, x)
        } else {
            gather16(indices, x)
        }
    }
}

/// The dot of one row: `values` are its values, `indices[..values.len()]` its column
/// indices, and the matrix's indices that follow them pad the last, masked step (a copy
/// padded with zeros when fewer than 16 follow). One accumulator: a step of 16 nonzeros
/// takes about eight cycles of loads, longer than the FMA's latency, so more accumulators
/// measured no faster. x is loaded by [`x16`]; the matrix is prefetched `ahead`.
#[inline(always)]
fn dot<T: MaskedLanes16, const HARDWARE_GATHER: bool>(
    indices: &[u32],
    values: &[T],
    x: &[f32],
    ahead: SparsePrefetch,
) -> f32 {
    let n = indices.len().min(values.len());
    let whole = n / 16 * 16;
    // SAFETY: only called from the kernels below, which enable avx512f/bw/vl; every step
    // reads 16 entries at `p + 16 <= whole <= n`; the tail reads 16 indices inside `indices`
    // (or the zero-padded copy), all below `x.len()` as the caller guarantees (x[0] exists
    // because the row has a nonzero), and only its `n - whole` values (masked loads).
    unsafe {
        let mut acc = _mm512_setzero_ps();
        for p in (0..whole).step_by(16) {
            ahead.fetch(indices.as_ptr(), values.as_ptr(), p);
            let xs = x16::<HARDWARE_GATHER>(indices.as_ptr().add(p), x.as_ptr());
            acc = _mm512_fmadd_ps(T::lanes16(values.as_ptr().add(p)), xs, acc);
        }
        if whole < n {
            // As the `Avx2` dot's tail: no line of the stream left unfetched.
            ahead.fetch(indices.as_ptr(), values.as_ptr(), whole);
            let lanes = ((1u32 << (n - whole)) - 1) as __mmask16;
            let xs = if whole + 16 <= indices.len() {
                x16::<HARDWARE_GATHER>(indices.as_ptr().add(whole), x.as_ptr())
            } else {
                let mut padded = [0u32; 16];
                padded[..n - whole].copy_from_slice(&indices[whole..n]);
                x16::<HARDWARE_GATHER>(padded.as_ptr(), x.as_ptr())
            };
            let vs = T::masked_lanes16(values.as_ptr().add(whole), lanes);
            // Lanes past the row keep the accumulator: their x may be an infinity or a NaN.
            acc = _mm512_mask3_fmadd_ps(vs, xs, acc, lanes);
        }
        hsum16(acc)
    }
}

/// The sparse dot of each row of a block, inlined into one target-feature function.
#[inline(always)]
fn dots<T: MaskedLanes16 + Lanes>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
) {
    if avx2::hardware_gather_for(x) {
        rows::<T, true>(indptr, indices, values, x, out)
    } else {
        rows::<T, false>(indptr, indices, values, x, out)
    }
}

/// The 16-lane [`dot`] of each row, or the `Avx2` tier's for a row shorter than
/// [`SHORT_ROW`], with the way of loading x fixed.
#[inline(always)]
fn rows<T: MaskedLanes16 + Lanes, const HARDWARE_GATHER: bool>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
) {
    // Read once per block: both settings depend only on the CPU.
    let (short_ahead, ahead) = (avx512_short_row_prefetch(), avx512_sparse_prefetch());
    for (r, o) in out.iter_mut().enumerate() {
        let range = indptr[r]..indptr[r + 1];
        *o = if range.len() < SHORT_ROW {
            // SAFETY: this tier's CPUs have the `Avx2` tier's features; the caller guarantees
            // the indices are below `x.len()`, and `dots` checked x for `vgatherdps`.
            unsafe {
                avx2::dot::<T, HARDWARE_GATHER>(
                    &indices[range.clone()],
                    &values[range],
                    x,
                    short_ahead,
                )
            }
        } else {
            dot::<T, HARDWARE_GATHER>(&indices[range.start..], &values[range], x, ahead)
        };
    }
}

/// Nonzeros ahead whose rows of B are prefetched (the `Avx2` tier's measured choice).
const AHEAD: usize = 8;

/// Columns `[j, j + 16Q)` of the row product, in `Q` accumulators, of which the last loads
/// and stores only the lanes in `last` (all of them in a full pass).
///
/// # Safety
/// `j + 16(Q - 1)` plus the lanes of `last` is at most `out.len()`, every
/// `indices[p]·stride + out.len() <= b.len()`, and the CPU has avx512f and f16c.
#[inline(always)]
unsafe fn pass<T: Lanes, const Q: usize>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    (j, last): (usize, __mmask16),
    out: &mut [f32],
) {
    // SAFETY: per the function's contract, every load reads 16 columns (the lanes of `last`
    // in the last vector) inside a row of B and every store as many inside `out`; prefetches
    // are hints that never fault, and their addresses are formed with wrapping arithmetic,
    // never dereferenced.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); Q];
        for (p, (&i, &v)) in indices.iter().zip(values).enumerate() {
            if let Some(&ahead) = indices.get(p + AHEAD) {
                let row = b.as_ptr().wrapping_add(ahead as usize * stride + j);
                for line in 0..Q {
                    _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(16 * line) as *const i8);
                }
            }
            let v = _mm512_broadcastss_ps(_mm256_castps256_ps128(v.splat()));
            let brow = b.as_ptr().add(i as usize * stride + j);
            for (q, acc) in acc.iter_mut().enumerate() {
                let lanes = if q + 1 == Q { last } else { !0 };
                let prod = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(lanes, brow.add(16 * q)));
                *acc = _mm512_add_ps(*acc, prod);
            }
        }
        for (q, acc) in acc.iter().enumerate() {
            let lanes = if q + 1 == Q { last } else { !0 };
            _mm512_mask_storeu_ps(out.as_mut_ptr().add(j + 16 * q), lanes, *acc);
        }
    }
}

/// The row product: passes of 128 columns, then the rest (under 128) in one pass of as many
/// 16-column accumulators as it needs, the last one masked.
#[inline(always)]
fn row<T: Lanes>(indices: &[u32], values: &[T], b: &[f32], stride: usize, out: &mut [f32]) {
    let n = out.len();
    let mut j = 0;
    // Each column is one chain of adds (the order is fixed), so a pass's time per nonzero
    // hardly depends on its width: one wide pass beats several narrow ones (at n = 32, two
    // chains in one pass instead of two passes of one took this tier's SpMM from 0.68-0.96x
    // to 0.95-1.26x of the Avx2 tier's), and the last columns join the last pass instead of
    // a scalar one (n = 33 ran at half the speed of n = 32).
    while n - j >= 128 {
        // SAFETY: `j + 128 <= n`; see `pass`.
        unsafe { pass::<T, 8>(indices, values, b, stride, (j, !0), out) };
        j += 128;
    }
    let rest = n - j;
    let last = rest.wrapping_sub(1) % 16 + 1;
    let at = (j, (u32::MAX >> (32 - last)) as __mmask16);
    if rest > 0 {
        // SAFETY: the pass of `rest.div_ceil(16)` vectors covers `[j, n)` exactly, its last
        // vector `last` lanes; see `pass`.
        unsafe {
            with_width!(
                rest.div_ceil(16),
                pass::<T>(indices, values, b, stride, at, out)
            )
        }
    }
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

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dots_f32(
    indptr: &[usize],
    indices: &[u32],
    values: &[f32],
    x: &[f32],
    out: &mut [f32],
) {
    dots(indptr, indices, values, x, out)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dots_bf16(
    indptr: &[usize],
    indices: &[u32],
    values: &[bf16],
    x: &[f32],
    out: &mut [f32],
) {
    dots(indptr, indices, values, x, out)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(in crate::arch::x86_64) unsafe fn dots_f16(
    indptr: &[usize],
    indices: &[u32],
    values: &[f16],
    x: &[f32],
    out: &mut [f32],
) {
    dots(indptr, indices, values, x, out)
}

#[cfg(test)]
mod tests {
    //! Both ways of loading x give the same bits (each CPU runs only one of them by default).

    use half::{bf16, f16};

    use super::super::super::avx2::sparse::tests::check_same_bits;

    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    unsafe fn both<T: super::MaskedLanes16 + super::Lanes>(
        indptr: &[usize],
        indices: &[u32],
        values: &[T],
        x: &[f32],
    ) -> [Vec<u32>; 2] {
        let rows = indptr.len() - 1;
        let (mut hardware, mut broadcast) = (vec![0f32; rows], vec![0f32; rows]);
        super::rows::<T, true>(indptr, indices, values, x, &mut hardware);
        super::rows::<T, false>(indptr, indices, values, x, &mut broadcast);
        [hardware, broadcast].map(|v| v.iter().map(|y| y.to_bits()).collect())
    }

    #[test]
    fn vgatherdps_and_masked_broadcasts_give_the_same_bits() {
        if crate::Isa::Avx512.is_supported() {
            // SAFETY: the CPU has the Avx512 tier's features.
            unsafe { check_same_bits(both::<f32>, both::<bf16>, both::<f16>) }
        }
    }
}
