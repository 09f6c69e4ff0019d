//! ARS-5 on zmm registers with VAES: one `vaesenc` runs a round on four blocks. A chunk's
//! eight vectors of counters are encrypted one at a time where the driver uses their bits
//! ([`ArsChunk`]), so the out-of-order core runs each chain of five rounds beside the rounding
//! of the vectors before it. Bit-identical to [`crate::reference::ars`] with lowp's mapping of
//! blocks to elements.

use core::arch::x86_64::*;

use crate::reference::ars::{ROUNDS, WEYL};

/// Blocks per call, as the Philox kernel's step: four per chain.
const BLOCKS: usize = 32;
const CHAINS: usize = BLOCKS / 4;

/// A seed's round keys, each broadcast to the four 128-bit lanes.
#[derive(Clone, Copy)]
pub(super) struct ArsKeys {
    keys: [__m512i; ROUNDS + 1],
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
        ArsKeys { keys }
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

/// The [`Bits`](super::stochastic::Bits) (complemented random values) of blocks
/// `first..first + 32`, block numbers wrapping modulo 2^61 as [`crate::arch::sr_block`], to be
/// drawn a vector at a time ([`ArsChunk`]).
#[inline]
#[target_feature(enable = "avx512f,aes,vaes")]
pub(super) fn random_blocks(keys: &ArsKeys, first: u64) -> ArsChunk {
    // Counters: the block number in each lane's low 64 bits, zero in the high ones, XORed
    // with the first round key. Where `first` is a multiple of 32 (every step of an array
    // whose offset is), adding an offset below 32 sets low bits that are clear, so
    // `(first + o) ^ k0 = (first ^ k0) ^ o`: one XOR per vector, with no wrap (2^61 is a
    // multiple of 32 too).
    let k = &keys.keys;
    let start = _mm512_maskz_set1_epi64(0b0101_0101, first as i64);
    let mut counters = [_mm512_setzero_si512(); CHAINS];
    if first.is_multiple_of(BLOCKS as u64) {
        let keyed = _mm512_xor_si512(start, k[0]);
        for (j, v) in counters.iter_mut().enumerate() {
            *v = _mm512_xor_si512(keyed, offsets(j));
        }
    } else {
        let mask = _mm512_set1_epi64((u64::MAX / 8) as i64);
        for (j, v) in counters.iter_mut().enumerate() {
            let counter = _mm512_and_si512(_mm512_add_epi64(start, offsets(j)), mask);
            *v = _mm512_xor_si512(counter, k[0]);
        }
    }
    let mut round_keys = [_mm512_setzero_si512(); ROUNDS];
    round_keys.copy_from_slice(&k[1..]);
    ArsChunk {
        counters,
        round_keys,
    }
}

/// A chunk's counters (the first round key applied) and the other round keys: its `step(j)`
/// encrypts counter `j` where the driver uses its bits. Drawn all at once a chunk ahead (as
/// Philox's are), ARS-5 f32 -> bf16 of 4096 elements ran at 0.93-0.97x of this on a Zen 5
/// core (three alternated runs of `lowp bench --only l1`), its AES rounds in bursts of forty
/// and two chunks' bits held in registers.
#[derive(Clone, Copy)]
pub(super) struct ArsChunk {
    counters: [__m512i; CHAINS],
    round_keys: [__m512i; ROUNDS],
}

impl super::stochastic::ChunkBits for ArsChunk {
    const DRAW_AHEAD: bool = false;

    #[inline(always)]
    fn step(&self, j: usize) -> __m512i {
        // SAFETY: an `ArsChunk` is only made by `random_blocks`, whose features the kernels
        // that use it enable.
        unsafe { self.draw(j) }
    }
}

impl ArsChunk {
    /// Blocks `4j..4j + 4` of the chunk.
    #[inline]
    #[target_feature(enable = "avx512f,aes,vaes")]
    fn draw(&self, j: usize) -> __m512i {
        let mut v = self.counters[j];
        for key in &self.round_keys[..ROUNDS - 1] {
            v = _mm512_aesenc_epi128(v, *key);
        }
        _mm512_aesenclast_epi128(v, self.round_keys[ROUNDS - 1])
    }
}
