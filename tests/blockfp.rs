//! MX blocks: the element encoders against the shared vectors and an independent
//! nearest-code search, the scale rule, the shared MX block example, packing, partial blocks,
//! special values and the length errors.

mod common;

use lowp::blockfp::{mx_dequantize, mx_quantize, MxFormat};
use lowp::reference::blockfp::{decode, dequantize_block, encode, quantize_block, scale, BLOCK};
use lowp::{Error, Overflow};
use proptest::prelude::*;

/// `shared/data/format-vectors.md`, the e4m3fn, e5m2, e2m1fn, e3m2fn and e2m3fn tables:
/// (format, f32 input, `ref ieee`, `ref sat`); `None` where the format has no NaN.
const ELEMENT_VECTORS: &[(MxFormat, u32, Option<u8>, Option<u8>)] = &[
    // e4m3fn
    (MxFormat::E4M3, 0x00000000, Some(0x00), Some(0x00)), // +0
    (MxFormat::E4M3, 0x80000000, Some(0x80), Some(0x80)), // -0
    (MxFormat::E4M3, 0x00000001, Some(0x00), Some(0x00)), // min f32 subnormal
    (MxFormat::E4M3, 0x807fffff, Some(0x80), Some(0x80)), // -max f32 subnormal
    (MxFormat::E4M3, 0x3f800000, Some(0x38), Some(0x38)), // 1.0
    (MxFormat::E4M3, 0xbf800000, Some(0xb8), Some(0xb8)), // -1.0
    (MxFormat::E4M3, 0x3f880000, Some(0x38), Some(0x38)), // 1+ulp/2 (tie, even down)
    (MxFormat::E4M3, 0x3f980000, Some(0x3a), Some(0x3a)), // 1+1.5ulp (tie, odd->up)
    (MxFormat::E4M3, 0x3f840000, Some(0x38), Some(0x38)), // 1+ulp/4
    (MxFormat::E4M3, 0x3c800000, Some(0x08), Some(0x08)), // target min normal
    (MxFormat::E4M3, 0x3b000000, Some(0x01), Some(0x01)), // target min subnormal
    (MxFormat::E4M3, 0x3a800000, Some(0x00), Some(0x00)), // half min subnormal (tie->0)
    (MxFormat::E4M3, 0x3b400000, Some(0x02), Some(0x02)), // 1.5*min subnormal (tie->even 2*ms)
    (MxFormat::E4M3, 0x3a800008, Some(0x01), Some(0x01)), // just above half min subnormal
    (MxFormat::E4M3, 0x3c700000, Some(0x08), Some(0x08)), // max subnormal + half ulp (tie -> min normal)
    (MxFormat::E4M3, 0x43e00000, Some(0x7e), Some(0x7e)), // target max finite
    (MxFormat::E4M3, 0xc3e00000, Some(0xfe), Some(0xfe)), // -(target max finite)
    (MxFormat::E4M3, 0x43e80000, Some(0x7e), Some(0x7e)), // max + ulp/2 (overflow tie)
    (MxFormat::E4M3, 0xc3e80000, Some(0xfe), Some(0xfe)), // -(max + ulp/2 (overflow tie))
    (MxFormat::E4M3, 0x43e40000, Some(0x7e), Some(0x7e)), // max + ulp/4
    (MxFormat::E4M3, 0xc3e40000, Some(0xfe), Some(0xfe)), // -(max + ulp/4)
    (MxFormat::E4M3, 0x43f00000, Some(0x7f), Some(0x7e)), // max + ulp
    (MxFormat::E4M3, 0xc3f00000, Some(0xff), Some(0xfe)), // -(max + ulp)
    (MxFormat::E4M3, 0x7f800000, Some(0x7f), Some(0x7e)), // +inf
    (MxFormat::E4M3, 0xff800000, Some(0xff), Some(0xfe)), // -inf
    (MxFormat::E4M3, 0x7fc00000, Some(0x7f), Some(0x7f)), // qNaN
    (MxFormat::E4M3, 0xffc00000, Some(0xff), Some(0xff)), // -qNaN (x86 default NaN)
    (MxFormat::E4M3, 0x7f800001, Some(0x7f), Some(0x7f)), // sNaN payload only in low bits
    (MxFormat::E4M3, 0x7fa00000, Some(0x7f), Some(0x7f)), // sNaN payload bit 21
    (MxFormat::E4M3, 0x7fffffff, Some(0x7f), Some(0x7f)), // NaN all-ones payload
    // e5m2
    (MxFormat::E5M2, 0x00000000, Some(0x00), Some(0x00)), // +0
    (MxFormat::E5M2, 0x80000000, Some(0x80), Some(0x80)), // -0
    (MxFormat::E5M2, 0x00000001, Some(0x00), Some(0x00)), // min f32 subnormal
    (MxFormat::E5M2, 0x807fffff, Some(0x80), Some(0x80)), // -max f32 subnormal
    (MxFormat::E5M2, 0x3f800000, Some(0x3c), Some(0x3c)), // 1.0
    (MxFormat::E5M2, 0xbf800000, Some(0xbc), Some(0xbc)), // -1.0
    (MxFormat::E5M2, 0x3f900000, Some(0x3c), Some(0x3c)), // 1+ulp/2 (tie, even down)
    (MxFormat::E5M2, 0x3fb00000, Some(0x3e), Some(0x3e)), // 1+1.5ulp (tie, odd->up)
    (MxFormat::E5M2, 0x3f880000, Some(0x3c), Some(0x3c)), // 1+ulp/4
    (MxFormat::E5M2, 0x38800000, Some(0x04), Some(0x04)), // target min normal
    (MxFormat::E5M2, 0x37800000, Some(0x01), Some(0x01)), // target min subnormal
    (MxFormat::E5M2, 0x37000000, Some(0x00), Some(0x00)), // half min subnormal (tie->0)
    (MxFormat::E5M2, 0x37c00000, Some(0x02), Some(0x02)), // 1.5*min subnormal (tie->even 2*ms)
    (MxFormat::E5M2, 0x37000008, Some(0x01), Some(0x01)), // just above half min subnormal
    (MxFormat::E5M2, 0x38600000, Some(0x04), Some(0x04)), // max subnormal + half ulp (tie -> min normal)
    (MxFormat::E5M2, 0x47600000, Some(0x7b), Some(0x7b)), // target max finite
    (MxFormat::E5M2, 0xc7600000, Some(0xfb), Some(0xfb)), // -(target max finite)
    (MxFormat::E5M2, 0x47700000, Some(0x7c), Some(0x7b)), // max + ulp/2 (overflow tie)
    (MxFormat::E5M2, 0xc7700000, Some(0xfc), Some(0xfb)), // -(max + ulp/2 (overflow tie))
    (MxFormat::E5M2, 0x47680000, Some(0x7b), Some(0x7b)), // max + ulp/4
    (MxFormat::E5M2, 0xc7680000, Some(0xfb), Some(0xfb)), // -(max + ulp/4)
    (MxFormat::E5M2, 0x47800000, Some(0x7c), Some(0x7b)), // max + ulp
    (MxFormat::E5M2, 0xc7800000, Some(0xfc), Some(0xfb)), // -(max + ulp)
    (MxFormat::E5M2, 0x7f800000, Some(0x7c), Some(0x7b)), // +inf
    (MxFormat::E5M2, 0xff800000, Some(0xfc), Some(0xfb)), // -inf
    (MxFormat::E5M2, 0x7fc00000, Some(0x7e), Some(0x7e)), // qNaN
    (MxFormat::E5M2, 0xffc00000, Some(0xfe), Some(0xfe)), // -qNaN (x86 default NaN)
    (MxFormat::E5M2, 0x7f800001, Some(0x7e), Some(0x7e)), // sNaN payload only in low bits
    (MxFormat::E5M2, 0x7fa00000, Some(0x7f), Some(0x7f)), // sNaN payload bit 21
    (MxFormat::E5M2, 0x7fffffff, Some(0x7f), Some(0x7f)), // NaN all-ones payload
    // e2m1fn
    (MxFormat::E2M1, 0x00000000, Some(0x0), Some(0x0)), // +0
    (MxFormat::E2M1, 0x80000000, Some(0x8), Some(0x8)), // -0
    (MxFormat::E2M1, 0x00000001, Some(0x0), Some(0x0)), // min f32 subnormal
    (MxFormat::E2M1, 0x807fffff, Some(0x8), Some(0x8)), // -max f32 subnormal
    (MxFormat::E2M1, 0x3f800000, Some(0x2), Some(0x2)), // 1.0
    (MxFormat::E2M1, 0xbf800000, Some(0xa), Some(0xa)), // -1.0
    (MxFormat::E2M1, 0x3fa00000, Some(0x2), Some(0x2)), // 1+ulp/2 (tie, even down)
    (MxFormat::E2M1, 0x3fe00000, Some(0x4), Some(0x4)), // 1+1.5ulp (tie, odd->up)
    (MxFormat::E2M1, 0x3f900000, Some(0x2), Some(0x2)), // 1+ulp/4
    (MxFormat::E2M1, 0x3f800000, Some(0x2), Some(0x2)), // target min normal
    (MxFormat::E2M1, 0x3f000000, Some(0x1), Some(0x1)), // target min subnormal
    (MxFormat::E2M1, 0x3e800000, Some(0x0), Some(0x0)), // half min subnormal (tie->0)
    (MxFormat::E2M1, 0x3f400000, Some(0x2), Some(0x2)), // 1.5*min subnormal (tie->even 2*ms)
    (MxFormat::E2M1, 0x3e800008, Some(0x1), Some(0x1)), // just above half min subnormal
    (MxFormat::E2M1, 0x3f400000, Some(0x2), Some(0x2)), // max subnormal + half ulp (tie -> min normal)
    (MxFormat::E2M1, 0x40c00000, Some(0x7), Some(0x7)), // target max finite
    (MxFormat::E2M1, 0xc0c00000, Some(0xf), Some(0xf)), // -(target max finite)
    (MxFormat::E2M1, 0x40e00000, Some(0x7), Some(0x7)), // max + ulp/2 (overflow tie)
    (MxFormat::E2M1, 0xc0e00000, Some(0xf), Some(0xf)), // -(max + ulp/2 (overflow tie))
    (MxFormat::E2M1, 0x40d00000, Some(0x7), Some(0x7)), // max + ulp/4
    (MxFormat::E2M1, 0xc0d00000, Some(0xf), Some(0xf)), // -(max + ulp/4)
    (MxFormat::E2M1, 0x41000000, Some(0x7), Some(0x7)), // max + ulp
    (MxFormat::E2M1, 0xc1000000, Some(0xf), Some(0xf)), // -(max + ulp)
    (MxFormat::E2M1, 0x7f800000, Some(0x7), Some(0x7)), // +inf
    (MxFormat::E2M1, 0xff800000, Some(0xf), Some(0xf)), // -inf
    (MxFormat::E2M1, 0x7fc00000, None, None),           // qNaN
    (MxFormat::E2M1, 0xffc00000, None, None),           // -qNaN (x86 default NaN)
    (MxFormat::E2M1, 0x7f800001, None, None),           // sNaN payload only in low bits
    (MxFormat::E2M1, 0x7fa00000, None, None),           // sNaN payload bit 21
    (MxFormat::E2M1, 0x7fffffff, None, None),           // NaN all-ones payload
    // e3m2fn
    (MxFormat::E3M2, 0x00000000, Some(0x00), Some(0x00)), // +0
    (MxFormat::E3M2, 0x80000000, Some(0x20), Some(0x20)), // -0
    (MxFormat::E3M2, 0x00000001, Some(0x00), Some(0x00)), // min f32 subnormal
    (MxFormat::E3M2, 0x807fffff, Some(0x20), Some(0x20)), // -max f32 subnormal
    (MxFormat::E3M2, 0x3f800000, Some(0x0c), Some(0x0c)), // 1.0
    (MxFormat::E3M2, 0xbf800000, Some(0x2c), Some(0x2c)), // -1.0
    (MxFormat::E3M2, 0x3f900000, Some(0x0c), Some(0x0c)), // 1+ulp/2 (tie, even down)
    (MxFormat::E3M2, 0x3fb00000, Some(0x0e), Some(0x0e)), // 1+1.5ulp (tie, odd->up)
    (MxFormat::E3M2, 0x3f880000, Some(0x0c), Some(0x0c)), // 1+ulp/4
    (MxFormat::E3M2, 0x3e800000, Some(0x04), Some(0x04)), // target min normal
    (MxFormat::E3M2, 0x3d800000, Some(0x01), Some(0x01)), // target min subnormal
    (MxFormat::E3M2, 0x3d000000, Some(0x00), Some(0x00)), // half min subnormal (tie->0)
    (MxFormat::E3M2, 0x3dc00000, Some(0x02), Some(0x02)), // 1.5*min subnormal (tie->even 2*ms)
    (MxFormat::E3M2, 0x3d000008, Some(0x01), Some(0x01)), // just above half min subnormal
    (MxFormat::E3M2, 0x3e600000, Some(0x04), Some(0x04)), // max subnormal + half ulp (tie -> min normal)
    (MxFormat::E3M2, 0x41e00000, Some(0x1f), Some(0x1f)), // target max finite
    (MxFormat::E3M2, 0xc1e00000, Some(0x3f), Some(0x3f)), // -(target max finite)
    (MxFormat::E3M2, 0x41f00000, Some(0x1f), Some(0x1f)), // max + ulp/2 (overflow tie)
    (MxFormat::E3M2, 0xc1f00000, Some(0x3f), Some(0x3f)), // -(max + ulp/2 (overflow tie))
    (MxFormat::E3M2, 0x41e80000, Some(0x1f), Some(0x1f)), // max + ulp/4
    (MxFormat::E3M2, 0xc1e80000, Some(0x3f), Some(0x3f)), // -(max + ulp/4)
    (MxFormat::E3M2, 0x42000000, Some(0x1f), Some(0x1f)), // max + ulp
    (MxFormat::E3M2, 0xc2000000, Some(0x3f), Some(0x3f)), // -(max + ulp)
    (MxFormat::E3M2, 0x7f800000, Some(0x1f), Some(0x1f)), // +inf
    (MxFormat::E3M2, 0xff800000, Some(0x3f), Some(0x3f)), // -inf
    (MxFormat::E3M2, 0x7fc00000, None, None),             // qNaN
    (MxFormat::E3M2, 0xffc00000, None, None),             // -qNaN (x86 default NaN)
    (MxFormat::E3M2, 0x7f800001, None, None),             // sNaN payload only in low bits
    (MxFormat::E3M2, 0x7fa00000, None, None),             // sNaN payload bit 21
    (MxFormat::E3M2, 0x7fffffff, None, None),             // NaN all-ones payload
    // e2m3fn
    (MxFormat::E2M3, 0x00000000, Some(0x00), Some(0x00)), // +0
    (MxFormat::E2M3, 0x80000000, Some(0x20), Some(0x20)), // -0
    (MxFormat::E2M3, 0x00000001, Some(0x00), Some(0x00)), // min f32 subnormal
    (MxFormat::E2M3, 0x807fffff, Some(0x20), Some(0x20)), // -max f32 subnormal
    (MxFormat::E2M3, 0x3f800000, Some(0x08), Some(0x08)), // 1.0
    (MxFormat::E2M3, 0xbf800000, Some(0x28), Some(0x28)), // -1.0
    (MxFormat::E2M3, 0x3f880000, Some(0x08), Some(0x08)), // 1+ulp/2 (tie, even down)
    (MxFormat::E2M3, 0x3f980000, Some(0x0a), Some(0x0a)), // 1+1.5ulp (tie, odd->up)
    (MxFormat::E2M3, 0x3f840000, Some(0x08), Some(0x08)), // 1+ulp/4
    (MxFormat::E2M3, 0x3f800000, Some(0x08), Some(0x08)), // target min normal
    (MxFormat::E2M3, 0x3e000000, Some(0x01), Some(0x01)), // target min subnormal
    (MxFormat::E2M3, 0x3d800000, Some(0x00), Some(0x00)), // half min subnormal (tie->0)
    (MxFormat::E2M3, 0x3e400000, Some(0x02), Some(0x02)), // 1.5*min subnormal (tie->even 2*ms)
    (MxFormat::E2M3, 0x3d800008, Some(0x01), Some(0x01)), // just above half min subnormal
    (MxFormat::E2M3, 0x3f700000, Some(0x08), Some(0x08)), // max subnormal + half ulp (tie -> min normal)
    (MxFormat::E2M3, 0x40f00000, Some(0x1f), Some(0x1f)), // target max finite
    (MxFormat::E2M3, 0xc0f00000, Some(0x3f), Some(0x3f)), // -(target max finite)
    (MxFormat::E2M3, 0x40f80000, Some(0x1f), Some(0x1f)), // max + ulp/2 (overflow tie)
    (MxFormat::E2M3, 0xc0f80000, Some(0x3f), Some(0x3f)), // -(max + ulp/2 (overflow tie))
    (MxFormat::E2M3, 0x40f40000, Some(0x1f), Some(0x1f)), // max + ulp/4
    (MxFormat::E2M3, 0xc0f40000, Some(0x3f), Some(0x3f)), // -(max + ulp/4)
    (MxFormat::E2M3, 0x41000000, Some(0x1f), Some(0x1f)), // max + ulp
    (MxFormat::E2M3, 0xc1000000, Some(0x3f), Some(0x3f)), // -(max + ulp)
    (MxFormat::E2M3, 0x7f800000, Some(0x1f), Some(0x1f)), // +inf
    (MxFormat::E2M3, 0xff800000, Some(0x3f), Some(0x3f)), // -inf
    (MxFormat::E2M3, 0x7fc00000, None, None),             // qNaN
    (MxFormat::E2M3, 0xffc00000, None, None),             // -qNaN (x86 default NaN)
    (MxFormat::E2M3, 0x7f800001, None, None),             // sNaN payload only in low bits
    (MxFormat::E2M3, 0x7fa00000, None, None),             // sNaN payload bit 21
    (MxFormat::E2M3, 0x7fffffff, None, None),             // NaN all-ones payload
];

/// `format-vectors.md`, "Decode tables": each format's positive codes in order, as printed
/// there (six significant digits).
const DECODE_TABLES: &[(MxFormat, &str)] = &[
    (MxFormat::E4M3, "0, 0.00195312, 0.00390625, 0.00585938, 0.0078125, 0.00976562, 0.0117188, 0.0136719, 0.015625, 0.0175781, 0.0195312, 0.0214844, 0.0234375, 0.0253906, 0.0273438, 0.0292969, 0.03125, 0.0351562, 0.0390625, 0.0429688, 0.046875, 0.0507812, 0.0546875, 0.0585938, 0.0625, 0.0703125, 0.078125, 0.0859375, 0.09375, 0.101562, 0.109375, 0.117188, 0.125, 0.140625, 0.15625, 0.171875, 0.1875, 0.203125, 0.21875, 0.234375, 0.25, 0.28125, 0.3125, 0.34375, 0.375, 0.40625, 0.4375, 0.46875, 0.5, 0.5625, 0.625, 0.6875, 0.75, 0.8125, 0.875, 0.9375, 1, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 3.75, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 26, 28, 30, 32, 36, 40, 44, 48, 52, 56, 60, 64, 72, 80, 88, 96, 104, 112, 120, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, nan"),
    (MxFormat::E5M2, "0, 1.52588e-05, 3.05176e-05, 4.57764e-05, 6.10352e-05, 7.62939e-05, 9.15527e-05, 0.000106812, 0.00012207, 0.000152588, 0.000183105, 0.000213623, 0.000244141, 0.000305176, 0.000366211, 0.000427246, 0.000488281, 0.000610352, 0.000732422, 0.000854492, 0.000976562, 0.0012207, 0.00146484, 0.00170898, 0.00195312, 0.00244141, 0.00292969, 0.00341797, 0.00390625, 0.00488281, 0.00585938, 0.00683594, 0.0078125, 0.00976562, 0.0117188, 0.0136719, 0.015625, 0.0195312, 0.0234375, 0.0273438, 0.03125, 0.0390625, 0.046875, 0.0546875, 0.0625, 0.078125, 0.09375, 0.109375, 0.125, 0.15625, 0.1875, 0.21875, 0.25, 0.3125, 0.375, 0.4375, 0.5, 0.625, 0.75, 0.875, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768, 40960, 49152, 57344, inf, nan, nan, nan"),
    (MxFormat::E2M1, "0, 0.5, 1, 1.5, 2, 3, 4, 6"),
    (MxFormat::E3M2, "0, 0.0625, 0.125, 0.1875, 0.25, 0.3125, 0.375, 0.4375, 0.5, 0.625, 0.75, 0.875, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28"),
    (MxFormat::E2M3, "0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875, 2, 2.25, 2.5, 2.75, 3, 3.25, 3.5, 3.75, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5"),
];

const FLOAT_FORMATS: [MxFormat; 5] = [
    MxFormat::E4M3,
    MxFormat::E5M2,
    MxFormat::E3M2,
    MxFormat::E2M3,
    MxFormat::E2M1,
];

#[test]
fn elements_match_the_shared_vectors() {
    for &(format, bits, ieee, sat) in ELEMENT_VECTORS {
        let x = f32::from_bits(bits);
        let got = encode(format, x, 0, Overflow::Infinity);
        assert_eq!(got, ieee, "{format} ieee {bits:#010x}");
        let got = encode(format, x, 0, Overflow::Saturate);
        assert_eq!(got, sat, "{format} sat {bits:#010x}");
    }
}

#[test]
fn decoding_matches_the_shared_tables() {
    for &(format, table) in DECODE_TABLES {
        let sign = 1u8 << (format.element_bits() - 1);
        let values: Vec<f64> = table.split(", ").map(|v| v.parse().unwrap()).collect();
        assert_eq!(values.len(), 1 << (format.element_bits() - 1), "{format}");
        for (code, &printed) in values.iter().enumerate() {
            let code = code as u8;
            for (code, printed) in [(code, printed), (code | sign, -printed)] {
                let got = decode(format, code);
                if printed.is_nan() {
                    assert!(got.is_nan(), "{format} {code:#04x}");
                } else {
                    // Six significant digits: within 5e-6 relative.
                    let close = got == printed || (got - printed).abs() <= 5e-6 * printed.abs();
                    assert!(
                        close && got.signum() == printed.signum(),
                        "{format} {code:#04x}: {got}"
                    );
                }
            }
        }
    }
}

/// Each format's finite non-negative values with their codes, ascending.
fn finite_values(format: MxFormat) -> Vec<(f64, u8)> {
    let half = 1u16 << (format.element_bits() - 1);
    (0..half)
        .map(|code| (decode(format, code as u8), code as u8))
        .filter(|(v, _)| v.is_finite())
        .collect()
}

/// The f32 one step above (`up`) or below `x > 0`.
fn step(x: f32, up: bool) -> f32 {
    f32::from_bits(if up { x.to_bits() + 1 } else { x.to_bits() - 1 })
}

/// Every rounding boundary of every float format, at several block exponents, against what
/// the decode table implies: a representable value keeps its code, one f32 step either side
/// of a midpoint goes to that side's code, the midpoint to the even code (ties to even), and
/// the same mirrored for negative inputs.
#[test]
fn encoding_rounds_to_the_nearest_code_ties_to_even() {
    for format in FLOAT_FORMATS {
        let values = finite_values(format);
        let sign = 1u8 << (format.element_bits() - 1);
        for exponent in [-100, -9, 0, 5, 127] {
            let scale = 2f64.powi(-exponent);
            let as_f32 = |v: f64| {
                let x = (v * scale) as f32;
                (f64::from(x) == v * scale).then_some(x)
            };
            let check = |x: f32, code: u8, what: &str| {
                for mode in [Overflow::Infinity, Overflow::Saturate] {
                    let got = encode(format, x, exponent, mode);
                    assert_eq!(got, Some(code), "{format} 2^{exponent} {what} {x:e}");
                    let got = encode(format, -x, exponent, mode);
                    assert_eq!(
                        got,
                        Some(code | sign),
                        "{format} 2^{exponent} -{what} {x:e}"
                    );
                }
            };
            for pair in values.windows(2) {
                let ((low, low_code), (high, high_code)) = (pair[0], pair[1]);
                let Some(x) = as_f32(low) else { continue };
                check(x, low_code, "value");
                let Some(mid) = as_f32((low + high) / 2.0) else {
                    continue;
                };
                let even = if low_code % 2 == 0 {
                    low_code
                } else {
                    high_code
                };
                check(mid, even, "midpoint");
                check(step(mid, true), high_code, "above midpoint");
                check(step(mid, false), low_code, "below midpoint");
            }
        }
    }
}

/// Past the largest finite value: the overflow tie and beyond, in both modes.
#[test]
fn overflow_saturates_or_gives_what_the_format_has() {
    for format in FLOAT_FORMATS {
        let values = finite_values(format);
        let (max, max_code) = *values.last().unwrap();
        let (below, _) = values[values.len() - 2];
        let ulp = max - below;
        let tie = (max + ulp / 2.0) as f32;
        let ieee = match format {
            MxFormat::E5M2 => 0x7c,
            MxFormat::E4M3 => 0x7f,
            _ => max_code,
        };
        // The tie between the largest value and one step past it goes to the even code: up,
        // an overflow, when the largest code is odd (E5M2, E2M1), down when even (E4M3).
        let tie_up = max_code % 2 == 1;
        for (x, overflows) in [(tie, tie_up), (step(tie, true), true), (f32::MAX, true)] {
            let expected_ieee = if overflows { ieee } else { max_code };
            assert_eq!(
                encode(format, x, 0, Overflow::Infinity),
                Some(expected_ieee),
                "{format} {x:e}"
            );
            assert_eq!(
                encode(format, x, 0, Overflow::Saturate),
                Some(max_code),
                "{format} {x:e}"
            );
        }
    }
}

#[test]
fn int8_is_the_nearest_sixty_fourth_saturated_to_127() {
    let f = MxFormat::Int8;
    for code in -127i8..=127 {
        let x = f32::from(code) / 64.0;
        assert_eq!(decode(f, code as u8), f64::from(x));
        assert_eq!(encode(f, x, 0, Overflow::Saturate), Some(code as u8));
        // Ties between k and k + 1 go to the even one.
        if code < 127 {
            let even = if code % 2 == 0 { code } else { code + 1 };
            let tie = (f32::from(code) + 0.5) / 64.0;
            assert_eq!(
                encode(f, tie, 0, Overflow::Infinity),
                Some(even as u8),
                "{tie}"
            );
        }
    }
    assert_eq!(decode(f, 0x80), -2.0);
    for (x, code) in [
        (2.0f32, 127i8),
        (-2.0, -127),
        (f32::INFINITY, 127),
        (f32::NEG_INFINITY, -127),
    ] {
        assert_eq!(encode(f, x, 0, Overflow::Infinity), Some(code as u8), "{x}");
    }
    assert_eq!(encode(f, f32::NAN, 0, Overflow::Saturate), None);
}

/// `format-vectors.md`, "E8M0": the `floor(log2) + 127` column, which is the scale byte of
/// a format whose `emax` is 0 (MXINT8); other formats subtract their `emax`.
#[test]
fn the_scale_is_the_floor_of_log2_of_the_largest_magnitude() {
    let table: &[(f32, u8)] = &[
        (1.0, 0x7f),
        (1.25, 0x7f),
        (1.5, 0x7f),
        (1.9999, 0x7f),
        (3.0, 0x80),
        (0.75, 0x7e),
        (f32::from_bits(0x0040_0000), 0x00),
        (f32::from_bits(0x0080_0000), 0x01),
        (f32::from_bits(0x7f00_0000), 0xfe),
    ];
    for &(amax, byte) in table {
        assert_eq!(
            scale(MxFormat::Int8, &[0.5 * amax, -amax, 0.0]),
            byte,
            "{amax:e}"
        );
        for format in FLOAT_FORMATS {
            let expected = (i32::from(byte) - format.emax()).max(0) as u8;
            assert_eq!(scale(format, &[amax]), expected, "{format} {amax:e}");
        }
    }
    for format in MxFormat::ALL {
        assert_eq!(scale(format, &[0.0, -0.0]), 0, "{format}: all zeros");
        assert_eq!(scale(format, &[]), 0, "{format}: empty");
        assert_eq!(
            scale(format, &[f32::MIN_POSITIVE / 4.0]),
            0,
            "{format}: subnormal"
        );
        for special in [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::from_bits(0xff80_0001),
        ] {
            assert_eq!(scale(format, &[1.0, special]), 0xff, "{format} {special}");
        }
    }
}

/// `format-vectors.md`, "MX block example" (torchao's `to_mx` with FLOOR, microxcaling with
/// `round = "even"`).
#[test]
fn the_shared_mx_block_example() {
    let mut block = vec![1.0f32, -2.5, 3.0, 0.1, 7.9, -8.5, 0.0, 1e-3];
    block.resize(BLOCK, 0.25);
    let (s, codes) = quantize_block(MxFormat::E4M3, &block);
    assert_eq!(s, 0x7a);
    let values = dequantize_block(MxFormat::E4M3, s, &codes);
    assert_eq!(
        values[..8],
        [1.0, -2.5, 3.0, 0.1015625, 8.0, -8.0, 0.0, 0.0009765625]
    );
    let (s, codes) = quantize_block(MxFormat::E2M1, &block);
    assert_eq!(s, 0x80);
    let values = dequantize_block(MxFormat::E2M1, s, &codes);
    assert_eq!(values[..8], [1.0, -2.0, 3.0, 0.0, 8.0, -8.0, 0.0, 0.0]);
    // FP4 ties with X = 1 (amax 4): to the even code, not away from zero or toward it.
    let ties = [4.0f32, 0.75, 1.25, 1.75, 2.5, 3.5];
    let (s, codes) = quantize_block(MxFormat::E2M1, &ties);
    assert_eq!(s, 127);
    let values = dequantize_block(MxFormat::E2M1, s, &codes);
    assert_eq!(values[..6], [4.0, 1.0, 1.0, 2.0, 2.0, 4.0]);
}

#[test]
fn fp4_and_fp6_codes_are_packed_least_significant_bit_first() {
    // X = 1 (amax 4: floor(log2) 2 = E2M1's and E2M3's emax). E2M1 codes 1, 2, 3, 4, 6.
    let block = [0.5f32, 1.0, 1.5, 2.0, 4.0];
    let mut scales = [0u8; 1];
    let mut fp4 = [0u8; 16];
    mx_quantize(MxFormat::E2M1, &block, &mut scales, &mut fp4).unwrap();
    assert_eq!(scales, [127]);
    assert_eq!(fp4[..3], [0x21, 0x43, 0x06]);
    assert!(fp4[3..].iter().all(|&b| b == 0));
    // E2M3 codes 0x04, 0x08, 0x0c, 0x10, 0x18, 6 bits each.
    let mut fp6 = [0u8; 24];
    mx_quantize(MxFormat::E2M3, &block, &mut scales, &mut fp6).unwrap();
    assert_eq!(scales, [127]);
    let bits = 0x04u32 | 0x08 << 6 | 0x0c << 12 | 0x10 << 18 | 0x18 << 24;
    assert_eq!(fp6[..4], bits.to_le_bytes());
    assert!(fp6[4..].iter().all(|&b| b == 0));
}

/// Every backend gives the reference's blocks for every length 0..=300 (a partial last block
/// included) at every start offset 0..=3, and dequantizes back to the reference's values.
#[test]
fn every_backend_is_the_reference_block_by_block() {
    let mut rng = common::Rng::new(11);
    let backends = common::backends();
    for format in MxFormat::ALL {
        for len in 0..=300usize {
            let x: Vec<f32> = (0..len + 3)
                .map(|_| {
                    let v = f32::from_bits(rng.f32_bits());
                    if v.is_finite() {
                        v
                    } else {
                        1.0
                    }
                })
                .collect();
            for offset in common::OFFSETS
                .into_iter()
                .take(if cfg!(miri) { 1 } else { 4 })
            {
                let x = &x[offset.min(3)..][..len];
                let expected: Vec<(u8, [f32; BLOCK])> = x
                    .chunks(BLOCK)
                    .map(|block| {
                        let (s, codes) = quantize_block(format, block);
                        (s, dequantize_block(format, s, &codes))
                    })
                    .collect();
                for &backend in &backends {
                    let (scales, y) = round_trip(backend, format, x);
                    for (b, (s, values)) in expected.iter().enumerate() {
                        let at = format!("{backend:?} {format} len {len} +{offset} block {b}");
                        assert_eq!(scales[b], *s, "{at}");
                        let got = &y[b * BLOCK..][..x.len().min((b + 1) * BLOCK) - b * BLOCK];
                        let same = got
                            .iter()
                            .zip(values)
                            .all(|(g, e)| g.to_bits() == e.to_bits());
                        assert!(same, "{at}");
                    }
                }
            }
        }
    }
}

/// `x` quantized on `backend`, then dequantized there: the scales and the values.
fn round_trip(backend: lowp::Backend, format: MxFormat, x: &[f32]) -> (Vec<u8>, Vec<f32>) {
    let blocks = format.blocks(x.len());
    let mut scales = vec![0u8; blocks];
    let mut elements = vec![0xaau8; blocks * format.block_bytes()];
    backend
        .mx_quantize(format, x, &mut scales, &mut elements)
        .unwrap();
    let mut y = vec![0.0f32; x.len()];
    backend
        .mx_dequantize(format, &scales, &elements, &mut y)
        .unwrap();
    (scales, y)
}

/// The backends quantize on bit patterns, the reference in f64: they must agree on blocks
/// built to reach every corner. Each block's first value pins its scale (its binade
/// from 2^-149 to 2^127, f32 subnormals included, so that subnormal inputs meet the
/// element formats' normal range at scale 2^-127); the others lie up to 40 binades below it,
/// half of them with the low bits of a rounding tie, one below it or one above it, at a
/// random bit position.
#[test]
fn bit_patterns_quantize_as_the_reference() {
    let mut rng = common::Rng::new(5);
    let backends = common::backends();
    let binades = [
        -149, -140, -130, -127, -126, -120, -100, -20, -3, 0, 1, 10, 100, 126, 127,
    ];
    for format in MxFormat::ALL {
        for &top in &binades {
            for _ in 0..if cfg!(miri) { 1 } else { 150 } {
                let block: Vec<f32> = (0..BLOCK)
                    .map(|i| {
                        let r = rng.next_u32();
                        let binade = if i == 0 { top } else { top - (r % 41) as i32 };
                        let mut mantissa = rng.next_u32() & 0x7f_ffff;
                        if r & (1 << 8) != 0 {
                            let k = 1 + (r >> 9) % 23;
                            let tie = 1u32 << (k - 1);
                            let low = [tie, tie - 1, tie + 1][(r >> 14) as usize % 3];
                            mantissa = (mantissa & !((1 << k) - 1)) | low;
                        }
                        let bits = if binade >= -126 {
                            ((binade + 127) as u32) << 23 | mantissa
                        } else if binade < -149 {
                            0
                        } else {
                            // A subnormal whose top bit is 2^binade.
                            let lead = 1u32 << (binade + 149);
                            lead | (mantissa & (lead - 1))
                        };
                        let sign = (r >> 31) << 31;
                        f32::from_bits(if i == 0 { bits } else { bits | sign })
                    })
                    .collect();
                let (s, codes) = quantize_block(format, &block);
                let expected = dequantize_block(format, s, &codes);
                for &backend in &backends {
                    let (scales, y) = round_trip(backend, format, &block);
                    assert_eq!(scales[0], s, "{backend:?} {format} 2^{top}");
                    for i in 0..BLOCK {
                        assert_eq!(
                            y[i].to_bits(),
                            expected[i].to_bits(),
                            "{backend:?} {format} 2^{top}: {:#010x}",
                            block[i].to_bits()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_nan_or_infinity_poisons_its_block_only() {
    for format in MxFormat::ALL {
        for special in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut x = vec![1.5f32; 3 * BLOCK];
            x[BLOCK + 7] = special;
            for backend in common::backends() {
                let mut scales = [0u8; 3];
                let mut elements = vec![0xaau8; 3 * format.block_bytes()];
                backend
                    .mx_quantize(format, &x, &mut scales, &mut elements)
                    .unwrap();
                assert_eq!(scales[1], 0xff, "{backend:?} {format}");
                let middle = &elements[format.block_bytes()..][..format.block_bytes()];
                assert!(middle.iter().all(|&b| b == 0), "{backend:?} {format}");
                let mut y = vec![0.0f32; 3 * BLOCK];
                mx_dequantize(format, &scales, &elements, &mut y).unwrap();
                assert!(y[BLOCK..2 * BLOCK].iter().all(|v| v.is_nan()), "{format}");
                let mut others = y[..BLOCK].iter().chain(&y[2 * BLOCK..]);
                assert!(others.all(|&v| v == 1.5), "{backend:?} {format}");
            }
        }
    }
}

/// Any bytes dequantize without a panic, on every backend: every scale with every code,
/// against the exact product of the code's value and the scale (NaN as `0x7fc0_0000`).
#[test]
fn every_scale_and_code_dequantizes() {
    for format in MxFormat::ALL {
        let bytes = format.block_bytes();
        for s in 0..=255u8 {
            for first in (0..=255u8).step_by(32) {
                let codes: Vec<u8> = (0..BLOCK as u8).map(|i| first.wrapping_add(i)).collect();
                let mut packed = vec![0u8; bytes];
                // Pack by hand through the slice API's own layout: quantizing cannot produce
                // arbitrary codes, so build the bytes bit by bit.
                let bits = format.element_bits() as usize;
                for (i, &c) in codes.iter().enumerate() {
                    for bit in 0..bits {
                        let at = i * bits + bit;
                        packed[at / 8] |= ((c >> bit) & 1) << (at % 8);
                    }
                }
                for backend in common::backends() {
                    let mut y = [0.0f32; BLOCK];
                    backend
                        .mx_dequantize(format, &[s], &packed, &mut y)
                        .unwrap();
                    for (i, &c) in codes.iter().enumerate() {
                        let value = decode(format, c) * 2f64.powi(i32::from(s) - 127);
                        let at = format!("{backend:?} {format} scale {s} code {c:#04x}");
                        if s == 0xff || value.is_nan() {
                            assert_eq!(y[i].to_bits(), f32::NAN.to_bits(), "{at}");
                        } else {
                            assert_eq!(y[i].to_bits(), (value as f32).to_bits(), "{at}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn wrong_lengths_are_errors() {
    let format = MxFormat::E2M1;
    let x = [1.0f32; 33];
    let mut elements = [0u8; 32];
    let err = mx_quantize(format, &x, &mut [0u8; 1], &mut elements).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                expected: 2,
                actual: 1,
                ..
            }
        ),
        "{err}"
    );
    let err = mx_quantize(format, &x, &mut [0u8; 2], &mut elements[..31]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                expected: 32,
                actual: 31,
                ..
            }
        ),
        "{err}"
    );
    let mut y = [0.0f32; 65];
    let err = mx_dequantize(format, &[127; 2], &elements, &mut y).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                expected: 3,
                actual: 2,
                ..
            }
        ),
        "{err}"
    );
    mx_quantize(format, &[], &mut [], &mut []).unwrap();
}

/// The nearest code, found by trying every code: each dequantized value is at least as close
/// to the input as any other value of the block's grid (`decode(c) · X` for every finite code
/// `c`), and the scale is the spec's.
fn check_nearest(format: MxFormat, block: &[f32]) -> Result<(), TestCaseError> {
    let (s, codes) = quantize_block(format, block);
    prop_assert_eq!(s, scale(format, block));
    let factor = 2f64.powi(i32::from(s) - 127);
    // Every code but MXINT8's -128, which decodes but is never produced (its range is
    // symmetric, ±127).
    let grid: Vec<f64> = (0..=255u8)
        .filter(|&c| format != MxFormat::Int8 || c != 0x80)
        .map(|c| decode(format, c) * factor)
        .filter(|v| v.is_finite())
        .collect();
    for (&x, &code) in block.iter().zip(&codes) {
        let got = decode(format, code) * factor;
        let error = (got - f64::from(x)).abs();
        let best = grid
            .iter()
            .map(|g| (g - f64::from(x)).abs())
            .fold(f64::INFINITY, f64::min);
        prop_assert!(
            error == best,
            "{} x {:e} got {:e} best error {:e}",
            format,
            x,
            got,
            best
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 256 }))]

    #[test]
    fn every_element_is_a_nearest_grid_value(
        format in proptest::sample::select(MxFormat::ALL.to_vec()),
        exponent in -140i32..=127,
        mantissas in proptest::collection::vec(-(1i32 << 24)..(1i32 << 24), 1..=BLOCK),
    ) {
        // Values spread over several binades below the block's largest.
        let block: Vec<f32> = mantissas
            .iter()
            .enumerate()
            .map(|(i, &m)| (m as f32) * 2f32.powi(exponent - 24 - (i as i32 % 7)))
            .collect();
        check_nearest(format, &block)?;
    }
}
