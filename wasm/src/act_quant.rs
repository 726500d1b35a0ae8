//! Activation quantisation: f32 rows → int8 blocks, the `x` side of the integer dot products.
//!
//! Two layouts, both for `n` token rows of `k` values, starting at byte offset `base`:
//!
//! A8, for Q4_0 and Q8_0 weights (blocks of 32, like ggml's Q8_0):
//!   qs  i8  [n][k]        q = round_even(x / d)  in −127..=127
//!   d   f32 [n][k/32]     d = max|x| / 127 per block
//!   s32 i32 [n][k/32]     Σ q per block (Q4_0 stores q+8, so its dot needs −8·Σq)
//!
//! A8K, for Q4_K and Q6_K weights (super-blocks of 256, like ggml's Q8_K):
//!   qs  i8  [n][k]
//!   d   f32 [n][k/256]    one scale per 256 values
//!   s16 i32 [n][k/16]     Σ q per 16 values (Q6_K's −32 offset, one scale per 16)
//!   s32 i32 [n][k/32]     Σ q per 32 values (Q4_K's mins, one per 32)
//!
//! Values stay within −127..=127 (never −128) so that |q| fits the 7-bit operand of the relaxed dot.

use crate::job::{split, Desc};
use crate::simd::*;
use core::arch::wasm32::*;

/// Byte offsets of the arrays of one quantised activation buffer.
#[derive(Clone, Copy)]
pub struct ActLayout {
    pub k: usize,
    pub qs: usize,
    pub d: usize,
    pub s16: usize,
    pub s32: usize,
    /// values per scale: 32 (A8) or 256 (A8K)
    pub group: usize,
}

impl ActLayout {
    pub fn a8(base: usize, k: usize, n: usize) -> ActLayout {
        let d = base + n * k;
        let s32 = d + n * (k / 32) * 4;
        ActLayout { k, qs: base, d, s16: 0, s32, group: 32 }
    }
    pub fn a8k(base: usize, k: usize, n: usize) -> ActLayout {
        let d = base + n * k;
        let s16 = d + n * (k / 256) * 4;
        let s32 = s16 + n * (k / 16) * 4;
        ActLayout { k, qs: base, d, s16, s32, group: 256 }
    }
    /// int8 values of token `t`
    #[inline(always)]
    pub fn qs(&self, t: usize) -> *const u8 {
        (self.qs + t * self.k) as *const u8
    }
    /// f32 scales of token `t`
    #[inline(always)]
    pub fn d(&self, t: usize) -> *const f32 {
        (self.d + t * (self.k / self.group) * 4) as *const f32
    }
    /// i32 sums per 16 values of token `t` (A8K only)
    #[inline(always)]
    pub fn s16(&self, t: usize) -> *const i32 {
        (self.s16 + t * (self.k / 16) * 4) as *const i32
    }
    /// i32 sums per 32 values of token `t`
    #[inline(always)]
    pub fn s32(&self, t: usize) -> *const i32 {
        (self.s32 + t * (self.k / 32) * 4) as *const i32
    }
}

/// max |x| over 32 f32 at `x`.
#[inline(always)]
unsafe fn amax32(x: *const f32) -> v128 {
    let mut m = f32x4_abs(v128_load(x as *const v128));
    let mut j = 4;
    while j < 32 {
        m = f32x4_max(m, f32x4_abs(v128_load(x.add(j) as *const v128)));
        j += 4;
    }
    m
}

#[inline(always)]
unsafe fn lanes_max(m: v128) -> f32 {
    let m = f32x4_max(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
    let m = f32x4_max(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
    f32x4_extract_lane::<0>(m)
}

/// Quantises 32 values at `x` with inverse scale `id` into 32 int8 at `q`; returns the sums of the
/// two halves (values 0..16 and 16..32).
#[inline(always)]
unsafe fn quant32(x: *const f32, id: f32, q: *mut u8) -> (i32, i32) {
    let idv = f32x4_splat(id);
    let mut sums = [0i32; 2];
    let mut h = 0;
    while h < 2 {
        let p = x.add(h * 16);
        let mut i = [i32x4_splat(0); 4];
        let mut j = 0;
        while j < 4 {
            let v = f32x4_mul(v128_load(p.add(j * 4) as *const v128), idv);
            i[j] = i32x4_trunc_sat_f32x4(f32x4_nearest(v));
            j += 1;
        }
        let b = i8x16_narrow_i16x8(i16x8_narrow_i32x4(i[0], i[1]), i16x8_narrow_i32x4(i[2], i[3]));
        store(q.add(h * 16), b);
        sums[h] = hsum_i32(i32x4_extadd_pairwise_i16x8(i16x8_extadd_pairwise_i8x16(b)));
        h += 1;
    }
    (sums[0], sums[1])
}

#[inline(always)]
fn inverse(d: f32) -> f32 {
    if d != 0.0 {
        1.0 / d
    } else {
        0.0
    }
}

/// OP_QUANT_A8: [op, x: f32 [n][k], n, k, dst]. Splits token rows.
#[inline(never)]
pub unsafe fn job_a8(d: Desc, tid: usize, nth: usize) {
    let (x, n, k) = (d.u(1), d.u(2), d.u(3));
    let lay = ActLayout::a8(d.u(4), k, n);
    let (t0, t1) = split(n, tid, nth, 1);
    for t in t0..t1 {
        let xr = (x + t * k * 4) as *const f32;
        let (qs, ds, ss) = (lay.qs(t) as *mut u8, lay.d(t) as *mut f32, lay.s32(t) as *mut i32);
        for b in 0..k / 32 {
            let scale = lanes_max(amax32(xr.add(b * 32))) / 127.0;
            let (s0, s1) = quant32(xr.add(b * 32), inverse(scale), qs.add(b * 32));
            *ds.add(b) = scale;
            *ss.add(b) = s0 + s1;
        }
    }
}

/// OP_QUANT_A8K: [op, x: f32 [n][k], n, k, dst]. Splits token rows. k is a multiple of 256.
#[inline(never)]
pub unsafe fn job_a8k(d: Desc, tid: usize, nth: usize) {
    let (x, n, k) = (d.u(1), d.u(2), d.u(3));
    let lay = ActLayout::a8k(d.u(4), k, n);
    let (t0, t1) = split(n, tid, nth, 1);
    for t in t0..t1 {
        let xr = (x + t * k * 4) as *const f32;
        let (qs, ds) = (lay.qs(t) as *mut u8, lay.d(t) as *mut f32);
        let (s16, s32) = (lay.s16(t) as *mut i32, lay.s32(t) as *mut i32);
        for sb in 0..k / 256 {
            let xs = xr.add(sb * 256);
            let mut m = amax32(xs);
            for j in 1..8 {
                m = f32x4_max(m, amax32(xs.add(j * 32)));
            }
            let scale = lanes_max(m) / 127.0;
            let id = inverse(scale);
            *ds.add(sb) = scale;
            for j in 0..8 {
                let (a, b) = quant32(xs.add(j * 32), id, qs.add(sb * 256 + j * 32));
                *s16.add(sb * 16 + 2 * j) = a;
                *s16.add(sb * 16 + 2 * j + 1) = b;
                *s32.add(sb * 8 + j) = a + b;
            }
        }
    }
}
