//! `Backend::set_active` changes what the free functions run on. Its own test binary, so no
//! other test sees the process-wide switch.

use half::bf16;
use lowp::fmac::Bf16Gemm;
use lowp::{Backend, Isa};

#[test]
fn set_active_overrides_detection() {
    let choices = [Bf16Gemm::Hardware, Bf16Gemm::WidenFma];
    for backend in Backend::all_supported()
        .into_iter()
        .flat_map(|b| choices.into_iter().filter_map(move |c| b.with_bf16_gemm(c)))
    {
        Backend::set_active(backend);
        // The GEMM choice travels with the tier.
        assert_eq!(Backend::active(), backend);
        assert_eq!(Backend::active().bf16_gemm(), backend.bf16_gemm());
        let mut out = [bf16::ZERO; 33];
        lowp::convert::f32_to_bf16(&[1.5; 33], &mut out).unwrap();
        assert!(out.iter().all(|&v| v == bf16::from_f32(1.5)));
    }
    Backend::set_active(Backend::new(Isa::Scalar).unwrap());
    assert_eq!(Backend::active().isa(), Isa::Scalar);
}
