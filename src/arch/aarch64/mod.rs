//! aarch64 tiers.

pub(crate) mod neon;
