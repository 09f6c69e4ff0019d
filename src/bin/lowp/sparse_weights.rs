//! The sparse benches' weights, shared by `lowp bench` and `benches/sparse.rs`.

/// Weight `i` of the benched matrix, in [-1, 1): SplitMix64's finalizer of `i`, so the
/// entries magnitude pruning keeps fall at random-like positions, as in a trained layer's
/// weights. (Until session 19 a Weyl sequence, `(i · 2654435761 >> 7) mod 20011`, which kept
/// entries nearly evenly spaced along each row: 1.10x padding in `Windowed` at 50 % instead
/// of 1.31x, 3.2x at 99 % instead of 4.9x.)
pub fn weight(i: u64) -> f32 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}
