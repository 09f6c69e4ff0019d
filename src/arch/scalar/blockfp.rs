//! MX quantization and dequantization, the `Scalar` tier's kernels and every other tier's
//! edges.
//!
//! Quantizing gives the reference's result on integer bit patterns, without its f64
//! arithmetic: each element is a right shift of its f32 significand, rounded to nearest, ties
//! to even, and the code follows from the shifted value by one add, because the code order is
//! the value order (a carry out of the mantissa field steps the exponent field).
//! Dequantizing multiplies a table of each code's value by the block's scale.

use std::sync::OnceLock;

use crate::blockfp::MxFormat;
use crate::reference::blockfp::{decode, BLOCK, NAN_SCALE};

/// A format's layout for [`encode`]: mantissa bits, bias, largest finite code (no sign), and
/// the sign bit's position; MXINT8 as a "format" of 6 fraction bits with no exponent.
#[derive(Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) mantissa_bits: i32,
    pub(crate) bias: i32,
    pub(crate) max_code: u32,
    pub(crate) sign_shift: u32,
    pub(crate) int8: bool,
}

impl Layout {
    #[inline(always)]
    pub(crate) fn of(format: MxFormat) -> Layout {
        let (mantissa_bits, bias, max_code) = match format {
            MxFormat::E4M3 => (3, 7, 0x7e),
            MxFormat::E5M2 => (2, 15, 0x7b),
            MxFormat::E3M2 => (2, 3, 0x1f),
            MxFormat::E2M3 => (3, 1, 0x1f),
            MxFormat::E2M1 => (1, 1, 0x7),
            MxFormat::Int8 => (0, 0, 127),
        };
        Layout {
            mantissa_bits,
            bias,
            max_code,
            sign_shift: format.element_bits() - 1,
            int8: format == MxFormat::Int8,
        }
    }
}

/// `mx_quantize`'s kernel: block `b` of `src` into `scales[b]` and its packed codes into
/// `elements[b · block_bytes..]`; the caller checked the lengths.
pub(crate) fn quantize(format: MxFormat, src: &[f32], scales: &mut [u8], elements: &mut [u8]) {
    let bytes = format.block_bytes();
    for ((block, scale), packed) in src
        .chunks(BLOCK)
        .zip(scales.iter_mut())
        .zip(elements.chunks_exact_mut(bytes))
    {
        let (s, codes) = quantize_block(format, block);
        *scale = s;
        pack(format.element_bits(), &codes, packed);
    }
}

/// `mx_dequantize`'s kernel: block `b`'s scale `scales[b]` and codes
/// `elements[b · block_bytes..]` into `dst[32 · b..]`; the caller checked the lengths.
pub(crate) fn dequantize(format: MxFormat, scales: &[u8], elements: &[u8], dst: &mut [f32]) {
    let bytes = format.block_bytes();
    let table = code_values(format);
    for ((block, &scale), packed) in dst
        .chunks_mut(BLOCK)
        .zip(scales)
        .zip(elements.chunks_exact(bytes))
    {
        let codes = unpack(format.element_bits(), packed);
        dequantize_codes(table, scale, &codes, block);
    }
}

/// `out[i]` = the value of `codes[i]` times the block's scale, for `i < out.len()`.
pub(crate) fn dequantize_codes(
    table: &[f32; 256],
    scale: u8,
    codes: &[u8; BLOCK],
    out: &mut [f32],
) {
    if scale == NAN_SCALE {
        out.fill(f32::NAN);
        return;
    }
    let factor = scale_factor(scale);
    for (y, &code) in out.iter_mut().zip(codes) {
        // Exact, or ±Inf past f32's range: a code's value has at most 7 significant bits
        // (MXINT8's; 4 in the float formats) and a unit of at least 2^-16 (E5M2's), which
        // times 2^-127 is still a multiple of 2^-149. So this is the reference's exact
        // product rounded to f32.
        let value = table[usize::from(code)];
        *y = if value.is_nan() {
            f32::NAN
        } else {
            value * factor
        };
    }
}

/// 2^(scale - 127) for a scale byte other than the NaN one; scale 0 is 2^-127, an f32
/// subnormal.
pub(crate) fn scale_factor(scale: u8) -> f32 {
    f32::from_bits(if scale == 0 {
        0x0040_0000
    } else {
        u32::from(scale) << 23
    })
}

/// Each code's value in `format` (as f32, exactly), computed once.
pub(crate) fn code_values(format: MxFormat) -> &'static [f32; 256] {
    static TABLES: OnceLock<[[f32; 256]; 6]> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        MxFormat::ALL.map(|f| core::array::from_fn(|code| decode(f, code as u8) as f32))
    });
    let at = MxFormat::ALL
        .iter()
        .position(|&f| f == format)
        .expect("every format is listed");
    &tables[at]
}

/// The scale byte and codes of one block (at most [`BLOCK`] values), equal to
/// [`reference::blockfp::quantize_block`](crate::reference::blockfp::quantize_block)'s.
pub(crate) fn quantize_block(format: MxFormat, block: &[f32]) -> (u8, [u8; BLOCK]) {
    let mut codes = [0u8; BLOCK];
    let magnitudes = block.iter().map(|x| x.to_bits() & 0x7fff_ffff);
    let largest = magnitudes.fold(0, u32::max);
    if largest >= 0x7f80_0000 {
        // An infinity or a NaN.
        return (NAN_SCALE, codes);
    }
    let exponent = if largest == 0 {
        -127
    } else {
        floor_log2(largest) - format.emax()
    };
    let s = exponent.clamp(-127, 127);
    let layout = Layout::of(format);
    for (code, x) in codes.iter_mut().zip(block) {
        *code = encode(layout, x.to_bits(), s);
    }
    ((s + 127) as u8, codes)
}

/// `floor(log2(x))` of the positive finite f32 whose bits are `magnitude`.
pub(crate) fn floor_log2(magnitude: u32) -> i32 {
    let field = (magnitude >> 23) as i32;
    if field > 0 {
        field - 127
    } else {
        // Subnormal: the top set bit of the mantissa counts units of 2^-149.
        31 - magnitude.leading_zeros() as i32 - 149
    }
}

/// The code of `x · 2^-s` (`x`'s bits; finite), rounded to nearest, ties to even, saturated.
#[inline(always)]
fn encode(layout: Layout, bits: u32, s: i32) -> u8 {
    let negative = bits >> 31 == 1;
    let magnitude = bits & 0x7fff_ffff;
    let field = (magnitude >> 23) as i32;
    // x = significand · 2^base, exactly.
    let significand = if field > 0 {
        (magnitude & 0x7f_ffff) | 0x80_0000
    } else {
        magnitude
    };
    if significand == 0 {
        return sign(layout, negative, 0);
    }
    let base = field.max(1) - 150 - s;
    // The code's unit: 2^-6 for MXINT8; else the value's binade (at least the smallest
    // normal's) less the mantissa bits.
    let top = 31 - significand.leading_zeros() as i32 + base;
    let unit = if layout.int8 {
        -6
    } else {
        top.max(1 - layout.bias) - layout.mantissa_bits
    };
    // At least 6: a normal x has `top = base + 23` and `unit >= top - 3`; a subnormal one
    // `base = -149 - s <= -22` (s >= -127) and `unit >= -16` (E5M2's smallest). MXINT8's
    // `unit = -6` is at least 16 above either base, since its `top <= emax = 0`.
    let shift = (unit - base).min(31) as u32;
    let half = (1u32 << (shift - 1)) - 1;
    let steps = (significand + half + ((significand >> shift) & 1)) >> shift;
    let code = if layout.int8 {
        steps
    } else {
        // `steps` counts units of the value's binade, its leading 1 included for a normal
        // value: adding it to the binade's exponent field less one gives the code, a carry
        // to the next binade included.
        let field = (top + layout.bias - 1).max(0) as u32;
        (field << layout.mantissa_bits) + steps
    };
    sign(layout, negative, code.min(layout.max_code))
}

/// `code` (a magnitude's) with the sign applied: the sign bit for the float formats, two's
/// complement for MXINT8.
#[inline(always)]
fn sign(layout: Layout, negative: bool, code: u32) -> u8 {
    match (layout.int8, negative) {
        (true, true) => (code as u8).wrapping_neg(),
        (_, false) => code as u8,
        (false, true) => code as u8 | 1 << layout.sign_shift,
    }
}

/// Writes 32 codes of `bits` each into `out` (32 · bits / 8 bytes), code `i` at bit `i · bits`.
pub(crate) fn pack(bits: u32, codes: &[u8; BLOCK], out: &mut [u8]) {
    if bits == 8 {
        out.copy_from_slice(codes);
        return;
    }
    let mut stream = 0u64;
    let mut filled = 0;
    let mut bytes = out.iter_mut();
    for &code in codes {
        stream |= u64::from(code) << filled;
        filled += bits;
        while filled >= 8 {
            *bytes.next().expect("32 codes fill the block's bytes") = stream as u8;
            stream >>= 8;
            filled -= 8;
        }
    }
}

/// The 32 codes [`pack`] wrote into `packed`.
pub(crate) fn unpack(bits: u32, packed: &[u8]) -> [u8; BLOCK] {
    let mut codes = [0u8; BLOCK];
    if bits == 8 {
        codes.copy_from_slice(packed);
        return codes;
    }
    let mask = (1u64 << bits) - 1;
    let mut stream = 0u64;
    let mut filled = 0;
    let mut bytes = packed.iter();
    for code in &mut codes {
        while filled < bits {
            stream |= u64::from(*bytes.next().expect("the block's bytes hold 32 codes")) << filled;
            filled += 8;
        }
        *code = (stream & mask) as u8;
        stream >>= bits;
        filled -= bits;
    }
    codes
}
