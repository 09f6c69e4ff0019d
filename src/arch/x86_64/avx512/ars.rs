//! ARS-5 on zmm registers with VAES: one `vaesenc` runs a round on four blocks, and eight
//! chains keep the AES unit busy through its latency. Bit-identical to
//! [`crate::reference::ars`] with lowp's mapping of blocks to elements.

use core::arch::x86_64::*;

use crate::reference::ars::{round_keys, ROUNDS};

/// Blocks per call, as the Philox kernel's step: four per chain.
const BLOCKS: usize = 32;
const CHAINS: usize = BLOCKS / 4;

/// A seed's round keys, each broadcast to the four 128-bit lanes.
#[derive(Clone, Copy)]
pub(super) struct ArsKeys([__m512i; ROUNDS + 1]);

impl ArsKeys {
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn new(seed: u64) -> ArsKeys {
        let mut keys = [_mm512_setzero_si512(); ROUNDS + 1];
        for (out, key) in keys.iter_mut().zip(round_keys(seed)) {
            let lane = _mm_set_epi64x((key >> 64) as i64, key as i64);
            *out = _mm512_broadcast_i32x4(lane);
        }
        ArsKeys(keys)
    }
}

/// The random 16-bit values of blocks `first..first + 32` (block numbers wrapping modulo
/// 2^61, as [`crate::arch::sr_block`]), two blocks per vector in element order: `out[k]`
/// holds blocks `first + 2k` and `first + 2k + 1`.
#[inline]
#[target_feature(enable = "avx512f,aes,vaes")]
pub(super) fn random_blocks(keys: &ArsKeys, first: u64) -> [__m256i; BLOCKS / 2] {
    // Counters: the block number in each lane's low 64 bits, zero in the high ones.
    let mask = _mm512_setr_epi64(
        (u64::MAX / 8) as i64,
        0,
        (u64::MAX / 8) as i64,
        0,
        (u64::MAX / 8) as i64,
        0,
        (u64::MAX / 8) as i64,
        0,
    );
    let base = _mm512_add_epi64(
        _mm512_set1_epi64(first as i64),
        _mm512_setr_epi64(0, 0, 1, 0, 2, 0, 3, 0),
    );
    let k = &keys.0;
    let mut v = [_mm512_setzero_si512(); CHAINS];
    for (j, v) in v.iter_mut().enumerate() {
        let counter = _mm512_and_si512(
            _mm512_add_epi64(base, _mm512_set1_epi64(4 * j as i64)),
            mask,
        );
        *v = _mm512_xor_si512(counter, k[0]);
    }
    for key in &k[1..ROUNDS] {
        for v in &mut v {
            *v = _mm512_aesenc_epi128(*v, *key);
        }
    }
    let mut out = [_mm256_setzero_si256(); BLOCKS / 2];
    for (j, v) in v.into_iter().enumerate() {
        let v = _mm512_aesenclast_epi128(v, k[ROUNDS]);
        out[2 * j] = _mm512_castsi512_si256(v);
        out[2 * j + 1] = _mm512_extracti64x4_epi64::<1>(v);
    }
    out
}
