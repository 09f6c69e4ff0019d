//! GEMV on arbitrary shapes, strides, alpha/beta and bf16 weights: a view that does not fit
//! is a typed error, never a panic or an out-of-bounds read; results on every backend are
//! within the bound of `lowp::reference::fmac`, and `beta = 0` never reads `y`.
#![no_main]

use half::bf16;
use libfuzzer_sys::fuzz_target;
use lowp::fmac::{MatRef, Par};
use lowp::reference::fmac::{dot, dot_error_bound};
use lowp::Backend;

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let (head, data) = data.split_at(6);
    let (n, k, pad) = (usize::from(head[0] % 24), usize::from(head[1] % 80), usize::from(head[2] % 4));
    let alpha = f32::from(head[3] as i8) / 16.0;
    let beta = if head[4] & 1 == 0 { 0.0 } else { f32::from(head[5] as i8) / 8.0 };
    // Weights from the bytes, squashed into a modest range so sums stay finite.
    let w: Vec<bf16> = data
        .chunks_exact(2)
        .map(|c| bf16::from_bits(u16::from_le_bytes([c[0], c[1]]) & 0xbfff))
        .collect();
    let stride = k + pad;
    let Ok(m) = MatRef::with_row_stride(&w, n, k, stride) else {
        // Refused views really do not fit.
        assert!(n > 0 && (n - 1) * stride + k > w.len());
        return;
    };
    let x: Vec<f32> = (0..k).map(|j| (j % 7) as f32 - 3.0).collect();
    let y0: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let u = f64::from(f32::EPSILON) / 2.0;
    for backend in Backend::all_supported() {
        let mut y = if beta == 0.0 { vec![f32::NAN; n] } else { y0.clone() };
        backend.gemv(alpha, m, &x, beta, &mut y, Par::Seq).unwrap();
        for i in 0..n {
            let (d, abs) = dot(m.row(i), &x);
            if !d.is_finite() || !abs.is_finite() {
                continue;
            }
            let b = if beta == 0.0 { 0.0 } else { f64::from(beta) * f64::from(y0[i]) };
            let exact = f64::from(alpha) * d + b;
            let bound = f64::from(alpha).abs() * (dot_error_bound(k, abs) + u * abs) * (1.0 + 2.0 * u)
                + 2.0 * u * (f64::from(alpha).abs() * abs + b.abs())
                + 2f64.powi(-148);
            if y[i].is_infinite() && exact.abs() > f64::from(f32::MAX) / 2.0 {
                continue; // f32 overflow near the top of the range
            }
            assert!((f64::from(y[i]) - exact).abs() <= bound, "{backend:?} {n}x{k}+{pad} row {i}: {} vs {exact}", y[i]);
        }
    }
});
