//! Timing two kernels side by side, for the x86 probes in `examples/`.

use std::time::Instant;

use half::bf16;
use lowp::{Backend, Generator};

/// Seconds per call of `a` and of `b`: medians of 31 samples of many calls each, the two
/// sampled alternately (a shared host's speed drifts).
pub fn per_call(mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    let calls = 20_000;
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..calls {
            f();
        }
        start.elapsed().as_secs_f64() / calls as f64
    };
    let (mut ta, mut tb): (Vec<f64>, Vec<f64>) =
        (0..31).map(|_| (time(&mut a), time(&mut b))).unzip();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut ta), median(&mut tb))
}

/// Seconds per call of `backend`'s f32 -> bf16 of `n` values rounded to nearest, and rounded
/// stochastically with ARS-5, by [`per_call`].
pub fn nearest_and_ars5(backend: Backend, n: usize) -> (f64, f64) {
    let src: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let (mut nearest_out, mut ars5_out) = (vec![bf16::ZERO; n], vec![bf16::ZERO; n]);
    per_call(
        || {
            backend
                .f32_to_bf16(std::hint::black_box(&src), &mut nearest_out)
                .expect("same lengths")
        },
        || {
            backend
                .f32_to_bf16_stochastic_with(
                    std::hint::black_box(&src),
                    &mut ars5_out,
                    7,
                    0,
                    Generator::Ars5,
                )
                .expect("same lengths")
        },
    )
}
