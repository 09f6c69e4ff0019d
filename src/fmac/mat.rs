//! [`MatRef`]: a borrowed row-major matrix view with a row stride.

use crate::Error;

/// A read-only `rows × cols` matrix in row-major order inside `data`, row `i` starting at
/// `i * row_stride` (`row_stride >= cols`), so an engine can pass a sub-matrix of a larger
/// buffer without copying.
///
/// ```
/// use lowp::fmac::MatRef;
/// let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let m = MatRef::with_row_stride(&data, 2, 2, 3)?; // the left 2x2 block of a 2x3 matrix
/// assert_eq!(m.row(1), &[4.0, 5.0]);
/// assert!(MatRef::new(&data, 4, 2).is_err()); // 8 elements do not fit in 6
/// # Ok::<(), lowp::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A dense view: `row_stride == cols`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `data` holds fewer than `rows * cols` elements.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Result<MatRef<'a, T>, Error> {
        MatRef::with_row_stride(data, rows, cols, cols)
    }

    /// A view whose rows are `row_stride` elements apart.
    ///
    /// # Errors
    /// [`Error::Shape`] when `row_stride < cols` or `data` is too short for the last row.
    pub fn with_row_stride(
        data: &'a [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
    ) -> Result<MatRef<'a, T>, Error> {
        let shape = || vec![rows, cols, row_stride];
        if row_stride < cols {
            return Err(Error::Shape {
                shape: shape(),
                reason: "row stride shorter than a row",
            });
        }
        let needed = match rows {
            0 => Some(0),
            _ => (rows - 1)
                .checked_mul(row_stride)
                .and_then(|n| n.checked_add(cols)),
        };
        match needed {
            Some(n) if n <= data.len() => Ok(MatRef {
                data,
                rows,
                cols,
                row_stride,
            }),
            _ => Err(Error::Shape {
                shape: shape(),
                reason: "data too short for rows x cols at this row stride",
            }),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Elements between the starts of consecutive rows.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// Row `i`.
    ///
    /// # Panics
    /// If `i >= rows` (a programmer error, like slice indexing).
    pub fn row(&self, i: usize) -> &'a [T] {
        assert!(i < self.rows, "row {i} of a {}-row matrix", self.rows);
        &self.data[i * self.row_stride..][..self.cols]
    }
}
