//! [`Sparse`] (owned) and [`SparseRef`] (borrowed): compressed sparse matrices, validated once.

use core::marker::PhantomData;

use crate::Error;

/// Rows are the compressed (major) dimension: CSR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowMajor {}

/// Columns are the compressed (major) dimension: CSC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColMajor {}

/// Which dimension a compressed matrix slices along.
pub trait Orientation: Copy + 'static {
    /// `true` for CSR.
    const ROW_MAJOR: bool;
    /// The other orientation.
    type Other: Orientation;
}

impl Orientation for RowMajor {
    const ROW_MAJOR: bool = true;
    type Other = ColMajor;
}

impl Orientation for ColMajor {
    const ROW_MAJOR: bool = false;
    type Other = RowMajor;
}

/// An owned compressed sparse matrix: [`Csr`] or [`Csc`].
///
/// Invariants, checked once by [`Sparse::try_new`]: `indptr.len() == major + 1`,
/// `indptr[0] == 0`, `indptr` non-decreasing, `indptr[major] == nnz == indices.len() ==
/// values.len()`, every index `< minor`, and indices strictly increasing within each major
/// slice (sorted, no duplicates). `minor` must fit `u32` indices.
///
/// ```
/// use half::bf16;
/// use lowp::sparse::Csr;
/// // [[1, 0, 2],
/// //  [0, 0, 3]]
/// let values = [1.0, 2.0, 3.0].map(bf16::from_f32).to_vec();
/// let a = Csr::try_new(2, 3, vec![0, 2, 3], vec![0, 2, 2], values)?;
/// assert_eq!((a.rows(), a.cols(), a.nnz()), (2, 3, 3));
///
/// // A bad structure is refused, and the buffers come back.
/// let bad = Csr::try_new(2, 3, vec![0, 2, 3], vec![2, 0, 2], vec![1.0f32; 3]).unwrap_err();
/// assert_eq!(bad.indices, [2, 0, 2]);
/// println!("{}", bad.error); // "... indices not strictly increasing within a slice at 1"
/// # Ok::<(), lowp::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Sparse<T, O> {
    rows: usize,
    cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<T>,
    orientation: PhantomData<O>,
}

/// A borrowed compressed sparse matrix with the invariants of [`Sparse`].
#[derive(PartialEq)]
pub struct SparseRef<'a, T, O> {
    rows: usize,
    cols: usize,
    indptr: &'a [usize],
    indices: &'a [u32],
    values: &'a [T],
    orientation: PhantomData<O>,
}

impl<T, O> Clone for SparseRef<'_, T, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, O> Copy for SparseRef<'_, T, O> {}

/// Compressed sparse rows.
pub type Csr<T> = Sparse<T, RowMajor>;
/// Compressed sparse columns.
pub type Csc<T> = Sparse<T, ColMajor>;
/// A borrowed [`Csr`].
pub type CsrRef<'a, T> = SparseRef<'a, T, RowMajor>;
/// A borrowed [`Csc`].
pub type CscRef<'a, T> = SparseRef<'a, T, ColMajor>;

/// A structure [`Sparse::try_new`] refused: why, and the buffers it was given.
#[derive(Clone, PartialEq)]
pub struct Rejected<T> {
    /// [`Error::InvalidSparse`] (or [`Error::Shape`] when the minor dimension does not fit
    /// `u32` indices).
    pub error: Error,
    /// The `indptr` passed in.
    pub indptr: Vec<usize>,
    /// The `indices` passed in.
    pub indices: Vec<u32>,
    /// The `values` passed in.
    pub values: Vec<T>,
}

impl<T> core::fmt::Debug for Rejected<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Rejected")
            .field("error", &self.error)
            .field("indptr.len()", &self.indptr.len())
            .field("indices.len()", &self.indices.len())
            .field("values.len()", &self.values.len())
            .finish()
    }
}

impl<T> core::fmt::Display for Rejected<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.error.fmt(f)
    }
}

impl<T> std::error::Error for Rejected<T> {}

impl<T> From<Rejected<T>> for Error {
    fn from(r: Rejected<T>) -> Error {
        r.error
    }
}

/// Checks the invariants of [`Sparse`] for a `major × minor` structure.
pub(crate) fn validate(
    major: usize,
    minor: usize,
    indptr: &[usize],
    indices: &[u32],
    values_len: usize,
) -> Result<(), Error> {
    let fault = |reason: &'static str, at: usize| Err(Error::InvalidSparse { reason, at });
    if minor > u32::MAX as usize + 1 {
        return Err(Error::Shape {
            shape: vec![major, minor],
            reason: "the minor dimension does not fit u32 indices",
        });
    }
    if indptr.len() != major + 1 {
        return fault("indptr length is not major + 1", indptr.len());
    }
    if indptr[0] != 0 {
        return fault("indptr does not start at 0", 0);
    }
    if let Some(i) = indptr.windows(2).position(|w| w[1] < w[0]) {
        return fault("indptr decreases", i + 1);
    }
    if indptr[major] != indices.len() {
        return fault("indptr's last entry is not the number of indices", major);
    }
    if values_len != indices.len() {
        return fault(
            "values and indices differ in length",
            values_len.min(indices.len()),
        );
    }
    for w in indptr.windows(2) {
        let slice = &indices[w[0]..w[1]];
        if let Some(p) = slice.iter().position(|&j| j as usize >= minor) {
            return fault("index out of range", w[0] + p);
        }
        if let Some(p) = slice.windows(2).position(|pair| pair[1] <= pair[0]) {
            return fault(
                "indices not strictly increasing within a slice",
                w[0] + p + 1,
            );
        }
    }
    Ok(())
}

impl<T, O: Orientation> Sparse<T, O> {
    /// A `rows × cols` matrix from its compressed parts, checked (see [`Sparse`]).
    ///
    /// # Errors
    /// [`Rejected`] with [`Error::InvalidSparse`] naming the first violated invariant and the
    /// position in `indptr` or `indices` where it fails, and the three buffers given back.
    pub fn try_new(
        rows: usize,
        cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<T>,
    ) -> Result<Self, Rejected<T>> {
        let (major, minor) = major_minor::<O>(rows, cols);
        match validate(major, minor, &indptr, &indices, values.len()) {
            // SAFETY: just validated.
            Ok(()) => Ok(unsafe { Sparse::new_unchecked(rows, cols, indptr, indices, values) }),
            Err(error) => Err(Rejected {
                error,
                indptr,
                indices,
                values,
            }),
        }
    }

    /// A matrix from parts known to satisfy the invariants of [`Sparse`], without checking.
    ///
    /// # Safety
    /// The parts must satisfy every invariant listed on [`Sparse`]: the products index the
    /// dense operands with `indices`, and the nonzeros with `indptr`, without bounds checks.
    pub unsafe fn new_unchecked(
        rows: usize,
        cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<T>,
    ) -> Self {
        debug_assert!({
            let (major, minor) = major_minor::<O>(rows, cols);
            validate(major, minor, &indptr, &indices, values.len()).is_ok()
        });
        Sparse {
            rows,
            cols,
            indptr,
            indices,
            values,
            orientation: PhantomData,
        }
    }

    /// A borrowed view.
    pub fn view(&self) -> SparseRef<'_, T, O> {
        SparseRef {
            rows: self.rows,
            cols: self.cols,
            indptr: &self.indptr,
            indices: &self.indices,
            values: &self.values,
            orientation: PhantomData,
        }
    }

    /// The parts: `(indptr, indices, values)`.
    pub fn into_parts(self) -> (Vec<usize>, Vec<u32>, Vec<T>) {
        (self.indptr, self.indices, self.values)
    }

    /// The transpose, in the other orientation, without moving anything (a CSR matrix's
    /// arrays are its transpose's CSC arrays).
    pub fn transpose(self) -> Sparse<T, O::Other> {
        Sparse {
            rows: self.cols,
            cols: self.rows,
            indptr: self.indptr,
            indices: self.indices,
            values: self.values,
            orientation: PhantomData,
        }
    }

    /// The same matrix in the other orientation (CSR <-> CSC), by a counting sort: O(nnz +
    /// rows + cols); indices come out sorted.
    pub fn to_other(&self) -> Sparse<T, O::Other>
    where
        T: Copy,
    {
        let v = self.view();
        let (major, minor) = major_minor::<O>(self.rows, self.cols);
        let mut indptr = vec![0usize; minor + 1];
        for &j in v.indices {
            indptr[j as usize + 1] += 1;
        }
        for j in 0..minor {
            indptr[j + 1] += indptr[j];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; v.nnz()];
        let mut values = Vec::with_capacity(v.nnz());
        // Fill values in destination order: gather positions first.
        let mut source = vec![0usize; v.nnz()];
        for i in 0..major {
            for p in v.indptr[i]..v.indptr[i + 1] {
                let j = v.indices[p] as usize;
                let at = next[j];
                next[j] += 1;
                indices[at] = i as u32;
                source[at] = p;
            }
        }
        values.extend(source.iter().map(|&p| v.values[p]));
        // SAFETY: a counting sort of a valid structure: indptr counts per minor index, and
        // within each new slice the old major indices arrive in increasing order.
        unsafe { Sparse::new_unchecked(self.rows, self.cols, indptr, indices, values) }
    }
}

impl<T> Csr<T> {
    /// The same matrix as CSC.
    pub fn to_csc(&self) -> Csc<T>
    where
        T: Copy,
    {
        self.to_other()
    }
}

impl<T> Csc<T> {
    /// The same matrix as CSR.
    pub fn to_csr(&self) -> Csr<T>
    where
        T: Copy,
    {
        self.to_other()
    }
}

/// `(major, minor)` of a `rows × cols` matrix in orientation `O`.
fn major_minor<O: Orientation>(rows: usize, cols: usize) -> (usize, usize) {
    if O::ROW_MAJOR {
        (rows, cols)
    } else {
        (cols, rows)
    }
}

impl<'a, T, O: Orientation> SparseRef<'a, T, O> {
    /// A checked view of borrowed parts (see [`Sparse`] for the invariants).
    ///
    /// # Errors
    /// [`Error::InvalidSparse`] (or [`Error::Shape`]) as [`Sparse::try_new`].
    pub fn try_new(
        rows: usize,
        cols: usize,
        indptr: &'a [usize],
        indices: &'a [u32],
        values: &'a [T],
    ) -> Result<Self, Error> {
        let (major, minor) = major_minor::<O>(rows, cols);
        validate(major, minor, indptr, indices, values.len())?;
        Ok(SparseRef {
            rows,
            cols,
            indptr,
            indices,
            values,
            orientation: PhantomData,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Slice offsets: slice `i` is `indptr[i]..indptr[i + 1]` of `indices` and `values`.
    pub fn indptr(&self) -> &'a [usize] {
        self.indptr
    }

    /// Minor indices of the entries, slice after slice.
    pub fn indices(&self) -> &'a [u32] {
        self.indices
    }

    /// The entries' values, in the order of `indices`.
    pub fn values(&self) -> &'a [T] {
        self.values
    }

    /// Slice `i`'s indices and values (row `i` of a CSR matrix, column `i` of a CSC one).
    ///
    /// # Panics
    /// If `i` is not below the major dimension.
    pub fn slice(&self, i: usize) -> (&'a [u32], &'a [T]) {
        let range = self.indptr[i]..self.indptr[i + 1];
        (&self.indices[range.clone()], &self.values[range])
    }

    /// The matrix as dense row-major f32 (`rows × cols`): for tests and small matrices.
    pub fn to_dense(&self) -> Vec<f32>
    where
        T: Copy + Into<f32>,
    {
        let mut out = vec![0.0; self.rows * self.cols];
        let major = if O::ROW_MAJOR { self.rows } else { self.cols };
        for i in 0..major {
            let (idx, vals) = self.slice(i);
            for (&j, &v) in idx.iter().zip(vals) {
                let (r, c) = if O::ROW_MAJOR {
                    (i, j as usize)
                } else {
                    (j as usize, i)
                };
                out[r * self.cols + c] = v.into();
            }
        }
        out
    }
}

impl<T, O: Orientation> Sparse<T, O> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

impl<T, O: Orientation> core::fmt::Debug for Sparse<T, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.view().fmt(f)
    }
}

impl<T, O: Orientation> core::fmt::Debug for SparseRef<'_, T, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct(if O::ROW_MAJOR { "Csr" } else { "Csc" })
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("nnz", &self.nnz())
            .finish()
    }
}
