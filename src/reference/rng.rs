//! The random bits of stochastic rounding: Philox4x32-10, keyed by the seed and counted by
//! element position.
//!
//! Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) maps a
//! 128-bit counter and a 64-bit key to 128 random bits; it is the generator of cuRAND, JAX and
//! PyTorch's GPU backends. lowp draws 16 bits per element:
//!
//! - element `index` (its global position: the call's `offset` plus its place in the slice)
//!   belongs to block `index / 8`;
//! - block `b` is `philox4x32_10([b as u32, (b >> 32) as u32, 0, 0], [seed as u32, (seed >> 32) as u32])`;
//! - element `index` takes word `(index % 8) / 2` of its block, low half for even `index`,
//!   high half for odd.
//!
//! So the 16-bit values of consecutive elements are the block words' little-endian halves in
//! order, and an element's bits never depend on how an array is split into calls, threads or
//! vectors.
//!
//! The generator's twenty multiplies per block are most of the stochastic kernels' work: on
//! x86 they run at 0.17-0.33x of round-to-nearest's speed on the same tier in L1, where the
//! same rounding fed by AES rounds (ARS-5) ran at 0.44-0.83x (the README's stochastic figures,
//! from `examples/x86_sr_generators.rs`).

pub(crate) const M0: u32 = 0xD251_1F53;
pub(crate) const M1: u32 = 0xCD9E_8D57;
pub(crate) const W0: u32 = 0x9E37_79B9; // golden ratio
pub(crate) const W1: u32 = 0xBB67_AE85; // sqrt(3) - 1

/// (high, low) halves of the 64-bit product.
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// The key schedule: `[k0 of round i]`, then `[k1 of round i]`, for the ten rounds.
pub(crate) fn round_keys(key: [u32; 2]) -> [[u32; 10]; 2] {
    let schedule = |k: u32, step: u32| {
        core::array::from_fn(|round| k.wrapping_add(step.wrapping_mul(round as u32)))
    };
    [schedule(key[0], W0), schedule(key[1], W1)]
}

/// Philox4x32 with 10 rounds.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [k0, k1] = round_keys(key);
    let mut c = counter;
    for round in 0..10 {
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k0[round], lo1, hi0 ^ c[3] ^ k1[round], lo0];
    }
    c
}

/// The four words of block `block` under `seed`.
pub fn block_words(seed: u64, block: u64) -> [u32; 4] {
    philox4x32_10(
        [block as u32, (block >> 32) as u32, 0, 0],
        [seed as u32, (seed >> 32) as u32],
    )
}

/// The 16 random bits of element `index` under `seed`.
pub fn random16(seed: u64, index: u64) -> u16 {
    let word = block_words(seed, index / 8)[(index % 8 / 2) as usize];
    (word >> (16 * (index % 2))) as u16
}

/// The 16-bit values of consecutive elements from `index` on, computing each block once.
#[derive(Clone, Debug)]
pub struct Random16 {
    seed: u64,
    index: u64,
    words: [u32; 4],
}

impl Random16 {
    /// The stream of element `index` onwards under `seed`.
    pub fn new(seed: u64, index: u64) -> Random16 {
        Random16 {
            seed,
            index,
            words: block_words(seed, index / 8),
        }
    }
}

impl Iterator for Random16 {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        let i = self.index;
        let r = (self.words[(i % 8 / 2) as usize] >> (16 * (i % 2))) as u16;
        self.index = i.wrapping_add(1);
        if self.index.is_multiple_of(8) {
            self.words = block_words(self.seed, self.index / 8);
        }
        Some(r)
    }
}
