//! How lowp's threaded products scale with cores: each product run on rayon pools of 1, 2, 4,
//! … threads up to all the machine has (`Par::Rayon(0)` inside the pool), medians of
//! `SAMPLES` timings, on the best tier here:
//! - dense bf16 GEMM, m = n = k = 2048, B packed once: GFLOP/s;
//! - dense bf16 GEMV, W 4096 × 4096 (32 MiB), cycled through copies filling 1 GiB so that
//!   W comes from DRAM as a model's layers do: GB/s of W;
//! - CSR SpMV of that W magnitude-pruned per row at 50, 90, 95, 99 and 99.5 % (bf16 values),
//!   copies cycled the same way: GB/s of values + indices + indptr;
//! - SpMV on the same matrices packed (`PackedCsr::pack`), copies cycled the same way: GB/s
//!   of the CSR's bytes, as `lowp bench` counts them;
//! - SpMM with n = 32 at 90 %, in both layouts (`spmm`, and `spmm_xt` with the activations
//!   as rows): GFLOP/s (2 · nnz · n).
//!
//! Every thread count must give the same bits as one thread (lowp splits rows by their
//! work, and each row is summed the same way whatever thread runs it); the run stops if
//! one does not. Products under 2^20 multiply-adds stay on the calling thread, and sparse
//! matrix-vector products under 2^16 nonzeros plus rows; the SpMV rows at 99 and 99.5 % are
//! what set the second threshold.
//!
//! `cargo run --release --example thread_scaling`

use std::hint::black_box;
use std::time::Instant;

use half::bf16;
use lowp::fmac::{MatMut, MatRef, Par};
use lowp::sparse::prune::{magnitude, Scope};
use lowp::sparse::{Csr, PackedCsr};
use lowp::Backend;

const SAMPLES: usize = 11;
const N: usize = 4096;
const GEMM: usize = 2048;
const SPARSITIES: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.995];
/// Bytes of copies cycled through for the memory-bound products: past any last-level cache.
const COLD_BYTES: usize = 1 << 30;

/// Deterministic values in [-1, 1).
fn values(len: usize, salt: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919 + salt) % 2003) as f32 / 1001.5 - 1.0)
        .collect()
}

/// Median seconds of `f(out, Par::Rayon(0))` on each pool. First one call on the calling
/// thread (`Par::Seq`) gives the reference bits of `out`; then each pool makes one untimed
/// call (page faults, its threads waking) whose `out` must have the same bits; then
/// `SAMPLES` rounds time one call on every pool in turn, so that the host's slow spells fall
/// on all thread counts alike.
fn median_secs(
    pools: &[rayon::ThreadPool],
    product: &str,
    out: &mut [f32],
    mut f: impl FnMut(&mut [f32], Par) + Send,
) -> Vec<f64> {
    f(out, Par::Seq);
    let reference = bits(out);
    for pool in pools {
        pool.install(|| f(out, Par::Rayon(0)));
        let threads = pool.current_num_threads();
        assert!(
            bits(out) == reference,
            "{product}: {threads} threads changed the bits"
        );
    }
    let mut secs = vec![Vec::with_capacity(SAMPLES); pools.len()];
    for _ in 0..SAMPLES {
        for (pool, secs) in pools.iter().zip(&mut secs) {
            pool.install(|| {
                let start = Instant::now();
                f(out, Par::Rayon(0));
                secs.push(start.elapsed().as_secs_f64());
            });
        }
    }
    secs.into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[SAMPLES / 2]
        })
        .collect()
}

/// The bits of `y`, to compare thread counts.
fn bits(y: &[f32]) -> Vec<u32> {
    y.iter().map(|v| v.to_bits()).collect()
}

/// Copies of a matrix of `bytes` bytes enough to fill [`COLD_BYTES`].
fn cold_copies<T: Clone>(m: &T, bytes: usize) -> Vec<T> {
    vec![m.clone(); COLD_BYTES.div_ceil(bytes)]
}

fn main() {
    let backend = Backend::best();
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts: Vec<usize> = (0..).map(|p| 1 << p).take_while(|&t| t < all).collect();
    counts.push(all);
    let pools: Vec<rayon::ThreadPool> = counts
        .iter()
        .map(|&t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .expect("a thread pool")
        })
        .collect();
    println!(
        "thread scaling, {} tier, {all} threads available; medians of {SAMPLES}; x1 = against one thread",
        backend.isa().name()
    );

    // Dense bf16 GEMM, B packed once.
    let a = values(GEMM * GEMM, 1)
        .into_iter()
        .map(bf16::from_f32)
        .collect::<Vec<_>>();
    let b = values(GEMM * GEMM, 2)
        .into_iter()
        .map(bf16::from_f32)
        .collect::<Vec<_>>();
    let packed = backend.pack_b(MatRef::new(&b, GEMM, GEMM).expect("fits"));
    let mut c = vec![0f32; GEMM * GEMM];
    let secs = median_secs(&pools, "GEMM", &mut c, |c, par| {
        let am = MatRef::new(&a, GEMM, GEMM).expect("fits");
        let cm = MatMut::new(c, GEMM, GEMM).expect("fits");
        backend
            .gemm_packed(1.0, am, &packed, 0.0, cm, par)
            .expect("shapes match");
    });
    let flops = 2.0 * (GEMM as f64).powi(3);
    report("GEMM bf16 2048³, GFLOP/s", &counts, flops / 1e9, &secs);

    // Dense bf16 GEMV from DRAM.
    let w: Vec<bf16> = values(N * N, 3).into_iter().map(bf16::from_f32).collect();
    let x = values(N, 4);
    let mut y = vec![0f32; N];
    let w_bytes = N * N * 2;
    let copies = cold_copies(&w, w_bytes);
    let secs = median_secs(&pools, "GEMV", &mut y, |y, par| {
        for w in &copies {
            let wm = MatRef::new(w, N, N).expect("fits");
            backend
                .gemv(1.0, wm, black_box(&x), 0.0, y, par)
                .expect("shapes match");
        }
    });
    let gb = (w_bytes * copies.len()) as f64 / 1e9;
    report("GEMV bf16 4096², W from DRAM, GB/s", &counts, gb, &secs);
    drop(copies);

    // Sparse: W pruned per row.
    let dense: Vec<f32> = w.iter().map(|v| v.to_f32()).collect();
    for sparsity in SPARSITIES {
        let csr: Csr<bf16> = magnitude(
            MatRef::new(&dense, N, N).expect("fits"),
            sparsity,
            Scope::PerRow,
        )
        .expect("valid sparsity");
        let nnz = csr.view().nnz();
        let bytes = nnz * (2 + 4) + (N + 1) * 8;
        let copies = cold_copies(&csr, bytes);
        let secs = median_secs(&pools, "SpMV", &mut y, |y, par| {
            for m in &copies {
                backend
                    .spmv(1.0, m.view(), black_box(&x), 0.0, y, par)
                    .expect("shapes match");
            }
        });
        let percent = (sparsity * 1000.0).round() / 10.0;
        let label = format!("SpMV {percent} % ({nnz} nnz), from DRAM, GB/s");
        let gb = (bytes * copies.len()) as f64 / 1e9;
        report(&label, &counts, gb, &secs);
        drop(copies);
        let packed = PackedCsr::pack(csr.view());
        let copies = cold_copies(&packed, packed.size_bytes());
        let secs = median_secs(&pools, "packed SpMV", &mut y, |y, par| {
            for m in &copies {
                backend
                    .spmv_packed(1.0, m, black_box(&x), 0.0, y, par)
                    .expect("shapes match");
            }
        });
        let label = format!("PackedCsr SpMV {percent} %, CSR's GB/s");
        let gb = (bytes * copies.len()) as f64 / 1e9;
        report(&label, &counts, gb, &secs);
        if sparsity == 0.9 {
            let n = 32;
            let b = values(N * n, 5);
            let mut out = vec![0f32; N * n];
            let secs = median_secs(&pools, "SpMM", &mut out, |out, par| {
                let bm = MatRef::new(&b, N, n).expect("fits");
                let om = MatMut::new(out, N, n).expect("fits");
                backend
                    .spmm(1.0, csr.view(), bm, 0.0, om, par)
                    .expect("shapes match");
            });
            let gflop = 2.0 * nnz as f64 * n as f64 / 1e9;
            report("SpMM 90 %, n = 32, GFLOP/s", &counts, gflop, &secs);
            // The linear-layer layout: Y = X Wᵀ with X's n rows.
            let xt = values(n * N, 6);
            let secs = median_secs(&pools, "spmm_xt", &mut out, |out, par| {
                let xm = MatRef::new(&xt, n, N).expect("fits");
                let om = MatMut::new(out, n, N).expect("fits");
                backend
                    .spmm_xt(1.0, xm, csr.view(), 0.0, om, par)
                    .expect("shapes match");
            });
            report("spmm_xt 90 %, n = 32, GFLOP/s", &counts, gflop, &secs);
        }
    }
    println!("every thread count gave the same bits as one thread");
}

/// One line: the rate (`amount` per second) at each thread count, and its ratio to one
/// thread's.
fn report(label: &str, counts: &[usize], amount: f64, secs: &[f64]) {
    let mut line = format!("{label:<44}");
    for (&t, &s) in counts.iter().zip(secs) {
        line += &format!(" | {t:>2}: {:7.1} x{:.2}", amount / s, secs[0] / s);
    }
    println!("{line}");
}
