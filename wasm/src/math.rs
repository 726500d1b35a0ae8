//! exp for f32x4 lanes (wasm has no transcendental instructions).
//!
//! e^x = 2^n · e^r with n = round(x·log2 e) and r = x − n·ln 2 (Cody–Waite split of ln 2 so that n·LN2_HI
//! is exact), e^r from its degree-6 Taylor polynomial on |r| ≤ ln2/2 (truncation < 1.3e-7 relative), and
//! 2^n applied as two exact power-of-two factors so that results down to the f32 subnormals and up to
//! overflow come out right. Error ≤ 2 ulp; x < −104 gives 0, x > 88.73 gives +inf, NaN stays NaN.

use crate::simd::Consts;
use core::arch::wasm32::*;

const LOG2E: f32 = 1.442_695_f32;
const LN2_HI: f32 = 0.693_359_4_f32; // 0x3f318000, 9 significant bits
const LN2_LO: f32 = -2.121_944_4e-4_f32;
/// 1.5·2^23: v + ROUND − ROUND is v rounded to the nearest integer, ties to even, for |v| < 2^22.
const ROUND: f32 = 12_582_912.0;

/// The constants of [`Exp::exp4`], made once per job (see [`crate::simd::opaque`]).
pub struct Exp {
    hi: v128,
    lo: v128,
    log2e: v128,
    ln2_hi: v128,
    ln2_lo: v128,
    /// Taylor coefficients 1/720 .. 1/1, highest first
    c: [v128; 7],
    bias: v128,
    /// 1.5·2^23: added and subtracted, rounds to an integer (see [`Exp::exp4`])
    round: v128,
    pub one: v128,
}

impl Exp {
    #[inline(always)]
    pub unsafe fn new(k: Consts) -> Exp {
        Exp {
            hi: k.f32(88.73),
            lo: k.f32(-104.0),
            log2e: k.f32(LOG2E),
            ln2_hi: k.f32(LN2_HI),
            ln2_lo: k.f32(LN2_LO),
            c: [
                k.f32(1.0 / 720.0),
                k.f32(1.0 / 120.0),
                k.f32(1.0 / 24.0),
                k.f32(1.0 / 6.0),
                k.f32(0.5),
                k.f32(1.0),
                k.f32(1.0),
            ],
            bias: k.i32(127),
            round: k.f32(ROUND),
            one: k.f32(1.0),
        }
    }

    /// e^x per lane.
    #[inline(always)]
    pub unsafe fn exp4(&self, x: v128) -> v128 {
        // pmin/pmax are one instruction each where min/max take about seven (NaN and ±0 rules): with x
        // as the first operand a NaN x passes through, as min/max would let it
        let x = f32x4_pmax(f32x4_pmin(x, self.hi), self.lo);
        // round to nearest even by adding 1.5·2^23 (exact for |x·log2 e| < 2^22, as after the clamp): the
        // sum's low mantissa bits are then n as an integer, so no float→int conversion (about eight
        // instructions in V8 for its saturation rules) is needed; n is f32x4.nearest's value exactly
        let shifted = f32x4_add(f32x4_mul(x, self.log2e), self.round);
        let n = f32x4_sub(shifted, self.round);
        let r = f32x4_sub(f32x4_sub(x, f32x4_mul(n, self.ln2_hi)), f32x4_mul(n, self.ln2_lo));
        let mut p = self.c[0];
        for k in 1..7 {
            p = f32x4_add(f32x4_mul(p, r), self.c[k]);
        }
        // 2^n = 2^(n/2) · 2^(n − n/2): each factor is a normal f32 for n in −150..=128
        let ni = i32x4_sub(shifted, self.round);
        let n1 = i32x4_shr(ni, 1);
        let n2 = i32x4_sub(ni, n1);
        f32x4_mul(f32x4_mul(p, self.pow2i(n1)), self.pow2i(n2))
    }

    /// e^x for one value (lane 0 of [`Exp::exp4`]).
    #[inline(always)]
    pub unsafe fn exp1(&self, x: f32) -> f32 {
        f32x4_extract_lane::<0>(self.exp4(f32x4_splat(x)))
    }

    #[inline(always)]
    unsafe fn pow2i(&self, n: v128) -> v128 {
        i32x4_shl(i32x4_add(n, self.bias), 23)
    }
}
