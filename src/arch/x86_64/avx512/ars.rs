//! ARS-5 on zmm registers with VAES: one `vaesenc` runs a round on four blocks, and eight
//! chains keep the AES unit busy through its latency. Bit-identical to
//! [`crate::reference::ars`] with lowp's mapping of blocks to elements.

use core::arch::x86_64::*;

use super::stochastic::Bits;
use crate::reference::ars::{ROUNDS, WEYL};

/// Blocks per call, as the Philox kernel's step: four per chain.
const BLOCKS: usize = 32;
const CHAINS: usize = BLOCKS / 4;

/// A seed's round keys, each broadcast to the four 128-bit lanes, and the first one XORed
/// with each chain's counter offsets (see [`random_blocks`]).
#[derive(Clone, Copy)]
pub(super) struct ArsKeys {
    keys: [__m512i; ROUNDS + 1],
    offset_keys: [__m512i; CHAINS],
}

impl ArsKeys {
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn new(seed: u64) -> ArsKeys {
        // The reference's `round_keys`, in a register: built in memory, each key would be two
        // 8-byte stores read back by one 16-byte load, which store forwarding cannot serve
        // (a call of no elements took 27 ns on a Zen 4 core, 15 ns since).
        let weyl = _mm_set_epi64x(WEYL[1] as i64, WEYL[0] as i64);
        let mut key = _mm_cvtsi64_si128(seed as i64);
        let mut keys = [_mm512_setzero_si512(); ROUNDS + 1];
        for out in &mut keys {
            *out = _mm512_broadcast_i32x4(key);
            key = _mm_add_epi64(key, weyl);
        }
        // `aesenclast` ends by XORing its key, so the complemented last key gives the
        // complemented block: the headrooms of [`Bits`], for free.
        let last = &mut keys[ROUNDS];
        *last = _mm512_ternarylogic_epi32::<0x55>(*last, *last, *last);
        let mut offset_keys = [_mm512_setzero_si512(); CHAINS];
        for (j, out) in offset_keys.iter_mut().enumerate() {
            *out = _mm512_xor_si512(keys[0], offsets(j));
        }
        ArsKeys { keys, offset_keys }
    }
}

/// Chain `j`'s block offsets from the step's first block: `4j..4j + 4`, one per 128-bit lane
/// (in its low 64 bits).
#[inline]
#[target_feature(enable = "avx512f")]
fn offsets(j: usize) -> __m512i {
    let j = 4 * j as i64;
    _mm512_setr_epi64(j, 0, j + 1, 0, j + 2, 0, j + 3, 0)
}

/// The [`Bits`] (complemented random values) of blocks `first..first + 32`, block numbers
/// wrapping modulo 2^61 as [`crate::arch::sr_block`].
#[inline]
#[target_feature(enable = "avx512f,aes,vaes")]
pub(super) fn random_blocks(keys: &ArsKeys, first: u64) -> Bits {
    // Counters: the block number in each lane's low 64 bits, zero in the high ones, XORed
    // with the first round key. Where `first` is a multiple of 32 (every step of an array
    // whose offset is), adding an offset below 32 sets low bits that are clear, so
    // `(first + o) ^ k0 = first ^ (o ^ k0)`: one XOR per vector, with no wrap (2^61 is a
    // multiple of 32 too).
    let k = &keys.keys;
    let start = _mm512_maskz_set1_epi64(0b0101_0101, first as i64);
    let mut v = [_mm512_setzero_si512(); CHAINS];
    if first.is_multiple_of(BLOCKS as u64) {
        for (v, offset_key) in v.iter_mut().zip(&keys.offset_keys) {
            *v = _mm512_xor_si512(start, *offset_key);
        }
    } else {
        let mask = _mm512_set1_epi64((u64::MAX / 8) as i64);
        for (j, v) in v.iter_mut().enumerate() {
            let counter = _mm512_and_si512(_mm512_add_epi64(start, offsets(j)), mask);
            *v = _mm512_xor_si512(counter, k[0]);
        }
    }
    for key in &k[1..ROUNDS] {
        for v in &mut v {
            *v = _mm512_aesenc_epi128(*v, *key);
        }
    }
    v.map(|v| _mm512_aesenclast_epi128(v, k[ROUNDS]))
}
