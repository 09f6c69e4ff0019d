//! Criterion benches of stochastic rounding and the fused bf16 update on every tier, with
//! lowp's own round-to-nearest conversion on the same tier as the baseline, at an L1- and a
//! DRAM-sized array, and at short lengths that are not a multiple of any kernel's step (what a
//! call on a bias vector or a layer's odd-sized tensor costs), and f32 -> f16 on activations
//! after a ReLU (half zeros). `Throughput::Bytes` = bytes read plus bytes written.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::{bf16, f16};
use lowp::{Backend, Generator};

/// Both generators, and the suffix of their benchmarks' names.
const GENERATORS: [(Generator, &str); 2] =
    [(Generator::Philox4x32_10, ""), (Generator::Ars5, "_ars5")];

/// (label, elements): 16 KiB and 64 MiB of f32.
const SIZES: [(&str, usize); 2] = [("L1", 4 << 10), ("DRAM", 16 << 20)];

fn configure(group: &mut criterion::BenchmarkGroup<criterion::measurement::WallTime>, label: &str) {
    if label == "DRAM" {
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(4));
    } else {
        group
            .sample_size(50)
            .measurement_time(Duration::from_secs(2));
    }
}

fn stochastic(c: &mut Criterion) {
    for (label, n) in SIZES {
        let src: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 1.37e-3 - 0.5).collect();
        // Activations after a ReLU: every other element zero.
        let relu: Vec<f32> = src
            .iter()
            .enumerate()
            .map(|(i, &x)| if i % 2 == 0 { 0.0 } else { x.abs() })
            .collect();
        let mut b = vec![bf16::ZERO; n];
        let mut h = vec![f16::ZERO; n];
        let mut group = c.benchmark_group(format!("round_{label}"));
        configure(&mut group, label);
        group.throughput(Throughput::Bytes(6 * n as u64));
        for be in Backend::all_supported() {
            let isa = be.isa().name();
            group.bench_function(BenchmarkId::new("f32_to_bf16_nearest", isa), |bench| {
                bench.iter(|| be.f32_to_bf16(black_box(&src), black_box(&mut b)).unwrap())
            });
            for (generator, suffix) in GENERATORS {
                let id = BenchmarkId::new(format!("f32_to_bf16_stochastic{suffix}"), isa);
                group.bench_function(id, |bench| {
                    bench.iter(|| {
                        let (s, d) = (black_box(&src), black_box(&mut b));
                        be.f32_to_bf16_stochastic_with(s, d, 7, 0, generator)
                            .unwrap()
                    })
                });
            }
            group.bench_function(BenchmarkId::new("f32_to_f16_nearest", isa), |bench| {
                bench.iter(|| be.f32_to_f16(black_box(&src), black_box(&mut h)).unwrap())
            });
            for (generator, suffix) in GENERATORS {
                let id = BenchmarkId::new(format!("f32_to_f16_stochastic{suffix}"), isa);
                group.bench_function(id, |bench| {
                    bench.iter(|| {
                        let (s, d) = (black_box(&src), black_box(&mut h));
                        be.f32_to_f16_stochastic_with(s, d, 7, 0, generator)
                            .unwrap()
                    })
                });
            }
            if label == "L1" {
                let id = BenchmarkId::new("f32_to_f16_stochastic_relu", isa);
                group.bench_function(id, |bench| {
                    bench.iter(|| {
                        be.f32_to_f16_stochastic(black_box(&relu), black_box(&mut h), 7, 0)
                            .unwrap()
                    })
                });
            }
        }
        group.finish();

        let mut group = c.benchmark_group(format!("axpy_{label}"));
        configure(&mut group, label);
        let g16: Vec<bf16> = src.iter().map(|&x| bf16::from_f32(x)).collect();
        let mut w = g16.clone();
        for be in Backend::all_supported() {
            let isa = be.isa().name();
            for (generator, suffix) in GENERATORS {
                // g (4) + w read (2) + w written (2)
                group.throughput(Throughput::Bytes(8 * n as u64));
                let id = BenchmarkId::new(format!("f32_grad{suffix}"), isa);
                group.bench_function(id, |bench| {
                    bench.iter(|| {
                        let (g, w) = (black_box(&src), black_box(&mut w));
                        be.axpy_bf16_stochastic_with(1e-3, g, w, 7, 0, generator)
                            .unwrap()
                    })
                });
                group.throughput(Throughput::Bytes(6 * n as u64));
                let id = BenchmarkId::new(format!("bf16_grad{suffix}"), isa);
                group.bench_function(id, |bench| {
                    bench.iter(|| {
                        let (g, w) = (black_box(&g16), black_box(&mut w));
                        be.axpy_bf16_stochastic_with(1e-3, g, w, 7, 0, generator)
                            .unwrap()
                    })
                });
            }
        }
        group.finish();
    }
}

/// f32 -> bf16 stochastic at short lengths: 256 (one AVX-512 step), 1000 and 4095 (tails past
/// the last whole step), and 256 from global index 3 (a head of 5 elements before the first
/// block boundary, and a tail), with a call's fixed costs (key schedule, dispatch) included.
fn short_arrays(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_short");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(1));
    for (n, offset) in [(256usize, 0u64), (1000, 0), (4095, 0), (256, 3)] {
        let src: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 1.37e-3 - 0.5).collect();
        let mut b = vec![bf16::ZERO; n];
        group.throughput(Throughput::Bytes(6 * n as u64));
        let at = if offset == 0 {
            String::new()
        } else {
            format!("_at{offset}")
        };
        for be in Backend::all_supported() {
            for (generator, suffix) in GENERATORS {
                let name = format!("f32_to_bf16_stochastic_{n}{at}{suffix}");
                group.bench_function(BenchmarkId::new(name, be.isa().name()), |bench| {
                    bench.iter(|| {
                        let (s, d) = (black_box(&src), black_box(&mut b));
                        be.f32_to_bf16_stochastic_with(s, d, 7, offset, generator)
                            .unwrap()
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, stochastic, short_arrays);
criterion_main!(benches);
