//! A pruned linear layer: a 4096 × 4096 bf16 weight matrix magnitude-pruned to 90 % per row,
//! applied to a batch of 32 activation rows (`Y = X·Wᵀ`, the layout inference engines hold
//! activations in) with `spmm_xt`, against the dense bf16 GEMM of the unpruned weights. Prints
//! both times (medians of 5) and checks that the sparse product is exactly `spmm` of `Xᵀ`.
//!
//! `cargo run --release --example sparse_linear`

use std::time::{Duration, Instant};

use half::bf16;
use lowp::fmac::{MatMut, MatRef, Par};
use lowp::sparse::prune::{magnitude, Scope};
use lowp::sparse::Csr;
use lowp::Backend;

const OUT: usize = 4096;
const IN: usize = 4096;
const BATCH: usize = 32;

/// The median of five runs of `f`.
fn median_time(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[2]
}

fn main() -> Result<(), lowp::Error> {
    let backend = Backend::best();
    // Deterministic weights in [-1, 1) and activations in [0, 1).
    let w: Vec<bf16> = (0..OUT * IN)
        .map(|i| bf16::from_f32(((i * 2_654_435_761) % 65_536) as f32 / 32_768.0 - 1.0))
        .collect();
    let x: Vec<f32> = (0..BATCH * IN).map(|i| (i % 97) as f32 / 97.0).collect();
    let pruned: Csr<bf16> = magnitude(MatRef::new(&w, OUT, IN)?, 0.9, Scope::PerRow)?;
    println!(
        "W {OUT} x {IN} bf16 pruned to {} nonzeros ({:.0} % sparse); X {BATCH} x {IN}; {} tier",
        pruned.nnz(),
        100.0 * (1.0 - pruned.nnz() as f64 / (OUT * IN) as f64),
        backend.isa().name()
    );

    let mut y = vec![0.0f32; BATCH * OUT];
    let sparse = median_time(|| {
        let y = MatMut::new(&mut y, BATCH, OUT).expect("shape");
        let x = MatRef::new(&x, BATCH, IN).expect("shape");
        backend
            .spmm_xt(1.0, x, pruned.view(), 0.0, y, Par::Seq)
            .expect("shapes match");
    });

    // The same bits as `spmm` with B = Xᵀ, the kernels' own layout.
    let xt: Vec<f32> = (0..IN * BATCH)
        .map(|i| x[(i % BATCH) * IN + i / BATCH])
        .collect();
    let mut c = vec![0.0f32; OUT * BATCH];
    backend.spmm(
        1.0,
        pruned.view(),
        MatRef::new(&xt, IN, BATCH)?,
        0.0,
        MatMut::new(&mut c, OUT, BATCH)?,
        Par::Seq,
    )?;
    let same =
        (0..OUT * BATCH).all(|i| c[i].to_bits() == y[(i % BATCH) * OUT + i / BATCH].to_bits());
    assert!(same, "spmm_xt must give spmm's bits");

    // The dense layer: W packed once (as an engine would), then Y = X·Wᵀ.
    let packed = backend.pack_b(MatRef::new(&w, OUT, IN)?.t());
    let mut y_dense = vec![0.0f32; BATCH * OUT];
    let dense = median_time(|| {
        let y = MatMut::new(&mut y_dense, BATCH, OUT).expect("shape");
        let x = MatRef::new(&x, BATCH, IN).expect("shape");
        backend
            .gemm_packed(1.0, x, &packed, 0.0, y, Par::Seq)
            .expect("shapes match");
    });
    println!(
        "one thread: sparse {:.2} ms, dense {:.2} ms ({:.2}x); sparse = spmm of Xᵀ bit for bit: {same}",
        sparse.as_secs_f64() * 1e3,
        dense.as_secs_f64() * 1e3,
        dense.as_secs_f64() / sparse.as_secs_f64()
    );
    Ok(())
}
