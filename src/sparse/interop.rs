//! Conversions to and from `sprs::CsMat` (feature `sprs`), both orientations.

use super::{Orientation, Sparse};
use crate::Error;

impl<T: Copy, O: Orientation> Sparse<T, O> {
    /// A copy of `m` (CSR or CSC, `usize` indices) in this orientation, validated: sprs checks
    /// its own structures, but a matrix built with its unchecked constructor is checked here
    /// again before lowp indexes with it.
    ///
    /// ```
    /// use lowp::sparse::{Csc, Csr};
    /// let m = sprs::CsMat::new((2, 3), vec![0, 2, 3], vec![0, 2, 1], vec![1.0f32, 2.0, 3.0]);
    /// let csr = Csr::from_sprs(m.view())?;
    /// let csc = Csc::from_sprs(m.view())?; // converted to columns on the way
    /// assert_eq!(csr.view().to_dense(), csc.view().to_dense());
    /// assert_eq!(csr.to_sprs(), m);
    /// # Ok::<(), lowp::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidSparse`] or [`Error::Shape`] as [`Sparse::try_new`].
    pub fn from_sprs(m: sprs::CsMatView<'_, T>) -> Result<Self, Error> {
        let (rows, cols) = m.shape();
        let indptr = m.indptr().raw_storage().to_vec();
        let base = indptr.first().copied().unwrap_or(0);
        let indptr: Vec<usize> = indptr.iter().map(|&p| p - base).collect();
        let indices = m
            .indices()
            .iter()
            .map(|&j| u32::try_from(j))
            .collect::<Result<Vec<u32>, _>>()
            .map_err(|_| Error::Shape {
                shape: vec![rows, cols],
                reason: "the minor dimension does not fit u32 indices",
            })?;
        let values = m.data().to_vec();
        if m.is_csr() == O::ROW_MAJOR {
            Ok(Sparse::try_new(rows, cols, indptr, indices, values)?)
        } else {
            let other: Sparse<T, O::Other> = Sparse::try_new(rows, cols, indptr, indices, values)?;
            let converted = other.to_other();
            // `O::Other::Other` is `O`; rebuild to name the type.
            let (indptr, indices, values) = converted.into_parts();
            // SAFETY: the converted parts of a validated matrix are valid in orientation `O`.
            Ok(unsafe { Sparse::new_unchecked(rows, cols, indptr, indices, values) })
        }
    }

    /// A copy as a `sprs::CsMat` in the same orientation.
    pub fn to_sprs(&self) -> sprs::CsMat<T> {
        let v = self.view();
        let indptr = v.indptr().to_vec();
        let indices = v.indices().iter().map(|&j| j as usize).collect();
        let values = v.values().to_vec();
        let shape = (v.rows(), v.cols());
        if O::ROW_MAJOR {
            sprs::CsMat::new(shape, indptr, indices, values)
        } else {
            sprs::CsMat::new_csc(shape, indptr, indices, values)
        }
    }
}
