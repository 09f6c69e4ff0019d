//! OCP Microscaling (MX) blocks: the element formats, the shared E8M0 scale, and one block's
//! quantization and dequantization (OCP Microscaling Formats (MX) v1.0, §5–§6).
//!
//! - An **element** is encoded from an exact value by round to nearest, ties to even (in code
//!   order: the even code wins), subnormals kept. Overflow follows [`Overflow`]: `Saturate` gives
//!   ±(largest finite) for finite values and infinities alike; `Infinity` gives what the format
//!   has, ±Inf (E5M2), NaN (E4M3, whose only non-finite code is NaN), or ±(largest finite)
//!   where the format has neither (FP6, FP4, INT8). NaN gives the format's NaN (E4M3: `S.1111.111`;
//!   E5M2: sign and the top payload bit kept, quiet bit set) or `None` where it has none.
//! - A **block's scale** is `X = 2^s` with `s = floor(log2(amax)) - emax`, `amax` the largest
//!   magnitude in the block and `emax` the exponent of the element format's largest normal
//!   ([`MxFormat::emax`]), clamped to `[-127, 127]`; stored as the E8M0 byte `s + 127`. An
//!   all-zero block (or one whose `amax` is below `2^(emax - 127)`) gets `s = -127`. A block
//!   holding a NaN or an infinity gets the NaN scale `0xFF`, and its elements the code 0: it
//!   decodes to NaN everywhere (the spec leaves its elements free).
//! - Each element is `encode(x / X, Saturate)`, computed exactly (no intermediate rounding):
//!   values that do not fit saturate, which only happens for the few whose significand exceeds
//!   the largest normal's once scaled.
//! - **Dequantizing** gives `decode(code) · X` rounded to f32 (exact unless it overflows f32,
//!   which only a hand-made scale can cause): ±Inf there; NaN for the NaN scale and for NaN
//!   codes (the quiet NaN `0x7fc0_0000`).
//!
//! The MX block example of `shared/data/format-vectors.md` (torchao's `to_mx` with its FLOOR
//! rule, microxcaling's `round = "even"`) is among the tests. lowp differs from torchao in one
//! corner: torchao clamps the f32 scale to the smallest normal (`2^-126`), so a block whose
//! `s` would be `-127` divides by `2^-126` there; lowp follows the spec's `2^-127`.

use crate::blockfp::MxFormat;
use crate::Overflow;

/// The number of elements sharing one scale.
pub const BLOCK: usize = 32;

/// The E8M0 byte that marks a NaN scale.
pub const NAN_SCALE: u8 = 0xFF;

/// `x · 2^exponent` as the code of `format`, rounded to nearest, ties to even; `exponent` is
/// a block's `-s`, in `[-127, 127]`. `None` only for a NaN where `format` has no NaN. See the
/// module docs for overflow and NaN.
///
/// # Panics
/// If `exponent` is outside `[-127, 127]`.
pub fn encode(format: MxFormat, x: f32, exponent: i32, overflow: Overflow) -> Option<u8> {
    assert!(
        (-127..=127).contains(&exponent),
        "a block's exponent is in [-127, 127]"
    );
    let negative = x.is_sign_negative();
    if x.is_nan() {
        let code = nan_code(format, x)?;
        let width = format.element_bits();
        return Some(code | (negative as u8) << (width - 1));
    }
    // Exact: an f32 times a power of two in [2^-127, 2^127] is an f64.
    let value = f64::from(x) * pow2(exponent);
    if format == MxFormat::Int8 {
        return Some(encode_int8(value));
    }
    let (exponent_bits, mantissa_bits, bias) = float_layout(format);
    let sign = (negative as u8) << (exponent_bits + mantissa_bits);
    let max = f64::from(format.max_finite());
    let max_code = encode_finite(max, mantissa_bits, bias);
    let magnitude = value.abs();
    let saturated = sign | max_code;
    let overflowed = match (overflow, format) {
        (Overflow::Saturate, _) => saturated,
        (Overflow::Infinity, MxFormat::E5M2) => sign | 0x7c,
        (Overflow::Infinity, MxFormat::E4M3) => sign | 0x7f,
        (Overflow::Infinity, _) => saturated,
    };
    if magnitude.is_infinite() {
        return Some(overflowed);
    }
    let rounded = round_to_format(magnitude, mantissa_bits, bias);
    if rounded > max {
        return Some(overflowed);
    }
    Some(sign | encode_finite(rounded, mantissa_bits, bias))
}

/// The exact value of `code` in `format` (`code`'s bits above the format's width ignored):
/// NaN for NaN codes, ±Inf for E5M2's infinities.
pub fn decode(format: MxFormat, code: u8) -> f64 {
    if format == MxFormat::Int8 {
        return f64::from(code as i8) / 64.0;
    }
    let (exponent_bits, mantissa_bits, bias) = float_layout(format);
    let width = 1 + exponent_bits + mantissa_bits;
    let code = code & ((1u16 << width) - 1) as u8;
    let negative = code >> (width - 1) == 1;
    let exponent = i32::from((code >> mantissa_bits) & ((1 << exponent_bits) - 1));
    let mantissa = i32::from(code & ((1 << mantissa_bits) - 1));
    let all_ones = (1 << exponent_bits) - 1;
    let magnitude = match format {
        MxFormat::E4M3 if exponent == all_ones && mantissa == 7 => f64::NAN,
        MxFormat::E5M2 if exponent == all_ones && mantissa != 0 => f64::NAN,
        MxFormat::E5M2 if exponent == all_ones => f64::INFINITY,
        _ if exponent == 0 => f64::from(mantissa) * pow2(1 - bias - mantissa_bits as i32),
        _ => {
            f64::from(mantissa + (1 << mantissa_bits))
                * pow2(exponent - bias - mantissa_bits as i32)
        }
    };
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// The E8M0 scale byte of a block (see the module docs): `0xFF` if it holds a NaN or an
/// infinity, else `clamp(floor(log2(amax)) - emax, -127, 127) + 127`.
pub fn scale(format: MxFormat, block: &[f32]) -> u8 {
    if block.iter().any(|x| !x.is_finite()) {
        return NAN_SCALE;
    }
    let amax = block.iter().map(|x| x.abs()).fold(0.0f32, f32::max);
    let exponent = if amax == 0.0 {
        -127
    } else {
        floor_log2(f64::from(amax)) - format.emax()
    };
    (exponent.clamp(-127, 127) + 127) as u8
}

/// One block (at most [`BLOCK`] values; missing ones count as +0): its scale byte and each
/// element's code, one per byte, in the low bits.
///
/// # Panics
/// If `block` holds more than [`BLOCK`] values.
pub fn quantize_block(format: MxFormat, block: &[f32]) -> (u8, [u8; BLOCK]) {
    assert!(block.len() <= BLOCK, "an MX block holds {BLOCK} values");
    let scale = scale(format, block);
    let mut codes = [0u8; BLOCK];
    if scale == NAN_SCALE {
        return (scale, codes);
    }
    let exponent = 127 - i32::from(scale);
    for (code, &x) in codes.iter_mut().zip(block) {
        *code = encode(format, x, exponent, Overflow::Saturate).expect("finite values have codes");
    }
    (scale, codes)
}

/// The values a block's `scale` and `codes` stand for, rounded to f32.
pub fn dequantize_block(format: MxFormat, scale: u8, codes: &[u8; BLOCK]) -> [f32; BLOCK] {
    let mut out = [f32::NAN; BLOCK];
    if scale == NAN_SCALE {
        return out;
    }
    let factor = pow2(i32::from(scale) - 127);
    for (y, &code) in out.iter_mut().zip(codes) {
        let value = decode(format, code) * factor;
        // f64 -> f32 rounds to nearest, ties to even; here it is exact or overflows.
        *y = if value.is_nan() {
            f32::NAN
        } else {
            value as f32
        };
    }
    out
}

/// (exponent bits, mantissa bits, bias) of a float element format.
fn float_layout(format: MxFormat) -> (u32, u32, i32) {
    match format {
        MxFormat::E4M3 => (4, 3, 7),
        MxFormat::E5M2 => (5, 2, 15),
        MxFormat::E3M2 => (3, 2, 3),
        MxFormat::E2M3 => (2, 3, 1),
        MxFormat::E2M1 => (2, 1, 1),
        MxFormat::Int8 => unreachable!("INT8 is not a float format"),
    }
}

/// INT8 (two's complement, scaled by 2^-6) of a finite or infinite `value`: nearest, ties to
/// even, saturated to ±127 (the spec's symmetric range; -128 decodes but is never produced).
fn encode_int8(value: f64) -> u8 {
    let steps = (value * 64.0).round_ties_even().clamp(-127.0, 127.0);
    steps as i8 as u8
}

/// The NaN code of `format` for the NaN `x`, sign bit clear.
fn nan_code(format: MxFormat, x: f32) -> Option<u8> {
    match format {
        MxFormat::E4M3 => Some(0x7f),
        MxFormat::E5M2 => {
            // f32's bit 22 is the quiet bit (set in the result), 21 the top payload bit.
            let payload = ((x.to_bits() >> 21) & 1) as u8;
            Some(0x7e | payload)
        }
        _ => None,
    }
}

/// `magnitude` (finite, >= 0) rounded to the nearest multiple of its binade's ulp in a format
/// with `mantissa_bits` and `bias` (subnormals below `2^(1 - bias)`), ties to even.
fn round_to_format(magnitude: f64, mantissa_bits: u32, bias: i32) -> f64 {
    let min_exponent = 1 - bias;
    let exponent = if magnitude == 0.0 {
        min_exponent
    } else {
        floor_log2(magnitude).max(min_exponent)
    };
    let ulp = pow2(exponent - mantissa_bits as i32);
    (magnitude / ulp).round_ties_even() * ulp
}

/// The code bits (no sign) of `value`, a representable magnitude of the format.
fn encode_finite(value: f64, mantissa_bits: u32, bias: i32) -> u8 {
    let min_exponent = 1 - bias;
    if value < pow2(min_exponent) {
        // Subnormal (or zero): the mantissa counts units of the smallest subnormal.
        return (value / pow2(min_exponent - mantissa_bits as i32)) as u8;
    }
    let exponent = floor_log2(value);
    let mantissa = value / pow2(exponent - mantissa_bits as i32) - f64::from(1u32 << mantissa_bits);
    (((exponent + bias) as u8) << mantissa_bits) | mantissa as u8
}

/// `floor(log2(x))` of a positive, finite, normal f64 (every value here is).
fn floor_log2(x: f64) -> i32 {
    ((x.to_bits() >> 52) & 0x7ff) as i32 - 1023
}

/// 2^e for |e| well inside f64's normal range.
fn pow2(e: i32) -> f64 {
    f64::from_bits(((1023 + e) as u64) << 52)
}
