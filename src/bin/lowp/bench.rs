//! `lowp bench`: single-thread conversion throughput, every supported tier, beside `half` and a
//! plain copy measured in the same run. GB/s counts bytes read plus bytes written (10^9 B/s).

use std::hint::black_box;
use std::time::{Duration, Instant};

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use lowp::Backend;

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
                    let size = args.next().ok_or("--only needs l1, l2 or dram")?;
                    if !SIZES.iter().any(|s| s.key == size) {
                        return Err(format!("--only {size}: expected l1, l2 or dram"));
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
fn paired_medians(mut f: impl FnMut(bool), min_sample: Duration, samples: usize) -> (f64, f64) {
    let iters = [true, false].map(|copy| calibrate(&mut || f(copy), min_sample));
    let mut secs = [Vec::new(), Vec::new()];
    for _ in 0..samples {
        for (which, copy) in [true, false].into_iter().enumerate() {
            let start = Instant::now();
            for _ in 0..iters[which] {
                f(copy);
            }
            secs[which].push(start.elapsed().as_secs_f64() / f64::from(iters[which]));
        }
    }
    let [copy, kernel] = secs.map(|mut v| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    });
    (copy, kernel)
}

struct Buffers {
    f32_src: Vec<f32>,
    f32_dst: Vec<f32>,
    bf16: Vec<bf16>,
    f16: Vec<f16>,
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
        f32_src,
    };
    println!(
        "lowp bench: single thread; medians; GB/s = (bytes read + bytes written) / s;\n\
copy = memcpy of the f32 array, sampled alternately with each row's kernel"
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
    } = b;
    let src = &at_page_offset(f32_src, n, 0)[..];
    let dst = at_page_offset(f32_dst, n, 2048);
    let b16 = at_page_offset(b16, n, 1024);
    let h16 = at_page_offset(h16, n, 3072);
    println!("\n== {} ==", size.label);
    println!(
        "{:<14} {:<12} {:>8} {:>8} {:>10} {:>8}",
        "conversion", "path", "GB/s", "x half", "copy GB/s", "x copy"
    );

    let bytes = 6 * n; // 4 bytes of f32 and 2 of bf16/f16 per element, one read, one written
    let mut copies = Vec::new();
    for conversion in Conversion::ALL {
        let mut half = None;
        for path in std::iter::once(None).chain(Backend::all_supported().into_iter().map(Some)) {
            // The copy moves the f32 array: 4n bytes read, 4n written.
            let (copy_secs, secs) = paired_medians(
                |copy| {
                    if copy {
                        black_box(&mut *dst).copy_from_slice(black_box(src));
                    } else {
                        conversion.run(path, src, dst, b16, h16);
                    }
                },
                min_sample,
                samples,
            );
            let (g, copy) = (gbs(bytes, secs), gbs(8 * n, copy_secs));
            copies.push(copy);
            let half = *half.get_or_insert(g);
            let name = path.map_or("half", |b| b.isa().name());
            println!(
                "{:<14} {name:<12} {g:>8.1} {:>8.2} {copy:>10.1} {:>8.2}",
                conversion.name(),
                g / half,
                g / copy
            );
        }
    }
    copies.sort_by(f64::total_cmp);
    println!(
        "plain copy, median over the rows: {:.1} GB/s",
        copies[copies.len() / 2]
    );
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

#[derive(Clone, Copy)]
enum Conversion {
    F32ToBf16,
    Bf16ToF32,
    F32ToF16,
    F16ToF32,
}

impl Conversion {
    const ALL: [Conversion; 4] = [
        Conversion::F32ToBf16,
        Conversion::Bf16ToF32,
        Conversion::F32ToF16,
        Conversion::F16ToF32,
    ];

    fn name(self) -> &'static str {
        match self {
            Conversion::F32ToBf16 => "f32 -> bf16",
            Conversion::Bf16ToF32 => "bf16 -> f32",
            Conversion::F32ToF16 => "f32 -> f16",
            Conversion::F16ToF32 => "f16 -> f32",
        }
    }

    /// One pass over the arrays with lowp on `path`, or with `half`'s slice conversion on `None`.
    fn run(
        self,
        path: Option<Backend>,
        src: &[f32],
        dst: &mut [f32],
        b16: &mut [bf16],
        h16: &mut [f16],
    ) {
        let (src, dst, b16, h16) = (
            black_box(src),
            black_box(dst),
            black_box(b16),
            black_box(h16),
        );
        match (self, path) {
            (Conversion::F32ToBf16, Some(be)) => be.f32_to_bf16(src, b16).unwrap(),
            (Conversion::F32ToBf16, None) => b16.convert_from_f32_slice(src),
            (Conversion::Bf16ToF32, Some(be)) => be.bf16_to_f32(b16, dst).unwrap(),
            (Conversion::Bf16ToF32, None) => b16.convert_to_f32_slice(dst),
            (Conversion::F32ToF16, Some(be)) => be.f32_to_f16(src, h16).unwrap(),
            (Conversion::F32ToF16, None) => h16.convert_from_f32_slice(src),
            (Conversion::F16ToF32, Some(be)) => be.f16_to_f32(h16, dst).unwrap(),
            (Conversion::F16ToF32, None) => h16.convert_to_f32_slice(dst),
        }
    }
}
