//! One chunk of a packed CSR (`sparse::PackedCsr`) in 16 lanes: lane `r` follows row `r`, so
//! a step is one contiguous load of 16 indices and 16 values, one `vgatherdps` of x and one
//! FMA, with the lanes whose row has ended masked off (their gather loads nothing, their sum
//! keeps its value). No horizontal sum, no tail: what short rows pay for in the CSR dot.

use core::arch::x86_64::*;

use half::{bf16, f16};

/// 16 packed values widened to f32.
trait Values16: Copy {
    /// # Safety
    /// `p` is valid for reading 16 values; the CPU has avx512f.
    unsafe fn load16(p: *const Self) -> __m512;
}

impl Values16 for f32 {
    #[inline(always)]
    unsafe fn load16(p: *const f32) -> __m512 {
        // SAFETY: per the trait's contract.
        unsafe { _mm512_loadu_ps(p) }
    }
}

impl Values16 for bf16 {
    #[inline(always)]
    unsafe fn load16(p: *const bf16) -> __m512 {
        // SAFETY: per the trait's contract (16 bf16 = 32 bytes); a bf16 is the high half of
        // its f32.
        unsafe {
            let h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(p.cast()));
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(h))
        }
    }
}

impl Values16 for f16 {
    #[inline(always)]
    unsafe fn load16(p: *const f16) -> __m512 {
        // SAFETY: per the trait's contract (16 f16 = 32 bytes).
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) }
    }
}

#[inline(always)]
fn chunk<T: Values16>(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[T],
    x: &[f32],
    out: &mut [f32; 16],
) {
    let steps = lens.iter().copied().max().unwrap_or(0) as usize;
    assert!(indices.len() >= 16 * steps && values.len() >= 16 * steps);
    // SAFETY: inlined only into the kernels below, which enable avx512f; the assert keeps the
    // loads of step `p < steps` inside `indices` and `values`, and a lane gathers only while
    // `p < lens[r]`, where the caller's contract puts its index below `x.len()`.
    unsafe {
        let lens = _mm512_loadu_si512(lens.as_ptr().cast());
        let mut sums = _mm512_setzero_ps();
        for p in 0..steps {
            let live = _mm512_cmpgt_epu32_mask(lens, _mm512_set1_epi32(p as i32));
            let at = _mm512_loadu_si512(indices.as_ptr().add(16 * p).cast());
            let v = T::load16(values.as_ptr().add(16 * p));
            let xs = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), live, at, x.as_ptr());
            sums = _mm512_mask3_fmadd_ps(v, xs, sums, live);
        }
        _mm512_storeu_ps(out.as_mut_ptr(), sums);
    }
}

/// # Safety
/// The CPU has the `Avx512` tier; `backend::SellChunk`'s precondition.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn chunk_f32(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[f32],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(lens, indices, values, x, out)
}

/// # Safety
/// As [`chunk_f32`].
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn chunk_bf16(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[bf16],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(lens, indices, values, x, out)
}

/// # Safety
/// As [`chunk_f32`].
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn chunk_f16(
    lens: &[u32; 16],
    indices: &[u32],
    values: &[f16],
    x: &[f32],
    out: &mut [f32; 16],
) {
    chunk(lens, indices, values, x, out)
}
