//! Sparse kernels: the sparse dot builds x eight lanes at a time from broadcast loads and
//! blends, which LLVM compiles to `vinsertps` loads (`vgatherdps` measured slower on Zen 5),
//! into two FMA accumulators, a row block per call; on the Intel cores where
//! `vgatherdps` is the faster (see `prefers_hardware_gather`), it loads the same lanes with
//! that instead, so the bits do not change. The row product runs 64 dense columns per pass,
//! then one pass for the rest with a masked last vector, in as many accumulators with a
//! multiply then an add (the scalar kernel's operations, so the same bits), prefetching the
//! rows of B a few nonzeros ahead.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::super::{
    avx2_dot_prefetch, last_columns_within, prefers_hardware_gather, SparsePrefetch,
    AVX2_SPARSE_PREFETCH,
};
use super::fmac::{hsum, Lanes};
use crate::arch::with_width;

/// Eight x values at `indices[..8]`: each lane's value broadcast from memory, merged by a tree
/// of blends; the indices are read two per 64-bit load. LLVM turns each broadcast and its
/// one-lane blend into a `vinsertps` load. Real broadcasts and blends, kept by an empty `asm!`
/// around each broadcast, ran no faster in the AVX-512 dot on Zen 4 (0.93-0.98x, session 26):
/// that dot is bound by its instruction count, not by the shuffles.
///
/// # Safety
/// `indices` is valid for reading 8 entries, each below `x.len()`; the CPU has avx.
#[inline(always)]
pub(super) unsafe fn gather8(indices: *const u32, x: &[f32]) -> __m256 {
    // SAFETY: per the function's contract: the four 8-byte loads cover `indices[..8]`, and
    // every broadcast reads `x` at one of those indices.
    unsafe {
        let [i01, i23, i45, i67] =
            [0, 2, 4, 6].map(|q| (indices.add(q) as *const u64).read_unaligned());
        // Little-endian: the low half of each pair is the first index.
        let x01 = _mm256_blend_ps::<0b0000_0010>(at(x, i01), at(x, i01 >> 32));
        let x23 = _mm256_blend_ps::<0b0000_1000>(at(x, i23), at(x, i23 >> 32));
        let x45 = _mm256_blend_ps::<0b0010_0000>(at(x, i45), at(x, i45 >> 32));
        let x67 = _mm256_blend_ps::<0b1000_0000>(at(x, i67), at(x, i67 >> 32));
        let x0123 = _mm256_blend_ps::<0b0000_1100>(x01, x23);
        let x4567 = _mm256_blend_ps::<0b1100_0000>(x45, x67);
        _mm256_blend_ps::<0b1111_0000>(x0123, x4567)
    }
}

/// [`gather8`] by one `vgatherdps`: the same lanes, faster on the cores that
/// [`prefers_hardware_gather`] names.
///
/// # Safety
/// `indices` is valid for reading 8 entries, each below `x.len()`, which is at most
/// [`HARDWARE_GATHER_MAX_LEN`] (the instruction's indices are signed); the CPU has avx2.
#[inline(always)]
unsafe fn gather8_hardware(indices: *const u32, x: &[f32]) -> __m256 {
    // SAFETY: per the function's contract: one 32-byte load of `indices[..8]`, and eight reads
    // of x at those indices, each below 2^31 so read as non-negative.
    unsafe {
        let lanes = _mm256_loadu_si256(indices as *const __m256i);
        _mm256_i32gather_ps::<4>(x.as_ptr(), lanes)
    }
}

/// [`gather8_hardware`] or [`gather8`].
///
/// # Safety
/// As [`gather8_hardware`]'s when `HARDWARE_GATHER`, else as [`gather8`]'s.
#[inline(always)]
unsafe fn x8<const HARDWARE_GATHER: bool>(indices: *const u32, x: &[f32]) -> __m256 {
    // SAFETY: per the function's contract.
    unsafe {
        if HARDWARE_GATHER {
            gather8_hardware(indices, x)
        } else {
            gather8(indices, x)
        }
    }
}

/// The longest x whose indices `vgatherdps` reads right: it takes them as signed 32-bit.
pub(in crate::arch::x86_64) const HARDWARE_GATHER_MAX_LEN: usize = 1 << 31;

/// Whether the sparse dots load x by `vgatherdps` for this x (see [`prefers_hardware_gather`]).
#[inline(always)]
pub(in crate::arch::x86_64) fn hardware_gather_for(x: &[f32]) -> bool {
    prefers_hardware_gather() && x.len() <= HARDWARE_GATHER_MAX_LEN
}

/// `x[i]` (the low 32 bits of `i`) in all eight lanes. A function, not a closure: closures do
/// not inherit the kernel's target features and may be left out of line.
///
/// # Safety
/// `i as u32` is below `x.len()`; the CPU has avx.
#[inline(always)]
unsafe fn at(x: &[f32], i: u64) -> __m256 {
    // SAFETY: per the function's contract.
    unsafe { _mm256_broadcast_ss(x.get_unchecked(i as u32 as usize)) }
}

/// The dot of one row, prefetching the matrix `ahead`, before its last reduction: the lanes
/// to sum, and the sum of the elements past the last whole vector, to add to theirs (the row's
/// dot is `hsum(lanes) + tail`; the rows loops take that sum one row later). x is loaded by
/// [`gather8_hardware`] when `HARDWARE_GATHER` (the caller checked [`hardware_gather_for`]),
/// else by [`gather8`], with the same bits. The AVX-512 tiers take it for short rows.
///
/// # Safety
/// The CPU has avx2, fma and f16c; every index is below `x.len()`; when `HARDWARE_GATHER`,
/// x is at most [`HARDWARE_GATHER_MAX_LEN`] long (as [`hardware_gather_for`] checks).
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn dot_parts<T: Lanes, const HARDWARE_GATHER: bool>(
    indices: &[u32],
    values: &[T],
    x: &[f32],
    ahead: SparsePrefetch,
) -> (__m256, f32) {
    // SAFETY: per the function's contract.
    unsafe {
        if ahead.covers(indices.len().min(values.len())) {
            dot_fetching::<T, HARDWARE_GATHER, false>(indices, values, x, ahead)
        } else {
            dot_fetching::<T, HARDWARE_GATHER, true>(indices, values, x, ahead)
        }
    }
}

/// [`dot_parts`], its prefetches checked against the matrix's end when `BOUNDED`.
///
/// # Safety
/// As [`dot_parts`]'.
#[inline(always)]
unsafe fn dot_fetching<T: Lanes, const HARDWARE_GATHER: bool, const BOUNDED: bool>(
    indices: &[u32],
    values: &[T],
    x: &[f32],
    ahead: SparsePrefetch,
) -> (__m256, f32) {
    let n = indices.len().min(values.len());
    let (pairs, whole) = (n / 16 * 16, n / 8 * 8);
    // SAFETY: per the function's contract; loads read 8 elements at `p + 8 <= whole <= n`,
    // the rest one at `q < n`.
    unsafe {
        let (indices, values) = (indices.as_ptr(), values.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 2];
        for p in (0..pairs).step_by(16) {
            ahead.fetch::<BOUNDED, _, _>(indices, values, p);
            for (h, acc) in acc.iter_mut().enumerate() {
                let at = p + 8 * h;
                let xs = x8::<HARDWARE_GATHER>(indices.add(at), x);
                *acc = _mm256_fmadd_ps(T::lanes(values.add(at)), xs, *acc);
            }
        }
        if n > pairs {
            // The tail's lines too. Without this fetch the next row's first one lands up to
            // 31 nonzeros past this row's last, skipping a line of indices in about half
            // the rows: a DRAM miss each, on Zen 4 most of the gap between SpMV from DRAM
            // and from cache at 90-95 % sparsity.
            ahead.fetch::<BOUNDED, _, _>(indices, values, pairs);
        }
        if whole > pairs {
            let xs = x8::<HARDWARE_GATHER>(indices.add(pairs), x);
            acc[0] = _mm256_fmadd_ps(T::lanes(values.add(pairs)), xs, acc[0]);
        }
        let mut tail = 0.0;
        for q in whole..n {
            let v = (*values.add(q)).splat();
            tail += _mm256_cvtss_f32(v) * *x.get_unchecked(*indices.add(q) as usize);
        }
        (_mm256_add_ps(acc[0], acc[1]), tail)
    }
}

/// The dot of each row of a block ([`dot_parts`], summed), inlined into one target-feature
/// function.
///
/// # Safety
/// The CPU has avx2, fma and f16c, and the arguments meet [`SparseDots`]' precondition
/// (validated offsets, every index below `x.len()`).
///
/// [`SparseDots`]: crate::backend::SparseDots
#[inline(always)]
unsafe fn dots<T: Lanes>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
) {
    // SAFETY: per the function's contract, and `hardware_gather_for` checked x's length.
    unsafe {
        if hardware_gather_for(x) {
            rows::<T, true>(indptr, indices, values, x, out)
        } else {
            rows::<T, false>(indptr, indices, values, x, out)
        }
    }
}

/// [`dots`] with the way of loading x fixed.
///
/// # Safety
/// As [`dots`]', and when `HARDWARE_GATHER`, x is at most [`HARDWARE_GATHER_MAX_LEN`] long.
#[inline(always)]
unsafe fn rows<T: Lanes, const HARDWARE_GATHER: bool>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
) {
    // Read once per block: it depends only on the CPU.
    let ahead = avx2_dot_prefetch();
    if ahead == AVX2_SPARSE_PREFETCH {
        // The same setting as a constant, so that the loop prefetches at fixed offsets
        // instead of holding the distances in registers, which it runs short of: with
        // `dot_parts`' unchecked walks, one stack reload a step instead of four, and at 99 %
        // sparsity (41 nonzeros a row) 1.08-1.10x on Zen 1 (see the README's session 41).
        // SAFETY: per the function's contract.
        unsafe {
            rows_fetching::<T, HARDWARE_GATHER>(
                indptr,
                indices,
                values,
                x,
                out,
                AVX2_SPARSE_PREFETCH,
            )
        }
    } else {
        // SAFETY: per the function's contract.
        unsafe { rows_fetching::<T, HARDWARE_GATHER>(indptr, indices, values, x, out, ahead) }
    }
}

/// [`rows`] with the prefetch `ahead`. Each row's sum across lanes is taken after the next
/// row's dot, not before it: that sum is a chain of dependent shuffles and adds (about 15
/// cycles), and the core retires in order, so while it waited at the front of the queue the
/// next row's instructions could not all enter. At 99 % sparsity (41 nonzeros a row) a profile
/// on Zen 1 put about a quarter of the kernel's samples on that chain; taken one row later,
/// the SpMV ran 1.03-1.12x faster (the README's session 42). Deferring it by 16 rows, through
/// an array on the stack, ran 0.87x.
///
/// # Safety
/// As [`rows`]'.
#[inline(always)]
unsafe fn rows_fetching<T: Lanes, const HARDWARE_GATHER: bool>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
    ahead: SparsePrefetch,
) {
    // The rows' slices are taken unchecked: the offsets are validated (the contract). At 99 %
    // sparsity (41 nonzeros a row) the checks cost 1.05x on Zen 1; checking the block's
    // offsets once instead won back 1.015x.
    debug_assert!(offsets_fit(
        indptr,
        out.len(),
        indices.len().min(values.len())
    ));
    // The previous row's lanes and tail, summed once this row's dot is issued.
    // SAFETY: the CPU has avx (the contract).
    let mut pending = (unsafe { _mm256_setzero_ps() }, 0.0);
    for r in 0..out.len() {
        // SAFETY: the contract: `out.len() + 1` offsets or more.
        let range = unsafe { *indptr.get_unchecked(r)..*indptr.get_unchecked(r + 1) };
        let ahead = ahead.starting_at(range.start, indices.len(), values.len());
        // SAFETY: and the offsets are non-decreasing, the last within both arrays.
        let (indices, values) = unsafe {
            (
                indices.get_unchecked(range.clone()),
                values.get_unchecked(range),
            )
        };
        // SAFETY: the contract: the CPU's features, every index below `x.len()`, and x
        // short enough for `vgatherdps` when `HARDWARE_GATHER`.
        let parts = unsafe { dot_parts::<T, HARDWARE_GATHER>(indices, values, x, ahead) };
        if r > 0 {
            // SAFETY: as above.
            out[r - 1] = unsafe { hsum(pending.0) } + pending.1;
        }
        pending = parts;
    }
    if let Some(last) = out.last_mut() {
        // SAFETY: as above.
        *last = unsafe { hsum(pending.0) } + pending.1;
    }
}

/// Whether `indptr` holds the offsets of `rows` rows over `nnz` nonzeros: at least `rows + 1`
/// of them, non-decreasing, the last at most `nnz`.
pub(in crate::arch::x86_64) fn offsets_fit(indptr: &[usize], rows: usize, nnz: usize) -> bool {
    indptr
        .get(..=rows)
        .is_some_and(|offsets| offsets.windows(2).all(|w| w[0] <= w[1]) && offsets[rows] <= nnz)
}

/// Nonzeros ahead whose rows of B are prefetched: B's rows are met in random order, so the
/// hardware prefetchers cannot see them coming (8 was the best of 4, 8 and 16 on the Zen 3
/// host measured, with B at and beyond L2's size).
const AHEAD: usize = 8;

/// Columns `[j, j + 8Q)` of the row product, in `Q` accumulators; when `MASKED`, the last
/// one loads and stores only the lanes whose `lanes` element has its sign bit set.
///
/// # Safety
/// `j + 8(Q - 1)` plus the lanes of the last accumulator is at most `out.len()`, every
/// `indices[p]·stride + out.len() <= b.len()`, and the CPU has avx2 and f16c.
#[inline(always)]
unsafe fn pass<T: Lanes, const MASKED: bool, const Q: usize>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    (j, lanes): (usize, __m256i),
    out: &mut [f32],
) {
    // SAFETY: per the function's contract, every load reads 8 columns (the masked lanes in a
    // masked last vector) inside a row of B and every store as many inside `out`; prefetches
    // are hints that never fault, and their addresses are formed with wrapping arithmetic,
    // never dereferenced.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); Q];
        for (p, (&i, &v)) in indices.iter().zip(values).enumerate() {
            if let Some(&ahead) = indices.get(p + AHEAD) {
                let row = b.as_ptr().wrapping_add(ahead as usize * stride + j);
                for line in 0..(8 * Q).div_ceil(16) {
                    _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(16 * line) as *const i8);
                }
            }
            let v = v.splat();
            let brow = b.as_ptr().add(i as usize * stride + j);
            for (q, acc) in acc.iter_mut().enumerate() {
                let at = brow.add(8 * q);
                let bs = if MASKED && q + 1 == Q {
                    _mm256_maskload_ps(at, lanes)
                } else {
                    _mm256_loadu_ps(at)
                };
                *acc = _mm256_add_ps(*acc, _mm256_mul_ps(v, bs));
            }
        }
        for (q, acc) in acc.iter().enumerate() {
            let at = out.as_mut_ptr().add(j + 8 * q);
            if MASKED && q + 1 == Q {
                _mm256_maskstore_ps(at, lanes, *acc);
            } else {
                _mm256_storeu_ps(at, *acc);
            }
        }
    }
}

/// The row product: passes of 64 columns, then the rest (under 64) in one pass of as many
/// 8-column accumulators as it needs, the last one masked.
#[inline(always)]
pub(in crate::arch::x86_64) fn row<T: Lanes>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let n = out.len();
    let mut j = 0;
    // Each column is one chain of adds (the order is fixed), so a pass's time per nonzero
    // hardly depends on its width: one wide pass beats several narrow ones, and the last
    // columns join the last pass instead of a scalar one (n = 33 ran at half the speed of
    // n = 32).
    // SAFETY: only called from the kernels below, which enable avx2, fma and f16c; the
    // passes cover `[0, n)` exactly, the last one's last vector `last` lanes; see `pass`.
    unsafe {
        let full = _mm256_set1_epi32(-1);
        while n - j >= 64 {
            pass::<T, false, 8>(indices, values, b, stride, (j, full), out);
            j += 64;
        }
        let rest = n - j;
        let last = rest.wrapping_sub(1) % 8 + 1;
        let lanes = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(last as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        );
        let at = (j, lanes);
        // The last vector's masked loads and store reach 8 columns from its start, past the
        // row's end: where that leaves the pages of B (for every row, where B ends less than
        // 32 bytes before a page does) or of `out` (about one row in 128), they go as the whole
        // vector that ends with the row, or one at a time in rows under 8 columns
        // ([`last_columns_within`]).
        let reach = j + 8 * rest.div_ceil(8);
        if rest > 0 && last_columns_within(b, out, reach, !indices.is_empty()) {
            with_width!(
                rest.div_ceil(8),
                pass::<T, true>(indices, values, b, stride, at, out)
            );
        } else if rest > 0 {
            let whole = rest - last;
            if whole > 0 {
                with_width!(
                    whole / 8,
                    pass::<T, false>(indices, values, b, stride, (j, full), out)
                );
            }
            if n >= 8 {
                // Each column is its own chain, so the columns this vector shares with the
                // one before get the same sums again.
                pass::<T, false, 1>(indices, values, b, stride, (n - 8, full), out);
            } else {
                for (c, o) in out.iter_mut().enumerate().skip(j + whole) {
                    *o = column(indices, values, b, stride, c);
                }
            }
        }
    }
}

/// Column `c` of the row product one nonzero at a time, as a pass sums it: a product, then a
/// sum, in the nonzeros' order (the same bits).
///
/// # Safety
/// The CPU has avx2 and f16c.
#[inline(always)]
unsafe fn column<T: Lanes>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    c: usize,
) -> f32 {
    let mut acc = 0.0f32;
    for (&i, &v) in indices.iter().zip(values) {
        // SAFETY: the caller's contract; register-only.
        let v = unsafe { _mm256_cvtss_f32(v.splat()) };
        acc += v * b[i as usize * stride + c];
    }
    acc
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn dots_f32(
    indptr: &[usize],
    indices: &[u32],
    values: &[f32],
    x: &[f32],
    out: &mut [f32],
) {
    // SAFETY: the caller's contract ([`SparseDots`](crate::backend::SparseDots)); the
    // features are enabled here.
    unsafe { dots(indptr, indices, values, x, out) }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn dots_bf16(
    indptr: &[usize],
    indices: &[u32],
    values: &[bf16],
    x: &[f32],
    out: &mut [f32],
) {
    // SAFETY: the caller's contract ([`SparseDots`](crate::backend::SparseDots)); the
    // features are enabled here.
    unsafe { dots(indptr, indices, values, x, out) }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn dots_f16(
    indptr: &[usize],
    indices: &[u32],
    values: &[f16],
    x: &[f32],
    out: &mut [f32],
) {
    // SAFETY: the caller's contract ([`SparseDots`](crate::backend::SparseDots)); the
    // features are enabled here.
    unsafe { dots(indptr, indices, values, x, out) }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn row_f32(
    i: &[u32],
    v: &[f32],
    b: &[f32],
    s: usize,
    o: &mut [f32],
) {
    row(i, v, b, s, o)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn row_bf16(
    i: &[u32],
    v: &[bf16],
    b: &[f32],
    s: usize,
    o: &mut [f32],
) {
    row(i, v, b, s, o)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(in crate::arch::x86_64) unsafe fn row_f16(
    i: &[u32],
    v: &[f16],
    b: &[f32],
    s: usize,
    o: &mut [f32],
) {
    row(i, v, b, s, o)
}

#[cfg(test)]
pub(in crate::arch::x86_64) mod tests {
    //! Both ways of loading x give the same bits (each CPU runs only one of them by default).

    use half::{bf16, f16};

    /// Rows of every length 0..=300 over 512 columns (sorted, distinct indices), values and an x
    /// from a fixed xorshift; x[0] is NaN so that a lane loaded but not summed would show.
    pub(in crate::arch::x86_64) fn rows_of_every_length(
    ) -> (Vec<usize>, Vec<u32>, Vec<f32>, Vec<f32>) {
        let mut next = crate::arch::x86_64::xorshift(0x9e37_79b9_7f4a_7c15u64);
        let (mut indptr, mut indices, mut values) = (vec![0], Vec::new(), Vec::new());
        for len in 0..=300usize {
            let mut row: Vec<u32> = (1..512).collect();
            for i in 0..len {
                let j = i + (next() as usize) % (row.len() - i);
                row.swap(i, j);
            }
            let mut row = row[..len].to_vec();
            row.sort_unstable();
            indices.extend(row);
            values.extend((0..len).map(|_| (next() % 2001) as f32 / 1000.0 - 1.0));
            indptr.push(indices.len());
        }
        let mut x: Vec<f32> = (0..512)
            .map(|_| (next() % 4001) as f32 / 100.0 - 20.0)
            .collect();
        x[0] = f32::NAN;
        (indptr, indices, values, x)
    }

    /// A tier's `rows` of one value type, by `vgatherdps` then by its other loads: the bits
    /// of each row, both ways.
    pub(in crate::arch::x86_64) type Both<T> =
        unsafe fn(&[usize], &[u32], &[T], &[f32]) -> [Vec<u32>; 2];

    /// Checks that a tier's two ways of loading x give the same bits, for f32, bf16 and f16
    /// values on [`rows_of_every_length`], and that no lane loaded but not summed (x[0], NaN)
    /// leaks into a row.
    ///
    /// # Safety
    /// The CPU has the features of the tier the three functions belong to.
    pub(in crate::arch::x86_64) unsafe fn check_same_bits(
        f32s: Both<f32>,
        bf16s: Both<bf16>,
        f16s: Both<f16>,
    ) {
        let (indptr, indices, values, x) = rows_of_every_length();
        let b: Vec<bf16> = values.iter().map(|&v| bf16::from_f32(v)).collect();
        let h: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
        // SAFETY: the caller's contract; every index is below x.len() = 512 < 2^31.
        let runs = unsafe {
            [
                f32s(&indptr, &indices, &values, &x),
                bf16s(&indptr, &indices, &b, &x),
                f16s(&indptr, &indices, &h, &x),
            ]
        };
        for [hardware, other] in runs {
            assert_eq!(hardware, other);
            assert!(hardware.iter().all(|&y| !f32::from_bits(y).is_nan()));
        }
    }

    /// A tier's dot of one row, x loaded through windows where they fit or never.
    pub(in crate::arch::x86_64) type WindowedDot<T> = unsafe fn(&[u32], &[T], &[f32], bool) -> f32;

    /// Checks that a tier's dot gives the same bits with windows as without, for f32, bf16
    /// and f16 values, on [`rows_of_every_length`] (whose last steps come near the last
    /// column: the window there starts at the last one that fits in x) and on rows built to
    /// fit every window, none, or some, with x starting at each of 16 offsets from a 64-byte
    /// line. x[0] is a NaN that the first windows load and no row may sum.
    ///
    /// # Safety
    /// The CPU has the features of the tier the three functions belong to.
    pub(in crate::arch::x86_64) unsafe fn check_windows(
        f32s: WindowedDot<f32>,
        bf16s: WindowedDot<bf16>,
        f16s: WindowedDot<f16>,
    ) {
        let (mut indptr, mut indices, mut values, x) = rows_of_every_length();
        let patterns: [fn(u32) -> u32; 5] = [
            |i| 1 + i,                                    // consecutive
            |i| 1 + 5 * i,                                // 5 apart: no step fits
            |i| 7 + i + i / 16 * 40,                      // runs of 16, each on a new window
            |i| 3 + i + i / 8 * 9,                        // runs of 8 with gaps
            |i| if i < 32 { 1 + 5 * i } else { 200 + i }, // misses, then hits
        ];
        for pattern in patterns {
            let row: Vec<u32> = (0..200).map(pattern).filter(|&c| c < 512).collect();
            values.extend(row.iter().map(|&c| (c % 7) as f32 - 3.0));
            indices.extend(row);
            indptr.push(indices.len());
        }
        let b: Vec<bf16> = values.iter().map(|&v| bf16::from_f32(v)).collect();
        let h: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
        // SAFETY: the caller's contract; every index is below x.len() = 512.
        unsafe {
            windowed_and_not(f32s, &indptr, &indices, &values, &x);
            windowed_and_not(bf16s, &indptr, &indices, &b, &x);
            windowed_and_not(f16s, &indptr, &indices, &h, &x);
        }
    }

    /// [`check_windows`] for one value type.
    ///
    /// # Safety
    /// As [`check_windows`]'s.
    unsafe fn windowed_and_not<T>(
        dot: WindowedDot<T>,
        indptr: &[usize],
        indices: &[u32],
        values: &[T],
        x: &[f32],
    ) {
        let mut lines = vec![0f32; x.len() + 32];
        let start = lines.as_ptr().align_offset(64);
        for skew in 0..16 {
            let x_at = &mut lines[start + skew..start + skew + x.len()];
            x_at.copy_from_slice(x);
            let x_at = &*x_at;
            for r in 0..indptr.len() - 1 {
                let range = indptr[r]..indptr[r + 1];
                let (i, v) = (&indices[range.start..], &values[range]);
                // SAFETY: the caller's contract.
                let [windowed, broadcast] = [true, false].map(|w| unsafe { dot(i, v, x_at, w) });
                assert_eq!(
                    windowed.to_bits(),
                    broadcast.to_bits(),
                    "row {r}, skew {skew}"
                );
                assert!(!windowed.is_nan(), "row {r}, skew {skew}");
            }
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn both<T: super::Lanes>(
        indptr: &[usize],
        indices: &[u32],
        values: &[T],
        x: &[f32],
    ) -> [Vec<u32>; 2] {
        let rows = indptr.len() - 1;
        let (mut hardware, mut broadcast) = (vec![0f32; rows], vec![0f32; rows]);
        // SAFETY: the caller's contract; the tests' rows are valid, and their x is short
        // enough for `vgatherdps`.
        unsafe {
            super::rows::<T, true>(indptr, indices, values, x, &mut hardware);
            super::rows::<T, false>(indptr, indices, values, x, &mut broadcast);
        }
        [hardware, broadcast].map(|v| v.iter().map(|y| y.to_bits()).collect())
    }

    /// The offsets `rows` slices unchecked (its `debug_assert!`): enough of them for the
    /// block, non-decreasing, the last within the nonzeros; those past the block do not count.
    #[test]
    fn offsets_fit_only_a_block_the_rows_can_slice() {
        use super::offsets_fit;
        assert!(offsets_fit(&[0, 2, 2, 5], 3, 5));
        assert!(offsets_fit(&[3, 4, 9], 1, 5));
        assert!(offsets_fit(&[5], 0, 5));
        assert!(!offsets_fit(&[0, 2, 2], 3, 5));
        assert!(!offsets_fit(&[0, 3, 2, 5], 3, 5));
        assert!(!offsets_fit(&[0, 2, 2, 6], 3, 5));
        assert!(!offsets_fit(&[], 0, 5));
    }

    #[test]
    fn vgatherdps_and_broadcasts_give_the_same_bits() {
        if crate::Isa::Avx2.is_supported() {
            // SAFETY: the CPU has the Avx2 tier's features.
            unsafe { check_same_bits(both::<f32>, both::<bf16>, both::<f16>) }
        }
    }

    /// The row product's last columns, where B or the output row ends on a page boundary (so
    /// that the masked last vector would reach the next page), go one at a time with the bits
    /// of the masked vector's (the same B away from the boundary).
    #[test]
    fn last_columns_at_a_page_boundary_match_the_masked_vector() {
        if crate::Isa::Avx2.is_supported() {
            // SAFETY: the CPU has the Avx2 tier's features.
            unsafe { check_last_columns(super::row_bf16) }
        }
    }

    /// A tier's bf16 row product: `(indices, values, b, stride, out)`.
    pub(in crate::arch::x86_64) type RowProduct =
        unsafe fn(&[u32], &[bf16], &[f32], usize, &mut [f32]);

    /// The check of [`last_columns_at_a_page_boundary_match_the_masked_vector`] for a tier's
    /// row product `row`.
    ///
    /// # Safety
    /// The CPU has `row`'s features.
    pub(in crate::arch::x86_64) unsafe fn check_last_columns(row: RowProduct) {
        let mut next = crate::arch::x86_64::xorshift(0x2545_f491_4f6c_dd1du64);
        let (k, nnz) = (9usize, 5usize);
        let indices: Vec<u32> = (0..nnz as u32).map(|p| (p * 2).min(k as u32 - 1)).collect();
        let values: Vec<bf16> = (0..nnz)
            .map(|_| bf16::from_f32((next() % 2001) as f32 / 1000.0 - 1.0))
            .collect();
        let mut buf = vec![0.0f32; 8 << 10];
        let mut out_buf = vec![0.0f32; 8 << 10];
        // Past 128 columns the AVX-512 row product has run a whole pass first.
        for n in (1..=70).chain(125..=140) {
            let b: Vec<f32> = (0..k * n)
                .map(|_| (next() % 4001) as f32 / 100.0 - 20.0)
                .collect();
            let page = buf.as_ptr().align_offset(4096) + 2048;
            let out_page = out_buf.as_ptr().align_offset(4096) + 2048;
            let mut runs = Vec::new();
            for (b_end, o_end) in [(false, false), (true, false), (false, true), (true, true)] {
                let b_at = if b_end { page - k * n } else { page + 64 };
                let o_at = if o_end { out_page - n } else { out_page + 64 };
                buf[b_at..b_at + k * n].copy_from_slice(&b);
                let out = &mut out_buf[o_at..o_at + n];
                // SAFETY: the caller's contract; every index times n plus n is at most k * n.
                unsafe { row(&indices, &values, &buf[b_at..b_at + k * n], n, out) };
                runs.push(out.iter().map(|y| y.to_bits()).collect::<Vec<_>>());
            }
            for run in &runs[1..] {
                assert_eq!(run, &runs[0], "n {n}");
            }
        }
    }
}
