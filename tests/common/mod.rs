//! Shared generators for the integration tests: lengths, misalignments, special values, and a
//! small deterministic PRNG (tests must be reproducible, so no entropy).
#![allow(dead_code)]

use lowp::fmac::Bf16Gemm;
use lowp::Backend;

/// Every backend this CPU supports, lowest tier first; `LOWP_TEST_ISAS=avx512,avx512bf16`
/// keeps only the tiers it names (an emulator, 100x slower than hardware, runs just the tiers
/// it is there to check). Naming a tier this CPU lacks fails the test rather than skip it.
pub fn backends() -> Vec<Backend> {
    let all = Backend::all_supported();
    let Some(list) = std::env::var("LOWP_TEST_ISAS")
        .ok()
        .filter(|l| !l.trim().is_empty())
    else {
        return all;
    };
    let wanted: Vec<lowp::Isa> = list
        .split(',')
        .map(|name| {
            name.parse()
                .unwrap_or_else(|e| panic!("LOWP_TEST_ISAS: {e}"))
        })
        .collect();
    for isa in &wanted {
        assert!(
            all.iter().any(|b| b.isa() == *isa),
            "LOWP_TEST_ISAS names {isa}, which this CPU lacks"
        );
    }
    all.into_iter()
        .filter(|b| wanted.contains(&b.isa()))
        .collect()
}

/// [`backends`], where a tier has a bf16 hardware GEMM kernel once with it and once without
/// (see [`Bf16Gemm`]), so both are checked whichever this CPU runs by default.
pub fn gemm_backends() -> Vec<Backend> {
    let choices = [Bf16Gemm::Hardware, Bf16Gemm::WidenFma];
    backends()
        .into_iter()
        .flat_map(|b| choices.into_iter().filter_map(move |c| b.with_bf16_gemm(c)))
        .collect()
}

/// Lengths 0..=300 (every vector-width and tail combination) and a few large ones. Under Miri,
/// which interprets every intrinsic and runs about 10^4 times slower, the lengths around each
/// tier's vector widths and steps (8, 16, 32, 64 and 128 elements) up to 300.
pub fn lengths() -> Box<dyn Iterator<Item = usize>> {
    if cfg!(miri) {
        return Box::new(
            [
                0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 129, 300,
            ]
            .into_iter(),
        );
    }
    Box::new((0..=300).chain([511, 1024, 4099, 65_543]))
}

/// Start offsets in elements: 0 is aligned, the rest straddle vector boundaries.
pub const OFFSETS: [usize; 4] = [0, 1, 2, 3];

/// f32 bit patterns every conversion must get right.
pub const SPECIAL_F32: &[u32] = &[
    0x0000_0000,
    0x8000_0000, // ±0
    0x0000_0001,
    0x8000_0001,
    0x007f_ffff,
    0x807f_ffff, // subnormals
    0x0000_8000,
    0x0001_0000,
    0x0001_8000,
    0x007f_8000,
    0x0000_7fff,
    0x0000_8001, // bf16 ties
    0x0080_0000,
    0x8080_0000, // min normal
    0x3f80_0000,
    0xbf80_0000,
    0x3f80_8000,
    0x3f81_8000,
    0x3f80_4000,
    0x3f80_8001,
    0x3f80_7fff,
    0x3f80_1000,
    0x3f80_3000,
    0x3f80_0800,
    0x3f80_1001, // f16 ties near 1
    0x3880_0000,
    0x387f_e000,
    0x387f_dfff,
    0x3380_0000,
    0x3300_0000,
    0x3300_0001,
    0x33c0_0000,
    0x3280_0000,
    0x337f_ffff, // f16 subnormal boundaries
    0x477f_e000,
    0x477f_efff,
    0x477f_f000,
    0xc77f_f000,
    0x4780_0000, // f16 max / overflow tie
    0x7f7f_0000,
    0x7f7f_7fff,
    0x7f7f_8000,
    0xff7f_8000,
    0x7f7f_ffff,
    0xff7f_ffff, // bf16 max
    0x7f80_0000,
    0xff80_0000, // ±Inf
    0x7fc0_0000,
    0xffc0_0000,
    0x7f80_0001,
    0xff80_0001,
    0x7fa0_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0x7fbf_ffff,
    0x7f80_2000,
    0x7f80_8000,
    0x7fc0_0001, // NaN payloads, signalling and quiet
];

/// 16-bit patterns: zeros, subnormals, normals, infinities and NaNs of both bf16 and f16.
pub const SPECIAL_U16: &[u16] = &[
    0x0000, 0x8000, 0x0001, 0x8001, 0x007f, 0x03ff, 0x0400, 0x0080, 0x3c00, 0x3f80, 0x7bff, 0x7c00,
    0xfc00, 0x7c01, 0x7d00, 0x7e00, 0x7fff, 0xffff, 0x7f7f, 0x7f80, 0xff80, 0x7f81, 0x7fc0, 0xffc0,
    0x7fbf,
];

/// splitmix64: tiny, decent, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// An f32 pattern: a special value a quarter of the time, else a random value whose
    /// exponent is biased towards the interesting ranges of bf16 and f16.
    pub fn f32_bits(&mut self) -> u32 {
        let r = self.next_u32();
        match r % 4 {
            0 => SPECIAL_F32[(r >> 8) as usize % SPECIAL_F32.len()],
            1 => {
                // exponents around f16's range (2^-26 .. 2^17), random sign and mantissa
                let exp = 101 + (r >> 8) % 44;
                (self.next_u32() & 0x807f_ffff) | (exp << 23)
            }
            _ => self.next_u32(),
        }
    }

    pub fn u16_bits(&mut self) -> u16 {
        let r = self.next_u32();
        if r.is_multiple_of(4) {
            SPECIAL_U16[(r >> 8) as usize % SPECIAL_U16.len()]
        } else {
            (r >> 16) as u16
        }
    }
}

/// A small bf16 CSR whose rows start at `r % 5` and step by `3 + r % 7` columns: every row
/// length from a few to dozens, values -4..=4.
pub fn strided_csr(rows: usize, cols: usize) -> lowp::sparse::Csr<half::bf16> {
    let (mut indptr, mut indices) = (vec![0], Vec::new());
    for r in 0..rows {
        indices.extend((r % 5..cols).step_by(3 + r % 7).map(|j| j as u32));
        indptr.push(indices.len());
    }
    let values = (0..indices.len())
        .map(|i| half::bf16::from_f32((i % 9) as f32 - 4.0))
        .collect();
    lowp::sparse::Csr::try_new(rows, cols, indptr, indices, values).expect("valid by construction")
}
