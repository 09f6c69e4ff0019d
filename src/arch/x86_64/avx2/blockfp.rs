//! MX quantization and dequantization eight lanes at a time.
//!
//! Quantizing runs the scalar kernel's integer steps ([`crate::arch::scalar::blockfp`]) in
//! vectors, with per-lane shifts (`vpsrlvd`). A lane holding an f32 subnormal is first
//! converted from its bits as an integer (exactly: the value times 2^149) and its block
//! exponent raised by 149, so that every lane's binade comes from its exponent field, with no
//! leading-zero count and no float arithmetic that MXCSR's flush modes could change. The codes are narrowed to bytes
//! in registers; MXFP4 pairs them into nibbles there too, MXFP6 goes through the scalar bit
//! packer.
//!
//! Dequantizing builds each code's value (MXFP4's 16 by two in-register permutes of the scalar
//! kernel's table, the others from their fields: exact f32s either way) and multiplies it by
//! the block's scale: the scalar kernel's values and product, so its bits. MXFP4 codes are
//! split from their nibbles in registers, MXFP6 codes by the scalar unpacker. (Gathering the
//! values from the table ran at about half the speed on Zen 3.)
//!
//! A partial last block takes the scalar kernels.

use core::arch::x86_64::*;

use crate::arch::scalar::blockfp::{
    code_values, dequantize_codes, floor_log2, pack, quantize_block, scale_factor, unpack, Layout,
};
use crate::blockfp::MxFormat;
use crate::reference::blockfp::{BLOCK, NAN_SCALE};

/// The `mx_quantize` kernel (see [`Kernels`](crate::backend::Kernels)).
///
/// # Safety
/// The CPU has AVX2; `scales.len() == format.blocks(src.len())` and
/// `elements.len() == scales.len() * format.block_bytes()`.
#[target_feature(enable = "avx2")]
pub(in crate::arch::x86_64) unsafe fn quantize(
    format: MxFormat,
    src: &[f32],
    scales: &mut [u8],
    elements: &mut [u8],
) {
    // One loop for MXINT8 and one for the float formats, each without the other's steps.
    if format == MxFormat::Int8 {
        blocks::<true>(format, src, scales, elements)
    } else {
        blocks::<false>(format, src, scales, elements)
    }
}

/// [`quantize`] for MXINT8 (`INT8`) or the float formats.
#[inline]
#[target_feature(enable = "avx2")]
fn blocks<const INT8: bool>(format: MxFormat, src: &[f32], scales: &mut [u8], elements: &mut [u8]) {
    let layout = Layout::of(format);
    let bytes = format.block_bytes();
    let blocks = src.chunks_exact(BLOCK);
    let partial = blocks.remainder();
    for ((block, scale), out) in blocks
        .zip(scales.iter_mut())
        .zip(elements.chunks_exact_mut(bytes))
    {
        let block: &[f32; BLOCK] = block.try_into().expect("chunks of BLOCK");
        let (s, codes) = block_codes::<INT8>(layout, format.emax(), block);
        *scale = s;
        match format.element_bits() {
            8 => {
                // SAFETY: `out` holds the block's 32 bytes; this function enables avx2.
                unsafe { _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, codes) }
            }
            4 => {
                // SAFETY: `out` holds the block's 16 bytes; this function enables avx2.
                unsafe { _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, nibbles(codes)) }
            }
            _ => {
                let mut array = [0u8; BLOCK];
                // SAFETY: `array` holds 32 bytes; this function enables avx2.
                unsafe { _mm256_storeu_si256(array.as_mut_ptr() as *mut __m256i, codes) };
                pack(format.element_bits(), &array, out);
            }
        }
    }
    if !partial.is_empty() {
        let (s, codes) = quantize_block(format, partial);
        let last = scales.len() - 1;
        scales[last] = s;
        pack(format.element_bits(), &codes, &mut elements[last * bytes..]);
    }
}

/// One whole block's scale byte and its 32 codes, a byte each in element order.
#[inline]
#[target_feature(enable = "avx2")]
fn block_codes<const INT8: bool>(layout: Layout, emax: i32, block: &[f32; BLOCK]) -> (u8, __m256i) {
    // SAFETY: four loads of 8 f32 within the 32 of `block`. (No closures here: they do not
    // always stay inline in a target-feature function.)
    let lanes = unsafe {
        let at = block.as_ptr() as *const __m256i;
        [
            _mm256_loadu_si256(at),
            _mm256_loadu_si256(at.add(1)),
            _mm256_loadu_si256(at.add(2)),
            _mm256_loadu_si256(at.add(3)),
        ]
    };
    let magnitude = _mm256_set1_epi32(0x7fff_ffff);
    let mut largest = _mm256_setzero_si256();
    for v in lanes {
        largest = _mm256_max_epu32(largest, _mm256_and_si256(v, magnitude));
    }
    let largest = horizontal_max(largest);
    if largest >= 0x7f80_0000 {
        // An infinity or a NaN.
        return (NAN_SCALE, _mm256_setzero_si256());
    }
    let exponent = if largest == 0 {
        -127
    } else {
        floor_log2(largest) - emax
    };
    let s = exponent.clamp(-127, 127);
    let codes = [
        encode8::<INT8>(layout, lanes[0], s),
        encode8::<INT8>(layout, lanes[1], s),
        encode8::<INT8>(layout, lanes[2], s),
        encode8::<INT8>(layout, lanes[3], s),
    ];
    // Narrowing packs work within 128-bit halves: afterwards dword k holds the codes of
    // vector k % 4, lanes 4·(k / 4)..+4; the permute puts them in element order.
    let words01 = _mm256_packus_epi32(codes[0], codes[1]);
    let words23 = _mm256_packus_epi32(codes[2], codes[3]);
    let bytes = _mm256_packus_epi16(words01, words23);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    ((s + 127) as u8, _mm256_permutevar8x32_epi32(bytes, order))
}

/// The largest of the eight u32 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn horizontal_max(v: __m256i) -> u32 {
    let halves = _mm_max_epu32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let pairs = _mm_max_epu32(halves, _mm_shuffle_epi32::<0b01_00_11_10>(halves));
    let one = _mm_max_epu32(pairs, _mm_shuffle_epi32::<0b10_11_00_01>(pairs));
    _mm_cvtsi128_si32(one) as u32
}

/// The codes (in 0..=255, one per u32 lane) of eight values `x · 2^-s`: the scalar kernel's
/// `encode`, lane by lane; `INT8` says whether `layout` is MXINT8's.
#[inline]
#[target_feature(enable = "avx2")]
fn encode8<const INT8: bool>(layout: Layout, bits: __m256i, s: i32) -> __m256i {
    let one = _mm256_set1_epi32(1);
    let magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7fff_ffff));
    let subnormal = _mm256_cmpeq_epi32(_mm256_srli_epi32::<23>(magnitude), _mm256_setzero_si256());
    // A subnormal's bits, read as an integer below 2^23, converted exactly to a normal f32:
    // the value times 2^149. An integer conversion, so MXCSR's flush modes cannot touch it.
    let lifted = _mm256_castps_si256(_mm256_cvtepi32_ps(magnitude));
    let normal = _mm256_blendv_epi8(magnitude, lifted, subnormal);
    let s = _mm256_add_epi32(
        _mm256_set1_epi32(s),
        _mm256_and_si256(subnormal, _mm256_set1_epi32(149)),
    );
    let significand = _mm256_or_si256(
        _mm256_and_si256(normal, _mm256_set1_epi32(0x7f_ffff)),
        _mm256_set1_epi32(0x80_0000),
    );
    // The value's binade, and its significand's unit (2^base).
    let top = _mm256_sub_epi32(
        _mm256_sub_epi32(_mm256_srli_epi32::<23>(normal), _mm256_set1_epi32(127)),
        s,
    );
    let base = _mm256_sub_epi32(top, _mm256_set1_epi32(23));
    let unit = if INT8 {
        _mm256_set1_epi32(-6)
    } else {
        _mm256_sub_epi32(
            _mm256_max_epi32(top, _mm256_set1_epi32(1 - layout.bias)),
            _mm256_set1_epi32(layout.mantissa_bits),
        )
    };
    let shift = _mm256_min_epi32(_mm256_sub_epi32(unit, base), _mm256_set1_epi32(31));
    let half = _mm256_sub_epi32(_mm256_sllv_epi32(one, _mm256_sub_epi32(shift, one)), one);
    let odd = _mm256_and_si256(_mm256_srlv_epi32(significand, shift), one);
    let rounded = _mm256_add_epi32(_mm256_add_epi32(significand, half), odd);
    let steps = _mm256_srlv_epi32(rounded, shift);
    let code = if INT8 {
        steps
    } else {
        let field = _mm256_max_epi32(
            _mm256_sub_epi32(_mm256_add_epi32(top, _mm256_set1_epi32(layout.bias)), one),
            _mm256_setzero_si256(),
        );
        let field = _mm256_sll_epi32(field, _mm_cvtsi32_si128(layout.mantissa_bits));
        _mm256_add_epi32(field, steps)
    };
    let code = _mm256_min_epu32(code, _mm256_set1_epi32(layout.max_code as i32));
    // ±0 (which `lifted` leaves at 0, and so in the "normal" path above): code 0.
    let zero = _mm256_cmpeq_epi32(magnitude, _mm256_setzero_si256());
    let code = _mm256_andnot_si256(zero, code);
    let negative = _mm256_srai_epi32::<31>(bits);
    if INT8 {
        // Two's complement, in the low byte.
        let signed = _mm256_sub_epi32(_mm256_xor_si256(code, negative), negative);
        _mm256_and_si256(signed, _mm256_set1_epi32(0xff))
    } else {
        let sign = _mm256_set1_epi32(1 << layout.sign_shift);
        _mm256_or_si256(code, _mm256_and_si256(negative, sign))
    }
}

/// 32 codes under 16 (a byte each, in order) as 16 bytes, two codes a byte, the first in the
/// low nibble.
#[inline]
#[target_feature(enable = "avx2")]
fn nibbles(codes: __m256i) -> __m128i {
    // u8 × i8 pairs summed: code[2i] + 16 · code[2i + 1] in each 16-bit lane.
    let pairs = _mm256_maddubs_epi16(codes, _mm256_set1_epi16(0x1001));
    let bytes = _mm256_packus_epi16(pairs, pairs);
    // Each half now holds its 8 bytes twice: take the low quadword of each.
    _mm256_castsi256_si128(_mm256_permute4x64_epi64::<0b1000>(bytes))
}

/// The `mx_dequantize` kernel (see [`Kernels`](crate::backend::Kernels)).
///
/// # Safety
/// The CPU has AVX2; `scales.len() == format.blocks(dst.len())` and
/// `elements.len() == scales.len() * format.block_bytes()`.
#[target_feature(enable = "avx2")]
pub(in crate::arch::x86_64) unsafe fn dequantize(
    format: MxFormat,
    scales: &[u8],
    elements: &[u8],
    dst: &mut [f32],
) {
    // One loop per kind of format, each without the others' steps.
    match format {
        MxFormat::E2M1 => dequantize_blocks::<FP4>(format, scales, elements, dst),
        MxFormat::E3M2 | MxFormat::E2M3 => dequantize_blocks::<FP6>(format, scales, elements, dst),
        MxFormat::E4M3 => dequantize_blocks::<E4M3>(format, scales, elements, dst),
        MxFormat::E5M2 => dequantize_blocks::<E5M2>(format, scales, elements, dst),
        MxFormat::Int8 => dequantize_blocks::<INT8>(format, scales, elements, dst),
    }
}

/// The kinds of format [`dequantize_blocks`] and [`decode8`] tell apart.
const FP4: u8 = 0;
const FP6: u8 = 1;
const E4M3: u8 = 2;
const E5M2: u8 = 3;
const INT8: u8 = 4;

/// [`dequantize`] for one kind of format.
#[inline]
#[target_feature(enable = "avx2")]
fn dequantize_blocks<const KIND: u8>(
    format: MxFormat,
    scales: &[u8],
    elements: &[u8],
    dst: &mut [f32],
) {
    let table = code_values(format);
    let layout = Layout::of(format);
    let bits = format.element_bits();
    let bytes = format.block_bytes();
    let mut blocks = dst.chunks_exact_mut(BLOCK);
    for ((out, &scale), packed) in (&mut blocks).zip(scales).zip(elements.chunks_exact(bytes)) {
        if scale == NAN_SCALE {
            out.fill(f32::NAN);
            continue;
        }
        let factor = _mm256_set1_ps(scale_factor(scale));
        let unpacked;
        let codes: &[u8] = if KIND == FP6 {
            unpacked = unpack(bits, packed);
            &unpacked
        } else {
            packed
        };
        for part in 0..4 {
            // SAFETY: 8 bytes at 8·part of the block's 32 (or 4 at 4·part of MXFP4's 16);
            // every code is below 256, the table's length; 8 stores at 8·part of the block's
            // 32 floats; this function enables avx2.
            unsafe {
                let lanes = if KIND == FP4 {
                    nibble_lanes(codes.as_ptr().add(4 * part))
                } else {
                    let eight = _mm_loadl_epi64(codes.as_ptr().add(8 * part) as *const __m128i);
                    _mm256_cvtepu8_epi32(eight)
                };
                let values = if KIND == FP4 {
                    lookup16(table, lanes)
                } else {
                    decode8::<KIND>(layout, lanes)
                };
                let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(values, values);
                let scaled = _mm256_mul_ps(values, factor);
                let y = _mm256_blendv_ps(scaled, _mm256_set1_ps(f32::NAN), nan);
                _mm256_storeu_ps(out.as_mut_ptr().add(8 * part), y);
            }
        }
    }
    let rest = blocks.into_remainder();
    if !rest.is_empty() {
        let last = scales.len() - 1;
        let codes = unpack(bits, &elements[last * bytes..]);
        dequantize_codes(table, scales[last], &codes, rest);
    }
}

/// The eight MXFP4 codes in the 4 bytes at `at`, one per u32 lane, in element order.
///
/// # Safety
/// `at` is valid for reading 4 bytes; the CPU has avx2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn nibble_lanes(at: *const u8) -> __m256i {
    // SAFETY: per the function's contract.
    let four = unsafe { _mm_cvtsi32_si128((at as *const i32).read_unaligned()) };
    // Each byte twice, widened: lanes b0, b0, b1, b1, ...; then low nibble, high nibble.
    let doubled = _mm256_cvtepu8_epi32(_mm_unpacklo_epi8(four, four));
    let shifted = _mm256_srlv_epi32(doubled, _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4));
    _mm256_and_si256(shifted, _mm256_set1_epi32(0xf))
}

/// `table[code]` for eight codes under 16, from registers: entries 0..8 and 8..16 each by
/// one permute, chosen by the code's bit 3.
#[inline]
#[target_feature(enable = "avx2")]
fn lookup16(table: &[f32; 256], codes: __m256i) -> __m256 {
    let low: &[f32; 8] = table[..8].try_into().expect("8 entries");
    let high: &[f32; 8] = table[8..16].try_into().expect("8 entries");
    // SAFETY: two loads of 8 floats from arrays of 8.
    let (low, high) = unsafe {
        (
            _mm256_loadu_ps(low.as_ptr()),
            _mm256_loadu_ps(high.as_ptr()),
        )
    };
    let from_low = _mm256_permutevar8x32_ps(low, codes);
    let from_high = _mm256_permutevar8x32_ps(high, codes);
    // Bit 3 moved to the sign bit, which is what the blend reads.
    let upper = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(codes));
    _mm256_blendv_ps(from_low, from_high, upper)
}

/// The values (exact f32s, as in the scalar kernel's table) of eight codes of a `KIND`
/// format (not MXFP4), one per u32 lane: sign, exponent and mantissa fields placed in an
/// f32, subnormal codes converted from their mantissa; E4M3's and E5M2's NaN codes give NaN,
/// E5M2's infinities ±Inf.
#[inline]
#[target_feature(enable = "avx2")]
fn decode8<const KIND: u8>(layout: Layout, codes: __m256i) -> __m256 {
    if KIND == INT8 {
        let signed = _mm256_srai_epi32::<24>(_mm256_slli_epi32::<24>(codes));
        return _mm256_mul_ps(_mm256_cvtepi32_ps(signed), _mm256_set1_ps(1.0 / 64.0));
    }
    let mantissa_bits = layout.mantissa_bits;
    let exponent_bits = layout.sign_shift as i32 - mantissa_bits;
    let sign = _mm256_slli_epi32::<31>(_mm256_srl_epi32(
        codes,
        _mm_cvtsi32_si128(layout.sign_shift as i32),
    ));
    let exponent = _mm256_and_si256(
        _mm256_srl_epi32(codes, _mm_cvtsi32_si128(mantissa_bits)),
        _mm256_set1_epi32((1 << exponent_bits) - 1),
    );
    let mantissa = _mm256_and_si256(codes, _mm256_set1_epi32((1 << mantissa_bits) - 1));
    let normal = _mm256_or_si256(
        _mm256_slli_epi32::<23>(_mm256_add_epi32(
            exponent,
            _mm256_set1_epi32(127 - layout.bias),
        )),
        _mm256_sll_epi32(mantissa, _mm_cvtsi32_si128(23 - mantissa_bits)),
    );
    // Subnormal codes: mantissa · 2^(1 - bias - mantissa bits), exact.
    let unit = f32::from_bits(((128 - layout.bias - mantissa_bits) as u32) << 23);
    let subnormal = _mm256_mul_ps(_mm256_cvtepi32_ps(mantissa), _mm256_set1_ps(unit));
    let is_subnormal = _mm256_cmpeq_epi32(exponent, _mm256_setzero_si256());
    let mut magnitude = _mm256_blendv_ps(
        _mm256_castsi256_ps(normal),
        subnormal,
        _mm256_castsi256_ps(is_subnormal),
    );
    if KIND == E4M3 {
        let nan = _mm256_cmpeq_epi32(
            _mm256_and_si256(codes, _mm256_set1_epi32(0x7f)),
            _mm256_set1_epi32(0x7f),
        );
        magnitude = _mm256_blendv_ps(
            magnitude,
            _mm256_set1_ps(f32::NAN),
            _mm256_castsi256_ps(nan),
        );
    } else if KIND == E5M2 {
        let top = _mm256_cmpeq_epi32(exponent, _mm256_set1_epi32((1 << exponent_bits) - 1));
        let empty = _mm256_cmpeq_epi32(mantissa, _mm256_setzero_si256());
        let special = _mm256_blendv_ps(
            _mm256_set1_ps(f32::NAN),
            _mm256_set1_ps(f32::INFINITY),
            _mm256_castsi256_ps(empty),
        );
        magnitude = _mm256_blendv_ps(magnitude, special, _mm256_castsi256_ps(top));
    }
    _mm256_or_ps(magnitude, _mm256_castsi256_ps(sign))
}
