//! IEEE half precision → f32, exact for every input (normal, subnormal, ±0, ±inf, NaN payloads).
//!
//! wasm has no f16 instructions, so the bits are moved into place: for |h| = exponent·mantissa bits
//! (15 bits), `as_f32(|h| << 13) · 2^112` rebiases the exponent (15 → 127) and also turns f16
//! subnormals into the right f32 normals. Exponent 31 (inf/NaN) would come out as 65536·1.m; any result
//! ≥ 65536 can only come from exponent 31 (the largest finite f16 is 65504), so those lanes get the f32
//! exponent forced to all ones, keeping the mantissa (NaN payload).

use crate::simd::Consts;
use core::arch::wasm32::*;

/// 2^112 as f32 bits.
pub const TWO_POW_112: f32 = 5.192_297e33;

/// Scalar f16 bits → f32.
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let em = ((h as u32) & 0x7fff) << 13;
    let mag = f32::from_bits(em) * TWO_POW_112;
    let bits = if mag >= 65536.0 {
        mag.to_bits() | 0x7f80_0000
    } else {
        mag.to_bits()
    };
    f32::from_bits(bits | sign)
}

/// The constants of the exact f16x4 conversion, made once per job (see [`crate::simd::opaque`]).
pub struct F16 {
    sign: v128,
    em: v128,
    scale: v128,
    big: v128,
    exp: v128,
}

impl F16 {
    #[inline(always)]
    pub unsafe fn new(k: Consts) -> F16 {
        F16 {
            sign: k.i32(0x8000),
            em: k.i32(0x7fff),
            scale: k.f32(TWO_POW_112),
            big: k.f32(65536.0),
            exp: k.i32(0x7f80_0000),
        }
    }

    /// Four f16 values (the low 16 bits of each i32 lane, sign-extended or not) → f32x4, exact.
    #[inline(always)]
    pub unsafe fn to_f32x4(&self, h: v128) -> v128 {
        let sign = i32x4_shl(v128_and(h, self.sign), 16);
        let em = i32x4_shl(v128_and(h, self.em), 13);
        let mag = f32x4_mul(em, self.scale);
        let special = f32x4_ge(mag, self.big);
        v128_or(v128_or(mag, v128_and(special, self.exp)), sign)
    }
}
