//! Criterion bench of the sparse products: a 4096x4096 bf16 matrix magnitude-pruned per row at
//! 50/90/99 %, SpMV (`Throughput::Bytes` = values + indices + indptr) on every tier against
//! `sprs` (f32 values, the same structure) and lowp's dense bf16 GEMV, and SpMM with n = 32
//! (`Throughput::Elements` = 2·nnz·n) against lowp's dense GEMM on the same shape; SpMM at
//! 90 % on every tier with bf16 and f16 values at n = 32, 33 and 48.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::{bf16, f16};
use lowp::fmac::{MatMut, MatRef, Par};
use lowp::sparse::prune::{magnitude, Scope};
use lowp::sparse::{Csr, PackedCsr, PackedLayout};
use lowp::Backend;

#[path = "../src/bin/lowp/sparse_weights.rs"]
mod sparse_weights;

const N: usize = 4096;

fn weights() -> Vec<bf16> {
    (0..N * N)
        .map(|i| bf16::from_f32(sparse_weights::weight(i as u64)))
        .collect()
}

fn spmv(c: &mut Criterion) {
    let w = weights();
    let wm = MatRef::new(&w, N, N).unwrap();
    let x: Vec<f32> = (0..N).map(|j| (j % 17) as f32 * 0.01).collect();
    let mut y = vec![0f32; N];
    let mut group = c.benchmark_group("spmv_4096");
    group.measurement_time(Duration::from_secs(2));
    for sparsity in [0.5, 0.9, 0.99] {
        let a: Csr<bf16> = magnitude(wm, sparsity, Scope::PerRow).unwrap();
        let v = a.view();
        let pct = (sparsity * 100.0) as u32;
        group.throughput(Throughput::Bytes((v.nnz() * 6 + (N + 1) * 8) as u64));
        for be in Backend::all_supported() {
            group.bench_function(
                BenchmarkId::new(format!("lowp_bf16_{pct}"), be.isa().name()),
                |b| {
                    b.iter(|| {
                        be.spmv(1.0, v, black_box(&x), 0.0, &mut y, Par::Seq)
                            .unwrap()
                    })
                },
            );
        }
        // The same matrix packed in 16-row chunks (`PackedCsr`), in every layout; throughput
        // of the CSR's bytes.
        for (layout, name) in [
            (PackedLayout::Gather, "gather"),
            (PackedLayout::Windowed, "windowed"),
            (PackedLayout::Hybrid, "hybrid"),
        ] {
            let packed = PackedCsr::pack_with(v, layout);
            for be in Backend::all_supported() {
                group.bench_function(
                    BenchmarkId::new(format!("lowp_bf16_{pct}_{name}"), be.isa().name()),
                    |b| {
                        b.iter(|| {
                            be.spmv_packed(1.0, &packed, black_box(&x), 0.0, &mut y, Par::Seq)
                                .unwrap()
                        })
                    },
                );
            }
        }
        let f32_values = v.values().iter().map(|b| b.to_f32()).collect();
        let a32 =
            Csr::try_new(N, N, v.indptr().to_vec(), v.indices().to_vec(), f32_values).unwrap();
        let s = a32.to_sprs();
        group.bench_function(BenchmarkId::new(format!("sprs_f32_{pct}"), "scalar"), |b| {
            b.iter(|| {
                y.fill(0.0);
                sprs::prod::mul_acc_mat_vec_csr(s.view(), black_box(&x[..]), &mut y[..])
            })
        });
    }
    let be = Backend::best();
    group.throughput(Throughput::Bytes((N * N * 2) as u64));
    group.bench_function(BenchmarkId::new("dense_gemv_bf16", be.isa().name()), |b| {
        b.iter(|| {
            be.gemv(1.0, wm, black_box(&x), 0.0, &mut y, Par::Seq)
                .unwrap()
        })
    });
    group.finish();
}

fn spmm(c: &mut Criterion) {
    let w = weights();
    let wm = MatRef::new(&w, N, N).unwrap();
    let n = 32;
    let b: Vec<f32> = (0..N * n).map(|i| (i % 13) as f32 * 0.05).collect();
    let xt: Vec<f32> = (0..n * N).map(|i| b[(i % N) * n + i / N]).collect();
    let mut out = vec![0f32; N * n];
    let be = Backend::best();
    let mut group = c.benchmark_group("spmm_4096_n32");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(20);
    for sparsity in [0.5, 0.9, 0.99] {
        let a: Csr<bf16> = magnitude(wm, sparsity, Scope::PerRow).unwrap();
        let v = a.view();
        group.throughput(Throughput::Elements(2 * (v.nnz() * n) as u64));
        let pct = (sparsity * 100.0) as u32;
        group.bench_function(
            BenchmarkId::new(format!("lowp_bf16_{pct}"), be.isa().name()),
            |bench| {
                bench.iter(|| {
                    let c = MatMut::new(&mut out, N, n).unwrap();
                    be.spmm(1.0, v, MatRef::new(&b, N, n).unwrap(), 0.0, c, Par::Seq)
                        .unwrap()
                })
            },
        );
        // The linear-layer layout: X = Bᵀ as rows, the same bits.
        group.bench_function(
            BenchmarkId::new(format!("lowp_bf16_{pct}_xt"), be.isa().name()),
            |bench| {
                bench.iter(|| {
                    let y = MatMut::new(&mut out, n, N).unwrap();
                    be.spmm_xt(1.0, MatRef::new(&xt, n, N).unwrap(), v, 0.0, y, Par::Seq)
                        .unwrap()
                })
            },
        );
    }
    let packed = be.pack_b(wm.t());
    group.throughput(Throughput::Elements(2 * (N * N * n) as u64));
    group.bench_function(
        BenchmarkId::new("dense_gemm_bf16", be.isa().name()),
        |bench| {
            bench.iter(|| {
                let c = MatMut::new(&mut out, n, N).unwrap();
                be.gemm_packed(
                    1.0,
                    MatRef::new(&xt, n, N).unwrap(),
                    &packed,
                    0.0,
                    c,
                    Par::Seq,
                )
                .unwrap()
            })
        },
    );
    group.finish();
}

/// SpMM at 90 % sparsity on every tier, bf16 and f16 values, at n = 32 and at widths that
/// are not a multiple of a vector (the columns past the last full vector).
fn spmm_widths(c: &mut Criterion) {
    let w = weights();
    let wm = MatRef::new(&w, N, N).unwrap();
    let a: Csr<bf16> = magnitude(wm, 0.9, Scope::PerRow).unwrap();
    let v = a.view();
    let f16_values = v
        .values()
        .iter()
        .map(|x| f16::from_f32(x.to_f32()))
        .collect();
    let a16 = Csr::try_new(N, N, v.indptr().to_vec(), v.indices().to_vec(), f16_values).unwrap();
    let mut group = c.benchmark_group("spmm_4096_90");
    group.measurement_time(Duration::from_secs(2));
    group.sample_size(20);
    for n in [32, 33, 48] {
        let b: Vec<f32> = (0..N * n).map(|i| (i % 13) as f32 * 0.05).collect();
        let mut out = vec![0f32; N * n];
        group.throughput(Throughput::Elements(2 * (v.nnz() * n) as u64));
        for be in Backend::all_supported() {
            let mut run = |name: &str, product: &dyn Fn(&Backend, MatMut<'_, f32>)| {
                group.bench_function(
                    BenchmarkId::new(format!("{name}_n{n}"), be.isa().name()),
                    |bench| bench.iter(|| product(&be, MatMut::new(&mut out, N, n).unwrap())),
                );
            };
            let bm = MatRef::new(&b, N, n).unwrap();
            run("bf16", &|be, c| {
                be.spmm(1.0, v, bm, 0.0, c, Par::Seq).unwrap()
            });
            run("f16", &|be, c| {
                be.spmm(1.0, a16.view(), bm, 0.0, c, Par::Seq).unwrap()
            });
        }
    }
    group.finish();
}

criterion_group!(benches, spmv, spmm, spmm_widths);
criterion_main!(benches);
