//! The crate's one error type.

use core::fmt;

use crate::{DType, Isa};

/// Everything a lowp call can reject. Bad input is reported here, never by UB or a silent wrong
/// answer; panics are kept for documented programmer errors only.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Two buffers that must have the same number of elements do not.
    LengthMismatch {
        /// What was being checked, e.g. `"dst"`.
        what: &'static str,
        /// The length the call needed.
        expected: usize,
        /// The length it got.
        actual: usize,
    },
    /// A shape that cannot describe a buffer (its element count overflows `usize`).
    Shape {
        /// The offending shape.
        shape: Vec<usize>,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A tensor was read as an element type other than its own.
    DType {
        /// The dtype the caller asked for.
        expected: DType,
        /// The tensor's dtype.
        actual: DType,
    },
    /// `LOWP_ISA` (or a parsed name) is not an ISA tier of this architecture.
    UnknownIsa {
        /// The name as given.
        name: String,
    },
    /// The tier exists on this architecture but this CPU (or OS) lacks it.
    UnsupportedIsa {
        /// The tier that was asked for.
        isa: Isa,
    },
    /// A compressed sparse structure breaks an invariant of
    /// [`Sparse`](crate::sparse::Sparse).
    InvalidSparse {
        /// Which invariant.
        reason: &'static str,
        /// Where: a position in `indptr` for indptr faults, in `indices` otherwise.
        at: usize,
    },
    /// An argument outside its domain (e.g. a sparsity outside `[0, 1]`).
    Parameter {
        /// The argument.
        name: &'static str,
        /// What it must be.
        reason: &'static str,
    },
    /// A [`PackedB`](crate::fmac::PackedB) was packed for a backend whose micro-kernel uses
    /// another layout than the one it was passed to.
    PackedLayout {
        /// The tier it was packed for.
        packed_for: Isa,
        /// The tier it was used with.
        backend: Isa,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(
                f,
                "length mismatch: {what} has {actual} elements, expected {expected}"
            ),
            Error::Shape { shape, reason } => write!(f, "invalid shape {shape:?}: {reason}"),
            Error::DType { expected, actual } => {
                write!(
                    f,
                    "dtype mismatch: asked for {expected}, tensor holds {actual}"
                )
            }
            Error::UnknownIsa { name } => write!(
                f,
                "unknown ISA {name:?}; tiers of this architecture: {}; supported by this CPU: {}",
                names(Isa::ALL.iter().copied()),
                names(Isa::ALL.iter().copied().filter(|isa| isa.is_supported())),
            ),
            Error::UnsupportedIsa { isa } => write!(
                f,
                "ISA {isa} is not supported by this CPU; supported: {}",
                names(Isa::ALL.iter().copied().filter(|isa| isa.is_supported())),
            ),
            Error::InvalidSparse { reason, at } => {
                write!(f, "invalid sparse structure: {reason} at {at}")
            }
            Error::Parameter { name, reason } => write!(f, "invalid {name}: {reason}"),
            Error::PackedLayout {
                packed_for,
                backend,
            } => write!(
                f,
                "B was packed for {packed_for}, whose layout {backend} cannot read; pack it with \
                 the backend that multiplies"
            ),
        }
    }
}

impl std::error::Error for Error {}

fn names(isas: impl Iterator<Item = Isa>) -> String {
    isas.map(Isa::name).collect::<Vec<_>>().join(", ")
}

/// `Ok` when `actual == expected`, else [`Error::LengthMismatch`] naming `what`.
pub(crate) fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}
