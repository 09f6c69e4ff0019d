//! The x86 stochastic kernels' edges: the elements before a call's first block boundary (at
//! most 7) where a large output is moved to a line ([`super::to_line`]), and with Philox a
//! tail shorter than the tier's crossover ([`super::in_place_tail_min`]), rounded one at a
//! time as the reference rounds them. With ARS-5 their blocks come from one AES-NI
//! chain ([`ars::block_values`]) instead of the reference's software AES, which took about
//! 90 ns a block: a call whose offset is not a multiple of 8 paid that once.

use core::arch::x86_64::__m128i;

use half::{bf16, f16};

use super::avx2::ars::{self, round_keys128};
use super::Aes;
use crate::backend::Sr;
use crate::reference::ars::ROUNDS;
use crate::reference::rng::Generator;
use crate::reference::stochastic as r;

/// ARS-5's random values of elements `index..`, a block drawn by AES-NI whenever the index
/// enters a new one.
struct AesValues {
    aes: Aes,
    keys: [__m128i; ROUNDS + 1],
    index: u64,
    block: Option<(u64, [u16; 8])>,
}

impl AesValues {
    /// The values of elements `at..` under `sr`'s seed, where `sr` names ARS-5 and the CPU
    /// has AES-NI; `None` otherwise (the reference draws them).
    fn new(at: u64, sr: Sr) -> Option<AesValues> {
        let aes = Aes::detect().filter(|_| sr.generator == Generator::Ars5)?;
        // SAFETY: SSE2 is part of the x86_64 baseline.
        let keys = unsafe { round_keys128(sr.seed) };
        Some(AesValues {
            aes,
            keys,
            index: at,
            block: None,
        })
    }
}

impl Iterator for AesValues {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        let (index, block) = (self.index, self.index / 8);
        let values = match self.block {
            Some((drawn, values)) if drawn == block => values,
            _ => {
                let values = ars::block_values(self.aes, &self.keys, block);
                self.block = Some((block, values));
                values
            }
        };
        self.index = index.wrapping_add(1);
        Some(values[(index % 8) as usize])
    }
}

/// `dst[i] = sr(src[i])` as bf16 with index `at + i`.
pub(super) fn f32_to_bf16(src: &[f32], dst: &mut [bf16], at: u64, sr: Sr) {
    match AesValues::new(at, sr) {
        Some(values) => {
            for ((d, &x), r) in dst.iter_mut().zip(src).zip(values) {
                *d = r::f32_to_bf16_with_bits(x, r, sr.overflow);
            }
        }
        None => r::f32_to_bf16_stochastic_slice(src, dst, sr.seed, at, sr.options()),
    }
}

/// `dst[i] = sr(src[i])` as f16 with index `at + i`.
pub(super) fn f32_to_f16(src: &[f32], dst: &mut [f16], at: u64, sr: Sr) {
    match AesValues::new(at, sr) {
        Some(values) => {
            for ((d, &x), r) in dst.iter_mut().zip(src).zip(values) {
                *d = r::f32_to_f16_with_bits(x, r, sr.overflow);
            }
        }
        None => r::f32_to_f16_stochastic_slice(src, dst, sr.seed, at, sr.options()),
    }
}

/// `w[i] = sr(w[i] + alpha * g[i])` with index `at + i`.
pub(super) fn axpy<G: Copy + Into<f32>>(alpha: f32, g: &[G], w: &mut [bf16], at: u64, sr: Sr) {
    match AesValues::new(at, sr) {
        Some(values) => {
            for ((w, &g), r) in w.iter_mut().zip(g).zip(values) {
                *w = r::update_with_bits(alpha, g.into(), *w, r, sr.overflow);
            }
        }
        None => r::axpy_bf16_stochastic_slice(alpha, g, w, sr.seed, at, sr.options()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::check_sr_against_reference;
    use super::*;
    use crate::reference::stochastic::{Overflow, SrOptions};

    /// Every edge the kernels can hand over (offsets across block boundaries and the index
    /// wrap, lengths up to two blocks past one), on special values and random patterns, gives
    /// the reference's bits with either generator.
    #[test]
    fn edges_match_the_reference() {
        let mut next = super::super::xorshift(0x9e37_79b9_7f4a_7c15);
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
                    check_sr_against_reference(s, &w0, sr, "edges", |out| {
                        f32_to_bf16(s, &mut out.bf16, offset, sr);
                        f32_to_f16(s, &mut out.f16, offset, sr);
                        axpy(0.5, s, &mut out.axpy, offset, sr);
                    });
                }
            }
        }
    }
}
