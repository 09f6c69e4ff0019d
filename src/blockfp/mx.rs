//! MX quantization and dequantization of f32 slices: lengths checked once, then the tier's
//! kernel. Quantizing works on the values' bit patterns; dequantizing multiplies a table of
//! each code's value by the block's scale, in f32.

use super::MxFormat;
use crate::{Backend, Error};

/// Quantizes `src` to MX blocks of `format`: `scales[b]` is block `b`'s E8M0 scale and
/// `elements[b * format.block_bytes()..][..format.block_bytes()]` its 32 codes, packed LSB
/// first. A partial last block is quantized as if padded with +0 (its unused codes are 0).
/// A block holding a NaN or an infinity gets the NaN scale `0xFF`.
///
/// The result is [`reference::blockfp::quantize_block`](crate::reference::blockfp::quantize_block)'s,
/// block by block (computed on the values' bit patterns, not the reference's f64s).
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
    Backend::active().mx_quantize(format, src, scales, elements)
}

impl Backend {
    /// [`mx_quantize`] on this backend (the same bits on every one).
    ///
    /// # Errors
    /// As [`mx_quantize`]'s.
    pub fn mx_quantize(
        self,
        format: MxFormat,
        src: &[f32],
        scales: &mut [u8],
        elements: &mut [u8],
    ) -> Result<(), Error> {
        check_lengths(format, src.len(), scales.len(), elements.len())?;
        // SAFETY: `self` exists only if the CPU supports `self.isa()`, the table's one
        // precondition beyond the lengths, checked just above.
        unsafe { (self.kernels.mx_quantize)(format, src, scales, elements) };
        Ok(())
    }
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
    Backend::active().mx_dequantize(format, scales, elements, dst)
}

impl Backend {
    /// [`mx_dequantize`] on this backend (the same bits on every one).
    ///
    /// # Errors
    /// As [`mx_dequantize`]'s.
    pub fn mx_dequantize(
        self,
        format: MxFormat,
        scales: &[u8],
        elements: &[u8],
        dst: &mut [f32],
    ) -> Result<(), Error> {
        check_lengths(format, dst.len(), scales.len(), elements.len())?;
        // SAFETY: `self` exists only if the CPU supports `self.isa()`, the table's one
        // precondition beyond the lengths, checked just above.
        unsafe { (self.kernels.mx_dequantize)(format, scales, elements, dst) };
        Ok(())
    }
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
