//! The bf16 × bf16 GEMM micro-kernel on `vdpbf16ps`: the `Avx512` tile (12 × 32, same B
//! panels), each accumulator updated by one `vdpbf16ps` per two steps of k.
//!
//! Per two steps: B's two packed rows (32 bf16 each, in the paired column order) become two
//! vectors of k-pairs, one per half of the columns (a blend each); A's panel is packed as
//! k-pairs (`APanel::KPairs`), so each row's pair is one broadcast load,
//! shared by the row's two instructions. `vdpbf16ps` adds each lane's two products to the
//! accumulator one after the other (step `p + 1` first), rounding each to nearest even, and
//! treats subnormal inputs and results as zero: see `GemmKernels::bf16_bf16` for when the
//! driver may run it.

use core::arch::x86_64::*;

use half::bf16;

use super::super::avx512::gemm::{load_tile, store_tile, GEMM as AVX512, MR, NR};
use crate::arch::check_tile;
use crate::backend::{APanel, GemmKernels};

pub(super) const GEMM: GemmKernels = GemmKernels {
    bf16_bf16: Some(micro),
    bf16_bf16_a: APanel::KPairs,
    ..AVX512
};

/// Odd 16-bit halves from `odd`, even ones from `even`.
const ODD_HALVES: __mmask32 = 0xaaaa_aaaa;

/// `(low halves of x, low halves of y)` and `(high halves of x, high halves of y)` per 32-bit
/// lane: from two rows of k, the k-pairs of the columns in the lanes' low and high halves.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn k_pairs(x: __m512i, y: __m512i) -> [__m512i; 2] {
    [
        _mm512_mask_blend_epi16(ODD_HALVES, x, _mm512_slli_epi32::<16>(y)),
        _mm512_mask_blend_epi16(ODD_HALVES, _mm512_srli_epi32::<16>(x), y),
    ]
}

/// `acc += Σ` over each lane's two bf16 products.
#[inline]
#[target_feature(enable = "avx512bf16")]
fn dot2(acc: __m512, a: __m512i, b: __m512i) -> __m512 {
    // SAFETY: `__m512bh` and `__m512i` are both 64-byte plain vectors; any bits are valid.
    let (a, b) = unsafe {
        (
            core::mem::transmute::<__m512i, __m512bh>(a),
            core::mem::transmute::<__m512i, __m512bh>(b),
        )
    };
    _mm512_dpbf16_ps(acc, a, b)
}

#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")]
unsafe fn micro(kc: usize, a: &[f32], b: &[bf16], acc: &mut [f32], accumulate: bool) {
    check_tile(MR, NR, kc, a, b, acc);
    // SAFETY: the caller guarantees avx512bf16 (the `Avx512Bf16` tier); the check above keeps
    // every load below `kc * MR` of `a` (pair words: `kc.div_ceil(2) * MR` of them), `kc * NR`
    // of `b` and `MR * NR` of `acc`.
    unsafe {
        let mut t = load_tile(acc, accumulate);
        // Steps p and p + 1 (a zero row of B when `second` is false: A's pair word then holds
        // zero in its high half too, and the lane adds only +0 products for it).
        let two_steps = |t: &mut [[__m512; 2]; MR], p: usize, second: bool| {
            let load_b = |q: usize| _mm512_loadu_si512(b.as_ptr().add(q * NR).cast());
            let b1 = if second {
                load_b(p + 1)
            } else {
                _mm512_setzero_si512()
            };
            let [low_cols, high_cols] = k_pairs(load_b(p), b1);
            let pairs = a.as_ptr().add(p / 2 * MR).cast::<i32>();
            for (i, row) in t.iter_mut().enumerate() {
                let ai = _mm512_set1_epi32(pairs.add(i).read_unaligned());
                row[0] = dot2(row[0], ai, low_cols);
                row[1] = dot2(row[1], ai, high_cols);
            }
        };
        for p in (0..kc / 2 * 2).step_by(2) {
            two_steps(&mut t, p, true);
        }
        if kc % 2 == 1 {
            two_steps(&mut t, kc - 1, false);
        }
        store_tile(&t, acc);
    }
}
