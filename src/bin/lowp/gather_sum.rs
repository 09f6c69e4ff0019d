//! The x-gather yardstick, shared by `lowp bench` and `examples/spmv_row_cost.rs`.

/// The loads of x that SpMV cannot avoid, alone: x summed at every index, in eight
/// independent chains, with no values and no multiplies. A yardstick for SpMV with the
/// matrix cache-resident, where those loads, not the bytes, set the pace.
pub fn gather_sum(indices: &[u32], x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = indices.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (a, &i) in acc.iter_mut().zip(chunk) {
            *a += x[i as usize];
        }
    }
    for &i in rest {
        acc[0] += x[i as usize];
    }
    acc.iter().sum()
}
