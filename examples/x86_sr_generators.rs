//! What the random bits of stochastic rounding cost: f32 → bf16 at L1 size with lowp's
//! Philox4x32-10 kernels, beside the same add-and-truncate body fed by ARS (Salmon et al.,
//! SC11: AES rounds on a counter, keyed by a Weyl sequence; MKL's ARS5 has five rounds),
//! and lowp's round-to-nearest on the same tier, sampled alternately in one run.
//!
//! A probe for choosing the generator (session 12), and since session 23 a check that lowp's
//! own ARS-5 kernels run at the probes' rate. Before timing, it checks that the SIMD probes
//! give the bits of lowp's reference ARS (`lowp::reference::ars`, whose tests hold FIPS-197's
//! AES example and Random123's known answers) with lowp's element mapping (block `i / 8`, the
//! block's 128 bits as eight little-endian 16-bit values in element order).
//!
//! `cargo run --release --example x86_sr_generators`

#[cfg(target_arch = "x86_64")]
mod probe {
    use core::arch::x86_64::*;
    use std::time::Instant;

    use half::bf16;
    use lowp::reference::ars::ars;
    use lowp::{Backend, Isa};

    /// ARS's key increments per round (low and high 64 bits).
    const WEYL: [u64; 2] = [0x9E37_79B9_7F4A_7C15, 0xBB67_AE85_84CA_A73B];

    /// Stochastic f32 → bf16 with ARS bits, in software: the oracle of the SIMD probes.
    fn sr_software(x: f32, seed: u64, index: u64, rounds: usize) -> u16 {
        let block = ars(u128::from(index / 8), u128::from(seed), rounds);
        let r = (block >> (16 * (index % 8))) as u32 & 0xffff;
        let bits = x.to_bits();
        if x.is_nan() {
            (bits >> 16) as u16 | 0x40
        } else {
            (bits.wrapping_add(r) >> 16) as u16
        }
    }

    /// lowp's add-and-truncate on 16 lanes (IEEE overflow), as in its AVX-512 kernel.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq")]
    fn body16(x: __m512i, r: __m512i) -> __m512i {
        let is_nan = _mm512_fpclass_ps_mask::<0x81>(_mm512_castsi512_ps(x));
        _mm512_mask_or_epi32(
            _mm512_add_epi32(x, r),
            is_nan,
            x,
            _mm512_set1_epi32(0x0040_0000),
        )
    }

    /// Stochastic f32 → bf16 with ARS-`R` bits, four blocks (32 elements) per `vaesenc`;
    /// `src.len()` a multiple of 32, the first element's index a multiple of 8.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,vaes")]
    fn ars_zmm<const R: usize>(src: &[f32], dst: &mut [bf16], seed: u64, first_block: u64) {
        let weyl = _mm512_broadcast_i32x4(_mm_set_epi64x(WEYL[1] as i64, WEYL[0] as i64));
        let mut keys = [_mm512_broadcast_i32x4(_mm_set_epi64x(0, seed as i64)); 11];
        for r in 1..=R {
            keys[r] = _mm512_add_epi64(keys[r - 1], weyl);
        }
        let mut counter = _mm512_add_epi64(
            _mm512_set1_epi64(first_block as i64),
            _mm512_setr_epi64(0, 0, 1, 0, 2, 0, 3, 0),
        );
        counter = _mm512_and_si512(counter, _mm512_setr_epi64(-1, 0, -1, 0, -1, 0, -1, 0));
        let four = _mm512_setr_epi64(4, 0, 4, 0, 4, 0, 4, 0);
        let high_words: [u16; 32] = core::array::from_fn(|i| 2 * i as u16 + 1);
        // SAFETY: a 64-byte load of a 64-byte array.
        let high_words = unsafe { _mm512_loadu_si512(high_words.as_ptr().cast()) };
        for (s, d) in src.chunks_exact(32).zip(dst.chunks_exact_mut(32)) {
            let mut v = _mm512_xor_si512(counter, keys[0]);
            for key in &keys[1..R] {
                v = _mm512_aesenc_epi128(v, *key);
            }
            v = _mm512_aesenclast_epi128(v, keys[R]);
            counter = _mm512_add_epi64(counter, four);
            let r0 = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(v));
            let r1 = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(v));
            // SAFETY: `s` holds 32 f32 and `d` 32 bf16.
            unsafe {
                let x0 = _mm512_loadu_si512(s.as_ptr().cast());
                let x1 = _mm512_loadu_si512(s.as_ptr().add(16).cast());
                let y = _mm512_permutex2var_epi16(body16(x0, r0), high_words, body16(x1, r1));
                _mm512_storeu_si512(d.as_mut_ptr().cast(), y);
            }
        }
    }

    /// The same on 8 lanes with two blocks per `vaesenc` (AVX2 + VAES), as in lowp's AVX2
    /// kernel; `src.len()` a multiple of 16.
    #[target_feature(enable = "avx2,vaes")]
    fn ars_ymm<const R: usize>(src: &[f32], dst: &mut [bf16], seed: u64, first_block: u64) {
        let weyl = _mm256_broadcastsi128_si256(_mm_set_epi64x(WEYL[1] as i64, WEYL[0] as i64));
        let mut keys = [_mm256_broadcastsi128_si256(_mm_set_epi64x(0, seed as i64)); 11];
        for r in 1..=R {
            keys[r] = _mm256_add_epi64(keys[r - 1], weyl);
        }
        let mut counter = _mm256_add_epi64(
            _mm256_set1_epi64x(first_block as i64),
            _mm256_setr_epi64x(0, 0, 1, 0),
        );
        counter = _mm256_and_si256(counter, _mm256_setr_epi64x(-1, 0, -1, 0));
        let two = _mm256_setr_epi64x(2, 0, 2, 0);
        let body8 = |x: __m256i, r: __m256i| {
            let y = _mm256_srli_epi32::<16>(_mm256_add_epi32(x, r));
            let xf = _mm256_castsi256_ps(x);
            let is_nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(xf, xf));
            let quiet = _mm256_or_si256(_mm256_srli_epi32::<16>(x), _mm256_set1_epi32(0x40));
            _mm256_blendv_epi8(y, quiet, is_nan)
        };
        for (s, d) in src.chunks_exact(16).zip(dst.chunks_exact_mut(16)) {
            let mut v = _mm256_xor_si256(counter, keys[0]);
            for key in &keys[1..R] {
                v = _mm256_aesenc_epi128(v, *key);
            }
            v = _mm256_aesenclast_epi128(v, keys[R]);
            counter = _mm256_add_epi64(counter, two);
            let r0 = _mm256_cvtepu16_epi32(_mm256_castsi256_si128(v));
            let r1 = _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(v));
            // SAFETY: `s` holds 16 f32 and `d` 16 bf16.
            unsafe {
                let x0 = _mm256_loadu_si256(s.as_ptr().cast());
                let x1 = _mm256_loadu_si256(s.as_ptr().add(8).cast());
                let y = _mm256_packus_epi32(body8(x0, r0), body8(x1, r1));
                let y = _mm256_permute4x64_epi64::<0b11_01_10_00>(y);
                _mm256_storeu_si256(d.as_mut_ptr().cast(), y);
            }
        }
    }

    /// A kernel timed by [`medians`]: its name and a call on the L1-sized arrays.
    type Row<'a> = (String, Box<dyn FnMut() + 'a>);

    /// Median GB/s of each row (6 bytes per element: 4 read, 2 written) over 21 samples,
    /// the rows sampled alternately so that the host's drift hits them alike.
    fn medians(rows: &mut [Row], elements: usize) -> Vec<f64> {
        let mut samples = vec![Vec::new(); rows.len()];
        for _ in 0..21 {
            for (row, samples) in rows.iter_mut().zip(&mut samples) {
                let start = Instant::now();
                for _ in 0..500 {
                    (row.1)();
                }
                let seconds = start.elapsed().as_secs_f64();
                samples.push(500.0 * 6.0 * elements as f64 / seconds / 1e9);
            }
        }
        samples
            .into_iter()
            .map(|mut s| {
                s.sort_by(f64::total_cmp);
                s[s.len() / 2]
            })
            .collect()
    }

    pub fn main() {
        use std::arch::is_x86_feature_detected as has;
        if !(has!("avx2") && has!("aes") && has!("vaes")) {
            println!("this probe needs AVX2, AES-NI and VAES");
            return;
        }
        // The zmm probe needs the Avx512 tier's features (and VAES).
        let zmm = Backend::new(Isa::Avx512).is_some();

        // 4096 f32 in, 4096 bf16 out (24 KiB: L1). Special values at the front check the
        // NaN path; the first element's index is 24 (block 3).
        let n = 4096;
        let mut src: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        src[..6].copy_from_slice(&[f32::NAN, -f32::NAN, f32::INFINITY, f32::MAX, -0.0, 1e-40]);
        let (seed, first) = (0x1234_5678_9abc_def0, 3);
        let ymm = [ars_ymm::<5>, ars_ymm::<7>];
        let zmm_kernels = [ars_zmm::<5>, ars_zmm::<7>];
        for (k, rounds) in [5, 7].into_iter().enumerate() {
            let want: Vec<u16> = (0..n as u64)
                .map(|i| sr_software(src[i as usize], seed, 8 * first + i, rounds))
                .collect();
            let mut dst = vec![bf16::ZERO; n];
            // SAFETY: AVX2 and VAES were detected above.
            unsafe { ymm[k](&src, &mut dst, seed, first) };
            assert!(
                dst.iter().map(|b| b.to_bits()).eq(want.iter().copied()),
                "ymm ARS-{rounds}"
            );
            if zmm {
                // SAFETY: AVX-512 (the Avx512 tier) and VAES were detected above.
                unsafe { zmm_kernels[k](&src, &mut dst, seed, first) };
                assert!(dst.iter().map(|b| b.to_bits()).eq(want), "zmm ARS-{rounds}");
            }
        }
        println!("checked: SIMD ARS-5/7 = lowp's reference ARS");

        let src = &src;
        let mut rows: Vec<Row> = Vec::new();
        // (row, index of the round-to-nearest row it is compared with)
        let mut anchors = Vec::new();
        for isa in [Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16] {
            let Some(b) = Backend::new(isa) else { continue };
            let anchor = rows.len();
            let mut d = vec![bf16::ZERO; n];
            rows.push((
                format!("{isa:?} round to nearest"),
                Box::new(move || b.f32_to_bf16(src, &mut d).unwrap()),
            ));
            anchors.push(anchor);
            let mut d = vec![bf16::ZERO; n];
            let philox = move || b.f32_to_bf16_stochastic(src, &mut d, seed, 0).unwrap();
            rows.push((
                format!("{isa:?} stochastic, Philox4x32-10 (lowp)"),
                Box::new(philox),
            ));
            anchors.push(anchor);
            let mut d = vec![bf16::ZERO; n];
            let ars5 = move || {
                b.f32_to_bf16_stochastic_with(src, &mut d, seed, 0, lowp::Generator::Ars5)
                    .unwrap()
            };
            rows.push((format!("{isa:?} stochastic, ARS-5 (lowp)"), Box::new(ars5)));
            anchors.push(anchor);
            let (name, kernels) = match isa {
                Isa::Avx2 => ("ymm", ymm),
                _ => ("zmm", zmm_kernels),
            };
            for (k, rounds) in [5, 7].into_iter().enumerate() {
                let mut d = vec![bf16::ZERO; n];
                // SAFETY: the features were detected above (zmm only where `zmm` holds: the
                // Avx512 tiers exist only then).
                let ars = move || unsafe { kernels[k](src, &mut d, seed, 0) };
                rows.push((
                    format!("{isa:?} stochastic, ARS-{rounds} ({name} probe)"),
                    Box::new(ars),
                ));
                anchors.push(anchor);
            }
        }
        let gbs = medians(&mut rows, n);
        println!("f32 -> bf16, {n} elements (L1), single thread, medians of 21 alternated samples");
        println!("{:48} {:>7} {:>6}", "kernel", "GB/s", "x RNE");
        for ((row, anchor), gbs_row) in rows.iter().zip(&anchors).zip(&gbs) {
            println!(
                "{:48} {:7.1} {:6.2}",
                row.0,
                gbs_row,
                gbs_row / gbs[*anchor]
            );
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::main();
    #[cfg(not(target_arch = "x86_64"))]
    println!("this probe is for x86_64");
}
