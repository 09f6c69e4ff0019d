//! CSR/CSC structures built from arbitrary bytes, valid or not: validation accepts exactly the
//! structures an independent check calls valid (never a panic or UB either way); accepted ones
//! multiply on every backend like densify-and-multiply (SpMM bit for bit, SpMV within the
//! bound, packed SpMV bit for bit against fused sums), and convert CSR <-> CSC losslessly.
#![no_main]

use half::bf16;
use libfuzzer_sys::fuzz_target;
use lowp::fmac::{MatMut, MatRef, Par};
use lowp::reference::fmac::dot_error_bound;
use lowp::sparse::{Csc, Csr, PackedCsr, PackedLayout};
use lowp::{Backend, Isa};

/// The invariants, written out naively.
fn valid(major: usize, minor: usize, indptr: &[usize], indices: &[u32], nvalues: usize) -> bool {
    indptr.len() == major + 1
        && indptr[0] == 0
        && (0..major).all(|i| indptr[i] <= indptr[i + 1])
        && indptr[major] == indices.len()
        && nvalues == indices.len()
        && (0..major).all(|i| {
            let s = &indices[indptr[i]..indptr[i + 1]];
            s.iter().all(|&j| (j as usize) < minor) && (1..s.len()).all(|p| s[p - 1] < s[p])
        })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (rows, cols) = (usize::from(data[0] % 12), usize::from(data[1] % 12));
    let csc = data[2] & 1 == 1;
    let (major, minor) = if csc { (cols, rows) } else { (rows, cols) };
    let body = &data[4..];
    // indptr: a running sum of small steps (sometimes decreasing), indices and values raw.
    let len = (usize::from(data[3] % 4) + major).min(body.len());
    let mut acc = 0usize;
    let indptr: Vec<usize> = body[..len]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if i == 0 && b & 0x80 == 0 {
                return 0;
            }
            acc = if b & 0x40 != 0 { acc.saturating_sub(1) } else { acc + usize::from(b % 4) };
            acc
        })
        .collect();
    let rest = &body[len..];
    let nnz = indptr.last().copied().unwrap_or(0) + usize::from(rest.first().copied().unwrap_or(0) & 1);
    let indices: Vec<u32> = rest.iter().skip(1).take(nnz).map(|&b| u32::from(b % 14)).collect();
    let values: Vec<bf16> = (0..nnz.min(indices.len() + usize::from(data[2] >> 7)))
        .map(|p| bf16::from_f32((p % 7) as f32 - 3.0))
        .collect();
    let expect = valid(major, minor, &indptr, &indices, values.len());
    let accepted = if csc {
        let m = Csc::try_new(rows, cols, indptr.clone(), indices.clone(), values.clone());
        assert_eq!(m.is_ok(), expect, "csc {indptr:?} {indices:?}");
        m.ok().map(|m| m.to_csr())
    } else {
        let m = Csr::try_new(rows, cols, indptr.clone(), indices.clone(), values.clone());
        assert_eq!(m.is_ok(), expect, "csr {indptr:?} {indices:?}");
        m.ok()
    };
    let Some(a) = accepted else { return };
    assert_eq!(a.to_csc().to_csr(), a);
    let dense = a.view().to_dense();
    let n = 5;
    let b: Vec<f32> = (0..cols * n).map(|i| (i % 9) as f32 * 0.5 - 2.0).collect();
    let x: Vec<f32> = (0..cols).map(|j| (j % 5) as f32 - 2.0).collect();
    // Hybrid's order (a row's windowed entries, then its gathered ones) is the scalar
    // backend's; every backend gives its bits.
    let hybrid = PackedCsr::pack_with(a.view(), PackedLayout::Hybrid);
    let mut yh_scalar = vec![f32::NAN; rows];
    Backend::new(Isa::Scalar).unwrap().spmv_packed(1.0, &hybrid, &x, 0.0, &mut yh_scalar, Par::Seq).unwrap();
    for backend in Backend::all_supported() {
        let mut c = vec![f32::NAN; rows * n];
        backend.spmm(1.0, a.view(), MatRef::new(&b, cols, n).unwrap(), 0.0, MatMut::new(&mut c, rows, n).unwrap(), Par::Seq).unwrap();
        // The linear-layer layout, X = Bᵀ: Cᵀ, the same bits.
        let bt: Vec<f32> = (0..n * cols).map(|i| b[(i % cols) * n + i / cols]).collect();
        let mut yt = vec![f32::NAN; n * rows];
        backend.spmm_xt(1.0, MatRef::new(&bt, n, cols).unwrap(), a.view(), 0.0, MatMut::new(&mut yt, n, rows).unwrap(), Par::Seq).unwrap();
        let mut y = vec![f32::NAN; rows];
        backend.spmv(1.0, a.view(), &x, 0.0, &mut y, Par::Seq).unwrap();
        let (mut yp, mut yw) = (vec![f32::NAN; rows], vec![f32::NAN; rows]);
        backend.spmv_packed(1.0, &PackedCsr::pack_with(a.view(), PackedLayout::Gather), &x, 0.0, &mut yp, Par::Seq).unwrap();
        backend.spmv_packed(1.0, &PackedCsr::pack_with(a.view(), PackedLayout::Windowed), &x, 0.0, &mut yw, Par::Seq).unwrap();
        let mut yh = vec![f32::NAN; rows];
        backend.spmv_packed(1.0, &hybrid, &x, 0.0, &mut yh, Par::Seq).unwrap();
        for i in 0..rows {
            // Packed, both layouts: the row's products fused into one sum in storage order.
            let (idx, vals) = a.view().slice(i);
            let fused = idx.iter().zip(vals).fold(0.0f32, |s, (&j, v)| v.to_f32().mul_add(x[j as usize], s));
            assert_eq!(yp[i].to_bits(), fused.to_bits(), "{backend:?} packed");
            assert_eq!(yw[i].to_bits(), fused.to_bits(), "{backend:?} packed, windowed");
            for j in 0..n {
                // Storage order is column order: the dense row's nonzeros in increasing j.
                let want = (0..cols).filter(|&q| a.view().slice(i).0.contains(&(q as u32)))
                    .fold(0.0f32, |s, q| s + dense[i * cols + q] * b[q * n + j]);
                assert_eq!(c[i * n + j].to_bits(), want.to_bits(), "{backend:?}");
                assert_eq!(yt[j * rows + i].to_bits(), want.to_bits(), "{backend:?} xt");
            }
            let (s, abs) = (0..cols).fold((0.0f64, 0.0f64), |(s, abs), q| {
                let p = f64::from(dense[i * cols + q]) * f64::from(x[q]);
                (s + p, abs + p.abs())
            });
            assert!((f64::from(y[i]) - s).abs() <= dot_error_bound(cols, abs) + 1e-30, "{backend:?}");
            assert_eq!(yh[i].to_bits(), yh_scalar[i].to_bits(), "{backend:?} packed, hybrid");
            assert!((f64::from(yh[i]) - s).abs() <= dot_error_bound(cols, abs) + 1e-30, "{backend:?} hybrid");
        }
    }
});
