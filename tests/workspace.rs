//! The workspace queries tell the truth: after one call on a thread whose workspace was
//! released, the thread holds exactly the bytes `Backend::*_workspace_bytes` gave for that
//! call's shape, on every backend; and releasing frees it.

mod common;

use common::{backends, gemm_backends};
use half::bf16;
use lowp::fmac::{release_thread_workspace, thread_workspace_bytes, MatMut, MatRef, Par};

/// The bytes this thread holds after `f` runs on a released workspace.
fn held_after(f: impl FnOnce()) -> usize {
    release_thread_workspace();
    assert_eq!(thread_workspace_bytes(), 0, "release frees the workspace");
    f();
    thread_workspace_bytes()
}

#[test]
fn gemm_holds_what_gemm_workspace_bytes_says() {
    // Empty shapes, one tile, tails of every tile, more rows than a row block (72) and more
    // columns than a column block (512).
    let shapes = [
        (0, 5, 7),
        (5, 0, 7),
        (5, 7, 0),
        (1, 1, 1),
        (13, 33, 9),
        (50, 70, 90),
        (150, 600, 300),
    ];
    for be in gemm_backends() {
        for (m, n, k) in shapes {
            let a: Vec<bf16> = (0..m * k).map(|i| bf16::from_f32((i % 5) as f32)).collect();
            let b: Vec<bf16> = (0..k * n).map(|i| bf16::from_f32((i % 3) as f32)).collect();
            let mut c = vec![0f32; m * n];
            let held = held_after(|| {
                let (am, bm, cm) = (
                    MatRef::new(&a, m, k).unwrap(),
                    MatRef::new(&b, k, n).unwrap(),
                    MatMut::new(&mut c, m, n).unwrap(),
                );
                be.gemm(1.0, am, bm, 0.5, cm, Par::Seq).unwrap();
            });
            let said = be.gemm_workspace_bytes(m, n, k);
            assert_eq!(held, said, "{be:?} m = {m}, n = {n}, k = {k}");
            if m * n * k > 0 {
                assert!(said >= m.min(72) * k * 4, "{be:?}: at least packed A");
            }
        }
    }
}

#[test]
fn sparse_products_hold_what_their_queries_say() {
    let (rows, cols) = (60, 200);
    let a = common::strided_csr(rows, cols);
    // A batch under one panel of 64 rows of X, and one over it.
    for n in [33, 100] {
        let b = vec![1.5f32; cols * n];
        let mut c = vec![0f32; rows * n];
        for be in backends() {
            for beta in [0.0, 0.5] {
                let held = held_after(|| {
                    let (bm, cm) = (
                        MatRef::new(&b, cols, n).unwrap(),
                        MatMut::new(&mut c, rows, n).unwrap(),
                    );
                    be.spmm(2.0, a.view(), bm, beta, cm, Par::Seq).unwrap();
                });
                let said = be.spmm_workspace_bytes(rows, n, beta);
                assert_eq!(held, said, "{be:?} spmm n = {n}, beta = {beta}");
            }
            let held = held_after(|| {
                let (xm, ym) = (
                    MatRef::new(&b, n, cols).unwrap(),
                    MatMut::new(&mut c, n, rows).unwrap(),
                );
                be.spmm_xt(2.0, xm, a.view(), 0.0, ym, Par::Seq).unwrap();
            });
            let said = be.spmm_xt_workspace_bytes(rows, cols, n);
            assert_eq!(held, said, "{be:?} spmm_xt n = {n}");
            // Whole 64-byte lines (the workspace starts each call's floats on a line).
            assert_eq!(said, (cols * n.min(64) * 4).next_multiple_of(64));
        }
    }
}
