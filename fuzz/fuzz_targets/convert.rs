//! Differential fuzzing of the conversions: every backend against the reference, on arbitrary
//! bit patterns, lengths and start offsets.
#![no_main]

use half::{bf16, f16};
use libfuzzer_sys::fuzz_target;
use lowp::reference::convert as r;
use lowp::Backend;

fuzz_target!(|data: &[u8]| {
    let Some((&offset, data)) = data.split_first() else { return };
    // Start 0..3 elements in, so vector bodies see misaligned slices.
    let offset = usize::from(offset % 4);
    let words: Vec<u32> = data.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    let halves: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_le_bytes(c.try_into().unwrap())).collect();
    let floats: Vec<f32> = words.iter().map(|&w| f32::from_bits(w)).collect();
    let floats = &floats[offset.min(floats.len())..];
    let bf: Vec<bf16> = halves.iter().map(|&h| bf16::from_bits(h)).collect();
    let hf: Vec<f16> = halves.iter().map(|&h| f16::from_bits(h)).collect();
    let (bf, hf) = (&bf[offset.min(bf.len())..], &hf[offset.min(hf.len())..]);

    for backend in Backend::all_supported() {
        let mut out_b = vec![bf16::ZERO; floats.len()];
        backend.f32_to_bf16(floats, &mut out_b).unwrap();
        let mut out_h = vec![f16::ZERO; floats.len()];
        backend.f32_to_f16(floats, &mut out_h).unwrap();
        for (i, &x) in floats.iter().enumerate() {
            assert_eq!(out_b[i].to_bits(), r::f32_to_bf16(x).to_bits(), "{backend:?} f32_to_bf16 {:#010x}", x.to_bits());
            assert_eq!(out_h[i].to_bits(), r::f32_to_f16(x).to_bits(), "{backend:?} f32_to_f16 {:#010x}", x.to_bits());
        }
        let mut wide = vec![0f32; bf.len()];
        backend.bf16_to_f32(bf, &mut wide).unwrap();
        for (x, y) in bf.iter().zip(&wide) {
            assert_eq!(y.to_bits(), r::bf16_to_f32(*x).to_bits(), "{backend:?} bf16_to_f32 {:#06x}", x.to_bits());
        }
        backend.f16_to_f32(hf, &mut wide).unwrap();
        for (x, y) in hf.iter().zip(&wide) {
            assert_eq!(y.to_bits(), r::f16_to_f32(*x).to_bits(), "{backend:?} f16_to_f32 {:#06x}", x.to_bits());
        }
        // A length mismatch is an error, never a partial write past the end.
        if !floats.is_empty() {
            let mut short = vec![bf16::ZERO; floats.len() - 1];
            assert!(backend.f32_to_bf16(floats, &mut short).is_err());
        }
    }
});
