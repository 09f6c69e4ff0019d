//! ARS-5 with AES-NI: one `aesenc` per block and round on xmm registers, or per two blocks
//! on ymm registers where the CPU has VAES; eight blocks in flight. Bit-identical to
//! [`crate::reference::ars`] with lowp's mapping of blocks to elements.

use core::arch::x86_64::*;

use crate::reference::ars::{round_keys, ROUNDS};

/// Blocks per call, as the Philox kernel's step.
const BLOCKS: usize = 8;

/// A seed's round keys, for [`random_blocks`].
#[derive(Clone, Copy)]
pub(super) struct ArsKeys([__m128i; ROUNDS + 1]);

/// A seed's round keys in both 128-bit lanes, for [`random_blocks_vaes`].
#[derive(Clone, Copy)]
pub(super) struct ArsKeys2([__m256i; ROUNDS + 1]);

impl ArsKeys2 {
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn new(seed: u64) -> ArsKeys2 {
        ArsKeys2(ArsKeys::new(seed).0.map(|k| _mm256_broadcastsi128_si256(k)))
    }
}

impl ArsKeys {
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn new(seed: u64) -> ArsKeys {
        let keys = round_keys(seed).map(|key| _mm_set_epi64x((key >> 64) as i64, key as i64));
        ArsKeys(keys)
    }
}

/// The random 16-bit values of blocks `first..first + 8` (block numbers wrapping modulo 2^61,
/// as [`crate::arch::sr_block`]): `out[k]` holds block `first + k`'s eight values in order.
#[inline]
#[target_feature(enable = "avx2,aes")]
pub(super) fn random_blocks(keys: &ArsKeys, first: u64) -> [__m128i; BLOCKS] {
    let k = &keys.0;
    let mut v: [__m128i; BLOCKS] = core::array::from_fn(|j| {
        let counter = first.wrapping_add(j as u64) & (u64::MAX / 8);
        _mm_xor_si128(_mm_set_epi64x(0, counter as i64), k[0])
    });
    for key in &k[1..ROUNDS] {
        for v in &mut v {
            *v = _mm_aesenc_si128(*v, *key);
        }
    }
    v.map(|v| _mm_aesenclast_si128(v, k[ROUNDS]))
}

/// [`random_blocks`] with two blocks per `vaesenc` (ymm, VAES).
#[inline]
#[target_feature(enable = "avx2,aes,vaes")]
pub(super) fn random_blocks_vaes(keys: &ArsKeys2, first: u64) -> [__m128i; BLOCKS] {
    let k = &keys.0;
    let mut v: [__m256i; BLOCKS / 2] = core::array::from_fn(|j| {
        let counter = |i: u64| (first.wrapping_add(2 * j as u64 + i) & (u64::MAX / 8)) as i64;
        _mm256_xor_si256(_mm256_setr_epi64x(counter(0), 0, counter(1), 0), k[0])
    });
    for key in &k[1..ROUNDS] {
        for v in &mut v {
            *v = _mm256_aesenc_epi128(*v, *key);
        }
    }
    let mut out = [_mm_setzero_si128(); BLOCKS];
    for (j, v) in v.into_iter().enumerate() {
        let v = _mm256_aesenclast_epi128(v, k[ROUNDS]);
        out[2 * j] = _mm256_castsi256_si128(v);
        out[2 * j + 1] = _mm256_extracti128_si256::<1>(v);
    }
    out
}
