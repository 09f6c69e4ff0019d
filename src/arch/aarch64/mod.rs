//! aarch64 tiers.

pub(crate) mod neon;
pub(crate) mod neon_bf16;

/// Proof that the CPU has the AES instructions (`AESE`, `AESMC`): the ARS-5 kernels' one
/// feature beyond the `Neon` tier.
#[derive(Clone, Copy)]
pub(crate) struct Aes(());

impl Aes {
    pub(crate) fn detect() -> Option<Aes> {
        std::arch::is_aarch64_feature_detected!("aes").then_some(Aes(()))
    }
}
