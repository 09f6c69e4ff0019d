//! All 2^32 f32 inputs through f32 -> bf16 and f32 -> f16 on every backend, against the
//! reference and against `half`. Release mode only (`cargo test --release --test exhaustive`):
//! about 2^32 x (backends + 2) conversions, spread over the available cores.
//!
//! `LOWP_EXHAUSTIVE_STRIDE=k` checks every k-th block of 2^16 consecutive patterns instead
//! (each block spans all low mantissa bits; an odd k still visits every sign and exponent):
//! for emulated targets, where all 2^32 would take hours.

mod common;

use half::{bf16, f16};
use lowp::reference::convert as r;
use lowp::Backend;

const CHUNK: usize = 1 << 16;

type Narrow<T> = fn(Backend, &[f32], &mut [T]) -> Result<(), lowp::Error>;

/// Checks every f32 pattern: `kernel` on each backend and `half` must equal `reference`.
fn exhaustive<T: Copy + Default + Send>(
    name: &str,
    kernel: Narrow<T>,
    reference: fn(f32) -> T,
    half: fn(f32) -> T,
    bits: fn(T) -> u16,
) {
    let backends = common::backends();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks = (1u64 << 32) / CHUNK as u64;
    let stride: u64 = std::env::var("LOWP_EXHAUSTIVE_STRIDE").map_or(1, |s| {
        s.parse()
            .expect("LOWP_EXHAUSTIVE_STRIDE: a positive integer")
    });
    assert!(stride >= 1, "LOWP_EXHAUSTIVE_STRIDE must be at least 1");
    std::thread::scope(|scope| {
        for t in 0..threads as u64 {
            let backends = &backends;
            scope.spawn(move || {
                // On the heap: 3 x 2^16 elements would crowd a spawned thread's stack.
                let mut src: Vec<f32> = vec![0.0; CHUNK];
                let mut want: Vec<T> = std::iter::repeat_n(T::default(), CHUNK).collect();
                let mut got = want.clone();
                for chunk in (t * stride..chunks).step_by(threads * stride as usize) {
                    let base = chunk as u32 * CHUNK as u32;
                    for (i, x) in src.iter_mut().enumerate() {
                        *x = f32::from_bits(base + i as u32);
                    }
                    for (w, &x) in want.iter_mut().zip(&src) {
                        *w = reference(x);
                        let h = half(x);
                        assert_eq!(bits(h), bits(*w), "{name}: half disagrees with the reference at {:#010x}", x.to_bits());
                    }
                    for &backend in backends {
                        kernel(backend, &src, &mut got).unwrap();
                        if let Some(i) = (0..CHUNK).find(|&i| bits(got[i]) != bits(want[i])) {
                            panic!(
                                "{name} on {backend:?}: input {:#010x} gave {:#06x}, reference {:#06x}",
                                src[i].to_bits(),
                                bits(got[i]),
                                bits(want[i])
                            );
                        }
                    }
                }
            });
        }
    });
}

#[test]
#[cfg_attr(debug_assertions, ignore = "2^32 inputs: run with --release")]
fn f32_to_bf16_all_inputs_every_backend() {
    exhaustive(
        "f32_to_bf16",
        Backend::f32_to_bf16,
        r::f32_to_bf16,
        bf16::from_f32,
        bf16::to_bits,
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "2^32 inputs: run with --release")]
fn f32_to_f16_all_inputs_every_backend() {
    exhaustive(
        "f32_to_f16",
        Backend::f32_to_f16,
        r::f32_to_f16,
        f16::from_f32,
        f16::to_bits,
    );
}
