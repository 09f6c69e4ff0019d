//! Slices that end at, or start on, a 4096-byte boundary. There the x86 kernels' masked loads
//! and stores would reach a page that holds none of the slice, and they take another way (a
//! masked window over such a page cost about 250 ns on a Zen 5 core when the page was not
//! mapped): the bits must not change. The pages here are mapped, so these tests check the
//! other ways' results; `cargo run --release --example x86_page_end` times them.

mod common;

use common::{backends, Rng};
use half::{bf16, f16};
use lowp::{Backend, Generator, Isa, SrOptions};

/// `n` elements of `buf` that end (`at_end`) or start on a 4096-byte boundary inside it.
fn at_page<T>(buf: &mut [T], n: usize, at_end: bool) -> &mut [T] {
    let page = buf.as_ptr().align_offset(4096) + 4096 / size_of::<T>();
    let start = if at_end { page - n } else { page };
    &mut buf[start..start + n]
}

/// Room for [`at_page`] slices of up to 1024 elements of 4 bytes.
const BUFFER: usize = 3 * 4096;

fn bits16<T: Copy>(v: &[T]) -> Vec<u16> {
    v.iter()
        .map(|x| {
            let mut b = [0u8; 2];
            // SAFETY: `T` is a 2-byte float type (bf16 or f16) here.
            b.copy_from_slice(unsafe { std::slice::from_raw_parts((x as *const T).cast(), 2) });
            u16::from_ne_bytes(b)
        })
        .collect()
}

#[test]
fn conversions_and_dots_at_page_boundaries_keep_their_bits() {
    let scalar = Backend::new(Isa::Scalar).expect("the scalar tier is always there");
    let mut rng = Rng::new(0x9a6e);
    let mut f32_buf = vec![0.0f32; BUFFER];
    let mut out32 = vec![0.0f32; BUFFER];
    let (mut b_buf, mut h_buf) = (vec![bf16::ZERO; 2 * BUFFER], vec![f16::ZERO; 2 * BUFFER]);
    for n in 0..=40 {
        let x: Vec<f32> = (0..n).map(|_| f32::from_bits(rng.f32_bits())).collect();
        let b: Vec<bf16> = (0..n).map(|_| bf16::from_bits(rng.u16_bits())).collect();
        let h: Vec<f16> = (0..n).map(|_| f16::from_bits(rng.u16_bits())).collect();
        let (mut want_b, mut want_h) = (vec![bf16::ZERO; n], vec![f16::ZERO; n]);
        let (mut want_wb, mut want_wh) = (vec![0.0f32; n], vec![0.0f32; n]);
        scalar.f32_to_bf16(&x, &mut want_b).unwrap();
        scalar.f32_to_f16(&x, &mut want_h).unwrap();
        scalar.bf16_to_f32(&b, &mut want_wb).unwrap();
        scalar.f16_to_f32(&h, &mut want_wh).unwrap();
        for backend in backends() {
            // The dots are held to the same tier's result on copies in the middle of a buffer.
            let dots = |x: &[f32], b: &[bf16], h: &[f16]| {
                [
                    backend.dot_bf16(b, b).unwrap(),
                    backend.dot_f16(h, h).unwrap(),
                    backend.dot_f32_bf16(x, b).unwrap(),
                ]
                .map(f32::to_bits)
            };
            let want_dots = dots(&x, &b, &h);
            for at_end in [true, false] {
                let case = format!("{:?}, {n} elements, at_end {at_end}", backend.isa());
                let xs = at_page(&mut f32_buf, n, at_end);
                xs.copy_from_slice(&x);
                let (bs, hs) = (
                    at_page(&mut b_buf, n, at_end),
                    at_page(&mut h_buf, n, at_end),
                );
                bs.copy_from_slice(&b);
                hs.copy_from_slice(&h);
                assert_eq!(dots(xs, bs, hs), want_dots, "dots, {case}");
                let out = at_page(&mut out32, n, at_end);
                backend.bf16_to_f32(bs, out).unwrap();
                assert_eq!(
                    out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want_wb.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "bf16 -> f32, {case}"
                );
                backend.f16_to_f32(hs, out).unwrap();
                assert_eq!(
                    out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    want_wh.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    "f16 -> f32, {case}"
                );
                backend.f32_to_bf16(xs, bs).unwrap();
                assert_eq!(bits16(bs), bits16(&want_b), "f32 -> bf16, {case}");
                backend.f32_to_f16(xs, hs).unwrap();
                assert_eq!(bits16(hs), bits16(&want_h), "f32 -> f16, {case}");
            }
        }
    }
}

#[test]
fn stochastic_rounding_at_page_boundaries_keeps_its_bits() {
    let scalar = Backend::new(Isa::Scalar).expect("the scalar tier is always there");
    let mut rng = Rng::new(0x5eed);
    let mut f32_buf = vec![0.0f32; BUFFER];
    let (mut b_buf, mut h_buf) = (vec![bf16::ZERO; 2 * BUFFER], vec![f16::ZERO; 2 * BUFFER]);
    let mut w_buf = vec![bf16::ZERO; 2 * BUFFER];
    // Tails of up to 255 elements after a whole chunk of 256 (AVX-512) or 64 (`Avx2`).
    for n in (0..=70).chain([250, 255, 287, 300, 511]) {
        let x: Vec<f32> = (0..n).map(|_| f32::from_bits(rng.f32_bits())).collect();
        let w0: Vec<bf16> = (0..n).map(|_| bf16::from_bits(rng.u16_bits())).collect();
        for offset in 0..8u64 {
            for generator in [Generator::Ars5, Generator::Philox4x32_10] {
                let o = SrOptions::from(generator);
                let (mut want_b, mut want_h, mut want_w) =
                    (vec![bf16::ZERO; n], vec![f16::ZERO; n], w0.clone());
                scalar
                    .f32_to_bf16_stochastic_with(&x, &mut want_b, 9, offset, o)
                    .unwrap();
                scalar
                    .f32_to_f16_stochastic_with(&x, &mut want_h, 9, offset, o)
                    .unwrap();
                scalar
                    .axpy_bf16_stochastic_with(0.5, &x, &mut want_w, 9, offset, o)
                    .unwrap();
                for backend in backends() {
                    for at_end in [true, false] {
                        let case = format!(
                            "{:?}, {n} elements from {offset}, {generator:?}, at_end {at_end}",
                            backend.isa()
                        );
                        let xs = at_page(&mut f32_buf, n, at_end);
                        xs.copy_from_slice(&x);
                        let bs = at_page(&mut b_buf, n, at_end);
                        backend
                            .f32_to_bf16_stochastic_with(xs, bs, 9, offset, o)
                            .unwrap();
                        assert_eq!(bits16(bs), bits16(&want_b), "bf16, {case}");
                        let hs = at_page(&mut h_buf, n, at_end);
                        backend
                            .f32_to_f16_stochastic_with(xs, hs, 9, offset, o)
                            .unwrap();
                        assert_eq!(bits16(hs), bits16(&want_h), "f16, {case}");
                        let ws = at_page(&mut w_buf, n, at_end);
                        ws.copy_from_slice(&w0);
                        backend
                            .axpy_bf16_stochastic_with(0.5, xs, ws, 9, offset, o)
                            .unwrap();
                        assert_eq!(bits16(ws), bits16(&want_w), "update, {case}");
                    }
                }
            }
        }
    }
}
