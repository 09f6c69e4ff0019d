//! `lowp bench` GEMV section: `y = W·x` for W `[n × k]` in bf16, f16 and f32 against a plain
//! read of W's bytes, sampled alternately in the same run; GB/s = W's bytes / s.

use std::hint::black_box;
use std::time::Duration;

use half::{bf16, f16};
use lowp::fmac::{Input, MatRef, Par};
use lowp::Backend;
use wide::u64x4;

use crate::bench::paired_medians;

struct Case {
    label: &'static str,
    rows: usize,
    cols: usize,
    /// Copies of W cycled through, so that W cannot stay in any cache.
    copies: usize,
}

const CASES: [Case; 3] = [
    Case {
        label: "W 64x2048 (L2-resident)",
        rows: 64,
        cols: 2048,
        copies: 1,
    },
    Case {
        label: "W 4096x4096",
        rows: 4096,
        cols: 4096,
        copies: 1,
    },
    Case {
        label: "W 4096x4096, 8 copies cycled (DRAM)",
        rows: 4096,
        cols: 4096,
        copies: 8,
    },
];

/// XOR of every 64-bit word: a read of the bytes at the speed the loads allow.
pub(crate) fn read_all(words: &[u64]) -> u64 {
    let chunks = words.chunks_exact(4);
    let tail = chunks.remainder().iter().fold(0, |a, &w| a ^ w);
    let v = chunks.fold(u64x4::ZERO, |a, c| a ^ u64x4::new(c.try_into().unwrap()));
    v.to_array().iter().fold(tail, |a, &w| a ^ w)
}

pub fn run(quick: bool) {
    println!("\n== GEMV y = W x, one thread unless marked; GB/s = bytes of W / s; x read = plain read of the same bytes ==");
    println!(
        "{:<38} {:<5} {:<14} {:>7} {:>9} {:>7}",
        "case", "W", "path", "GB/s", "read GB/s", "x read"
    );
    for case in &CASES {
        bench_dtype::<bf16>(case, "bf16", quick);
        bench_dtype::<f16>(case, "f16", quick);
        bench_dtype::<f32>(case, "f32", quick);
    }
}

/// A weight of the element type, rounded to nearest.
pub(crate) trait Weight: Input + bytemuck::Pod {
    fn weight(v: f32) -> Self;
}

impl Weight for f32 {
    fn weight(v: f32) -> f32 {
        v
    }
}

impl Weight for bf16 {
    fn weight(v: f32) -> bf16 {
        bf16::from_f32(v)
    }
}

impl Weight for f16 {
    fn weight(v: f32) -> f16 {
        f16::from_f32(v)
    }
}

/// Values spread over [-1, 1) as a layer's weights are, from a hash of the index.
pub(crate) fn fill_weights<W: Weight>(w: &mut [W]) {
    for (i, w) in w.iter_mut().enumerate() {
        let hash = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
        *w = W::weight((hash % 20_011) as f32 / 10_005.5 - 1.0);
    }
}

fn bench_dtype<W: Weight>(case: &Case, name: &str, quick: bool) {
    let elems = case.rows * case.cols;
    let bytes = elems * size_of::<W>();
    let words_per_copy = bytes.div_ceil(8);
    // Weights spread over [-1, 1) as a layer's are, written now so the pages are faulted in
    // before timing. No magnitudes near f32's subnormal range: an SSE multiply with a
    // subnormal result takes a microcode assist on x86 (the FMA tiers take none), which
    // slowed the scalar and portable rows by up to 3.6x on earlier, exponent-uniform data.
    let mut words = vec![0u64; words_per_copy * case.copies];
    fill_weights::<W>(bytemuck::cast_slice_mut(&mut words));
    let x: Vec<f32> = (0..case.cols).map(|i| (i % 17) as f32 * 0.01).collect();
    let mut y = vec![0f32; case.rows];
    let (min_sample, samples) = match (case.copies > 1, quick) {
        (true, false) => (Duration::ZERO, 7),
        (true, true) => (Duration::ZERO, 3),
        (false, false) => (Duration::from_millis(20), 11),
        (false, true) => (Duration::from_millis(5), 3),
    };
    let copy_words = |c: usize| &words[c * words_per_copy..(c + 1) * words_per_copy];
    let mut paths: Vec<(String, Backend, Par)> = Backend::all_supported()
        .into_iter()
        .map(|b| (b.isa().name().to_string(), b, Par::Seq))
        .collect();
    let best = Backend::best();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    paths.push((
        format!("{} x{threads} thr", best.isa().name()),
        best,
        Par::Rayon(0),
    ));
    for (label, backend, par) in paths {
        let mut turn = 0usize;
        let (read_secs, secs) = paired_medians(
            |read| {
                turn += 1;
                let words = copy_words(turn % case.copies);
                if read {
                    black_box(read_all(black_box(words)));
                } else {
                    let w: &[W] = &bytemuck::cast_slice(words)[..elems];
                    let m = MatRef::new(w, case.rows, case.cols).expect("shape fits");
                    backend
                        .gemv(1.0, m, black_box(&x), 0.0, black_box(&mut y), par)
                        .expect("lengths match");
                }
            },
            min_sample,
            samples,
        );
        let (g, r) = (bytes as f64 / secs / 1e9, bytes as f64 / read_secs / 1e9);
        println!(
            "{:<38} {name:<5} {label:<14} {g:>7.1} {r:>9.1} {:>7.2}",
            case.label,
            g / r
        );
    }
}
