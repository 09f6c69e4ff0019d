//! The core's clock, for the x86 probes in `examples/`: a chain of dependent integer adds runs
//! at one add per cycle, so adds per second are cycles per second.

use std::arch::asm;
use std::time::Instant;

/// Cycles per second, from `steps` steps of four dependent adds (4·`steps` cycles).
pub fn cycles_per_second(steps: u64) -> f64 {
    let start = Instant::now();
    let (mut n, mut x) = (steps, 0u64);
    // SAFETY: register arithmetic only, on the two operands given.
    unsafe {
        asm!(
            "2:",
            "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
            "dec {n}", "jnz 2b",
            n = inout(reg) n, x = inout(reg) x,
            options(nomem, nostack),
        );
    }
    std::hint::black_box((n, x));
    4.0 * steps as f64 / start.elapsed().as_secs_f64()
}
