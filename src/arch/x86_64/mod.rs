//! x86_64 tiers. Each is a folder with its `KERNELS` table and one file per family; what
//! they share (the store policy for large outputs) lives here.

pub(crate) mod amx;
pub(crate) mod avx2;
pub(crate) mod avx512;
pub(crate) mod avx512bf16;
mod edge;

use core::arch::x86_64::*;
use core::sync::atomic::{AtomicU8, Ordering};

#[cfg(doc)]
use crate::arch::PADDED_TAIL_MIN;
use crate::arch::{block_head, for_each_chunk, SR_BLOCK};
use crate::backend::Sr;
use crate::reference::rng::Generator;

/// Outputs at least this large are written with non-temporal stores. They cannot stay in
/// cache anyway, and skipping the read-for-ownership of every written line saves a quarter of
/// a conversion's memory traffic. Below it the output stays cached for whoever reads it next.
/// The stochastic kernels also fetch ahead from this size on, and stream where their chunks
/// start on lines ([`to_line`]).
pub(crate) const STREAM_MIN_BYTES: usize = 16 << 20;

/// For a stochastic kernel streaming a large output: rounds through `edge` the elements up to
/// the first block boundary, then whole blocks until `dst` reaches a multiple of `align` bytes
/// (just the first boundary where no block gets there), and returns the rest with its
/// parameters, so that every chunk after them stores whole lines. A large `Vec` starts 16
/// bytes past a page on glibc, and without the extra blocks none of its chunks streamed.
pub(crate) fn to_line<'a, S, D>(
    src: &'a [S],
    dst: &'a mut [D],
    sr: Sr,
    align: usize,
    mut edge: impl FnMut(&[S], &mut [D], u64),
) -> (&'a [S], &'a mut [D], Sr) {
    let n = src.len().min(dst.len());
    let first = block_head(n, sr.offset);
    let block = SR_BLOCK as usize;
    let at = |h: usize| dst.as_ptr() as usize + h * size_of::<D>();
    let head = (0..align / (block * size_of::<D>()))
        .map(|k| first + k * block)
        .find(|&h| at(h).is_multiple_of(align))
        .unwrap_or(first)
        .min(n);
    let (src_head, src) = src[..n].split_at(head);
    let (dst_head, dst) = dst[..n].split_at_mut(head);
    if head > 0 {
        edge(src_head, dst_head, sr.offset);
    }
    let offset = sr.offset.wrapping_add(head as u64);
    (src, dst, Sr { offset, ..sr })
}

/// Whether a masked load or store of the `width` bytes from address `window` touches only
/// pages that also hold some of its `valid` bytes from address `first`, the ones its mask
/// selects (none: `false`). Where a window reaches another page, the kernels take another way
/// (for a 32-byte window at a random place, about one time in 128):
/// - `vpmaskmovd` (`Avx2`): Intel's manual suppresses faults on masked-off lanes, but AMD's
///   leaves them "implementation dependent" (a page fault among them).
/// - AVX-512's masked loads and stores suppress the faults by definition (Intel's manual,
///   vol. 1, 15.6.1), but on a Zen 5 core each one whose masked-off lanes lie on a page that is
///   not mapped, or mapped and never touched, took about 250 ns instead of 3 (`cargo run
///   --release --example x86_page_end`): a tail ending just before such a page paid it on
///   every call.
#[inline(always)]
pub(crate) fn within_valid_pages(window: usize, width: usize, first: usize, valid: usize) -> bool {
    const PAGE: usize = 4096;
    valid > 0
        && window / PAGE == first / PAGE
        && (window + width - 1) / PAGE == (first + valid - 1) / PAGE
}

/// Whether a row product's last vector stays on the pages of B and of the output row
/// ([`within_valid_pages`]): its masked loads of a row of B and its store into `out` reach
/// `reach` columns from the row's start, and every row of B read starts at or before element
/// `b.len() - out.len()` (none is read without `nonzeros`).
#[inline(always)]
pub(crate) fn last_columns_within(b: &[f32], out: &[f32], reach: usize, nonzeros: bool) -> bool {
    let (b_at, o_at, n) = (b.as_ptr() as usize, out.as_ptr() as usize, out.len());
    let b_reach = 4 * (b.len().saturating_sub(n) + reach);
    (!nonzeros || within_valid_pages(b_at, b_reach, b_at, 4 * b.len()))
        && within_valid_pages(o_at, 4 * reach, o_at, 4 * n)
}

/// Whether the bytes of `reach` elements from the start of `v` lie on pages that hold some of
/// `v` ([`within_valid_pages`]): the masked loads and stores of a tail that starts at `v`.
#[inline(always)]
pub(crate) fn reach_within<T>(v: &[T], reach: usize) -> bool {
    let at = v.as_ptr() as usize;
    within_valid_pages(at, size_of::<T>() * reach, at, size_of_val(v))
}

/// How far ahead of the current chunk a streaming kernel prefetches its source. One core's
/// hardware prefetchers alone leave DRAM idle between misses; measured on the development CPU
/// (`lowp bench --only dram`), 4 KiB ahead lifted f32 -> bf16 from 0.6 to 0.9 of memcpy's rate.
const PREFETCH_BYTES: usize = 4096;

/// How far ahead a kernel that only reads its stream (a dot product's second operand: a GEMV
/// row walked one at a time from DRAM) also prefetches it into L2 ([`prefetch_read_ahead`]).
/// 4096² bf16 GEMV from 1 GiB of copies, one thread, variants run alternately in throwaway
/// probes: on Zen 4 1.65-2.1x the L1 prefetch alone (0.42-0.47 of a plain read before,
/// 0.75-0.89 after), 16 to 64 KiB ahead and 1 to 4 KiB into L1 within a few per cent of each
/// other, L2 alone 1.56-1.69x; on a 16-core Intel Xeon (Sapphire or Emerald Rapids)
/// 1.16-1.21x, L2 alone 1.09-1.13x. Zen 5 is untimed. (The conversions write a stream as
/// well: there the same L2 prefetch ran at 0.80-1.0x on Zen 4, so they keep
/// [`prefetch_ahead`].)
const DEEP_PREFETCH_BYTES: usize = 32 << 10;

/// Proof that the CPU has AES-NI: the xmm ARS-5 kernels' one feature beyond their tier.
#[derive(Clone, Copy)]
pub(crate) struct Aes(());

impl Aes {
    pub(crate) fn detect() -> Option<Aes> {
        std::arch::is_x86_feature_detected!("aes").then_some(Aes(()))
    }
}

/// The x86 stochastic drivers' head: where a call's first elements (at most 7) lie before a
/// block boundary, `round(src_head, dst_head, lane, block)` rounds them in place, the first at
/// `lane` of block `block`; returns the rest of the call and its parameters.
#[inline(always)]
pub(crate) fn head_in_place<'a, S, D>(
    src: &'a [S],
    dst: &'a mut [D],
    sr: Sr,
    round: impl FnOnce(&[S], &mut [D], usize, u64),
) -> (&'a [S], &'a mut [D], Sr) {
    let n = src.len().min(dst.len());
    let head = block_head(n, sr.offset);
    if head == 0 {
        return (src, dst, sr);
    }
    let (src_head, src) = src[..n].split_at(head);
    let (dst_head, dst) = dst[..n].split_at_mut(head);
    round(
        src_head,
        dst_head,
        (sr.offset % SR_BLOCK) as usize,
        sr.offset / SR_BLOCK,
    );
    let offset = sr.offset.wrapping_add(head as u64);
    (src, dst, Sr { offset, ..sr })
}

/// The x86 stochastic drivers' tail: where the elements after a call's last whole chunk of
/// `step` (from its first block boundary) number `tail_min` or more, `round(src_tail, dst_tail,
/// block)` rounds them in place, the first at the start of block `block`; returns the part
/// before them.
#[inline(always)]
pub(crate) fn tail_in_place<'a, S, D>(
    src: &'a [S],
    dst: &'a mut [D],
    sr: Sr,
    step: usize,
    tail_min: usize,
    round: impl FnOnce(&[S], &mut [D], u64),
) -> (&'a [S], &'a mut [D]) {
    let n = src.len().min(dst.len());
    let tail = (n - block_head(n, sr.offset)) % step;
    if tail == 0 || tail < tail_min {
        return (src, dst);
    }
    let (src, src_tail) = src[..n].split_at(n - tail);
    let (dst, dst_tail) = dst[..n].split_at_mut(n - tail);
    let at = sr.offset.wrapping_add((n - tail) as u64);
    round(src_tail, dst_tail, at / SR_BLOCK);
    (src, dst)
}

/// The shortest tail the x86 stochastic kernels round in place (their `round_tail`) rather
/// than one element at a time ([`edge`]): any tail with ARS-5, whose bits they draw with AES
/// instructions while the reference runs AES in software, and `philox_min` elements or more
/// with Philox (each tier's crossover, measured). Before session 37 the `Avx2` tier rounded
/// its tails on a zero-padded chunk instead, from [`PADDED_TAIL_MIN`] elements with Philox: on
/// a Zen 5 core ARS-5 f32 -> bf16 of 8 elements took 96 ns through the reference and 34 ns on
/// a padded chunk (257 elements 94 and 35 ns, where 256 take 16 ns). The edges' own AES-NI
/// blocks (session 33) did not change that: their rounding, an element at a time, costs about
/// 1.6 ns an element, so only a tail of one element ran faster there (24 against 34 ns).
#[inline(always)]
pub(crate) fn in_place_tail_min(sr: Sr, philox_min: usize) -> usize {
    if sr.generator == Generator::Ars5 {
        1
    } else {
        philox_min
    }
}

/// Proof that the CPU has AES-NI and VAES (AES rounds on every 128-bit lane of a ymm or
/// zmm register): the zmm ARS-5 kernels' features beyond the `Avx512` tier.
#[derive(Clone, Copy)]
pub(crate) struct Vaes(());

impl Vaes {
    pub(crate) fn detect() -> Option<Vaes> {
        let aes = std::arch::is_x86_feature_detected!("aes");
        (aes && std::arch::is_x86_feature_detected!("vaes")).then_some(Vaes(()))
    }
}

/// Bits of [`IDENTITY`]: the CPU's identity has been read; its vendor is AMD; its core is one
/// whose `vgatherdps` beats lowp's broadcast loads; one whose AVX-512 sparse dots run faster
/// prefetching nearer; Zen 4 (AMD family 19h with AVX-512; Zen 3, the same family, has none);
/// Zen 1 or Zen+ (AMD family 17h below model 30h, where Zen 2 starts).
const KNOWN: u8 = 1;
const AMD: u8 = 2;
const FAST_GATHER: u8 = 4;
const NEAR_SPARSE_PREFETCH: u8 = 8;
const ZEN4: u8 = 16;
const ZEN1: u8 = 32;

/// What lowp's kernel choices need of `cpuid`'s identification leaves, read once: in a VM each
/// `cpuid` traps to the hypervisor (microseconds).
static IDENTITY: AtomicU8 = AtomicU8::new(0);

fn identity() -> u8 {
    match IDENTITY.load(Ordering::Relaxed) {
        0 => {
            let id = read_identity();
            IDENTITY.store(id, Ordering::Relaxed);
            id
        }
        id => id,
    }
}

fn read_identity() -> u8 {
    // Miri has no `cpuid`: an unknown vendor's core, the default choices.
    if cfg!(miri) {
        return KNOWN;
    }
    // SAFETY: `cpuid` leaves 0 and 1 exist on every x86_64 CPU and only read identification
    // registers.
    #[allow(unused_unsafe)]
    let (vendor, signature) = unsafe { (__cpuid(0), __cpuid(1).eax) };
    // The vendor string is spread over ebx, edx, ecx.
    let vendor = [vendor.ebx, vendor.edx, vendor.ecx];
    let amd = vendor == [0x6874_7541, 0x6974_6e65, 0x444d_4163]; // "AuthenticAMD"
    let intel = vendor == [0x756e_6547, 0x4965_6e69, 0x6c65_746e]; // "GenuineIntel"
    let family = (signature >> 8) & 0xf;
    let model = ((signature >> 4) & 0xf) | ((signature >> 12) & 0xf0);
    // A base family of 0xf adds the extended family (AMD's 0x19 is 0xf + 0xa).
    let full_family = if family == 0xf {
        family + ((signature >> 20) & 0xff)
    } else {
        family
    };
    // Sapphire Rapids (0x8f), Emerald Rapids (0xcf), and any Intel core with AMX: only those
    // server cores and their successors have it, and a VM may report another model number
    // (sessions 51 and 52's host says 0xa7, a client core without AMX). See
    // `prefers_hardware_gather` and `avx512_sparse_prefetch`.
    let server_golden_cove =
        intel && family == 6 && (matches!(model, 0x8f | 0xcf) || amx::cpu_has_amx_bf16());
    let mut id = KNOWN;
    if amd {
        id |= AMD;
        if full_family == 0x19 && std::arch::is_x86_feature_detected!("avx512f") {
            id |= ZEN4;
        }
        if full_family == 0x17 && model < 0x30 {
            id |= ZEN1;
        }
    }
    if server_golden_cove {
        id |= FAST_GATHER | NEAR_SPARSE_PREFETCH;
    }
    id
}

/// Whether the CPU's bf16 pair-dot (`vdpbf16ps`) outruns widening to f32 and two FMA ports,
/// which decides `Avx512Bf16`'s default bf16 × bf16 GEMM kernel. It does on AMD's cores (Zen 5
/// in `lowp bench --only gemm`: 1.55-1.71x the FMA kernel; Zen 4 runs both on its two 256-bit
/// halves, the pair-dot doing twice the work per lane). On Intel's it issues once every two
/// cycles, half the FMA rate (`vdpbf16ps` zmm 0.45 per cycle against 1.8 `vfmadd231ps` on an
/// Emerald Rapids core, whose GEMM ran at 0.52-0.60x with it), so every other vendor keeps FMA.
/// The vendor, not a timing, decides: the two kernels round differently, and a timed choice
/// would let the machine's load change the bits.
pub(crate) fn prefers_bf16_pair_dot() -> bool {
    identity() & AMD != 0
}

/// Whether the `Avx2` stochastic kernels draw each chunk's random bits one chunk ahead, so
/// that the next chunk's generator overlaps this chunk's rounding. It paid on Zen 4 (ARS-5
/// f32 -> bf16 of 4096 elements: 1.18x). On Zen 1 the eight blocks held across the chunk
/// spilled round keys and blocks to the stack, and drawing each chunk's bits at its start ran
/// faster, with the same bits: ARS-5 f32 -> bf16 of 4096 elements 1.10x, f16 1.01-1.02x, the
/// fused update 1.02-1.06x, Philox f32 -> bf16 1.02-1.05x (alternated builds, the README's
/// session 43). The other cores are untimed without it, so they keep it.
pub(crate) fn draws_random_bits_ahead() -> bool {
    identity() & ZEN1 == 0
}

/// Whether the sparse dots load x with `vgatherdps` rather than one broadcast load per lane
/// (the same lanes, so the same bits). Only on the Intel cores where it was the faster:
/// Emerald Rapids, Sapphire Rapids (the same core generation), and the later Intel cores
/// with AMX: on sessions 51 and 52's host (an AMX Xeon whose VM reports model 0xa7),
/// `vgatherdps` delivered 2.64-2.68 elements a cycle against 3.0 broadcast loads
/// (`x86_load_ports`), and the CSR SpMV ran 1.33-1.39x faster with it, and with the nearer
/// prefetch, at 70-99 % sparsity, cache-resident (two alternated runs of each build of
/// `lowp bench --only sparse`, the README's session 52). Zen 5's gathers measured slower
/// than the broadcasts, and so did Zen 3's (0.71-0.76 elements a cycle against 1.60-1.93
/// broadcast loads in `x86_load_ports`, the README's session 46). Intel's cores
/// from Skylake to Tiger Lake run gathers through a microcode mitigation (Gather Data
/// Sampling) that makes them slower still.
pub(crate) fn prefers_hardware_gather() -> bool {
    identity() & FAST_GATHER != 0
}

/// How a kernel writes a full vector: plainly (unaligned) or streaming (aligned, bypasses
/// the cache). [`for_each_chunk_streaming`] picks it per chunk.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Store {
    Plain,
    Stream,
}

impl Store {
    /// # Safety
    /// `p` is valid for a 16-byte write, and 16-byte aligned when `self` is `Stream`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn m128(self, p: *mut __m128i, v: __m128i) {
        // SAFETY: per this function's contract.
        unsafe {
            match self {
                Store::Plain => _mm_storeu_si128(p, v),
                Store::Stream => _mm_stream_si128(p, v),
            }
        }
    }

    /// # Safety
    /// `p` is valid for a 32-byte write, and 32-byte aligned when `self` is `Stream`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn m256(self, p: *mut __m256i, v: __m256i) {
        // SAFETY: per this function's contract.
        unsafe {
            match self {
                Store::Plain => _mm256_storeu_si256(p, v),
                Store::Stream => _mm256_stream_si256(p, v),
            }
        }
    }

    /// # Safety
    /// `p` is valid for a 64-byte write, and 64-byte aligned when `self` is `Stream`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn m512(self, p: *mut __m512i, v: __m512i) {
        // SAFETY: per this function's contract.
        unsafe {
            match self {
                Store::Plain => _mm512_storeu_si512(p, v),
                Store::Stream => _mm512_stream_si512(p, v),
            }
        }
    }
}

/// `v` unchanged, held in a register: LLVM can no longer fold the instruction that made it
/// into the store that takes it. Zen 4 runs `vcvtps2ph` to memory much slower than the
/// register form plus a store (f32 -> f16 of 4096 elements: `Avx2` 84-86 -> 164-168 GB/s,
/// the AVX-512 tiers 154-167 -> 181-190).
#[inline]
#[cfg_attr(miri, allow(unused_mut))]
pub(crate) fn in_register_m128i(mut v: __m128i) -> __m128i {
    // SAFETY: the template is empty: it reads and writes `v`'s register and nothing else, no
    // memory, stack or flags. (Miri runs no `asm!`; there `v` just passes through.)
    #[cfg(not(miri))]
    unsafe {
        core::arch::asm!(
            "/* {0} */",
            inout(xmm_reg) v,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    v
}

/// [`in_register_m128i`] for a 256-bit vector.
#[inline]
#[target_feature(enable = "avx")]
#[cfg_attr(miri, allow(unused_mut))]
pub(crate) fn in_register_m256i(mut v: __m256i) -> __m256i {
    // SAFETY: as in `in_register_m128i`.
    #[cfg(not(miri))]
    unsafe {
        core::arch::asm!(
            "/* {0} */",
            inout(ymm_reg) v,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    v
}

/// [`for_each_chunk`] with the store policy: small outputs get `Store::Plain` chunks; outputs
/// of [`STREAM_MIN_BYTES`] or more get `edge` for the elements before the first 64-byte
/// boundary of `dst`, then `Store::Stream` chunks (each starting aligned to its width's bytes,
/// a multiple of its store size) with the source prefetched [`PREFETCH_BYTES`] ahead, then
/// `edge` again for the tail, then a store fence.
#[inline(always)]
pub(crate) fn for_each_chunk_streaming<S, D, const W: usize>(
    src: &[S],
    dst: &mut [D],
    mut body: impl FnMut(&[S; W], &mut [D; W], Store),
    mut edge: impl FnMut(&[S], &mut [D]),
) {
    let n = src.len().min(dst.len());
    if n * size_of::<D>() < STREAM_MIN_BYTES {
        for_each_chunk(src, dst, |s, d| body(s, d, Store::Plain), edge);
        return;
    }
    let head = dst.as_ptr().align_offset(64).min(n);
    let (src_head, src_rest) = src[..n].split_at(head);
    let (dst_head, dst_rest) = dst[..n].split_at_mut(head);
    edge(src_head, dst_head);
    let src_end = src_rest.as_ptr_range().end;
    let prefetched = |s: &[S; W], d: &mut [D; W]| {
        prefetch_ahead(s, src_end);
        body(s, d, Store::Stream)
    };
    for_each_chunk(src_rest, dst_rest, prefetched, &mut edge);
    // Order the weakly-ordered streaming stores before anything the caller does next.
    // SAFETY: SSE is part of the x86_64 baseline.
    unsafe { _mm_sfence() };
}

/// How many nonzeros ahead the sparse dots prefetch their indices and values (32 KiB of
/// indices). In A/B runs on Zen 5 (4096² bf16, cycled from DRAM): 1.15-1.19x at 90 % and 95 %
/// sparsity and no change cached; 4 KiB ahead had gained nothing from DRAM there and cost
/// 5-11 % cached, 16 KiB gained 1.09-1.13x, 64 KiB 1.13x. Short rows (99 %) gained nothing.
pub(crate) const SPARSE_PREFETCH_NONZEROS: usize = 8192;

/// How many pairs ahead the packed SpMV kernels (`sparse::PackedCsr`) prefetch theirs: 2 KiB
/// of byte offsets and 4 KiB of bf16 values in a windowed run, 8 KiB of indices in a gathered
/// one. On an Emerald Rapids core (4096² bf16, the bench's weights, `Hybrid`, two alternated
/// runs of `lowp bench --only sparse`), against [`SPARSE_PREFETCH_NONZEROS`]' 8192: from DRAM
/// 1.25-1.3x at 90 % sparsity, 1.45-1.5x at 99 %, 1.0-1.12x at 50-70 % and 95 %; cache-resident
/// 0.79-0.93 of a read at 90 % instead of 0.69-0.72. 8192 pairs of the two streams fill half
/// of this core's L1 or more with lines fetched too early, evicted before use.
pub(crate) const PACKED_PREFETCH_PAIRS: usize = 2048;

/// How far ahead the sparse kernels prefetch their matrix, in nonzeros (or packed pairs): into
/// L1 always, and also into L2 from further ahead on some cores.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SparsePrefetch {
    pub(crate) l1: usize,
    pub(crate) l2: Option<usize>,
    /// Entries that exist from the arrays' pointers given to [`SparsePrefetch::fetch`]: none
    /// past them is fetched ([`prefetch_at`]). `usize::MAX` until [`SparsePrefetch::starting_at`].
    pub(crate) room: usize,
}

impl SparsePrefetch {
    /// Prefetches the entries `at` + the distances of two arrays walked side by side, below
    /// [`SparsePrefetch::room`] when `BOUNDED`; the caller passes `false` only for a walk
    /// that [`SparsePrefetch::covers`].
    #[inline(always)]
    pub(crate) fn fetch<const BOUNDED: bool, I, V>(
        self,
        indices: *const I,
        values: *const V,
        at: usize,
    ) {
        self.fetch_both::<_MM_HINT_T0, BOUNDED, I, V>(indices, values, at + self.l1);
        if let Some(l2) = self.l2 {
            self.fetch_both::<_MM_HINT_T1, BOUNDED, I, V>(indices, values, at + l2);
        }
    }

    /// Prefetches entry `ahead` of both arrays with the hint `HINT`, below
    /// [`SparsePrefetch::room`] when `BOUNDED`.
    #[inline(always)]
    fn fetch_both<const HINT: i32, const BOUNDED: bool, I, V>(
        self,
        indices: *const I,
        values: *const V,
        ahead: usize,
    ) {
        if !BOUNDED || ahead < self.room {
            prefetch_line::<HINT, _>(indices, ahead);
            prefetch_line::<HINT, _>(values, ahead);
        }
    }

    /// Whether every fetch of a walk over `n` entries (at entries up to `n`, the last one
    /// for its tail) stays below [`SparsePrefetch::room`]: true of every row but those
    /// within the distances of the matrix's end, whose walks then need no check per fetch.
    #[inline(always)]
    pub(crate) fn covers(self, n: usize) -> bool {
        let farthest = self.l1.max(self.l2.unwrap_or(0));
        n.saturating_add(farthest) < self.room
    }

    /// This prefetch for a walk from the entry `start` of a matrix's `indices` and `values`
    /// (a row's first): it fetches nothing past the shorter of the two.
    #[inline(always)]
    pub(crate) fn starting_at(self, start: usize, indices: usize, values: usize) -> SparsePrefetch {
        SparsePrefetch {
            room: indices.min(values).saturating_sub(start),
            ..self
        }
    }
}

/// The `Avx2` dot's [`SparsePrefetch`] but on Zen 4 ([`avx2_dot_prefetch`]):
/// [`SPARSE_PREFETCH_NONZEROS`] into L1, the best of 1024, 4096, 8192 and 16384 on Zen 5.
pub(crate) const AVX2_SPARSE_PREFETCH: SparsePrefetch = SparsePrefetch {
    l1: SPARSE_PREFETCH_NONZEROS,
    l2: None,
    room: usize::MAX,
};

/// The [`SparsePrefetch`] of the `Avx2` dot (the `Avx2` tier's, and the AVX-512 tiers' for
/// rows under 64 nonzeros), and of the AVX-512 16-lane dots, but on Sapphire and Emerald
/// Rapids and the AMX cores ([`avx512_short_row_prefetch`], [`avx512_sparse_prefetch`]);
/// 4096² bf16, the bench's weights, alternated runs each time:
/// - Zen 4: 512 into L1 and 8192 into L2. Its L1 is 32 KiB, which 8192 nonzeros ahead of
///   indices and values (48 KiB) overrun. For the 16-lane dots against 8192 into L1, in two
///   alternated runs of `lowp bench --only sparse`: from DRAM 1.69-1.72x at 50 %, 1.36-1.37x
///   at 70 %, 1.15-1.25x at 90-95 %; cache-resident 1.0-1.6x (the 50 % and 70 % matrices
///   outgrow the L3 anyway); 512 into L1 alone gave about two thirds of that in throwaway
///   probes. For the short rows at 99 % (41 nonzeros), two more runs: from DRAM 1.24-1.31x,
///   cache-resident 0.96-0.98x in probes. The `Avx2` tier's dots, in two runs of
///   `LOWP_ISA=avx2 lowp bench --only sparse` on each setting: from DRAM 1.43-1.58x at 50 %,
///   1.25-1.33x at 70 %, 1.30-1.32x at 90 %, 1.06-1.29x at 95 %, 1.11-1.17x at 99 %;
///   cache-resident about 0.9x at 90-99 %.
/// - Elsewhere: [`AVX2_SPARSE_PREFETCH`].
pub(crate) fn avx2_dot_prefetch() -> SparsePrefetch {
    if identity() & ZEN4 != 0 {
        SparsePrefetch {
            l1: 512,
            l2: Some(SPARSE_PREFETCH_NONZEROS),
            room: usize::MAX,
        }
    } else {
        AVX2_SPARSE_PREFETCH
    }
}

/// The AVX-512 tiers' 16-lane sparse dots' [`SparsePrefetch`]: 2048 into L1 (8 KiB of
/// indices) on Sapphire and Emerald Rapids and the later AMX cores, [`avx2_dot_prefetch`]
/// elsewhere. On an Emerald Rapids core 2048 ran 1.07-1.5x faster than 8192 cache-resident
/// and 1.08-1.26x from DRAM at 50-95 % sparsity (three alternated runs); the `Avx2` dots,
/// forced there, ran 0.93-1.0x, so they keep 8192.
pub(crate) fn avx512_sparse_prefetch() -> SparsePrefetch {
    near_on_rapids(2048)
}

/// The AVX-512 tiers' [`SparsePrefetch`] for rows under 64 nonzeros (which take the `Avx2`
/// dot): 1024 nonzeros into L1 on Sapphire and Emerald Rapids and the later AMX cores,
/// [`avx2_dot_prefetch`] elsewhere. On an AMX core (the README's session 53; 4096² bf16 at
/// 99 % sparsity, 41 nonzeros a row, `lowp bench --only sparse`, alternated runs),
/// cache-resident: 8192 23.1-23.4 GB/s, 2048 23.4-24.2, 1024 25.0-25.6, 512 24.3-24.7; from
/// DRAM 1024 read at 13.0-14.0 GB/s against 12.2-12.8 with 8192.
pub(crate) fn avx512_short_row_prefetch() -> SparsePrefetch {
    near_on_rapids(1024)
}

/// `l1` nonzeros ahead into L1 on the cores [`NEAR_SPARSE_PREFETCH`] marks (Sapphire and
/// Emerald Rapids, the AMX cores), [`avx2_dot_prefetch`] elsewhere.
fn near_on_rapids(l1: usize) -> SparsePrefetch {
    if identity() & NEAR_SPARSE_PREFETCH != 0 {
        SparsePrefetch {
            l1,
            l2: None,
            room: usize::MAX,
        }
    } else {
        avx2_dot_prefetch()
    }
}

/// The windowed packed kernel's [`SparsePrefetch`], in pairs: [`PACKED_PREFETCH_PAIRS`] into
/// L1, and on Zen 4 also 8192 into L2. On Zen 4 (`Hybrid`, the bench's weights) the L2
/// prefetch ran 1.07-1.12x, 1.10-1.25x, 1.26-1.47x and 1.23-1.56x faster from DRAM at
/// 50/70/90/95 % sparsity in two alternated runs of `lowp bench --only sparse`, and 0.93-0.96x
/// cache-resident at 90-95 % in throwaway probes, where 4096 and 16384 did as well as 8192.
/// The gathered kernel, paced by this core's slow `vgatherdps`, ran 0.9-0.95x with it in the
/// probes and keeps [`PACKED_PREFETCH_PAIRS`] into L1 alone.
pub(crate) fn windowed_prefetch() -> SparsePrefetch {
    SparsePrefetch {
        l1: PACKED_PREFETCH_PAIRS,
        l2: (identity() & ZEN4 != 0).then_some(SPARSE_PREFETCH_NONZEROS),
        room: usize::MAX,
    }
}

/// Prefetches the cache line holding `p + ahead` (in elements), for a kernel that walks an
/// array in order from `p`, of which `room` elements exist: none past them. A prefetch never
/// faults, but one whose page is not mapped (past the end of an allocation, say) took 88 ns
/// on a Zen 1 core, each, one after another (a throwaway loop, `prefetcht0` and `prefetcht1`
/// alike, 0.6-1.1 ns on a page in use): `Avx2` f32 · bf16 dots of 4096 elements ran at 0.02
/// of a plain read, their L2 prefetch 32 KiB ahead falling past the vectors at every step.
#[inline(always)]
pub(crate) fn prefetch_at<T>(p: *const T, ahead: usize, room: usize) {
    if ahead < room {
        prefetch_line::<_MM_HINT_T0, _>(p, ahead);
    }
}

/// [`prefetch_at`] into L2 only (`prefetcht1`), for a line wanted well ahead of its use.
#[inline(always)]
pub(crate) fn prefetch_l2_at<T>(p: *const T, ahead: usize, room: usize) {
    if ahead < room {
        prefetch_line::<_MM_HINT_T1, _>(p, ahead);
    }
}

/// Prefetches the line holding `p + ahead` (in elements) with the hint `HINT`, unchecked:
/// [`prefetch_at`]'s caveat is the caller's to heed.
#[inline(always)]
fn prefetch_line<const HINT: i32, T>(p: *const T, ahead: usize) {
    // SAFETY: SSE is part of the x86_64 baseline; a prefetch never faults, and
    // `wrapping_add` keeps the address computation defined.
    unsafe { _mm_prefetch::<HINT>(p.wrapping_add(ahead).cast::<i8>()) };
}

/// Prefetches a packed SpMV chunk's step `p` [`PACKED_PREFETCH_PAIRS`] pairs ahead in its
/// `indices` (or offsets) and `values`, which run on to the arrays' ends ([`prefetch_at`]).
#[inline(always)]
pub(crate) fn prefetch_packed_step<I, V>(indices: &[I], values: &[V], p: usize) {
    let ahead = 16 * p + PACKED_PREFETCH_PAIRS;
    prefetch_at(indices.as_ptr(), ahead, indices.len());
    prefetch_at(values.as_ptr(), ahead, values.len());
}

/// Bytes from `chunk`'s start to `end` (an address at or past it): what [`prefetch_at`] may
/// fetch from there.
#[inline(always)]
fn room_to<T>(chunk: &[T], end: *const T) -> usize {
    (end as usize).saturating_sub(chunk.as_ptr() as usize)
}

/// Prefetches the bytes [`PREFETCH_BYTES`] past each cache line of `chunk`, for a kernel that
/// walks a large array in order, up to `end`, the array's end ([`prefetch_at`]).
#[inline(always)]
pub(crate) fn prefetch_ahead<T>(chunk: &[T], end: *const T) {
    let room = room_to(chunk, end);
    for line in (0..size_of_val(chunk)).step_by(64) {
        prefetch_at(chunk.as_ptr().cast::<u8>(), PREFETCH_BYTES + line, room);
    }
}

/// [`prefetch_ahead`], and [`DEEP_PREFETCH_BYTES`] ahead into L2, for a kernel that only reads
/// its stream.
#[inline(always)]
pub(crate) fn prefetch_read_ahead<T>(chunk: &[T], end: *const T) {
    let room = room_to(chunk, end);
    for line in (0..size_of_val(chunk)).step_by(64) {
        prefetch_at(chunk.as_ptr().cast::<u8>(), PREFETCH_BYTES + line, room);
        prefetch_l2_at(
            chunk.as_ptr().cast::<u8>(),
            DEEP_PREFETCH_BYTES + line,
            room,
        );
    }
}

/// Whether the AVX-512 GEMV row-pair kernels prefetch ahead ([`prefetch_pair_ahead`]): not on
/// Zen 4. There the pairs, which GEMV takes for W under 16 MiB (cached), ran faster without
/// it: bf16 1.16-1.17x at 256 KiB and 1.17-1.35x at 2-12 MiB, f16 1.13-1.36x, f32 1.08-1.11x at
/// 4-8 MiB (W of 64 × 2048 to 1536 × 4096, the two kernels alternated, medians of 11 rounds):
/// a prefetch per line of each row (four a step in bf16, eight in f32) took load slots the
/// step needs, and the hardware prefetchers keep up with two streams from the cache. The `Avx2` tier's bf16 kernel, bound by its
/// widening, ran at 0.93-1.16x without it there, so it keeps its prefetch.
pub(crate) fn prefetches_row_pairs() -> bool {
    identity() & ZEN4 == 0
}

/// Whether the public dot kernels (`fmac::dot_f16`, `fmac::dot_f32_bf16`; bf16 · bf16 never
/// prefetches) prefetch their second operand, of `bytes`, ahead as a GEMV row does
/// ([`prefetch_read_ahead`]): not when it is no longer than the distance (whatever that would
/// fetch lies past it), and not on Zen 4. There the prefetch cost load slots wherever the vectors sat: f32 · bf16 ran
/// 1.02-1.47x faster without it from 16 K elements on (in L2 and L3 1.1-1.47x, from DRAM
/// 1.12-1.15x, where it fetched one of two streams) and 0.97-1.03x in L1, both the `Avx2`
/// and the AVX-512 kernels; f16 · f16 1.0-1.05x (AVX-512, bound by its conversions) and
/// 1.02-1.33x (`Avx2`); lengths of 2 K to 64 M elements, the two variants alternated in one
/// process, medians of 7-9 rounds. GEMV's rows from memory (`row_*`) keep their prefetch:
/// without it 4096² bf16 to 16384 × 8192 read at 0.44-0.78 of a plain read against 0.65-0.85.
pub(crate) fn prefetches_dot(bytes: usize) -> bool {
    bytes > PREFETCH_BYTES && identity() & ZEN4 == 0
}

/// Whether the AVX-512 f16 · f16 dot widens its 64-element steps by 256-bit `vcvtph2ps`
/// into accumulator halves (the same bits): on Zen 4, whose 512-bit `vcvtph2ps` ran that dot
/// at 0.7x the `Avx2` tier's.
pub(crate) fn widens_f16_in_halves() -> bool {
    identity() & ZEN4 != 0
}

/// Prefetches [`PREFETCH_BYTES`] ahead for a kernel that walks two rows of a matrix side by
/// side (a GEMV row pair), `len` elements from `at`. Past a row's end it fetches the next
/// pair's rows, found from the distance between `r0` and `r1`: the head of the next pair's
/// second row is then in flight too (walking each row alone would fetch the head of the next
/// pair's first row twice and that of its second row not at all). When `BOUNDED`, nothing at
/// or past `end` (W's end) is fetched ([`prefetch_at`]); a pair whose prefetches all stay
/// before it ([`pair_prefetch_within`]) skips those checks, which cost a Zen 1 core 7 % in
/// an L2-resident GEMV (64 × 2048 bf16, `cargo run --release --example x86_page_end`).
#[inline(always)]
pub(crate) fn prefetch_pair_ahead<T, const BOUNDED: bool>(
    r0: &[T],
    r1: &[T],
    at: usize,
    len: usize,
    end: *const T,
) {
    let room = if BOUNDED {
        room_to(r0, end)
    } else {
        usize::MAX
    };
    let row_bytes = size_of_val(r0);
    let stride = (r1.as_ptr() as usize).wrapping_sub(r0.as_ptr() as usize);
    let base = r0.as_ptr().cast::<i8>();
    for line in (0..len * size_of::<T>()).step_by(64) {
        let ahead = at * size_of::<T>() + line + PREFETCH_BYTES;
        let (first, second) = if ahead < row_bytes {
            (ahead, stride.wrapping_add(ahead))
        } else {
            let past = ahead - row_bytes;
            (
                stride.wrapping_mul(2).wrapping_add(past),
                stride.wrapping_mul(3).wrapping_add(past),
            )
        };
        if BOUNDED {
            prefetch_at(base, first, room);
            prefetch_at(base, second, room);
        } else {
            // SAFETY: SSE is part of the x86_64 baseline; a prefetch never faults, and
            // `wrapping_add` keeps the address computation defined.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(first));
                _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(second));
            }
        }
    }
}

/// Whether every prefetch [`prefetch_pair_ahead`] makes for the rows `r0` and `r1` (each
/// `x.len()` long) lies before `end`: the farthest is under three row strides plus
/// [`PREFETCH_BYTES`] past `r0`.
#[inline(always)]
pub(crate) fn pair_prefetch_within<T>(r0: &[T], r1: &[T], end: *const T) -> bool {
    let stride = (r1.as_ptr() as usize).wrapping_sub(r0.as_ptr() as usize);
    stride
        .checked_mul(3)
        .and_then(|far| far.checked_add(PREFETCH_BYTES))
        .is_some_and(|far| far <= room_to(r0, end))
}

#[cfg(test)]
pub(crate) use crate::arch::{check_sr_against_reference, xorshift};

#[cfg(test)]
mod tests {
    use super::SparsePrefetch;

    #[test]
    fn a_walk_is_covered_only_while_its_farthest_fetch_stays_in_room() {
        let near = SparsePrefetch {
            l1: 512,
            l2: None,
            room: 1000,
        };
        assert!(near.covers(487));
        assert!(!near.covers(488));
        // The L2 distance is the farther one; the room counts from the walk's start.
        let far = SparsePrefetch {
            l2: Some(8192),
            ..near
        };
        assert!(far.starting_at(0, 9000, 9100).covers(807));
        assert!(!far.starting_at(0, 9000, 9100).covers(808));
        assert!(far.starting_at(100, 9100, 9000).covers(707));
        assert!(!far.starting_at(100, 9100, 9000).covers(708));
        assert!(!far.starting_at(9500, 9100, 9000).covers(0));
    }
}
