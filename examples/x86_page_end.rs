//! What a short call costs when its slices end just before a page that is not mapped: ns per
//! call of a few kernels on every x86 tier, each slice placed either in the middle of a page or
//! at the end of a page whose next page is `PROT_NONE`.
//!
//! A masked load or store whose masked-off lanes lie on such a page does not fault, but on a
//! Zen 5 core it took about 250 ns (AVX-512) or 125 ns (`vmaskmovps`) instead of a few: the
//! kernels now go around those windows (`within_valid_pages` in `src/arch/x86_64/mod.rs`),
//! and this probe shows whether any still pays. A page that is mapped but never touched cost
//! the same as an unmapped one.
//!
//! The last table times longer calls, whose prefetches ahead reach past the vectors: a
//! prefetch of a page that is not mapped took 88 ns on a Zen 1 core, each, one after another,
//! and the kernels now prefetch nothing past the ends of what they walk.
//!
//! `cargo run --release --example x86_page_end` (Linux: it maps its pages itself)

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod probe {
    use std::hint::black_box;
    use std::time::Instant;

    use half::{bf16, f16};
    use lowp::fmac::{MatMut, MatRef, Par};
    use lowp::sparse::{Csr, PackedCsr, PackedLayout};
    use lowp::{Backend, Generator};

    extern "C" {
        fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
        fn mprotect(addr: *mut u8, len: usize, prot: i32) -> i32;
    }

    const PAGE: usize = 4096;
    const PROT_READ_WRITE: i32 = 3;
    const PROT_NONE: i32 = 0;
    const MAP_PRIVATE_ANONYMOUS: i32 = 0x22;

    /// A page of zeros followed by a page that cannot be touched.
    fn guarded_page() -> *mut u8 {
        // SAFETY: an anonymous private mapping of two fresh pages, then a change of the second
        // one's protection; both checked, and the first page written only inside it.
        unsafe {
            let p = mmap(
                std::ptr::null_mut(),
                2 * PAGE,
                PROT_READ_WRITE,
                MAP_PRIVATE_ANONYMOUS,
                -1,
                0,
            );
            assert!(p as isize != -1, "mmap failed");
            assert_eq!(mprotect(p.add(PAGE), PAGE, PROT_NONE), 0, "mprotect failed");
            std::ptr::write_bytes(p, 0, PAGE);
            p
        }
    }

    /// Best of five: ns per call of `f`.
    fn ns(mut f: impl FnMut()) -> f64 {
        let calls = 20_000;
        (0..5)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..calls {
                    f();
                }
                start.elapsed().as_secs_f64() * 1e9 / calls as f64
            })
            .fold(f64::MAX, f64::min)
    }

    /// `n` elements of `T` ending at the end of `page` (`at_end`), or from its middle.
    ///
    /// # Safety
    /// `page` is a writable page that nothing else uses while the slice lives.
    unsafe fn slice<'a, T>(page: *mut u8, n: usize, at_end: bool) -> &'a mut [T] {
        let bytes = n * size_of::<T>();
        let start = if at_end { PAGE - bytes } else { PAGE / 2 };
        // SAFETY: inside the page (n is small), aligned for T (PAGE - bytes is a multiple of
        // the element size), per the function's contract.
        unsafe { std::slice::from_raw_parts_mut(page.add(start).cast(), n) }
    }

    pub fn main() {
        let pages: Vec<*mut u8> = (0..4).map(|_| guarded_page()).collect();
        // (`sparse` below reuses the first three.)
        println!("ns per call, slices in the middle of a page / ending before an unmapped one");
        for backend in Backend::all_supported() {
            for n in [1usize, 9, 33] {
                let mut row = format!("{:<11} n = {n:<3}", backend.isa().to_string());
                for at_end in [false, true] {
                    // SAFETY: four separate pages, one slice each.
                    let (x, b, w, h) = unsafe {
                        (
                            slice::<f32>(pages[0], n, at_end),
                            slice::<bf16>(pages[1], n, at_end),
                            slice::<bf16>(pages[2], n, at_end),
                            slice::<f16>(pages[3], n, at_end),
                        )
                    };
                    x.iter_mut()
                        .enumerate()
                        .for_each(|(i, v)| *v = i as f32 * 0.1);
                    let times = [
                        ns(|| backend.f32_to_bf16(black_box(&*x), &mut *b).unwrap()),
                        ns(|| backend.f16_to_f32(black_box(&*h), &mut *x).unwrap()),
                        ns(|| {
                            black_box(backend.dot_f32_bf16(black_box(&*x), &*b).unwrap());
                        }),
                        ns(|| {
                            let (s, g) = (black_box(&*x), Generator::Ars5);
                            backend
                                .f32_to_bf16_stochastic_with(s, &mut *b, 1, 3, g)
                                .unwrap()
                        }),
                        ns(|| {
                            let (s, g) = (black_box(&*b), Generator::Philox4x32_10);
                            backend
                                .axpy_bf16_stochastic_with(0.5, s, &mut *w, 1, 0, g)
                                .unwrap()
                        }),
                    ];
                    row += if at_end { "  | end:" } else { "  mid:" };
                    for t in times {
                        row += &format!(" {t:6.1}");
                    }
                }
                println!("{row}");
            }
        }
        println!("columns: f32 -> bf16, f16 -> f32, dot f32 · bf16, ARS-5 f32 -> bf16 from");
        println!("index 3, Philox bf16 update");
        sparse(&pages);
        prefetching();
    }

    /// SpMM of 16 rows (B's last 9 columns in a masked vector) and the `Windowed` packed SpMV
    /// of the same rows (each row's last window reaching past x), with B and x in the middle
    /// of a page or ending at its end.
    fn sparse(pages: &[*mut u8]) {
        let (rows, k, n) = (16, 40, 9);
        let (mut indptr, mut indices) = (vec![0], Vec::new());
        for r in 0..rows {
            indices.extend((0..k as u32).filter(|c| (c + r as u32).is_multiple_of(3)));
            indptr.push(indices.len());
        }
        let values = vec![bf16::from_f32(0.5); indices.len()];
        let a = Csr::try_new(rows, k, indptr, indices, values).unwrap();
        let packed = PackedCsr::pack_with(a.view(), PackedLayout::Windowed);
        println!("ns per call: SpMM 16 x 40 x 9 (bf16), then Windowed SpMV 16 x 40");
        for backend in Backend::all_supported() {
            let mut row = format!("{:<11}", backend.isa().to_string());
            for at_end in [false, true] {
                // SAFETY: separate pages, one slice each.
                let (b, x, c) = unsafe {
                    (
                        slice::<f32>(pages[0], k * n, at_end),
                        slice::<f32>(pages[1], k, at_end),
                        slice::<f32>(pages[2], rows * n, at_end),
                    )
                };
                b.iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = i as f32 * 0.01);
                x.iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = i as f32 * 0.1);
                let mut y = vec![0.0f32; rows];
                let spmm = ns(|| {
                    let b = MatRef::new(&*b, k, n).unwrap();
                    let c = MatMut::new(&mut *c, rows, n).unwrap();
                    backend.spmm(1.0, a.view(), b, 0.0, c, Par::Seq).unwrap()
                });
                let spmv = ns(|| {
                    backend
                        .spmv_packed(1.0, &packed, black_box(&*x), 0.0, &mut y, Par::Seq)
                        .unwrap()
                });
                row += &format!(
                    "  {}: {spmm:6.1} {spmv:6.1}",
                    if at_end { "end" } else { "mid" }
                );
            }
            println!("{row}");
        }
    }

    /// `data` pages of zeros followed by 9 pages (36 KiB, past the longest prefetch distance)
    /// that are mapped and written, or `PROT_NONE` when `guarded`.
    fn pages_before(data: usize, guarded: bool) -> &'static mut [u8] {
        let after = 9;
        // SAFETY: an anonymous private mapping of fresh pages, then a change of the last ones'
        // protection; both checked, and only the pages left writable are written or returned.
        unsafe {
            let len = (data + after) * PAGE;
            let p = mmap(
                std::ptr::null_mut(),
                len,
                PROT_READ_WRITE,
                MAP_PRIVATE_ANONYMOUS,
                -1,
                0,
            );
            assert!(p as isize != -1, "mmap failed");
            std::ptr::write_bytes(p, 0, len);
            if guarded {
                let rc = mprotect(p.add(data * PAGE), after * PAGE, PROT_NONE);
                assert_eq!(rc, 0, "mprotect failed");
            }
            std::slice::from_raw_parts_mut(p, data * PAGE)
        }
    }

    /// Dots of 4096 elements and a GEMV of W 64 × 2048 (bf16, 256 KiB), their last vector
    /// (or W) ending before 36 KiB of mapped pages or of `PROT_NONE` ones.
    fn prefetching() {
        println!("ns per call: dot f32 · bf16 and f16 · f16 of 4096, GEMV 64 x 2048 bf16");
        let (n, rows, cols) = (4096, 64, 2048);
        for backend in Backend::all_supported() {
            let mut row = format!("{:<11}", backend.isa().to_string());
            for guarded in [false, true] {
                let bytes = pages_before(6, guarded);
                let (a, b) = bytes.split_at_mut(4 * n);
                let a: &mut [f32] = bytemuck::cast_slice_mut(a);
                let b16: &mut [bf16] = bytemuck::cast_slice_mut(b);
                a.iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = (i % 7) as f32);
                b16.iter_mut().for_each(|v| *v = bf16::from_f32(0.5));
                let mixed = ns(|| {
                    black_box(backend.dot_f32_bf16(black_box(&*a), &*b16).unwrap());
                });
                let bytes = pages_before(4, guarded);
                let (a, b) = bytes.split_at_mut(2 * n);
                let (a, b): (&mut [f16], &mut [f16]) =
                    (bytemuck::cast_slice_mut(a), bytemuck::cast_slice_mut(b));
                a.iter_mut().for_each(|v| *v = f16::from_f32(0.25));
                b.iter_mut().for_each(|v| *v = f16::from_f32(0.5));
                let halves = ns(|| {
                    black_box(backend.dot_f16(black_box(&*a), &*b).unwrap());
                });
                let w: &mut [bf16] = bytemuck::cast_slice_mut(pages_before(64, guarded));
                w.iter_mut().for_each(|v| *v = bf16::from_f32(0.5));
                let (x, mut y) = (vec![0.25f32; cols], vec![0.0f32; rows]);
                let gemv = ns(|| {
                    let w = MatRef::new(&*w, rows, cols).unwrap();
                    backend
                        .gemv(1.0, w, black_box(&x), 0.0, &mut y, Par::Seq)
                        .unwrap()
                });
                let at = if guarded { "unmapped" } else { "mapped" };
                row += &format!("  {at}: {mixed:7.1} {halves:7.1} {gemv:8.1}");
            }
            println!("{row}");
        }
    }
}

fn main() {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    probe::main();
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    println!("this probe is for x86_64 Linux");
}
