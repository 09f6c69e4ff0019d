//! MX quantization and dequantization of f32 slices: lengths checked once, then block by
//! block, the codes packed LSB first. Quantizing runs the reference's definition;
//! dequantizing multiplies a table of each code's value by the block's scale, in f32.

use std::sync::OnceLock;

use super::MxFormat;
use crate::reference::blockfp::{decode, quantize_block, BLOCK, NAN_SCALE};
use crate::Error;

/// Quantizes `src` to MX blocks of `format`: `scales[b]` is block `b`'s E8M0 scale and
/// `elements[b * format.block_bytes()..][..format.block_bytes()]` its 32 codes, packed LSB
/// first. A partial last block is quantized as if padded with +0 (its unused codes are 0).
/// A block holding a NaN or an infinity gets the NaN scale `0xFF`.
///
/// The result is [`reference::blockfp::quantize_block`](crate::reference::blockfp::quantize_block)'s,
/// block by block.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `scales.len() == format.blocks(src.len())` and
/// `elements.len() == scales.len() * format.block_bytes()`.
pub fn mx_quantize(
    format: MxFormat,
    src: &[f32],
    scales: &mut [u8],
    elements: &mut [u8],
) -> Result<(), Error> {
    check_lengths(format, src.len(), scales.len(), elements.len())?;
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
    Ok(())
}

/// Dequantizes MX blocks of `format` (laid out as [`mx_quantize`] writes them) into `dst`,
/// whose length says how many values the blocks hold. Any bytes are accepted: the NaN scale
/// and NaN codes give NaN, a value past f32's range ±Inf.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `scales.len() == format.blocks(dst.len())` and
/// `elements.len() == scales.len() * format.block_bytes()`.
pub fn mx_dequantize(
    format: MxFormat,
    scales: &[u8],
    elements: &[u8],
    dst: &mut [f32],
) -> Result<(), Error> {
    check_lengths(format, dst.len(), scales.len(), elements.len())?;
    let bytes = format.block_bytes();
    let table = code_values(format);
    for ((block, &scale), packed) in dst
        .chunks_mut(BLOCK)
        .zip(scales)
        .zip(elements.chunks_exact(bytes))
    {
        if scale == NAN_SCALE {
            block.fill(f32::NAN);
            continue;
        }
        // 2^(scale - 127); scale 0 is 2^-127, an f32 subnormal.
        let factor = f32::from_bits(if scale == 0 {
            0x0040_0000
        } else {
            u32::from(scale) << 23
        });
        let codes = unpack(format.element_bits(), packed);
        for (y, &code) in block.iter_mut().zip(&codes) {
            // Exact, or ±Inf past f32's range: a code's value has at most 4 significant bits
            // and its smallest, 2^-16 (E5M2), times 2^-127 is still a multiple of 2^-149.
            // So this is the reference's exact product rounded to f32.
            let value = table[usize::from(code)];
            *y = if value.is_nan() {
                f32::NAN
            } else {
                value * factor
            };
        }
    }
    Ok(())
}

/// Each code's value in `format` (as f32: exact, at most 4 significant bits), computed once.
fn code_values(format: MxFormat) -> &'static [f32; 256] {
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

fn check_lengths(
    format: MxFormat,
    values: usize,
    scales: usize,
    elements: usize,
) -> Result<(), Error> {
    let blocks = format.blocks(values);
    if scales != blocks {
        return Err(Error::LengthMismatch {
            what: "scales (one per 32 values)",
            expected: blocks,
            actual: scales,
        });
    }
    let bytes = blocks * format.block_bytes();
    if elements != bytes {
        return Err(Error::LengthMismatch {
            what: "elements (block_bytes per block)",
            expected: bytes,
            actual: elements,
        });
    }
    Ok(())
}

/// Writes 32 codes of `bits` each into `out` (32 · bits / 8 bytes), code `i` at bit `i · bits`.
fn pack(bits: u32, codes: &[u8; BLOCK], out: &mut [u8]) {
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
fn unpack(bits: u32, packed: &[u8]) -> [u8; BLOCK] {
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
