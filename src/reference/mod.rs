//! Slow, obviously correct definitions of every result lowp computes.
//!
//! Every backend is tested against these functions, the fuzz targets compare with them, and the
//! `Scalar` tier runs them directly. They favour clarity over speed: one element at a time,
//! integer arithmetic on bit patterns, no dependence on the FPU's rounding or flush modes.

pub mod ars;
pub mod blockfp;
pub mod convert;
pub mod fmac;
pub mod rng;
pub mod stochastic;
