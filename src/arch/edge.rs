//! The stochastic kernels' edges on every SIMD tier: the elements a kernel does not round in
//! its chunks (before a call's first block boundary, or a tail too short for one), rounded one
//! at a time as the reference rounds them. With ARS-5 their random values come a block at a
//! time from the tier's own AES ([`Blocks`]: instructions, or the `Portable` tier's tables)
//! instead of the reference's byte-by-byte software AES, which took about 90 ns a block on a
//! Zen 5 core. Philox's come from the reference.

use half::{bf16, f16};

use crate::backend::Sr;
use crate::reference::stochastic as r;

/// A source of ARS-5's random values, a block at a time, under one seed.
pub(crate) trait Blocks {
    /// The eight random values of block `block` (below 2^61), in element order: the
    /// reference's [`block_words`](crate::reference::ars::block_words) as 16-bit values.
    fn values(&self, block: u64) -> [u16; 8];
}

/// A block's four 32-bit words as its eight 16-bit values, in element order.
pub(crate) fn values_of_words(words: [u32; 4]) -> [u16; 8] {
    core::array::from_fn(|e| (words[e / 2] >> (16 * (e % 2))) as u16)
}

/// The random values of elements `index..`, a block drawn whenever the index enters a new one.
struct BlockValues<B> {
    blocks: B,
    index: u64,
    drawn: Option<(u64, [u16; 8])>,
}

impl<B: Blocks> Iterator for BlockValues<B> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        let (index, block) = (self.index, self.index / 8);
        let values = match self.drawn {
            Some((drawn, values)) if drawn == block => values,
            _ => {
                let values = self.blocks.values(block);
                self.drawn = Some((block, values));
                values
            }
        };
        self.index = index.wrapping_add(1);
        Some(values[(index % 8) as usize])
    }
}

/// The values of elements `at..` from `ars`, where given.
fn values<B: Blocks>(at: u64, ars: Option<B>) -> Option<BlockValues<B>> {
    ars.map(|blocks| BlockValues {
        blocks,
        index: at,
        drawn: None,
    })
}

/// `dst[i] = one(src[i], dst[i], r)` for element `at + i`'s random value `r`, drawn by `ars`;
/// without `ars`, `reference(src, dst)` (the reference draws the generator's values).
fn each<S: Copy, D: Copy>(
    src: &[S],
    dst: &mut [D],
    at: u64,
    ars: Option<impl Blocks>,
    one: impl Fn(S, D, u16) -> D,
    reference: impl FnOnce(&[S], &mut [D]),
) {
    match values(at, ars) {
        Some(values) => {
            for ((d, &s), r) in dst.iter_mut().zip(src).zip(values) {
                *d = one(s, *d, r);
            }
        }
        None => reference(src, dst),
    }
}

/// `dst[i] = sr(src[i])` as bf16 with index `at + i`; `ars` draws ARS-5's values (`None`:
/// the reference draws the generator's).
pub(crate) fn f32_to_bf16(
    src: &[f32],
    dst: &mut [bf16],
    at: u64,
    sr: Sr,
    ars: Option<impl Blocks>,
) {
    let one = |x, _, r| r::f32_to_bf16_with_bits(x, r, sr.overflow);
    each(src, dst, at, ars, one, |s, d| {
        r::f32_to_bf16_stochastic_slice(s, d, sr.seed, at, sr.options())
    });
}

/// `dst[i] = sr(src[i])` as f16 with index `at + i`, `ars` as in [`f32_to_bf16`].
pub(crate) fn f32_to_f16(src: &[f32], dst: &mut [f16], at: u64, sr: Sr, ars: Option<impl Blocks>) {
    let one = |x, _, r| r::f32_to_f16_with_bits(x, r, sr.overflow);
    each(src, dst, at, ars, one, |s, d| {
        r::f32_to_f16_stochastic_slice(s, d, sr.seed, at, sr.options())
    });
}

/// `w[i] = sr(w[i] + alpha * g[i])` with index `at + i`, `ars` as in [`f32_to_bf16`].
pub(crate) fn axpy<G: Copy + Into<f32>>(
    alpha: f32,
    g: &[G],
    w: &mut [bf16],
    at: u64,
    sr: Sr,
    ars: Option<impl Blocks>,
) {
    let one = |g: G, w, r| r::update_with_bits(alpha, g.into(), w, r, sr.overflow);
    each(g, w, at, ars, one, |g, w| {
        r::axpy_bf16_stochastic_slice(alpha, g, w, sr.seed, at, sr.options())
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use half::bf16;

    use super::*;
    use crate::arch::portable::ars::table_blocks;
    use crate::arch::{check_sr_against_reference, xorshift, SrOutputs};
    use crate::reference::rng::Generator;
    use crate::reference::stochastic::{Overflow, SrOptions};

    /// Every edge the kernels can hand over (offsets across block boundaries and the index
    /// wrap, lengths up to two blocks past one), on special values and random patterns, gives
    /// the reference's bits with either generator: `run(src, outputs, sr)` runs one tier's
    /// three edges from `sr.offset`.
    pub(crate) fn check_edges(what: &str, run: impl Fn(&[f32], &mut SrOutputs, Sr)) {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let specials = [
            0.0f32,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
        ];
        let mut src: Vec<f32> = specials.to_vec();
        src.extend([
            f32::from_bits(0x7fc0_0001),
            f32::from_bits(0xff80_0001),
            1e-40,
        ]);
        src.extend((0..24).map(|_| f32::from_bits(next() as u32)));
        let w0: Vec<bf16> = (0..src.len())
            .map(|_| bf16::from_bits(next() as u16))
            .collect();
        let offsets = (0..20).chain([u64::MAX - 9, u64::MAX - 1, u64::MAX]);
        for (offset, len) in offsets.flat_map(|o| (0..=src.len()).map(move |n| (o, n))) {
            for generator in [Generator::Ars5, Generator::Philox4x32_10] {
                for overflow in [Overflow::Infinity, Overflow::Saturate] {
                    let options = SrOptions {
                        overflow,
                        generator,
                    };
                    let sr = Sr::new(0x5eed, offset, options);
                    let s = &src[..len];
                    check_sr_against_reference(s, &w0, sr, what, |out| run(s, out, sr));
                }
            }
        }
    }

    #[test]
    fn table_edges_match_the_reference() {
        check_edges("tables", |s, out, sr| {
            f32_to_bf16(s, &mut out.bf16, sr.offset, sr, table_blocks(sr));
            f32_to_f16(s, &mut out.f16, sr.offset, sr, table_blocks(sr));
            axpy(0.5, s, &mut out.axpy, sr.offset, sr, table_blocks(sr));
        });
    }
}
