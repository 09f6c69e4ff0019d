//! The core's clock, for the x86 probes in `examples/`: a chain of dependent 64-bit `imul`s
//! runs at one every three cycles on every x86 core lowp has met (Intel since Nehalem, AMD
//! since Zen). A chain of dependent adds would not do: Intel's Golden Cove cores (Sapphire
//! and Emerald Rapids) fold `add reg, imm` chains at renaming, and ran one at 3.95 "GHz" on a
//! 2.95 GHz core.

use std::arch::asm;
use std::time::Instant;

/// Cycles per second, from `steps` steps of four dependent multiplies (12·`steps` cycles).
pub fn cycles_per_second(steps: u64) -> f64 {
    let start = Instant::now();
    let (mut n, mut x) = (steps, 3u64);
    // SAFETY: register arithmetic only, on the two operands given.
    unsafe {
        asm!(
            "2:",
            "imul {x}, {x}", "imul {x}, {x}", "imul {x}, {x}", "imul {x}, {x}",
            "dec {n}", "jnz 2b",
            n = inout(reg) n, x = inout(reg) x,
            options(nomem, nostack),
        );
    }
    std::hint::black_box((n, x));
    12.0 * steps as f64 / start.elapsed().as_secs_f64()
}
