//! exp for f32x4 lanes (wasm has no transcendental instructions).
//!
//! e^x = 2^n · e^r with n = round(x·log2 e) and r = x − n·ln 2 (Cody–Waite split of ln 2 so that n·LN2_HI
//! is exact), e^r from its degree-6 Taylor polynomial on |r| ≤ ln2/2 (truncation < 1.3e-7 relative), and
//! 2^n applied as two exact power-of-two factors so that results down to the f32 subnormals and up to
//! overflow come out right. Error ≤ 2 ulp; x < −104 gives 0, x > 88.73 gives +inf, NaN stays NaN.

use core::arch::wasm32::*;

const LOG2E: f32 = 1.442_695_f32;
const LN2_HI: f32 = 0.693_359_4_f32; // 0x3f318000, 9 significant bits
const LN2_LO: f32 = -2.121_944_4e-4_f32;

#[inline(always)]
unsafe fn pow2i(n: v128) -> v128 {
    i32x4_shl(i32x4_add(n, i32x4_splat(127)), 23)
}

/// e^x per lane.
#[inline(always)]
pub unsafe fn exp4(x: v128) -> v128 {
    let x = f32x4_max(f32x4_min(x, f32x4_splat(88.73)), f32x4_splat(-104.0));
    let n = f32x4_nearest(f32x4_mul(x, f32x4_splat(LOG2E)));
    let r = f32x4_sub(f32x4_sub(x, f32x4_mul(n, f32x4_splat(LN2_HI))), f32x4_mul(n, f32x4_splat(LN2_LO)));
    let mut p = f32x4_splat(1.0 / 720.0);
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(1.0 / 120.0));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(1.0 / 24.0));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(1.0 / 6.0));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(0.5));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(1.0));
    p = f32x4_add(f32x4_mul(p, r), f32x4_splat(1.0));
    // 2^n = 2^(n/2) · 2^(n − n/2): each factor is a normal f32 for n in −150..=128
    let ni = i32x4_trunc_sat_f32x4(n);
    let n1 = i32x4_shr(ni, 1);
    let n2 = i32x4_sub(ni, n1);
    f32x4_mul(f32x4_mul(p, pow2i(n1)), pow2i(n2))
}

/// e^x for one value (lane 0 of [`exp4`]).
#[inline(always)]
pub unsafe fn exp1(x: f32) -> f32 {
    f32x4_extract_lane::<0>(exp4(f32x4_splat(x)))
}
