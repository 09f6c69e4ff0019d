//! Sparse kernels, 16 lanes. The sparse dot builds x from one-lane masked broadcasts (LLVM
//! lowers them to `vinsertps` loads into four quarters), or by one `vgatherdps` on the Intel
//! cores where that is the faster (the same lanes, the same bits), and ends a row with a
//! masked step instead of scalar code: 1.02-1.14x the `Avx2` tier's dot at 50-95 % sparsity
//! on Zen 5, whose two vector loads per cycle (one per nonzero, for x) are the limit. In rows
//! holding 40 % of the columns or more, a step whose 16 columns fit in 64 takes x from four
//! vector loads of that window and two `vpermt2ps` instead ([`window16`]). Short
//! rows keep the `Avx2` dot, chosen row by row so that a row's bits never depend on its
//! neighbours (and so on the thread split). The row product runs 128 (then 64, 32, 16) dense
//! columns per pass with a multiply then an add (the scalar kernel's operations, so the same
//! bits), prefetching the rows of B a few nonzeros ahead, as the `Avx2` tier does.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::super::avx2::fmac::{hsum, Lanes};
use super::super::avx2::sparse as avx2;
use super::super::{
    avx512_short_row_prefetch, avx512_sparse_prefetch, last_columns_within, SparsePrefetch,
};
use super::fmac::{first_lanes16, hsum16, MaskedLanes16};
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

/// Columns a window of x spans: four vectors, which two `vpermt2ps` index.
const WINDOW: usize = 64;

/// [`gather16`]'s lanes where `indices[..16]` lie in `base..base + WINDOW`: four loads of x
/// and two `vpermt2ps` (each reads the low five bits of a lane's offset, the blend the sixth)
/// instead of sixteen loads and their inserts.
///
/// # Safety
/// `indices` is valid for reading 16 entries, `base + WINDOW <= x.len()`, and the CPU has
/// avx512f. An index outside the window gives a wrong lane, never a read outside it.
#[inline(always)]
unsafe fn window16(indices: *const u32, base: usize, x: &[f32]) -> __m512 {
    // SAFETY: per the function's contract: one 64-byte load of the indices, and four of x
    // inside `base..base + WINDOW`.
    unsafe {
        let offsets = _mm512_sub_epi32(
            _mm512_loadu_si512(indices as *const _),
            _mm512_set1_epi32(base as i32),
        );
        // Not a `map` closure: closures do not inherit the target features.
        let w = x.as_ptr().add(base);
        let (a, b) = (_mm512_loadu_ps(w), _mm512_loadu_ps(w.add(16)));
        let (c, d) = (_mm512_loadu_ps(w.add(32)), _mm512_loadu_ps(w.add(48)));
        let low = _mm512_permutex2var_ps(a, offsets, b);
        let high = _mm512_permutex2var_ps(c, offsets, d);
        let in_high = _mm512_test_epi32_mask(offsets, _mm512_set1_epi32(32));
        _mm512_mask_blend_ps(in_high, low, high)
    }
}

/// The dot of one row before its sum across lanes: `values` are its values,
/// `indices[..values.len()]` its column indices, and the matrix's indices that follow them
/// pad the last, masked step (a copy padded with zeros when fewer than 16 follow). One
/// accumulator: a step of 16 nonzeros takes about eight cycles of loads, longer than the
/// FMA's latency, so more accumulators measured no faster. x is loaded by [`x16`], or with
/// `WINDOWED` by [`window16`] where a step's columns fit a window (both give the same lanes,
/// so the choice never shows in the bits); the matrix is prefetched `ahead`.
#[inline(always)]
fn dot_lanes<T: MaskedLanes16, const HARDWARE_GATHER: bool, const WINDOWED: bool>(
    indices: &[u32],
    values: &[T],
    x: &[f32],
    ahead: SparsePrefetch,
) -> __m512 {
    let n = indices.len().min(values.len());
    let whole = n / 16 * 16;
    // Windows start on a 64-byte line of x, so that no load of x splits a line (on Zen 4,
    // from DRAM at 50-60 % sparsity, windows from the step's first column ran 1.02-1.03x the
    // broadcast loads, windows on lines 1.11-1.16x), and at the latest where the last window
    // of x starts (`WINDOWED` rows have `x.len() >= WINDOW`).
    let skew = x.as_ptr() as usize / 4 % 16;
    let last_base = x.len().wrapping_sub(WINDOW);
    // SAFETY: only called from the kernels below, which enable avx512f/bw/vl; every step
    // reads 16 entries at `p + 16 <= whole <= n`; the tail reads 16 indices inside `indices`
    // (or the zero-padded copy), all below `x.len()` as the caller guarantees (x[0] exists
    // because the row has a nonzero), and only its `n - whole` values (masked loads); a
    // window's `base` is at most `last_base`.
    unsafe {
        let mut acc = _mm512_setzero_ps();
        for p in (0..whole).step_by(16) {
            ahead.fetch::<true, _, _>(indices.as_ptr(), values.as_ptr(), p);
            let at = indices.as_ptr().add(p);
            let first = *at as usize;
            let base = first.saturating_sub((first + skew) % 16).min(last_base);
            // The indices increase, so the step fits when its last one does.
            let xs = if WINDOWED && (*at.add(15) as usize).wrapping_sub(base) < WINDOW {
                window16(at, base, x)
            } else {
                x16::<HARDWARE_GATHER>(at, x.as_ptr())
            };
            acc = _mm512_fmadd_ps(T::lanes16(values.as_ptr().add(p)), xs, acc);
        }
        if whole < n {
            // As the `Avx2` dot's tail: no line of the stream left unfetched.
            ahead.fetch::<true, _, _>(indices.as_ptr(), values.as_ptr(), whole);
            let lanes = ((1u32 << (n - whole)) - 1) as __mmask16;
            let xs = if whole + 16 <= indices.len() {
                x16::<HARDWARE_GATHER>(indices.as_ptr().add(whole), x.as_ptr())
            } else {
                let mut padded = [0u32; 16];
                padded[..n - whole].copy_from_slice(&indices[whole..n]);
                x16::<HARDWARE_GATHER>(padded.as_ptr(), x.as_ptr())
            };
            let vs = first_lanes16(values.as_ptr().add(whole), n - whole);
            // Lanes past the row keep the accumulator: their x may be an infinity or a NaN.
            acc = _mm512_mask3_fmadd_ps(vs, xs, acc, lanes);
        }
        acc
    }
}

/// [`dot_lanes`] with windows, summed, out of line: inlined beside the other two dots, it left
/// the broadcast loop one register short, which then reloaded a pointer from the stack each
/// step.
///
/// # Safety
/// As [`dot_lanes`]' callers; the CPU has avx512f/bw/dq/vl.
#[inline(never)]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn windowed_dot<T: MaskedLanes16, const HARDWARE_GATHER: bool>(
    indices: &[u32],
    values: &[T],
    x: &[f32],
    ahead: SparsePrefetch,
) -> f32 {
    hsum16(dot_lanes::<T, HARDWARE_GATHER, true>(
        indices, values, x, ahead,
    ))
}

/// Rows holding at least this fraction of x's columns try a window for each step. Below it
/// too many steps miss their window, and each miss costs a mispredicted branch: on Zen 4,
/// from DRAM, the windows ran 1.11-1.16x the broadcast loads at 50-60 % sparsity but 0.94-0.96x
/// at 65 % and 0.61-0.62x at 70 % (while 1.05-1.16x there with the matrix cache-resident).
const WINDOWED_DENSITY: [usize; 2] = [2, 5];

/// The sparse dot of each row of a block, inlined into one target-feature function.
#[inline(always)]
fn dots<T: MaskedLanes16 + Lanes>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
) {
    // SAFETY: `dots` is inlined into the kernels below, which enable the same features.
    unsafe {
        if avx2::hardware_gather_for(x) {
            rows::<T, true>(indptr, indices, values, x, out)
        } else {
            rows::<T, false>(indptr, indices, values, x, out)
        }
    }
}

/// The 16-lane [`dot_lanes`] of each row, or the `Avx2` tier's for a row shorter than
/// [`SHORT_ROW`], with the way of loading x fixed; rows of [`WINDOWED_DENSITY`] or more by
/// [`windowed_dot`]. A target-feature function (inlined all the same), so that `windowed_dot`
/// stays out of line: called from an `inline(always)` function without the features, it was
/// inlined in spite of `inline(never)`. As in the `Avx2` rows loop, each row's slices are
/// taken unchecked and its sum across lanes after the next row's dot is issued (at 99 %
/// sparsity on Zen 1, 1.05x each there, the README's session 42; untimed on AVX-512 cores).
///
/// # Safety
/// The CPU has avx512f/bw/dq/vl; as [`dots`]'s callers: validated offsets (the
/// [`SparseDots`] precondition), every index below `x.len()`, and x short enough for
/// `vgatherdps` when `HARDWARE_GATHER`.
///
/// [`SparseDots`]: crate::backend::SparseDots
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn rows<T: MaskedLanes16 + Lanes, const HARDWARE_GATHER: bool>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
) {
    debug_assert!(avx2::offsets_fit(
        indptr,
        out.len(),
        indices.len().min(values.len())
    ));
    // Read once per block: both settings depend only on the CPU.
    let (short_ahead, ahead) = (avx512_short_row_prefetch(), avx512_sparse_prefetch());
    // The previous row's dot, summed once this row's dot is issued.
    let mut pending = Parts::Summed(0.0);
    for r in 0..out.len() {
        // SAFETY: the contract: `out.len() + 1` offsets or more.
        let range = unsafe { *indptr.get_unchecked(r)..*indptr.get_unchecked(r + 1) };
        let at =
            |ahead: SparsePrefetch| ahead.starting_at(range.start, indices.len(), values.len());
        let (short_ahead, ahead) = (at(short_ahead), at(ahead));
        // SAFETY: and the offsets are non-decreasing, the last within both arrays; the 16-lane
        // dots take the indices to the array's end (their last step's padding).
        let (row_indices, row_values, indices_on) = unsafe {
            (
                indices.get_unchecked(range.clone()),
                values.get_unchecked(range.clone()),
                indices.get_unchecked(range.start..),
            )
        };
        let parts = if range.len() < SHORT_ROW {
            // SAFETY: this tier's CPUs have the `Avx2` tier's features; the caller guarantees
            // the indices are below `x.len()`, and x's length for `vgatherdps`.
            let (lanes, tail) = unsafe {
                avx2::dot_parts::<T, HARDWARE_GATHER>(row_indices, row_values, x, short_ahead)
            };
            Parts::Short(lanes, tail)
        } else if range.len() * WINDOWED_DENSITY[1] >= x.len() * WINDOWED_DENSITY[0]
            && x.len() >= WINDOW
        {
            // SAFETY: this function has `windowed_dot`'s features; `x.len() >= WINDOW`.
            Parts::Summed(unsafe {
                windowed_dot::<T, HARDWARE_GATHER>(indices_on, row_values, x, ahead)
            })
        } else {
            Parts::Long(dot_lanes::<T, HARDWARE_GATHER, false>(
                indices_on, row_values, x, ahead,
            ))
        };
        if r > 0 {
            out[r - 1] = pending.sum();
        }
        pending = parts;
    }
    if let Some(last) = out.last_mut() {
        *last = pending.sum();
    }
}

/// A row's dot before its sum across lanes, which [`rows`] takes one row later.
#[derive(Clone, Copy)]
enum Parts {
    /// The `Avx2` dot's lanes and tail.
    Short(__m256, f32),
    /// The 16-lane dot's lanes.
    Long(__m512),
    /// A windowed row's dot, summed out of line.
    Summed(f32),
}

impl Parts {
    /// The row's dot: the same operations in the same order as each dot summed at once.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn sum(self) -> f32 {
        match self {
            Parts::Short(lanes, tail) => hsum(lanes) + tail,
            Parts::Long(lanes) => hsum16(lanes),
            Parts::Summed(dot) => dot,
        }
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
    // The last vector's masked loads and store reach 16 columns from its start, past the
    // row's end: where that leaves the pages of B (for every row, where B ends less than 64
    // bytes before a page does) or of `out`, they go another way ([`last_columns_within`]).
    let reach = j + 16 * rest.div_ceil(16);
    if rest > 0 && last_columns_within(b, out, reach, !indices.is_empty()) {
        // SAFETY: the pass of `rest.div_ceil(16)` vectors covers `[j, n)` exactly, its last
        // vector `last` lanes; see `pass`.
        unsafe {
            with_width!(
                rest.div_ceil(16),
                pass::<T>(indices, values, b, stride, at, out)
            )
        }
    } else if rest > 0 {
        // The `Avx2` tier's row product of the last columns: the same operations in the same
        // order, so the same bits, in vectors of 8 that check their own pages.
        avx2::row(indices, values, &b[j..], stride, &mut out[j..]);
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
    //! Every way of loading x gives the same bits: `vgatherdps`, the masked broadcasts (each CPU
    //! runs only one of those by default) and the windows.

    use half::{bf16, f16};

    use super::super::super::avx2::sparse::tests::{
        check_last_columns, check_same_bits, check_windows,
    };

    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    unsafe fn both<T: super::MaskedLanes16 + super::Lanes>(
        indptr: &[usize],
        indices: &[u32],
        values: &[T],
        x: &[f32],
    ) -> [Vec<u32>; 2] {
        let rows = indptr.len() - 1;
        let (mut hardware, mut broadcast) = (vec![0f32; rows], vec![0f32; rows]);
        // SAFETY: the caller's contract.
        unsafe {
            super::rows::<T, true>(indptr, indices, values, x, &mut hardware);
            super::rows::<T, false>(indptr, indices, values, x, &mut broadcast);
        }
        [hardware, broadcast].map(|v| v.iter().map(|y| y.to_bits()).collect())
    }

    /// One row's dot, x loaded through windows where they fit or never.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    unsafe fn dot<T: super::MaskedLanes16>(
        indices: &[u32],
        values: &[T],
        x: &[f32],
        windowed: bool,
    ) -> f32 {
        let ahead = crate::arch::x86_64::avx512_sparse_prefetch();
        super::hsum16(if windowed {
            super::dot_lanes::<T, false, true>(indices, values, x, ahead)
        } else {
            super::dot_lanes::<T, false, false>(indices, values, x, ahead)
        })
    }

    #[test]
    fn windows_give_the_broadcast_loads_bits() {
        if crate::Isa::Avx512.is_supported() {
            // SAFETY: the CPU has the Avx512 tier's features.
            unsafe { check_windows(dot::<f32>, dot::<bf16>, dot::<f16>) }
        }
    }

    #[test]
    fn last_columns_at_a_page_boundary_match_the_masked_vector() {
        if crate::Isa::Avx512.is_supported() {
            // SAFETY: the CPU has the Avx512 tier's features.
            unsafe { check_last_columns(super::row_bf16) }
        }
    }

    #[test]
    fn vgatherdps_and_masked_broadcasts_give_the_same_bits() {
        if crate::Isa::Avx512.is_supported() {
            // SAFETY: the CPU has the Avx512 tier's features.
            unsafe { check_same_bits(both::<f32>, both::<bf16>, both::<f16>) }
        }
    }
}
