//! `lowp bench` sparse section: a 4096x4096 bf16 weight matrix magnitude-pruned per row, SpMV
//! against a plain read of its bytes (with the matrix cache-resident, and cycled through
//! copies filling 256 MiB so it comes from DRAM as a model's layers do), `sprs` (f32) and
//! lowp's dense bf16 GEMV, and SpMM (n = 32, 128) against lowp's dense bf16 GEMM on the same
//! shapes; each pair sampled alternately in the same run.

use std::hint::black_box;
use std::time::Duration;

use half::bf16;
use lowp::fmac::{MatMut, MatRef, PackedB, Par};
use lowp::sparse::prune::{magnitude, Scope};
use lowp::sparse::{Csr, PackedCsr, PackedLayout};
use lowp::Backend;

use crate::bench::paired_medians;
use crate::gather_sum::gather_sum;
use crate::gemv_bench::read_all;

const N: usize = 4096;
const SPARSITIES: [f64; 5] = [0.5, 0.7, 0.9, 0.95, 0.99];
/// Bytes of matrix copies cycled through for the DRAM SpMV column: far past any last-level
/// cache this runs on.
const COLD_BYTES: usize = 256 << 20;

pub fn run(quick: bool) {
    let backend = Backend::active();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (min_sample, samples) = if quick {
        (Duration::from_millis(5), 3)
    } else {
        (Duration::from_millis(30), 9)
    };
    println!("\n== Sparse: W {N}x{N} bf16 magnitude-pruned per row, {} tier; one thread unless marked ==", backend.isa().name());
    println!("SpMV GB/s = (values + indices + indptr bytes) / s; x read = against a plain read of as many bytes;");
    println!("DRAM = the same, cycling through copies of W that fill {} MiB (x read against reading them all);", COLD_BYTES >> 20);
    println!("x gather = time to only sum x at W's indices (8 scalar chains, no values: the loads of x alone) / SpMV time;");
    println!("x sprs = sprs f32 SpMV time / lowp time; x dense = lowp dense bf16 GEMV (or GEMM) time / sparse time (> 1: sparse wins)");
    println!("SpMM C = W B with B [{N} x n] f32; GFLOP/s counts 2 nnz n; dense = Y = X Wᵀ with Wᵀ packed once;");
    println!("xt = the sparse product in that layout (spmm_xt, X [n x {N}] as rows): GFLOP/s (one thread) and x dense");
    println!(
        "{:>8} {:>9} {:>9} {:>7} {:>8} {:>9} {:>7} {:>7} {:>8} {:>12} | {:>4} {:>8} {:>8} {:>12} {:>7} {:>8} {:>13}",
        "sparsity",
        "nnz",
        "SpMV GB/s",
        "x read",
        "x gather",
        "DRAM GB/s",
        "x read",
        "x sprs",
        "x dense",
        format!("x dense {threads}thr"),
        "n",
        "GFLOP/s",
        "x dense",
        format!("x dense {threads}thr"),
        "xt GF/s",
        "xt dense",
        format!("xt dense {threads}thr")
    );
    let w: Vec<bf16> = (0..N * N)
        .map(|i| bf16::from_f32(crate::sparse_weights::weight(i as u64)))
        .collect();
    let wm = MatRef::new(&w, N, N).expect("shape fits");
    let x: Vec<f32> = (0..N).map(|j| (j % 17) as f32 * 0.01).collect();
    let mut y = vec![0f32; N];
    let packed: PackedB = backend.pack_b(wm.t());
    let sparsities: &[f64] = if quick {
        &SPARSITIES[2..3]
    } else {
        &SPARSITIES
    };
    // SpMV on the same matrices packed (`PackedCsr`), printed after the main table.
    let mut packed_rows = Vec::new();
    for &s in sparsities {
        let a: Csr<bf16> = magnitude(wm, s, Scope::PerRow).expect("valid target");
        let v = a.view();
        let bytes = v.nnz() * (2 + 4) + (N + 1) * 8;
        let words: Vec<u64> = (0..bytes.div_ceil(8) as u64).collect();
        let a32: Csr<f32> = Csr::try_new(
            N,
            N,
            v.indptr().to_vec(),
            v.indices().to_vec(),
            v.values().iter().map(|b| b.to_f32()).collect(),
        )
        .expect("valid");
        let sprs_a = a32.to_sprs();
        let spmv = |y: &mut [f32], par| {
            backend
                .spmv(1.0, v, black_box(&x), 0.0, y, par)
                .expect("shapes match")
        };
        let (read, t_spmv) = paired_medians(
            |base| {
                if base {
                    black_box(read_all(black_box(&words)));
                } else {
                    spmv(&mut y, Par::Seq)
                }
            },
            min_sample,
            samples,
        );
        let (t_gather, t_spmv3) = paired_medians(
            |base| {
                if base {
                    black_box(gather_sum(black_box(v.indices()), &x));
                } else {
                    spmv(&mut y, Par::Seq)
                }
            },
            min_sample,
            samples,
        );
        let (cold_read, t_cold) = cold(&a, bytes, samples, |m| {
            backend
                .spmv(1.0, m.view(), black_box(&x), 0.0, &mut y, Par::Seq)
                .expect("shapes match");
        });
        let (t_sprs, t_spmv2) = paired_medians(
            |base| {
                if base {
                    y.fill(0.0);
                    sprs::prod::mul_acc_mat_vec_csr(sprs_a.view(), &x[..], &mut y[..]);
                } else {
                    spmv(&mut y, Par::Seq)
                }
            },
            min_sample,
            samples,
        );
        let dense_gemv = |y: &mut [f32], par| {
            backend
                .gemv(1.0, wm, black_box(&x), 0.0, y, par)
                .expect("shapes match")
        };
        let mut ratio = |par| {
            let (dense, sparse) = paired_medians(
                |base| {
                    if base {
                        dense_gemv(&mut y, par)
                    } else {
                        spmv(&mut y, par)
                    }
                },
                min_sample,
                samples,
            );
            dense / sparse
        };
        let (g1, gt) = (ratio(Par::Seq), ratio(Par::Rayon(0)));
        let picked = PackedCsr::pack(v);
        for layout in [
            PackedLayout::Gather,
            PackedLayout::Windowed,
            PackedLayout::Hybrid,
        ] {
            let packed = PackedCsr::pack_with(v, layout);
            let mark = if packed == picked { "*" } else { "" };
            let spmv_packed = |y: &mut [f32], par| {
                backend
                    .spmv_packed(1.0, &packed, black_box(&x), 0.0, y, par)
                    .expect("shapes match")
            };
            // (base time / packed time, packed time), `base` and the product both on `par`.
            let mut against = |base: &mut dyn FnMut(&mut [f32]), par| {
                let (t_base, t_packed) = paired_medians(
                    |is_base| {
                        if is_base {
                            base(&mut y)
                        } else {
                            spmv_packed(&mut y, par)
                        }
                    },
                    min_sample,
                    samples,
                );
                (t_base / t_packed, t_packed)
            };
            let (x_csr, t_packed) = against(&mut |y| spmv(y, Par::Seq), Par::Seq);
            let sprs_spmv = &mut |y: &mut [f32]| {
                y.fill(0.0);
                sprs::prod::mul_acc_mat_vec_csr(sprs_a.view(), &x[..], y);
            };
            let (x_sprs, _) = against(sprs_spmv, Par::Seq);
            let (x_dense, _) = against(&mut |y| dense_gemv(y, Par::Seq), Par::Seq);
            let (x_dense_all, _) = against(&mut |y| dense_gemv(y, Par::Rayon(0)), Par::Rayon(0));
            let own_words: Vec<u64> = (0..packed.size_bytes().div_ceil(8) as u64).collect();
            let (x_read, _) = against(
                &mut |_| {
                    black_box(read_all(black_box(&own_words)));
                },
                Par::Seq,
            );
            let (cold_read, t_cold) = cold(&packed, packed.size_bytes(), samples, |m| {
                backend
                    .spmv_packed(1.0, m, black_box(&x), 0.0, &mut y, Par::Seq)
                    .expect("shapes match");
            });
            packed_rows.push(format!(
                "{:>7.0}% {:>9} {:>9} {:>8.3} {:>9.1} {:>7.2} {:>7.1} {:>8.2} {:>12.2} {:>9.1} {:>7.2} {:>9.1} {:>7.2}",
                s * 100.0,
                format!("{layout:?}{mark}"),
                packed.padded_len(),
                packed.padded_len() as f64 / v.nnz().max(1) as f64,
                bytes as f64 / t_packed / 1e9,
                x_csr,
                x_sprs,
                x_dense,
                x_dense_all,
                packed.size_bytes() as f64 / t_packed / 1e9,
                x_read,
                bytes as f64 / t_cold / 1e9,
                cold_read / t_cold,
            ));
        }
        print!(
            "{:>7.0}% {:>9} {:>9.1} {:>7.2} {:>8.2} {:>9.1} {:>7.2} {:>7.1} {:>8.2} {:>12.2}",
            s * 100.0,
            v.nnz(),
            bytes as f64 / t_spmv / 1e9,
            read / t_spmv,
            t_gather / t_spmv3,
            bytes as f64 / t_cold / 1e9,
            cold_read / t_cold,
            t_sprs / t_spmv2,
            g1,
            gt
        );
        for (i, n) in [32usize, 128].into_iter().enumerate() {
            if quick && n > 32 {
                break;
            }
            let b: Vec<f32> = (0..N * n).map(|i| (i % 13) as f32 * 0.05).collect();
            let bt: Vec<f32> = (0..n * N).map(|i| b[(i % N) * n + i / N]).collect(); // X = Bᵀ
            let mut c = vec![0f32; N * n];
            // `xt`: the sparse product in the dense one's layout, Y = X Wᵀ (`spmm_xt`).
            let run = |base: bool, xt: bool, par: Par, c: &mut [f32]| {
                if base {
                    let xm = MatRef::new(&bt, n, N).expect("fits");
                    backend
                        .gemm_packed(
                            1.0,
                            xm,
                            &packed,
                            0.0,
                            MatMut::new(c, n, N).expect("fits"),
                            par,
                        )
                        .expect("shapes");
                } else if xt {
                    let xm = MatRef::new(&bt, n, N).expect("fits");
                    backend
                        .spmm_xt(1.0, xm, v, 0.0, MatMut::new(c, n, N).expect("fits"), par)
                        .expect("shapes");
                } else {
                    let bm = MatRef::new(&b, N, n).expect("fits");
                    backend
                        .spmm(1.0, v, bm, 0.0, MatMut::new(c, N, n).expect("fits"), par)
                        .expect("shapes");
                }
            };
            // (dense, sparse) medians: SpMM, then spmm_xt; one thread, then all.
            let mut medians = [(0.0, 0.0); 4];
            let cases = [
                (false, Par::Seq),
                (false, Par::Rayon(0)),
                (true, Par::Seq),
                (true, Par::Rayon(0)),
            ];
            for (m, (xt, par)) in medians.iter_mut().zip(cases) {
                *m = paired_medians(|base| run(base, xt, par, &mut c), min_sample, samples);
            }
            let [(dense1, sparse1), (dense_t, sparse_t), (dense_xt, sparse_xt), (dense_xtt, sparse_xtt)] =
                medians;
            let flops = 2.0 * v.nnz() as f64 * n as f64;
            if i > 0 {
                print!("\n{:>103} |", "");
            } else {
                print!(" |");
            }
            print!(
                " {n:>4} {:>8.1} {:>8.2} {:>12.2} {:>7.1} {:>8.2} {:>13.2}",
                flops / sparse1 / 1e9,
                dense1 / sparse1,
                dense_t / sparse_t,
                flops / sparse_xt / 1e9,
                dense_xt / sparse_xt,
                dense_xtt / sparse_xtt
            );
        }
        println!();
    }
    println!("SpMV on PackedCsr (16-row chunks, a lane per row) in each layout, * = what PackedCsr::pack gives here;");
    println!("one thread; GB/s of the CSR's bytes as above; x CSR, x sprs, x dense = lowp's CSR SpMV, sprs f32, lowp's dense");
    println!("bf16 GEMV time / packed time (each paired in this run; x dense > 1: packed sparse beats dense);");
    println!(
        "own GB/s = PackedCsr::size_bytes / s, x read = against a plain read of as many bytes;"
    );
    println!("DRAM GB/s (the CSR's bytes) and x read (its own) as above, cycling through copies of the packed matrix");
    println!(
        "{:>8} {:>9} {:>9} {:>8} {:>9} {:>7} {:>7} {:>8} {:>12} {:>9} {:>7} {:>9} {:>7}",
        "sparsity",
        "layout",
        "padded",
        "/ nnz",
        "GB/s",
        "x CSR",
        "x sprs",
        "x dense",
        format!("x dense {threads}thr"),
        "own GB/s",
        "x read",
        "DRAM GB/s",
        "x read"
    );
    for row in packed_rows {
        println!("{row}");
    }
}

/// Median seconds per plain read of `bytes` and per `run` on a matrix holding them, when
/// every call meets a different copy of the matrix, cycling through [`COLD_BYTES`] of copies,
/// so the matrix streams from DRAM; each sample is one sweep through all copies.
fn cold<M: Clone>(one: &M, bytes: usize, samples: usize, mut run: impl FnMut(&M)) -> (f64, f64) {
    let copies = COLD_BYTES.div_ceil(bytes.max(1)).max(2);
    let owned: Vec<M> = (0..copies).map(|_| one.clone()).collect();
    let words: Vec<u64> = (0..(bytes * copies).div_ceil(8) as u64).collect();
    let (read, product) = paired_medians(
        |base| {
            if base {
                for chunk in words.chunks(bytes.div_ceil(8).max(1)) {
                    black_box(read_all(black_box(chunk)));
                }
            } else {
                owned.iter().for_each(&mut run);
            }
        },
        Duration::ZERO,
        samples,
    );
    (read / copies as f64, product / copies as f64)
}
