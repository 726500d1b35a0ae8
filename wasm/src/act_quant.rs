//! Activation quantisation: f32 rows → int8 blocks of 32, the `x` side of the integer dot products.
//!
//! One layout serves every weight type. For `n` token rows of `k` values (k a multiple of 32,
//! nb = k/32 blocks, ng = ⌈nb/4⌉ groups of four blocks), starting at byte offset `base`:
//!
//!   qs   i8  [n][nb][32]  q = round_even(x / d), in −127..=127 (never −128: |q| must fit 7 bits).
//!                         Tokens in full tiles of four (t < 4·⌊n/4⌋) are interleaved block by block —
//!                         tile g, block b, token t%4 at g·4·k + b·128 + (t%4)·32 — so that four-token
//!                         loops reach every token at a constant offset; the remaining tokens are
//!                         contiguous (t·k + b·32).
//!   d    f32 [n][4·ng]    d = max|x| / 127 per block of 32 (padding lanes 0)
//!   off  f32 [n][4·ng]    −8 · d · Σ q per block: Q4_0 stores q + 8, whose dot needs this correction
//!   dt   f32 [tiles][ng][4][4]  d of full tiles, per group: token i's four block scales at +16·i
//!   ot   f32 [tiles][ng][4][4]  off of full tiles, likewise
//!   s16  i32 [n][2·nb]    Σ q per 16 values (Q6_K's −32 offset; its scales cover 16 values)
//!   s32  i32 [n][nb]      Σ q per 32 values (Q4_K's mins)
//!
//! At most 2·n·k + 64·n bytes. Scales per 32 values (ggml's Q8_0 granularity) for the K-quant types
//! too: their products then carry the same small rounding as Q4_0/Q8_0 rather than ggml's Q8_K (one
//! scale per 256 values).

use crate::job::{Chunks, Desc};
use crate::simd::*;
use core::arch::wasm32::*;

/// Bytes per (token, block) of int8 values.
pub const REC: usize = 32;
/// Tokens per interleaved tile.
pub const TILE: usize = 4;

/// Byte offsets of the arrays of one quantised activation buffer.
#[derive(Clone, Copy)]
pub struct ActLayout {
    nb: usize,
    /// blocks rounded up to whole groups of four
    nbp: usize,
    /// tokens in full tiles
    full: usize,
    rec: usize,
    d: usize,
    off: usize,
    dt: usize,
    ot: usize,
    s16: usize,
    s32: usize,
}

impl ActLayout {
    pub fn new(base: usize, k: usize, n: usize) -> ActLayout {
        let nb = k / 32;
        let nbp = (nb + 3) / 4 * 4;
        let full = n / TILE * TILE;
        let d = base + n * nb * REC;
        let off = d + n * nbp * 4;
        let dt = off + n * nbp * 4;
        let ot = dt + full * nbp * 4;
        let s16 = ot + full * nbp * 4;
        let s32 = s16 + n * nb * 8;
        ActLayout {
            nb,
            nbp,
            full,
            rec: base,
            d,
            off,
            dt,
            ot,
            s16,
            s32,
        }
    }
    /// int8 values of token `t`, block `b`. From a full tile's first token, token t+i of that tile is at
    /// +32·i and block b+1 at +128; from any other token, block b+1 is at +32.
    #[inline(always)]
    pub fn rec(&self, t: usize, b: usize) -> *const u8 {
        let off = if t < self.full {
            (t / TILE) * TILE * self.nb * REC + b * TILE * REC + (t % TILE) * REC
        } else {
            t * self.nb * REC + b * REC
        };
        (self.rec + off) as *const u8
    }
    /// f32 scales of token `t`, one per block (padded to whole groups with zeros)
    #[inline(always)]
    pub fn d(&self, t: usize) -> *const f32 {
        (self.d + t * self.nbp * 4) as *const f32
    }
    /// Q4_0 offset corrections of token `t`, one per block (padded with zeros)
    #[inline(always)]
    pub fn off(&self, t: usize) -> *const f32 {
        (self.off + t * self.nbp * 4) as *const f32
    }
    /// Tile copy of d for the full tile holding token `t`, from block `b` (a multiple of four).
    #[inline(always)]
    pub fn dt(&self, t: usize, b: usize) -> *const f32 {
        (self.dt + (t / TILE) * TILE * self.nbp * 4 + b * TILE * 4) as *const f32
    }
    /// Tile copy of off, as [`ActLayout::dt`].
    #[inline(always)]
    pub fn ot(&self, t: usize, b: usize) -> *const f32 {
        (self.ot + (t / TILE) * TILE * self.nbp * 4 + b * TILE * 4) as *const f32
    }
    /// i32 sums per 16 values of token `t`
    #[inline(always)]
    pub fn s16(&self, t: usize) -> *const i32 {
        (self.s16 + t * self.nb * 8) as *const i32
    }
    /// i32 sums per 32 values of token `t`
    #[inline(always)]
    pub fn s32(&self, t: usize) -> *const i32 {
        (self.s32 + t * self.nb * 4) as *const i32
    }
}

/// max |x| over 32 f32 at `x`, as a scalar.
#[inline(always)]
unsafe fn amax32(x: *const f32) -> f32 {
    let mut m = f32x4_abs(v128_load(x as *const v128));
    let mut j = 4;
    while j < 32 {
        m = f32x4_max(m, f32x4_abs(v128_load(x.add(j) as *const v128)));
        j += 4;
    }
    let m = f32x4_max(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
    let m = f32x4_max(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
    f32x4_extract_lane::<0>(m)
}

/// 16 values at `x` times `id`, rounded to even and narrowed to 16 int8.
#[inline(always)]
unsafe fn quant16(x: *const f32, id: v128) -> v128 {
    let mut i = [i32x4_splat(0); 4];
    for j in 0..4 {
        let v = f32x4_mul(v128_load(x.add(j * 4) as *const v128), id);
        i[j] = i32x4_trunc_sat_f32x4(f32x4_nearest(v));
    }
    i8x16_narrow_i16x8(i16x8_narrow_i32x4(i[0], i[1]), i16x8_narrow_i32x4(i[2], i[3]))
}

/// i32x4 lane j = Σ of bytes 4j..4j+4 of `b`.
#[inline(always)]
unsafe fn quad_sums(b: v128) -> v128 {
    i32x4_extadd_pairwise_i16x8(i16x8_extadd_pairwise_i8x16(b))
}

/// OP_QUANT: [op, x: f32 [n][k], n, k, dst]. Splits token rows.
#[inline(never)]
pub unsafe fn job(d: Desc, _tid: usize, nth: usize) {
    let (x, n, k) = (d.u(1), d.u(2), d.u(3));
    let lay = ActLayout::new(d.u(4), k, n);
    let work = Chunks::new(d, n, nth, 1);
    while let Some((t0, t1)) = work.next() {
        for t in t0..t1 {
            let xr = (x + t * k * 4) as *const f32;
            let (ds, off) = (lay.d(t) as *mut f32, lay.off(t) as *mut f32);
            let (s16, s32) = (lay.s16(t) as *mut i32, lay.s32(t) as *mut i32);
            for b in 0..lay.nbp {
                let (mut scale, mut correction) = (0.0f32, 0.0f32);
                if b < lay.nb {
                    let xb = xr.add(b * 32);
                    scale = amax32(xb) / 127.0;
                    let id = f32x4_splat(if scale != 0.0 { 1.0 / scale } else { 0.0 });
                    let (q0, q1) = (quant16(xb, id), quant16(xb.add(16), id));
                    let rec = lay.rec(t, b) as *mut u8;
                    store(rec, q0);
                    store(rec.add(16), q1);
                    let (a, c) = (hsum_i32(quad_sums(q0)), hsum_i32(quad_sums(q1)));
                    correction = (-8.0 * (a + c) as f32) * scale;
                    *s16.add(2 * b) = a;
                    *s16.add(2 * b + 1) = c;
                    *s32.add(b) = a + c;
                }
                *ds.add(b) = scale;
                *off.add(b) = correction;
                if t < lay.full {
                    *(lay.dt(t, b - b % 4) as *mut f32).add((t % TILE) * 4 + b % 4) = scale;
                    *(lay.ot(t, b - b % 4) as *mut f32).add((t % TILE) * 4 + b % 4) = correction;
                }
            }
        }
    }
}
