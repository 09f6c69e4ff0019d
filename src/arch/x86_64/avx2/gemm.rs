//! The GEMM micro-kernel: a 6 × 16 tile in twelve ymm accumulators; per step, two rows of B
//! (widened in registers when bf16/f16) and six broadcasts of A, twelve FMAs.

use core::arch::x86_64::*;

use half::{bf16, f16};

use super::fmac::Lanes;
use crate::arch::check_tile;
use crate::backend::{GemmKernels, PeakRun};

const MR: usize = 6;
const NR: usize = 16;

pub(in crate::arch::x86_64) const GEMM: GemmKernels = GemmKernels {
    mr: MR,
    nr: NR,
    f32: micro_f32,
    bf16: Some(micro_bf16),
    f16: Some(micro_f16),
};

#[inline(always)]
fn micro<B: Lanes>(kc: usize, a: &[f32], b: &[B], acc: &mut [f32], accumulate: bool) {
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
            let b0 = B::lanes(pb);
            let b1 = B::lanes(pb.add(8));
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
