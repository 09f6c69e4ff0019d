//! Products with low-precision inputs, accumulated in f64: the yardstick for lowp's f32
//! accumulation. Every bf16/f16/f32 value and every product of two of them is exact in f64
//! (at most 24 + 24 significant bits), so the only error here is f64 summation's, far below
//! the f32 bound the kernels are held to.

/// An element type the products take: widened exactly to f64.
pub trait Widen: Copy {
    /// The exact value.
    fn to_f64(self) -> f64;
}

impl Widen for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Widen for half::bf16 {
    fn to_f64(self) -> f64 {
        self.to_f64()
    }
}

impl Widen for half::f16 {
    fn to_f64(self) -> f64 {
        // `half`'s software conversion: its F16C one, chosen where the target has F16C, is an
        // instruction Miri cannot run.
        self.to_f64_const()
    }
}

/// `(Σ aᵢbᵢ, Σ |aᵢbᵢ|)` over `min(a.len(), b.len())` elements, in f64.
pub fn dot<A: Widen, B: Widen>(a: &[A], b: &[B]) -> (f64, f64) {
    a.iter().zip(b).fold((0.0, 0.0), |(sum, abs), (&x, &y)| {
        let p = x.to_f64() * y.to_f64();
        (sum + p, abs + p.abs())
    })
}

/// The error bound lowp's f32-accumulated dot products meet: `k·u·Σ|aᵢbᵢ| + k·2^-149`
/// with `u = 2^-24`. Each product and partial sum rounds at most once per addition along its
/// path and no path is longer than `k` additions; the absolute term covers gradual underflow,
/// where a result below f32's normal range is off by up to half the smallest subnormal.
pub fn dot_error_bound(k: usize, sum_abs: f64) -> f64 {
    let u = f64::from(f32::EPSILON) / 2.0;
    k as f64 * (u * sum_abs + 2f64.powi(-149))
}

/// The error bound of the bf16 × bf16 GEMM on tiers that use the hardware's bf16 arithmetic
/// (`NeonBf16`'s `BFMMLA`, `Avx512Bf16`'s `vdpbf16ps`): `γ·Σ|aᵢbᵢ| + 4k·2^-126`, with
/// `γ = 2u·n / (1 - 2u·n)` and `n = ⌈k/2⌉ + 1`.
///
/// `BFMMLA` forms each bf16 product exactly, adds the products in pairs and each pair
/// to the accumulator, rounding both additions to odd (off by under one ulp, `2u` relative,
/// instead of half): a product meets at most `n` such roundings on its way to the result, so
/// the relative term is about `(k + 2)·u`, next to `dot_error_bound`'s `k·u`. (`vdpbf16ps`
/// adds the two products one after the other, rounding to nearest each time: `k` roundings
/// of `u`, inside the same `γ`.) Results below f32's normal range (products, pair sums and
/// sums) are flushed to zero, each flush off by less than `2^-126`: at most `2k` of them,
/// doubled for safety. Subnormal *inputs* would be
/// flushed too, and could lose a product entirely; lowp runs such paths only when no input
/// is subnormal.
pub fn bf16_hardware_error_bound(k: usize, sum_abs: f64) -> f64 {
    let two_u = f64::from(f32::EPSILON);
    let n = (k.div_ceil(2) + 1) as f64;
    let gamma = two_u * n / (1.0 - two_u * n);
    gamma * sum_abs + 4.0 * k as f64 * 2f64.powi(-126)
}
