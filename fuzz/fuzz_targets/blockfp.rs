//! MX blocks on arbitrary f32 bit patterns: every backend gives the reference's blocks,
//! each element is a nearest value of its block's grid (every code tried), quantizing what
//! dequantizing gave changes nothing, and arbitrary scale and code bytes dequantize without a
//! panic, to the same bits on every backend.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lowp::blockfp::{mx_dequantize, mx_quantize, MxFormat};
use lowp::Backend;
use lowp::reference::blockfp::{decode, dequantize_block, quantize_block, scale, BLOCK, NAN_SCALE};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else { return };
    let format = MxFormat::ALL[usize::from(pick) % MxFormat::ALL.len()];
    let x: Vec<f32> = data
        .chunks_exact(4)
        .map(|c| f32::from_bits(u32::from_le_bytes(c.try_into().unwrap())))
        .collect();
    let blocks = format.blocks(x.len());
    let mut scales = vec![0u8; blocks];
    let mut elements = vec![0u8; blocks * format.block_bytes()];
    mx_quantize(format, &x, &mut scales, &mut elements).unwrap();
    for backend in Backend::all_supported() {
        let mut other = (vec![0u8; blocks], vec![0u8; elements.len()]);
        backend.mx_quantize(format, &x, &mut other.0, &mut other.1).unwrap();
        assert_eq!((&other.0, &other.1), (&scales, &elements), "{backend:?} {format}");
    }
    let mut y = vec![0f32; x.len()];
    mx_dequantize(format, &scales, &elements, &mut y).unwrap();

    for (b, block) in x.chunks(BLOCK).enumerate() {
        assert_eq!(scales[b], scale(format, block), "{format} block {b}");
        let got = &y[b * BLOCK..][..block.len()];
        let (s, codes) = quantize_block(format, block);
        assert_eq!(scales[b], s, "{format} block {b}");
        let expected = dequantize_block(format, s, &codes);
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g.to_bits(), e.to_bits(), "{format} block {b}");
        }
        if scales[b] == NAN_SCALE {
            assert!(got.iter().all(|v| v.is_nan()), "{format} block {b}");
            continue;
        }
        let factor = 2f64.powi(i32::from(scales[b]) - 127);
        // Every code but MXINT8's -128, which decodes but is never produced (its range is
        // symmetric, ±127).
        let grid: Vec<f64> = (0..=255u8)
            .filter(|&c| format != MxFormat::Int8 || c != 0x80)
            .map(|c| decode(format, c) * factor)
            .filter(|v| v.is_finite())
            .collect();
        for (&v, &g) in block.iter().zip(got) {
            let error = (f64::from(g) - f64::from(v)).abs();
            let best = grid.iter().map(|p| (p - f64::from(v)).abs()).fold(f64::INFINITY, f64::min);
            assert_eq!(error, best, "{format} {:#010x} -> {g:e}", v.to_bits());
        }
    }

    // Quantizing the dequantized values again gives the same blocks (a block's largest value
    // keeps its binade when rounded, so its scale stays; grid values keep their codes).
    let mut again = (vec![0u8; blocks], vec![0u8; elements.len()]);
    mx_quantize(format, &y, &mut again.0, &mut again.1).unwrap();
    let bytes = format.block_bytes();
    for b in 0..blocks {
        if scales[b] != NAN_SCALE {
            assert_eq!(again.0[b], scales[b], "{format} block {b}");
            assert_eq!(again.1[b * bytes..][..bytes], elements[b * bytes..][..bytes], "{format} block {b}");
        }
    }

    // The same bytes read as scales and codes.
    let raw_blocks = data.len() / (bytes + 1);
    let (raw_scales, raw_elements) = data[..raw_blocks * (bytes + 1)].split_at(raw_blocks);
    let mut out = vec![0f32; raw_blocks * BLOCK];
    mx_dequantize(format, raw_scales, raw_elements, &mut out).unwrap();
    for backend in Backend::all_supported() {
        let mut other = vec![0f32; out.len()];
        backend.mx_dequantize(format, raw_scales, raw_elements, &mut other).unwrap();
        for (a, b) in out.iter().zip(&other) {
            assert_eq!(a.to_bits(), b.to_bits(), "{backend:?} {format}");
        }
    }
});
