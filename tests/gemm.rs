//! GEMM on every backend against the f64 reference within the bound of DESIGN.md §3: a shape
//! grid across the tile and block edges, both B layouts, strided and transposed views,
//! alpha/beta with `beta = 0` over NaN, bf16/f16 output, packed vs unpacked, the same bits
//! for any thread count, typed errors, `Tensor::matmul`, and proptest on random shapes.

mod common;

use common::{gemm_backends, Rng};
use half::{bf16, f16};
use lowp::fmac::{Bf16Gemm, Input, MatMut, MatRef, Output, PackedB, Par};
use lowp::reference::fmac::{bf16_hardware_error_bound, dot_error_bound, Widen};
use lowp::{Backend, DType, Error, Isa, Tensor};
use proptest::prelude::*;

/// A finite value with a random sign, a mantissa and an exponent in [2^-12, 2^4] (sometimes
/// zero), so sums cancel and magnitudes vary without overflow.
fn value(rng: &mut Rng) -> f32 {
    match rng.next_u32() % 16 {
        0 => 0.0,
        _ => {
            let exp = 115 + rng.next_u32() % 16;
            f32::from_bits((rng.next_u32() & 0x807f_ffff) | (exp << 23))
        }
    }
}

fn values<T: Input>(rng: &mut Rng, len: usize) -> Vec<T> {
    (0..len).map(|_| from_f32(value(rng))).collect()
}

fn from_f32<T: Input>(v: f32) -> T {
    match T::DTYPE {
        DType::F32 => bytemuck::cast(v),
        DType::BF16 => bytemuck::cast(bf16::from_f32(v)),
        // `half`'s software conversion: its F16C one is an instruction Miri cannot run.
        _ => bytemuck::cast(f16::from_f32_const(v)),
    }
}

/// `(Σₚ a(i,p)·b(p,j), Σₚ |a(i,p)·b(p,j)|)` in f64.
fn exact<A: Input + Widen, B: Input + Widen>(
    a: MatRef<'_, A>,
    b: MatRef<'_, B>,
    i: usize,
    j: usize,
) -> (f64, f64) {
    (0..a.cols()).fold((0.0, 0.0), |(s, abs), p| {
        let v = a.get(i, p).to_f64() * b.get(p, j).to_f64();
        (s + v, abs + v.abs())
    })
}

/// The bound on `Σ a·b` over `k` terms of absolute sum `abs`: the f32 chain's, or the bf16
/// hardware arithmetic's where the backend runs it (bf16 × bf16 under `Bf16Gemm::Hardware`).
fn sum_bound(backend: Backend, a: DType, b: DType, k: usize, abs: f64) -> f64 {
    let hardware =
        backend.bf16_gemm() == Bf16Gemm::Hardware && (a, b) == (DType::BF16, DType::BF16);
    if hardware {
        bf16_hardware_error_bound(k, abs)
    } else {
        dot_error_bound(k, abs)
    }
}

/// The bound on one element of `alpha·A·B + beta·C0`: the sum's (`sum_bound`), scaled, plus
/// the roundings of `alpha·s`, `+ beta·c` and (for a narrow C) of the output, `out_u` its
/// unit roundoff.
fn bound(sum_bound: f64, abs: f64, alpha: f32, beta_c: f64, out_u: f64) -> f64 {
    let u = f64::from(f32::EPSILON) / 2.0;
    let alpha = f64::from(alpha).abs();
    let sum = alpha * (sum_bound + u * abs) * (1.0 + 2.0 * u)
        + 2.0 * u * (alpha * abs + beta_c.abs())
        + 2f64.powi(-148);
    sum + out_u * (alpha * abs + beta_c.abs() + sum) + out_u * 2f64.powi(-24)
}

/// One GEMM call of the given shape and layouts against the reference.
#[allow(clippy::too_many_arguments)]
fn check<A: Input + Widen, B: Input + Widen>(
    backend: Backend,
    rng: &mut Rng,
    (m, n, k): (usize, usize, usize),
    b_transposed: bool,
    a_transposed: bool,
    pad: usize,
    (alpha, beta): (f32, f32),
) {
    let a_store = values::<A>(rng, (m + pad) * (k + pad));
    let a = if a_transposed {
        MatRef::with_row_stride(&a_store, k, m, m + pad)
            .unwrap()
            .t()
    } else {
        MatRef::with_row_stride(&a_store, m, k, k + pad).unwrap()
    };
    let b_store = values::<B>(rng, (n + pad) * (k + pad));
    let b = if b_transposed {
        MatRef::with_row_stride(&b_store, n, k, k + pad)
            .unwrap()
            .t()
    } else {
        MatRef::with_row_stride(&b_store, k, n, n + pad).unwrap()
    };
    let stride = n + pad;
    let c0: Vec<f32> = (0..m * stride).map(|_| value(rng)).collect();
    let mut c = if beta == 0.0 {
        vec![f32::NAN; m * stride]
    } else {
        c0.clone()
    };
    let cm = MatMut::with_row_stride(&mut c, m, n, stride).unwrap();
    backend.gemm(alpha, a, b, beta, cm, Par::Seq).unwrap();
    for i in 0..m {
        for j in 0..stride {
            let got = c[i * stride + j];
            if j >= n {
                assert_eq!(
                    got.to_bits(),
                    if beta == 0.0 {
                        f32::NAN
                    } else {
                        c0[i * stride + j]
                    }
                    .to_bits(),
                    "padding written"
                );
                continue;
            }
            let (s, abs) = exact(a, b, i, j);
            let beta_c = if beta == 0.0 {
                0.0
            } else {
                f64::from(beta) * f64::from(c0[i * stride + j])
            };
            let want = f64::from(alpha) * s + beta_c;
            let err = (f64::from(got) - want).abs();
            let sum = sum_bound(backend, A::DTYPE, B::DTYPE, k, abs);
            let bound = bound(sum, abs, alpha, beta_c, 0.0);
            assert!(
                err <= bound,
                "{backend:?} {}x{} {m}x{n}x{k} bt {b_transposed} at {a_transposed} pad {pad} \
                 alpha {alpha} beta {beta} ({i},{j}): got {got:e} want {want:e} err {err:e} > {bound:e}",
                A::DTYPE,
                B::DTYPE
            );
        }
    }
}

#[test]
fn gemm_shape_grid_on_every_backend() {
    let mut rng = Rng::new(51);
    // Tile edges of every tier (mr 4/6/8/12, nr 4/8/16/32), the row block (72) and depth
    // block (256). Under Miri, where a multiply-add costs about a millisecond, the tile edges
    // within one block.
    let (ms, ns, ks): (&[usize], &[usize], &[usize]) = if cfg!(miri) {
        (&[0, 1, 7, 13], &[1, 9, 17, 33], &[1, 2, 17])
    } else {
        (
            &[0, 1, 3, 5, 6, 7, 8, 9, 12, 13, 25, 73],
            &[0, 1, 4, 7, 8, 15, 16, 17, 31, 33, 65],
            &[0, 1, 2, 7, 16, 255, 256, 257],
        )
    };
    let scales = [(1.0f32, 0.0f32), (0.5, 2.0), (-1.5, 0.0), (2.0, -1.0)];
    for backend in gemm_backends() {
        let mut case = 0usize;
        for &m in ms {
            for &n in ns {
                for &k in ks {
                    case += 1;
                    let bt = case.is_multiple_of(2);
                    let at = case.is_multiple_of(5);
                    let pad = case % 3;
                    let ab = scales[case % 4];
                    let shape = (m, n, k);
                    match case % 5 {
                        0 => check::<f32, f32>(backend, &mut rng, shape, bt, at, pad, ab),
                        1 => check::<bf16, bf16>(backend, &mut rng, shape, bt, at, pad, ab),
                        2 => check::<f32, bf16>(backend, &mut rng, shape, bt, at, pad, ab),
                        3 => check::<f16, f16>(backend, &mut rng, shape, bt, at, pad, ab),
                        _ => check::<bf16, f32>(backend, &mut rng, shape, bt, at, pad, ab),
                    }
                }
            }
        }
    }
}

#[test]
fn every_input_type_pair_and_layout_on_every_backend() {
    let mut rng = Rng::new(52);
    let shape = (11, 37, 300);
    for backend in gemm_backends() {
        for bt in [false, true] {
            for at in [false, true] {
                let s = (1.0, 0.0);
                check::<f32, f32>(backend, &mut rng, shape, bt, at, 1, s);
                check::<f32, bf16>(backend, &mut rng, shape, bt, at, 1, s);
                check::<f32, f16>(backend, &mut rng, shape, bt, at, 1, s);
                check::<bf16, f32>(backend, &mut rng, shape, bt, at, 1, s);
                check::<bf16, bf16>(backend, &mut rng, shape, bt, at, 1, s);
                check::<bf16, f16>(backend, &mut rng, shape, bt, at, 1, s);
                check::<f16, f32>(backend, &mut rng, shape, bt, at, 1, s);
                check::<f16, bf16>(backend, &mut rng, shape, bt, at, 1, s);
                check::<f16, f16>(backend, &mut rng, shape, bt, at, 1, s);
            }
        }
    }
}

/// More columns than one accumulator block (512) and rows than one row block (72), with
/// depth over two blocks: every blocking loop runs more than once.
#[test]
fn several_row_column_and_depth_blocks_meet_the_bound() {
    let mut rng = Rng::new(57);
    for backend in gemm_backends() {
        check::<bf16, bf16>(
            backend,
            &mut rng,
            (80, 530, 300),
            true,
            false,
            1,
            (1.0, 0.5),
        );
        check::<f32, f16>(
            backend,
            &mut rng,
            (75, 1030, 40),
            false,
            true,
            0,
            (2.0, 0.0),
        );
    }
}

/// Runs `gemm` into a fresh C of type `C` filled with `fill`.
fn run<A: Input, B: Input, C: Output>(
    backend: Backend,
    a: MatRef<'_, A>,
    b: MatRef<'_, B>,
    (alpha, beta): (f32, f32),
    fill: &[C],
    par: Par,
) -> Vec<C> {
    let mut c = fill.to_vec();
    let cm = MatMut::new(&mut c, a.rows(), b.cols()).unwrap();
    backend.gemm(alpha, a, b, beta, cm, par).unwrap();
    c
}

/// `A·B` alone: alpha 1, beta 0 over a C full of NaN (which must not leak), one thread.
fn a_times_b<A: Input, B: Input>(backend: Backend, a: MatRef<'_, A>, b: MatRef<'_, B>) -> Vec<f32> {
    let fill = vec![f32::NAN; a.rows() * b.cols()];
    run(backend, a, b, (1.0, 0.0), &fill, Par::Seq)
}

fn bits<T: bytemuck::Pod>(v: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(v).to_vec()
}

/// A bf16/f16 C is the f32 result rounded to nearest even, element by element, at every
/// width of a tile row and its remainder (f16 C is rounded by the tier's conversion kernel a
/// row at a time), with C0 holding special values (NaN payloads, infinities, signed zeros,
/// subnormals, the largest finite f16) and an alpha that overflows f16.
#[test]
fn narrow_output_is_the_f32_result_rounded_to_nearest() {
    let mut rng = Rng::new(53);
    let (m, k, ns): (usize, usize, &[usize]) = if cfg!(miri) {
        (3, 5, &[1, 17, 33])
    } else {
        (9, 70, &[1, 5, 16, 21, 33, 47, 70])
    };
    let specials = [
        f32::from_bits(0x7fc0_1234),
        f32::from_bits(0xffa0_4001),
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        65504.0,
        -65504.0,
        f32::from_bits(0x3380_0000), // 2^-24, the smallest f16 subnormal
        f32::from_bits(0x8000_0001),
    ];
    // `half`'s software f16 conversions: its F16C ones are instructions Miri cannot run.
    let narrow = |v: &[f32]| -> Vec<f16> { v.iter().map(|&v| f16::from_f32_const(v)).collect() };
    let widen = |v: &[f16]| -> Vec<f32> { v.iter().map(|v| v.to_f32_const()).collect() };
    for &n in ns {
        let a = values::<bf16>(&mut rng, m * k);
        let b = values::<bf16>(&mut rng, k * n);
        let (a, b) = (
            MatRef::new(&a, m, k).unwrap(),
            MatRef::new(&b, k, n).unwrap(),
        );
        for backend in gemm_backends() {
            for scale in [(1.0, 0.0), (0.75, 0.5), (3e4, 1.0)] {
                let mut c0 = values::<f32>(&mut rng, m * n);
                for (i, &v) in specials.iter().enumerate() {
                    c0[(i * 7) % (m * n)] = v;
                }
                // The f32 call sees C0 already rounded, as the narrow call reads it.
                let c0_bf16: Vec<bf16> = c0.iter().map(|&v| bf16::from_f32(v)).collect();
                let c0_f16 = narrow(&c0);
                let wide_b: Vec<f32> = c0_bf16.iter().map(|v| v.to_f32()).collect();
                let want_b = run(backend, a, b, scale, &wide_b, Par::Seq);
                let want_h = narrow(&run(backend, a, b, scale, &widen(&c0_f16), Par::Seq));
                let got_b = run(backend, a, b, scale, &c0_bf16, Par::Seq);
                let got_h = run(backend, a, b, scale, &c0_f16, Par::Seq);
                let want_b: Vec<bf16> = want_b.iter().map(|&v| bf16::from_f32(v)).collect();
                for i in 0..m * n {
                    let at = format!("{backend:?} n {n} {scale:?} element {i}");
                    // A NaN's sign and payload after arithmetic are unspecified in Rust (Miri
                    // picks them at random), so a NaN need only be a NaN.
                    if want_h[i].is_nan() {
                        assert!(got_b[i].is_nan() && got_h[i].is_nan(), "{at}");
                        continue;
                    }
                    assert_eq!(got_b[i].to_bits(), want_b[i].to_bits(), "{at}");
                    assert_eq!(got_h[i].to_bits(), want_h[i].to_bits(), "{at}");
                }
            }
        }
    }
}

/// Hardware bf16 arithmetic (`BFMMLA`, `vdpbf16ps`) flushes subnormal inputs, which can lose
/// a product entirely; lowp must not run it on such inputs. Each output here has at most one
/// nonzero product, exact in f32, so every backend must return it exactly.
#[test]
fn subnormal_inputs_are_never_flushed() {
    let (m, n, k) = (9, 10, 12);
    // Powers of two from their bits: `powi`'s precision is unspecified (Miri perturbs it).
    let pow2 = |e: i32| f32::from_bits(((127 + e) as u32) << 23);
    let tiny = bf16::from_bits(0x0003); // 3·2^-133
    let big = bf16::from_f32(pow2(100));
    let product = 3.0 * pow2(-33);
    for tiny_in_a in [true, false] {
        let mut a = vec![bf16::ZERO; m * k];
        let mut b = vec![bf16::ZERO; k * n];
        let mut want = vec![0f32; m * n];
        if tiny_in_a {
            a[3 * k + 5] = tiny;
            b[5 * n..6 * n].fill(big);
            want[3 * n..4 * n].fill(product);
        } else {
            (0..m).for_each(|i| a[i * k + 5] = big);
            b[5 * n + 7] = tiny;
            (0..m).for_each(|i| want[i * n + 7] = product);
        }
        let (am, bm) = (
            MatRef::new(&a, m, k).unwrap(),
            MatRef::new(&b, k, n).unwrap(),
        );
        for backend in gemm_backends() {
            let c = a_times_b(backend, am, bm);
            assert_eq!(c, want, "{backend:?}, subnormal in A: {tiny_in_a}");
        }
    }
}

/// A subnormal value in one row of A sends only that row's panel (at most 12 rows on every
/// tier) to the FMA kernel: every other row keeps its bits. On `Amx`, whose hardware kernel
/// takes two panels at once where both may, the panels beside it change partners (five
/// panels: pairs (0, 1), (2, 3) and 4 alone become 0 by FMA, pairs (1, 2) and (3, 4)), with
/// the same bits.
#[test]
fn a_subnormal_row_changes_no_other_panel() {
    let mut rng = Rng::new(59);
    let (m, n, k) = (60, 40, 300);
    let a = values::<bf16>(&mut rng, m * k);
    let b = values::<bf16>(&mut rng, k * n);
    let mut tainted = a.clone();
    tainted[5] = bf16::from_bits(0x0003); // row 0
    let bm = MatRef::new(&b, k, n).unwrap();
    for backend in gemm_backends() {
        let clean = a_times_b(backend, MatRef::new(&a, m, k).unwrap(), bm);
        let other = a_times_b(backend, MatRef::new(&tainted, m, k).unwrap(), bm);
        assert_eq!(
            bits(&clean[12 * n..]),
            bits(&other[12 * n..]),
            "{backend:?}"
        );
    }
}

/// On a tier with a bf16 instruction, `Bf16Gemm::WidenFma` gives the bits of the tier below
/// (whose kernel it runs) and `Hardware` other bits: the choice takes effect both ways,
/// whichever this CPU's default.
#[test]
fn the_bf16_gemm_choice_picks_the_kernel() {
    let mut rng = Rng::new(57);
    let (m, n, k) = (13, 40, 300);
    let (a, b) = (
        values::<bf16>(&mut rng, m * k),
        values::<bf16>(&mut rng, k * n),
    );
    let (am, bm) = (
        MatRef::new(&a, m, k).unwrap(),
        MatRef::new(&b, k, n).unwrap(),
    );
    let mut checked = 0;
    for backend in common::backends() {
        let Some(hardware) = backend.with_bf16_gemm(Bf16Gemm::Hardware) else {
            assert_eq!(backend.bf16_gemm(), Bf16Gemm::WidenFma, "{backend:?}");
            continue;
        };
        let fma = backend.with_bf16_gemm(Bf16Gemm::WidenFma).unwrap();
        let below = match backend.isa().name() {
            "avx512bf16" | "amx" => "avx512",
            "neonbf16" => "neon",
            other => panic!("{other} has a hardware kernel this test does not know"),
        };
        let below = Backend::from_name(below).unwrap();
        let fma_bits = bits(&a_times_b(fma, am, bm));
        assert_eq!(fma_bits, bits(&a_times_b(below, am, bm)), "{backend:?}");
        assert_ne!(bits(&a_times_b(hardware, am, bm)), fma_bits, "{backend:?}");
        assert_ne!(hardware, fma);
        checked += 1;
    }
    let tiers = common::backends()
        .iter()
        .map(|b| b.isa().name())
        .collect::<Vec<_>>();
    let has_hardware = tiers.contains(&"avx512bf16") || tiers.contains(&"neonbf16");
    assert_eq!(checked > 0, has_hardware, "{tiers:?}");
}

#[test]
fn beta_zero_never_reads_c_and_nan_in_inputs_propagates() {
    let (m, n, k) = (7, 19, 33);
    let mut a = vec![bf16::ONE; m * k];
    a[2 * k + 5] = bf16::NAN; // row 2
    let b = vec![bf16::from_f32(0.5); k * n];
    let (am, bm) = (
        MatRef::new(&a, m, k).unwrap(),
        MatRef::new(&b, k, n).unwrap(),
    );
    for backend in gemm_backends() {
        let c = a_times_b(backend, am, bm);
        for i in 0..m {
            for j in 0..n {
                let v = c[i * n + j];
                if i == 2 {
                    assert!(v.is_nan(), "{backend:?} ({i},{j})");
                } else {
                    assert_eq!(v, 16.5, "{backend:?} ({i},{j})");
                }
            }
        }
        // k == 0: an empty sum; beta == 0 overwrites, beta != 0 scales.
        let empty_a: [f32; 0] = [];
        let a0 = MatRef::new(&empty_a, 3, 0).unwrap();
        let b0 = MatRef::new(&empty_a, 0, 2).unwrap();
        assert_eq!(
            run(backend, a0, b0, (1.0, 0.0), &[f32::NAN; 6], Par::Seq),
            [0.0; 6]
        );
        assert_eq!(
            run(backend, a0, b0, (1.0, 2.0), &[1.5f32; 6], Par::Seq),
            [3.0; 6]
        );
    }
}

#[cfg(feature = "rayon")] // builds its own pools
#[test]
fn the_same_bits_for_any_thread_count_and_packed_or_not() {
    let mut rng = Rng::new(54);
    // Tall (rows split) and short-and-wide (columns split), above the one-thread threshold.
    for (m, n, k) in [(301, 67, 129), (5, 1000, 300)] {
        let a = values::<f32>(&mut rng, m * k);
        let w = values::<bf16>(&mut rng, n * k);
        let (am, bm) = (
            MatRef::new(&a, m, k).unwrap(),
            MatRef::new(&w, n, k).unwrap().t(),
        );
        for backend in gemm_backends() {
            let fill = vec![1.0f32; m * n];
            let seq = run(backend, am, bm, (1.0, 0.5), &fill, Par::Seq);
            for threads in [2, 3, 7] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let par = pool.install(|| run(backend, am, bm, (1.0, 0.5), &fill, Par::Rayon(0)));
                assert_eq!(
                    bits(&par),
                    bits(&seq),
                    "{backend:?} {m}x{n}x{k} {threads} threads"
                );
                let more = run(backend, am, bm, (1.0, 0.5), &fill, Par::Rayon(threads));
                assert_eq!(bits(&more), bits(&seq), "{backend:?} Rayon({threads})");
            }
            let packed = backend.pack_b(bm);
            let mut c = fill.clone();
            let cm = MatMut::new(&mut c, m, n).unwrap();
            backend
                .gemm_packed(1.0, am, &packed, 0.5, cm, Par::Rayon(2))
                .unwrap();
            assert_eq!(bits(&c), bits(&seq), "{backend:?} packed");
        }
    }
}

#[test]
fn bad_shapes_and_foreign_packings_are_typed_errors() {
    let a = [1.0f32; 12];
    let mut c = [0.0f32; 12];
    for backend in gemm_backends() {
        let am = MatRef::new(&a, 3, 4).unwrap();
        let b_wrong = MatRef::new(&a, 3, 4).unwrap(); // k would be 3, A has 4 columns
        let cm = MatMut::new(&mut c, 3, 4).unwrap();
        assert!(matches!(
            backend.gemm(1.0, am, b_wrong, 0.0, cm, Par::Seq),
            Err(Error::Shape { .. })
        ));
        let b = MatRef::new(&a, 4, 3).unwrap();
        let c_wrong = MatMut::new(&mut c, 3, 4).unwrap(); // should be 3 x 3
        assert!(matches!(
            backend.gemm(1.0, am, b, 0.0, c_wrong, Par::Seq),
            Err(Error::Shape { .. })
        ));
    }
    assert!(MatMut::with_row_stride(&mut c, 3, 4, 3).is_err());
    assert!(MatMut::new(&mut c, 4, 4).is_err());
    assert!(MatRef::with_strides(&a, 4, 4, 1, 4).is_err());
    assert!(MatRef::with_strides(&a, 3, 4, 1, 3).is_ok());
    assert!(MatRef::with_strides(&a, 2, 2, usize::MAX, 1).is_err());
    // Packed for the scalar tier (4-wide panels), used by a tier with another layout.
    let scalar = Backend::new(Isa::Scalar).unwrap();
    let packed = scalar.pack_b(MatRef::new(&a, 4, 3).unwrap());
    for backend in gemm_backends() {
        let cm = MatMut::new(&mut c, 3, 3).unwrap();
        let result = backend.gemm_packed(
            1.0,
            MatRef::new(&a, 3, 4).unwrap(),
            &packed,
            0.0,
            cm,
            Par::Seq,
        );
        if backend.isa() == Isa::Scalar {
            result.unwrap();
        } else if result.is_err() {
            assert!(matches!(
                result,
                Err(Error::PackedLayout {
                    packed_for: Isa::Scalar,
                    ..
                })
            ));
        }
    }
    // GEMV streams rows: a transposed W is refused, not misread.
    let w = MatRef::new(&a, 3, 4).unwrap().t();
    let mut y = [0.0f32; 4];
    assert!(matches!(
        Backend::active().gemv(1.0, w, &[1.0; 3], 0.0, &mut y, Par::Seq),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn packed_b_reports_its_shape_and_layout() {
    let w = vec![bf16::ONE; 10 * 3];
    for backend in gemm_backends() {
        let p = backend.pack_b(MatRef::new(&w, 10, 3).unwrap().t());
        assert_eq!(
            (p.k(), p.n(), p.isa(), p.source_dtype()),
            (3, 10, backend.isa(), DType::BF16)
        );
        assert!(p.size_bytes() >= 10 * 3 * 2);
    }
}

#[test]
fn tensor_matmul_matches_the_slice_api() {
    let mut rng = Rng::new(55);
    let (m, n, k) = (6, 10, 40);
    let x = values::<f32>(&mut rng, 2 * m * k);
    let w = values::<bf16>(&mut rng, n * k);
    let xt = Tensor::from_slice(&[2, m, k], &x).unwrap();
    let wt = Tensor::from_slice(&[n, k], &w).unwrap();
    let y = xt.matmul_t(&wt).unwrap();
    assert_eq!(y.shape(), &[2, m, n]);
    let want = run(
        Backend::active(),
        MatRef::new(&x, 2 * m, k).unwrap(),
        MatRef::new(&w, n, k).unwrap().t(),
        (1.0, 0.0),
        &vec![0.0f32; 2 * m * n],
        Par::Seq,
    );
    assert_eq!(bits(y.as_slice::<f32>().unwrap()), bits(&want));
    // The same weights stored [k, n].
    let w_kn: Vec<bf16> = (0..k * n).map(|i| w[(i % n) * k + i / n]).collect();
    let y2 = xt
        .matmul(&Tensor::from_slice(&[k, n], &w_kn).unwrap())
        .unwrap();
    assert_eq!(y2.as_bytes(), y.as_bytes());
    // Mixed dtypes, and shape errors.
    let xh = xt.to_dtype(DType::F16);
    assert_eq!(xh.matmul_t(&wt).unwrap().shape(), &[2, m, n]);
    assert!(matches!(xt.matmul(&wt), Err(Error::Shape { .. })));
    assert!(matches!(xt.matmul(&xt), Err(Error::Shape { .. })));
    let scalar = Tensor::from_slice(&[], &[1.0f32]).unwrap();
    assert!(matches!(scalar.matmul(&wt), Err(Error::Shape { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_shapes_and_strides_meet_the_bound(
        m in 0usize..40, n in 0usize..40, k in 0usize..300,
        bt: bool, at: bool, pad in 0usize..3, seed: u64,
    ) {
        let mut rng = Rng::new(seed);
        for backend in gemm_backends() {
            check::<bf16, bf16>(backend, &mut rng, (m, n, k), bt, at, pad, (1.0, 0.5));
        }
    }
}

/// Packing is pure layout: a `PackedB` from `w.t()` and one from an explicitly transposed copy
/// give the same products.
#[test]
fn both_b_layouts_pack_to_the_same_panels() {
    let mut rng = Rng::new(56);
    let (n, k) = (23, 45);
    let w = values::<f16>(&mut rng, n * k);
    let w_kn: Vec<f16> = (0..k * n).map(|i| w[(i % n) * k + i / n]).collect();
    let a = values::<f32>(&mut rng, 3 * k);
    for backend in gemm_backends() {
        let p1 = backend.pack_b(MatRef::new(&w, n, k).unwrap().t());
        let p2 = backend.pack_b(MatRef::new(&w_kn, k, n).unwrap());
        let mut c1 = vec![0.0f32; 3 * n];
        let mut c2 = vec![0.0f32; 3 * n];
        let am = MatRef::new(&a, 3, k).unwrap();
        backend
            .gemm_packed(
                1.0,
                am,
                &p1,
                0.0,
                MatMut::new(&mut c1, 3, n).unwrap(),
                Par::Seq,
            )
            .unwrap();
        backend
            .gemm_packed(
                1.0,
                am,
                &p2,
                0.0,
                MatMut::new(&mut c2, 3, n).unwrap(),
                Par::Seq,
            )
            .unwrap();
        assert_eq!(bits(&c1), bits(&c2));
        let _ = PackedB::pack(MatRef::new(&w, n, k).unwrap().t());
    }
}

/// Found by the gemv fuzz target: a view with rows but no columns needs no data, and its rows
/// are empty (not a slice past the end of an empty buffer).
#[test]
fn views_with_no_columns_have_empty_rows() {
    let empty: [f32; 0] = [];
    let m = MatRef::with_row_stride(&empty, 3, 0, 2).unwrap();
    assert_eq!(m.row(2), &[] as &[f32]);
    let mut y = [f32::NAN; 3];
    for backend in gemm_backends() {
        backend.gemv(1.0, m, &[], 0.0, &mut y, Par::Seq).unwrap();
        assert_eq!(y, [0.0; 3]);
    }
    let mut none: [f32; 0] = [];
    let mut c = MatMut::with_row_stride(&mut none, 2, 0, 5).unwrap();
    assert!(c.row_mut(1).is_empty());
}
