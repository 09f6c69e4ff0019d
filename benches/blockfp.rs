//! Criterion benches of MX quantization and dequantization (the reference's arithmetic, the
//! only path so far) at an L2-sized array, beside lowp's f32 -> bf16 conversion on the active
//! tier as the anchor: `Throughput::Bytes` = the f32 bytes read or written.
//! `cargo bench --bench blockfp`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::bf16;
use lowp::blockfp::{mx_dequantize, mx_quantize, MxFormat};

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
        let name = format.name().replace(' ', "_");
        group.bench_function(BenchmarkId::new("quantize", &name), |b| {
            b.iter(|| mx_quantize(format, black_box(&x), &mut scales, &mut elements).unwrap())
        });
        let mut y = vec![0f32; N];
        group.bench_function(BenchmarkId::new("dequantize", &name), |b| {
            b.iter(|| mx_dequantize(format, &scales, black_box(&elements), &mut y).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, blocks);
criterion_main!(benches);
