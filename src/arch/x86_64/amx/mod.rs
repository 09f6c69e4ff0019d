//! The `Amx` tier: `Avx512Bf16` plus AMX tiles (`tdpbf16ps`) for the bf16 × bf16 GEMM;
//! everything else is `Avx512Bf16`'s. The tile instructions are written in `asm!` (their
//! intrinsics are not stable), and so is the one system call that asks Linux for the tile
//! state.

mod gemm;
mod peak;

use std::sync::OnceLock;

use super::avx512bf16;
use crate::backend::Kernels;

pub(crate) static KERNELS: Kernels = Kernels {
    gemm: gemm::GEMM,
    fma_peak: peak::tile_peak,
    ..avx512bf16::KERNELS
};

/// `ldtilecfg`'s 64 bytes (palette 1): every tile 64 bytes wide (16 f32, 16 bf16 pairs), and
/// `rows[t]` rows of tile `t`.
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

impl TileConfig {
    const fn rows(rows: [usize; 8]) -> TileConfig {
        let mut bytes = [0u8; 64];
        bytes[0] = 1;
        let mut t = 0;
        while t < 8 {
            bytes[16 + 2 * t] = 64;
            bytes[48 + t] = rows[t] as u8;
            t += 1;
        }
        TileConfig(bytes)
    }
}

/// Whether this CPU has AMX tiles with bf16 and this process may use them. Asked once: the
/// answer (and the permission, which Linux grants to the whole process) does not change.
pub(crate) fn usable() -> bool {
    static USABLE: OnceLock<bool> = OnceLock::new();
    *USABLE.get_or_init(|| cpu_has_amx_bf16() && os_enables_tiles() && process_may_use_tiles())
}

/// CPUID leaf 7: AMX-BF16 (EDX bit 22) and AMX-TILE (EDX bit 24). The CPU's answer alone,
/// whatever the OS allows: lowp's CPU identity also reads it, to know a Sapphire Rapids or
/// later server core by it.
pub(crate) fn cpu_has_amx_bf16() -> bool {
    use core::arch::x86_64::{__cpuid, __cpuid_count};
    if __cpuid(0).eax < 7 {
        return false;
    }
    let edx = __cpuid_count(7, 0).edx;
    edx & (1 << 22) != 0 && edx & (1 << 24) != 0
}

/// Whether the OS saves the tile state: XCR0's XTILECFG and XTILEDATA bits (17 and 18).
fn os_enables_tiles() -> bool {
    if !std::arch::is_x86_feature_detected!("xsave") {
        return false;
    }
    // SAFETY: `xsave` was just detected (std checks that the OS enabled XSAVE, so `xgetbv`
    // does not fault).
    let xcr0 = unsafe { xcr0() };
    xcr0 & (0b11 << 17) == 0b11 << 17
}

#[target_feature(enable = "xsave")]
fn xcr0() -> u64 {
    // SAFETY: the feature is enabled on this function; XCR0 always exists under XSAVE.
    unsafe { core::arch::x86_64::_xgetbv(0) }
}

/// Linux gives a process the 8 KiB tile data state only on request
/// (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, Linux 5.16 on); a tile
/// instruction before it faults. Other systems are not known to lowp: no tiles there.
#[cfg(target_os = "linux")]
fn process_may_use_tiles() -> bool {
    const SYS_ARCH_PRCTL: i64 = 158;
    const ARCH_REQ_XCOMP_PERM: u64 = 0x1023;
    const XFEATURE_XTILEDATA: u64 = 18;
    let result: i64;
    // SAFETY: the `arch_prctl` system call with these arguments reads and writes none of
    // this process's memory; it only widens the state the kernel lets the process use.
    // `syscall` clobbers rcx and r11, declared below.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") SYS_ARCH_PRCTL => result,
            in("rdi") ARCH_REQ_XCOMP_PERM,
            in("rsi") XFEATURE_XTILEDATA,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result == 0
}

#[cfg(not(target_os = "linux"))]
fn process_may_use_tiles() -> bool {
    false
}
