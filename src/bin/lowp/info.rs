//! `lowp info`.

use lowp::{Backend, Isa};

/// The CPU's name as the OS reports it.
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split(':').nth(1))
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| format!("unknown {} CPU", std::env::consts::ARCH))
}

/// (feature, present) for the features the tiers are built from.
fn features() -> Vec<(&'static str, bool)> {
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! detect {
            ($($f:tt),*) => { vec![$(($f, std::arch::is_x86_feature_detected!($f))),*] };
        }
        detect!(
            "sse2",
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512dq",
            "avx512vl",
            "avx512bf16",
            "avx512fp16"
        )
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! detect {
            ($($f:tt),*) => { vec![$(($f, std::arch::is_aarch64_feature_detected!($f))),*] };
        }
        detect!("neon", "fp16", "bf16", "dotprod", "i8mm", "sve")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        Vec::new()
    }
}

pub fn run() -> Result<(), String> {
    println!("lowp {}", env!("CARGO_PKG_VERSION"));
    println!(
        "cpu: {} ({} logical cores)",
        cpu_name(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let present: Vec<&str> = features().iter().filter(|f| f.1).map(|f| f.0).collect();
    let absent: Vec<&str> = features().iter().filter(|f| !f.1).map(|f| f.0).collect();
    println!("features: {}", present.join(" "));
    println!("missing: {}", absent.join(" "));
    let (yes, no): (Vec<Isa>, Vec<Isa>) = Isa::ALL.iter().partition(|isa| isa.is_supported());
    let names = |v: &[Isa]| v.iter().map(|i| i.name()).collect::<Vec<_>>().join(" ");
    println!("tiers supported: {}", names(&yes));
    println!("tiers not supported: {}", names(&no));
    let active = Backend::from_env().map_err(|e| format!("LOWP_ISA: {e}"))?;
    let source = if std::env::var_os("LOWP_ISA").is_some() {
        "from LOWP_ISA"
    } else {
        "best detected"
    };
    println!("active: {} ({source})", active.isa());
    Ok(())
}
