//! Criterion benches of the multiply-accumulate kernels on every tier: dot products
//! (`Throughput::Elements` = flops, 2 per element), dots and a small GEMV whose length leaves a
//! rest past the last whole step, and GEMV over a 4096x4096 weight matrix
//! (`Throughput::Bytes` = bytes of W: GEMV is memory-bound), single thread and on the current
//! rayon pool.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::{bf16, f16};
use lowp::fmac::{Input, MatRef, Par};
use lowp::Backend;

fn dots(c: &mut Criterion) {
    let k = 4096;
    let a: Vec<bf16> = (0..k)
        .map(|i| bf16::from_f32((i % 13) as f32 * 0.1))
        .collect();
    let b: Vec<bf16> = (0..k)
        .map(|i| bf16::from_f32((i % 7) as f32 * 0.2))
        .collect();
    let x: Vec<f32> = (0..k).map(|i| (i % 5) as f32).collect();
    let ah: Vec<f16> = a.iter().map(|v| f16::from_f32(v.to_f32())).collect();
    let mut group = c.benchmark_group("dot_4096");
    group.throughput(Throughput::Elements(2 * k as u64));
    group.measurement_time(Duration::from_secs(2));
    for be in Backend::all_supported() {
        let isa = be.isa().name();
        group.bench_function(BenchmarkId::new("bf16", isa), |bench| {
            bench.iter(|| be.dot_bf16(black_box(&a), black_box(&b)).unwrap())
        });
        group.bench_function(BenchmarkId::new("f16", isa), |bench| {
            bench.iter(|| be.dot_f16(black_box(&ah), black_box(&ah)).unwrap())
        });
        group.bench_function(BenchmarkId::new("f32_bf16", isa), |bench| {
            bench.iter(|| be.dot_f32_bf16(black_box(&x), black_box(&b)).unwrap())
        });
    }
    group.finish();
}

/// Dots and GEMV rows whose length leaves a rest of 31 elements past the last whole step of
/// every tier (1055 = 1024 + 31) beside the round 1024: the rest's cost per call.
fn rests(c: &mut Criterion) {
    let mut group = c.benchmark_group("rest_1024_1055");
    group.measurement_time(Duration::from_secs(1));
    for k in [1024usize, 1055] {
        let x: Vec<f32> = (0..k).map(|i| (i % 5) as f32).collect();
        let b: Vec<bf16> = (0..k)
            .map(|i| bf16::from_f32((i % 7) as f32 * 0.2))
            .collect();
        let h: Vec<f16> = (0..k)
            .map(|i| f16::from_f32((i % 13) as f32 * 0.1))
            .collect();
        let rows = 256;
        let w: Vec<f16> = (0..rows * k)
            .map(|i| f16::from_f32(((i % 251) as f32 - 125.0) * 1e-3))
            .collect();
        let m = MatRef::new(&w, rows, k).unwrap();
        let mut y = vec![0f32; rows];
        group.throughput(Throughput::Elements(2 * k as u64));
        for be in Backend::all_supported() {
            let isa = be.isa().name();
            group.bench_function(BenchmarkId::new(format!("dot_f16_{k}"), isa), |bench| {
                bench.iter(|| be.dot_f16(black_box(&h), black_box(&h)).unwrap())
            });
            group.bench_function(
                BenchmarkId::new(format!("dot_f32_bf16_{k}"), isa),
                |bench| bench.iter(|| be.dot_f32_bf16(black_box(&x), black_box(&b)).unwrap()),
            );
        }
        group.throughput(Throughput::Elements(2 * (rows * k) as u64));
        for be in Backend::all_supported() {
            let id = BenchmarkId::new(format!("gemv_f16_256x{k}"), be.isa().name());
            group.bench_function(id, |bench| {
                bench.iter(|| {
                    be.gemv(1.0, m, black_box(&x), 0.0, black_box(&mut y), Par::Seq)
                        .unwrap()
                })
            });
        }
    }
    group.finish();
}

fn gemv_of<W: Input>(c: &mut Criterion, name: &str, make: fn(f32) -> W) {
    let (n, k) = (4096, 4096);
    let w: Vec<W> = (0..n * k)
        .map(|i| make(((i % 251) as f32 - 125.0) * 1e-3))
        .collect();
    let x: Vec<f32> = (0..k).map(|i| (i % 17) as f32 * 0.01).collect();
    let mut y = vec![0f32; n];
    let m = MatRef::new(&w, n, k).unwrap();
    let mut group = c.benchmark_group(format!("gemv_4096x4096_{name}"));
    group.throughput(Throughput::Bytes((n * k * size_of::<W>()) as u64));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for be in Backend::all_supported() {
        group.bench_function(BenchmarkId::new(be.isa().name(), "1 thread"), |bench| {
            bench.iter(|| {
                be.gemv(1.0, m, black_box(&x), 0.0, black_box(&mut y), Par::Seq)
                    .unwrap()
            })
        });
    }
    let best = Backend::best();
    group.bench_function(BenchmarkId::new(best.isa().name(), "rayon pool"), |bench| {
        bench.iter(|| {
            best.gemv(1.0, m, black_box(&x), 0.0, black_box(&mut y), Par::Rayon(0))
                .unwrap()
        })
    });
    group.finish();
}

fn gemvs(c: &mut Criterion) {
    gemv_of(c, "bf16", bf16::from_f32);
    gemv_of(c, "f16", f16::from_f32);
    gemv_of(c, "f32", |v| v);
}

criterion_group!(benches, dots, rests, gemvs);
criterion_main!(benches);
