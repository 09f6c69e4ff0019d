//! The multiply-add peak of a tier, measured: the yardstick of GEMM figures.

use std::time::{Duration, Instant};

use crate::Backend;

impl Backend {
    /// Runs this tier's register-only loop of independent multiply-adds (no memory traffic;
    /// f32 FMAs, or on `Amx` bf16 tile products accumulated in f32) on the calling thread for about `duration` and returns the best rate seen over
    /// its slices, in FLOP/s (a multiply-add counts 2). GEMM throughput is quoted against it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let peak = lowp::Backend::active().measure_fma_peak(Duration::from_millis(20));
    /// assert!(peak > 0.0);
    /// ```
    pub fn measure_fma_peak(self, duration: Duration) -> f64 {
        const SLICE: u64 = 1 << 16;
        let start = Instant::now();
        let mut best = 0.0f64;
        loop {
            let t = Instant::now();
            // SAFETY: `self` exists only if the CPU supports `self.isa()`, the one
            // precondition of its kernel table.
            let run = unsafe { (self.kernels.fma_peak)(SLICE) };
            let secs = t.elapsed().as_secs_f64();
            core::hint::black_box(run.sink);
            if secs > 0.0 {
                best = best.max(run.flops as f64 / secs);
            }
            if start.elapsed() >= duration {
                return best;
            }
        }
    }
}
