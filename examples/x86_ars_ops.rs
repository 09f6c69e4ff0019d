//! What bounds stochastic f32 → bf16 with ARS-5 on an AVX-512 core: cycles per 32 values
//! (one zmm of random bits) of lowp's kernels at L1 size, beside register-only loops of the
//! instructions its AVX-512 step issues per 32 values, as LLVM compiles it:
//! - ARS-5 alone: five AES rounds on four blocks (four `vaesenc`, one `vaesenclast`);
//! - the whole step: those, two loads, the ordered comparison that collects a chunk's NaN
//!   test, the two `vpermt2w` that split the patterns into high and low halves, the carry's
//!   unsigned comparison and its masked add of one, the store and the counter's XOR;
//! - the step as LLVM compiled it until session 34, which turned that masked add into
//!   `vpmovm2w` and a subtraction (the kernel now hides the constant one from it);
//! - the step without its NaN test, and five AES rounds beside one comparison into a mask.
//!
//! On Zen 4 a zmm `vaesenc` issues once a cycle, and comparisons into a mask share its pipes:
//! the loops show how near the bar (60 % of round-to-nearest's rate on the same tier)
//! any ordering of these instructions can come. On Zen 5 a zmm `vaesenc` issues twice a cycle.
//! No register carries from one step to the next but the NaN test's mask (through `kandw`), so
//! the loops time throughput: until session 32 each AES register and the masked comparison
//! carried a chain, which on Zen 5 timed their latency instead.
//!
//! `cargo run --release --example x86_ars_ops`

#[cfg(target_arch = "x86_64")]
#[path = "common/x86_clock.rs"]
mod x86_clock;

#[cfg(target_arch = "x86_64")]
#[path = "common/alternate.rs"]
mod alternate;

#[cfg(target_arch = "x86_64")]
mod probe {
    use std::arch::asm;
    use std::time::Instant;

    use lowp::{Backend, Isa};

    const ITERATIONS: u64 = 50_000_000;

    /// ARS-5's rounds on four blocks: one zmm of random bits, a chain of five rounds on a
    /// fresh counter (zmm14) in each step, as the kernel draws them. Each step's chain is
    /// independent of the last, so the loops time the rounds' throughput, not their latency
    /// (chained from step to step, they ran at `vaesenc`'s latency on Zen 5: 4.1 cycles).
    macro_rules! ars5_rounds {
        () => {
            "vaesenc zmm0, zmm14, zmm8
             vaesenc zmm0, zmm0, zmm8
             vaesenc zmm0, zmm0, zmm8
             vaesenc zmm0, zmm0, zmm8
             vaesenclast zmm4, zmm0, zmm8"
        };
    }

    /// The step's two loads of 16 f32 patterns.
    macro_rules! loads {
        () => {
            "vmovups zmm9, [{buf}]
             vmovups zmm10, [{buf} + 64]"
        };
    }

    /// The rest of the step but for the NaN test, as LLVM compiles it: the high and low
    /// halves, the carry (a masked add of zmm15, the ones), the store, the counter's XOR. The
    /// halves' second `vpermt2w` overwrites the loaded zmm9, as in the kernel.
    macro_rules! rounding {
        () => {
            "vmovaps zmm12, zmm9
             vpermt2w zmm12, zmm7, zmm10
             vpermt2w zmm9, zmm6, zmm10
             vpcmpnleuw k2, zmm9, zmm11
             vpaddw zmm12{{k2}}, zmm12, zmm15
             vmovdqu64 [{buf} + 128], zmm12
             vpxord zmm5, zmm5, zmm8"
        };
    }

    /// [`rounding`] as LLVM compiled it until session 34: the carry's masked add as
    /// `vpmovm2w` and a subtraction.
    macro_rules! rounding_before {
        () => {
            "vmovaps zmm12, zmm9
             vpermt2w zmm12, zmm7, zmm10
             vpermt2w zmm9, zmm6, zmm10
             vpcmpnleuw k2, zmm9, zmm11
             vpmovm2w zmm13, k2
             vpsubw zmm13, zmm12, zmm13
             vmovdqu64 [{buf} + 128], zmm13
             vpxord zmm5, zmm5, zmm8"
        };
    }

    /// Seconds for [`ITERATIONS`] runs of `$step` (one step = 32 values), best of five.
    /// zmm8 is the round key, zmm6/zmm7 the permutation indices, zmm11 the headroom, zmm15 the
    /// ones (zero here: an add's timing does not depend on its values); the loads and the
    /// store use a 4 KiB buffer (L1), from its first 64-byte boundary.
    macro_rules! step_seconds {
        ($($step:expr),+) => {{
            let mut buffer = vec![0u8; 4096];
            let mut best = f64::MAX;
            for _ in 0..5 {
                let start = Instant::now();
                // SAFETY: register arithmetic, plus loads and stores inside `buffer` (from its
                // first 64-byte boundary, under 64 bytes in, at offsets below 256 of its 4096
                // bytes); every register written is declared clobbered.
                unsafe {
                    asm!(
                        "vpxord zmm0, zmm0, zmm0", "vpxord zmm1, zmm1, zmm1",
                        "vpxord zmm2, zmm2, zmm2", "vpxord zmm3, zmm3, zmm3",
                        "vpxord zmm4, zmm4, zmm4", "vpxord zmm5, zmm5, zmm5",
                        "vpxord zmm6, zmm6, zmm6", "vpxord zmm7, zmm7, zmm7",
                        "vpxord zmm8, zmm8, zmm8", "vpxord zmm11, zmm11, zmm11",
                        "vpxord zmm14, zmm14, zmm14", "vpxord zmm15, zmm15, zmm15",
                        "kxnorw k1, k1, k1",
                        "prefetcht0 [{buf}]",
                        "2:",
                        $($step,)+
                        "dec {n}", "jnz 2b",
                        n = inout(reg) ITERATIONS => _,
                        buf = in(reg) buffer.as_mut_ptr().add(buffer.as_ptr().align_offset(64)),
                        out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _,
                        out("zmm4") _, out("zmm5") _, out("zmm6") _, out("zmm7") _,
                        out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
                        out("zmm12") _, out("zmm13") _, out("zmm14") _, out("zmm15") _, out("k1") _, out("k2") _,
                        options(nostack),
                    );
                }
                best = best.min(start.elapsed().as_secs_f64());
            }
            std::hint::black_box(&buffer);
            best
        }};
    }

    pub fn main() {
        let Some(backend) = Backend::new(Isa::Avx512Bf16) else {
            println!("this probe needs the Avx512Bf16 tier");
            return;
        };
        if !std::arch::is_x86_feature_detected!("vaes") {
            println!("this probe needs VAES");
            return;
        }
        let hz = super::x86_clock::cycles_per_second(ITERATIONS);
        println!("clock (dependent imuls): {:.2} GHz", hz / 1e9);
        println!("cycles per 32 values (one zmm of random bits):");

        let n = 4096;
        let (nearest, ars5) = super::alternate::nearest_and_ars5(backend, n);
        let kernel_cycles = |t: f64| t * hz / (n / 32) as f64;
        let (nearest, ars5) = (kernel_cycles(nearest), kernel_cycles(ars5));
        let row = |name: &str, cycles: f64| println!("  {name:<62} {cycles:5.2}");
        row(
            "lowp Avx512Bf16, round to nearest (4096 values, L1)",
            nearest,
        );
        row("  60 % of its rate", nearest / 0.6);
        row(
            "lowp Avx512Bf16, ARS-5 (4096 values, L1; sampled alternately)",
            ars5,
        );

        let loop_cycles = |seconds: f64| seconds * hz / ITERATIONS as f64;
        row(
            "loop: ARS-5 alone (5 zmm AES rounds)",
            loop_cycles(step_seconds!(ars5_rounds!())),
        );
        row(
            "loop: 5 AES rounds + 1 compare into a mask",
            loop_cycles(step_seconds!(ars5_rounds!(), "vpcmpnleuw k2, zmm9, zmm11")),
        );
        row(
            "loop: the whole step, as compiled",
            loop_cycles(step_seconds!(
                ars5_rounds!(),
                loads!(),
                "vcmpordps k2, zmm9, zmm10",
                "kandw k1, k1, k2",
                rounding!()
            )),
        );
        row(
            "loop: the whole step, as compiled until session 34",
            loop_cycles(step_seconds!(
                ars5_rounds!(),
                loads!(),
                "vcmpordps k2, zmm9, zmm10",
                "kandw k1, k1, k2",
                rounding_before!()
            )),
        );
        row(
            "loop: the whole step without the NaN test",
            loop_cycles(step_seconds!(ars5_rounds!(), loads!(), rounding!())),
        );
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::main();
    #[cfg(not(target_arch = "x86_64"))]
    println!("this probe is for x86_64");
}
