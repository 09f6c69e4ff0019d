//! Instruction-set tiers and runtime detection.

use core::fmt;
use core::str::FromStr;

use crate::Error;

/// An instruction-set tier of the current architecture.
///
/// Tiers are totally ordered: a higher tier implies every feature of the lower ones, and
/// `Ord` follows that order. [`Isa::ALL`] lists this architecture's tiers, lowest first.
///
/// | tier | x86_64 features | aarch64 features |
/// |---|---|---|
/// | `Scalar` | none: plain Rust, the oracle | none |
/// | `Portable` | `wide` at compile-time width (SSE2) | `wide` (NEON) |
/// | `Avx2` | avx2, fma, f16c | – |
/// | `Avx512` | avx512f, bw, dq, vl (+ `Avx2`'s) | – |
/// | `Avx512Bf16` | + avx512bf16 | – |
/// | `Amx` | + amx-tile, amx-bf16, and the OS's permission (Linux) | – |
/// | `Neon` | – | neon (fp16 conversions are base ARMv8 `fcvtn`/`fcvtl`) |
/// | `NeonBf16` | – | + bf16 (`BFMMLA` in the bf16 × bf16 GEMM) |
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Isa {
    /// Plain Rust; bit-identical to [`crate::reference`].
    Scalar,
    /// `wide`'s compile-time SIMD: SSE2 on x86_64, NEON on aarch64.
    Portable,
    /// AVX2 + FMA + F16C.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 F, BW, DQ and VL.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// AVX-512 with the BF16 extension (`vcvtneps2bf16`, `vdpbf16ps`).
    #[cfg(target_arch = "x86_64")]
    Avx512Bf16,
    /// `Avx512Bf16` with AMX tiles (`tdpbf16ps` in the bf16 × bf16 GEMM), on Linux, which
    /// grants the process the tile state on request (detection asks, once). A GEMM call
    /// leaves the tiles of the threads it ran on released (`tilerelease`).
    #[cfg(target_arch = "x86_64")]
    Amx,
    /// Advanced SIMD (ARMv8.0).
    #[cfg(target_arch = "aarch64")]
    Neon,
    /// Advanced SIMD with the BF16 extension (ARMv8.6 `BFMMLA`, `BFDOT`).
    #[cfg(target_arch = "aarch64")]
    NeonBf16,
}

impl Isa {
    /// This architecture's tiers, lowest first.
    pub const ALL: &'static [Isa] = &[
        Isa::Scalar,
        Isa::Portable,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Bf16,
        #[cfg(target_arch = "x86_64")]
        Isa::Amx,
        #[cfg(target_arch = "aarch64")]
        Isa::Neon,
        #[cfg(target_arch = "aarch64")]
        Isa::NeonBf16,
    ];

    /// The name used by `LOWP_ISA`, `LOWP_EXPECT_ISAS` and `lowp info`.
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Bf16 => "avx512bf16",
            #[cfg(target_arch = "x86_64")]
            Isa::Amx => "amx",
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => "neon",
            #[cfg(target_arch = "aarch64")]
            Isa::NeonBf16 => "neonbf16",
        }
    }

    /// Whether this CPU and OS can run the tier. Cheap: `std` caches the feature bits.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar | Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                Isa::Avx2.is_supported()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Bf16 => {
                Isa::Avx512.is_supported() && std::arch::is_x86_feature_detected!("avx512bf16")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Amx => Isa::Avx512Bf16.is_supported() && crate::arch::amx_usable(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[cfg(target_arch = "aarch64")]
            Isa::NeonBf16 => {
                Isa::Neon.is_supported() && std::arch::is_aarch64_feature_detected!("bf16")
            }
        }
    }

    /// The highest tier this CPU supports.
    pub fn best() -> Isa {
        Isa::ALL
            .iter()
            .rev()
            .copied()
            .find(|isa| isa.is_supported())
            .unwrap_or(Isa::Scalar)
    }

    pub(crate) fn index(self) -> usize {
        Isa::ALL
            .iter()
            .position(|&isa| isa == self)
            .expect("every tier is in Isa::ALL")
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = Error;

    /// Parses a tier name, ignoring ASCII case and surrounding whitespace.
    fn from_str(s: &str) -> Result<Isa, Error> {
        let wanted = s.trim();
        Isa::ALL
            .iter()
            .copied()
            .find(|isa| isa.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| Error::UnknownIsa {
                name: s.to_string(),
            })
    }
}
