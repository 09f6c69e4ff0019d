//! ARS-5 without AES instructions, by lookup tables: the bits of
//! [`crate::reference::ars::block_words`], several times faster than the reference's
//! byte-by-byte round (which the tests hold this one to). For the `Portable` tier, which `wide`
//! gives no AES, and for Arm cores without the crypto extension.
//!
//! A round works on the state as four little-endian column words. Output column `j` takes
//! row `r` from input column `j + r` (ShiftRows); the byte's S-box value times MixColumns'
//! column for row 0 (2, 1, 1, 3) is one word of [`MIX`], and the other rows' columns are the
//! same word rotated by 8 `r` bits. The tables are not constant-time, which random bits for
//! rounding do not need.

use crate::arch::edge::{values_of_words, Blocks};
use crate::backend::Sr;
use crate::reference::ars::{round_keys, xtime, ROUNDS, SBOX};
use crate::reference::rng::Generator;

/// `MIX[b]`: S-box value `s` of byte `b` times MixColumns' first column, bytes `(2s, s, s, 3s)`.
const MIX: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let s = SBOX[b] as u32;
        let twice = xtime(SBOX[b]) as u32;
        table[b] = twice | s << 8 | s << 16 | (twice ^ s) << 24;
        b += 1;
    }
    table
};

/// A seed's round keys as column words.
#[derive(Clone, Copy)]
pub(crate) struct ArsKeys([[u32; 4]; ROUNDS + 1]);

impl ArsKeys {
    pub(crate) fn new(seed: u64) -> ArsKeys {
        ArsKeys(round_keys(seed).map(columns))
    }

    /// The four words of lowp's block `block`: [`crate::reference::ars::block_words`].
    pub(crate) fn block_words(&self, block: u64) -> [u32; 4] {
        let k = &self.0;
        let counter = columns(u128::from(block));
        let mut state: [u32; 4] = core::array::from_fn(|j| counter[j] ^ k[0][j]);
        for key in &k[1..ROUNDS] {
            state = core::array::from_fn(|j| {
                let row = |r: usize| MIX[byte(state[(j + r) % 4], r)].rotate_left(8 * r as u32);
                row(0) ^ row(1) ^ row(2) ^ row(3) ^ key[j]
            });
        }
        core::array::from_fn(|j| {
            let row = |r: usize| u32::from(SBOX[byte(state[(j + r) % 4], r)]) << (8 * r);
            row(0) ^ row(1) ^ row(2) ^ row(3) ^ k[ROUNDS][j]
        })
    }
}

impl Blocks for ArsKeys {
    fn values(&self, block: u64) -> [u16; 8] {
        values_of_words(self.block_words(block))
    }
}

/// The tables' blocks under `sr`'s seed where `sr` names ARS-5, for the edges
/// ([`crate::arch::edge`]): about 5 times faster than the reference's software AES.
pub(crate) fn table_blocks(sr: Sr) -> Option<ArsKeys> {
    (sr.generator == Generator::Ars5).then(|| ArsKeys::new(sr.seed))
}

/// A 128-bit value as its four little-endian 32-bit words.
fn columns(v: u128) -> [u32; 4] {
    core::array::from_fn(|j| (v >> (32 * j)) as u32)
}

/// Byte `r` (row `r`) of a column word.
fn byte(column: u32, r: usize) -> usize {
    usize::from((column >> (8 * r)) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ars::block_words;

    /// The tables give the reference's words: every block of a stretch, blocks whose counter
    /// bytes are all set, and seeds with carries in both key lanes. A wrong row rotation, a
    /// column taken from the wrong neighbour or a wrong table entry changes every word.
    #[test]
    fn matches_the_reference() {
        let seeds = [0, 1, 42, u64::MAX, 0x0123_4567_89ab_cdef, 1 << 63];
        let blocks = (0..300u64).chain([u64::MAX / 8, u64::MAX / 8 - 1, 0xff, 0xffff_ffff]);
        for seed in seeds {
            let keys = ArsKeys::new(seed);
            for block in blocks.clone() {
                assert_eq!(
                    keys.block_words(block),
                    block_words(seed, block),
                    "seed {seed:#x}, block {block}"
                );
            }
        }
    }
}
