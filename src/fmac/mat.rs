//! [`MatRef`] and [`MatMut`]: borrowed strided matrix views over caller buffers.

use crate::Error;

/// A read-only `rows × cols` matrix inside `data`: element `(i, j)` is
/// `data[i * row_stride + j * col_stride]`. Row-major is `col_stride == 1`; [`MatRef::t`] swaps
/// the strides, so a linear layer's weights `W [n × k]` are used as `Wᵀ [k × n]` without a copy.
///
/// ```
/// use lowp::fmac::MatRef;
/// let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let m = MatRef::with_row_stride(&data, 2, 2, 3)?; // the left 2x2 block of a 2x3 matrix
/// assert_eq!(m.row(1), &[4.0, 5.0]);
/// let t = MatRef::new(&data, 2, 3)?.t(); // 3x2, element (i, j) is the original (j, i)
/// assert_eq!((t.rows(), t.cols(), t.get(2, 1)), (3, 2, 6.0));
/// assert!(MatRef::new(&data, 4, 2).is_err()); // 8 elements do not fit in 6
/// # Ok::<(), lowp::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// Elements needed to hold a `rows × cols` view with these strides, or `None` on overflow.
fn extent(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(row_stride)?
        .checked_add((cols - 1).checked_mul(col_stride)?)?
        .checked_add(1)
}

fn too_short(shape: Vec<usize>) -> Error {
    Error::Shape {
        shape,
        reason: "data too short for rows x cols at these strides",
    }
}

impl<'a, T> MatRef<'a, T> {
    /// A dense row-major view: `row_stride == cols`, `col_stride == 1`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `data` holds fewer than `rows * cols` elements.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Result<MatRef<'a, T>, Error> {
        MatRef::with_row_stride(data, rows, cols, cols)
    }

    /// A row-major view whose rows are `row_stride` elements apart.
    ///
    /// # Errors
    /// [`Error::Shape`] when `row_stride < cols` or `data` is too short for the last row.
    pub fn with_row_stride(
        data: &'a [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
    ) -> Result<MatRef<'a, T>, Error> {
        if row_stride < cols {
            return Err(Error::Shape {
                shape: vec![rows, cols, row_stride],
                reason: "row stride shorter than a row",
            });
        }
        MatRef::with_strides(data, rows, cols, row_stride, 1)
    }

    /// A view with arbitrary strides (overlapping elements are allowed: the view only reads).
    ///
    /// # Errors
    /// [`Error::Shape`] when `data` is too short for element `(rows - 1, cols - 1)`.
    pub fn with_strides(
        data: &'a [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<MatRef<'a, T>, Error> {
        match extent(rows, cols, row_stride, col_stride) {
            Some(n) if n <= data.len() => Ok(MatRef {
                data,
                rows,
                cols,
                row_stride,
                col_stride,
            }),
            _ => Err(too_short(vec![rows, cols, row_stride, col_stride])),
        }
    }

    /// The transpose: the same elements, `cols × rows`.
    pub fn t(self) -> MatRef<'a, T> {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
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

    /// Elements between consecutive elements of a row.
    pub fn col_stride(&self) -> usize {
        self.col_stride
    }

    /// The buffer from element `(0, 0)` on.
    pub(crate) fn data(&self) -> &'a [T] {
        self.data
    }

    /// Row `i` as a slice.
    ///
    /// # Panics
    /// If `i >= rows` or the rows are not contiguous (`col_stride != 1` with more than one
    /// column): programmer errors, like slice indexing.
    pub fn row(&self, i: usize) -> &'a [T] {
        assert!(i < self.rows, "row {i} of a {}-row matrix", self.rows);
        assert!(
            self.rows_are_contiguous(),
            "row() of a view with column stride {}",
            self.col_stride
        );
        if self.cols == 0 {
            return &[]; // a view with no columns needs no data at all
        }
        &self.data[i * self.row_stride..][..self.cols]
    }

    /// [`MatRef::row`] and what follows it in the buffer: the GEMV kernels multiply its first
    /// `cols` elements and prefetch no further than its end.
    pub(crate) fn row_onward(&self, i: usize) -> &'a [T] {
        let row = self.row(i);
        if row.is_empty() {
            return row;
        }
        &self.data[i * self.row_stride..]
    }

    /// Whether each row is a contiguous slice (so [`MatRef::row`] works).
    pub fn rows_are_contiguous(&self) -> bool {
        self.col_stride == 1 || self.cols <= 1
    }

    /// Element `(i, j)`.
    ///
    /// # Panics
    /// If `i >= rows` or `j >= cols`.
    pub fn get(&self, i: usize, j: usize) -> T
    where
        T: Copy,
    {
        assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) of a {}x{} matrix",
            self.rows,
            self.cols
        );
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

/// A mutable row-major `rows × cols` matrix inside `data`, row `i` starting at
/// `i * row_stride` (`row_stride >= cols`): a GEMM output, possibly a block of a larger buffer.
///
/// ```
/// use lowp::fmac::MatMut;
/// let mut data = [0.0f32; 6];
/// let mut c = MatMut::with_row_stride(&mut data, 2, 2, 3)?; // the left 2x2 block of a 2x3
/// c.row_mut(1)[0] = 7.0;
/// assert_eq!(data, [0.0, 0.0, 0.0, 7.0, 0.0, 0.0]);
/// # Ok::<(), lowp::Error>(())
/// ```
#[derive(Debug)]
pub struct MatMut<'a, T> {
    data: &'a mut [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a, T> MatMut<'a, T> {
    /// A dense view: `row_stride == cols`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `data` holds fewer than `rows * cols` elements.
    pub fn new(data: &'a mut [T], rows: usize, cols: usize) -> Result<MatMut<'a, T>, Error> {
        MatMut::with_row_stride(data, rows, cols, cols)
    }

    /// A view whose rows are `row_stride` elements apart.
    ///
    /// # Errors
    /// [`Error::Shape`] when `row_stride < cols` (rows would overlap) or `data` is too short.
    pub fn with_row_stride(
        data: &'a mut [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
    ) -> Result<MatMut<'a, T>, Error> {
        let shape = || vec![rows, cols, row_stride];
        if row_stride < cols {
            return Err(Error::Shape {
                shape: shape(),
                reason: "row stride shorter than a row",
            });
        }
        match extent(rows, cols, row_stride, 1) {
            Some(n) if n <= data.len() => Ok(MatMut {
                data,
                rows,
                cols,
                row_stride,
            }),
            _ => Err(too_short(shape())),
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
    /// If `i >= rows`.
    pub fn row_mut(&mut self, i: usize) -> &mut [T] {
        assert!(i < self.rows, "row {i} of a {}-row matrix", self.rows);
        if self.cols == 0 {
            return &mut []; // a view with no columns needs no data at all
        }
        &mut self.data[i * self.row_stride..][..self.cols]
    }

    /// A shorter-lived view of the same matrix.
    pub fn rb_mut(&mut self) -> MatMut<'_, T> {
        MatMut {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
        }
    }

    /// Row blocks `[cuts[t], cuts[t + 1])` as disjoint views with their first row (`cuts`
    /// starts at 0, ends at `rows` and does not decrease).
    pub(crate) fn split_at_rows(self, cuts: &[usize]) -> Vec<(usize, MatMut<'a, T>)> {
        let mut rest = self;
        let mut out = Vec::with_capacity(cuts.len());
        for w in cuts.windows(2) {
            let (block, tail) = rest.split_rows(w[1] - w[0]);
            out.push((w[0], block));
            rest = tail;
        }
        out
    }

    /// Every row as its own slice.
    pub(crate) fn into_rows(self) -> Vec<&'a mut [T]> {
        let cols = self.cols;
        self.data
            .chunks_mut(self.row_stride.max(1))
            .take(self.rows)
            .map(|row| &mut row[..cols])
            .collect()
    }

    /// Rows `[0, at)` and `[at, rows)` as two disjoint views.
    ///
    /// # Panics
    /// If `at > rows`.
    pub fn split_rows(self, at: usize) -> (MatMut<'a, T>, MatMut<'a, T>) {
        assert!(at <= self.rows, "split at {at} of {} rows", self.rows);
        let cut = (at * self.row_stride).min(self.data.len());
        let (top, bottom) = self.data.split_at_mut(cut);
        (
            MatMut {
                data: top,
                rows: at,
                cols: self.cols,
                row_stride: self.row_stride,
            },
            MatMut {
                data: bottom,
                rows: self.rows - at,
                cols: self.cols,
                row_stride: self.row_stride,
            },
        )
    }
}

/// Rows of an output a task writes, indexed from the task's first row and first column:
/// whole rows of a matrix, or one column range of every row (a split by columns).
pub(crate) enum RowsMut<'a, T> {
    /// Whole rows of C.
    Block(MatMut<'a, T>),
    /// The same column range of every row, each its own slice.
    Columns(Vec<&'a mut [T]>),
}

impl<T> RowsMut<'_, T> {
    pub(crate) fn rows(&self) -> usize {
        match self {
            RowsMut::Block(m) => m.rows(),
            RowsMut::Columns(rows) => rows.len(),
        }
    }

    /// Columns of each row.
    pub(crate) fn row_width(&self) -> usize {
        match self {
            RowsMut::Block(m) => m.cols(),
            RowsMut::Columns(rows) => rows.first().map_or(0, |r| r.len()),
        }
    }

    pub(crate) fn row(&mut self, i: usize) -> &mut [T] {
        match self {
            RowsMut::Block(m) => m.row_mut(i),
            RowsMut::Columns(rows) => rows[i],
        }
    }
}
