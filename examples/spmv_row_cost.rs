//! What a CSR SpMV row costs on this machine, split into a cost per row and a cost per
//! nonzero: 4096 rows of L nonzeros each (columns drawn at random, sorted; bf16 values) times
//! a cache-resident x of 4096 f32, one thread, on the best tier here, for L from 8 to 63 (the
//! rows the AVX-512 tiers give the `Avx2` dot) and a few longer ones. Beside it, a loop that
//! only sums x at the same indices (eight scalar chains, no values, no multiplies, no rows):
//! the loads of an index and of x through it, which every nonzero needs whatever the kernel.
//! A least-squares line through L = 8..=63 gives each one's cost per nonzero (its slope) and
//! per row (its intercept).
//!
//! `cargo run --release --example spmv_row_cost`

use std::hint::black_box;
use std::time::Instant;

use half::bf16;
use lowp::fmac::Par;
use lowp::sparse::Csr;
use lowp::Backend;

#[path = "../src/bin/lowp/gather_sum.rs"]
mod gather_sum;
use gather_sum::gather_sum;

const N: usize = 4096;
const SAMPLES: usize = 15;
const CALLS: usize = 200;

/// Median seconds of one call of `run`, over `SAMPLES` timings of `CALLS` calls.
fn median(mut run: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..CALLS {
                run();
            }
            start.elapsed().as_secs_f64() / CALLS as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[SAMPLES / 2]
}

/// 4096 rows of `len` distinct random columns each, sorted, from xorshift state `state`.
fn matrix(len: usize, state: &mut u64) -> Csr<bf16> {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    let (mut indptr, mut indices) = (vec![0], Vec::with_capacity(N * len));
    for _ in 0..N {
        let start = indices.len();
        while indices.len() - start < len {
            let c = (next() % N as u64) as u32;
            if !indices[start..].contains(&c) {
                indices.push(c);
            }
        }
        indices[start..].sort_unstable();
        indptr.push(indices.len());
    }
    let values = (0..indices.len())
        .map(|i| bf16::from_f32((i % 7) as f32 * 0.1 - 0.3))
        .collect();
    Csr::try_new(N, N, indptr, indices, values).expect("valid by construction")
}

/// Slope and intercept of the least-squares line through `points`.
fn fit(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let sxy: f64 = points.iter().map(|&(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = points.iter().map(|&(x, _)| (x - mx) * (x - mx)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}

fn main() {
    let backend = Backend::active();
    println!(
        "CSR SpMV, {N} rows of L random nonzeros, bf16 values, x of {N} f32 in cache, one thread, {} tier",
        backend.isa().name()
    );
    println!("ns per row: SpMV, and the loop that only sums x at the indices (gather)");
    println!(
        "{:>4} {:>9} {:>9} {:>11}",
        "L", "SpMV", "gather", "SpMV/nnz"
    );
    let x: Vec<f32> = (0..N).map(|j| (j % 17) as f32 * 0.01).collect();
    let mut y = vec![0f32; N];
    let mut state = 0x2545_f491_4f6c_dd1d;
    let (mut spmv_points, mut gather_points) = (Vec::new(), Vec::new());
    for len in [8, 16, 24, 32, 40, 41, 48, 56, 63, 64, 128, 410] {
        let a = matrix(len, &mut state);
        let view = a.view();
        let spmv = median(|| {
            backend
                .spmv(1.0, view, black_box(&x), 0.0, &mut y, Par::Seq)
                .expect("shapes match")
        }) * 1e9
            / N as f64;
        let gather = median(|| {
            black_box(gather_sum(black_box(view.indices()), &x));
        }) * 1e9
            / N as f64;
        println!(
            "{len:>4} {spmv:>9.2} {gather:>9.2} {:>11.3}",
            spmv / len as f64
        );
        if len < 64 {
            spmv_points.push((len as f64, spmv));
            gather_points.push((len as f64, gather));
        }
    }
    let (spmv_slope, spmv_row) = fit(&spmv_points);
    let (gather_slope, gather_row) = fit(&gather_points);
    println!(
        "fit over L = 8..=63: SpMV {spmv_slope:.3} ns per nonzero + {spmv_row:.2} ns per row;"
    );
    println!(
        "                     gather {gather_slope:.3} ns per nonzero + {gather_row:.2} ns per row"
    );
}
