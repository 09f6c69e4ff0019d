//! The GEMM micro-kernel on `f32x8`: a 4 × 8 tile, one broadcast of A times a row of B per
//! multiply-add. B panels are f32 (bf16/f16 widened at packing).

use wide::f32x8;

use crate::arch::check_tile;
use crate::backend::{APanel, Bf16Panel, GemmKernels, PeakRun};

const MR: usize = 4;
const NR: usize = 8;

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
    let mut tile = [f32x8::ZERO; MR];
    if accumulate {
        for (t, acc) in tile.iter_mut().zip(acc.chunks_exact(NR)) {
            *t = f32x8::new(acc.try_into().unwrap());
        }
    }
    for (a, b) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
        let b = f32x8::new(b.try_into().unwrap());
        for (t, &ai) in tile.iter_mut().zip(a) {
            *t = b.mul_add(f32x8::splat(ai), *t);
        }
    }
    for (t, acc) in tile.iter().zip(acc.chunks_exact_mut(NR)) {
        acc.copy_from_slice(&t.to_array());
    }
}

/// Eight independent chains of `f32x8` multiply-adds.
pub(super) fn fma_peak(iterations: u64) -> PeakRun {
    let mut acc: [f32x8; 8] = core::array::from_fn(|i| f32x8::splat(i as f32));
    let m = f32x8::splat(core::hint::black_box(0.999_999));
    let c = f32x8::splat(core::hint::black_box(1e-7));
    for _ in 0..iterations {
        for v in &mut acc {
            *v = v.mul_add(m, c);
        }
    }
    PeakRun {
        flops: iterations * 8 * 8 * 2,
        sink: acc.iter().map(|v| v.reduce_add()).sum(),
    }
}
