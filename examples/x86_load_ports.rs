//! How many loads per cycle this x86_64 core issues: independent 4-byte loads into vector
//! registers (`vbroadcastss`, what a sparse dot needs for every element of x it picks up) and
//! into integer registers, each against a chain of dependent integer adds (one per cycle) for
//! the clock. SpMV loads one x per nonzero, so the vector figure bounds its nonzeros per cycle
//! whatever the kernel (see the README's sparse figures).
//!
//! `cargo run --release --example x86_load_ports`

#[cfg(target_arch = "x86_64")]
#[path = "common/x86_clock.rs"]
mod x86_clock;

#[cfg(target_arch = "x86_64")]
mod probe {
    use std::arch::asm;
    use std::time::Instant;

    const ITERATIONS: u64 = 200_000_000;

    /// Loads per second: eight independent loads from distinct cache lines of `buf` per step.
    fn loads_per_second(vector: bool, buf: &[f32; 256]) -> f64 {
        let p = buf.as_ptr();
        let start = Instant::now();
        let mut n = ITERATIONS;
        if vector {
            // SAFETY: every load reads 4 bytes inside `buf` (offsets below 1024); the
            // registers written are declared clobbered.
            unsafe {
                asm!(
                    "2:",
                    "vbroadcastss ymm0, [{p}]", "vbroadcastss ymm1, [{p} + 68]",
                    "vbroadcastss ymm2, [{p} + 136]", "vbroadcastss ymm3, [{p} + 204]",
                    "vbroadcastss ymm4, [{p} + 272]", "vbroadcastss ymm5, [{p} + 340]",
                    "vbroadcastss ymm6, [{p} + 408]", "vbroadcastss ymm7, [{p} + 476]",
                    "dec {n}", "jnz 2b",
                    p = in(reg) p, n = inout(reg) n,
                    out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
                    out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
                    options(readonly, nostack),
                );
            }
        } else {
            // SAFETY: as above; integer registers this time.
            unsafe {
                asm!(
                    "2:",
                    "mov {a:e}, [{p}]", "mov {b:e}, [{p} + 68]",
                    "mov {c:e}, [{p} + 136]", "mov {d:e}, [{p} + 204]",
                    "mov {a:e}, [{p} + 272]", "mov {b:e}, [{p} + 340]",
                    "mov {c:e}, [{p} + 408]", "mov {d:e}, [{p} + 476]",
                    "dec {n}", "jnz 2b",
                    p = in(reg) p, n = inout(reg) n,
                    a = out(reg) _, b = out(reg) _, c = out(reg) _, d = out(reg) _,
                    options(readonly, nostack),
                );
            }
        }
        std::hint::black_box(n);
        8.0 * ITERATIONS as f64 / start.elapsed().as_secs_f64()
    }

    pub fn main() {
        if !std::arch::is_x86_feature_detected!("avx") {
            println!("this probe needs AVX (vbroadcastss ymm)");
            return;
        }
        let buf = [1.0f32; 256];
        let hz = super::x86_clock::cycles_per_second(ITERATIONS);
        println!("clock (dependent adds): {:.2} GHz", hz / 1e9);
        for (name, vector) in [
            ("vector (vbroadcastss)", true),
            ("integer (mov r32)", false),
        ] {
            // Best of three: the machine may be shared.
            let rate = (0..3)
                .map(|_| loads_per_second(vector, &buf))
                .fold(0.0, f64::max);
            println!(
                "{name}: {:.2} G loads/s = {:.2} per cycle",
                rate / 1e9,
                rate / hz
            );
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::main();
    #[cfg(not(target_arch = "x86_64"))]
    println!("this probe is for x86_64");
}
