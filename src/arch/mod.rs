//! Per-ISA kernel tables. The only place with intrinsics, `asm!` and `#[target_feature]`.

use crate::backend::Kernels;
use crate::Isa;

pub(crate) mod edge;
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
        #[cfg(target_arch = "x86_64")]
        Isa::Amx => &x86_64::amx::KERNELS,
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => &aarch64::neon::KERNELS,
        #[cfg(target_arch = "aarch64")]
        Isa::NeonBf16 => &aarch64::neon_bf16::KERNELS,
    }
}

/// Whether tier `isa`'s bf16 × bf16 hardware GEMM kernel (`GemmKernels::bf16_bf16`) is the
/// default on this CPU, where it has one: AMX tiles always (the tier exists for them); on
/// `Avx512Bf16` only where the pair-dot is the faster (see `x86_64::prefers_bf16_pair_dot`);
/// on Arm `BFMMLA` is the default (not yet timed on hardware).
pub(crate) fn prefers_hardware_bf16_gemm(isa: Isa) -> bool {
    #[cfg(target_arch = "x86_64")]
    return isa == Isa::Amx || x86_64::prefers_bf16_pair_dot();
    #[cfg(not(target_arch = "x86_64"))]
    return {
        let _ = isa;
        true
    };
}

/// Whether the CPU has AMX tiles with bf16 and the OS lets this process use them (asked for
/// once, on first call; see `x86_64::amx::usable`).
#[cfg(target_arch = "x86_64")]
pub(crate) fn amx_usable() -> bool {
    x86_64::amx::usable()
}

/// Whether `vgatherdps` outruns loading its lanes one by one on this CPU (see
/// `x86_64::prefers_hardware_gather`).
#[cfg(target_arch = "x86_64")]
pub(crate) fn gathers_are_fast() -> bool {
    x86_64::prefers_hardware_gather()
}

/// The stochastic f16 kernels' fast path: `key = min(2|x| - F16_FAST_LOW, 2|x|)` (u32
/// patterns, wrapping) is below [`F16_FAST_SPAN`] exactly for magnitudes 0x3880_0000..0x477f_e000
/// (f16's normal range below its largest finite value: 13 bits drop, so adding the top 13
/// random bits and truncating is the reference's rounding) and below 0x0eff_e000 (under 2^-97,
/// zeros included: the reference gives ±0 there for every random value, and so does that).
pub(crate) const F16_FAST_LOW: u32 = 0x3880_0000 << 1;

/// See [`F16_FAST_LOW`].
pub(crate) const F16_FAST_SPAN: u32 = (0x477f_e000 - 0x3880_0000) << 1;

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

/// `$pass::<$g.., W>($args..)` with the const `W` the run-time value `$w` (0..=8; above 8 as
/// 8): the sparse row kernels' single pass over the columns their full passes leave, as many
/// vectors wide as those columns need.
macro_rules! with_width {
    ($w:expr, $pass:ident::<$($g:tt),*>($($arg:expr),* $(,)?)) => {
        match $w {
            0 => $pass::<$($g,)* 0>($($arg),*),
            1 => $pass::<$($g,)* 1>($($arg),*),
            2 => $pass::<$($g,)* 2>($($arg),*),
            3 => $pass::<$($g,)* 3>($($arg),*),
            4 => $pass::<$($g,)* 4>($($arg),*),
            5 => $pass::<$($g,)* 5>($($arg),*),
            6 => $pass::<$($g,)* 6>($($arg),*),
            7 => $pass::<$($g,)* 7>($($arg),*),
            _ => $pass::<$($g,)* 8>($($arg),*),
        }
    };
}
pub(crate) use with_width;

/// Stochastic rounding draws its bits per block of this many elements (see
/// [`crate::reference::rng`]); SIMD kernels start their chunks on block boundaries.
pub(crate) const SR_BLOCK: u64 = 8;

/// Block `first + j`: indices wrap modulo 2^64, so block numbers wrap modulo 2^61.
#[inline(always)]
pub(crate) fn sr_block(first: u64, j: u64) -> u64 {
    first.wrapping_add(j) & (u64::MAX / SR_BLOCK)
}

/// Like [`for_each_chunk`], for kernels whose element `i` has the global index `offset + i`:
/// `edge(src, dst, first_index)` takes the elements before the first index that is a multiple
/// of [`SR_BLOCK`] (at most 7) and a tail shorter than `pad_min`; `body(src, dst, first_block)`
/// takes each chunk of `W` elements (`W` a multiple of [`SR_BLOCK`]), which starts at block
/// `first_block`, and a tail of `pad_min` or more elements as a zero-padded copy (so an array
/// whose length is not a multiple of `W` does not spend most of its time in `edge`, the
/// per-element reference). `pad_min` is [`PADDED_TAIL_MIN`] on the `Portable` and `Neon`
/// tiers. The x86 kernels round their heads and tails in place before calling this, and pass
/// their in-place minimum, so the padded branch never runs there (their drivers say why they
/// keep it).
#[inline(always)]
pub(crate) fn for_each_block_chunk<S: Copy + Default, D: Copy + Default, const W: usize>(
    src: &[S],
    dst: &mut [D],
    offset: u64,
    pad_min: usize,
    mut body: impl FnMut(&[S; W], &mut [D; W], u64),
    mut edge: impl FnMut(&[S], &mut [D], u64),
) {
    debug_assert_eq!(W as u64 % SR_BLOCK, 0);
    let n = src.len().min(dst.len());
    let head = block_head(n, offset);
    let (src_head, src_rest) = src[..n].split_at(head);
    let (dst_head, dst_rest) = dst[..n].split_at_mut(head);
    if head > 0 {
        edge(src_head, dst_head, offset);
    }
    let start = offset.wrapping_add(head as u64);
    let mut block = start / SR_BLOCK;
    let whole = src_rest.len() / W * W;
    let (src_whole, src_tail) = src_rest.split_at(whole);
    let (dst_whole, dst_tail) = dst_rest.split_at_mut(whole);
    // The tail starts on a block boundary: a padded chunk's first elements get exactly their
    // own random bits, and the padding's results are dropped. Written in place: built in a
    // closure and moved into the `Option`, the copies cost a Zen 5 core about 20 ns more per
    // call (ARS-5 f32 -> bf16 of 32 elements: 50 -> 29 ns).
    let mut padded = None;
    if !src_tail.is_empty() && src_tail.len() >= pad_min {
        let (s, d) = padded.insert(([S::default(); W], [D::default(); W]));
        s[..src_tail.len()].copy_from_slice(src_tail);
        d[..dst_tail.len()].copy_from_slice(dst_tail);
    }
    let chunks = src_whole.chunks_exact(W).zip(dst_whole.chunks_exact_mut(W));
    let chunks = chunks.map(|(s, d)| (s.try_into().unwrap(), d.try_into().unwrap()));
    let last = padded.as_mut().map(|(s, d)| (&*s, d));
    // One call site, so that `body` is inlined into the kernel (and gets its features).
    for (s, d) in chunks.chain(last) {
        body(s, d, block);
        block = sr_block(block, W as u64 / SR_BLOCK);
    }
    match padded {
        Some((_, d)) => dst_tail.copy_from_slice(&d[..dst_tail.len()]),
        None if !src_tail.is_empty() => edge(src_tail, dst_tail, start.wrapping_add(whole as u64)),
        None => {}
    }
}

/// The elements before the first block boundary: at most 7, and at most `n`.
#[inline(always)]
pub(crate) fn block_head(n: usize, offset: u64) -> usize {
    ((SR_BLOCK - offset % SR_BLOCK) % SR_BLOCK).min(n as u64) as usize
}

/// How many chunks [`for_each_block_chunk`] passes to `body` for `n` elements from `offset`
/// (a kernel that draws the next chunk's bits ahead knows when to stop).
#[cfg(any(target_arch = "x86_64", test))]
#[inline(always)]
fn block_chunks<const W: usize>(n: usize, offset: u64, pad_min: usize) -> usize {
    let rest = n - block_head(n, offset);
    rest / W + usize::from(!rest.is_multiple_of(W) && rest % W >= pad_min)
}

/// A stochastic kernel's random bits for [`for_each_block_chunk`]'s chunks of `W` elements,
/// drawn one chunk ahead: [`DrawAhead::take`] returns a chunk's bits and draws the next
/// chunk's before the caller rounds this one, so the generator's long chains (AES rounds,
/// Philox multiplies) run beside the rounding instead of before it. It draws nothing past the
/// last chunk ([`block_chunks`]). The x86 drivers use it; NEON's, untimed, draws as before.
#[cfg(target_arch = "x86_64")]
pub(crate) struct DrawAhead<B, const W: usize> {
    next: Option<B>,
    left: usize,
}

#[cfg(target_arch = "x86_64")]
impl<B, const W: usize> DrawAhead<B, W> {
    /// For `n` elements from global index `offset`, tails padded from `pad_min` on.
    #[inline(always)]
    pub(crate) fn new(n: usize, offset: u64, pad_min: usize) -> Self {
        DrawAhead {
            next: None,
            left: block_chunks::<W>(n, offset, pad_min),
        }
    }

    /// The bits of the chunk at `block`, drawn by `random(first block)`.
    #[inline(always)]
    pub(crate) fn take(&mut self, block: u64, random: impl Fn(u64) -> B) -> B {
        let bits = self.next.take().unwrap_or_else(|| random(block));
        self.left = self.left.saturating_sub(1);
        if self.left > 0 {
            self.next = Some(random(sr_block(block, W as u64 / SR_BLOCK)));
        }
        bits
    }
}

/// Tails this long or longer go through the SIMD body on padded copies (a chunk of the
/// widest kernels, 256 elements, costs about as much as 16 elements of the reference).
pub(crate) const PADDED_TAIL_MIN: usize = 16;

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

/// One call's results from the three stochastic operations: f32 -> bf16, f32 -> f16, and
/// the fused update (`alpha` 0.5 on f32 gradients) of weights that start as the test's `w0`.
#[cfg(test)]
pub(crate) struct SrOutputs {
    pub(crate) bf16: Vec<half::bf16>,
    pub(crate) f16: Vec<half::f16>,
    pub(crate) axpy: Vec<half::bf16>,
}

/// Runs `fill` (the kernels under test) on fresh [`SrOutputs`] for `src`, the update starting
/// from `w0`, and asserts that every result has the reference's bits under `sr`; `what` names
/// the kernels in a failure.
#[cfg(test)]
pub(crate) fn check_sr_against_reference(
    src: &[f32],
    w0: &[half::bf16],
    sr: crate::backend::Sr,
    what: &str,
    fill: impl FnOnce(&mut SrOutputs),
) {
    use crate::reference::stochastic as r;
    let n = src.len();
    let fresh = || SrOutputs {
        bf16: vec![half::bf16::ZERO; n],
        f16: vec![half::f16::ZERO; n],
        axpy: w0[..n].to_vec(),
    };
    let (mut want, mut got) = (fresh(), fresh());
    let (seed, at, options) = (sr.seed, sr.offset, sr.options());
    r::f32_to_bf16_stochastic_slice(src, &mut want.bf16, seed, at, options);
    r::f32_to_f16_stochastic_slice(src, &mut want.f16, seed, at, options);
    r::axpy_bf16_stochastic_slice(0.5, src, &mut want.axpy, seed, at, options);
    fill(&mut got);
    let case = format!("{what}: {n} elements from {at}, {options:?}");
    let bits = |v: &[half::bf16]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got.bf16), bits(&want.bf16), "bf16, {case}");
    let bits16 = |v: &[half::f16]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits16(&got.f16), bits16(&want.f16), "f16, {case}");
    assert_eq!(bits(&got.axpy), bits(&want.axpy), "axpy, {case}");
}

/// The kernels' unit tests' random numbers: a xorshift64 from `seed` (not zero), so each
/// test's inputs are fixed.
#[cfg(test)]
pub(crate) fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `block_chunks` counts `for_each_block_chunk`'s chunks, and `edge` never gets an empty
    /// slice.
    #[test]
    fn block_chunks_counts_the_chunks() {
        const W: usize = 64;
        let src = vec![0u8; 3 * W + 40];
        for n in 0..=src.len() {
            for offset in (0..20).chain([u64::MAX - 70, u64::MAX - 3, u64::MAX]) {
                let mut dst = vec![0u8; n];
                let (mut chunks, mut empty_edges) = (0, 0);
                for pad_min in [1, PADDED_TAIL_MIN] {
                    for_each_block_chunk::<_, _, W>(
                        &src[..n],
                        &mut dst,
                        offset,
                        pad_min,
                        |_, _, _| chunks += 1,
                        |s, _, _| empty_edges += usize::from(s.is_empty()),
                    );
                    assert_eq!(
                        chunks,
                        block_chunks::<W>(n, offset, pad_min),
                        "n {n}, offset {offset}, pad_min {pad_min}"
                    );
                    chunks = 0;
                }
                assert_eq!(empty_edges, 0, "n {n}, offset {offset}");
            }
        }
    }
}
