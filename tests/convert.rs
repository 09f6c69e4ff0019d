//! Every backend's conversions against the reference: all lengths 0..=300 (and a few large),
//! misaligned source and destination, special values, all 2^16 16-bit inputs, the shared test
//! vectors, and properties (round trip, nearest, monotone) under proptest.

mod common;

use common::{backends, lengths, Rng, OFFSETS};
use half::{bf16, f16};
use lowp::reference::convert as r;
use lowp::{Backend, Error};
use proptest::prelude::*;

/// A 16-bit sentinel written past the end of every destination: a kernel that stores outside
/// its slice (a bad mask or tail) changes it.
const CANARY: u16 = 0x5a5a;

type Narrow<T> = fn(Backend, &[f32], &mut [T]) -> Result<(), Error>;
type Widen<T> = fn(Backend, &[T], &mut [f32]) -> Result<(), Error>;

/// Runs `kernel` on `src[off..]` into a destination at offset `off`, and checks it against
/// `reference` element by element plus the canaries on both sides.
fn check_narrow<T: Copy + PartialEq + core::fmt::Debug>(
    name: &str,
    kernel: Narrow<T>,
    reference: fn(f32) -> T,
    bits: fn(T) -> u16,
    from_bits: fn(u16) -> T,
    lengths: &[usize],
    offsets: &[usize],
) {
    let mut rng = Rng::new(0x5eed_0001);
    for backend in backends() {
        for &len in lengths {
            for &off in offsets {
                let src: Vec<f32> = (0..len + off)
                    .map(|_| f32::from_bits(rng.f32_bits()))
                    .collect();
                let mut dst = vec![from_bits(CANARY); len + 2 * off + 1];
                kernel(backend, &src[off..], &mut dst[off..off + len]).unwrap();
                for (i, &x) in src[off..].iter().enumerate() {
                    let (got, want) = (bits(dst[off + i]), bits(reference(x)));
                    assert_eq!(
                        got, want,
                        "{name} on {backend:?}: len {len} offset {off} index {i}: input {:#010x} gave {got:#06x}, reference {want:#06x}",
                        x.to_bits()
                    );
                }
                let outside = dst[..off].iter().chain(&dst[off + len..]);
                assert!(
                    outside.copied().all(|v| bits(v) == CANARY),
                    "{name} on {backend:?} wrote outside dst (len {len}, offset {off})"
                );
            }
        }
    }
}

fn check_widen<T: Copy>(
    name: &str,
    kernel: Widen<T>,
    reference: fn(T) -> f32,
    from_bits: fn(u16) -> T,
    lengths: &[usize],
    offsets: &[usize],
) {
    let mut rng = Rng::new(0x5eed_0002);
    let canary = f32::from_bits(0x5a5a_5a5a);
    for backend in backends() {
        for &len in lengths {
            for &off in offsets {
                let src: Vec<T> = (0..len + off).map(|_| from_bits(rng.u16_bits())).collect();
                let mut dst = vec![canary; len + 2 * off + 1];
                kernel(backend, &src[off..], &mut dst[off..off + len]).unwrap();
                for (i, &x) in src[off..].iter().enumerate() {
                    let (got, want) = (dst[off + i].to_bits(), reference(x).to_bits());
                    assert_eq!(got, want, "{name} on {backend:?}: len {len} offset {off} index {i}: got {got:#010x}, reference {want:#010x}");
                }
                let outside = dst[..off].iter().chain(&dst[off + len..]);
                assert!(
                    outside.copied().all(|v| v.to_bits() == canary.to_bits()),
                    "{name} on {backend:?} wrote outside dst"
                );
            }
        }
    }
}

/// Small and medium lengths at every offset.
fn all_lengths() -> Vec<usize> {
    lengths().collect()
}

/// Outputs past the x86 streaming threshold (16 MiB), at an odd offset so the aligned body has
/// a head and a tail: exercises the non-temporal store path. None under Miri, where millions
/// of elements would take hours.
const STREAMED_NARROW: &[usize] = if cfg!(miri) {
    &[]
} else {
    &[(16 << 20) / 2 + 37]
};
const STREAMED_WIDEN: &[usize] = if cfg!(miri) {
    &[]
} else {
    &[(16 << 20) / 4 + 37]
};

#[test]
fn f32_to_bf16_matches_reference_on_every_backend() {
    let args = (
        "f32_to_bf16",
        Backend::f32_to_bf16 as Narrow<bf16>,
        r::f32_to_bf16 as fn(f32) -> bf16,
    );
    check_narrow(
        args.0,
        args.1,
        args.2,
        bf16::to_bits,
        bf16::from_bits,
        &all_lengths(),
        &OFFSETS,
    );
    check_narrow(
        args.0,
        args.1,
        args.2,
        bf16::to_bits,
        bf16::from_bits,
        STREAMED_NARROW,
        &[1],
    );
}

#[test]
fn f32_to_f16_matches_reference_on_every_backend() {
    let args = (
        "f32_to_f16",
        Backend::f32_to_f16 as Narrow<f16>,
        r::f32_to_f16 as fn(f32) -> f16,
    );
    check_narrow(
        args.0,
        args.1,
        args.2,
        f16::to_bits,
        f16::from_bits,
        &all_lengths(),
        &OFFSETS,
    );
    check_narrow(
        args.0,
        args.1,
        args.2,
        f16::to_bits,
        f16::from_bits,
        STREAMED_NARROW,
        &[1],
    );
}

#[test]
fn bf16_to_f32_matches_reference_on_every_backend() {
    let args = (
        "bf16_to_f32",
        Backend::bf16_to_f32 as Widen<bf16>,
        r::bf16_to_f32 as fn(bf16) -> f32,
    );
    check_widen(
        args.0,
        args.1,
        args.2,
        bf16::from_bits,
        &all_lengths(),
        &OFFSETS,
    );
    check_widen(
        args.0,
        args.1,
        args.2,
        bf16::from_bits,
        STREAMED_WIDEN,
        &[1],
    );
}

#[test]
fn f16_to_f32_matches_reference_on_every_backend() {
    let args = (
        "f16_to_f32",
        Backend::f16_to_f32 as Widen<f16>,
        r::f16_to_f32 as fn(f16) -> f32,
    );
    check_widen(
        args.0,
        args.1,
        args.2,
        f16::from_bits,
        &all_lengths(),
        &OFFSETS,
    );
    check_widen(args.0, args.1, args.2, f16::from_bits, STREAMED_WIDEN, &[1]);
}

/// All 65536 inputs through every backend, against the reference and against `half`.
#[test]
fn widening_is_exhaustively_exact() {
    let bf: Vec<bf16> = (0..=u16::MAX).map(bf16::from_bits).collect();
    let hf: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
    let mut out = vec![0f32; 1 << 16];
    for backend in backends() {
        backend.bf16_to_f32(&bf, &mut out).unwrap();
        for (x, y) in bf.iter().zip(&out) {
            assert_eq!(
                y.to_bits(),
                r::bf16_to_f32(*x).to_bits(),
                "{backend:?} bf16 {:#06x}",
                x.to_bits()
            );
            assert_eq!(
                y.to_bits(),
                x.to_f32().to_bits(),
                "{backend:?} vs half, bf16 {:#06x}",
                x.to_bits()
            );
        }
        backend.f16_to_f32(&hf, &mut out).unwrap();
        for (x, y) in hf.iter().zip(&out) {
            assert_eq!(
                y.to_bits(),
                r::f16_to_f32(*x).to_bits(),
                "{backend:?} f16 {:#06x}",
                x.to_bits()
            );
            assert_eq!(
                y.to_bits(),
                x.to_f32().to_bits(),
                "{backend:?} vs half, f16 {:#06x}",
                x.to_bits()
            );
        }
    }
}

/// Every 16-bit value survives widen-then-narrow, except that signalling NaNs come back quiet.
#[test]
fn every_16_bit_value_round_trips_on_every_backend() {
    let mut wide = vec![0f32; 1 << 16];
    for backend in backends() {
        let bf: Vec<bf16> = (0..=u16::MAX).map(bf16::from_bits).collect();
        let mut back = vec![bf16::ZERO; 1 << 16];
        backend.bf16_to_f32(&bf, &mut wide).unwrap();
        backend.f32_to_bf16(&wide, &mut back).unwrap();
        for (x, y) in bf.iter().zip(&back) {
            let quiet = if x.is_nan() {
                x.to_bits() | 0x0040
            } else {
                x.to_bits()
            };
            assert_eq!(y.to_bits(), quiet, "{backend:?} bf16 {:#06x}", x.to_bits());
        }
        let hf: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
        let mut back = vec![f16::ZERO; 1 << 16];
        backend.f16_to_f32(&hf, &mut wide).unwrap();
        backend.f32_to_f16(&wide, &mut back).unwrap();
        for (x, y) in hf.iter().zip(&back) {
            let quiet = if x.is_nan() {
                x.to_bits() | 0x0200
            } else {
                x.to_bits()
            };
            assert_eq!(y.to_bits(), quiet, "{backend:?} f16 {:#06x}", x.to_bits());
        }
    }
}

/// `shared/data/format-vectors.md`, bf16 table, `ref ieee` column: (f32 input, expected).
const BF16_VECTORS: &[(u32, u16)] = &[
    (0x0000_0000, 0x0000), // +0
    (0x8000_0000, 0x8000), // -0
    (0x0000_0001, 0x0000), // min f32 subnormal
    (0x807f_ffff, 0x8080), // -max f32 subnormal
    (0x3f80_0000, 0x3f80), // 1.0
    (0xbf80_0000, 0xbf80), // -1.0
    (0x3f80_8000, 0x3f80), // 1+ulp/2 (tie, even down)
    (0x3f81_8000, 0x3f82), // 1+1.5ulp (tie, odd->up)
    (0x3f80_4000, 0x3f80), // 1+ulp/4
    (0x0080_0000, 0x0080), // target min normal
    (0x0001_0000, 0x0001), // target min subnormal
    (0x0000_8000, 0x0000), // half min subnormal (tie->0)
    (0x0001_8000, 0x0002), // 1.5*min subnormal (tie->even 2*ms)
    (0x007f_8000, 0x0080), // max subnormal + half ulp (tie -> min normal)
    (0x7f7f_0000, 0x7f7f), // target max finite
    (0xff7f_0000, 0xff7f), // -(target max finite)
    (0x7f7f_8000, 0x7f80), // max + ulp/2 (overflow tie)
    (0xff7f_8000, 0xff80), // -(max + ulp/2 (overflow tie))
    (0x7f7f_4000, 0x7f7f), // max + ulp/4
    (0xff7f_4000, 0xff7f), // -(max + ulp/4)
    (0x7f7f_ffff, 0x7f80), // FLT_MAX (rounds to inf)
    (0x7f7f_7fff, 0x7f7f), // just below bf16 overflow tie
    (0x7f80_0000, 0x7f80), // +inf
    (0xff80_0000, 0xff80), // -inf
    (0x7fc0_0000, 0x7fc0), // qNaN
    (0xffc0_0000, 0xffc0), // -qNaN (x86 default NaN)
    (0x7f80_0001, 0x7fc0), // sNaN payload only in low bits
    (0x7fa0_0000, 0x7fe0), // sNaN payload bit 21
    (0x7fff_ffff, 0x7fff), // NaN all-ones payload
];

/// `shared/data/format-vectors.md`, f16 table, `ref ieee` column: (f32 input, expected).
const F16_VECTORS: &[(u32, u16)] = &[
    (0x0000_0000, 0x0000), // +0
    (0x8000_0000, 0x8000), // -0
    (0x0000_0001, 0x0000), // min f32 subnormal
    (0x807f_ffff, 0x8000), // -max f32 subnormal
    (0x3f80_0000, 0x3c00), // 1.0
    (0xbf80_0000, 0xbc00), // -1.0
    (0x3f80_1000, 0x3c00), // 1+ulp/2 (tie, even down)
    (0x3f80_3000, 0x3c02), // 1+1.5ulp (tie, odd->up)
    (0x3f80_0800, 0x3c00), // 1+ulp/4
    (0x3880_0000, 0x0400), // target min normal
    (0x3380_0000, 0x0001), // target min subnormal
    (0x3300_0000, 0x0000), // half min subnormal (tie->0)
    (0x33c0_0000, 0x0002), // 1.5*min subnormal (tie->even 2*ms)
    (0x3300_0008, 0x0001), // just above half min subnormal
    (0x387f_e000, 0x0400), // max subnormal + half ulp (tie -> min normal)
    (0x477f_e000, 0x7bff), // target max finite
    (0xc77f_e000, 0xfbff), // -(target max finite)
    (0x477f_f000, 0x7c00), // max + ulp/2 (overflow tie)
    (0xc77f_f000, 0xfc00), // -(max + ulp/2 (overflow tie))
    (0x477f_e800, 0x7bff), // max + ulp/4
    (0xc77f_e800, 0xfbff), // -(max + ulp/4)
    (0x4780_0000, 0x7c00), // max + ulp
    (0xc780_0000, 0xfc00), // -(max + ulp)
    (0x7f80_0000, 0x7c00), // +inf
    (0xff80_0000, 0xfc00), // -inf
    (0x7fc0_0000, 0x7e00), // qNaN
    (0xffc0_0000, 0xfe00), // -qNaN (x86 default NaN)
    (0x7f80_0001, 0x7e00), // sNaN payload only in low bits
    (0x7fa0_0000, 0x7f00), // sNaN payload bit 21
    (0x7fff_ffff, 0x7fff), // NaN all-ones payload
];

/// Checks `narrow` against `(input, expected)` rows, each repeated in a slice several vector
/// widths long so that the vector bodies, not only the tails, see every row.
fn check_vectors<T: Copy>(
    rows: &[(u32, u16)],
    zero: T,
    bits: fn(T) -> u16,
    narrow: impl Fn(&[f32], &mut [T]),
) {
    let src: Vec<f32> = rows
        .iter()
        .cycle()
        .take(rows.len() * 7)
        .map(|r| f32::from_bits(r.0))
        .collect();
    let mut out = vec![zero; src.len()];
    narrow(&src, &mut out);
    for (&(x, want), &got) in rows.iter().cycle().zip(&out) {
        assert_eq!(bits(got), want, "input {x:#010x}");
    }
}

#[test]
fn shared_format_vectors_hold_on_every_backend() {
    for backend in backends() {
        check_vectors(BF16_VECTORS, bf16::ZERO, bf16::to_bits, |s, d| {
            backend.f32_to_bf16(s, d).unwrap()
        });
        check_vectors(F16_VECTORS, f16::ZERO, f16::to_bits, |s, d| {
            backend.f32_to_f16(s, d).unwrap()
        });
    }
}

#[test]
fn shared_widening_vectors() {
    // format-vectors.md, "bf16 -> f32 and f16 -> f32": half quiets signalling NaNs; so does lowp.
    for backend in backends() {
        let mut out = [0f32; 2];
        backend
            .bf16_to_f32(
                &[bf16::from_bits(0x7f81), bf16::from_bits(0x0001)],
                &mut out,
            )
            .unwrap();
        assert_eq!(out.map(f32::to_bits), [0x7fc1_0000, 0x0001_0000]);
        backend
            .f16_to_f32(&[f16::from_bits(0x7c01), f16::from_bits(0x0001)], &mut out)
            .unwrap();
        assert_eq!(out.map(f32::to_bits), [0x7fc0_2000, 0x3380_0000]);
    }
}

#[test]
fn length_mismatch_is_an_error_and_writes_nothing() {
    for backend in backends() {
        let src = [1.0f32; 40];
        let mut dst = [bf16::from_bits(CANARY); 39];
        let err = backend.f32_to_bf16(&src, &mut dst).unwrap_err();
        assert_eq!(
            err,
            Error::LengthMismatch {
                what: "dst",
                expected: 40,
                actual: 39
            }
        );
        assert!(dst.iter().all(|v| v.to_bits() == CANARY));
        let mut wide = [0f32; 41];
        assert!(backend.f16_to_f32(&[f16::ONE; 40], &mut wide).is_err());
        assert!(backend.bf16_to_f32(&[bf16::ONE; 40], &mut wide).is_err());
        let mut h = [f16::ZERO; 0];
        assert!(backend.f32_to_f16(&src, &mut h).is_err());
    }
    assert!(lowp::convert::f32_to_bf16(&[1.0], &mut []).is_err());
}

/// The reference against `half` on random inputs (all 2^32 in the release-mode exhaustive test).
#[test]
fn reference_agrees_with_half() {
    let mut rng = Rng::new(7);
    for _ in 0..1_000_000 {
        let x = f32::from_bits(rng.f32_bits());
        assert_eq!(
            r::f32_to_bf16(x).to_bits(),
            bf16::from_f32(x).to_bits(),
            "{:#010x}",
            x.to_bits()
        );
        assert_eq!(
            r::f32_to_f16(x).to_bits(),
            f16::from_f32(x).to_bits(),
            "{:#010x}",
            x.to_bits()
        );
    }
}

/// The next representable value above (`up`) or below a finite, nonzero-magnitude-ordered
/// 16-bit pattern, as f64.
fn neighbours(bits: u16, widen: fn(u16) -> f32) -> (f64, f64) {
    let step = |b: u16, up: bool| -> u16 {
        let negative = b & 0x8000 != 0;
        let magnitude_up = up != negative;
        match (b & 0x7fff, magnitude_up) {
            (0, false) => (b ^ 0x8000) | 1, // through zero to the other sign
            (_, true) => b + 1,
            (_, false) => b - 1,
        }
    };
    (
        f64::from(widen(step(bits, false))),
        f64::from(widen(step(bits, true))),
    )
}

fn check_nearest(x: f32, bits: u16, widen: fn(u16) -> f32, max_finite: f64) {
    let y = f64::from(widen(bits));
    let xd = f64::from(x);
    if y.is_infinite() {
        assert!(xd.abs() >= max_finite, "{x:e} overflowed");
        return;
    }
    let (below, above) = neighbours(bits, widen);
    for n in [below, above] {
        if n.is_finite() {
            assert!(
                (xd - y).abs() <= (xd - n).abs(),
                "{x:e} -> {y:e}, but {n:e} is nearer"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn narrowing_rounds_to_a_nearest_value(x in any::<f32>().prop_filter("finite", |x| x.is_finite())) {
        for backend in backends() {
            let (mut b, mut h) = ([bf16::ZERO], [f16::ZERO]);
            backend.f32_to_bf16(&[x], &mut b).unwrap();
            backend.f32_to_f16(&[x], &mut h).unwrap();
            check_nearest(x, b[0].to_bits(), |v| bf16::from_bits(v).to_f32(), 3.3895313892515355e38);
            check_nearest(x, h[0].to_bits(), |v| f16::from_bits(v).to_f32(), 65504.0);
        }
    }

    #[test]
    fn narrowing_is_monotone(a in any::<f32>(), b in any::<f32>()) {
        prop_assume!(!a.is_nan() && !b.is_nan());
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        for backend in backends() {
            let mut out = [bf16::ZERO; 2];
            backend.f32_to_bf16(&[lo, hi], &mut out).unwrap();
            prop_assert!(out[0].to_f32() <= out[1].to_f32());
            let mut out = [f16::ZERO; 2];
            backend.f32_to_f16(&[lo, hi], &mut out).unwrap();
            prop_assert!(out[0].to_f32() <= out[1].to_f32());
        }
    }

    #[test]
    fn backends_agree_on_random_slices(bits in proptest::collection::vec(any::<u32>(), 0..200)) {
        let src: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
        let mut want = vec![bf16::ZERO; src.len()];
        r::f32_to_bf16_slice(&src, &mut want);
        for backend in backends() {
            let mut got = vec![bf16::ZERO; src.len()];
            backend.f32_to_bf16(&src, &mut got).unwrap();
            prop_assert_eq!(got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
    }
}
