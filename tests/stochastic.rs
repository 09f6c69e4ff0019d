//! Stochastic rounding and the fused bf16 update: Philox known answers, every backend bit-exact
//! against the per-element reference with both generators (lengths, misaligned slices, global
//! offsets, special values, both overflow modes), chunking/thread invariance, exhaustive
//! round-away counts, the neighbour property and a statistical unbiasedness bound. ARS-5's
//! known answers are the reference's unit tests (`src/reference/ars.rs`).

mod common;

use common::{backends, lengths, Rng, OFFSETS};
use half::{bf16, f16};
use lowp::reference::rng::{philox4x32_10, random16};
use lowp::reference::stochastic as sr;
use lowp::{Backend, Generator, Overflow, SrOptions};
use proptest::prelude::*;

const SEED: u64 = 0x9abc_def0_1234_5678;

/// Global start indices: block-aligned, mid-block, and near the top of the index space.
const GLOBAL_OFFSETS: [u64; 6] = [0, 1, 7, 8, 1 << 35 | 5, u64::MAX - 700];

#[test]
fn philox_known_answers() {
    // Random123's kat_vectors for philox4x32_10.
    assert_eq!(
        philox4x32_10([0; 4], [0; 2]),
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
    assert_eq!(
        philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0]
        ),
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
    );
}

#[test]
fn random_stream_matches_the_shared_vectors() {
    // shared/data/format-vectors.md, "Proposed SR stream", seed = (0x12345678, 0x9abcdef0).
    let got: Vec<u16> = (0..8).map(|i| random16(SEED, i)).collect();
    assert_eq!(
        got,
        [0xb337, 0x0279, 0xbd8d, 0xecb5, 0xc4f6, 0xe611, 0xe875, 0x44ec]
    );
}

/// ARS-5's stream: element `i` takes bits `16 (i % 8)..` of ARS-5 (counter `i / 8`, key the
/// seed), through the reference's own AES rounds; and it is not Philox's.
#[test]
fn ars_stream_is_ars5_of_the_block_number() {
    use lowp::reference::ars::ars;
    for (seed, first) in [(0, 0), (SEED, 1 << 40), (u64::MAX, (u64::MAX >> 3) - 2)] {
        let mut stream =
            lowp::reference::rng::Random16::with_generator(Generator::Ars5, seed, 8 * first);
        for block in first..first + 3 {
            let v = ars(u128::from(block), u128::from(seed), 5);
            for j in 0..8 {
                let want = (v >> (16 * j)) as u16;
                assert_eq!(
                    stream.next(),
                    Some(want),
                    "seed {seed:#x} block {block} j {j}"
                );
                assert_eq!(Generator::Ars5.random16(seed, 8 * block + j), want);
            }
        }
    }
    let differ = (0..64).filter(|&i| Generator::Ars5.random16(SEED, i) != random16(SEED, i));
    assert!(differ.count() > 60);
}

#[test]
fn shared_add_then_truncate_vectors() {
    // format-vectors.md, "Stochastic rounding f32 -> bf16": (x, r16, y).
    let rows: [(u32, u16, u16); 11] = [
        (0x3f808000, 0x7fff, 0x3f80),
        (0x3f808000, 0x8000, 0x3f81),
        (0x3f80ffff, 0x0001, 0x3f81),
        (0x3f80ffff, 0x0000, 0x3f80),
        (0xbf808000, 0x8000, 0xbf81),
        (0x7f7fffff, 0x0001, 0x7f80),
        (0x7f7f0001, 0xffff, 0x7f80),
        (0x007fffff, 0x0001, 0x0080),
        (0x7f800000, 0xffff, 0x7f80),
        (0x7f800001, 0xffff, 0x7fc0),
        (0x7fffffff, 0x0001, 0x7fff),
    ];
    for (x, r, y) in rows {
        let got = sr::f32_to_bf16_with_bits(f32::from_bits(x), r, Overflow::Infinity);
        assert_eq!(got.to_bits(), y, "x {x:#010x} r {r:#06x}");
    }
    let sat = sr::f32_to_bf16_with_bits(f32::from_bits(0x7f7fffff), 1, Overflow::Saturate);
    assert_eq!(sat.to_bits(), 0x7f7f);
}

fn modes() -> [Overflow; 2] {
    [Overflow::Infinity, Overflow::Saturate]
}

fn generators() -> [Generator; 2] {
    [Generator::Philox4x32_10, Generator::Ars5]
}

/// Every combination of overflow mode and generator.
fn options() -> impl Iterator<Item = SrOptions> {
    generators().into_iter().flat_map(|generator| {
        modes().into_iter().map(move |overflow| SrOptions {
            overflow,
            generator,
        })
    })
}

#[test]
fn conversions_match_the_reference_on_every_backend() {
    let mut rng = Rng::new(31);
    for backend in backends() {
        for len in lengths() {
            for (k, off) in OFFSETS.into_iter().enumerate() {
                let global = GLOBAL_OFFSETS[(len + k) % GLOBAL_OFFSETS.len()];
                let overflow = options().nth((len + k) % 4).unwrap();
                let src: Vec<f32> = (0..len + off)
                    .map(|_| f32::from_bits(rng.f32_bits()))
                    .collect();
                let src = &src[off..];
                let mut b = vec![bf16::ZERO; len + off];
                let mut h = vec![f16::ZERO; len + off];
                backend
                    .f32_to_bf16_stochastic_with(src, &mut b[off..], SEED, global, overflow)
                    .unwrap();
                backend
                    .f32_to_f16_stochastic_with(src, &mut h[off..], SEED, global, overflow)
                    .unwrap();
                for (i, &x) in src.iter().enumerate() {
                    let index = global.wrapping_add(i as u64);
                    let want_b = sr::f32_to_bf16_stochastic(x, SEED, index, overflow);
                    let want_h = sr::f32_to_f16_stochastic(x, SEED, index, overflow);
                    let ctx = format!(
                        "{backend:?} len {len} off {off} global {global} i {i} x {:#010x} {overflow:?}",
                        x.to_bits()
                    );
                    assert_eq!(b[off + i].to_bits(), want_b.to_bits(), "bf16: {ctx}");
                    assert_eq!(h[off + i].to_bits(), want_h.to_bits(), "f16: {ctx}");
                }
            }
        }
    }
}

#[test]
fn fused_update_matches_the_reference_on_every_backend() {
    let mut rng = Rng::new(32);
    for backend in backends() {
        for (len, generator) in lengths().flat_map(|len| generators().map(|g| (len, g))) {
            let global = GLOBAL_OFFSETS[len % GLOBAL_OFFSETS.len()];
            let alpha = [-1e-3f32, 0.5, 3.0e38][len % 3];
            let w0: Vec<bf16> = (0..len).map(|_| bf16::from_bits(rng.u16_bits())).collect();
            let g32: Vec<f32> = (0..len).map(|_| f32::from_bits(rng.f32_bits())).collect();
            let g16: Vec<bf16> = (0..len).map(|_| bf16::from_bits(rng.u16_bits())).collect();
            let mut w = w0.clone();
            backend
                .axpy_bf16_stochastic_with(alpha, &g32, &mut w, SEED, global, generator)
                .unwrap();
            for i in 0..len {
                let index = global.wrapping_add(i as u64);
                let want = sr::axpy_bf16_stochastic(alpha, g32[i], w0[i], SEED, index, generator);
                assert_eq!(
                    w[i].to_bits(),
                    want.to_bits(),
                    "{backend:?} {generator:?} f32 grad len {len} i {i}: alpha {alpha:e} w {:#06x} g {:#010x}",
                    w0[i].to_bits(),
                    g32[i].to_bits()
                );
            }
            let mut w = w0.clone();
            let saturate = SrOptions {
                overflow: Overflow::Saturate,
                generator,
            };
            backend
                .axpy_bf16_stochastic_with(alpha, &g16, &mut w, SEED, global, saturate)
                .unwrap();
            for i in 0..len {
                let index = global.wrapping_add(i as u64);
                let want =
                    sr::axpy_bf16_stochastic(alpha, g16[i].to_f32(), w0[i], SEED, index, saturate);
                assert_eq!(
                    w[i].to_bits(),
                    want.to_bits(),
                    "{backend:?} {generator:?} bf16 grad len {len} i {i}"
                );
            }
        }
    }
}

/// No kernel writes outside its output: every length up to 300 and some past a chunk, with
/// guard elements on both sides of the output (the AVX-512 kernels store a head and a tail
/// through masks).
#[test]
fn outputs_are_written_only_inside_their_slices() {
    const GUARD: usize = 40;
    const SENTINEL: u16 = 0x7fa5;
    let mut rng = Rng::new(33);
    let lens = (0..=300).chain([511, 777, 1000, 1025]);
    for backend in backends() {
        for (len, options) in lens
            .clone()
            .flat_map(|len| options().map(move |o| (len, o)))
        {
            let global = GLOBAL_OFFSETS[len % GLOBAL_OFFSETS.len()];
            let src: Vec<f32> = (0..len).map(|_| f32::from_bits(rng.f32_bits())).collect();
            let mut b = vec![bf16::from_bits(SENTINEL); len + 2 * GUARD];
            let mut h = vec![f16::from_bits(SENTINEL); len + 2 * GUARD];
            let mut w = vec![bf16::from_bits(SENTINEL); len + 2 * GUARD];
            let inner = GUARD..GUARD + len;
            backend
                .f32_to_bf16_stochastic_with(&src, &mut b[inner.clone()], SEED, global, options)
                .unwrap();
            backend
                .f32_to_f16_stochastic_with(&src, &mut h[inner.clone()], SEED, global, options)
                .unwrap();
            backend
                .axpy_bf16_stochastic_with(0.5, &src, &mut w[inner.clone()], SEED, global, options)
                .unwrap();
            let guards = |v: Vec<u16>| {
                let (head, rest) = v.split_at(GUARD);
                let tail = &rest[len..];
                head.iter().chain(tail).all(|&x| x == SENTINEL)
            };
            let ctx = format!("{backend:?} len {len} global {global} {options:?}");
            assert!(guards(bits(&b)), "bf16 output's neighbours changed: {ctx}");
            assert!(
                guards(h.iter().map(|x| x.to_bits()).collect()),
                "f16: {ctx}"
            );
            assert!(guards(bits(&w)), "fused update's neighbours changed: {ctx}");
        }
    }
}

#[test]
fn special_values() {
    for backend in backends() {
        for overflow in options() {
            let xs = [
                0.0f32,
                -0.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                f32::from_bits(0xff80_0001),
            ];
            let xs: Vec<f32> = xs.iter().cycle().take(6 * 40).copied().collect();
            let mut b = vec![bf16::ZERO; xs.len()];
            let mut h = vec![f16::ZERO; xs.len()];
            backend
                .f32_to_bf16_stochastic_with(&xs, &mut b, 5, 3, overflow)
                .unwrap();
            backend
                .f32_to_f16_stochastic_with(&xs, &mut h, 5, 3, overflow)
                .unwrap();
            for (i, &x) in xs.iter().enumerate() {
                // Zeros and infinities are unchanged, NaN gives the round-to-nearest NaN.
                assert_eq!(
                    b[i].to_bits(),
                    bf16::from_f32(x).to_bits(),
                    "{backend:?} {overflow:?} {x}"
                );
                assert_eq!(
                    h[i].to_bits(),
                    f16::from_f32(x).to_bits(),
                    "{backend:?} {overflow:?} {x}"
                );
            }
        }
        // The same special values without a NaN among them (the x86 kernels' IEEE mode takes
        // a shorter way then), beside the largest finite values and subnormals: against the
        // reference, element by element.
        let xs = [
            0.0f32,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            -f32::MAX,
            f32::from_bits(0x7f7f_8000),
            f32::from_bits(1),
            -f32::from_bits(0x007f_ffff),
        ];
        let xs: Vec<f32> = xs.iter().cycle().take(9 * 60).copied().collect();
        for options in options() {
            let mut b = vec![bf16::ZERO; xs.len()];
            backend
                .f32_to_bf16_stochastic_with(&xs, &mut b, 5, 3, options)
                .unwrap();
            for (i, &x) in xs.iter().enumerate() {
                let want = sr::f32_to_bf16_stochastic(x, 5, 3 + i as u64, options);
                assert_eq!(
                    b[i].to_bits(),
                    want.to_bits(),
                    "{backend:?} {options:?} {x:e}"
                );
            }
        }
        // Just past the largest finite: IEEE mode overflows sometimes, saturating mode never.
        let big = vec![f32::from_bits(0x7f7f_8000); 4096];
        let mut b = vec![bf16::ZERO; big.len()];
        for generator in generators() {
            backend
                .f32_to_bf16_stochastic_with(&big, &mut b, 9, 0, generator)
                .unwrap();
            let infinite = b.iter().filter(|v| v.is_infinite()).count();
            assert!(
                (1800..2300).contains(&infinite),
                "{backend:?} {generator:?}: {infinite} of 4096 overflowed"
            );
        }
        backend
            .f32_to_bf16_stochastic_with(&big, &mut b, 9, 0, Overflow::Saturate)
            .unwrap();
        assert!(b.iter().all(|v| v.to_bits() == 0x7f7f));
        let big = vec![65520.0f32; 4096];
        let mut h = vec![f16::ZERO; big.len()];
        backend
            .f32_to_f16_stochastic_with(&big, &mut h, 9, 0, Overflow::Saturate)
            .unwrap();
        assert!(h.iter().all(|v| v.to_bits() == 0x7bff));
    }
}

/// One array converted in one call, in random pieces, and on 1..=4 threads: the same bits.
#[test]
fn any_split_gives_the_same_bits() {
    let mut rng = Rng::new(33);
    let n = 5000;
    let src: Vec<f32> = (0..n).map(|_| f32::from_bits(rng.f32_bits())).collect();
    let global = 12_345;
    for (backend, g) in backends()
        .into_iter()
        .flat_map(|b| generators().map(move |g| (b, g)))
    {
        let mut whole = vec![bf16::ZERO; n];
        backend
            .f32_to_bf16_stochastic_with(&src, &mut whole, SEED, global, g)
            .unwrap();
        let mut pieces = vec![bf16::ZERO; n];
        let mut start = 0;
        while start < n {
            let len = (rng.next_u32() as usize % 97).min(n - start);
            let (s, d) = (&src[start..start + len], &mut pieces[start..start + len]);
            backend
                .f32_to_bf16_stochastic_with(s, d, SEED, global + start as u64, g)
                .unwrap();
            start += len;
        }
        assert_eq!(
            bits(&whole),
            bits(&pieces),
            "{backend:?} {g:?}: random pieces"
        );
        for threads in 1..=4 {
            let mut split = vec![bf16::ZERO; n];
            let per = n.div_ceil(threads);
            std::thread::scope(|scope| {
                for (t, (s, d)) in src.chunks(per).zip(split.chunks_mut(per)).enumerate() {
                    let offset = global + (t * per) as u64;
                    scope.spawn(move || {
                        backend
                            .f32_to_bf16_stochastic_with(s, d, SEED, offset, g)
                            .unwrap()
                    });
                }
            });
            assert_eq!(
                bits(&whole),
                bits(&split),
                "{backend:?} {g:?}: {threads} threads"
            );
        }
    }
}

fn bits(v: &[bf16]) -> Vec<u16> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// For fixed x, over all 2^16 random values, the number of round-aways is the dropped part of
/// x in units of 2^-16 of the dropped field.
#[test]
fn round_away_counts_are_exact() {
    for x in [
        0x3f80_0001u32,
        0x3f80_8000,
        0x3f80_ffff,
        0xbf81_2345,
        0x0000_7777,
        0x7f7f_4321,
    ] {
        let base = bf16::from_bits((x >> 16) as u16);
        let away = (0..=u16::MAX)
            .filter(|&r| {
                sr::f32_to_bf16_with_bits(f32::from_bits(x), r, Overflow::Infinity) != base
            })
            .count();
        assert_eq!(away, (x & 0xffff) as usize, "bf16 {x:#010x}");
    }
    // f16: 13 dropped bits in the normal range (8 random values per unit), more below it.
    for (x, want) in [
        (0x3f80_0001u32, 8usize), // 1 + 2^-23: 1 of 2^13 -> 8 of 2^16
        (0x3f80_1000, 0x1000 * 8),
        (0xc000_1fff, 0x1fff * 8),
        (0x3380_1000, 32),      // 2^-24 (1 + 2^-11): 23 dropped bits, 2^12 / 2^7
        (0x3380_0001, 0),       // 2^-24 (1 + 2^-23): below the 2^-16 resolution
        (0x3300_0000, 1 << 15), // half the smallest subnormal
        (0x2f80_0000, 1 << 8),  // 2^-32: 2^-8 of the smallest subnormal
    ] {
        let xf = f32::from_bits(x);
        let base = sr::f32_to_f16_with_bits(xf, 0, Overflow::Infinity);
        let away = (0..=u16::MAX)
            .filter(|&r| sr::f32_to_f16_with_bits(xf, r, Overflow::Infinity) != base)
            .count();
        assert_eq!(away, want, "f16 {x:#010x}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn result_is_a_neighbour(x in any::<f32>().prop_filter("finite", |x| x.is_finite()), r in any::<u16>()) {
        // Neighbours: the values just below and above x in the target format, found by
        // round-toward-zero and one step away.
        let b = sr::f32_to_bf16_with_bits(x, r, Overflow::Infinity).to_f32();
        let down = f32::from_bits(x.to_bits() & 0xffff_0000);
        let up = f32::from_bits((x.to_bits() & 0xffff_0000) + 0x1_0000);
        prop_assert!(b == down || b == up, "{x:e} -> {b:e}, neighbours {down:e} {up:e}");
        let h = f64::from(sr::f32_to_f16_with_bits(x, r, Overflow::Infinity).to_f32());
        let (lo, hi) = {
            let n = f64::from(f16::from_f32(x).to_f32());
            let step = |v: f16, up: bool| {
                let bits = v.to_bits();
                let mag_up = up != (bits & 0x8000 != 0);
                f64::from(match (bits & 0x7fff, mag_up) {
                    (0, false) => f16::from_bits((bits ^ 0x8000) | 1),
                    (_, true) => f16::from_bits(bits + 1),
                    (_, false) => f16::from_bits(bits - 1),
                }.to_f32())
            };
            let xd = f64::from(x);
            let near = f16::from_f32(x);
            if n <= xd { (n, step(near, true)) } else { (step(near, false), n) }
        };
        prop_assert!(h == lo || h == hi || (xd_is_tiny(x) && h == 0.0), "{x:e} -> {h:e}, neighbours {lo:e} {hi:e}");
    }
}

fn xd_is_tiny(x: f32) -> bool {
    x.abs() < f32::from_bits(103 << 23) // 2^-24, exact (`powi`'s precision is unspecified)
}

/// The mean of many stochastic roundings of one x is x, within 5 standard deviations of the
/// mean of N Bernoulli(p) steps of one ulp, plus the 2^-16-ulp quantisation of p.
#[test]
fn rounding_is_unbiased() {
    let n = 1 << 16;
    for (backend, g) in backends()
        .into_iter()
        .flat_map(|b| generators().map(move |g| (b, g)))
    {
        for x in [1.0f32 + 1.0 / 1024.0, -3.3e-5, 0.1, 7.1e-39, 1.0e-6, 3.0e-8] {
            let exponent = ((x.to_bits() >> 23) & 0xff) as i32 - 127;
            let src = vec![x; n];
            let mut b = vec![bf16::ZERO; n];
            backend
                .f32_to_bf16_stochastic_with(&src, &mut b, 77, 1000, g)
                .unwrap();
            let bf16_ulp = 2f64.powi(exponent.max(-126) - 7);
            check_mean(
                x,
                b.iter().map(|v| f64::from(v.to_f32())),
                bf16_ulp,
                "bf16",
                backend,
            );
            let mut h = vec![f16::ZERO; n];
            backend
                .f32_to_f16_stochastic_with(&src, &mut h, 77, 1000, g)
                .unwrap();
            let f16_ulp = 2f64.powi((exponent - 10).max(-24));
            check_mean(
                x,
                h.iter().map(|v| f64::from(v.to_f32())),
                f16_ulp,
                "f16",
                backend,
            );
        }
    }
}

fn check_mean(x: f32, values: impl Iterator<Item = f64>, ulp: f64, what: &str, backend: Backend) {
    let values: Vec<f64> = values.collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let xd = f64::from(x);
    let p = (xd.abs() / ulp).fract();
    let sigma = ulp * (p * (1.0 - p) / n).sqrt();
    let bound = 5.0 * sigma + ulp * 2f64.powi(-16);
    assert!(
        (mean - xd).abs() <= bound,
        "{what} {backend:?}: x {x:e}, mean {mean:e}, bound {bound:e}"
    );
}

#[test]
fn length_mismatch_is_an_error() {
    for backend in backends() {
        let mut short = [bf16::ZERO; 3];
        assert!(backend
            .f32_to_bf16_stochastic(&[1.0; 4], &mut short, 1, 0)
            .is_err());
        let mut short = [f16::ZERO; 5];
        assert!(backend
            .f32_to_f16_stochastic(&[1.0; 4], &mut short, 1, 0)
            .is_err());
        let mut w = [bf16::ONE; 3];
        assert!(backend
            .axpy_bf16_stochastic(1.0, &[1.0f32; 4], &mut w, 1, 0)
            .is_err());
        assert_eq!(w, [bf16::ONE; 3]);
    }
}

/// The motivating case (see `examples/stochastic_rounding.rs`): 10^5 updates of +1e-4 to a
/// bf16 weight at 1.0. Round-to-nearest never moves it; stochastic rounding ends, on average
/// over 64 weights, within 5 standard deviations of the exact 11 (one weight's spread after
/// these steps is about 0.6, so the mean's is about 0.075).
#[test]
fn stochastic_rounding_tracks_small_updates() {
    let (steps, update, weights) = (100_000u64, 1e-4f32, 64usize);
    let mut nearest = bf16::ONE;
    let mut w = vec![bf16::ONE; weights];
    let g = vec![1.0f32; weights];
    for step in 0..steps {
        nearest = bf16::from_f32(nearest.to_f32() + update);
        lowp::update::axpy_bf16_stochastic(update, &g, &mut w, 99, step * weights as u64).unwrap();
    }
    assert_eq!(nearest, bf16::ONE);
    let mean = w.iter().map(|v| f64::from(v.to_f32())).sum::<f64>() / weights as f64;
    let exact = 1.0 + steps as f64 * f64::from(update);
    assert!(
        (mean - exact).abs() < 5.0 * 0.075,
        "mean {mean}, exact {exact}"
    );
}

/// Slices whose values all lie in f16's normal range (the vector kernels' fast path), against
/// the reference, bit for bit.
#[test]
fn f16_normal_range_matches_the_reference() {
    let mut rng = Rng::new(34);
    for backend in backends() {
        for len in [8usize, 64, 100, 1000, 4099] {
            let src: Vec<f32> = (0..len)
                .map(|_| {
                    let exp = 113 + rng.next_u32() % 30; // 2^-14 ..= 2^15
                    f32::from_bits((rng.next_u32() & 0x807f_ffff) | (exp << 23))
                })
                .collect();
            for overflow in modes() {
                let mut h = vec![f16::ZERO; len];
                backend
                    .f32_to_f16_stochastic_with(&src, &mut h, SEED, 3, overflow)
                    .unwrap();
                for (i, &x) in src.iter().enumerate() {
                    let want = sr::f32_to_f16_stochastic(x, SEED, 3 + i as u64, overflow);
                    assert_eq!(
                        h[i].to_bits(),
                        want.to_bits(),
                        "{backend:?} x {:#010x}",
                        x.to_bits()
                    );
                }
            }
        }
    }
}

/// Whole arrays of one value at and near each edge of the vector kernels' f16 fast path
/// (f16's normal range below its largest finite value) and beyond it, both signs, 2^16 random
/// values each: a range check that lets a whole vector of outside values through gives other
/// bits.
/// (Just outside, the two ways differ rarely: at 0x387f_ffff for 4 of the 2^16 random values.)
#[test]
fn f16_fast_path_edges_match_the_reference() {
    let edges = [
        0x3880_0000u32, // f16's smallest normal: inside
        0x387f_ffff,    // outside, 14 bits dropped
        0x387f_e000,
        0x477e_ffff, // the AVX-512 test reads top halves: inside there
        0x477f_0000, // outside there, inside elsewhere
        0x477f_e000, // f16's largest finite: inside
        0x477f_e001, // outside: can carry to infinity
        0x477f_ffff,
        0x7f7f_ffff, // f32's largest finite: the sum turns into a NaN pattern
        0x7f80_0000, // infinity
        0x7fff_ffff, // NaNs whose sum wraps past the sign bit
        0x7fff_e001,
        0x0000_0000, // zero: inside, as are all magnitudes below 0x0eff_e000 (under 2^-97)
        0x0000_0001,
        0x0efe_ffff, // inside the AVX-512 test
        0x0eff_0000, // outside it
        0x0eff_dfff,
        0x0eff_e000, // outside
        0x2b00_0000, // 2^-41: always rounds to zero
        0x2c00_0000, // 2^-39: rounds up sometimes
    ];
    for backend in backends() {
        for overflow in modes() {
            for bits in edges.into_iter().flat_map(|b| [b, b | 0x8000_0000]) {
                let x = f32::from_bits(bits);
                let src = vec![x; 1 << 16];
                let mut h = vec![f16::ZERO; src.len()];
                backend
                    .f32_to_f16_stochastic_with(&src, &mut h, SEED, 5, overflow)
                    .unwrap();
                for (i, got) in h.iter().enumerate() {
                    let want = sr::f32_to_f16_stochastic(x, SEED, 5 + i as u64, overflow);
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{backend:?} {overflow:?} x {bits:#010x} i {i}"
                    );
                }
            }
        }
    }
}

/// Outputs past 16 MiB take the x86 kernels' large-array path (reads fetched ahead, outputs
/// streamed from line boundaries, reached by whole blocks through the edge); it must give the
/// scalar backend's bits, with and without streaming, misaligned start and unaligned global
/// offset included.
#[cfg(target_arch = "x86_64")]
#[test]
fn large_arrays_match_the_scalar_backend() {
    use std::ops::Range;

    let mut rng = Rng::new(34);
    let n = (16 << 20) / 2 + 37;
    let src: Vec<f32> = (0..n + 1).map(|_| f32::from_bits(rng.f32_bits())).collect();
    let w0: Vec<bf16> = (0..n + 1)
        .map(|_| bf16::from_bits(rng.u16_bits()))
        .collect();
    let (src, w0) = (&src[1..], &w0[1..]);
    // `dst` from `shift` elements past a 64-byte boundary, with global offset `global`:
    // (0, 0) streams every chunk; (3, 3) streams after 5 + 24 elements through the edge (the
    // first block boundary, then three blocks to the line: a `Vec` 16 bytes past a line, as
    // glibc's large ones are); (1, 3) starts no block on a 16-byte boundary, so never streams.
    // The rest of the buffer holds `guard`, which must survive (checked by `untouched`).
    fn placed<T: Copy>(buf: &mut Vec<T>, n: usize, shift: usize, guard: T) -> Range<usize> {
        *buf = vec![guard; n + 64];
        let at = buf.as_ptr().align_offset(64) + shift;
        at..at + n
    }
    fn untouched<T: Copy + PartialEq>(buf: &[T], inside: Range<usize>, guard: T) -> bool {
        let (before, after) = (&buf[..inside.start], &buf[inside.end..]);
        before.iter().chain(after).all(|&x| x == guard)
    }
    let (bf16_guard, f16_guard) = (bf16::from_bits(0x3a5a), f16::from_bits(0x3a5a)); // not NaN: compared with `==`
    let run = |backend: Backend, (shift, global): (usize, u64)| {
        let (mut b, mut h) = (Vec::new(), Vec::new());
        let in_b = placed(&mut b, n, shift, bf16_guard);
        let in_h = placed(&mut h, n, shift, f16_guard);
        backend
            .f32_to_bf16_stochastic(src, &mut b[in_b.clone()], SEED, global)
            .unwrap();
        backend
            .f32_to_f16_stochastic(src, &mut h[in_h.clone()], SEED, global)
            .unwrap();
        assert!(
            untouched(&b, in_b.clone(), bf16_guard) && untouched(&h, in_h.clone(), f16_guard),
            "{backend:?} ({shift}, {global}): wrote outside its output"
        );
        let mut w = w0.to_vec();
        if global != 0 {
            backend
                .axpy_bf16_stochastic(-1e-2, src, &mut w, SEED, global)
                .unwrap();
        }
        (
            bits(&b[in_b]),
            h[in_h].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            bits(&w),
        )
    };
    let scalar = Backend::new(lowp::Isa::Scalar).unwrap();
    for case in [(1, 3), (0, 0), (3, 3)] {
        let want = run(scalar, case);
        for backend in backends() {
            let got = run(backend, case);
            assert!(got.0 == want.0, "{backend:?} {case:?}: f32 -> bf16");
            assert!(got.1 == want.1, "{backend:?} {case:?}: f32 -> f16");
            assert!(got.2 == want.2, "{backend:?} {case:?}: fused update");
        }
    }
}
