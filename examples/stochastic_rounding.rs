//! Why pure-bf16 training needs stochastic rounding: 100,000 updates of +1e-4 to a weight
//! that starts at 1.0, kept in f32, in bf16 with round-to-nearest, and in bf16 with lowp's
//! stochastic rounding (the fused update `w = sr(w + alpha * g)`).
//!
//! `cargo run --release --example stochastic_rounding`

use half::bf16;

const STEPS: u64 = 100_000;
const UPDATE: f32 = 1e-4;
/// Independent weights updated with stochastic rounding, to show the spread.
const WEIGHTS: usize = 1024;

fn main() -> Result<(), lowp::Error> {
    let mut f32_weight = 1.0f32;
    let mut nearest = bf16::ONE;
    let mut stochastic = vec![bf16::ONE; WEIGHTS];
    let gradient = vec![1.0f32; WEIGHTS];
    for step in 0..STEPS {
        f32_weight += UPDATE;
        nearest = bf16::from_f32(nearest.to_f32() + UPDATE);
        // Each step uses fresh random bits: its elements' global indices are step * WEIGHTS + i.
        lowp::update::axpy_bf16_stochastic(
            UPDATE,
            &gradient,
            &mut stochastic,
            2024,
            step * WEIGHTS as u64,
        )?;
    }
    let values: Vec<f64> = stochastic.iter().map(|w| f64::from(w.to_f32())).collect();
    let mean = values.iter().sum::<f64>() / WEIGHTS as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / WEIGHTS as f64).sqrt();
    println!(
        "{STEPS} steps of w += {UPDATE:e}, starting from w = 1 (exact answer {}):",
        1.0 + STEPS as f64 * f64::from(UPDATE)
    );
    println!("  f32, round to nearest:               {f32_weight:.4}");
    println!(
        "  bf16, round to nearest:              {:.4}  (every update is below half an ulp: lost)",
        nearest.to_f32()
    );
    println!("  bf16, stochastic (one weight):       {:.4}", values[0]);
    println!("  bf16, stochastic ({WEIGHTS} weights): mean {mean:.4}, standard deviation {sd:.4}");
    println!(
        "  (bf16's spacing at 8..16 is 0.0625; backend: {})",
        lowp::Backend::active().isa()
    );
    Ok(())
}
