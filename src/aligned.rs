//! 64-byte-aligned storage: a `Vec` of cache lines, viewed as a slice of any plain type.
//! AMX tile loads of rows that straddle two lines ran about seven times slower than aligned
//! ones (the README's session 51), so GEMM's packed panels and workspace live in these.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

/// One cache line; a `Vec` of these is a 64-byte-aligned allocation.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub(crate) struct Line([u8; 64]);

// SAFETY: `Line` is 64 bytes with alignment 64: no padding, and every bit pattern is valid.
unsafe impl bytemuck::Zeroable for Line {}
// SAFETY: as above; it is `Copy` and `'static`.
unsafe impl bytemuck::Pod for Line {}

impl Line {
    pub(crate) const ZERO: Line = Line([0; 64]);
}

/// Zeroed lines enough for `len` values of `T`.
pub(crate) fn lines_for<T>(len: usize) -> Vec<Line> {
    vec![Line::ZERO; (len * size_of::<T>()).div_ceil(64)]
}

/// An owned slice of `T` starting on a cache line.
#[derive(Clone)]
pub(crate) struct AlignedVec<T> {
    lines: Vec<Line>,
    len: usize,
    values: PhantomData<T>,
}

impl<T: bytemuck::Pod> AlignedVec<T> {
    /// `len` values, all bits zero.
    pub(crate) fn zeroed(len: usize) -> AlignedVec<T> {
        AlignedVec {
            lines: lines_for::<T>(len),
            len,
            values: PhantomData,
        }
    }
}

impl<T: bytemuck::Pod> Deref for AlignedVec<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &bytemuck::cast_slice(&self.lines)[..self.len]
    }
}

impl<T: bytemuck::Pod> DerefMut for AlignedVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        view_mut(&mut self.lines, self.len)
    }
}

/// The first `len` values of `T` in `lines`, writable.
pub(crate) fn view_mut<T: bytemuck::Pod>(lines: &mut [Line], len: usize) -> &mut [T] {
    &mut bytemuck::cast_slice_mut(lines)[..len]
}
