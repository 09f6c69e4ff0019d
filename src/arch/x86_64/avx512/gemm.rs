//! The GEMM micro-kernel: a 12 × 32 tile in 24 zmm accumulators; per step, one row of 32 B
//! values (widened in registers when bf16/f16) and twelve broadcasts of A, 24 FMAs. The
//! `Avx2` kernel's shape doubled in width, with 32 registers to hold it.

use core::arch::x86_64::*;

use half::{bf16, f16};

use crate::arch::check_tile;
use crate::backend::{APanel, Bf16Panel, GemmKernels, PeakRun};

/// The tile shape, shared with the `Avx512Bf16` kernel that reads the same panels.
pub(in crate::arch::x86_64) const MR: usize = 12;
pub(in crate::arch::x86_64) const NR: usize = 32;

pub(in crate::arch::x86_64) const GEMM: GemmKernels = GemmKernels {
    mr: MR,
    nr: NR,
    f32: micro_f32,
    bf16: Some(micro_bf16),
    f16: Some(micro_f16),
    bf16_panel: Bf16Panel::ColumnPairs,
    bf16_bf16: None,
    bf16_bf16_x2: None,
    bf16_bf16_a: APanel::F32,
    bf16_bf16_done: None,
};

/// One packed row of 32 B values as two vectors of 16 f32 lanes (columns 0-15, 16-31).
trait Row32: Copy {
    /// # Safety
    /// `p` is valid for reading 32 elements, and the CPU has avx512f.
    unsafe fn row(p: *const Self) -> [__m512; 2];
}

impl Row32 for f32 {
    #[inline(always)]
    unsafe fn row(p: *const f32) -> [__m512; 2] {
        // SAFETY: per the trait's contract.
        unsafe { [_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16))] }
    }
}

impl Row32 for f16 {
    #[inline(always)]
    unsafe fn row(p: *const f16) -> [__m512; 2] {
        // SAFETY: per the trait's contract (32 f16 = two 32-byte loads).
        unsafe {
            [
                _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())),
                _mm512_cvtph_ps(_mm256_loadu_si256(p.add(16).cast())),
            ]
        }
    }
}

impl Row32 for bf16 {
    /// The row is packed in pairs (column `j` at `2·(j mod 16) + j div 16`, `Bf16Panel::ColumnPairs`):
    /// each 32-bit word holds columns `i` (low half) and `16 + i` (high half), so a shift and
    /// an AND widen all 32.
    #[inline(always)]
    unsafe fn row(p: *const bf16) -> [__m512; 2] {
        // SAFETY: per the trait's contract (32 bf16 = one 64-byte load).
        unsafe {
            let w = _mm512_loadu_si512(p.cast());
            let high = _mm512_and_si512(w, _mm512_set1_epi32(0xffff_0000u32 as i32));
            [
                _mm512_castsi512_ps(_mm512_slli_epi32::<16>(w)),
                _mm512_castsi512_ps(high),
            ]
        }
    }
}

/// The tile's accumulators: read from `acc` when accumulating, else zero.
///
/// # Safety
/// `acc` holds `MR * NR` f32, and the CPU has avx512f.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn load_tile(
    acc: &[f32],
    accumulate: bool,
) -> [[__m512; 2]; MR] {
    // SAFETY: per the function's contract: avx512f, and row `i` is inside `acc`.
    unsafe {
        let mut t = [[_mm512_setzero_ps(); 2]; MR];
        if accumulate {
            for (i, row) in t.iter_mut().enumerate() {
                row[0] = _mm512_loadu_ps(acc.as_ptr().add(i * NR));
                row[1] = _mm512_loadu_ps(acc.as_ptr().add(i * NR + 16));
            }
        }
        t
    }
}

/// Writes the tile back to `acc`.
///
/// # Safety
/// As [`load_tile`].
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn store_tile(t: &[[__m512; 2]; MR], acc: &mut [f32]) {
    for (i, row) in t.iter().enumerate() {
        // SAFETY: per the function's contract: avx512f, and row `i` is inside `acc`.
        unsafe {
            _mm512_storeu_ps(acc.as_mut_ptr().add(i * NR), row[0]);
            _mm512_storeu_ps(acc.as_mut_ptr().add(i * NR + 16), row[1]);
        }
    }
}

#[inline(always)]
fn micro<B: Row32>(kc: usize, a: &[f32], b: &[B], acc: &mut [f32], accumulate: bool) {
    check_tile(MR, NR, kc, a, b, acc);
    // SAFETY: only called from the kernels below, which enable avx512f/bw/dq/vl; the check
    // above keeps every load below `kc * MR` of `a`, `kc * NR` of `b` and `MR * NR` of `acc`.
    unsafe {
        let mut t = load_tile(acc, accumulate);
        let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
        for _ in 0..kc {
            let [b0, b1] = B::row(pb);
            for (i, row) in t.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*pa.add(i));
                row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
            }
            pa = pa.add(MR);
            pb = pb.add(NR);
        }
        store_tile(&t, acc);
    }
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn micro_f32(kc: usize, a: &[f32], b: &[f32], acc: &mut [f32], accumulate: bool) {
    micro(kc, a, b, acc, accumulate)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn micro_bf16(kc: usize, a: &[f32], b: &[bf16], acc: &mut [f32], accumulate: bool) {
    micro(kc, a, b, acc, accumulate)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn micro_f16(kc: usize, a: &[f32], b: &[f16], acc: &mut [f32], accumulate: bool) {
    micro(kc, a, b, acc, accumulate)
}

/// Sixteen independent chains of 16-lane FMAs (two FMA ports × latency 4 needs eight; more
/// covers CPUs with longer latency).
#[target_feature(enable = "avx512f")]
pub(in crate::arch::x86_64) unsafe fn fma_peak(iterations: u64) -> PeakRun {
    let mut acc: [__m512; 16] = core::array::from_fn(|i| _mm512_set1_ps(i as f32));
    let m = _mm512_set1_ps(core::hint::black_box(0.999_999));
    let c = _mm512_set1_ps(core::hint::black_box(1e-7));
    for _ in 0..iterations {
        for v in &mut acc {
            *v = _mm512_fmadd_ps(*v, m, c);
        }
    }
    let mut sum = [0f32; 16];
    for v in acc {
        let mut lanes = [0f32; 16];
        // SAFETY: `lanes` is 16 writable f32.
        unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), v) };
        sum.iter_mut().zip(lanes).for_each(|(s, l)| *s += l);
    }
    PeakRun {
        flops: iterations * 16 * 16 * 2,
        sink: sum.iter().sum(),
    }
}
