//! ARS-5 with AES-NI: one `aesenc` per block and round on xmm registers (eight blocks in
//! flight), or per two blocks on ymm registers where the CPU has VAES (sixteen blocks, in the
//! order [`PairedBits`] describes). Bit-identical to
//! [`crate::reference::ars`] with lowp's mapping of blocks to elements.

use core::arch::x86_64::*;

use super::super::Aes;
use super::paired_bits::{PairedBits, PAIRED_BLOCKS};
use crate::reference::ars::{round_keys, ROUNDS};

/// Blocks per call, as the Philox kernel's step.
const BLOCKS: usize = 8;

/// A seed's round keys, for [`random_blocks`], and the first one XORed with each block's
/// offset from the step's first block (in the low 64 bits).
#[derive(Clone, Copy)]
pub(super) struct ArsKeys {
    keys: [__m128i; ROUNDS + 1],
    offset_keys: [__m128i; BLOCKS],
}

/// A seed's round keys in both 128-bit lanes, for [`random_blocks_vaes`], and the first one
/// XORed with each vector's block offsets from the step's first block (`2j` and `2j + 1`,
/// in the low 64 bits of the two lanes).
#[derive(Clone, Copy)]
pub(super) struct ArsKeys2 {
    keys: [__m256i; ROUNDS + 1],
    offset_keys: [__m256i; PAIRED_BLOCKS / 2],
}

impl ArsKeys2 {
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn new(seed: u64) -> ArsKeys2 {
        let mut keys = [_mm256_setzero_si256(); ROUNDS + 1];
        for (out, key) in keys.iter_mut().zip(round_keys128(seed)) {
            *out = _mm256_broadcastsi128_si256(key);
        }
        let mut offset_keys = [_mm256_setzero_si256(); PAIRED_BLOCKS / 2];
        for (j, out) in offset_keys.iter_mut().enumerate() {
            let j = 2 * j as i64;
            *out = _mm256_xor_si256(keys[0], _mm256_setr_epi64x(j, 0, j + 1, 0));
        }
        ArsKeys2 { keys, offset_keys }
    }
}

impl ArsKeys {
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn new(seed: u64) -> ArsKeys {
        let keys = round_keys128(seed);
        let mut offset_keys = [_mm_setzero_si128(); BLOCKS];
        for (j, out) in offset_keys.iter_mut().enumerate() {
            *out = _mm_xor_si128(keys[0], _mm_set_epi64x(0, j as i64));
        }
        ArsKeys { keys, offset_keys }
    }
}

/// The reference's round keys of a seed, in xmm registers (shared by both key sets, so the
/// VAES one builds no offset keys it does not use, and by [`block_values`]).
#[inline]
#[target_feature(enable = "sse2")]
pub(in crate::arch::x86_64) fn round_keys128(seed: u64) -> [__m128i; ROUNDS + 1] {
    round_keys(seed).map(|key| _mm_set_epi64x((key >> 64) as i64, key as i64))
}

/// The random 16-bit values of blocks `first..first + 8` (block numbers wrapping modulo 2^61,
/// as [`crate::arch::sr_block`]): `out[k]` holds block `first + k`'s eight values in order.
#[inline]
#[target_feature(enable = "avx2,aes")]
pub(super) fn random_blocks(keys: &ArsKeys, first: u64) -> [__m128i; BLOCKS] {
    let k = &keys.keys;
    let mut v = [_mm_setzero_si128(); BLOCKS];
    if first.is_multiple_of(BLOCKS as u64) {
        // As in [`random_blocks_vaes`]: one XOR per block where the step starts on 8 blocks,
        // instead of an add, a mask and a move.
        let start = _mm_cvtsi64_si128(first as i64);
        for (v, offset_key) in v.iter_mut().zip(&keys.offset_keys) {
            *v = _mm_xor_si128(start, *offset_key);
        }
    } else {
        for (j, v) in v.iter_mut().enumerate() {
            let counter = first.wrapping_add(j as u64) & (u64::MAX / 8);
            *v = _mm_xor_si128(_mm_cvtsi64_si128(counter as i64), k[0]);
        }
    }
    for key in &k[1..ROUNDS] {
        for v in &mut v {
            *v = _mm_aesenc_si128(*v, *key);
        }
    }
    v.map(|v| _mm_aesenclast_si128(v, k[ROUNDS]))
}

/// The eight random values of block `block` (below 2^61) under the round keys `keys`
/// ([`round_keys128`]), in element order: the reference's `block_words` as 16-bit values, by
/// one AES-NI chain instead of software AES. For the kernels' edges, a block at a time.
pub(in crate::arch::x86_64) fn block_values(
    _: Aes,
    keys: &[__m128i; ROUNDS + 1],
    block: u64,
) -> [u16; 8] {
    #[target_feature(enable = "sse2,aes")]
    fn encrypt(keys: &[__m128i; ROUNDS + 1], block: u64) -> [u16; 8] {
        let mut v = _mm_xor_si128(_mm_cvtsi64_si128(block as i64), keys[0]);
        for key in &keys[1..ROUNDS] {
            v = _mm_aesenc_si128(v, *key);
        }
        let v = _mm_aesenclast_si128(v, keys[ROUNDS]);
        let mut values = [0u16; 8];
        // SAFETY: a 16-byte store into the 16 bytes of `values`.
        unsafe { _mm_storeu_si128(values.as_mut_ptr().cast(), v) };
        values
    }
    // SAFETY: the `Aes` token proves the CPU has AES-NI (and SSE2 is x86_64's baseline).
    unsafe { encrypt(keys, block) }
}

/// The random values of blocks `first..first + 16`, two blocks per `vaesenc` (ymm, VAES), in
/// the order [`PairedBits`] says.
#[inline]
#[target_feature(enable = "avx2,aes,vaes")]
pub(super) fn random_blocks_vaes(keys: &ArsKeys2, first: u64) -> PairedBits {
    let k = &keys.keys;
    let mut v = [_mm256_setzero_si256(); PAIRED_BLOCKS / 2];
    if first.is_multiple_of(PAIRED_BLOCKS as u64) {
        // Every step of an array whose offset is a multiple of 128 elements: adding an offset
        // below 16 sets low bits that are clear, so `(first + o) ^ k0 = first ^ (o ^ k0)`, one
        // XOR per vector, with no wrap (2^61 is a multiple of 16). Building each counter
        // vector from two 64-bit halves took five instructions (ARS-5 f32 -> bf16 of 4096
        // elements on a Zen 4 core: 1.13-1.18x with this alone).
        let start = _mm256_and_si256(
            _mm256_set1_epi64x(first as i64),
            _mm256_setr_epi64x(-1, 0, -1, 0),
        );
        for (v, offset_key) in v.iter_mut().zip(&keys.offset_keys) {
            *v = _mm256_xor_si256(start, *offset_key);
        }
    } else {
        for (j, v) in v.iter_mut().enumerate() {
            let counter = |i: u64| (first.wrapping_add(2 * j as u64 + i) & (u64::MAX / 8)) as i64;
            *v = _mm256_xor_si256(_mm256_setr_epi64x(counter(0), 0, counter(1), 0), k[0]);
        }
    }
    for key in &k[1..ROUNDS] {
        for v in &mut v {
            *v = _mm256_aesenc_epi128(*v, *key);
        }
    }
    PairedBits(v.map(|v| _mm256_aesenclast_epi128(v, k[ROUNDS])))
}
