//! What one core moves from DRAM in the traffic of a narrowing conversion at 256 MiB: two
//! 32-byte loads of f32 for each 32-byte streaming store of bf16. Loops with and without a
//! round-to-nearest step's vector operations, walking the array as one stream (4 KiB of
//! software prefetch ahead, as lowp's streaming kernels do) or as four regions of 4 KiB of
//! output taken a line at a time in turn (glibc's large memcpy walks four pages at once), beside
//! a plain read, memcpy, and lowp's `Avx2` f32 -> bf16. GB/s count bytes read plus bytes
//! written; the ratio is against memcpy's, as #3's DRAM bar is. See the README's session 44.
//!
//! `cargo run --release --example x86_stream_mix`

#[cfg(target_arch = "x86_64")]
mod probe {
    use std::arch::x86_64::*;
    use std::hint::black_box;
    use std::time::Instant;

    use lowp::{bf16, Backend, Isa};

    /// f32 values converted: 256 MiB of them.
    const N: usize = 64 << 20;

    /// Seconds a call of `f` takes, the median of seven.
    fn median_seconds(mut f: impl FnMut()) -> f64 {
        let mut times: Vec<f64> = (0..7)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[3]
    }

    /// `x` plus round-to-nearest's bias: 0x7fff, and one more where bit 16 is set.
    #[target_feature(enable = "avx2")]
    fn biased(x: __m256i) -> __m256i {
        let odd = _mm256_and_si256(_mm256_srli_epi32::<16>(x), _mm256_set1_epi32(1));
        _mm256_add_epi32(x, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff)))
    }

    /// The 16 bf16 of `a` and `b` (8 f32 each) rounded to nearest, NaN aside: the bias, the
    /// high halves by a byte shuffle each, a blend and a permute.
    #[target_feature(enable = "avx2")]
    fn round16(a: __m256i, b: __m256i) -> __m256i {
        // Each 128-bit lane's high halves into its low 8 bytes (a) or its high 8 bytes (b).
        let low = _mm256_set_epi64x(-1, 0x0f0e_0b0a_0706_0302, -1, 0x0f0e_0b0a_0706_0302);
        let high = _mm256_set_epi64x(0x0f0e_0b0a_0706_0302, -1, 0x0f0e_0b0a_0706_0302, -1);
        let halves = _mm256_blend_epi32::<0b1100_1100>(
            _mm256_shuffle_epi8(biased(a), low),
            _mm256_shuffle_epi8(biased(b), high),
        );
        _mm256_permute4x64_epi64::<0b11_01_10_00>(halves)
    }

    /// Output line `at` (64 bytes: 32 values) from the 128 bytes of input behind it, stored
    /// streaming; rounded when `ROUND`, else the inputs' vectors xor-ed together.
    ///
    /// # Safety
    /// `src` holds `2 * (at + 1)` lines of f32 from a valid pointer, `dst` is 64-byte aligned
    /// and holds `at + 1` lines; the CPU has avx2.
    #[target_feature(enable = "avx2")]
    unsafe fn line<const ROUND: bool>(src: *const __m256i, dst: *mut __m256i, at: usize) {
        for half in 0..2 {
            let out = 2 * at + half;
            // SAFETY: per the function's contract: vectors 2·out and 2·out + 1 of src are
            // inside it, vector out of dst is inside it and 32-byte aligned.
            unsafe {
                let (a, b) = (
                    _mm256_loadu_si256(src.add(2 * out)),
                    _mm256_loadu_si256(src.add(2 * out + 1)),
                );
                let y = if ROUND {
                    round16(a, b)
                } else {
                    _mm256_xor_si256(a, b)
                };
                _mm256_stream_si256(dst.add(out), y);
            }
        }
    }

    /// Every output line in order, the input prefetched 4 KiB ahead.
    ///
    /// # Safety
    /// `dst` is 64-byte aligned and `src` at least twice its length; the CPU has avx2.
    #[target_feature(enable = "avx2")]
    unsafe fn one_stream<const ROUND: bool>(src: &[f32], dst: &mut [bf16]) {
        let lines = dst.len() / 32;
        let (s, d) = (
            src.as_ptr() as *const __m256i,
            dst.as_mut_ptr() as *mut __m256i,
        );
        for at in 0..lines {
            // A prefetch never faults; the address is formed with wrapping arithmetic.
            let ahead = src.as_ptr().wrapping_add(32 * at + 1024) as *const i8;
            _mm_prefetch::<_MM_HINT_T0>(ahead);
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64));
            // SAFETY: the function's contract: `dst` is 64-byte aligned and holds `lines`
            // lines; `src` holds twice as many.
            unsafe { line::<ROUND>(s, d, at) };
        }
        _mm_sfence();
    }

    /// Blocks of four regions of 4 KiB of output, a line of each region in turn; no prefetch.
    ///
    /// # Safety
    /// As [`one_stream`]'s.
    #[target_feature(enable = "avx2")]
    unsafe fn four_regions<const ROUND: bool>(src: &[f32], dst: &mut [bf16]) {
        const REGION: usize = 64; // lines of output
        let blocks = dst.len() / 32 / (4 * REGION);
        let (s, d) = (
            src.as_ptr() as *const __m256i,
            dst.as_mut_ptr() as *mut __m256i,
        );
        for block in 0..blocks {
            for j in 0..REGION {
                for region in 0..4 {
                    // SAFETY: the function's contract, and every line is below
                    // `blocks · 4 · REGION`.
                    unsafe { line::<ROUND>(s, d, (4 * block + region) * REGION + j) };
                }
            }
        }
        _mm_sfence();
    }

    /// Reads every 32 bytes of `src` once.
    #[target_feature(enable = "avx2")]
    fn read(src: &[f32]) {
        let mut acc = _mm256_setzero_si256();
        for chunk in src.chunks_exact(8) {
            // SAFETY: `chunk` holds 8 f32.
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr() as *const __m256i) };
            acc = _mm256_add_epi32(acc, v);
        }
        black_box(acc);
    }

    pub fn main() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            println!("this probe needs AVX2");
            return;
        }
        let src: Vec<f32> = (0..N).map(|i| i as f32 * 1.37).collect();
        let mut out = vec![bf16::ZERO; N + 32];
        let skip = out.as_ptr().align_offset(64);
        let dst = &mut out[skip..skip + N];
        let mut copy = vec![0f32; N];
        let converted = (N * 6) as f64;
        let memcpy = median_seconds(|| {
            copy.copy_from_slice(black_box(&src));
            black_box(&mut copy);
        });
        let copy_rate = (N * 8) as f64 / memcpy;
        println!("256 MiB of f32, one thread; GB/s read + written, and against memcpy");
        let report = |name: &str, bytes: f64, seconds: f64| {
            let rate = bytes / seconds;
            println!("{name:52} {:6.2} GB/s  {:.2}", rate / 1e9, rate / copy_rate);
        };
        report("memcpy (read + write)", (N * 8) as f64, memcpy);
        // SAFETY (each call below): the CPU has avx2 (checked above); `dst` is 64-byte
        // aligned, N values long, `src` N values: two input lines per output line.
        let t = median_seconds(|| unsafe { read(&src) });
        report("plain read", (N * 4) as f64, t);
        let t = median_seconds(|| unsafe { one_stream::<false>(&src, dst) });
        report("2 loads : 1 streaming store, one stream", converted, t);
        let t = median_seconds(|| unsafe { one_stream::<true>(&src, dst) });
        report("  + round-to-nearest's operations", converted, t);
        let t = median_seconds(|| unsafe { four_regions::<false>(&src, dst) });
        report(
            "2 loads : 1 streaming store, four regions in turn",
            converted,
            t,
        );
        let t = median_seconds(|| unsafe { four_regions::<true>(&src, dst) });
        report("  + round-to-nearest's operations", converted, t);
        // The loops' rounding is round-to-nearest (no NaN here): the same bits as lowp's.
        let rounded = dst.to_vec();
        let avx2 = Backend::new(Isa::Avx2).expect("checked above");
        let t = median_seconds(|| avx2.f32_to_bf16(&src, dst).expect("same lengths"));
        report("lowp Avx2 f32 -> bf16", converted, t);
        assert!(rounded == dst, "the loops' rounding differs from lowp's");
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::main();
    #[cfg(not(target_arch = "x86_64"))]
    println!("this probe is for x86_64");
}
