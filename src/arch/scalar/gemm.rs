//! The GEMM micro-kernel with no SIMD (the driver's oracle): a 4 × 4 tile, each product rounded
//! then added, like the scalar dot.

use crate::arch::check_tile;
use crate::backend::{APanel, Bf16Panel, GemmKernels, PeakRun};

const MR: usize = 4;
const NR: usize = 4;

pub(super) const GEMM: GemmKernels = GemmKernels {
    mr: MR,
    nr: NR,
    f32: micro,
    bf16: None,
    f16: None,
    bf16_panel: Bf16Panel::InOrder,
    bf16_bf16: None,
    bf16_bf16_x2: None,
    bf16_bf16_a: APanel::F32,
    bf16_bf16_done: None,
};

fn micro(kc: usize, a: &[f32], b: &[f32], acc: &mut [f32], accumulate: bool) {
    check_tile(MR, NR, kc, a, b, acc);
    let mut tile = [[0.0f32; NR]; MR];
    if accumulate {
        for (row, acc) in tile.iter_mut().zip(acc.chunks_exact(NR)) {
            row.copy_from_slice(acc);
        }
    }
    for (a, b) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
        for (row, &ai) in tile.iter_mut().zip(a) {
            for (t, &bj) in row.iter_mut().zip(b) {
                *t += ai * bj;
            }
        }
    }
    for (row, acc) in tile.iter().zip(acc.chunks_exact_mut(NR)) {
        acc.copy_from_slice(row);
    }
}

/// Eight independent multiply-add chains.
pub(super) fn fma_peak(iterations: u64) -> PeakRun {
    let mut acc = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let (m, c) = (
        core::hint::black_box(0.999_999f32),
        core::hint::black_box(1e-7f32),
    );
    for _ in 0..iterations {
        for v in &mut acc {
            *v = *v * m + c;
        }
    }
    PeakRun {
        flops: iterations * 8 * 2,
        sink: acc.iter().sum(),
    }
}
