//! `lowp`: what this CPU can run (`lowp info`) and how fast (`lowp bench`).

mod bench;
mod dot_bench;
mod gather_sum;
mod gemm_bench;
mod gemv_bench;
mod info;
mod sparse_bench;
mod sparse_weights;

use std::process::ExitCode;

const USAGE: &str = "usage: lowp info
       lowp bench [--quick] [--only l1|l2|dram|dot|gemv|gemm|sparse]

  info   the CPU, its features, the tiers lowp supports here and the active one
  bench  single-thread throughput of every conversion on every supported tier, at an L1-,
         an L2- and a DRAM-sized array (16 KiB, 256 KiB and 256 MiB of f32), beside `half`
         and a plain copy measured in the same run, the dot products (L1 to DRAM) against a
         plain read of their bytes, GEMV (W 4096x4096 in bf16/f16/f32, in cache and cycled through DRAM) against a
         plain read of W's bytes, and GEMM (m = n = k = 2048, B packed) per input type
         against the tier's register-only FMA peak, and sparse SpMV/SpMM of a pruned
         4096x4096 bf16 matrix against a plain read, sprs and lowp's dense products
         --quick      fewer samples (for smoke tests; numbers are noisier)
         --only SIZE  one size class (or the dot, GEMV, GEMM or sparse section) only

environment: LOWP_ISA=<tier> picks the active tier (an unsupported or unknown name is an error)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("info") if args.len() == 1 => info::run(),
        Some("bench") => bench::Options::parse(&args[1..]).and_then(bench::run),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lowp: {message}");
            ExitCode::from(2)
        }
    }
}
