//! IEEE half precision → f32, exact for every input (normal, subnormal, ±0, ±inf, NaN payloads).
//!
//! wasm has no f16 instructions, so the bits are moved into place: for |h| = exponent·mantissa bits
//! (15 bits), `as_f32(|h| << 13) · 2^112` rebiases the exponent (15 → 127) and also turns f16
//! subnormals into the right f32 normals. Exponent 31 (inf/NaN) would come out as 65536·1.m; any result
//! ≥ 65536 can only come from exponent 31 (the largest finite f16 is 65504), so those lanes get the f32
//! exponent forced to all ones, keeping the mantissa (NaN payload).

use core::arch::wasm32::*;

/// 2^112 as f32 bits.
const TWO_POW_112: f32 = 5.192_297e33;

/// Scalar f16 bits → f32.
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let em = ((h as u32) & 0x7fff) << 13;
    let mag = f32::from_bits(em) * TWO_POW_112;
    let bits = if mag >= 65536.0 { mag.to_bits() | 0x7f80_0000 } else { mag.to_bits() };
    f32::from_bits(bits | sign)
}

/// Four f16 values (the low 16 bits of each i32 lane, sign-extended or not) → f32x4, exact.
#[inline(always)]
pub unsafe fn f16x4_to_f32x4(h: v128) -> v128 {
    // h << 13 puts the sign at bit 28 (or sign-extension ones at 28..31); keep bit 31 from a sign
    // extension only when it came from bit 15, so rebuild: sign = (h & 0x8000) << 16.
    let sign = i32x4_shl(v128_and(h, i32x4_splat(0x8000)), 16);
    let em = i32x4_shl(v128_and(h, i32x4_splat(0x7fff)), 13);
    let mag = f32x4_mul(em, f32x4_splat(TWO_POW_112));
    let special = f32x4_ge(mag, f32x4_splat(65536.0));
    let mag = v128_or(mag, v128_and(special, i32x4_splat(0x7f80_0000)));
    v128_or(mag, sign)
}

/// Four consecutive f16 values at `p` → f32x4, exact.
#[inline(always)]
pub unsafe fn load_f16x4(p: *const u8) -> v128 {
    f16x4_to_f32x4(u32x4_extend_low_u16x8(v128_load64_zero(p as *const u64)))
}

/// Eight f16 values in `h` (u16 lanes) → two f32x4, *finite inputs only* (no inf/NaN fix-up).
///
/// The hot path of F16 matrix products; weights are checked for inf/NaN at upload and fall back to
/// [`f16x4_to_f32x4`] when they have any. Sign extension plus one mask keeps the sign at bit 31.
#[inline(always)]
pub unsafe fn f16x8_finite_to_f32(h: v128) -> (v128, v128) {
    let mask = i32x4_splat(0x8fff_e000u32 as i32);
    let lo = v128_and(i32x4_shl(i32x4_extend_low_i16x8(h), 13), mask);
    let hi = v128_and(i32x4_shl(i32x4_extend_high_i16x8(h), 13), mask);
    (f32x4_mul(lo, f32x4_splat(TWO_POW_112)), f32x4_mul(hi, f32x4_splat(TWO_POW_112)))
}
