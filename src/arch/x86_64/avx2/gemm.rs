//! The GEMM micro-kernel: a 6 × 16 tile in twelve ymm accumulators; per step, one row of 16 B
//! values (widened in registers when bf16/f16) and six broadcasts of A, twelve FMAs.

use core::arch::x86_64::*;

use super::f16c::widen8;

use half::{bf16, f16};

use crate::arch::check_tile;
use crate::backend::{APanel, Bf16Panel, GemmKernels, PeakRun};

const MR: usize = 6;
const NR: usize = 16;

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

/// One packed row of 16 B values as two vectors of 8 f32 lanes (columns 0-7, 8-15).
trait Row16: Copy {
    /// # Safety
    /// `p` is valid for reading 16 elements, and the CPU has avx2 and f16c.
    unsafe fn row(p: *const Self) -> [__m256; 2];
}

impl Row16 for f32 {
    #[inline(always)]
    unsafe fn row(p: *const f32) -> [__m256; 2] {
        // SAFETY: per the trait's contract.
        unsafe { [_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))] }
    }
}

impl Row16 for f16 {
    #[inline(always)]
    unsafe fn row(p: *const f16) -> [__m256; 2] {
        // SAFETY: per the trait's contract (16 f16 = two 16-byte loads).
        unsafe {
            [
                widen8(_mm_loadu_si128(p.cast())),
                widen8(_mm_loadu_si128(p.add(8).cast())),
            ]
        }
    }
}

impl Row16 for bf16 {
    /// The row is packed in pairs (column `j` at `2·(j mod 8) + j div 8`, `Bf16Panel::ColumnPairs`): each
    /// 32-bit word holds columns `i` (low half) and `8 + i` (high half), so a shift and an AND
    /// widen all 16, one vector op each, off the FMA ports' critical share.
    #[inline(always)]
    unsafe fn row(p: *const bf16) -> [__m256; 2] {
        // SAFETY: per the trait's contract (16 bf16 = one 32-byte load).
        unsafe {
            let w = _mm256_loadu_si256(p.cast());
            let high = _mm256_and_si256(w, _mm256_set1_epi32(0xffff_0000u32 as i32));
            [
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(w)),
                _mm256_castsi256_ps(high),
            ]
        }
    }
}

#[inline(always)]
fn micro<B: Row16>(kc: usize, a: &[f32], b: &[B], acc: &mut [f32], accumulate: bool) {
    check_tile(MR, NR, kc, a, b, acc);
    // SAFETY: only called from the kernels below, which enable avx2, fma and f16c; the check
    // above keeps every load below `kc * MR` of `a`, `kc * NR` of `b` and `MR * NR` of `acc`.
    unsafe {
        let mut t = [[_mm256_setzero_ps(); 2]; MR];
        if accumulate {
            for (i, row) in t.iter_mut().enumerate() {
                row[0] = _mm256_loadu_ps(acc.as_ptr().add(i * NR));
                row[1] = _mm256_loadu_ps(acc.as_ptr().add(i * NR + 8));
            }
        }
        let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
        for _ in 0..kc {
            let [b0, b1] = B::row(pb);
            for (i, row) in t.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*pa.add(i));
                row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
            }
            pa = pa.add(MR);
            pb = pb.add(NR);
        }
        for (i, row) in t.iter().enumerate() {
            _mm256_storeu_ps(acc.as_mut_ptr().add(i * NR), row[0]);
            _mm256_storeu_ps(acc.as_mut_ptr().add(i * NR + 8), row[1]);
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn micro_f32(kc: usize, a: &[f32], b: &[f32], acc: &mut [f32], accumulate: bool) {
    micro(kc, a, b, acc, accumulate)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn micro_bf16(kc: usize, a: &[f32], b: &[bf16], acc: &mut [f32], accumulate: bool) {
    micro(kc, a, b, acc, accumulate)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn micro_f16(kc: usize, a: &[f32], b: &[f16], acc: &mut [f32], accumulate: bool) {
    micro(kc, a, b, acc, accumulate)
}

/// Twelve independent chains of 8-lane FMAs (two FMA pipes × latency 4-5 needs about ten).
#[target_feature(enable = "avx2,fma")]
pub(in crate::arch::x86_64) unsafe fn fma_peak(iterations: u64) -> PeakRun {
    let mut acc: [__m256; 12] = core::array::from_fn(|i| _mm256_set1_ps(i as f32));
    let m = _mm256_set1_ps(core::hint::black_box(0.999_999));
    let c = _mm256_set1_ps(core::hint::black_box(1e-7));
    for _ in 0..iterations {
        for v in &mut acc {
            *v = _mm256_fmadd_ps(*v, m, c);
        }
    }
    let mut sum = [0f32; 8];
    for v in acc {
        let mut lanes = [0f32; 8];
        // SAFETY: `lanes` is 8 writable f32.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
        sum.iter_mut().zip(lanes).for_each(|(s, l)| *s += l);
    }
    PeakRun {
        flops: iterations * 12 * 8 * 2,
        sink: sum.iter().sum(),
    }
}
