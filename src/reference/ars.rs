//! ARS-5: the AES-round counter generator, in software (the oracle of the AES-instruction
//! kernels).
//!
//! ARS (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11; Random123's
//! `ars`, whose known answers the tests below hold) encrypts a 128-bit counter with AES rounds
//! whose round keys are a Weyl sequence instead of AES's key expansion:
//!
//! ```text
//! k = key; v = counter ^ k
//! rounds 1..R-1: k += WEYL; v = aesenc(v, k)      (64-bit lanes add without carry between them)
//! round R:       k += WEYL; v = aesenclast(v, k)
//! ```
//!
//! `aesenc` is one AES encryption round (SubBytes, ShiftRows, MixColumns, then the key XORed);
//! `aesenclast` leaves out MixColumns. 128-bit values are little-endian, as x86's `aesenc` and
//! Arm's `AESE`/`AESMC` take them. lowp uses five rounds, the count of MKL's ARS5 generator
//! (Random123 defaults to seven): five instructions per 128 bits on a CPU with AES
//! instructions, where Philox4x32-10 costs twenty 32-bit multiplies.

/// The round-key increments: low and high 64-bit lanes.
pub(crate) const WEYL: [u64; 2] = [0x9E37_79B9_7F4A_7C15, 0xBB67_AE85_84CA_A73B];

/// Rounds of lowp's ARS.
pub(crate) const ROUNDS: usize = 5;

/// `a · b` in GF(2^8) modulo AES's polynomial.
const fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        a = xtime(a);
        b >>= 1;
    }
    p
}

/// `2 · b` in GF(2^8).
pub(crate) const fn xtime(b: u8) -> u8 {
    (b << 1) ^ if b & 0x80 != 0 { 0x1b } else { 0 }
}

/// The S-box from its definition: the inverse in GF(2^8) (0 for 0), then the affine map.
const fn sbox() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut x = 0;
    while x < 256 {
        let mut inv = 0u8;
        let mut y = 1;
        while y < 256 {
            if gf_mul(x as u8, y as u8) == 1 {
                inv = y as u8;
            }
            y += 1;
        }
        table[x] = inv
            ^ inv.rotate_left(1)
            ^ inv.rotate_left(2)
            ^ inv.rotate_left(3)
            ^ inv.rotate_left(4)
            ^ 0x63;
        x += 1;
    }
    table
}

/// AES's S-box.
pub(crate) const SBOX: [u8; 256] = sbox();

/// One AES encryption round on a little-endian state (byte `i` is row `i % 4`, column
/// `i / 4`): SubBytes, ShiftRows, MixColumns unless `last`, then `key` XORed in.
pub(crate) fn aes_round(state: u128, key: u128, last: bool) -> u128 {
    let s = state.to_le_bytes();
    let shifted: [u8; 16] = core::array::from_fn(|i| {
        let (row, col) = (i % 4, i / 4);
        SBOX[usize::from(s[row + 4 * ((col + row) % 4)])]
    });
    let mut out = shifted;
    if !last {
        for col in 0..4 {
            let c = &shifted[4 * col..4 * col + 4];
            let all = c[0] ^ c[1] ^ c[2] ^ c[3];
            for row in 0..4 {
                out[4 * col + row] = c[row] ^ all ^ xtime(c[row] ^ c[(row + 1) % 4]);
            }
        }
    }
    u128::from_le_bytes(out) ^ key
}

/// `k + WEYL`, lane by lane.
fn next_key(k: u128) -> u128 {
    let lo = (k as u64).wrapping_add(WEYL[0]);
    let hi = ((k >> 64) as u64).wrapping_add(WEYL[1]);
    u128::from(lo) | u128::from(hi) << 64
}

/// ARS with `rounds` rounds (at least 1) of `counter` under `key`.
pub fn ars(counter: u128, key: u128, rounds: usize) -> u128 {
    let mut k = key;
    let mut v = counter ^ k;
    for round in 1..=rounds {
        k = next_key(k);
        v = aes_round(v, k, round == rounds);
    }
    v
}

/// The four words of lowp's block `block` under `seed`: ARS-5 of the counter `block` keyed by
/// `seed` (both zero-extended to 128 bits), as little-endian 32-bit words.
pub fn block_words(seed: u64, block: u64) -> [u32; 4] {
    let v = ars(u128::from(block), u128::from(seed), ROUNDS);
    core::array::from_fn(|i| (v >> (32 * i)) as u32)
}

/// The round keys of `seed`: `[k_0, ..., k_ROUNDS]`, `k_0` the whitening key. `k_r` is `r`
/// steps of [`next_key`] from `seed`: `seed + r * WEYL` lane by lane, the seed in the low lane.
/// In that closed form the SIMD kernels' prologues compute the keys in registers; as a loop
/// over the array LLVM kept them in memory, a chain of stores and reloads: an `Avx2` ARS-5
/// f32 -> bf16 call of no elements took 13.6 ns that way on a Zen 5 core and 10.2 ns this way
/// (256 elements: 38.8 and 37.1 ns; medians of 5).
pub(crate) fn round_keys(seed: u64) -> [u128; ROUNDS + 1] {
    core::array::from_fn(|r| {
        let r = r as u64;
        let low = seed.wrapping_add(WEYL[0].wrapping_mul(r));
        let high = WEYL[1].wrapping_mul(r);
        u128::from(low) | u128::from(high) << 64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: [u32; 4]) -> u128 {
        w.iter().rev().fold(0, |acc, &x| acc << 32 | u128::from(x))
    }

    /// Random123's known answers for `ars4x32` with 10 rounds (counter, key, result; words in
    /// order, little-endian).
    #[test]
    fn random123_known_answers() {
        let cases = [
            (
                [0; 4],
                [0; 4],
                [0x8d73ee19, 0x506401ef, 0x13c2dbe4, 0x0cbe9c0d],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89],
                [0xa516e7d6, 0x8357ad74, 0x5b59b3ec, 0x8763fff3],
            ),
            (
                [u32::MAX; 4],
                [u32::MAX, u32::MAX, 0, 0],
                [0xbb3743b1, 0x9f635551, 0xecbc87fc, 0xa19478a9],
            ),
        ];
        for (counter, key, want) in cases {
            assert_eq!(ars(words(counter), words(key), 10), words(want));
        }
    }

    /// FIPS-197 appendix B: AES-128 with its own key expansion, through [`aes_round`].
    #[test]
    fn fips_197_example() {
        let key: [u8; 16] = 0x2b7e151628aed2a6abf7158809cf4f3c_u128.to_be_bytes();
        let mut w: Vec<[u8; 4]> = key.chunks(4).map(|c| c.try_into().unwrap()).collect();
        let mut rcon = 1u8;
        for i in 4..44 {
            let mut t = w[i - 1];
            if i % 4 == 0 {
                t = [t[1], t[2], t[3], t[0]].map(|b| SBOX[usize::from(b)]);
                t[0] ^= rcon;
                rcon = xtime(rcon);
            }
            w.push(core::array::from_fn(|j| w[i - 4][j] ^ t[j]));
        }
        let round_key = |r: usize| {
            let bytes: [u8; 16] = core::array::from_fn(|i| w[4 * r + i / 4][i % 4]);
            u128::from_le_bytes(bytes)
        };
        let plain = u128::from_le_bytes(0x3243f6a8885a308d313198a2e0370734_u128.to_be_bytes());
        let mut s = plain ^ round_key(0);
        for r in 1..=10 {
            s = aes_round(s, round_key(r), r == 10);
        }
        assert_eq!(
            s.to_le_bytes(),
            0x3925841d02dc09fbdc118597196a0b32_u128.to_be_bytes()
        );
    }

    #[test]
    fn round_keys_follow_the_weyl_sequence() {
        for seed in [0, 1, 0x5eed, u64::MAX - 1, u64::MAX] {
            let keys = round_keys(seed);
            let mut k = u128::from(seed);
            for key in keys {
                assert_eq!(key, k, "seed {seed:#x}");
                k = next_key(k);
            }
        }
        let keys = round_keys(u64::MAX);
        assert_eq!(keys[1] as u64, WEYL[0].wrapping_sub(1)); // no carry into the high lane
    }
}
