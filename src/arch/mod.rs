//! Per-ISA kernel tables. The only place with intrinsics, `asm!` and `#[target_feature]`.

use crate::backend::Kernels;
use crate::Isa;

mod portable;
mod scalar;

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
