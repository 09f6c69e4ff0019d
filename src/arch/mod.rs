//! Per-ISA kernel tables. The only place with intrinsics, `asm!` and `#[target_feature]`.

use crate::backend::Kernels;
use crate::Isa;

mod portable;
pub(crate) mod scalar;

#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
mod aarch64;

/// The kernel table of `isa`.
///
/// # Safety
/// The CPU must support `isa` (`isa.is_supported()`): the table's entries may execute its
/// instructions. Only `Backend`'s constructors call this.
pub(crate) unsafe fn table(isa: Isa) -> &'static Kernels {
    match isa {
        Isa::Scalar => &scalar::KERNELS,
        Isa::Portable => &portable::KERNELS,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => &x86_64::avx2::KERNELS,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => &x86_64::avx512::KERNELS,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Bf16 => &x86_64::avx512bf16::KERNELS,
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => &aarch64::neon::KERNELS,
        #[cfg(target_arch = "aarch64")]
        Isa::NeonBf16 => &aarch64::neon_bf16::KERNELS,
    }
}

/// Runs `body` on each whole chunk of `W` elements of `src` and `dst` (in step), then `tail` on
/// what is left (fewer than `W`). Works on `min(src.len(), dst.len())` elements. Kernels hand it
/// closures; inlined into a `#[target_feature]` function, those compile with its features.
#[inline(always)]
pub(crate) fn for_each_chunk<S, D, const W: usize>(
    src: &[S],
    dst: &mut [D],
    mut body: impl FnMut(&[S; W], &mut [D; W]),
    tail: impl FnOnce(&[S], &mut [D]),
) {
    let n = src.len().min(dst.len());
    let mut src_chunks = src[..n].chunks_exact(W);
    let mut dst_chunks = dst[..n].chunks_exact_mut(W);
    for (s, d) in (&mut src_chunks).zip(&mut dst_chunks) {
        body(s.try_into().unwrap(), d.try_into().unwrap());
    }
    tail(src_chunks.remainder(), dst_chunks.into_remainder());
}

/// Two rows with the one-row kernel (a backend without a fused two-row kernel).
macro_rules! two_rows {
    ($($name:ident: $one:path, $w:ty;)*) => {
        $(
            pub(crate) unsafe fn $name(x: &[f32], r0: &[$w], r1: &[$w]) -> [f32; 2] {
                // SAFETY: the caller upholds the one-row kernel's contract (the same CPU);
                // for safe one-row kernels the block is redundant.
                #[allow(unused_unsafe)]
                unsafe { [$one(x, r0), $one(x, r1)] }
            }
        )*
    };
}
pub(crate) use two_rows;

/// Stochastic rounding draws its bits per block of this many elements (see
/// [`crate::reference::rng`]); SIMD kernels start their chunks on block boundaries.
pub(crate) const SR_BLOCK: u64 = 8;

/// Block `first + j`: indices wrap modulo 2^64, so block numbers wrap modulo 2^61.
#[inline(always)]
pub(crate) fn sr_block(first: u64, j: u64) -> u64 {
    first.wrapping_add(j) & (u64::MAX / SR_BLOCK)
}

/// [`for_each_chunk`] for kernels whose element `i` has the global index `offset + i`:
/// `edge(src, dst, first_index)` takes the elements before the first index that is a multiple
/// of [`SR_BLOCK`] and the tail; `body(src, dst, first_block)` takes each chunk of `W` elements
/// (`W` a multiple of [`SR_BLOCK`]), which starts at block `first_block`.
#[inline(always)]
pub(crate) fn for_each_block_chunk<S, D, const W: usize>(
    src: &[S],
    dst: &mut [D],
    offset: u64,
    mut body: impl FnMut(&[S; W], &mut [D; W], u64),
    mut edge: impl FnMut(&[S], &mut [D], u64),
) {
    debug_assert_eq!(W as u64 % SR_BLOCK, 0);
    let n = src.len().min(dst.len());
    let head = ((SR_BLOCK - offset % SR_BLOCK) % SR_BLOCK).min(n as u64) as usize;
    let (src_head, src_rest) = src[..n].split_at(head);
    let (dst_head, dst_rest) = dst[..n].split_at_mut(head);
    edge(src_head, dst_head, offset);
    let start = offset.wrapping_add(head as u64);
    let mut block = start / SR_BLOCK;
    let whole = src_rest.len() / W * W;
    for_each_chunk(
        src_rest,
        dst_rest,
        |s, d| {
            body(s, d, block);
            block = sr_block(block, W as u64 / SR_BLOCK);
        },
        |s, d| edge(s, d, start.wrapping_add(whole as u64)),
    );
}

/// The slice lengths a GEMM micro-kernel of `mr × nr` needs for `kc` steps; panics (a bug in
/// the driver, never reachable from the safe API) rather than let a kernel read past them.
#[inline(always)]
pub(crate) fn check_tile<B>(mr: usize, nr: usize, kc: usize, a: &[f32], b: &[B], acc: &[f32]) {
    assert!(
        a.len() >= kc * mr && b.len() >= kc * nr && acc.len() >= mr * nr,
        "micro-kernel {mr}x{nr}, kc {kc}: a {}, b {}, acc {}",
        a.len(),
        b.len(),
        acc.len()
    );
}
