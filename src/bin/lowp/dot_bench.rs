//! `lowp bench` dot section: the public dots (`fmac::dot_bf16`, `dot_f16`, `dot_f32_bf16`) on
//! vectors from L1 to DRAM, every tier, against a plain read of the same bytes sampled
//! alternately in the same run; GB/s = bytes of both vectors / s.

use std::hint::black_box;
use std::time::Duration;

use half::{bf16, f16};
use lowp::Backend;

use crate::bench::paired_medians;
use crate::gemv_bench::{fill_weights, read_all, Weight};

struct Case {
    label: &'static str,
    len: usize,
    /// Copies of the two vectors cycled through, so that they cannot stay in any cache.
    copies: usize,
}

const CASES: [Case; 5] = [
    Case {
        label: "256 elements (L1)",
        len: 256,
        copies: 1,
    },
    Case {
        label: "4096 elements (L1)",
        len: 4096,
        copies: 1,
    },
    Case {
        label: "64 Ki elements (L2)",
        len: 64 << 10,
        copies: 1,
    },
    Case {
        label: "1 Mi elements (L3)",
        len: 1 << 20,
        copies: 1,
    },
    Case {
        label: "4 Mi elements, 8 copies (DRAM)",
        len: 4 << 20,
        copies: 8,
    },
];

pub fn run(quick: bool) {
    println!("\n== dot products, one thread; GB/s = bytes of both vectors / s; x read = plain read of the same bytes ==");
    println!(
        "{:<32} {:<10} {:<11} {:>7} {:>9} {:>7}",
        "case", "a . b", "path", "GB/s", "read GB/s", "x read"
    );
    for case in &CASES {
        bench_types::<bf16, bf16>(case, "bf16.bf16", quick, |be, a, b| be.dot_bf16(a, b));
        bench_types::<f16, f16>(case, "f16.f16", quick, |be, a, b| be.dot_f16(a, b));
        bench_types::<f32, bf16>(case, "f32.bf16", quick, |be, a, b| be.dot_f32_bf16(a, b));
    }
}

type Dot<A, B> = fn(&Backend, &[A], &[B]) -> Result<f32, lowp::Error>;

fn bench_types<A: Weight, B: Weight>(case: &Case, name: &str, quick: bool, dot: Dot<A, B>) {
    // Each copy is `a` then `b`, both a whole number of 64-bit words (lengths are multiples
    // of four).
    let (a_bytes, b_bytes) = (case.len * size_of::<A>(), case.len * size_of::<B>());
    let words_per_copy = (a_bytes + b_bytes) / 8;
    let mut words = vec![0u64; words_per_copy * case.copies];
    for copy in words.chunks_exact_mut(words_per_copy) {
        let (a, b) = copy.split_at_mut(a_bytes / 8);
        fill_weights::<A>(bytemuck::cast_slice_mut(a));
        fill_weights::<B>(bytemuck::cast_slice_mut(b));
    }
    let (min_sample, samples) = match (case.copies > 1, quick) {
        (true, false) => (Duration::ZERO, 7),
        (true, true) => (Duration::ZERO, 3),
        (false, false) => (Duration::from_millis(20), 11),
        (false, true) => (Duration::from_millis(5), 3),
    };
    for backend in Backend::all_supported() {
        let mut turn = 0usize;
        let (read_secs, secs) = paired_medians(
            |read| {
                turn += 1;
                let c = turn % case.copies;
                let copy = &words[c * words_per_copy..(c + 1) * words_per_copy];
                if read {
                    black_box(read_all(black_box(copy)));
                } else {
                    let (a, b) = copy.split_at(a_bytes / 8);
                    let (a, b) = (bytemuck::cast_slice(a), bytemuck::cast_slice(b));
                    black_box(dot(&backend, black_box(a), black_box(b)).expect("equal lengths"));
                }
            },
            min_sample,
            samples,
        );
        let bytes = (a_bytes + b_bytes) as f64;
        let (g, r) = (bytes / secs / 1e9, bytes / read_secs / 1e9);
        println!(
            "{:<32} {name:<10} {:<11} {g:>7.1} {r:>9.1} {:>7.2}",
            case.label,
            backend.isa().name(),
            g / r
        );
    }
}
