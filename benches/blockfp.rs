//! Criterion benches of MX quantization and dequantization on every tier at an L2-sized
//! array, beside lowp's f32 -> bf16 conversion on the active tier as the anchor:
//! `Throughput::Bytes` = the f32 bytes read or written. `cargo bench --bench blockfp`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::bf16;
use lowp::blockfp::MxFormat;
use lowp::Backend;

/// 256 KiB of f32.
const N: usize = 64 << 10;

fn blocks(c: &mut Criterion) {
    let x: Vec<f32> = (0..N)
        .map(|i| ((i % 1000) as f32 - 500.0) * 1.37e-3 * (1 + i % 7) as f32)
        .collect();
    let mut group = c.benchmark_group("mx_256KiB");
    group
        .throughput(Throughput::Bytes((N * 4) as u64))
        .sample_size(30)
        .measurement_time(Duration::from_secs(2));
    let mut narrow = vec![bf16::ZERO; N];
    group.bench_function("f32_to_bf16 (anchor)", |b| {
        b.iter(|| lowp::convert::f32_to_bf16(black_box(&x), black_box(&mut narrow)).unwrap())
    });
    for format in [MxFormat::E4M3, MxFormat::E2M1, MxFormat::Int8] {
        let blocks = format.blocks(N);
        let mut scales = vec![0u8; blocks];
        let mut elements = vec![0u8; blocks * format.block_bytes()];
        // Filled here, not by the quantize benches, which a filter may skip (zero scales
        // would make every dequantized value subnormal, a slow path on many cores).
        lowp::blockfp::mx_quantize(format, &x, &mut scales, &mut elements).unwrap();
        let name = format.name().replace(' ', "_");
        for backend in Backend::all_supported() {
            let id = BenchmarkId::new(format!("quantize/{}", backend.isa().name()), &name);
            group.bench_function(id, |b| {
                b.iter(|| {
                    backend
                        .mx_quantize(format, black_box(&x), &mut scales, &mut elements)
                        .unwrap()
                })
            });
        }
        let mut y = vec![0f32; N];
        for backend in Backend::all_supported() {
            let id = BenchmarkId::new(format!("dequantize/{}", backend.isa().name()), &name);
            group.bench_function(id, |b| {
                b.iter(|| {
                    backend
                        .mx_dequantize(format, &scales, black_box(&elements), &mut y)
                        .unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, blocks);
criterion_main!(benches);
