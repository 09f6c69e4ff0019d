//! [`Tensor`]: an owned, 64-byte-aligned, row-major buffer with a shape and a [`DType`].
//!
//! A convenience over the slice API, not a second implementation: every operation on a tensor
//! calls the same kernels as the free functions.

use core::fmt;

use half::{bf16, f16};

use crate::aligned::{lines_for, Line};
use crate::fmac::{self, Input, MatMut, MatRef, Par};
use crate::{convert, Error, SrOptions};

/// How [`Tensor::to_dtype_with`] rounds when the target format is narrower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Round to nearest, ties to even (bit-identical to `half`).
    Nearest,
    /// Stochastic rounding with the given seed (Philox4x32-10, IEEE overflow); element `i`
    /// (row-major) uses index `i`.
    Stochastic {
        /// The generator's key.
        seed: u64,
    },
    /// Stochastic rounding with a choice of generator and overflow behaviour.
    StochasticWith {
        /// The generator's key.
        seed: u64,
        /// The generator and the overflow behaviour.
        options: SrOptions,
    },
}

/// The element type of a [`Tensor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// IEEE binary32.
    F32,
    /// bfloat16 (`half::bf16`): f32's exponent range, 8 significant bits.
    BF16,
    /// IEEE binary16 (`half::f16`).
    F16,
}

impl DType {
    /// Bytes per element.
    pub const fn size_of(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::BF16 | DType::F16 => 2,
        }
    }

    /// Lower-case name: `f32`, `bf16`, `f16`.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::BF16 => "bf16",
            DType::F16 => "f16",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::bf16 {}
    impl Sealed for half::f16 {}
}

/// A Rust type that is the storage of a [`DType`]: `f32`, `half::bf16`, `half::f16`.
pub trait Element: bytemuck::Pod + sealed::Sealed {
    /// The dtype this type stores.
    const DTYPE: DType;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
}

impl Element for bf16 {
    const DTYPE: DType = DType::BF16;
}

impl Element for f16 {
    const DTYPE: DType = DType::F16;
}

/// An owned tensor: row-major, its data aligned to 64 bytes (a cache line, one AVX-512 vector).
///
/// ```
/// use half::bf16;
/// use lowp::{DType, Tensor};
///
/// let t = Tensor::from_slice(&[2, 3], &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// let b = t.to_dtype(DType::BF16);
/// assert_eq!(b.shape(), &[2, 3]);
/// assert_eq!(b.as_slice::<bf16>()?[5], bf16::from_f32(6.0));
/// assert!(b.as_slice::<f32>().is_err()); // typed access checks the dtype
/// assert_eq!(b.as_bytes().as_ptr() as usize % 64, 0);
/// # Ok::<(), lowp::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor {
    shape: Vec<usize>,
    dtype: DType,
    len: usize,
    lines: Vec<Line>,
}

impl Tensor {
    /// A tensor of zeros (all-zero bits: +0.0 in every dtype).
    ///
    /// # Errors
    /// [`Error::Shape`] when the element count or byte size overflows.
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor, Error> {
        let len = element_count(shape, dtype)?;
        let bytes = len * dtype.size_of();
        Ok(Tensor {
            shape: shape.to_vec(),
            dtype,
            len,
            lines: lines_for::<u8>(bytes),
        })
    }

    /// A tensor holding a copy of `data`, whose length must be the product of `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] for an overflowing shape, [`Error::LengthMismatch`] when `data` has the
    /// wrong length.
    pub fn from_slice<T: Element>(shape: &[usize], data: &[T]) -> Result<Tensor, Error> {
        let mut t = Tensor::zeros(shape, T::DTYPE)?;
        crate::error::check_len("data", t.len, data.len())?;
        t.as_mut_slice::<T>()?.copy_from_slice(data);
        Ok(t)
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The number of elements (the product of the shape; 1 for a scalar's empty shape).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw bytes, native-endian, 64-byte aligned.
    pub fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.lines)[..self.len * self.dtype.size_of()]
    }

    fn as_bytes_mut(&mut self) -> &mut [u8] {
        let bytes = self.len * self.dtype.size_of();
        &mut bytemuck::cast_slice_mut(&mut self.lines)[..bytes]
    }

    /// The elements as `T`.
    ///
    /// # Errors
    /// [`Error::DType`] unless `T` is this tensor's dtype.
    pub fn as_slice<T: Element>(&self) -> Result<&[T], Error> {
        self.check_dtype::<T>()?;
        Ok(bytemuck::cast_slice(self.as_bytes()))
    }

    /// The elements as `T`, mutably.
    ///
    /// # Errors
    /// [`Error::DType`] unless `T` is this tensor's dtype.
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T], Error> {
        self.check_dtype::<T>()?;
        Ok(bytemuck::cast_slice_mut(self.as_bytes_mut()))
    }

    fn check_dtype<T: Element>(&self) -> Result<(), Error> {
        if T::DTYPE == self.dtype {
            Ok(())
        } else {
            Err(Error::DType {
                expected: T::DTYPE,
                actual: self.dtype,
            })
        }
    }

    /// A copy converted to `dtype`, rounding to nearest even (see [`crate::convert`]).
    /// bf16 <-> f16 goes through f32, which holds both exactly, so it rounds once.
    pub fn to_dtype(&self, dtype: DType) -> Tensor {
        self.to_dtype_with(dtype, Rounding::Nearest)
    }

    /// A copy converted to `dtype` with the given rounding for narrowing conversions
    /// (widening ones are exact). bf16 <-> f16 goes through f32, exactly, and rounds once.
    ///
    /// ```
    /// use lowp::{DType, Rounding, Tensor};
    /// let t = Tensor::from_slice(&[2], &[1.0f32 + 1.0 / 512.0; 2])?;
    /// let a = t.to_dtype_with(DType::BF16, Rounding::Stochastic { seed: 3 });
    /// let b = t.to_dtype_with(DType::BF16, Rounding::Stochastic { seed: 3 });
    /// assert_eq!(a.as_bytes(), b.as_bytes()); // reproducible
    /// # Ok::<(), lowp::Error>(())
    /// ```
    pub fn to_dtype_with(&self, dtype: DType, rounding: Rounding) -> Tensor {
        let mut out = Tensor::zeros(&self.shape, dtype).expect("same element count as self");
        let to_bf16 = |s: &[f32], d: &mut [bf16], offset: u64| match rounding {
            Rounding::Nearest => convert::f32_to_bf16(s, d),
            Rounding::Stochastic { seed } => convert::f32_to_bf16_stochastic(s, d, seed, offset),
            Rounding::StochasticWith { seed, options } => {
                convert::f32_to_bf16_stochastic_with(s, d, seed, offset, options)
            }
        };
        let to_f16 = |s: &[f32], d: &mut [f16], offset: u64| match rounding {
            Rounding::Nearest => convert::f32_to_f16(s, d),
            Rounding::Stochastic { seed } => convert::f32_to_f16_stochastic(s, d, seed, offset),
            Rounding::StochasticWith { seed, options } => {
                convert::f32_to_f16_stochastic_with(s, d, seed, offset, options)
            }
        };
        let ok = match (self.dtype, dtype) {
            (from, to) if from == to => {
                out.as_bytes_mut().copy_from_slice(self.as_bytes());
                Ok(())
            }
            (DType::F32, DType::BF16) => to_bf16(self.typed(), out.typed_mut(), 0),
            (DType::F32, DType::F16) => to_f16(self.typed(), out.typed_mut(), 0),
            (DType::BF16, DType::F32) => convert::bf16_to_f32(self.typed(), out.typed_mut()),
            (DType::F16, DType::F32) => convert::f16_to_f32(self.typed(), out.typed_mut()),
            (DType::BF16, DType::F16) => {
                via_f32(self.typed(), out.typed_mut(), convert::bf16_to_f32, to_f16)
            }
            (DType::F16, DType::BF16) => {
                via_f32(self.typed(), out.typed_mut(), convert::f16_to_f32, to_bf16)
            }
            _ => unreachable!("every dtype pair is listed"),
        };
        ok.expect("source and destination have the same length");
        out
    }

    /// The matrix product `self · rhs` in f32: `self` is `[..., k]` (leading dimensions are
    /// rows), `rhs` is `[k, n]`, the result `[..., n]`. Any mix of f32/bf16/f16 inputs; the
    /// semantics (f32 accumulation, error bound, same bits for any thread count) are
    /// [`crate::fmac::gemm()`]'s, on [`Backend::active`](crate::Backend::active) and the current
    /// rayon pool.
    ///
    /// ```
    /// use half::bf16;
    /// use lowp::{DType, Tensor};
    /// let x = Tensor::from_slice(&[1, 2], &[1.0f32, 2.0])?;
    /// let w = Tensor::from_slice(&[2, 3], &[1.0f32, 0.0, 1.0, 0.0, 1.0, 1.0])?.to_dtype(DType::BF16);
    /// let y = x.matmul(&w)?;
    /// assert_eq!((y.shape(), y.as_slice::<f32>()?), (&[1, 3][..], &[1.0, 2.0, 3.0][..]));
    /// # Ok::<(), lowp::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] when `self` has no dimensions, `rhs` is not 2-D, or the inner
    /// dimensions differ.
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor, Error> {
        self.matmul_impl(rhs, false)
    }

    /// `self · rhsᵀ` for `rhs` stored `[n, k]`: a linear layer with weights in their usual
    /// layout, read in place (no transposed copy). Otherwise as [`Tensor::matmul`].
    ///
    /// # Errors
    /// As [`Tensor::matmul`], with `rhs` `[n, k]`.
    pub fn matmul_t(&self, rhs: &Tensor) -> Result<Tensor, Error> {
        self.matmul_impl(rhs, true)
    }

    fn matmul_impl(&self, rhs: &Tensor, transposed: bool) -> Result<Tensor, Error> {
        let shapes = || [self.shape.as_slice(), &[usize::MAX], rhs.shape.as_slice()].concat();
        let (&k, lead) = self.shape.split_last().ok_or_else(|| Error::Shape {
            shape: shapes(),
            reason: "matmul needs a left operand with at least one dimension",
        })?;
        let &[rows, cols] = rhs.shape.as_slice() else {
            return Err(Error::Shape {
                shape: shapes(),
                reason: "matmul needs a 2-D right operand",
            });
        };
        let (kb, n) = if transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        if k != kb {
            return Err(Error::Shape {
                shape: shapes(),
                reason: "matmul's inner dimensions differ",
            });
        }
        let m = lead.iter().product();
        let mut out = Tensor::zeros(&[lead, &[n]].concat(), DType::F32)?;
        let b = Operand {
            rows,
            cols,
            transposed,
        };
        let c = out.as_mut_slice::<f32>()?;
        use DType::{BF16, F16, F32};
        match (self.dtype, rhs.dtype) {
            (F32, F32) => b.multiply::<f32, f32>(self.typed(), m, k, rhs.typed(), c),
            (F32, BF16) => b.multiply::<f32, bf16>(self.typed(), m, k, rhs.typed(), c),
            (F32, F16) => b.multiply::<f32, f16>(self.typed(), m, k, rhs.typed(), c),
            (BF16, F32) => b.multiply::<bf16, f32>(self.typed(), m, k, rhs.typed(), c),
            (BF16, BF16) => b.multiply::<bf16, bf16>(self.typed(), m, k, rhs.typed(), c),
            (BF16, F16) => b.multiply::<bf16, f16>(self.typed(), m, k, rhs.typed(), c),
            (F16, F32) => b.multiply::<f16, f32>(self.typed(), m, k, rhs.typed(), c),
            (F16, BF16) => b.multiply::<f16, bf16>(self.typed(), m, k, rhs.typed(), c),
            (F16, F16) => b.multiply::<f16, f16>(self.typed(), m, k, rhs.typed(), c),
        }?;
        Ok(out)
    }

    /// `as_slice` for a `T` the caller has matched against `self.dtype`.
    fn typed<T: Element>(&self) -> &[T] {
        self.as_slice().expect("dtype matched by the caller")
    }

    fn typed_mut<T: Element>(&mut self) -> &mut [T] {
        self.as_mut_slice().expect("dtype matched by the caller")
    }
}

/// The right operand of a matmul: stored `rows × cols`, used as is or transposed.
struct Operand {
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl Operand {
    fn multiply<A: Input, B: Input>(
        &self,
        a: &[A],
        m: usize,
        k: usize,
        b: &[B],
        c: &mut [f32],
    ) -> Result<(), Error> {
        let stored = MatRef::new(b, self.rows, self.cols)?;
        let b = if self.transposed { stored.t() } else { stored };
        let n = b.cols();
        let a = MatRef::new(a, m, k)?;
        fmac::gemm(1.0, a, b, 0.0, MatMut::new(c, m, n)?, Par::default())
    }
}

/// Converts through an f32 buffer on the stack, a chunk at a time; `narrow` gets the chunk's
/// element offset (the stochastic index).
fn via_f32<S, D>(
    src: &[S],
    dst: &mut [D],
    widen: fn(&[S], &mut [f32]) -> Result<(), Error>,
    narrow: impl Fn(&[f32], &mut [D], u64) -> Result<(), Error>,
) -> Result<(), Error> {
    const CHUNK: usize = 1024;
    let mut buf = [0f32; CHUNK];
    for (i, (s, d)) in src.chunks(CHUNK).zip(dst.chunks_mut(CHUNK)).enumerate() {
        let buf = &mut buf[..s.len()];
        widen(s, buf)?;
        narrow(buf, d, (i * CHUNK) as u64)?;
    }
    Ok(())
}

fn element_count(shape: &[usize], dtype: DType) -> Result<usize, Error> {
    let overflow = || Error::Shape {
        shape: shape.to_vec(),
        reason: "element count or byte size overflows",
    };
    let len = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    match len.checked_mul(dtype.size_of()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(len),
        _ => Err(overflow()),
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tensor")
            .field("shape", &self.shape)
            .field("dtype", &self.dtype)
            .finish_non_exhaustive()
    }
}
