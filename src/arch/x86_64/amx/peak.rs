//! The tier's multiply-add peak: `tdpbf16ps` on operands that stay in tile registers.

use core::arch::asm;

use super::TileConfig;
use crate::backend::PeakRun;

/// Four 16 × 16 f32 accumulators, two A tiles of 16 rows × 16 k-pairs, two B tiles of 16
/// k-pairs × 16 columns.
static CONFIG: TileConfig = TileConfig::rows([16; 8]);

/// Four independent 16 × 16 × 32 tile products per iteration (2·16·16·32 flops each), on
/// operands loaded once: what the tile unit sustains without memory.
///
/// # Safety
/// The CPU supports the `Amx` tier.
pub(super) unsafe fn tile_peak(iterations: u64) -> PeakRun {
    // Every bf16 is 1.0 (0x3f80), so each accumulator lane ends at 32 · 4·iterations / 4.
    let ones = [0x3f80_3f80u32; 16 * 16];
    let mut out = [0f32; 16 * 16];
    // SAFETY: the caller guarantees the tier; `ones` holds 16 rows of 64 bytes (stride 64),
    // and `out` 16 rows of 16 f32 for the one store.
    unsafe {
        asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, readonly));
        asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "tilezero tmm3",
            "tileloadd tmm4, [{p} + {s}*1]",
            "tileloadd tmm5, [{p} + {s}*1]",
            "tileloadd tmm6, [{p} + {s}*1]",
            "tileloadd tmm7, [{p} + {s}*1]",
            p = in(reg) ones.as_ptr(),
            s = in(reg) 64usize,
            options(nostack, readonly),
        );
        for _ in 0..iterations {
            asm!(
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                options(nostack, nomem),
            );
        }
        asm!(
            "tilestored [{p} + {s}*1], tmm0",
            "tilerelease",
            p = in(reg) out.as_mut_ptr(),
            s = in(reg) 64usize,
            options(nostack),
        );
    }
    PeakRun {
        flops: iterations * 4 * 2 * 16 * 16 * 32,
        sink: out[0],
    }
}
