//! Element-wise conversions between f32 and the 16-bit formats.
//!
//! Semantics (identical to `half` 2.x for every input, which the exhaustive tests check):
//! - narrowing rounds to nearest, ties to even; subnormal results are kept (never flushed);
//!   values past the largest finite number become infinity;
//! - a NaN stays a NaN with its sign and the top bits of its payload, and becomes quiet;
//! - widening is exact, except that a signalling NaN is quieted (its quiet bit is set), as the
//!   x86 and Arm conversion instructions do.

use half::{bf16, f16};

const F32_SIGN: u32 = 0x8000_0000;
const F32_EXP: u32 = 0x7f80_0000;
const F32_MAN: u32 = 0x007f_ffff;
const F32_QUIET: u32 = 0x0040_0000;

/// `m / 2^s` rounded to nearest, ties to even.
fn shift_right_rne(m: u64, s: u32) -> u64 {
    if s == 0 {
        return m;
    }
    if s >= 64 {
        return 0; // callers pass m < 2^63, so m / 2^s < 1/2
    }
    let quotient = m >> s;
    let remainder = m & ((1 << s) - 1);
    let half = 1 << (s - 1);
    if remainder > half || (remainder == half && quotient & 1 == 1) {
        quotient + 1
    } else {
        quotient
    }
}

fn is_nan_bits(x: u32) -> bool {
    x & F32_EXP == F32_EXP && x & F32_MAN != 0
}

/// f32 -> bf16, round to nearest even.
///
/// bf16 is f32 with the low 16 bits dropped: the same sign and exponent fields. So within the
/// finite range the magnitude's bit pattern is proportional to the value inside each binade and
/// carries correctly across binades (and into infinity): rounding the pattern is rounding the
/// value.
pub fn f32_to_bf16(x: f32) -> bf16 {
    let bits = x.to_bits();
    let sign = ((bits & F32_SIGN) >> 16) as u16;
    if is_nan_bits(bits) {
        return bf16::from_bits((bits >> 16) as u16 | 0x0040);
    }
    let magnitude = shift_right_rne(u64::from(bits & !F32_SIGN), 16) as u16;
    bf16::from_bits(sign | magnitude)
}

/// bf16 -> f32: exact; a signalling NaN is quieted.
pub fn bf16_to_f32(x: bf16) -> f32 {
    let bits = u32::from(x.to_bits()) << 16;
    if is_nan_bits(bits) {
        f32::from_bits(bits | F32_QUIET)
    } else {
        f32::from_bits(bits)
    }
}

/// f32 -> f16 (IEEE binary16), round to nearest even, subnormal results kept.
pub fn f32_to_f16(x: f32) -> f16 {
    let bits = x.to_bits();
    let sign = ((bits & F32_SIGN) >> 16) as u16;
    let exp = (bits & F32_EXP) >> 23;
    let man = bits & F32_MAN;
    if exp == 0xff {
        // Inf, or NaN: quiet bit set, top 9 payload bits kept.
        let nan = if man != 0 {
            0x0200 | (man >> 13) as u16
        } else {
            0
        };
        return f16::from_bits(sign | 0x7c00 | nan);
    }
    // The value is significand * 2^(e - 150), with e >= 1.
    let (significand, e) = if exp == 0 {
        (man, 1)
    } else {
        (man | 0x0080_0000, exp)
    };
    // f16's biased exponent is e - 112. Normal results keep 11 of the 24 significand bits;
    // below f16's normal range the unit is 2^-24, a right shift of 126 - e.
    let magnitude = if e >= 113 {
        let rounded = shift_right_rne(u64::from(significand), 13) as u32; // in [2^10, 2^11]
                                                                          // Adding (rather than or-ing) lets a carry out of the significand bump the exponent.
        let encoded = ((e - 113) << 10) + rounded;
        encoded.min(0x7c00) as u16 // past the largest finite: infinity
    } else {
        shift_right_rne(u64::from(significand), 126 - e) as u16 // may round up to 0x0400
    };
    f16::from_bits(sign | magnitude)
}

/// f16 -> f32: exact; a signalling NaN is quieted.
pub fn f16_to_f32(x: f16) -> f32 {
    let bits = u32::from(x.to_bits());
    let sign = (bits & 0x8000) << 16;
    let exp = (bits >> 10) & 0x1f;
    let man = bits & 0x03ff;
    let magnitude = match (exp, man) {
        (0, 0) => 0,
        (0, _) => {
            // man * 2^-24: normalise so the leading one becomes the implicit bit.
            let top = 31 - man.leading_zeros(); // man = 1.f * 2^top
            let f32_exp = top + 127 - 24;
            (f32_exp << 23) | ((man << (23 - top)) & F32_MAN)
        }
        (0x1f, 0) => F32_EXP,
        (0x1f, _) => F32_EXP | F32_QUIET | (man << 13),
        _ => ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(sign | magnitude)
}

/// Slice form of [`f32_to_bf16`] over `min(src.len(), dst.len())` elements.
pub fn f32_to_bf16_slice(src: &[f32], dst: &mut [bf16]) {
    map_into(src, dst, f32_to_bf16);
}

/// Slice form of [`bf16_to_f32`] over `min(src.len(), dst.len())` elements.
pub fn bf16_to_f32_slice(src: &[bf16], dst: &mut [f32]) {
    map_into(src, dst, bf16_to_f32);
}

/// Slice form of [`f32_to_f16`] over `min(src.len(), dst.len())` elements.
pub fn f32_to_f16_slice(src: &[f32], dst: &mut [f16]) {
    map_into(src, dst, f32_to_f16);
}

/// Slice form of [`f16_to_f32`] over `min(src.len(), dst.len())` elements.
pub fn f16_to_f32_slice(src: &[f16], dst: &mut [f32]) {
    map_into(src, dst, f16_to_f32);
}

fn map_into<S: Copy, D>(src: &[S], dst: &mut [D], f: impl Fn(S) -> D) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f(s);
    }
}
