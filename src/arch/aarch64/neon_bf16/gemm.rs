//! The bf16 × bf16 GEMM micro-kernel on `BFMMLA`: the `Neon` tile (8 × 8, same B panels) as
//! sixteen 2 × 2 blocks, each a q-register that one `BFMMLA` per four steps of k updates with
//! a 2 × 4 block of A times a 4 × 2 block of B.
//!
//! Per four steps: A's packed f32 rows (bf16 values, exact) are narrowed back to bf16 by
//! keeping their high halves and transposed into row pairs; B's four rows of eight bf16 into
//! column pairs; then sixteen `BFMMLA`. `BFMMLA` rounds to odd and flushes subnormals (see
//! `GemmKernels::bf16_bf16` for when the driver may run it).

use core::arch::aarch64::*;
use core::arch::asm;

use half::bf16;

use crate::arch::aarch64::neon::gemm::GEMM as NEON;
use crate::arch::check_tile;
use crate::backend::GemmKernels;

const MR: usize = 8;
const NR: usize = 8;

pub(super) const GEMM: GemmKernels = GemmKernels {
    bf16_bf16: Some(micro),
    ..NEON
};

/// `acc += a · bᵀ` for the 2 × 4 bf16 block `a` (rows in the 64-bit halves) and the 4 × 2
/// block whose columns are `b`'s halves: `acc = [c00, c01, c10, c11]`.
///
/// # Safety
/// The CPU has bf16.
#[inline]
#[target_feature(enable = "neon,bf16")]
unsafe fn bfmmla(acc: float32x4_t, a: uint16x8_t, b: uint16x8_t) -> float32x4_t {
    let mut acc = acc;
    // SAFETY: register-only; the caller guarantees the instruction exists.
    unsafe {
        asm!(
            "bfmmla {acc:v}.4s, {a:v}.8h, {b:v}.8h",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// Four steps of k (`steps` of them real, the rest zero) as `BFMMLA` operands: A's row pairs
/// (0,1), (2,3), (4,5), (6,7) and B's column pairs likewise, each four k values per row or
/// column.
///
/// # Safety
/// `a` holds `steps · MR` f32 and `b` `steps · NR` bf16, `steps <= 4`.
#[inline(always)]
unsafe fn operands(
    a: *const f32,
    b: *const bf16,
    steps: usize,
) -> ([uint16x8_t; 4], [uint16x8_t; 4]) {
    // SAFETY: per the function's contract, every load is inside the first `steps` rows.
    unsafe {
        let zero = vdupq_n_u16(0);
        // Row p of A's panel (eight rows' values at step p) as bf16: the odd 16-bit halves.
        let a_step = |p: usize| {
            if p < steps {
                let lo = vreinterpretq_u16_f32(vld1q_f32(a.add(p * MR)));
                let hi = vreinterpretq_u16_f32(vld1q_f32(a.add(p * MR + 4)));
                vuzp2q_u16(lo, hi)
            } else {
                zero
            }
        };
        let b_step = |p: usize| {
            if p < steps {
                vld1q_u16(b.add(p * NR).cast())
            } else {
                zero
            }
        };
        // Two 4 × 8 transposes: zipping steps (0,1) and (2,3) pairs each row's (or column's)
        // values per two steps into 32-bit words; zipping those words gives four steps.
        let quads = |s0: uint16x8_t, s1: uint16x8_t, s2: uint16x8_t, s3: uint16x8_t| {
            let (p01, p23) = (vzip1q_u16(s0, s1), vzip1q_u16(s2, s3));
            let (q01, q23) = (vzip2q_u16(s0, s1), vzip2q_u16(s2, s3));
            let w = vreinterpretq_u32_u16;
            let r = vreinterpretq_u16_u32;
            [
                r(vzip1q_u32(w(p01), w(p23))),
                r(vzip2q_u32(w(p01), w(p23))),
                r(vzip1q_u32(w(q01), w(q23))),
                r(vzip2q_u32(w(q01), w(q23))),
            ]
        };
        (
            quads(a_step(0), a_step(1), a_step(2), a_step(3)),
            quads(b_step(0), b_step(1), b_step(2), b_step(3)),
        )
    }
}

/// Sixteen `BFMMLA`s: four steps of k (`steps` real) into the tile.
///
/// # Safety
/// As [`operands`]; the CPU has bf16. Inlined into [`micro`], so it runs with its features.
#[inline(always)]
unsafe fn four_steps(t: &mut [[float32x4_t; 4]; 4], a: *const f32, b: *const bf16, steps: usize) {
    // SAFETY: per the function's contract.
    unsafe {
        let (rows, cols) = operands(a, b, steps);
        for (blocks, &row) in t.iter_mut().zip(&rows) {
            for (block, &col) in blocks.iter_mut().zip(&cols) {
                *block = bfmmla(*block, row, col);
            }
        }
    }
}

#[target_feature(enable = "neon,bf16")]
unsafe fn micro(kc: usize, a: &[f32], b: &[bf16], acc: &mut [f32], accumulate: bool) {
    check_tile(MR, NR, kc, a, b, acc);
    // SAFETY: the caller guarantees bf16 (the `NeonBf16` tier); the check above keeps every
    // load below `kc * MR` of `a`, `kc * NR` of `b` and `MR * NR` of `acc`.
    unsafe {
        // t[r][c]: rows 2r, 2r+1 × columns 2c, 2c+1, as [c00, c01, c10, c11].
        let mut t = [[vdupq_n_f32(0.0); 4]; 4];
        let f64s = vreinterpretq_f64_f32;
        let f32s = vreinterpretq_f32_f64;
        if accumulate {
            for (r, blocks) in t.iter_mut().enumerate() {
                for h in 0..2 {
                    let top = f64s(vld1q_f32(acc.as_ptr().add(2 * r * NR + 4 * h)));
                    let bottom = f64s(vld1q_f32(acc.as_ptr().add((2 * r + 1) * NR + 4 * h)));
                    blocks[2 * h] = f32s(vzip1q_f64(top, bottom));
                    blocks[2 * h + 1] = f32s(vzip2q_f64(top, bottom));
                }
            }
        }
        let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
        for _ in 0..kc / 4 {
            four_steps(&mut t, pa, pb, 4);
            pa = pa.add(4 * MR);
            pb = pb.add(4 * NR);
        }
        let rest = kc % 4;
        if rest > 0 {
            four_steps(&mut t, pa, pb, rest);
        }
        for (r, blocks) in t.iter().enumerate() {
            for h in 0..2 {
                let (left, right) = (f64s(blocks[2 * h]), f64s(blocks[2 * h + 1]));
                vst1q_f32(
                    acc.as_mut_ptr().add(2 * r * NR + 4 * h),
                    f32s(vzip1q_f64(left, right)),
                );
                vst1q_f32(
                    acc.as_mut_ptr().add((2 * r + 1) * NR + 4 * h),
                    f32s(vzip2q_f64(left, right)),
                );
            }
        }
    }
}
