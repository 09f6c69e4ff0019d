//! Criterion bench of GEMM at m = n = k = 2048, one thread, against the `gemm` crate (f32 and
//! f16, built with its `x86-v4` feature) and `matrixmultiply` (f32) in the same run;
//! `Throughput::Elements` = 2mnk flops. lowp runs with B packed once (`gemm_packed`, how an
//! engine calls it) and unpacked (`gemm`, packing on every call like the baselines). Then the
//! epilogue by output type at 128³ (`gemm_output_128`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::{bf16, f16};
use lowp::fmac::{Bf16Gemm, MatMut, MatRef, Par};
use lowp::Backend;

const N: usize = 2048;

fn values(salt: usize) -> Vec<f32> {
    (0..N * N)
        .map(|i| bf16::from_f32(((i * 7919 + salt) % 2003) as f32 / 1001.5 - 1.0).to_f32())
        .collect()
}

fn gemm_2048(c: &mut Criterion) {
    let (a32, b32) = (values(1), values(2));
    let a16: Vec<bf16> = a32.iter().map(|&v| bf16::from_f32(v)).collect();
    let b16: Vec<bf16> = b32.iter().map(|&v| bf16::from_f32(v)).collect();
    let ah: Vec<f16> = a32.iter().map(|&v| f16::from_f32(v)).collect();
    let bh: Vec<f16> = b32.iter().map(|&v| f16::from_f32(v)).collect();
    let mut out = vec![0f32; N * N];
    let mut group = c.benchmark_group("gemm_2048");
    group.throughput(Throughput::Elements(2 * (N * N * N) as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(12));
    let mat = |v| MatRef::new(v, N, N).unwrap();
    let backend = Backend::best();
    let isa = backend.isa().name();
    let packed = backend.pack_b(MatRef::new(&b16, N, N).unwrap());
    group.bench_function(BenchmarkId::new("lowp_bf16_packed", isa), |bench| {
        bench.iter(|| {
            let c = MatMut::new(black_box(&mut out), N, N).unwrap();
            backend
                .gemm_packed(
                    1.0,
                    MatRef::new(&a16, N, N).unwrap(),
                    &packed,
                    0.0,
                    c,
                    Par::Seq,
                )
                .unwrap()
        })
    });
    // A tier with a bf16 instruction: its non-default bf16 × bf16 kernel too (`Bf16Gemm`).
    for (choice, name) in [
        (Bf16Gemm::Hardware, "lowp_bf16_packed_hw"),
        (Bf16Gemm::WidenFma, "lowp_bf16_packed_fma"),
    ] {
        let Some(other) = backend.with_bf16_gemm(choice).filter(|&b| b != backend) else {
            continue;
        };
        group.bench_function(BenchmarkId::new(name, isa), |bench| {
            bench.iter(|| {
                let c = MatMut::new(black_box(&mut out), N, N).unwrap();
                let a = MatRef::new(&a16, N, N).unwrap();
                other
                    .gemm_packed(1.0, a, &packed, 0.0, c, Par::Seq)
                    .unwrap()
            })
        });
    }
    group.bench_function(BenchmarkId::new("lowp_bf16", isa), |bench| {
        bench.iter(|| {
            let c = MatMut::new(black_box(&mut out), N, N).unwrap();
            let (a, b) = (
                MatRef::new(&a16, N, N).unwrap(),
                MatRef::new(&b16, N, N).unwrap(),
            );
            backend.gemm(1.0, a, b, 0.0, c, Par::Seq).unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("lowp_f32", isa), |bench| {
        bench.iter(|| {
            let c = MatMut::new(black_box(&mut out), N, N).unwrap();
            backend
                .gemm(1.0, mat(&a32), mat(&b32), 0.0, c, Par::Seq)
                .unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("lowp_f16", isa), |bench| {
        bench.iter(|| {
            let c = MatMut::new(black_box(&mut out), N, N).unwrap();
            let (a, b) = (
                MatRef::new(&ah, N, N).unwrap(),
                MatRef::new(&bh, N, N).unwrap(),
            );
            backend.gemm(1.0, a, b, 0.0, c, Par::Seq).unwrap()
        })
    });
    #[cfg(target_arch = "x86_64")]
    baselines(&mut group, &a32, &b32, &ah, &bh, &mut out);
    group.finish();
}

#[cfg(target_arch = "x86_64")]
fn baselines(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    a32: &[f32],
    b32: &[f32],
    ah: &[f16],
    bh: &[f16],
    out: &mut [f32],
) {
    let n = N as isize;
    group.bench_function("gemm_crate_f32", |bench| {
        // SAFETY: all three matrices are N x N row-major (column stride 1, row stride N) and
        // `out` does not alias the inputs.
        bench.iter(|| unsafe {
            gemm::gemm(
                N,
                N,
                N,
                out.as_mut_ptr(),
                1,
                n,
                false,
                a32.as_ptr(),
                1,
                n,
                b32.as_ptr(),
                1,
                n,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        })
    });
    let mut out_h = vec![f16::ZERO; N * N];
    group.bench_function("gemm_crate_f16", |bench| {
        // SAFETY: as above, for f16 matrices.
        bench.iter(|| unsafe {
            gemm::gemm(
                N,
                N,
                N,
                out_h.as_mut_ptr(),
                1,
                n,
                false,
                ah.as_ptr(),
                1,
                n,
                bh.as_ptr(),
                1,
                n,
                f16::ZERO,
                f16::ONE,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        })
    });
    group.bench_function("matrixmultiply_f32", |bench| {
        // SAFETY: as above.
        bench.iter(|| unsafe {
            matrixmultiply::sgemm(
                N,
                N,
                N,
                1.0,
                a32.as_ptr(),
                n,
                1,
                b32.as_ptr(),
                n,
                1,
                0.0,
                out.as_mut_ptr(),
                n,
                1,
            )
        })
    });
}

/// The epilogue's cost by output type: bf16 × bf16 GEMM at m = n = k = 128 into f32, bf16 and
/// f16 C, `beta` 0 and 0.5, where rounding C is a visible share of the time (one element of C
/// per 2k = 256 flops).
fn gemm_output_type(c: &mut Criterion) {
    const M: usize = 128;
    let a: Vec<bf16> = values(1)[..M * M]
        .iter()
        .map(|&v| bf16::from_f32(v))
        .collect();
    let b: Vec<bf16> = values(2)[..M * M]
        .iter()
        .map(|&v| bf16::from_f32(v))
        .collect();
    let (a, b) = (
        MatRef::new(&a, M, M).unwrap(),
        MatRef::new(&b, M, M).unwrap(),
    );
    let backend = Backend::best();
    let isa = backend.isa().name();
    let mut group = c.benchmark_group("gemm_output_128");
    group.throughput(Throughput::Elements(2 * (M * M * M) as u64));
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    let (mut c32, mut cb, mut ch) = (
        vec![0.5f32; M * M],
        vec![bf16::from_f32(0.5); M * M],
        vec![f16::from_f32(0.5); M * M],
    );
    for beta in [0.0f32, 0.5] {
        let mut bench = |name: &str, call: &mut dyn FnMut()| {
            group.bench_function(
                BenchmarkId::new(format!("{name}_beta{beta}"), isa),
                |bench| bench.iter(&mut *call),
            );
        };
        bench("c_f32", &mut || {
            let c = MatMut::new(black_box(&mut c32), M, M).unwrap();
            backend.gemm(1.0, a, b, beta, c, Par::Seq).unwrap()
        });
        bench("c_bf16", &mut || {
            let c = MatMut::new(black_box(&mut cb), M, M).unwrap();
            backend.gemm(1.0, a, b, beta, c, Par::Seq).unwrap()
        });
        bench("c_f16", &mut || {
            let c = MatMut::new(black_box(&mut ch), M, M).unwrap();
            backend.gemm(1.0, a, b, beta, c, Par::Seq).unwrap()
        });
    }
    group.finish();
}

criterion_group!(benches, gemm_2048, gemm_output_type);
criterion_main!(benches);
