//! ARS-5 with the Armv8 AES instructions: one `AESE` + `AESMC` pair per block and round,
//! eight blocks in flight. Bit-identical to [`crate::reference::ars`] with lowp's mapping of
//! blocks to elements.

use core::arch::aarch64::*;

use crate::reference::ars::{round_keys, ROUNDS};

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
    let k = &keys.0;
    let mut v: [uint8x16_t; BLOCKS] = core::array::from_fn(|j| {
        let counter = first.wrapping_add(j as u64) & (u64::MAX / 8);
        vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(counter), vcreate_u64(0)))
    });
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
