//! Differential fuzzing of stochastic rounding and the fused bf16 update: every backend
//! against the per-element reference, on arbitrary values, seeds, global offsets (including
//! near the 2^64 wrap), overflow modes, both generators and slice lengths.
#![no_main]

use half::{bf16, f16};
use libfuzzer_sys::fuzz_target;
use lowp::reference::stochastic as r;
use lowp::{Backend, Generator, Overflow, SrOptions};

fuzz_target!(|data: &[u8]| {
    if data.len() < 21 {
        return;
    }
    let (head, data) = data.split_at(21);
    let seed = u64::from_le_bytes(head[0..8].try_into().unwrap());
    let offset = u64::from_le_bytes(head[8..16].try_into().unwrap());
    let alpha = f32::from_le_bytes(head[16..20].try_into().unwrap());
    let overflow = SrOptions {
        overflow: if head[20] & 1 == 0 { Overflow::Infinity } else { Overflow::Saturate },
        generator: if head[20] & 2 == 0 { Generator::Philox4x32_10 } else { Generator::Ars5 },
    };
    let xs: Vec<f32> = data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    let ws: Vec<bf16> = xs.iter().map(|x| bf16::from_bits(x.to_bits() as u16)).collect();
    let gs: Vec<bf16> = xs.iter().map(|x| bf16::from_bits((x.to_bits() >> 16) as u16)).collect();

    for backend in Backend::all_supported() {
        let mut b = vec![bf16::ZERO; xs.len()];
        let mut h = vec![f16::ZERO; xs.len()];
        backend.f32_to_bf16_stochastic_with(&xs, &mut b, seed, offset, overflow).unwrap();
        backend.f32_to_f16_stochastic_with(&xs, &mut h, seed, offset, overflow).unwrap();
        let mut w32 = ws.clone();
        backend.axpy_bf16_stochastic_with(alpha, &xs, &mut w32, seed, offset, overflow).unwrap();
        let mut w16 = ws.clone();
        backend.axpy_bf16_stochastic_with(alpha, &gs, &mut w16, seed, offset, overflow).unwrap();
        for (i, &x) in xs.iter().enumerate() {
            let index = offset.wrapping_add(i as u64);
            let ctx = || format!("{backend:?} x {:#010x} index {index} {overflow:?}", x.to_bits());
            assert_eq!(b[i].to_bits(), r::f32_to_bf16_stochastic(x, seed, index, overflow).to_bits(), "bf16 {}", ctx());
            assert_eq!(h[i].to_bits(), r::f32_to_f16_stochastic(x, seed, index, overflow).to_bits(), "f16 {}", ctx());
            let want = r::axpy_bf16_stochastic(alpha, x, ws[i], seed, index, overflow);
            assert_eq!(w32[i].to_bits(), want.to_bits(), "axpy f32 {}", ctx());
            let want = r::axpy_bf16_stochastic(alpha, gs[i].to_f32(), ws[i], seed, index, overflow);
            assert_eq!(w16[i].to_bits(), want.to_bits(), "axpy bf16 {}", ctx());
        }
    }
});
