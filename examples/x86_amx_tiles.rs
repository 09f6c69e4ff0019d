//! What AMX tile operations cost on this core, for the `Amx` tier's GEMM kernel: a 1 KiB
//! `tileloadd` (16 rows of 64 bytes) from L1 with rows on cache lines and with rows 16 bytes
//! off them (each row then touches two lines), a 16 × 16 × 32 `tdpbf16ps` (independent and
//! chained into one accumulator), `ldtilecfg` and `sttilecfg`. Needs the `Amx` tier (lowp's
//! detection asks Linux for the tile state first).
//!
//! `cargo run --release --example x86_amx_tiles`

#[cfg(target_arch = "x86_64")]
mod probe {
    use std::arch::asm;
    use std::time::Instant;

    const ROUNDS: usize = 2_000_000;

    /// Palette 1, all eight tiles 16 rows of 64 bytes.
    #[repr(C, align(64))]
    struct TileConfig([u8; 64]);

    /// 16 KiB of bf16 ones on cache lines, and room to start 16 bytes later.
    #[repr(C, align(64))]
    struct Buffer([u32; 16 * 256 + 16]);

    /// Nanoseconds per round of `op`.
    fn time(mut op: impl FnMut()) -> f64 {
        let start = Instant::now();
        for _ in 0..ROUNDS {
            op();
        }
        start.elapsed().as_secs_f64() / ROUNDS as f64 * 1e9
    }

    pub fn run() {
        if lowp::Backend::new(lowp::Isa::Amx).is_none() {
            println!("this probe needs the Amx tier (AMX tiles with bf16, on Linux)");
            return;
        }
        let mut config = TileConfig([0; 64]);
        config.0[0] = 1;
        for t in 0..8 {
            config.0[16 + 2 * t] = 64;
            config.0[48 + t] = 16;
        }
        let buffer = Box::new(Buffer([0x3f80_3f80; 16 * 256 + 16]));
        // SAFETY: the Amx tier exists (checked above), so the tile instructions run; the
        // configuration is 64 bytes.
        unsafe { asm!("ldtilecfg [{}]", in(reg) &config, options(nostack, readonly)) };
        println!("ns per round, {ROUNDS} rounds each:");
        for (label, offset_words) in [("on cache lines", 0usize), ("16 bytes off", 4)] {
            let p = buffer.0[offset_words..].as_ptr();
            let ns = time(|| {
                // SAFETY: three tiles of 1 KiB from `p`, `p + 1024`, `p + 2048` (stride 64),
                // inside `buffer`'s 16 KiB after at most 16 bytes of offset.
                unsafe {
                    asm!(
                        "tileloadd tmm2, [{p} + {s}*1]",
                        "tileloadd tmm3, [{p} + {s}*1 + 1024]",
                        "tileloadd tmm4, [{p} + {s}*1 + 2048]",
                        p = in(reg) p,
                        s = in(reg) 64usize,
                        options(nostack, readonly),
                    )
                }
            });
            println!("  tileloadd, rows {label}: {:.2}", ns / 3.0);
        }
        let ns = time(|| {
            // SAFETY: tiles only, configured above.
            unsafe {
                asm!(
                    "tdpbf16ps tmm0, tmm2, tmm3",
                    "tdpbf16ps tmm1, tmm2, tmm4",
                    "tdpbf16ps tmm5, tmm3, tmm4",
                    "tdpbf16ps tmm6, tmm4, tmm3",
                    options(nostack, nomem),
                )
            }
        });
        println!("  tdpbf16ps, four independent: {:.2}", ns / 4.0);
        let ns = time(|| {
            // SAFETY: as above.
            unsafe { asm!("tdpbf16ps tmm0, tmm2, tmm3", options(nostack, nomem)) }
        });
        println!("  tdpbf16ps, one chain: {:.2}", ns);
        let mut current = TileConfig([0; 64]);
        let ns = time(|| {
            // SAFETY: stores the 64-byte configuration into `current`.
            unsafe { asm!("sttilecfg [{}]", in(reg) &mut current, options(nostack)) };
            std::hint::black_box(&current);
        });
        println!("  sttilecfg: {ns:.2}");
        let ns = time(|| {
            // SAFETY: loads the 64-byte configuration (zeroing the tiles).
            unsafe { asm!("ldtilecfg [{}]", in(reg) &config, options(nostack, readonly)) }
        });
        println!("  ldtilecfg: {ns:.2}");
        // SAFETY: back to the init state.
        unsafe { asm!("tilerelease", options(nostack, nomem)) };
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::run();
    #[cfg(not(target_arch = "x86_64"))]
    println!("x86_64 only");
}
