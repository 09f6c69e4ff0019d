//! `lowp bench` GEMM section: `C = A·B` at m = n = k (2048 by default) with B packed once, per
//! input type and tier, against the tier's register-only FMA peak measured in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use half::{bf16, f16};
use lowp::fmac::{Bf16Gemm, Input, MatMut, MatRef, PackedB, Par};
use lowp::{Backend, Isa};

/// Deterministic values in [-1, 1).
fn values<T: Input>(len: usize, salt: usize, convert: fn(f32) -> T) -> Vec<T> {
    (0..len)
        .map(|i| convert(((i * 7919 + salt) % 2003) as f32 / 1001.5 - 1.0))
        .collect()
}

/// One row of the table: a call to time.
struct Case<'a> {
    backend: Backend,
    label: String,
    threads: usize,
    call: Box<dyn FnMut() + 'a>,
    secs: Vec<f64>,
}

pub fn run(quick: bool) {
    let size = if quick { 512 } else { 2048 };
    let samples = if quick { 3 } else { 9 };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let flops = 2.0 * (size as f64).powi(3);
    // The FMA peak of the best tier with one (AMX's peak loop runs tiles: a row of its own).
    let fma_tier = Backend::all_supported()
        .into_iter()
        .rfind(|b| b.isa().name() != "amx")
        .expect("the scalar tier is always there");
    let tiles = Backend::new(Isa::best()).filter(|b| b.isa().name() == "amx");
    let best = Backend::best();
    println!("\n== GEMM C = A B, m = n = k = {size}, B packed once; GFLOP/s = 2mnk / s; % of one core's f32 FMA peak ==");
    println!("   (rows sampled round-robin with the peak loop, {samples} rounds; medians)");
    println!("   hw / fma: the tier's bf16 instruction (vdpbf16ps, AMX tdpbf16ps, BFMMLA) or widening + FMA; the first is this CPU's default");
    let a_bf16 = values(size * size, 1, bf16::from_f32);
    let b_bf16 = values(size * size, 2, bf16::from_f32);
    let a_f32 = values(size * size, 1, |v| bf16::from_f32(v).to_f32());
    let b_f32 = values(size * size, 2, |v| bf16::from_f32(v).to_f32());
    let a_f16 = values(size * size, 1, f16::from_f32);
    let b_f16 = values(size * size, 2, f16::from_f32);
    let (a_bf16, a_f32, a_f16) = (
        mat_of(&a_bf16, size),
        mat_of(&a_f32, size),
        mat_of(&a_f16, size),
    );
    let tiers: Vec<Backend> = Backend::all_supported()
        .into_iter()
        .filter(|b| b.isa() != Isa::Scalar) // the tests' oracle, not a contender (minutes)
        .collect();
    let packed: Vec<[PackedB; 3]> = tiers
        .iter()
        .map(|b| {
            [
                b.pack_b(mat_of(&b_bf16, size)),
                b.pack_b(mat_of(&b_f32, size)),
                b.pack_b(mat_of(&b_f16, size)),
            ]
        })
        .collect();
    let mut cases: Vec<Case<'_>> = Vec::new();
    for (&backend, [pb_bf16, pb_f32, pb_f16]) in tiers.iter().zip(&packed) {
        // A tier with a bf16 instruction: its default choice, then the other one (bf16 x bf16
        // on bf16 panels is the only row they differ in).
        let other = [Bf16Gemm::Hardware, Bf16Gemm::WidenFma]
            .into_iter()
            .filter(|&c| c != backend.bf16_gemm())
            .find_map(|c| backend.with_bf16_gemm(c));
        let choice = |b: Backend| match (other, b.bf16_gemm()) {
            (None, _) => "",
            (Some(_), Bf16Gemm::Hardware) => " hw",
            (Some(_), Bf16Gemm::WidenFma) => " fma",
        };
        let bf16_label = format!("bf16 x bf16 ({}){}", panel_name(pb_bf16), choice(backend));
        let mut rows: Vec<(Backend, String, &dyn Operand, &PackedB, Par, usize)> = vec![
            (backend, bf16_label.clone(), &a_bf16, pb_bf16, Par::Seq, 1),
            (
                backend,
                "bf16 x bf16 (f32)".into(),
                &a_bf16,
                pb_f32,
                Par::Seq,
                1,
            ),
            (
                backend,
                "f32 x f32 (f32)".into(),
                &a_f32,
                pb_f32,
                Par::Seq,
                1,
            ),
            (
                backend,
                format!("f16 x f16 ({})", panel_name(pb_f16)),
                &a_f16,
                pb_f16,
                Par::Seq,
                1,
            ),
        ];
        if let Some(other) = other {
            let label = format!("bf16 x bf16 ({}){}", panel_name(pb_bf16), choice(other));
            rows.insert(1, (other, label, &a_bf16, pb_bf16, Par::Seq, 1));
        }
        let parallel = (threads > 1 && backend == best).then_some((
            backend,
            bf16_label,
            &a_bf16 as &dyn Operand,
            pb_bf16,
            Par::Rayon(0),
            threads,
        ));
        for (backend, label, a, b, par, threads) in rows.into_iter().chain(parallel) {
            let mut c = vec![0f32; size * size];
            cases.push(Case {
                backend,
                label,
                threads,
                call: Box::new(move || a.multiply(backend, b, black_box(&mut c), par)),
                secs: Vec::new(),
            });
        }
    }
    let (mut peak_rates, mut tile_rates) = (Vec::new(), Vec::new());
    for case in &mut cases {
        (case.call)(); // warm up: fault pages in, size the workspaces
    }
    for _ in 0..samples {
        let slice = Duration::from_millis(if quick { 20 } else { 100 });
        peak_rates.push(fma_tier.measure_fma_peak(slice));
        if let Some(tiles) = tiles {
            tile_rates.push(tiles.measure_fma_peak(slice));
        }
        for case in &mut cases {
            let t = Instant::now();
            (case.call)();
            case.secs.push(t.elapsed().as_secs_f64());
        }
    }
    let peak = median(&mut peak_rates);
    println!(
        "{:<10} {:<22} {:>8} {:>8} {:>7}",
        "tier", "A x B (B panels)", "threads", "GFLOP/s", "% peak"
    );
    println!(
        "{:<10} {:<22} {:>8} {:>8.1} {:>7}",
        fma_tier.isa().name(),
        "register-only FMA loop",
        1,
        peak / 1e9,
        "100"
    );
    if let Some(tiles) = tiles {
        let rate = median(&mut tile_rates);
        println!(
            "{:<10} {:<22} {:>8} {:>8.1} {:>7.1}",
            tiles.isa().name(),
            "register-only tile loop",
            1,
            rate / 1e9,
            100.0 * rate / peak
        );
    }
    for mut case in cases {
        let rate = flops / median(&mut case.secs);
        println!(
            "{:<10} {:<22} {:>8} {:>8.1} {:>7.1}",
            case.backend.isa().name(),
            case.label,
            case.threads,
            rate / 1e9,
            100.0 * rate / peak
        );
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A left operand of any input type.
trait Operand {
    fn multiply(&self, backend: Backend, b: &PackedB, c: &mut [f32], par: Par);
}

impl<T: Input> Operand for MatRef<'_, T> {
    fn multiply(&self, backend: Backend, b: &PackedB, c: &mut [f32], par: Par) {
        let c = MatMut::new(c, self.rows(), b.n()).expect("shape fits");
        backend
            .gemm_packed(1.0, *self, b, 0.0, c, par)
            .expect("shapes match");
    }
}

fn mat_of<T>(v: &[T], size: usize) -> MatRef<'_, T> {
    MatRef::new(v, size, size).expect("shape fits")
}

/// The panel element type, from the packed size (2 bytes per element: kept narrow).
fn panel_name(p: &PackedB) -> &'static str {
    if p.size_bytes() < p.k() * p.n() * 4 {
        p.source_dtype().name()
    } else {
        "f32"
    }
}
