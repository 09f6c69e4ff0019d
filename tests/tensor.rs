//! `Tensor`: alignment, shapes, typed access, and `to_dtype` equal to the slice conversions.

mod common;

use common::Rng;
use half::{bf16, f16};
use lowp::reference::convert as r;
use lowp::{DType, Error, Tensor};

#[test]
fn zeros_are_aligned_and_shaped() {
    for shape in [&[][..], &[0], &[1], &[3, 5], &[2, 0, 7], &[17, 33]] {
        for dtype in [DType::F32, DType::BF16, DType::F16] {
            let t = Tensor::zeros(shape, dtype).unwrap();
            let len: usize = shape.iter().product();
            assert_eq!(
                (t.shape(), t.dtype(), t.len(), t.is_empty()),
                (shape, dtype, len, len == 0)
            );
            assert_eq!(t.as_bytes().len(), len * dtype.size_of());
            assert_eq!(t.as_bytes().as_ptr() as usize % 64, 0);
            assert!(t.as_bytes().iter().all(|&b| b == 0));
        }
    }
}

#[test]
fn bad_shapes_and_lengths_are_errors() {
    let err = Tensor::zeros(&[usize::MAX, 2], DType::F32).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    let err = Tensor::zeros(&[usize::MAX / 2], DType::F32).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    let err = Tensor::from_slice(&[2, 3], &[1.0f32; 5]).unwrap_err();
    assert_eq!(
        err,
        Error::LengthMismatch {
            what: "data",
            expected: 6,
            actual: 5
        }
    );
}

#[test]
fn typed_access_checks_the_dtype() {
    let mut t = Tensor::from_slice(&[4], &[bf16::ONE; 4]).unwrap();
    assert_eq!(t.as_slice::<bf16>().unwrap(), &[bf16::ONE; 4]);
    assert_eq!(
        t.as_slice::<f32>().unwrap_err(),
        Error::DType {
            expected: DType::F32,
            actual: DType::BF16
        }
    );
    assert!(t.as_mut_slice::<f16>().is_err());
    t.as_mut_slice::<bf16>().unwrap()[2] = bf16::NEG_ONE;
    assert_eq!(t.as_slice::<bf16>().unwrap()[2], bf16::NEG_ONE);
}

fn bits(t: &Tensor) -> Vec<u32> {
    match t.dtype() {
        DType::F32 => t
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect(),
        DType::BF16 => t
            .as_slice::<bf16>()
            .unwrap()
            .iter()
            .map(|v| u32::from(v.to_bits()))
            .collect(),
        DType::F16 => t
            .as_slice::<f16>()
            .unwrap()
            .iter()
            .map(|v| u32::from(v.to_bits()))
            .collect(),
        _ => unreachable!(),
    }
}

/// Every dtype pair, element by element against the reference (bf16 <-> f16 via exact f32).
#[test]
fn to_dtype_matches_the_reference_for_every_pair() {
    let mut rng = Rng::new(11);
    let n = 3000; // more than one 1024-element staging chunk
    let f: Vec<f32> = (0..n).map(|_| f32::from_bits(rng.f32_bits())).collect();
    let b: Vec<bf16> = (0..n).map(|_| bf16::from_bits(rng.u16_bits())).collect();
    let h: Vec<f16> = (0..n).map(|_| f16::from_bits(rng.u16_bits())).collect();
    let sources = [
        Tensor::from_slice(&[3, 1000], &f).unwrap(),
        Tensor::from_slice(&[3, 1000], &b).unwrap(),
        Tensor::from_slice(&[3, 1000], &h).unwrap(),
    ];
    for src in &sources {
        let src_bits = bits(src);
        for to in [DType::F32, DType::BF16, DType::F16] {
            let out = src.to_dtype(to);
            assert_eq!((out.shape(), out.dtype()), (src.shape(), to));
            let want: Vec<u32> = (0..n)
                .map(|i| {
                    let wide = match src.dtype() {
                        DType::F32 => f[i],
                        DType::BF16 => r::bf16_to_f32(b[i]),
                        _ => r::f16_to_f32(h[i]),
                    };
                    match (src.dtype() == to, to) {
                        (true, _) => src_bits[i],
                        (false, DType::F32) => wide.to_bits(),
                        (false, DType::BF16) => u32::from(r::f32_to_bf16(wide).to_bits()),
                        (false, _) => u32::from(r::f32_to_f16(wide).to_bits()),
                    }
                })
                .collect();
            assert_eq!(bits(&out), want, "{} -> {to}", src.dtype());
        }
    }
}

/// Stochastic narrowing: element `i` (row-major) rounds with index `i`, with the generator and
/// overflow mode `Rounding::StochasticWith` names; `Stochastic` is Philox with IEEE overflow.
#[test]
fn stochastic_to_dtype_matches_the_reference() {
    use lowp::reference::stochastic as sr;
    use lowp::{Generator, Overflow, Rounding, SrOptions};
    let mut rng = Rng::new(12);
    let n = 3000;
    let f: Vec<f32> = (0..n).map(|_| f32::from_bits(rng.f32_bits())).collect();
    let t = Tensor::from_slice(&[3, 1000], &f).unwrap();
    let options = SrOptions {
        overflow: Overflow::Saturate,
        generator: Generator::Ars5,
    };
    let cases = [
        (Rounding::Stochastic { seed: 9 }, SrOptions::default()),
        (Rounding::StochasticWith { seed: 9, options }, options),
    ];
    for (rounding, o) in cases {
        let b = t.to_dtype_with(DType::BF16, rounding);
        let h = t.to_dtype_with(DType::F16, rounding);
        let want_b: Vec<u32> = (0..n as u64)
            .map(|i| u32::from(sr::f32_to_bf16_stochastic(f[i as usize], 9, i, o).to_bits()))
            .collect();
        let want_h: Vec<u32> = (0..n as u64)
            .map(|i| u32::from(sr::f32_to_f16_stochastic(f[i as usize], 9, i, o).to_bits()))
            .collect();
        assert_eq!(bits(&b), want_b, "{rounding:?} bf16");
        assert_eq!(bits(&h), want_h, "{rounding:?} f16");
    }
}
