//! What bounds stochastic f32 → bf16 with ARS-5 on the `Avx2` tier (AES-NI on xmm registers,
//! no VAES): cycles per 64 values (one step: eight blocks of random bits) of lowp's kernels
//! at L1 size, beside register-only loops of the instructions the `Avx2` step issues per 64
//! values, as LLVM compiles it:
//! - ARS-5 alone: each block's counter XORed with its offset key, then five AES rounds
//!   (four `vaesenc`, one `vaesenclast` whose key comes from memory, as in the kernel);
//! - the rounding alone: per 16 values two loads, the random words widened (`vpmovzxwd`),
//!   the adds, the NaN test's unordered comparison and OR, the high halves (two `vpshufb`, a
//!   blend, a `vpermq`) and the store; one `vtestps` per step;
//! - both, as one step.
//!
//! Each step's chains start from a fresh counter, so the loops time throughput, not latency.
//! Zen 1 runs AES rounds on two of its four vector pipes and splits every ymm instruction
//! into two halves; the loops show how near any ordering of these instructions comes to the
//! issue's bar (60 % of round-to-nearest's rate on the same tier).
//!
//! `cargo run --release --example x86_ars_avx2_ops`

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

    const ITERATIONS: u64 = 10_000_000;

    /// The eight blocks' counters (xmm13, a fresh one each step from `{ctr}`) XORed with their
    /// offset keys (memory), then five rounds, round by round across the blocks: keys 1-4 in
    /// xmm8-xmm11, the last from memory.
    macro_rules! ars5_blocks {
        () => {
            "vmovq xmm13, {ctr}
             add {ctr}, 8
             vpxor xmm0, xmm13, [{keys}]
             vpxor xmm1, xmm13, [{keys} + 16]
             vpxor xmm2, xmm13, [{keys} + 32]
             vpxor xmm3, xmm13, [{keys} + 48]
             vpxor xmm4, xmm13, [{keys} + 64]
             vpxor xmm5, xmm13, [{keys} + 80]
             vpxor xmm6, xmm13, [{keys} + 96]
             vpxor xmm7, xmm13, [{keys} + 112]
             vaesenc xmm0, xmm0, xmm8
             vaesenc xmm1, xmm1, xmm8
             vaesenc xmm2, xmm2, xmm8
             vaesenc xmm3, xmm3, xmm8
             vaesenc xmm4, xmm4, xmm8
             vaesenc xmm5, xmm5, xmm8
             vaesenc xmm6, xmm6, xmm8
             vaesenc xmm7, xmm7, xmm8
             vaesenc xmm0, xmm0, xmm9
             vaesenc xmm1, xmm1, xmm9
             vaesenc xmm2, xmm2, xmm9
             vaesenc xmm3, xmm3, xmm9
             vaesenc xmm4, xmm4, xmm9
             vaesenc xmm5, xmm5, xmm9
             vaesenc xmm6, xmm6, xmm9
             vaesenc xmm7, xmm7, xmm9
             vaesenc xmm0, xmm0, xmm10
             vaesenc xmm1, xmm1, xmm10
             vaesenc xmm2, xmm2, xmm10
             vaesenc xmm3, xmm3, xmm10
             vaesenc xmm4, xmm4, xmm10
             vaesenc xmm5, xmm5, xmm10
             vaesenc xmm6, xmm6, xmm10
             vaesenc xmm7, xmm7, xmm10
             vaesenc xmm0, xmm0, xmm11
             vaesenc xmm1, xmm1, xmm11
             vaesenc xmm2, xmm2, xmm11
             vaesenc xmm3, xmm3, xmm11
             vaesenc xmm4, xmm4, xmm11
             vaesenc xmm5, xmm5, xmm11
             vaesenc xmm6, xmm6, xmm11
             vaesenc xmm7, xmm7, xmm11
             vaesenclast xmm0, xmm0, [{keys} + 128]
             vaesenclast xmm1, xmm1, [{keys} + 128]
             vaesenclast xmm2, xmm2, [{keys} + 128]
             vaesenclast xmm3, xmm3, [{keys} + 128]
             vaesenclast xmm4, xmm4, [{keys} + 128]
             vaesenclast xmm5, xmm5, [{keys} + 128]
             vaesenclast xmm6, xmm6, [{keys} + 128]
             vaesenclast xmm7, xmm7, [{keys} + 128]"
        };
    }

    /// 16 values rounded with blocks `$a` and `$b` (the ymm registers of those numbers):
    /// loads of 64 bytes from `{buf} + $at`, the store of 32 bytes at `{buf} + 256 + $at / 2`;
    /// the NaN lanes ORed into ymm12.
    #[rustfmt::skip] // an instruction a line
    macro_rules! round16 {
        ($a:literal, $b:literal, $at:literal) => {
            concat!(
                "vmovups ymm14, [{buf} + ", $at, "]\n",
                "vmovups ymm15, [{buf} + ", $at, " + 32]\n",
                "vpmovzxwd ymm", $a, ", xmm", $a, "\n",
                "vpmovzxwd ymm", $b, ", xmm", $b, "\n",
                "vpaddd ymm", $a, ", ymm", $a, ", ymm14\n",
                "vcmpunordps ymm14, ymm14, ymm15\n",
                "vpaddd ymm", $b, ", ymm", $b, ", ymm15\n",
                "vorps ymm12, ymm12, ymm14\n",
                "vpshufb ymm", $a, ", ymm", $a, ", [{keys} + 160]\n",
                "vpshufb ymm", $b, ", ymm", $b, ", [{keys} + 160]\n",
                "vpblendd ymm", $a, ", ymm", $a, ", ymm", $b, ", 0xcc\n",
                "vpermq ymm", $a, ", ymm", $a, ", 0xd8\n",
                "vmovdqu [{buf} + 256 + ", $at, " / 2], ymm", $a
            )
        };
    }

    /// The rounding of a step's 64 values, and the step's NaN test.
    macro_rules! rounding {
        () => {
            concat!(
                round16!("0", "1", "0"),
                "\n",
                round16!("2", "3", "64"),
                "\n",
                round16!("4", "5", "128"),
                "\n",
                round16!("6", "7", "192"),
                "\nvtestps ymm12, ymm12"
            )
        };
    }

    /// Seconds for [`ITERATIONS`] runs of `$step` (one step = 64 values), best of five. The
    /// keys (zero: an instruction's timing does not depend on its values) lie in a 256-byte
    /// table, the loads and the store in a 512-byte buffer (L1).
    macro_rules! step_seconds {
        ($($step:expr),+) => {{
            let mut buffer = vec![0u8; 1024];
            let table = vec![0u8; 512];
            let mut best = f64::MAX;
            for _ in 0..5 {
                let start = Instant::now();
                // SAFETY: register arithmetic, plus loads inside `table` (from its first 32-byte
                // boundary, under 32 bytes in: at most 192 bytes past it) and loads and stores
                // inside `buffer` (from its first 64-byte boundary: at most 384 bytes past it);
                // every register written is declared clobbered.
                unsafe {
                    asm!(
                        "vpxor xmm8, xmm8, xmm8", "vpxor xmm9, xmm9, xmm9",
                        "vpxor xmm10, xmm10, xmm10", "vpxor xmm11, xmm11, xmm11",
                        "vpxor xmm12, xmm12, xmm12",
                        "/* {ctr} {buf} */", // each loop uses one or both
                        "2:",
                        $($step,)+
                        "dec {n}", "jnz 2b",
                        n = inout(reg) ITERATIONS => _,
                        ctr = inout(reg) 0u64 => _,
                        buf = in(reg) buffer.as_mut_ptr().add(buffer.as_ptr().align_offset(64)),
                        keys = in(reg) table.as_ptr().add(table.as_ptr().align_offset(32)),
                        out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
                        out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
                        out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
                        out("ymm12") _, out("ymm13") _, out("ymm14") _, out("ymm15") _,
                        options(nostack),
                    );
                }
                best = best.min(start.elapsed().as_secs_f64());
            }
            std::hint::black_box((&buffer, &table));
            best
        }};
    }

    pub fn main() {
        let Some(backend) = Backend::new(Isa::Avx2) else {
            println!("this probe needs the Avx2 tier");
            return;
        };
        if !std::arch::is_x86_feature_detected!("aes") {
            println!("this probe needs AES-NI");
            return;
        }
        let hz = super::x86_clock::cycles_per_second(ITERATIONS * 4);
        println!("clock (dependent imuls): {:.2} GHz", hz / 1e9);
        println!("cycles per 64 values (eight blocks of random bits):");

        let n = 4096;
        let (nearest, ars5) = super::alternate::nearest_and_ars5(backend, n);
        let kernel_cycles = |t: f64| t * hz / (n / 64) as f64;
        let (nearest, ars5) = (kernel_cycles(nearest), kernel_cycles(ars5));
        let row = |name: &str, cycles: f64| println!("  {name:<58} {cycles:6.2}");
        row("lowp Avx2, round to nearest (4096 values, L1)", nearest);
        row("  60 % of its rate", nearest / 0.6);
        row(
            "lowp Avx2, ARS-5 (4096 values, L1; sampled alternately)",
            ars5,
        );

        let loop_cycles = |seconds: f64| seconds * hz / ITERATIONS as f64;
        row(
            "loop: ARS-5 alone (8 blocks, 40 AES rounds)",
            loop_cycles(step_seconds!(ars5_blocks!())),
        );
        row(
            "loop: the rounding alone",
            loop_cycles(step_seconds!(rounding!())),
        );
        row(
            "loop: the whole step",
            loop_cycles(step_seconds!(ars5_blocks!(), rounding!())),
        );
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::main();
    #[cfg(not(target_arch = "x86_64"))]
    println!("this probe is for x86_64");
}
