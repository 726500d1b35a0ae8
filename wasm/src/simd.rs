//! Small simd128 helpers shared by the kernels.

use core::arch::wasm32::*;

/// Loads 16 bytes from byte offset `p` (no alignment needed).
#[inline(always)]
pub unsafe fn load(p: *const u8) -> v128 {
    v128_load(p as *const v128)
}

/// Stores 16 bytes at byte offset `p`.
#[inline(always)]
pub unsafe fn store(p: *mut u8, v: v128) {
    v128_store(p as *mut v128, v)
}

/// Horizontal sum of four f32 lanes in a fixed order: (l0 + l2) + (l1 + l3).
///
/// Every kernel reduces its lane accumulators through this one function so that the summation order, and
/// therefore the rounding, is the same on every path.
#[inline(always)]
pub unsafe fn hsum_f32(v: v128) -> f32 {
    let s = f32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s)
}

/// Horizontal sum of four i32 lanes (exact, wrapping).
#[inline(always)]
pub unsafe fn hsum_i32(v: v128) -> i32 {
    let s = i32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    i32x4_extract_lane::<0>(s).wrapping_add(i32x4_extract_lane::<1>(s))
}

/// Four f16 block scales at `p` (8 bytes) → f32x4, exactly for every finite value (subnormals included):
/// sign and exponent/mantissa bits moved into f32 position, then × 2^112 to rebias the exponent. The
/// repacked Q4_0/Q8_0 rows hold only finite scales (the host refuses others), so no inf/NaN case. The
/// same instructions as the relaxed module's loops: `mask` = [`Consts::i32`]`(0x8fff_e000)`, `rebias` =
/// [`Consts::f32`]`(2^112)`.
#[inline(always)]
pub unsafe fn scales_f16x4(p: *const u8, mask: v128, rebias: v128) -> v128 {
    let h = i32x4_extend_low_i16x8(v128_load64_zero(p as *const u64));
    f32x4_mul(v128_and(i32x4_shl(h, 13), mask), rebias)
}

/// Builder of constant vectors that stay runtime values.
///
/// V8 rebuilds a `v128.const` wherever it is used, inside loops included (four instructions each), but
/// keeps a splat of a runtime value in a register: the F16 product loop ran twice as fast once its
/// constants came from splats. So kernels make their constant vectors once, before their loops, from
/// `value ^ zero`, where `zero` is a descriptor word the host always leaves 0 (word 31): LLVM cannot fold
/// it. (A volatile read of a stack copy does not work with Rust 1.63's LLVM, which folds the read into a
/// later splat load after reusing the stack slot.)
#[derive(Clone, Copy)]
pub struct Consts {
    zero: u32,
}

impl Consts {
    pub fn new(zero: u32) -> Consts {
        Consts { zero }
    }
    /// All 16 bytes `x`.
    #[inline(always)]
    pub unsafe fn u8(self, x: u8) -> v128 {
        u8x16_splat(((x as u32) ^ self.zero) as u8)
    }
    /// All four lanes `x` (i32 bits).
    #[inline(always)]
    pub unsafe fn i32(self, x: u32) -> v128 {
        u32x4_splat(x ^ self.zero)
    }
    /// All four lanes `x` (f32).
    #[inline(always)]
    pub unsafe fn f32(self, x: f32) -> v128 {
        f32x4_splat(f32::from_bits(x.to_bits() ^ self.zero))
    }
}

/// i32 lanes holding 0..2^23 → f32x4, exactly, with no conversion instruction: 2^23 + v read as f32,
/// minus 2^23. LLVM 14 turns a conversion of zero- or sign-extended narrow integers into a narrow
/// conversion that it scalarises (12 instructions); this keeps it at two.
#[inline(always)]
pub unsafe fn small_to_f32(v: v128, k: Consts) -> v128 {
    f32x4_sub(v128_or(v, k.i32(0x4b00_0000)), k.f32(8_388_608.0))
}

/// The 16 bytes of `v` (unsigned) → four f32x4 (bytes 0..4, 4..8, 8..12, 12..16), exactly.
#[inline(always)]
pub unsafe fn bytes_to_f32(v: v128, k: Consts) -> [v128; 4] {
    let (lo, hi) = (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v));
    [
        small_to_f32(u32x4_extend_low_u16x8(lo), k),
        small_to_f32(u32x4_extend_high_u16x8(lo), k),
        small_to_f32(u32x4_extend_low_u16x8(hi), k),
        small_to_f32(u32x4_extend_high_u16x8(hi), k),
    ]
}
