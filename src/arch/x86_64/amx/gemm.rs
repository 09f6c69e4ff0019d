//! The bf16 × bf16 GEMM on AMX tiles, and the `Avx512` kernel shape (12 × 32) reading the
//! tiles' B layout for everything else.
//!
//! A tile of C is 12 rows × 32 columns, two accumulator tiles of 12 × 16 f32; two panels of
//! A run at once (`bf16_bf16_x2`), four accumulator tiles, so that each A and B tile loaded
//! is used twice (8 tile registers allow no more). Tile rows straddling two cache lines load
//! about seven times slower than aligned ones (the README's session 51): the driver's
//! workspace and packed B start on lines, and A's rows are laid out on them. Per step of
//! 32 values of k: A's rows as 16 k-pairs each (`APanel::RowPairs`), B as 16 rows of k-pairs
//! (`Bf16Panel::KPairs`), then `tdpbf16ps`, which adds each element's products pair by pair
//! (flushing subnormal inputs and results to zero, rounding to nearest even): see
//! `GemmKernels::bf16_bf16` for when the driver may run it. A depth block whose k is not a
//! multiple of 32 ends with a step from zero-padded copies.

use core::arch::asm;
use core::arch::x86_64::*;

use half::bf16;

use super::super::avx512::gemm::{load_tile, store_tile, GEMM as AVX512, MR, NR};
use super::TileConfig;
use crate::arch::check_tile;
use crate::backend::{APanel, Bf16Panel, GemmKernels};

pub(super) const GEMM: GemmKernels = GemmKernels {
    bf16: Some(micro_bf16),
    bf16_panel: Bf16Panel::KPairs,
    bf16_bf16: Some(tiles_x1),
    bf16_bf16_x2: Some(tiles_x2),
    bf16_bf16_a: APanel::RowPairs,
    bf16_bf16_done: Some(release),
    ..AVX512
};

/// k-pairs per tile step (64 bytes of a tile row).
const PAIRS: usize = 16;

/// The tiles: tmm0-3 the accumulators (`MR` rows of 16 f32), tmm4-5 A (`MR` rows of 16
/// k-pairs), tmm6-7 B (16 rows of k-pairs of 16 columns).
static CONFIG: TileConfig = TileConfig::rows([MR, MR, MR, MR, MR, MR, PAIRS, PAIRS]);

/// One tile step: `C[d][h] += A[d] · B[h]` for the `PANELS` row tiles `d` and the two column
/// tiles `h`. A's tiles from `a[d]` (rows `stride_a` bytes apart), B's from `b` (pair rows of
/// `NR` words, 128 bytes apart; column tile `h` from word 16h).
///
/// # Safety
/// The tiles are configured by [`CONFIG`], and each address is valid for the tile it loads.
#[inline(always)]
unsafe fn step<const PANELS: usize>(a: [*const u32; 2], stride_a: usize, b: *const u32) {
    // SAFETY: per the function's contract.
    unsafe {
        if PANELS == 2 {
            asm!(
                "tileloadd tmm4, [{a0} + {sa}*1]",
                "tileloadd tmm6, [{b} + {sb}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tileloadd tmm7, [{b} + {sb}*1 + 64]",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tileloadd tmm5, [{a1} + {sa}*1]",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                a0 = in(reg) a[0],
                a1 = in(reg) a[1],
                sa = in(reg) stride_a,
                b = in(reg) b,
                sb = in(reg) 4 * NR,
                options(nostack, readonly),
            );
        } else {
            asm!(
                "tileloadd tmm4, [{a0} + {sa}*1]",
                "tileloadd tmm6, [{b} + {sb}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tileloadd tmm7, [{b} + {sb}*1 + 64]",
                "tdpbf16ps tmm1, tmm4, tmm7",
                a0 = in(reg) a[0],
                sa = in(reg) stride_a,
                b = in(reg) b,
                sb = in(reg) 4 * NR,
                options(nostack, readonly),
            );
        }
    }
}

/// `PANELS` tiles of `MR × NR` (see the module docs and `MicroKernel`).
///
/// # Safety
/// The CPU supports the `Amx` tier (tiles, bf16, and the OS's permission).
#[inline(always)]
unsafe fn tiles<const PANELS: usize>(
    kc: usize,
    a: &[f32],
    b: &[bf16],
    acc: &mut [f32],
    accumulate: bool,
) {
    check_tile(PANELS * MR, NR, kc, a, b, acc);
    let pairs = kc.div_ceil(2);
    let full = kc / (2 * PAIRS);
    let row_bytes = 4 * APanel::row_words(kc);
    // Each panel's A (the first twice for one panel), and accumulator tile (d, h) at row
    // `d·MR`, column 16h of `acc`.
    let last_panel = a[(PANELS - 1) * MR * kc..].as_ptr();
    let a_panels: [*const u32; 2] = [a.as_ptr().cast(), last_panel.cast()];
    let c = acc.as_mut_ptr();
    let c_tile = [[0, 16], [MR * NR, MR * NR + 16]];
    // SAFETY: the caller guarantees the tier, so the tile instructions run. The check above
    // gives `PANELS * MR * kc` f32 of `a`, `kc * NR` bf16 of `b` and `PANELS * MR * NR` of
    // `acc`: accumulator tile (d, h) covers rows `d·MR..(d + 1)·MR` (64 bytes from column
    // 16h, rows 128 bytes apart) of `acc`; full step `s` reads words `16s..16s + 16` of
    // each A row (rows `row_words(kc)` words apart, the last ending inside the panel's
    // `MR * kc` words; `16·full <= kc/2`) and pair rows `16s..16s + 16` of B (each 32 words,
    // `16·full <= kc/2` whole pairs); the last step reads the stack copies, whole.
    unsafe {
        configure();
        if accumulate {
            asm!(
                "tileloadd tmm0, [{c0} + {s}*1]",
                "tileloadd tmm1, [{c1} + {s}*1]",
                c0 = in(reg) c.add(c_tile[0][0]),
                c1 = in(reg) c.add(c_tile[0][1]),
                s = in(reg) 4 * NR,
                options(nostack, readonly),
            );
            if PANELS == 2 {
                asm!(
                    "tileloadd tmm2, [{c0} + {s}*1]",
                    "tileloadd tmm3, [{c1} + {s}*1]",
                    c0 = in(reg) c.add(c_tile[1][0]),
                    c1 = in(reg) c.add(c_tile[1][1]),
                    s = in(reg) 4 * NR,
                    options(nostack, readonly),
                );
            }
        } else {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            );
        }
        let b_words = b.as_ptr().cast::<u32>();
        for s in 0..full {
            let a_at = [a_panels[0].add(PAIRS * s), a_panels[1].add(PAIRS * s)];
            step::<PANELS>(a_at, row_bytes, b_words.add(s * PAIRS * NR));
        }
        if PAIRS * full < pairs {
            let Rest {
                a: a_rest,
                b: b_rest,
            } = last_step::<PANELS>(kc, a, b, PAIRS * full);
            let a_at = [
                a_rest[0].as_ptr(),
                a_rest[MR.min((PANELS - 1) * MR)].as_ptr(),
            ];
            step::<PANELS>(a_at, 4 * PAIRS, b_rest.as_ptr().cast());
        }
        asm!(
            "tilestored [{c0} + {s}*1], tmm0",
            "tilestored [{c1} + {s}*1], tmm1",
            c0 = in(reg) c.add(c_tile[0][0]),
            c1 = in(reg) c.add(c_tile[0][1]),
            s = in(reg) 4 * NR,
            options(nostack),
        );
        if PANELS == 2 {
            asm!(
                "tilestored [{c0} + {s}*1], tmm2",
                "tilestored [{c1} + {s}*1], tmm3",
                c0 = in(reg) c.add(c_tile[1][0]),
                c1 = in(reg) c.add(c_tile[1][1]),
                s = in(reg) 4 * NR,
                options(nostack),
            );
        }
    }
}

/// Loads [`CONFIG`] unless the tiles already have it (from this task's previous call):
/// `ldtilecfg` stalls for about a tenth of a whole call, `sttilecfg` reads the current
/// configuration in a tenth of its time (the README's session 51: 2048³ went from 574 to
/// 667 GFLOP/s).
///
/// # Safety
/// The CPU supports the `Amx` tier.
#[inline(always)]
unsafe fn configure() {
    let mut current = TileConfig::rows([0; 8]);
    // SAFETY: the caller guarantees the tier; both instructions touch only the 64 bytes of
    // the configuration given.
    unsafe {
        asm!("sttilecfg [{}]", in(reg) &mut current, options(nostack));
        if current.0 != CONFIG.0 {
            asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, readonly));
        }
    }
}

/// `GemmKernels::bf16_bf16_done`: the tiles back to their init state, so that no tile data
/// is left for context switches to save and the next user configures afresh.
///
/// # Safety
/// The CPU supports the `Amx` tier.
unsafe fn release() {
    // SAFETY: the caller guarantees the tier; `tilerelease` touches no memory.
    unsafe { asm!("tilerelease", options(nostack, nomem)) };
}

/// A last, partial step's tiles, zero-padded, on cache lines (see [`last_step`]).
#[repr(C, align(64))]
struct Rest {
    a: [[u32; PAIRS]; 2 * MR],
    b: [[u32; NR]; PAIRS],
}

/// The pairs from `q0` on (at most [`PAIRS`]) of each A row and of B, zero-padded to a whole
/// step: A's rows 16 words each (panel `d`'s from row `d·MR`), B's pair rows 32 words each
/// (an odd `kc`'s last row, in order in the panel, becomes pairs with a zero high half).
#[inline(always)]
fn last_step<const PANELS: usize>(kc: usize, a: &[f32], b: &[bf16], q0: usize) -> Rest {
    let (pairs, stride) = (kc.div_ceil(2), APanel::row_words(kc));
    let mut a_rest = [[0u32; PAIRS]; 2 * MR];
    for (r, row) in a_rest.iter_mut().enumerate().take(PANELS * MR) {
        let (d, i) = (r / MR, r % MR);
        let words = &a[d * MR * kc + i * stride..][q0..pairs];
        for (w, v) in row.iter_mut().zip(words) {
            *w = v.to_bits();
        }
    }
    let mut b_rest = [[0u32; NR]; PAIRS];
    for (q, row) in (q0..pairs).zip(b_rest.iter_mut()) {
        for (j, w) in row.iter_mut().enumerate() {
            let p = 2 * q;
            let low = b[Bf16Panel::KPairs.position(p, j, kc, NR)].to_bits();
            let high = if p + 1 < kc {
                b[Bf16Panel::KPairs.position(p + 1, j, kc, NR)].to_bits()
            } else {
                0
            };
            *w = u32::from(high) << 16 | u32::from(low);
        }
    }
    Rest {
        a: a_rest,
        b: b_rest,
    }
}

/// One panel of A (`bf16_bf16`).
unsafe fn tiles_x1(kc: usize, a: &[f32], b: &[bf16], acc: &mut [f32], accumulate: bool) {
    // SAFETY: the caller guarantees the `Amx` tier.
    unsafe { tiles::<1>(kc, a, b, acc, accumulate) }
}

/// Two panels of A (`bf16_bf16_x2`).
unsafe fn tiles_x2(kc: usize, a: &[f32], b: &[bf16], acc: &mut [f32], accumulate: bool) {
    // SAFETY: the caller guarantees the `Amx` tier.
    unsafe { tiles::<2>(kc, a, b, acc, accumulate) }
}

/// `acc = (accumulate ? acc : 0) + Σ_p a[p·MR + i] · b[p][j]` in `p` order with one FMA each:
/// `Avx512`'s kernel and bits, with B in k-pairs: a word holds column `j` of two steps, so
/// a shift widens step `2q`'s row and an AND step `2q + 1`'s.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn micro_bf16(kc: usize, a: &[f32], b: &[bf16], acc: &mut [f32], accumulate: bool) {
    check_tile(MR, NR, kc, a, b, acc);
    // SAFETY: the caller guarantees the tier (avx512f/bw/dq/vl); the check above keeps every
    // load below `kc * MR` of `a`, `kc * NR` of `b` (a pair row is 2·NR bf16, the odd last
    // row NR) and `MR * NR` of `acc`.
    unsafe {
        let mut t = load_tile(acc, accumulate);
        let high = _mm512_set1_epi32(0xffff_0000u32 as i32);
        let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
        for _ in 0..kc / 2 {
            let w0 = _mm512_loadu_si512(pb.cast());
            let w1 = _mm512_loadu_si512(pb.add(NR).cast());
            let even = [_mm512_slli_epi32::<16>(w0), _mm512_slli_epi32::<16>(w1)];
            let odd = [_mm512_and_si512(w0, high), _mm512_and_si512(w1, high)];
            fma_step(&mut t, pa, even);
            fma_step(&mut t, pa.add(MR), odd);
            pa = pa.add(2 * MR);
            pb = pb.add(2 * NR);
        }
        if kc % 2 == 1 {
            let w = _mm512_loadu_si512(pb.cast());
            let low = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(w));
            let high = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(w));
            let row = [_mm512_slli_epi32::<16>(low), _mm512_slli_epi32::<16>(high)];
            fma_step(&mut t, pa, row);
        }
        store_tile(&t, acc);
    }
}

/// `t[i] += a[i] · row` for the tile's `MR` rows (one FMA per vector), `row` given as the
/// f32 bits of its two vectors.
///
/// # Safety
/// `a` is valid for reading `MR` f32, and the CPU has avx512f.
#[inline(always)]
unsafe fn fma_step(t: &mut [[__m512; 2]; MR], a: *const f32, row: [__m512i; 2]) {
    for (i, acc) in t.iter_mut().enumerate() {
        // SAFETY: per the function's contract.
        unsafe {
            let row = [_mm512_castsi512_ps(row[0]), _mm512_castsi512_ps(row[1])];
            let ai = _mm512_set1_ps(*a.add(i));
            acc[0] = _mm512_fmadd_ps(ai, row[0], acc[0]);
            acc[1] = _mm512_fmadd_ps(ai, row[1], acc[1]);
        }
    }
}
