//! The GEMM driver on arbitrary shapes and strides (row-major, transposed, padded, even
//! overlapping views of A and B), alpha/beta and bf16 inputs: a view that does not fit is a
//! typed error, never a panic or an out-of-bounds read; on every backend each element is within
//! the bound of `lowp::reference::fmac` (the hardware bf16 one under `Bf16Gemm::Hardware`,
//! run on every tier that has it),
//! `beta = 0` never reads C, and packing B first gives
//! the same bits.
#![no_main]

use half::bf16;
use libfuzzer_sys::fuzz_target;
use lowp::fmac::{Bf16Gemm, MatMut, MatRef, Par};
use lowp::reference::fmac::{bf16_hardware_error_bound, dot_error_bound};
use lowp::Backend;

/// A view of `rows × cols` over `data` with strides picked by `sel`, or `None` if refused
/// (then it really does not fit).
fn view(data: &[bf16], rows: usize, cols: usize, sel: u8) -> Option<MatRef<'_, bf16>> {
    let extra = usize::from(sel >> 2);
    let (rs, cs) = match sel & 3 {
        0 => (cols + extra, 1),         // row-major, padded
        1 => (1, rows + extra),         // column-major (a transposed row-major matrix)
        2 => (extra, 1),                // rows may overlap
        _ => (cols * 2 + extra, 2),     // every other element
    };
    match MatRef::with_strides(data, rows, cols, rs, cs) {
        Ok(m) => Some(m),
        Err(_) => {
            let last = (rows.max(1) - 1) * rs + (cols.max(1) - 1) * cs;
            assert!(rows > 0 && cols > 0 && last >= data.len());
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (head, data) = data.split_at(8);
    let (m, n, k) = (usize::from(head[0] % 20), usize::from(head[1] % 40), usize::from(head[2]) + usize::from(head[3] & 1) * 100);
    let alpha = f32::from(head[4] as i8) / 16.0;
    let beta = if head[5] & 1 == 0 { 0.0 } else { f32::from(head[5] as i8) / 8.0 };
    // Values from the bytes, squashed into a modest range so sums stay finite.
    let vals: Vec<bf16> = data
        .chunks_exact(2)
        .map(|c| bf16::from_bits(u16::from_le_bytes([c[0], c[1]]) & 0xbfff))
        .collect();
    let half = vals.len() / 2;
    let (Some(a), Some(b)) = (view(&vals[..half], m, k, head[6]), view(&vals[half..], k, n, head[7])) else {
        return;
    };
    let c0: Vec<f32> = (0..m * n).map(|i| i as f32 - 3.0).collect();
    let u = f64::from(f32::EPSILON) / 2.0;
    // Tiers with a bf16 instruction under both `Bf16Gemm` choices, whatever this CPU's default.
    let choices = [Bf16Gemm::Hardware, Bf16Gemm::WidenFma];
    let backends = Backend::all_supported()
        .into_iter()
        .flat_map(|b| choices.into_iter().filter_map(move |c| b.with_bf16_gemm(c)));
    for backend in backends {
        // `Hardware` runs bf16 × bf16 on the hardware's own bf16 arithmetic (`vdpbf16ps`,
        // `BFMMLA`: subnormal products flushed), whose bound is the hardware one.
        let hardware = backend.bf16_gemm() == Bf16Gemm::Hardware;
        let sum_bound = |k, abs| {
            if hardware {
                bf16_hardware_error_bound(k, abs)
            } else {
                dot_error_bound(k, abs)
            }
        };
        let fill = if beta == 0.0 { vec![f32::NAN; m * n] } else { c0.clone() };
        let mut c = fill.clone();
        backend.gemm(alpha, a, b, beta, MatMut::new(&mut c, m, n).unwrap(), Par::Seq).unwrap();
        let mut c2 = fill;
        let packed = backend.pack_b(b);
        backend.gemm_packed(alpha, a, &packed, beta, MatMut::new(&mut c2, m, n).unwrap(), Par::Seq).unwrap();
        assert_eq!(
            c.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            c2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        for i in 0..m {
            for j in 0..n {
                let (s, abs) = (0..k).fold((0.0f64, 0.0f64), |(s, abs), p| {
                    let v = a.get(i, p).to_f64() * b.get(p, j).to_f64();
                    (s + v, abs + v.abs())
                });
                if !s.is_finite() || !abs.is_finite() {
                    continue;
                }
                let bc = if beta == 0.0 { 0.0 } else { f64::from(beta) * f64::from(c0[i * n + j]) };
                let exact = f64::from(alpha) * s + bc;
                let bound = f64::from(alpha).abs() * (sum_bound(k, abs) + u * abs) * (1.0 + 2.0 * u)
                    + 2.0 * u * (f64::from(alpha).abs() * abs + bc.abs())
                    + 2f64.powi(-148);
                let got = c[i * n + j];
                if got.is_infinite() && exact.abs() > f64::from(f32::MAX) / 2.0 {
                    continue; // f32 overflow near the top of the range
                }
                assert!((f64::from(got) - exact).abs() <= bound, "{backend:?} {m}x{n}x{k} ({i},{j}): {got} vs {exact}");
            }
        }
    }
});
