//! `lowp bench`: single-thread conversion throughput, every supported tier, beside `half` and a
//! plain copy measured in the same run. GB/s counts bytes read plus bytes written (10^9 B/s).

use std::hint::black_box;
use std::time::{Duration, Instant};

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use lowp::{Backend, Generator};

pub struct Options {
    quick: bool,
    only: Option<String>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            quick: false,
            only: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--only" => {
                    let size = args
                        .next()
                        .ok_or("--only needs l1, l2, dram, dot, gemv, gemm or sparse")?;
                    if !SIZES.iter().any(|s| s.key == size)
                        && !["dot", "gemv", "gemm", "sparse"].contains(&size.as_str())
                    {
                        return Err(format!(
                            "--only {size}: expected l1, l2, dram, dot, gemv, gemm or sparse"
                        ));
                    }
                    options.only = Some(size.clone());
                }
                other => return Err(format!("bench: unknown option {other:?}")),
            }
        }
        Ok(options)
    }
}

struct Size {
    key: &'static str,
    label: &'static str,
    f32_bytes: usize,
}

const SIZES: [Size; 3] = [
    Size {
        key: "l1",
        label: "L1: 16 KiB of f32 (4096 elements)",
        f32_bytes: 16 << 10,
    },
    Size {
        key: "l2",
        label: "L2: 256 KiB of f32 (65536 elements)",
        f32_bytes: 256 << 10,
    },
    Size {
        key: "dram",
        label: "DRAM: 256 MiB of f32 (67108864 elements)",
        f32_bytes: 256 << 20,
    },
];

/// How many calls of `f` make a sample of at least `min_sample`.
fn calibrate(f: &mut impl FnMut(), min_sample: Duration) -> u32 {
    f(); // warm caches, fault pages in
    let mut iters: u32 = 1;
    while iters < 1 << 24 {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        if start.elapsed() >= min_sample {
            break;
        }
        iters *= 2;
    }
    iters
}

/// Median seconds per call of `f(true)` (the copy) and of `f(false)` (the kernel), sampled
/// alternately so both see the same machine: it is shared, and its bandwidth drifts by tens of
/// percent within a minute.
pub(crate) fn paired_medians(
    mut f: impl FnMut(bool),
    min_sample: Duration,
    samples: usize,
) -> (f64, f64) {
    let [copy, kernel] = medians_in_turn(|which| f(which == 0), min_sample, samples);
    (copy, kernel)
}

/// Median seconds per call of `f(0)`, ..., `f(N - 1)`, sampled in turn, as [`paired_medians`].
fn medians_in_turn<const N: usize>(
    mut f: impl FnMut(usize),
    min_sample: Duration,
    samples: usize,
) -> [f64; N] {
    let iters: [u32; N] = core::array::from_fn(|which| calibrate(&mut || f(which), min_sample));
    let mut secs: [Vec<f64>; N] = core::array::from_fn(|_| Vec::new());
    for _ in 0..samples {
        for (which, secs) in secs.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..iters[which] {
                f(which);
            }
            secs.push(start.elapsed().as_secs_f64() / f64::from(iters[which]));
        }
    }
    secs.map(|mut v| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    })
}

struct Buffers {
    f32_src: Vec<f32>,
    f32_dst: Vec<f32>,
    bf16: Vec<bf16>,
    f16: Vec<f16>,
    weights: Vec<bf16>,
}

pub fn run(options: Options) -> Result<(), String> {
    let sizes: Vec<&Size> = SIZES
        .iter()
        .filter(|s| options.only.as_deref().is_none_or(|k| k == s.key))
        .collect();
    let max_n = sizes.iter().map(|s| s.f32_bytes / 4).max().unwrap_or(0);
    // Normal values spread over many binades; writing every buffer faults its pages in now.
    let f32_src: Vec<f32> = (0..max_n + PAGE)
        .map(|i| ((i % 1000) as f32 - 500.0) * 1.37e-3 * (1 + i % 7) as f32)
        .collect();
    let mut bufs = Buffers {
        f32_dst: vec![1.0; max_n + PAGE],
        bf16: f32_src.iter().map(|&x| bf16::from_f32(x)).collect(),
        f16: f32_src.iter().map(|&x| f16::from_f32(x)).collect(),
        weights: f32_src.iter().map(|&x| bf16::from_f32(x)).collect(),
        f32_src,
    };
    println!(
        "lowp bench: single thread; medians; GB/s = (bytes read + bytes written) / s;\n\
copy = memcpy of the f32 array, sampled in turn with each row's kernel and its x base baseline"
    );
    println!("cpu: {}", crate::info::cpu_name());
    println!(
        "tiers: {}",
        Backend::all_supported()
            .iter()
            .map(|b| b.isa().name())
            .collect::<Vec<_>>()
            .join(" ")
    );
    if options.only.as_deref().is_none_or(|k| k == "dot") {
        crate::dot_bench::run(options.quick);
    }
    if options.only.as_deref().is_none_or(|k| k == "gemv") {
        crate::gemv_bench::run(options.quick);
    }
    if options.only.as_deref().is_none_or(|k| k == "gemm") {
        crate::gemm_bench::run(options.quick);
    }
    if options.only.as_deref().is_none_or(|k| k == "sparse") {
        crate::sparse_bench::run(options.quick);
    }
    for size in sizes {
        bench_size(size, &mut bufs, options.quick);
    }
    Ok(())
}

fn bench_size(size: &Size, b: &mut Buffers, quick: bool) {
    let n = size.f32_bytes / 4;
    let dram = size.key == "dram";
    let (min_sample, samples) = match (dram, quick) {
        (true, false) => (Duration::ZERO, 7),
        (true, true) => (Duration::ZERO, 3),
        (false, false) => (Duration::from_millis(20), 15),
        (false, true) => (Duration::from_millis(5), 5),
    };
    let gbs = |bytes: usize, secs: f64| bytes as f64 / secs / 1e9;

    // Fixed, distinct page offsets: the relative alignment of source and destination changes
    // memcpy's speed by 20x on some CPUs (rep movsb on AMD Zen 3), so it must not be left to
    // the allocator.
    let Buffers {
        f32_src,
        f32_dst,
        bf16: b16,
        f16: h16,
        weights: w16,
    } = b;
    let src = &at_page_offset(f32_src, n, 0)[..];
    let dst = at_page_offset(f32_dst, n, 2048);
    let b16 = at_page_offset(b16, n, 1024);
    let h16 = at_page_offset(h16, n, 3072);
    let w16 = at_page_offset(w16, n, 512);
    let mut bufs = Views {
        src,
        dst,
        b16,
        h16,
        w16,
    };
    println!("\n== {} ==", size.label);
    println!(
        "{:<24} {:<11} {:>7} {:>7} {:>10} {:>7}",
        "kernel", "path", "GB/s", "x base", "copy GB/s", "x copy"
    );
    let mut copies = Vec::new();
    for kernel in Kernel::ALL {
        let paths = std::iter::once(None).chain(Backend::all_supported().into_iter().map(Some));
        for path in paths.filter(|p| p.is_some() || kernel.has_half()) {
            // The copy moves the f32 array: 4n bytes read, 4n written. The row's baseline
            // (where it has one) is sampled in turn with the two, so that its ratio compares
            // the same moments of the machine.
            let (base_kernel, base_path) = kernel.baseline(path);
            let own_base = (base_kernel, base_path) == (kernel, path);
            let [copy_secs, secs, base_secs] = if own_base || !kernel.has_base() {
                let (copy, secs) = paired_medians(
                    |copy| {
                        if copy {
                            black_box(&mut *bufs.dst).copy_from_slice(black_box(bufs.src));
                        } else {
                            kernel.run(path, &mut bufs);
                        }
                    },
                    min_sample,
                    samples,
                );
                [copy, secs, secs]
            } else {
                medians_in_turn(
                    |which| match which {
                        0 => black_box(&mut *bufs.dst).copy_from_slice(black_box(bufs.src)),
                        1 => kernel.run(path, &mut bufs),
                        _ => base_kernel.run(base_path, &mut bufs),
                    },
                    min_sample,
                    samples,
                )
            };
            let (g, copy) = (
                gbs(kernel.bytes_per_element() * n, secs),
                gbs(8 * n, copy_secs),
            );
            copies.push(copy);
            let base = gbs(base_kernel.bytes_per_element() * n, base_secs);
            let name = path.map_or("half", |b| b.isa().name());
            let ratio = if own_base && kernel.has_base() {
                "1.00".to_string()
            } else if kernel.has_base() {
                format!("{:.2}", g / base)
            } else {
                "-".to_string()
            };
            println!(
                "{:<24} {name:<11} {g:>7.1} {ratio:>7} {copy:>10.1} {:>7.2}",
                kernel.name(),
                g / copy
            );
        }
    }
    copies.sort_by(f64::total_cmp);
    println!(
        "plain copy, median over the rows: {:.1} GB/s",
        copies[copies.len() / 2]
    );
    println!("x base: conversions against half's slice conversion, stochastic rounding against lowp's round-to-nearest on the same tier, each sampled in turn with the row");
}

/// Elements of slack in every buffer, enough to move its start to any page offset.
const PAGE: usize = 4096;

/// `n` elements of `buf` starting at the first address with `address % 4096 == offset`.
fn at_page_offset<T>(buf: &mut [T], n: usize, offset: usize) -> &mut [T] {
    let addr = buf.as_ptr() as usize;
    let skip_bytes = (offset + 4096 - addr % 4096) % 4096;
    assert_eq!(skip_bytes % size_of::<T>(), 0, "element-aligned offset");
    let start = skip_bytes / size_of::<T>();
    &mut buf[start..start + n]
}

/// The slices one size class works on.
struct Views<'a> {
    src: &'a [f32],
    dst: &'a mut [f32],
    b16: &'a mut [bf16],
    h16: &'a mut [f16],
    w16: &'a mut [bf16],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kernel {
    F32ToBf16,
    Bf16ToF32,
    F32ToF16,
    F16ToF32,
    F32ToBf16Stochastic,
    F32ToF16Stochastic,
    AxpyF32Grad,
    AxpyBf16Grad,
    /// The stochastic rows again with ARS-5's bits.
    F32ToBf16Ars,
    F32ToF16Ars,
    AxpyF32GradArs,
    AxpyBf16GradArs,
}

impl Kernel {
    const ALL: [Kernel; 12] = [
        Kernel::F32ToBf16,
        Kernel::Bf16ToF32,
        Kernel::F32ToF16,
        Kernel::F16ToF32,
        Kernel::F32ToBf16Stochastic,
        Kernel::F32ToF16Stochastic,
        Kernel::AxpyF32Grad,
        Kernel::AxpyBf16Grad,
        Kernel::F32ToBf16Ars,
        Kernel::F32ToF16Ars,
        Kernel::AxpyF32GradArs,
        Kernel::AxpyBf16GradArs,
    ];

    fn name(self) -> &'static str {
        match self {
            Kernel::F32ToBf16 => "f32 -> bf16",
            Kernel::Bf16ToF32 => "bf16 -> f32",
            Kernel::F32ToF16 => "f32 -> f16",
            Kernel::F16ToF32 => "f16 -> f32",
            Kernel::F32ToBf16Stochastic => "f32 -> bf16 stochastic",
            Kernel::F32ToF16Stochastic => "f32 -> f16 stochastic",
            Kernel::AxpyF32Grad => "axpy bf16 += f32 grad",
            Kernel::AxpyBf16Grad => "axpy bf16 += bf16 grad",
            Kernel::F32ToBf16Ars => "f32 -> bf16 SR, ARS-5",
            Kernel::F32ToF16Ars => "f32 -> f16 SR, ARS-5",
            Kernel::AxpyF32GradArs => "axpy f32 grad, ARS-5",
            Kernel::AxpyBf16GradArs => "axpy bf16 grad, ARS-5",
        }
    }

    /// Bytes read plus bytes written per element.
    fn bytes_per_element(self) -> usize {
        match self {
            Kernel::AxpyF32Grad | Kernel::AxpyF32GradArs => 4 + 2 + 2, // g read, w read and written
            _ => 6, // 4 bytes of f32 and 2 of a 16-bit type, or 3 x 2 bytes for the bf16 axpy
        }
    }

    /// Whether `half` has this kernel (a `None` path).
    fn has_half(self) -> bool {
        matches!(
            self,
            Kernel::F32ToBf16 | Kernel::Bf16ToF32 | Kernel::F32ToF16 | Kernel::F16ToF32
        )
    }

    /// Whether the row has a baseline to compare with.
    fn has_base(self) -> bool {
        !matches!(
            self,
            Kernel::AxpyF32Grad
                | Kernel::AxpyBf16Grad
                | Kernel::AxpyF32GradArs
                | Kernel::AxpyBf16GradArs
        )
    }

    /// The (kernel, path) this row is compared with.
    fn baseline(self, path: Option<Backend>) -> (Kernel, Option<Backend>) {
        match self {
            Kernel::F32ToBf16Stochastic | Kernel::F32ToBf16Ars => (Kernel::F32ToBf16, path),
            Kernel::F32ToF16Stochastic | Kernel::F32ToF16Ars => (Kernel::F32ToF16, path),
            _ if self.has_half() => (self, None),
            _ => (self, path),
        }
    }

    /// One pass over the arrays with lowp on `path`, or with `half`'s slice conversion on `None`.
    fn run(self, path: Option<Backend>, v: &mut Views) {
        let (src, dst, b16, h16, w16) = (
            black_box(v.src),
            black_box(&mut *v.dst),
            black_box(&mut *v.b16),
            black_box(&mut *v.h16),
            black_box(&mut *v.w16),
        );
        let (seed, alpha) = (0x5eed, 1e-3);
        match (self, path) {
            (Kernel::F32ToBf16, Some(be)) => be.f32_to_bf16(src, b16).unwrap(),
            (Kernel::F32ToBf16, None) => b16.convert_from_f32_slice(src),
            (Kernel::Bf16ToF32, Some(be)) => be.bf16_to_f32(b16, dst).unwrap(),
            (Kernel::Bf16ToF32, None) => b16.convert_to_f32_slice(dst),
            (Kernel::F32ToF16, Some(be)) => be.f32_to_f16(src, h16).unwrap(),
            (Kernel::F32ToF16, None) => h16.convert_from_f32_slice(src),
            (Kernel::F16ToF32, Some(be)) => be.f16_to_f32(h16, dst).unwrap(),
            (Kernel::F16ToF32, None) => h16.convert_to_f32_slice(dst),
            (Kernel::F32ToBf16Stochastic, Some(be)) => {
                be.f32_to_bf16_stochastic(src, b16, seed, 0).unwrap()
            }
            (Kernel::F32ToF16Stochastic, Some(be)) => {
                be.f32_to_f16_stochastic(src, h16, seed, 0).unwrap()
            }
            (Kernel::AxpyF32Grad, Some(be)) => {
                be.axpy_bf16_stochastic(alpha, src, w16, seed, 0).unwrap()
            }
            (Kernel::AxpyBf16Grad, Some(be)) => {
                be.axpy_bf16_stochastic(alpha, b16, w16, seed, 0).unwrap()
            }
            (Kernel::F32ToBf16Ars, Some(be)) => be
                .f32_to_bf16_stochastic_with(src, b16, seed, 0, Generator::Ars5)
                .unwrap(),
            (Kernel::F32ToF16Ars, Some(be)) => be
                .f32_to_f16_stochastic_with(src, h16, seed, 0, Generator::Ars5)
                .unwrap(),
            (Kernel::AxpyF32GradArs, Some(be)) => be
                .axpy_bf16_stochastic_with(alpha, src, w16, seed, 0, Generator::Ars5)
                .unwrap(),
            (Kernel::AxpyBf16GradArs, Some(be)) => be
                .axpy_bf16_stochastic_with(alpha, b16, w16, seed, 0, Generator::Ars5)
                .unwrap(),
            (_, None) => unreachable!("half has no {}", self.name()),
        }
    }
}
