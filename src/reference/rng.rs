//! The random bits of stochastic rounding: a counter-based generator, keyed by the seed and
//! counted by element position.
//!
//! Two generators are defined; [`Generator::Philox4x32_10`] is the default.
//!
//! - **Philox4x32-10** (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11)
//!   maps a 128-bit counter and a 64-bit key to 128 random bits; it is the generator of
//!   cuRAND, JAX and PyTorch's GPU backends. Block `b` is
//!   `philox4x32_10([b as u32, (b >> 32) as u32, 0, 0], [seed as u32, (seed >> 32) as u32])`.
//! - **ARS-5** ([`crate::reference::ars`]): five AES rounds on the counter `b`, keyed by `seed`.
//!   On a CPU with AES instructions it costs a quarter of Philox's work or less, which decides
//!   the stochastic kernels' speed in cache; without them it is computed in software, slower.
//!
//! Either way lowp draws 16 bits per element:
//!
//! - element `index` (its global position: the call's `offset` plus its place in the slice)
//!   belongs to block `index / 8`;
//! - element `index` takes word `(index % 8) / 2` of its block, low half for even `index`,
//!   high half for odd.
//!
//! So the 16-bit values of consecutive elements are the block words' little-endian halves in
//! order, and an element's bits never depend on how an array is split into calls, threads or
//! vectors.
//!
//! The generator is most of the stochastic kernels' work: in L1 on an Emerald Rapids core,
//! with Philox they run at 0.14-0.44x of round-to-nearest's speed on the same tier, with
//! ARS-5 at 0.66-1.09x on `Avx2` and `Avx512` and 0.36-0.41x against `Avx512Bf16`'s
//! one-instruction round-to-nearest (the README's session 23).

/// Which counter-based generator draws the random bits of a stochastic rounding.
///
/// Both give the same bits on every backend and for any split of an array; they give
/// different bits from each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Generator {
    /// Philox4x32-10: the ML frameworks' standard, with the project's shared test vectors.
    #[default]
    Philox4x32_10,
    /// ARS-5: AES rounds, several times faster where the CPU has AES instructions (x86 AES-NI
    /// and VAES, Arm's crypto extension), slower elsewhere.
    Ars5,
}

impl Generator {
    /// The four words of block `block` under `seed`.
    pub fn block_words(self, seed: u64, block: u64) -> [u32; 4] {
        match self {
            Generator::Philox4x32_10 => block_words(seed, block),
            Generator::Ars5 => super::ars::block_words(seed, block),
        }
    }

    /// The 16 random bits of element `index` under `seed`.
    pub fn random16(self, seed: u64, index: u64) -> u16 {
        let word = self.block_words(seed, index / 8)[(index % 8 / 2) as usize];
        (word >> (16 * (index % 2))) as u16
    }
}

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

/// The four words of block `block` under `seed`, from Philox4x32-10.
pub fn block_words(seed: u64, block: u64) -> [u32; 4] {
    philox4x32_10(
        [block as u32, (block >> 32) as u32, 0, 0],
        [seed as u32, (seed >> 32) as u32],
    )
}

/// The 16 random bits of element `index` under `seed`, from Philox4x32-10.
pub fn random16(seed: u64, index: u64) -> u16 {
    Generator::Philox4x32_10.random16(seed, index)
}

/// The 16-bit values of consecutive elements from `index` on, computing each block once, when
/// its first value is drawn (so an empty slice costs nothing).
#[derive(Clone, Debug)]
pub struct Random16 {
    generator: Generator,
    seed: u64,
    index: u64,
    words: Option<[u32; 4]>,
}

impl Random16 {
    /// The Philox4x32-10 stream of element `index` onwards under `seed`.
    pub fn new(seed: u64, index: u64) -> Random16 {
        Random16::with_generator(Generator::Philox4x32_10, seed, index)
    }

    /// The stream of element `index` onwards under `seed`, from `generator`.
    pub fn with_generator(generator: Generator, seed: u64, index: u64) -> Random16 {
        Random16 {
            generator,
            seed,
            index,
            words: None,
        }
    }
}

impl Iterator for Random16 {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        let i = self.index;
        let (generator, seed) = (self.generator, self.seed);
        let words = self
            .words
            .get_or_insert_with(|| generator.block_words(seed, i / 8));
        let r = (words[(i % 8 / 2) as usize] >> (16 * (i % 2))) as u16;
        self.index = i.wrapping_add(1);
        if self.index.is_multiple_of(8) {
            self.words = None;
        }
        Some(r)
    }
}
