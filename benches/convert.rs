//! Criterion benches of the conversions: every supported tier and `half`'s slice conversion
//! (the baseline) at an L1-, L2- and DRAM-sized array, `Throughput::Bytes` = bytes read plus
//! bytes written. `cargo bench --bench convert -- 'f32_to_bf16/'` narrows to one conversion.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use lowp::Backend;

/// (label, f32 elements): 16 KiB, 256 KiB and 64 MiB of f32.
const SIZES: [(&str, usize); 3] = [("L1", 4 << 10), ("L2", 64 << 10), ("DRAM", 16 << 20)];

fn inputs(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i % 1000) as f32 - 500.0) * 1.37e-3 * (1 + i % 7) as f32)
        .collect()
}

/// Benches `lowp(backend, src, dst)` on every tier and `half(src, dst)` under `group_name`.
fn bench_conversion<S: Copy, D: Copy>(
    c: &mut Criterion,
    group_name: &str,
    make_src: fn(&[f32]) -> Vec<S>,
    zero: D,
    lowp: fn(Backend, &[S], &mut [D]),
    half: fn(&[S], &mut [D]),
) {
    let mut group = c.benchmark_group(group_name);
    for (label, n) in SIZES {
        let src = make_src(&inputs(n));
        let mut dst = vec![zero; n];
        group.throughput(Throughput::Bytes(
            (n * (size_of::<S>() + size_of::<D>())) as u64,
        ));
        if label == "DRAM" {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(4));
        } else {
            group
                .sample_size(50)
                .measurement_time(Duration::from_secs(2));
        }
        group.bench_function(BenchmarkId::new("half", label), |b| {
            b.iter(|| half(black_box(&src), black_box(&mut dst)))
        });
        for backend in Backend::all_supported() {
            group.bench_function(BenchmarkId::new(backend.isa().name(), label), |b| {
                b.iter(|| lowp(backend, black_box(&src), black_box(&mut dst)))
            });
        }
    }
    group.finish();
}

fn conversions(c: &mut Criterion) {
    bench_conversion(
        c,
        "f32_to_bf16",
        <[f32]>::to_vec,
        bf16::ZERO,
        |be, s, d| be.f32_to_bf16(s, d).unwrap(),
        |s, d| d.convert_from_f32_slice(s),
    );
    bench_conversion(
        c,
        "bf16_to_f32",
        |x| x.iter().map(|&v| bf16::from_f32(v)).collect(),
        0f32,
        |be, s, d| be.bf16_to_f32(s, d).unwrap(),
        |s, d| s.convert_to_f32_slice(d),
    );
    bench_conversion(
        c,
        "f32_to_f16",
        <[f32]>::to_vec,
        f16::ZERO,
        |be, s, d| be.f32_to_f16(s, d).unwrap(),
        |s, d| d.convert_from_f32_slice(s),
    );
    bench_conversion(
        c,
        "f16_to_f32",
        |x| x.iter().map(|&v| f16::from_f32(v)).collect(),
        0f32,
        |be, s, d| be.f16_to_f32(s, d).unwrap(),
        |s, d| s.convert_to_f32_slice(d),
    );
}

criterion_group!(benches, conversions);
criterion_main!(benches);
