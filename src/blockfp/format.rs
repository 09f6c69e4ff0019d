//! The MX element formats and what a block of each occupies.

use core::fmt;

use crate::reference::blockfp::BLOCK;

/// An element format of OCP Microscaling (MX) v1.0: the type of the 32 values that share a
/// block's scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MxFormat {
    /// MXFP8 E4M3 (bias 7, largest 448, NaN `S.1111.111`, no infinity).
    E4M3,
    /// MXFP8 E5M2 (bias 15, largest 57344, IEEE-style infinities and NaNs).
    E5M2,
    /// MXFP6 E3M2 (bias 3, largest 28, no infinity or NaN).
    E3M2,
    /// MXFP6 E2M3 (bias 1, largest 7.5, no infinity or NaN).
    E2M3,
    /// MXFP4 E2M1 (bias 1, largest 6, no infinity or NaN).
    E2M1,
    /// MXINT8: two's complement scaled by 2^-6 (largest 127/64; -2 decodes, never produced).
    Int8,
}

impl MxFormat {
    /// Every format, widest first.
    pub const ALL: [MxFormat; 6] = [
        MxFormat::E4M3,
        MxFormat::E5M2,
        MxFormat::E3M2,
        MxFormat::E2M3,
        MxFormat::E2M1,
        MxFormat::Int8,
    ];

    /// Bits per element.
    pub const fn element_bits(self) -> u32 {
        match self {
            MxFormat::E4M3 | MxFormat::E5M2 | MxFormat::Int8 => 8,
            MxFormat::E3M2 | MxFormat::E2M3 => 6,
            MxFormat::E2M1 => 4,
        }
    }

    /// Bytes of element codes per block of 32 (the scale byte is stored apart).
    pub const fn block_bytes(self) -> usize {
        BLOCK * self.element_bits() as usize / 8
    }

    /// Blocks that `len` values take (the last one may be partial; the same for every format).
    pub const fn blocks(self, len: usize) -> usize {
        len.div_ceil(BLOCK)
    }

    /// The largest finite value.
    pub const fn max_finite(self) -> f32 {
        match self {
            MxFormat::E4M3 => 448.0,
            MxFormat::E5M2 => 57344.0,
            MxFormat::E3M2 => 28.0,
            MxFormat::E2M3 => 7.5,
            MxFormat::E2M1 => 6.0,
            MxFormat::Int8 => 127.0 / 64.0,
        }
    }

    /// `floor(log2(max_finite))`: the exponent the scale rule subtracts (the spec's
    /// `emax_elem`).
    pub const fn emax(self) -> i32 {
        match self {
            MxFormat::E4M3 => 8,
            MxFormat::E5M2 => 15,
            MxFormat::E3M2 => 4,
            MxFormat::E2M3 | MxFormat::E2M1 => 2,
            MxFormat::Int8 => 0,
        }
    }

    /// The spec's name, e.g. `"MXFP4 E2M1"`.
    pub const fn name(self) -> &'static str {
        match self {
            MxFormat::E4M3 => "MXFP8 E4M3",
            MxFormat::E5M2 => "MXFP8 E5M2",
            MxFormat::E3M2 => "MXFP6 E3M2",
            MxFormat::E2M3 => "MXFP6 E2M3",
            MxFormat::E2M1 => "MXFP4 E2M1",
            MxFormat::Int8 => "MXINT8",
        }
    }
}

impl fmt::Display for MxFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
