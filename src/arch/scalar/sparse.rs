//! Sparse kernels with no SIMD: the oracle of the sparse products. Each product is rounded,
//! then added, in the order of the entries.

use crate::backend::WINDOW_COLS;
// `Output::to_f32` widens exactly, as `Into<f32>` does, and under Miri without `half`'s F16C
// instruction, which Miri cannot run.
use crate::fmac::Output;

/// `Σ values[p]·x[indices[p]]`, in order.
pub(crate) fn dot<T: Output>(indices: &[u32], values: &[T], x: &[f32]) -> f32 {
    indices
        .iter()
        .zip(values)
        .fold(0.0f32, |acc, (&j, &v)| acc + v.to_f32() * x[j as usize])
}

/// [`dot`] of each row `r < out.len()` of a compressed structure.
pub(crate) fn dots<T: Output>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32],
) {
    each_row(indptr, indices, values, out, |i, v| dot(i, v, x));
}

/// `out[r] = row_dot(indices, values)` of each row `r < out.len()` of a compressed
/// structure: the row loop of every tier's sparse dots but x86's (whose kernels keep
/// closures out).
#[inline(always)]
pub(crate) fn each_row<T>(
    indptr: &[usize],
    indices: &[u32],
    values: &[T],
    out: &mut [f32],
    mut row_dot: impl FnMut(&[u32], &[T]) -> f32,
) {
    for (r, o) in out.iter_mut().enumerate() {
        let range = indptr[r]..indptr[r + 1];
        *o = row_dot(&indices[range.clone()], &values[range]);
    }
}

/// `out[j] = Σ_p values[p]·b[indices[p]·stride + j]`, each column in `p` order from 0.
pub(crate) fn row<T: Output>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    out.fill(0.0);
    for (&i, &v) in indices.iter().zip(values) {
        let v: f32 = v.to_f32();
        let brow = &b[i as usize * stride..][..out.len()];
        for (o, &x) in out.iter_mut().zip(brow) {
            *o += v * x;
        }
    }
}

/// One chunk of a packed CSR, row by row (see `backend::SellChunk`): the oracle of every
/// tier's kernel, which must give these bits. Panics on an index past `x` (never UB).
pub(crate) fn sell_chunk<T: Output>(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    for (r, (sum, &len)) in out.iter_mut().zip(lens).enumerate() {
        *sum = (0..len as usize).fold(*sum, |s, p| {
            let at = 16 * p + r;
            values[at].to_f32().mul_add(x[indices[at] as usize], s)
        });
    }
}

/// One chunk of a windowed packed CSR, window by window (see `backend::WindowChunk`): the
/// oracle of every tier's kernel. It skips the padding, whose `-0·(+0)` the vector kernels
/// add instead, leaving every sum as it was. Panics on a slice too short or an offset past
/// `x` (never UB).
pub(crate) fn window_chunk<T: Output>(
    windows: &[[u32; 2]],
    offsets: &[u8],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    let mut at = 0;
    for &[col, steps] in windows {
        for _ in 0..steps {
            for (r, sum) in out.iter_mut().enumerate() {
                let offset = usize::from(offsets[at + r]);
                if offset < WINDOW_COLS {
                    let x = x[col as usize + offset];
                    *sum = values[at + r].to_f32().mul_add(x, *sum);
                }
            }
            at += 16;
        }
    }
}
