//! Sparse kernels on `f32x8`: the row product vectorised along the dense columns with the
//! scalar kernel's operations (multiply, then add), so its bits are the scalar kernel's.

use wide::f32x8;

use crate::arch::scalar::sparse;

pub(super) use sparse::dots;

pub(super) fn row<T: Copy + Into<f32>>(
    indices: &[u32],
    values: &[T],
    b: &[f32],
    stride: usize,
    out: &mut [f32],
) {
    let n = out.len();
    let whole = n / 8 * 8;
    for j in (0..whole).step_by(8) {
        let mut acc = f32x8::ZERO;
        for (&i, &v) in indices.iter().zip(values) {
            let brow: [f32; 8] = b[i as usize * stride + j..][..8].try_into().unwrap();
            acc += f32x8::splat(v.into()) * f32x8::new(brow);
        }
        out[j..j + 8].copy_from_slice(&acc.to_array());
    }
    sparse::row(
        indices,
        values,
        &b[whole.min(b.len())..],
        stride,
        &mut out[whole..],
    );
}
