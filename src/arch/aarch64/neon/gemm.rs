//! The GEMM micro-kernel: an 8 × 8 tile in sixteen q-register accumulators; per step, two
//! vectors of B (widened in registers when bf16) and two of A, sixteen by-lane FMAs.

use core::arch::aarch64::*;

use half::bf16;

use super::fmac::Lanes;
use crate::arch::check_tile;
use crate::backend::{APanel, Bf16Panel, GemmKernels, PeakRun};

const MR: usize = 8;
const NR: usize = 8;

pub(in crate::arch::aarch64) const GEMM: GemmKernels = GemmKernels {
    mr: MR,
    nr: NR,
    f32: micro::<f32>,
    bf16: Some(micro::<bf16>),
    f16: None,
    bf16_panel: Bf16Panel::InOrder,
    bf16_bf16: None,
    bf16_bf16_x2: None,
    bf16_bf16_a: APanel::F32,
    bf16_bf16_done: None,
};

/// `t[i] += b * a[lane]` for the four rows held in `a`'s lanes.
macro_rules! rows_by_lane {
    ($t:expr, $a:expr, $b0:expr, $b1:expr, $($lane:literal),*) => {
        $(
            $t[$lane][0] = vfmaq_laneq_f32::<$lane>($t[$lane][0], $b0, $a);
            $t[$lane][1] = vfmaq_laneq_f32::<$lane>($t[$lane][1], $b1, $a);
        )*
    };
}

fn micro<B: Lanes>(kc: usize, a: &[f32], b: &[B], acc: &mut [f32], accumulate: bool) {
    check_tile(MR, NR, kc, a, b, acc);
    // SAFETY: neon is part of the aarch64 baseline; the check above keeps every load below
    // `kc * MR` of `a`, `kc * NR` of `b` and `MR * NR` of `acc`.
    unsafe {
        let mut t = [[vdupq_n_f32(0.0); 2]; MR];
        if accumulate {
            for (i, row) in t.iter_mut().enumerate() {
                row[0] = vld1q_f32(acc.as_ptr().add(i * NR));
                row[1] = vld1q_f32(acc.as_ptr().add(i * NR + 4));
            }
        }
        let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
        for _ in 0..kc {
            let b0 = B::lanes(pb);
            let b1 = B::lanes(pb.add(4));
            let a0 = vld1q_f32(pa);
            let a1 = vld1q_f32(pa.add(4));
            let (top, bottom) = t.split_at_mut(4);
            rows_by_lane!(top, a0, b0, b1, 0, 1, 2, 3);
            rows_by_lane!(bottom, a1, b0, b1, 0, 1, 2, 3);
            pa = pa.add(MR);
            pb = pb.add(NR);
        }
        for (i, row) in t.iter().enumerate() {
            vst1q_f32(acc.as_mut_ptr().add(i * NR), row[0]);
            vst1q_f32(acc.as_mut_ptr().add(i * NR + 4), row[1]);
        }
    }
}

/// Sixteen independent chains of 4-lane FMAs.
pub(in crate::arch::aarch64) fn fma_peak(iterations: u64) -> PeakRun {
    // SAFETY: register-only neon arithmetic, part of the aarch64 baseline.
    unsafe {
        let mut acc: [float32x4_t; 16] = core::array::from_fn(|i| vdupq_n_f32(i as f32));
        let m = vdupq_n_f32(core::hint::black_box(0.999_999));
        let c = vdupq_n_f32(core::hint::black_box(1e-7));
        for _ in 0..iterations {
            for v in &mut acc {
                *v = vfmaq_f32(c, *v, m);
            }
        }
        PeakRun {
            flops: iterations * 16 * 4 * 2,
            sink: acc.iter().map(|&v| vaddvq_f32(v)).sum(),
        }
    }
}
