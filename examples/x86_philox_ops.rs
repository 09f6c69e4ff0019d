//! How many of Philox's vector operations this x86_64 core issues per cycle: `vpmuludq`,
//! `vpsrlq` and `vpternlogd` on zmm registers, each alone (eight independent instructions per
//! step) and in a Philox round's 1:1:1 mix (six per step), against a chain of dependent
//! `imul`s (one per three cycles) for the clock. A Philox4x32-10 round on eight blocks is two of each, so the mix's rate bounds
//! how fast any kernel can draw the random bits of stochastic rounding (see the README's
//! stochastic figures).
//!
//! `cargo run --release --example x86_philox_ops`

#[cfg(target_arch = "x86_64")]
#[path = "common/x86_clock.rs"]
mod x86_clock;

#[cfg(target_arch = "x86_64")]
mod probe {
    use std::arch::asm;
    use std::time::Instant;

    const ITERATIONS: u64 = 100_000_000;

    /// `$count` independent zmm instructions per step (`$ops`, one per line), results unused.
    macro_rules! ops_per_second {
        ($count:literal, $ops:literal) => {{
            let start = Instant::now();
            let mut n = ITERATIONS;
            // SAFETY: register arithmetic only; every zmm register written is declared
            // clobbered, and zmm8/zmm9 are zeroed before use.
            unsafe {
                asm!(
                    "vpxord zmm8, zmm8, zmm8",
                    "vpxord zmm9, zmm9, zmm9",
                    "2:",
                    $ops,
                    "dec {n}", "jnz 2b",
                    n = inout(reg) n,
                    out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
                    out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
                    out("zmm8") _, out("zmm9") _,
                    options(nomem, nostack),
                );
            }
            std::hint::black_box(n);
            $count as f64 * ITERATIONS as f64 / start.elapsed().as_secs_f64()
        }};
    }

    /// Best of three (the machine may be shared), in operations per second.
    fn best(f: impl Fn() -> f64) -> f64 {
        (0..3).map(|_| f()).fold(0.0, f64::max)
    }

    pub fn main() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            println!("this probe needs AVX-512F (zmm registers, vpternlogd)");
            return;
        }
        let hz = super::x86_clock::cycles_per_second(ITERATIONS);
        println!("clock (dependent imuls): {:.2} GHz", hz / 1e9);
        let rates = [
            (
                "vpmuludq",
                best(|| {
                    ops_per_second!(
                        8,
                        "vpmuludq zmm0, zmm8, zmm9
                 vpmuludq zmm1, zmm8, zmm9
                 vpmuludq zmm2, zmm8, zmm9
                 vpmuludq zmm3, zmm8, zmm9
                 vpmuludq zmm4, zmm8, zmm9
                 vpmuludq zmm5, zmm8, zmm9
                 vpmuludq zmm6, zmm8, zmm9
                 vpmuludq zmm7, zmm8, zmm9"
                    )
                }),
            ),
            (
                "vpsrlq",
                best(|| {
                    ops_per_second!(
                        8,
                        "vpsrlq zmm0, zmm8, 32
                 vpsrlq zmm1, zmm8, 32
                 vpsrlq zmm2, zmm8, 32
                 vpsrlq zmm3, zmm8, 32
                 vpsrlq zmm4, zmm8, 32
                 vpsrlq zmm5, zmm8, 32
                 vpsrlq zmm6, zmm8, 32
                 vpsrlq zmm7, zmm8, 32"
                    )
                }),
            ),
            (
                "vpternlogd",
                best(|| {
                    ops_per_second!(
                        8,
                        "vpternlogd zmm0, zmm8, zmm9, 0x96
                 vpternlogd zmm1, zmm8, zmm9, 0x96
                 vpternlogd zmm2, zmm8, zmm9, 0x96
                 vpternlogd zmm3, zmm8, zmm9, 0x96
                 vpternlogd zmm4, zmm8, zmm9, 0x96
                 vpternlogd zmm5, zmm8, zmm9, 0x96
                 vpternlogd zmm6, zmm8, zmm9, 0x96
                 vpternlogd zmm7, zmm8, zmm9, 0x96"
                    )
                }),
            ),
            (
                "mix (as a round: 2 mul, 2 shift, 2 ternlog)",
                best(|| {
                    ops_per_second!(
                        6,
                        "vpmuludq zmm0, zmm8, zmm9
                 vpsrlq zmm1, zmm8, 32
                 vpternlogd zmm2, zmm8, zmm9, 0x96
                 vpmuludq zmm3, zmm8, zmm9
                 vpsrlq zmm4, zmm8, 32
                 vpternlogd zmm5, zmm8, zmm9, 0x96"
                    )
                }),
            ),
        ];
        for (name, rate) in rates {
            println!("{name}: {:.2} per cycle", rate / hz);
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::main();
    #[cfg(not(target_arch = "x86_64"))]
    println!("this probe is for x86_64");
}
