//! ARS-5 with the Armv8 AES instructions: one `AESE` + `AESMC` pair per block and round,
//! eight blocks in flight. Bit-identical to [`crate::reference::ars`] with lowp's mapping of
//! blocks to elements.

use core::arch::aarch64::*;

use super::super::Aes;
use crate::arch::edge::Blocks;
use crate::backend::Sr;
use crate::reference::ars::{round_keys, ROUNDS};
use crate::reference::rng::Generator;

/// Blocks per call, as the Philox kernel's step.
const BLOCKS: usize = 8;

/// A seed's round keys.
#[derive(Clone, Copy)]
pub(super) struct ArsKeys([uint8x16_t; ROUNDS + 1]);

impl ArsKeys {
    #[inline]
    #[target_feature(enable = "neon")]
    pub(super) fn new(seed: u64) -> ArsKeys {
        ArsKeys(round_keys(seed).map(|k| {
            let lanes = vcombine_u64(vcreate_u64(k as u64), vcreate_u64((k >> 64) as u64));
            vreinterpretq_u8_u64(lanes)
        }))
    }
}

/// The random 16-bit values of blocks `first..first + 8` (block numbers wrapping modulo 2^61,
/// as [`crate::arch::sr_block`]): `out[k]` holds block `first + k`'s eight values in order.
#[inline]
#[target_feature(enable = "neon,aes")]
pub(super) fn random_blocks(keys: &ArsKeys, first: u64) -> [uint16x8_t; BLOCKS] {
    encrypt(
        keys,
        core::array::from_fn(|j| first.wrapping_add(j as u64) & (u64::MAX / 8)),
    )
}

/// The random 16-bit values of `blocks` (each below 2^61), block by block in element order.
#[inline]
#[target_feature(enable = "neon,aes")]
fn encrypt<const N: usize>(keys: &ArsKeys, blocks: [u64; N]) -> [uint16x8_t; N] {
    let k = &keys.0;
    let mut v: [uint8x16_t; N] = blocks
        .map(|counter| vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(counter), vcreate_u64(0))));
    // x86's round is `aesenc(v, k) = MixColumns(ShiftRows(SubBytes(v))) ^ k`; Arm's `AESE`
    // XORs its key first, `AESE(v, k) = ShiftRows(SubBytes(v ^ k))`. So each `AESE` takes the
    // previous round's key (the whitening key first) and the last key is XORed at the end.
    for key in &k[..ROUNDS - 1] {
        for v in &mut v {
            *v = vaesmcq_u8(vaeseq_u8(*v, *key));
        }
    }
    v.map(|v| vreinterpretq_u16_u8(veorq_u8(vaeseq_u8(v, k[ROUNDS - 1]), k[ROUNDS])))
}

/// ARS-5's blocks by the AES instructions, one at a time, for the edges
/// ([`crate::arch::edge`]) instead of the reference's software AES.
pub(super) struct AesBlocks {
    _aes: Aes,
    keys: ArsKeys,
}

impl AesBlocks {
    /// `sr`'s seed's blocks where `sr` names ARS-5 and the CPU has the AES instructions;
    /// `None` otherwise (the reference draws the values).
    pub(super) fn new(sr: Sr) -> Option<AesBlocks> {
        let aes = Aes::detect().filter(|_| sr.generator == Generator::Ars5)?;
        // SAFETY: neon is part of the aarch64 baseline this crate is built for.
        let keys = unsafe { ArsKeys::new(sr.seed) };
        Some(AesBlocks { _aes: aes, keys })
    }
}

impl Blocks for AesBlocks {
    fn values(&self, block: u64) -> [u16; 8] {
        let mut values = [0u16; 8];
        // SAFETY: `_aes` proves the CPU has the AES instructions (and neon is baseline); the
        // store writes the 16 bytes of `values`.
        unsafe {
            let [v] = encrypt(&self.keys, [block]);
            vst1q_u16(values.as_mut_ptr(), v);
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::edge::{self, tests::check_edges};

    #[test]
    fn aes_edges_match_the_reference() {
        check_edges("AESE", |s, out, sr| {
            edge::f32_to_bf16(s, &mut out.bf16, sr.offset, sr, AesBlocks::new(sr));
            edge::f32_to_f16(s, &mut out.f16, sr.offset, sr, AesBlocks::new(sr));
            edge::axpy(0.5, s, &mut out.axpy, sr.offset, sr, AesBlocks::new(sr));
        });
    }
}
