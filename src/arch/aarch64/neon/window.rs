//! One chunk of a windowed packed CSR (`sparse::PackedCsr`, `PackedLayout::Windowed`) in four
//! quads of 4 lanes, lane `r` following row `r`. A window's 31 columns of x and a zero (128
//! bytes) sit in eight registers; a step spreads each lane's byte offset to the four bytes of
//! its f32 (`tbl`), looks them up in the first 64 bytes (`tbl`) and then the last 64 (`tbx`),
//! and adds one FMA per quad: no x loads per element. The padding pairs (`-0` at offset 31,
//! the zero) add `-0`, which leaves every sum as it was. Values widen through the dot
//! kernels' `Lanes`. (Not timed: no Arm hardware here; tested under qemu.)

use core::arch::aarch64::*;

use super::fmac::Lanes;
use crate::backend::WINDOW_COLS;

/// For quad `g`: byte `4j + k` picks byte `4g + j` of the offsets (lane `4g + j`'s offset).
const SPREAD: [[u8; 16]; 4] = {
    let mut spread = [[0u8; 16]; 4];
    let mut g = 0;
    while g < 4 {
        let mut b = 0;
        while b < 16 {
            spread[g][b] = (4 * g + b / 4) as u8;
            b += 1;
        }
        g += 1;
    }
    spread
};

/// Byte `k` of every f32: `4·offset + k`.
const BYTE_OF_LANE: [u8; 16] = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3];

pub(super) fn chunk<T: Lanes>(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    let steps: usize = windows.iter().map(|w| w[1] as usize).sum();
    assert!(offsets.len() >= 16 * steps && values.len() >= 16 * steps);
    // SAFETY: neon is part of the aarch64 baseline; the assert keeps every step's loads of 16
    // offsets and 16 values inside the slices; x reaches the registers through a bounds-checked
    // copy into a 32-element array; `tbl` and `tbx` read registers only.
    unsafe {
        let mut spread = [vdupq_n_u8(0); 4];
        for (s, pattern) in spread.iter_mut().zip(&SPREAD) {
            *s = vld1q_u8(pattern.as_ptr());
        }
        let byte_of_lane = vld1q_u8(BYTE_OF_LANE.as_ptr());
        let past_low = vdupq_n_u8(64);
        let mut sums = [0, 4, 8, 12].map(|g| vld1q_f32(out.as_ptr().add(g)));
        let mut at = 0;
        for &[col, steps] in windows {
            let col = col as usize;
            let there = x.len().saturating_sub(col).min(WINDOW_COLS);
            let mut window = [0f32; 32];
            window[..there].copy_from_slice(&x.get(col..).unwrap_or_default()[..there]);
            let bytes = window.as_ptr().cast::<u8>();
            let low = vld1q_u8_x4(bytes);
            let high = vld1q_u8_x4(bytes.add(64));
            for _ in 0..steps {
                // 4·offset: offsets up to 31 stay below 128.
                let fours = vshlq_n_u8::<2>(vld1q_u8(offsets.as_ptr().add(at)));
                for (g, (sum, spread)) in sums.iter_mut().zip(&spread).enumerate() {
                    let index = vorrq_u8(vqtbl1q_u8(fours, *spread), byte_of_lane);
                    // Bytes 0..64 from `low` (0 elsewhere), then 64..128 from `high`.
                    let xs = vqtbx4q_u8(vqtbl4q_u8(low, index), high, vsubq_u8(index, past_low));
                    let v = T::lanes(values.as_ptr().add(at + 4 * g));
                    *sum = vfmaq_f32(*sum, v, vreinterpretq_f32_u8(xs));
                }
                at += 16;
            }
        }
        for (g, sum) in sums.iter().enumerate() {
            vst1q_f32(out.as_mut_ptr().add(4 * g), *sum);
        }
    }
}
