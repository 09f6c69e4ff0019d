//! Dot products and GEMV on every backend against the f64 reference, within the stated bound
//! `k·u·Σ|aᵢbᵢ|`; NaN propagation; GEMV shapes, strides, alpha/beta, `beta = 0` over NaN;
//! the same bits for any thread count; typed errors. f16 values come from `half`'s software
//! conversion (`from_f32_const`): its F16C one, chosen where the target has F16C, is an
//! instruction Miri cannot run.

mod common;

use common::{backends, lengths, Rng, OFFSETS};
use half::{bf16, f16};
use lowp::fmac::{Input, MatRef, Par};
use lowp::reference::fmac::{dot, dot_error_bound, Widen};
use lowp::{Backend, Error};
use proptest::prelude::*;

/// A finite value with a random sign, mantissa and exponent in [2^-20, 2^20] (sometimes
/// zero or subnormal), so sums cancel and magnitudes vary.
fn value(rng: &mut Rng) -> f32 {
    match rng.next_u32() % 16 {
        0 => 0.0,
        1 => f32::from_bits(rng.next_u32() & 0x807f_ffff), // f32 subnormal
        _ => {
            let exp = 107 + rng.next_u32() % 40;
            f32::from_bits((rng.next_u32() & 0x807f_ffff) | (exp << 23))
        }
    }
}

fn check_dot<A: Widen, B: Widen>(what: &str, got: f32, a: &[A], b: &[B], ctx: &str) {
    let (exact, abs) = dot(a, b);
    let bound = dot_error_bound(a.len(), abs);
    let err = (f64::from(got) - exact).abs();
    assert!(
        err <= bound,
        "{what} {ctx}: got {got:e}, exact {exact:e}, error {err:e} > bound {bound:e}"
    );
}

#[test]
fn dots_meet_the_bound_on_every_backend() {
    let mut rng = Rng::new(41);
    for backend in backends() {
        for len in lengths() {
            for off in OFFSETS {
                let x: Vec<f32> = (0..len + off).map(|_| value(&mut rng)).collect();
                let y: Vec<f32> = (0..len + off).map(|_| value(&mut rng)).collect();
                let (x, y) = (&x[off..], &y[off..]);
                let ctx = format!("{backend:?} len {len} off {off}");
                let xb: Vec<bf16> = x.iter().map(|&v| bf16::from_f32(v)).collect();
                let yb: Vec<bf16> = y.iter().map(|&v| bf16::from_f32(v)).collect();
                check_dot(
                    "dot_bf16",
                    backend.dot_bf16(&xb, &yb).unwrap(),
                    &xb,
                    &yb,
                    &ctx,
                );
                check_dot(
                    "dot_f32_bf16",
                    backend.dot_f32_bf16(x, &yb).unwrap(),
                    x,
                    &yb,
                    &ctx,
                );
                // f16 covers a narrower range: scale into it.
                let xh: Vec<f16> = x.iter().map(|&v| f16::from_f32_const(v * 1e-3)).collect();
                let yh: Vec<f16> = y.iter().map(|&v| f16::from_f32_const(v * 1e-3)).collect();
                check_dot(
                    "dot_f16",
                    backend.dot_f16(&xh, &yh).unwrap(),
                    &xh,
                    &yh,
                    &ctx,
                );
            }
        }
    }
}

#[test]
fn dots_are_exact_where_the_sum_is() {
    // Small integers: every product and partial sum is exact in f32.
    for backend in backends() {
        for len in [0usize, 1, 7, 31, 32, 33, 100, 1000] {
            let a: Vec<bf16> = (0..len)
                .map(|i| bf16::from_f32((i % 7) as f32 - 3.0))
                .collect();
            let b: Vec<bf16> = (0..len).map(|i| bf16::from_f32((i % 5) as f32)).collect();
            let want: f32 = a.iter().zip(&b).map(|(x, y)| x.to_f32() * y.to_f32()).sum();
            assert_eq!(
                backend.dot_bf16(&a, &b).unwrap(),
                want,
                "{backend:?} len {len}"
            );
        }
    }
}

#[test]
fn nan_and_infinity_propagate() {
    for backend in backends() {
        for len in [1usize, 8, 33, 100] {
            for at in [0, len / 2, len - 1] {
                let mut a = vec![bf16::ONE; len];
                let b = vec![bf16::ONE; len];
                a[at] = bf16::NAN;
                assert!(
                    backend.dot_bf16(&a, &b).unwrap().is_nan(),
                    "{backend:?} len {len} at {at}"
                );
                a[at] = bf16::INFINITY;
                assert_eq!(backend.dot_bf16(&a, &b).unwrap(), f32::INFINITY);
            }
        }
    }
}

#[test]
fn dot_length_mismatch_is_an_error() {
    for backend in backends() {
        let err = backend
            .dot_bf16(&[bf16::ONE; 3], &[bf16::ONE; 4])
            .unwrap_err();
        assert_eq!(
            err,
            Error::LengthMismatch {
                what: "b",
                expected: 3,
                actual: 4
            }
        );
        assert!(backend.dot_f32_bf16(&[1.0; 3], &[]).is_err());
    }
}

/// GEMV against the reference: `yᵢ = alpha·dot(Wᵢ, x) + beta·yᵢ` within the dot bound plus
/// the two final roundings.
fn check_gemv<W: Input + Widen>(
    backend: Backend,
    rng: &mut Rng,
    n: usize,
    k: usize,
    stride: usize,
    make: fn(f32) -> W,
) {
    let w: Vec<W> = (0..n.saturating_sub(1) * stride + if n > 0 { k } else { 0 })
        .map(|_| make(value(rng) * 1e-3))
        .collect();
    let x: Vec<f32> = (0..k).map(|_| value(rng) * 1e-2).collect();
    let m = MatRef::with_row_stride(&w, n, k, stride).unwrap();
    let u = f64::from(f32::EPSILON) / 2.0;
    for (alpha, beta) in [(1.0f32, 0.0f32), (0.5, 2.0), (-1.5, 0.0), (0.0, 1.0)] {
        let y0: Vec<f32> = (0..n).map(|_| value(rng)).collect();
        let mut y = if beta == 0.0 {
            vec![f32::NAN; n]
        } else {
            y0.clone()
        };
        backend.gemv(alpha, m, &x, beta, &mut y, Par::Seq).unwrap();
        for i in 0..n {
            let (d, abs) = dot(m.row(i), &x);
            let b = if beta == 0.0 {
                0.0
            } else {
                f64::from(beta) * f64::from(y0[i])
            };
            let exact = f64::from(alpha) * d + b;
            let bound =
                f64::from(alpha).abs() * (dot_error_bound(k, abs) + u * abs) * (1.0 + 2.0 * u)
                    + 2.0 * u * (f64::from(alpha).abs() * abs + b.abs())
                    + 2f64.powi(-148);
            let err = (f64::from(y[i]) - exact).abs();
            assert!(err <= bound, "{backend:?} {n}x{k} stride {stride} alpha {alpha} beta {beta} row {i}: got {}, exact {exact:e}, err {err:e} > {bound:e}", y[i]);
        }
    }
}

#[test]
fn gemv_shape_grid_on_every_backend() {
    let mut rng = Rng::new(42);
    // Under Miri, the sizes around the 8- and 16-lane steps and the row pairs.
    let sizes: &[usize] = if cfg!(miri) {
        &[0, 1, 2, 8, 17, 33]
    } else {
        &[0, 1, 7, 8, 15, 16, 17, 33, 64, 100]
    };
    for backend in backends() {
        for &n in sizes {
            for &k in sizes {
                for stride in [k, k + 3] {
                    check_gemv(backend, &mut rng, n, k, stride, |v| v);
                    check_gemv(backend, &mut rng, n, k, stride, bf16::from_f32);
                    check_gemv(backend, &mut rng, n, k, stride, f16::from_f32_const);
                }
            }
        }
    }
}

/// Each GEMV row is its dot kernel's result, bit for bit, whether GEMV walks W in row pairs
/// (small W) or one row at a time (W of 16 MiB or more, which comes from memory).
#[test]
fn gemv_rows_have_the_bits_of_the_dot_kernels() {
    let mut rng = Rng::new(44);
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    // 37 × 300 is walked in pairs; 2049 × 4096 (16 MiB + 8 KiB) one row at a time.
    let shapes = [(37, 300), (2049, 4096)];
    let weights: Vec<Vec<bf16>> = shapes
        .iter()
        .map(|&(n, k)| {
            (0..n * k)
                .map(|_| bf16::from_f32(value(&mut rng)))
                .collect()
        })
        .collect();
    for backend in backends() {
        for (&(n, k), w) in shapes.iter().zip(&weights) {
            let x: Vec<f32> = (0..k).map(|_| value(&mut rng)).collect();
            let mut y = vec![0f32; n];
            let m = MatRef::new(w, n, k).unwrap();
            backend.gemv(1.0, m, &x, 0.0, &mut y, Par::Seq).unwrap();
            let dots: Vec<f32> = (0..n)
                .map(|i| backend.dot_f32_bf16(&x, m.row(i)).unwrap())
                .collect();
            assert_eq!(bits(&y), bits(&dots), "{backend:?} {n}x{k} bf16");
        }
    }
}

#[test]
fn gemv_gives_the_same_bits_for_any_thread_count() {
    let mut rng = Rng::new(43);
    let (n, k) = (1101, 1000); // above the single-thread threshold; odd row counts per task
    let w: Vec<bf16> = (0..n * k)
        .map(|_| bf16::from_f32(value(&mut rng)))
        .collect();
    let x: Vec<f32> = (0..k).map(|_| value(&mut rng)).collect();
    let m = MatRef::new(&w, n, k).unwrap();
    for backend in backends() {
        let mut seq = vec![0f32; n];
        backend.gemv(1.25, m, &x, 0.0, &mut seq, Par::Seq).unwrap();
        for par in [
            Par::Rayon(0),
            Par::Rayon(1),
            Par::Rayon(2),
            Par::Rayon(3),
            Par::Rayon(7),
        ] {
            let mut y = vec![0f32; n];
            backend.gemv(1.25, m, &x, 0.0, &mut y, par).unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&seq), "{backend:?} {par:?}");
        }
    }
}

#[test]
fn gemv_shape_errors() {
    let w = [bf16::ONE; 12];
    let m = MatRef::new(&w, 3, 4).unwrap();
    let mut y = [0f32; 3];
    let err = lowp::fmac::gemv(1.0, m, &[1.0; 5], 0.0, &mut y, Par::Seq).unwrap_err();
    assert_eq!(
        err,
        Error::LengthMismatch {
            what: "x",
            expected: 4,
            actual: 5
        }
    );
    let err = lowp::fmac::gemv(1.0, m, &[1.0; 4], 0.0, &mut [0.0; 2], Par::Seq).unwrap_err();
    assert_eq!(
        err,
        Error::LengthMismatch {
            what: "y",
            expected: 3,
            actual: 2
        }
    );
    assert!(matches!(MatRef::new(&w, 4, 4), Err(Error::Shape { .. })));
    assert!(matches!(
        MatRef::with_row_stride(&w, 2, 4, 3),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        MatRef::with_row_stride(&w, 3, 4, usize::MAX),
        Err(Error::Shape { .. })
    ));
    assert!(MatRef::with_row_stride(&w, 2, 4, 8).is_ok());
    assert!(MatRef::new(&w, 0, 1000).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn gemv_random_shapes(n in 0usize..40, k in 0usize..70, pad in 0usize..5, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        for backend in backends() {
            check_gemv(backend, &mut rng, n, k, k + pad, bf16::from_f32);
        }
    }
}
