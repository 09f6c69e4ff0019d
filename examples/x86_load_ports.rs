//! How many loads per cycle this x86_64 core issues: independent 4-byte loads into vector
//! registers (`vbroadcastss`, what a sparse dot needs for every element of x it picks up) and
//! into integer registers, and the elements per cycle of independent `vgatherdps` (8 and 16
//! lanes), each against a chain of dependent `imul`s (one per three cycles) for the clock.
//! SpMV loads one x per nonzero, so these figures bound its nonzeros per cycle whatever the
//! kernel (see the README's sparse figures).
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

    /// Elements per second: four independent gathers of `lanes` (8 or 16) elements per step,
    /// at indices spread over `buf`.
    fn gathered_per_second(lanes: usize, buf: &[f32; 256]) -> f64 {
        let p = buf.as_ptr();
        let indices: [i32; 16] = core::array::from_fn(|i| (i as i32 * 37) % 256);
        let steps = ITERATIONS / 8;
        let start = Instant::now();
        let mut n = steps;
        if lanes == 8 {
            // SAFETY: every gathered element is `buf[indices[i]]`, inside `buf`; ymm8 holds
            // the indices; each gather's mask (all ones) is set right before it, and every
            // register written is declared clobbered.
            unsafe {
                asm!(
                    "vmovdqu ymm8, [{i}]",
                    "2:",
                    "vpcmpeqd ymm4, ymm4, ymm4", "vgatherdps ymm0, [{p} + ymm8 * 4], ymm4",
                    "vpcmpeqd ymm5, ymm5, ymm5", "vgatherdps ymm1, [{p} + ymm8 * 4], ymm5",
                    "vpcmpeqd ymm6, ymm6, ymm6", "vgatherdps ymm2, [{p} + ymm8 * 4], ymm6",
                    "vpcmpeqd ymm7, ymm7, ymm7", "vgatherdps ymm3, [{p} + ymm8 * 4], ymm7",
                    "dec {n}", "jnz 2b",
                    p = in(reg) p, i = in(reg) indices.as_ptr(), n = inout(reg) n,
                    out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
                    out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
                    out("ymm8") _,
                    options(readonly, nostack),
                );
            }
        } else {
            // SAFETY: as above, with zmm8 holding the sixteen indices and k1-k4 the masks.
            unsafe {
                asm!(
                    "vmovdqu32 zmm8, [{i}]",
                    "2:",
                    "kxnorw k1, k1, k1", "vgatherdps zmm0{{k1}}, [{p} + zmm8 * 4]",
                    "kxnorw k2, k2, k2", "vgatherdps zmm1{{k2}}, [{p} + zmm8 * 4]",
                    "kxnorw k3, k3, k3", "vgatherdps zmm2{{k3}}, [{p} + zmm8 * 4]",
                    "kxnorw k4, k4, k4", "vgatherdps zmm3{{k4}}, [{p} + zmm8 * 4]",
                    "dec {n}", "jnz 2b",
                    p = in(reg) p, i = in(reg) indices.as_ptr(), n = inout(reg) n,
                    out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
                    out("zmm8") _, out("k1") _, out("k2") _, out("k3") _, out("k4") _,
                    options(readonly, nostack),
                );
            }
        }
        std::hint::black_box(n);
        (4 * lanes) as f64 * steps as f64 / start.elapsed().as_secs_f64()
    }

    pub fn main() {
        if !std::arch::is_x86_feature_detected!("avx") {
            println!("this probe needs AVX (vbroadcastss ymm)");
            return;
        }
        let buf = [1.0f32; 256];
        let hz = super::x86_clock::cycles_per_second(ITERATIONS);
        println!("clock (dependent imuls): {:.2} GHz", hz / 1e9);
        // Best of three: the machine may be shared.
        let report = |name: &str, what: &str, rate: &dyn Fn() -> f64| {
            let rate = (0..3).map(|_| rate()).fold(0.0, f64::max);
            println!(
                "{name}: {:.2} G {what}/s = {:.2} per cycle",
                rate / 1e9,
                rate / hz
            );
        };
        report("vector (vbroadcastss)", "loads", &|| {
            loads_per_second(true, &buf)
        });
        report("integer (mov r32)", "loads", &|| {
            loads_per_second(false, &buf)
        });
        if std::arch::is_x86_feature_detected!("avx2") {
            report("vgatherdps, 8 lanes", "elements", &|| {
                gathered_per_second(8, &buf)
            });
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            report("vgatherdps, 16 lanes", "elements", &|| {
                gathered_per_second(16, &buf)
            });
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::main();
    #[cfg(not(target_arch = "x86_64"))]
    println!("this probe is for x86_64");
}
