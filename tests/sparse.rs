//! Sparse matrices: every malformed structure rejected with the right error (buffers given
//! back), edge shapes, CSR/CSC conversion and sprs round trips, pruning properties, and the
//! products on every backend against densify-and-multiply (SpMV within the bound; SpMM the
//! same bits on every backend and thread count, in both layouts).

mod common;

use common::{backends, lengths, Rng};
use half::{bf16, f16};
use lowp::fmac::{Input, MatMut, MatRef, Output, Par};
use lowp::reference::fmac::{dot_error_bound, Widen};
use lowp::sparse::prune::{magnitude, n_of_m, Scope};
use lowp::sparse::{Csc, Csr, CsrRef, Rejected};
use lowp::{Backend, Error};
use proptest::prelude::*;

fn reason<T>(r: Result<Csr<T>, Rejected<T>>) -> (&'static str, usize) {
    match r.map(|_| ()).unwrap_err().error {
        Error::InvalidSparse { reason, at } => (reason, at),
        other => panic!("expected InvalidSparse, got {other:?}"),
    }
}

#[test]
fn every_malformed_structure_is_rejected_and_the_buffers_come_back() {
    let v = |n: usize| vec![1.0f32; n];
    /// rows, cols, indptr, indices, number of values, expected reason and position.
    type Case = (
        usize,
        usize,
        Vec<usize>,
        Vec<u32>,
        usize,
        &'static str,
        usize,
    );
    let cases: [Case; 9] = [
        (
            2,
            3,
            vec![0, 1],
            vec![0],
            1,
            "indptr length is not major + 1",
            2,
        ),
        (
            2,
            3,
            vec![1, 1, 2],
            vec![0, 1],
            2,
            "indptr does not start at 0",
            0,
        ),
        (2, 3, vec![0, 2, 1], vec![0, 1], 2, "indptr decreases", 2),
        (
            2,
            3,
            vec![0, 1, 3],
            vec![0, 1],
            2,
            "indptr's last entry is not the number of indices",
            2,
        ),
        (
            2,
            3,
            vec![0, 1, 2],
            vec![0, 1],
            3,
            "values and indices differ in length",
            2,
        ),
        (2, 3, vec![0, 1, 2], vec![0, 3], 2, "index out of range", 1),
        (
            2,
            3,
            vec![0, 2, 2],
            vec![1, 1],
            2,
            "indices not strictly increasing within a slice",
            1,
        ),
        (
            2,
            3,
            vec![0, 2, 3],
            vec![2, 0, 1],
            3,
            "indices not strictly increasing within a slice",
            1,
        ),
        (0, 3, vec![], vec![], 0, "indptr length is not major + 1", 0),
    ];
    for (rows, cols, indptr, indices, nv, want, at) in cases {
        let r = Csr::try_new(rows, cols, indptr.clone(), indices.clone(), v(nv));
        let rejected = r.as_ref().map(|_| ()).unwrap_err().clone();
        assert_eq!(
            (rejected.indptr, rejected.indices, rejected.values.len()),
            (indptr.clone(), indices.clone(), nv)
        );
        assert_eq!(reason(r), (want, at), "{indptr:?} {indices:?}");
        // Borrowed views check the same things.
        assert!(CsrRef::try_new(rows, cols, &indptr, &indices, &v(nv)).is_err());
    }
    // Sorted across slices but not within: row 1 restarts at 0, which is fine.
    assert!(Csr::try_new(2, 3, vec![0, 2, 4], vec![0, 2, 0, 1], v(4)).is_ok());
    // A CSC structure is checked against the row count.
    assert!(Csc::try_new(2, 3, vec![0, 1, 1, 2], vec![1, 2], v(2)).is_err());
    assert!(Csc::try_new(2, 3, vec![0, 1, 1, 2], vec![1, 0], v(2)).is_ok());
    // Too wide for u32 indices.
    let wide = Csr::try_new(1, 1 << 33, vec![0, 0], vec![], Vec::<f32>::new());
    assert!(matches!(
        wide.map(|_| ()).unwrap_err().error,
        Error::Shape { .. }
    ));
}

#[test]
fn edge_shapes_convert_and_densify() {
    let empty_rows = Csr::try_new(3, 0, vec![0; 4], vec![], Vec::<f32>::new()).unwrap();
    assert_eq!(empty_rows.view().to_dense(), Vec::<f32>::new());
    let no_rows = Csr::try_new(0, 5, vec![0], vec![], Vec::<f32>::new()).unwrap();
    assert_eq!(no_rows.to_csc().view().indptr(), &[0; 6]);
    let zero = Csr::try_new(2, 2, vec![0, 0, 0], vec![], Vec::<bf16>::new()).unwrap();
    assert_eq!(zero.view().to_dense(), vec![0.0; 4]);
    let dense: Vec<f32> = (1..=6).map(|v| v as f32).collect();
    let full = Csr::try_new(2, 3, vec![0, 3, 6], vec![0, 1, 2, 0, 1, 2], dense.clone()).unwrap();
    assert_eq!(full.view().to_dense(), dense);
    let csc = full.to_csc();
    assert_eq!(csc.view().indptr(), &[0, 2, 4, 6]);
    assert_eq!(csc.view().values(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    assert_eq!(csc.view().to_dense(), dense);
    assert_eq!(csc.to_csr(), full);
    let t = full.clone().transpose(); // 3 x 2 CSC with the same arrays
    assert_eq!((t.rows(), t.cols()), (3, 2));
    assert_eq!(t.view().to_dense(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
}

fn random_csr<T: Input + Output>(rng: &mut Rng, rows: usize, cols: usize, density: u32) -> Csr<T> {
    let mut indptr = vec![0];
    let (mut indices, mut values) = (Vec::new(), Vec::new());
    for _ in 0..rows {
        for j in 0..cols {
            if rng.next_u32() % 100 < density {
                indices.push(j as u32);
                let v = (rng.next_u32() % 2001) as f32 / 1000.0 - 1.0;
                values.push(T::from_f32(v * 4.0));
            }
        }
        indptr.push(indices.len());
    }
    Csr::try_new(rows, cols, indptr, indices, values).unwrap()
}

#[cfg(feature = "sprs")]
#[test]
fn sprs_round_trips_in_both_orientations() {
    let mut rng = Rng::new(61);
    let a = random_csr::<f32>(&mut rng, 17, 23, 30);
    let s = a.to_sprs();
    assert!(s.is_csr());
    assert_eq!(Csr::from_sprs(s.view()).unwrap(), a);
    let c = a.to_csc();
    let sc = c.to_sprs();
    assert!(!sc.is_csr());
    assert_eq!(Csc::from_sprs(sc.view()).unwrap(), c);
    assert_eq!(Csr::from_sprs(sc.view()).unwrap(), a); // CSC in, CSR out
    assert_eq!(Csc::from_sprs(s.view()).unwrap(), c);
    let b = random_csr::<bf16>(&mut rng, 5, 40, 50);
    assert_eq!(Csr::from_sprs(b.to_sprs().view()).unwrap(), b);
}

fn magnitudes(w: &[f32]) -> Vec<u32> {
    w.iter().map(|v| v.to_bits() & 0x7fff_ffff).collect()
}

#[test]
fn magnitude_pruning_keeps_exactly_the_largest_with_ties_to_the_lower_index() {
    let mut rng = Rng::new(62);
    let (rows, cols) = (13, 37);
    // Few distinct values: many ties.
    let w: Vec<f32> = (0..rows * cols)
        .map(|_| (rng.next_u32() % 9) as f32 - 4.0)
        .collect();
    let m = MatRef::new(&w, rows, cols).unwrap();
    for sparsity in [0.0, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99, 1.0] {
        let drop_row = (sparsity * cols as f64).round() as usize;
        let csr = magnitude::<f32, f32>(m, sparsity, Scope::PerRow).unwrap();
        let v = csr.view();
        for i in 0..rows {
            let (idx, _) = v.slice(i);
            assert_eq!(idx.len(), cols - drop_row, "row {i} at {sparsity}");
            let row = magnitudes(&w[i * cols..][..cols]);
            let kept: Vec<usize> = idx.iter().map(|&j| j as usize).collect();
            for j in 0..cols {
                for &q in &kept {
                    if !kept.contains(&j) {
                        // Every dropped element ranks below every kept one.
                        assert!(
                            row[j] < row[q] || (row[j] == row[q] && j > q),
                            "row {i}: {j} vs {q}"
                        );
                    }
                }
            }
        }
        let global = magnitude::<f32, bf16>(m, sparsity, Scope::Global).unwrap();
        let total = rows * cols;
        assert_eq!(
            global.nnz(),
            total - (sparsity * total as f64).round() as usize
        );
        let all = magnitudes(&w);
        let gv = global.view();
        let mut kept = vec![false; total];
        for i in 0..rows {
            for &j in gv.slice(i).0 {
                kept[i * cols + j as usize] = true;
            }
        }
        let weakest_kept = (0..total)
            .filter(|&p| kept[p])
            .map(|p| (all[p], std::cmp::Reverse(p)))
            .min();
        let strongest_dropped = (0..total)
            .filter(|&p| !kept[p])
            .map(|p| (all[p], std::cmp::Reverse(p)))
            .max();
        if let (Some(k), Some(d)) = (weakest_kept, strongest_dropped) {
            assert!(d < k, "global at {sparsity}");
        }
    }
    // Deterministic, NaN kept, bad targets refused.
    let mut nan = vec![1.0f32; 8];
    nan[5] = f32::NAN;
    let p = magnitude::<f32, f32>(MatRef::new(&nan, 1, 8).unwrap(), 0.875, Scope::PerRow).unwrap();
    assert_eq!(p.view().indices(), &[5]);
    for bad in [-0.1, 1.5, f64::NAN] {
        assert!(matches!(
            magnitude::<f32, f32>(m, bad, Scope::Global),
            Err(Error::Parameter { .. })
        ));
    }
    assert_eq!(
        magnitude::<f32, f16>(m, 0.5, Scope::Global).unwrap(),
        magnitude::<f32, f16>(m, 0.5, Scope::Global).unwrap()
    );
}

#[test]
fn n_of_m_pruning_keeps_n_per_group() {
    let mut rng = Rng::new(63);
    let (rows, cols) = (9, 48);
    let w: Vec<bf16> = (0..rows * cols)
        .map(|_| bf16::from_f32((rng.next_u32() % 7) as f32 - 3.0))
        .collect();
    let m = MatRef::new(&w, rows, cols).unwrap();
    for (n, g) in [(2, 4), (1, 4), (4, 8), (3, 3)] {
        let csr = n_of_m::<bf16, bf16>(m, n, g).unwrap();
        let v = csr.view();
        for i in 0..rows {
            let (idx, vals) = v.slice(i);
            for group in 0..cols / g {
                let kept: Vec<usize> = idx
                    .iter()
                    .map(|&j| j as usize)
                    .filter(|j| j / g == group)
                    .collect();
                assert_eq!(kept.len(), n);
                let mag = |j: usize| w[i * cols + j].to_f32().abs();
                for j in group * g..(group + 1) * g {
                    if !kept.contains(&j) {
                        assert!(kept
                            .iter()
                            .all(|&q| mag(j) < mag(q) || (mag(j) == mag(q) && j > q)));
                    }
                }
            }
            for (&j, &val) in idx.iter().zip(vals) {
                assert_eq!(val, w[i * cols + j as usize]);
            }
        }
    }
    assert!(n_of_m::<bf16, f32>(m, 2, 5).is_err()); // 5 does not divide 48
    assert!(n_of_m::<bf16, f32>(m, 0, 4).is_err());
    assert!(n_of_m::<bf16, f32>(m, 5, 4).is_err());
}

/// Checks `y = alpha·A·x + beta·y0` row by row against the f64 product: within the dot
/// bound where that is finite, the same infinity or a NaN where it is not.
fn assert_spmv_within_bound<T: Input + Widen>(
    backend: Backend,
    a: CsrRef<'_, T>,
    x: &[f32],
    (alpha, beta): (f32, f32),
    y0: &[f32],
    y: &[f32],
) {
    let u = f64::from(f32::EPSILON) / 2.0;
    for i in 0..a.rows() {
        let (idx, vals) = a.slice(i);
        let (s, abs) = idx
            .iter()
            .zip(vals)
            .fold((0.0f64, 0.0f64), |(s, abs), (&j, &v)| {
                let p = v.to_f64() * f64::from(x[j as usize]);
                (s + p, abs + p.abs())
            });
        let bc = if beta == 0.0 {
            0.0
        } else {
            f64::from(beta) * f64::from(y0[i])
        };
        let want = f64::from(alpha) * s + bc;
        if !want.is_finite() {
            assert!(
                want.is_nan() && y[i].is_nan() || f64::from(y[i]) == want,
                "{backend:?} row {i}: {} vs {want}",
                y[i]
            );
            continue;
        }
        let k = idx.len();
        let bound = f64::from(alpha).abs() * (dot_error_bound(k, abs) + u * abs) * (1.0 + 2.0 * u)
            + 2.0 * u * (f64::from(alpha).abs() * abs + bc.abs())
            + 2f64.powi(-148);
        let err = (f64::from(y[i]) - want).abs();
        assert!(
            err <= bound,
            "{backend:?} row {i}: {} vs {want} (bound {bound:e})",
            y[i]
        );
    }
}

/// SpMV on every backend against the f64 dense product, within the dot bound per row.
fn check_spmv<T: Input + Output + Widen>(rng: &mut Rng, rows: usize, cols: usize, density: u32) {
    let a = random_csr::<T>(rng, rows, cols, density);
    let x: Vec<f32> = (0..cols).map(|j| (j % 11) as f32 * 0.25 - 1.0).collect();
    let y0: Vec<f32> = (0..rows).map(|i| i as f32).collect();
    for backend in backends() {
        for (alpha, beta) in [(1.0f32, 0.0f32), (-0.5, 2.0)] {
            let mut y = if beta == 0.0 {
                vec![f32::NAN; rows]
            } else {
                y0.clone()
            };
            backend
                .spmv(alpha, a.view(), &x, beta, &mut y, Par::Seq)
                .unwrap();
            // A's CSR arrays are the CSC arrays of Aᵀ: spmv_t of that is A·x again.
            let at = a.clone().transpose();
            let mut y2 = if beta == 0.0 {
                vec![f32::NAN; rows]
            } else {
                y0.clone()
            };
            backend
                .spmv_t(alpha, at.view(), &x, beta, &mut y2, Par::Seq)
                .unwrap();
            assert_eq!(bits(&y2), bits(&y));
            assert_spmv_within_bound(backend, a.view(), &x, (alpha, beta), &y0, &y);
        }
    }
}

/// Rows of every length 0..=300 (so every step count and tail; under Miri those of
/// `lengths`), starting anywhere in the index and value arrays, with subnormal, huge and tiny
/// values, against x whose element 0 is an infinity or a NaN: rows without column 0 must stay
/// finite (a vector kernel's padding lanes must not pick it up), rows with it must give that
/// infinity or NaN.
fn check_spmv_row_lengths<T: Input + Output + Widen>(rng: &mut Rng) {
    let cols = 331;
    let (mut indptr, mut indices, mut values) = (vec![0], Vec::new(), Vec::new());
    // Each length is followed by a row of 200, so that rows of every length meet both long
    // and short neighbours (a tier may take another kernel for short rows).
    // The twelve rows from the 1 on take column 0 as well; the last row does not, and it is
    // long enough for a 16-lane kernel, whose last step's indices are then padded with zeros
    // (no row follows it), which index x[0].
    let short: Vec<usize> = lengths().take_while(|&len| len <= 300).collect();
    let n = short.len();
    let all = short.into_iter().chain([1, 16, 17, 31, 33, 300]);
    let row_lengths = all.flat_map(|len| [len, 200]).chain([85]);
    for (r, len) in row_lengths.enumerate() {
        let first = usize::from(r < 2 * n || r == 2 * (n + 6));
        let mut picked: Vec<u32> = (first as u32..cols as u32).collect();
        for i in 0..len {
            let j = i + rng.next_u32() as usize % (picked.len() - i);
            picked.swap(i, j);
        }
        picked.truncate(len);
        picked.sort_unstable();
        for &j in &picked {
            indices.push(j);
            let v = match rng.next_u32() % 8 {
                0 => T::from_f32(1.0e-40), // subnormal in f32 and bf16 (0 in f16)
                1 => T::from_f32(-3.0e-6), // subnormal in f16
                2 => T::from_f32(6.0e4),
                _ => T::from_f32((rng.next_u32() % 2001) as f32 / 500.0 - 2.0),
            };
            values.push(if v.to_f64() == 0.0 {
                T::from_f32(0.5)
            } else {
                v
            });
        }
        indptr.push(indices.len());
    }
    let rows = indptr.len() - 1;
    let a = Csr::try_new(rows, cols, indptr, indices, values).unwrap();
    for special in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
        let mut x: Vec<f32> = (0..cols).map(|j| (j % 13) as f32 * 0.125 - 0.75).collect();
        x[0] = special;
        check_plain_spmv(a.view(), &x);
    }
}

/// `y = A·x` (alpha 1, beta 0, y filled with NaN first) on every backend, within the bound.
fn check_plain_spmv<T: Input + Widen>(a: CsrRef<'_, T>, x: &[f32]) {
    let y0 = vec![0.0f32; a.rows()];
    for backend in backends() {
        let mut y = vec![f32::NAN; a.rows()];
        backend.spmv(1.0, a, x, 0.0, &mut y, Par::Seq).unwrap();
        assert_spmv_within_bound(backend, a, x, (1.0, 0.0), &y0, &y);
    }
}

/// A 19 MB matrix (past any L2, rows of about 3000 nonzeros), as a model's layers come.
#[test]
fn spmv_of_a_large_matrix() {
    let mut rng = Rng::new(66);
    let x: Vec<f32> = (0..4096).map(|j| (j % 7) as f32 * 0.5 - 1.5).collect();
    let a = random_csr::<bf16>(&mut rng, 1024, 4096, 75);
    assert!(a.view().nnz() * 6 > 16 << 20);
    check_plain_spmv(a.view(), &x);
}

/// Rows of 16..=112 nonzeros (about 64 on average, where a tier may change its kernel) split
/// between threads at nnz-balanced rows that move with the thread count: every row must come
/// out the same bits whichever rows share its task and its block.
#[test]
fn spmv_is_the_same_bits_for_any_thread_count() {
    let mut rng = Rng::new(67);
    let (rows, cols) = (20_000, 4096);
    let (mut indptr, mut indices, mut values) = (vec![0], Vec::new(), Vec::new());
    for _ in 0..rows {
        let len = 16 + rng.next_u32() as usize % 97;
        let mut j = rng.next_u32() % 64;
        for _ in 0..len {
            indices.push(j);
            values.push(bf16::from_f32(
                (rng.next_u32() % 2001) as f32 / 1000.0 - 1.0,
            ));
            j += 1 + rng.next_u32() % 60;
        }
        indptr.push(indices.len());
    }
    let a = Csr::try_new(rows, cols, indptr, indices, values).unwrap();
    check_spmv_thread_counts(a.view(), &mut rng);
}

/// SpMV of `a` (above the SpMV threading threshold) on 2, 3, 7 and 16 threads gives the bits
/// of one thread on every backend.
fn check_spmv_thread_counts<T: Input>(a: CsrRef<'_, T>, rng: &mut Rng) {
    assert!(
        a.nnz() + a.rows() > 1 << 16,
        "above the SpMV threading threshold"
    );
    let x: Vec<f32> = (0..a.cols())
        .map(|_| (rng.next_u32() % 20001) as f32 / 7000.0 - 1.4)
        .collect();
    for backend in backends() {
        let run = |par| {
            let mut y = vec![f32::NAN; a.rows()];
            backend.spmv(1.0, a, &x, 0.0, &mut y, par).unwrap();
            bits(&y)
        };
        let seq = run(Par::Seq);
        for threads in [2, 3, 7, 16] {
            assert!(
                seq == run(Par::Rayon(threads)),
                "{backend:?} on {threads} threads"
            );
        }
    }
}

/// Few rows, many nonzeros: over the SpMV threading threshold with fewer rows than tasks,
/// so some tasks get no rows and one row's nonzeros all fall to one task.
#[test]
fn spmv_splits_a_few_long_rows_the_same_bits() {
    let mut rng = Rng::new(68);
    let (rows, cols) = (3, 40_000);
    let indices: Vec<u32> = (0..rows).flat_map(|_| 0..cols as u32).collect();
    let values: Vec<f32> = indices
        .iter()
        .map(|_| (rng.next_u32() % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let indptr: Vec<usize> = (0..=rows).map(|r| r * cols).collect();
    let a = Csr::try_new(rows, cols, indptr, indices, values).unwrap();
    check_spmv_thread_counts(a.view(), &mut rng);
}

#[test]
fn spmv_rows_of_every_length_on_every_backend() {
    let mut rng = Rng::new(65);
    check_spmv_row_lengths::<f32>(&mut rng);
    check_spmv_row_lengths::<bf16>(&mut rng);
    check_spmv_row_lengths::<f16>(&mut rng);
}

#[test]
fn spmv_meets_the_bound_on_every_backend() {
    let mut rng = Rng::new(64);
    for (rows, cols, density) in [
        (0, 5, 50),
        (5, 0, 50),
        (1, 1, 100),
        (37, 301, 30),
        (64, 64, 100),
        (20, 500, 2),
        (3, 40, 0),
    ] {
        check_spmv::<f32>(&mut rng, rows, cols, density);
        check_spmv::<bf16>(&mut rng, rows, cols, density);
        check_spmv::<f16>(&mut rng, rows, cols, density);
    }
}

/// The SpMM reference: products rounded, added in storage order from 0, then alpha/beta.
fn spmm_reference<T: Input + Widen>(
    a: CsrRef<'_, T>,
    b: &[f32],
    n: usize,
    alpha: f32,
    beta: f32,
    c0: &[f32],
) -> Vec<f32> {
    let mut c = vec![0.0f32; a.rows() * n];
    for i in 0..a.rows() {
        let (idx, vals) = a.slice(i);
        for j in 0..n {
            let s = idx.iter().zip(vals).fold(0.0f32, |acc, (&p, &v)| {
                acc + v.to_f64() as f32 * b[p as usize * n + j]
            });
            let scaled = alpha * s;
            c[i * n + j] = if beta == 0.0 {
                scaled
            } else {
                scaled + beta * c0[i * n + j]
            };
        }
    }
    c
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn check_spmm<T: Input + Output + Widen>(
    rng: &mut Rng,
    m: usize,
    k: usize,
    n: usize,
    density: u32,
) {
    let a = random_csr::<T>(rng, m, k, density);
    let b: Vec<f32> = (0..k * n)
        .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
        .collect();
    let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect(); // [n x k]
    let c0: Vec<f32> = (0..m * n).map(|i| i as f32 * 0.5).collect();
    for (alpha, beta) in [(1.0f32, 0.0f32), (0.5, -1.0)] {
        let want = spmm_reference(a.view(), &b, n, alpha, beta, &c0);
        for backend in backends() {
            for par in [Par::Seq, Par::Rayon(3)] {
                let mut c = if beta == 0.0 {
                    vec![f32::NAN; m * n]
                } else {
                    c0.clone()
                };
                let bm = MatRef::new(&b, k, n).unwrap();
                backend
                    .spmm(
                        alpha,
                        a.view(),
                        bm,
                        beta,
                        MatMut::new(&mut c, m, n).unwrap(),
                        par,
                    )
                    .unwrap();
                assert_eq!(bits(&c), bits(&want), "{backend:?} {m}x{k}x{n} {par:?}");
                // The linear-layer layout: Y = X·Aᵀ with X = Bᵀ [n x k] gives Cᵀ, same bits.
                let mut y = if beta == 0.0 {
                    vec![f32::NAN; n * m]
                } else {
                    (0..n * m).map(|i| c0[(i % m) * n + i / m]).collect()
                };
                let xm = MatRef::new(&bt, n, k).unwrap();
                backend
                    .spmm_xt(
                        alpha,
                        xm,
                        a.view(),
                        beta,
                        MatMut::new(&mut y, n, m).unwrap(),
                        par,
                    )
                    .unwrap();
                let yt: Vec<f32> = (0..m * n).map(|i| y[(i % n) * m + i / n]).collect();
                assert_eq!(bits(&yt), bits(&want), "{backend:?} xt {m}x{k}x{n}");
            }
        }
    }
}

/// SpMM at every width 0..=260 (every pass width and masked remainder of every tier, past two
/// of the widest passes; under Miri those of `lengths`), the same bits as the reference, and
/// nothing written past C (which sits in a longer buffer whose tail must keep its sentinel).
fn check_spmm_widths<T: Input + Output + Widen>(rng: &mut Rng) {
    const GUARD: usize = 64;
    let sentinel = f32::from_bits(0x7fc0_1234);
    for n in lengths().take_while(|&n| n <= 260) {
        let (m, k) = (3, 19);
        let a = random_csr::<T>(rng, m, k, 60);
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 29) % 97) as f32 / 40.0 - 1.2)
            .collect();
        let c0: Vec<f32> = (0..m * n).map(|i| i as f32 * 0.25 - 3.0).collect();
        for (alpha, beta) in [(1.0f32, 0.0f32), (-2.0, 0.5)] {
            let want = spmm_reference(a.view(), &b, n, alpha, beta, &c0);
            for backend in backends() {
                let mut buf = c0.clone();
                buf.resize(m * n + GUARD, sentinel);
                backend
                    .spmm(
                        alpha,
                        a.view(),
                        MatRef::new(&b, k, n).unwrap(),
                        beta,
                        MatMut::new(&mut buf[..m * n], m, n).unwrap(),
                        Par::Seq,
                    )
                    .unwrap();
                assert_eq!(bits(&buf[..m * n]), bits(&want), "{backend:?} n = {n}");
                assert!(
                    buf[m * n..]
                        .iter()
                        .all(|g| g.to_bits() == sentinel.to_bits()),
                    "{backend:?} n = {n}: wrote past C"
                );
            }
        }
    }
}

#[test]
fn spmm_of_every_width_on_every_backend() {
    let mut rng = Rng::new(67);
    check_spmm_widths::<f32>(&mut rng);
    check_spmm_widths::<bf16>(&mut rng);
    check_spmm_widths::<f16>(&mut rng);
}

#[test]
fn spmm_is_the_same_bits_on_every_backend_layout_and_thread_count() {
    let mut rng = Rng::new(65);
    for (m, k, n, density) in [
        (0, 4, 3, 50),
        (4, 0, 3, 50),
        (3, 4, 0, 50),
        (1, 1, 1, 100),
        (17, 33, 7, 40),
        (9, 50, 32, 20),
        (40, 64, 45, 10),
        (6, 6, 71, 100),
        (5, 9, 130, 0),
        (7, 20, 211, 30), // every pass width of every tier, then a scalar tail
        // Fully dense A reads every entry of spmm_xt's transposed panels: 8 × 8 blocks, the
        // leftover columns of a 16-column pass and the leftover rows of a panel.
        (3, 37, 67, 100),
        (2, 45, 13, 100),
    ] {
        check_spmm::<f32>(&mut rng, m, k, n, density);
        check_spmm::<bf16>(&mut rng, m, k, n, density);
        check_spmm::<f16>(&mut rng, m, k, n, density);
    }
    // Above the threading threshold: nnz-balanced splits, the same bits.
    let a = random_csr::<bf16>(&mut rng, 300, 2000, 30);
    let b: Vec<f32> = (0..2000 * 8).map(|i| (i % 13) as f32 - 6.0).collect();
    let run = |par| {
        let mut c = vec![0.0f32; 300 * 8];
        Backend::active()
            .spmm(
                1.0,
                a.view(),
                MatRef::new(&b, 2000, 8).unwrap(),
                0.0,
                MatMut::new(&mut c, 300, 8).unwrap(),
                par,
            )
            .unwrap();
        bits(&c)
    };
    assert_eq!(run(Par::Seq), run(Par::Rayon(2)));
    assert_eq!(run(Par::Seq), run(Par::Rayon(7)));
    // The linear-layer layout, split between threads by A's rows (X in several panels at n = 150).
    for n in [8, 150] {
        let x: Vec<f32> = (0..n * 2000).map(|i| (i % 11) as f32 - 5.0).collect();
        let xt: Vec<f32> = (0..2000 * n).map(|i| x[(i % n) * 2000 + i / n]).collect();
        let mut want = vec![0.0f32; 300 * n];
        Backend::active()
            .spmm(
                1.0,
                a.view(),
                MatRef::new(&xt, 2000, n).unwrap(),
                0.0,
                MatMut::new(&mut want, 300, n).unwrap(),
                Par::Seq,
            )
            .unwrap();
        for par in [Par::Seq, Par::Rayon(2), Par::Rayon(7)] {
            let mut y = vec![f32::NAN; n * 300];
            Backend::active()
                .spmm_xt(
                    1.0,
                    MatRef::new(&x, n, 2000).unwrap(),
                    a.view(),
                    0.0,
                    MatMut::new(&mut y, n, 300).unwrap(),
                    par,
                )
                .unwrap();
            let yt: Vec<f32> = (0..300 * n).map(|i| y[(i % n) * 300 + i / n]).collect();
            assert_eq!(bits(&yt), bits(&want), "xt n = {n} {par:?}");
        }
    }
}

/// `spmm_xt` with a fully dense A reads every entry of its transposed panels of X: every batch
/// size 1..=70 (a whole panel and the start of the next), every k 0..=40 (the transpose
/// kernels' 8 × 8 and 4 × 4 blocks, 16-column passes and their leftovers) and X starting at
/// every offset 0..4, on every backend, against the products written out.
#[test]
fn spmm_xt_transposes_every_shape() {
    let m = 2;
    let x_all: Vec<f32> = (0..70 * 40 + 3).map(|i| (i % 29) as f32 - 14.0).collect();
    for k in 0..=40usize {
        // Row i holds every column, value 0.5 + p at its p-th stored entry: small integers
        // and halves, so every sum is exact and a misplaced x entry changes it.
        let indices: Vec<u32> = (0..m * k).map(|p| (p % k.max(1)) as u32).collect();
        let values: Vec<f32> = (0..m * k).map(|p| 0.5 + p as f32).collect();
        let a = Csr::try_new(m, k, vec![0, k, 2 * k], indices, values).unwrap();
        for n in 1..=70usize {
            let off = (n + k) % 4;
            let x = &x_all[off..off + n * k];
            let want: Vec<f32> = (0..n * m)
                .map(|e| {
                    let (j, i) = (e / m, e % m);
                    (0..k).fold(0.0f32, |acc, c| {
                        acc + (0.5 + (i * k + c) as f32) * x[j * k + c]
                    })
                })
                .collect();
            for backend in backends() {
                let mut y = vec![f32::NAN; n * m];
                backend
                    .spmm_xt(
                        1.0,
                        MatRef::new(x, n, k).unwrap(),
                        a.view(),
                        0.0,
                        MatMut::new(&mut y, n, m).unwrap(),
                        Par::Seq,
                    )
                    .unwrap();
                assert_eq!(
                    bits(&y),
                    bits(&want),
                    "{backend:?} n {n} k {k} offset {off}"
                );
            }
        }
    }
}

#[test]
fn product_shape_errors_are_typed() {
    let a = Csr::try_new(2, 3, vec![0, 1, 2], vec![0, 2], vec![1.0f32, 2.0]).unwrap();
    let be = Backend::active();
    let mut y = [0.0f32; 2];
    assert!(matches!(
        be.spmv(1.0, a.view(), &[1.0; 2], 0.0, &mut y, Par::Seq),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        be.spmv(1.0, a.view(), &[1.0; 3], 0.0, &mut y[..1], Par::Seq),
        Err(Error::LengthMismatch { .. })
    ));
    let b = [1.0f32; 6];
    let mut c = [0.0f32; 4];
    let bad_b = MatRef::new(&b, 2, 3).unwrap();
    assert!(matches!(
        be.spmm(
            1.0,
            a.view(),
            bad_b,
            0.0,
            MatMut::new(&mut c, 2, 2).unwrap(),
            Par::Seq
        ),
        Err(Error::Shape { .. })
    ));
    let b_t = MatRef::new(&b, 2, 3).unwrap().t(); // 3 x 2 but columns not contiguous
    assert!(matches!(
        be.spmm(
            1.0,
            a.view(),
            b_t,
            0.0,
            MatMut::new(&mut c, 2, 2).unwrap(),
            Par::Seq
        ),
        Err(Error::Shape { .. })
    ));
    let ok_b = MatRef::new(&b, 3, 2).unwrap();
    assert!(matches!(
        be.spmm(
            1.0,
            a.view(),
            ok_b,
            0.0,
            MatMut::new(&mut c, 1, 4).unwrap(),
            Par::Seq
        ),
        Err(Error::Shape { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn sparse_products_equal_the_densified_ones(m in 0usize..24, k in 0usize..40, n in 0usize..40, density in 0u32..100, seed: u64) {
        let mut rng = Rng::new(seed);
        check_spmm::<bf16>(&mut rng, m, k, n, density);
        let a = random_csr::<f32>(&mut rng, m, k, density);
        prop_assert_eq!(a.to_csc().to_csr(), a.clone());
        prop_assert_eq!(a.to_csc().view().to_dense(), a.view().to_dense());
    }
}
