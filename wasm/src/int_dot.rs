//! Integer dot products of weight quants with int8 activations, in two implementations with one
//! contract: the simd128 code below, and `relaxed_dot.wat` (the `relaxed` import module) built on the
//! relaxed-SIMD byte dot products. Both compute the same exact integers in the same i32 lanes, so the
//! float work after them — shared, or mirrored operation for operation — gives bit-identical results.
//!
//! Lane convention: a dot over 32 bytes (two 16-byte halves h0, h1) yields an i32x4 whose lane j holds
//! Σ of the products of bytes 4j..4j+4 of h0 and of h1. `i16x8.relaxed_dot_i8x16_i7x16_s` followed by
//! a pairwise widening produces exactly that; here, `i32x4.dot_i16x8_s` on widened halves gives pair sums
//! that [`quads`] regroups.
//!
//! The relaxed instruction's second operand must stay in 0..=127 for the result to be the same exact
//! integer on every CPU: weight nibbles (Q4_0, Q4_K), 6-bit quants (Q6_K) and |x| (Q8_0) do.
//!
//! Q4_0 and Q8_0 are fused (integer and float work in one pass, returning f32 dot products); Q4_K and
//! Q6_K write i32x4 partials per sub-block for [`crate::matmul_quant`]'s float stage.
//!
//! Activations come as 32 int8 values per (token, block) ([`crate::act_quant`]). One-token functions
//! walk them at 32 B per block; four-token functions walk an interleaved tile at 128 B per block, token i
//! at +32·i. Combined scales s = d_w·d_x are f32 per block (one token) or [block][4] (four tokens).
//!
//! | fn         | weights (per block)                               | result                           |
//! |------------|---------------------------------------------------|----------------------------------|
//! | q4_0_{1,4} | 16 B nibbles (repacked row: quants of all blocks) | f32 Σ_b lanes·s_b (q in 0..16)   |
//! | q8_0_{1,4} | 32 B int8 (repacked row)                          | f32 Σ_b lanes·s_b                |
//! | q4_k_{1,4} | 144 B GGUF super-block, nibbles at +16            | 8 i32x4 per super-block (per 32) |
//! | q6_k_{1,4} | 210 B GGUF super-block, ql +0, qh +128            | 16 i32x4 per super-block (per 16)|

use crate::act_quant::{REC, TILE};
use crate::simd::*;
use core::arch::wasm32::*;

#[link(wasm_import_module = "relaxed")]
extern "C" {
    #[link_name = "q4_0_1"]
    fn relaxed_q4_0_1(w: *const u8, r: *const u8, s: *const f32, nb: usize) -> f32;
    #[link_name = "q4_0_4"]
    fn relaxed_q4_0_4(w: *const u8, r: *const u8, s: *const f32, nb: usize, out: *mut f32);
    #[link_name = "q8_0_1"]
    fn relaxed_q8_0_1(w: *const u8, r: *const u8, s: *const f32, nb: usize) -> f32;
    #[link_name = "q8_0_4"]
    fn relaxed_q8_0_4(w: *const u8, r: *const u8, s: *const f32, nb: usize, out: *mut f32);
    #[link_name = "q4_k_1"]
    fn relaxed_q4_k_1(w: *const u8, r: *const u8, nsb: usize, out: *mut u8);
    #[link_name = "q4_k_4"]
    fn relaxed_q4_k_4(w: *const u8, r: *const u8, nsb: usize, out: *mut u8, os: usize);
    #[link_name = "q6_k_1"]
    fn relaxed_q6_k_1(w: *const u8, r: *const u8, nsb: usize, out: *mut u8);
    #[link_name = "q6_k_4"]
    fn relaxed_q6_k_4(w: *const u8, r: *const u8, nsb: usize, out: *mut u8, os: usize);
}

/// Fused Q4_0 dot of `nb` blocks, one token: records `r`, scales `s` [nb].
#[inline(always)]
pub unsafe fn q4_0_one(relaxed: bool, w: *const u8, r: *const u8, s: *const f32, nb: usize) -> f32 {
    if relaxed {
        relaxed_q4_0_1(w, r, s, nb)
    } else {
        q4_0_tile::<1>(w, r, REC, s, nb)[0]
    }
}

/// Fused Q4_0 dot of `nb` blocks, a full tile: interleaved records `r`, scales `s` [nb][4].
#[inline(always)]
pub unsafe fn q4_0_four(relaxed: bool, w: *const u8, r: *const u8, s: *const f32, nb: usize) -> [f32; 4] {
    if relaxed {
        let mut out = [0.0f32; 4];
        relaxed_q4_0_4(w, r, s, nb, out.as_mut_ptr());
        out
    } else {
        q4_0_tile::<4>(w, r, TILE * REC, s, nb)
    }
}

/// Fused Q8_0 dot, one token.
#[inline(always)]
pub unsafe fn q8_0_one(relaxed: bool, w: *const u8, r: *const u8, s: *const f32, nb: usize) -> f32 {
    if relaxed {
        relaxed_q8_0_1(w, r, s, nb)
    } else {
        q8_0_tile::<1>(w, r, REC, s, nb)[0]
    }
}

/// Fused Q8_0 dot, a full tile.
#[inline(always)]
pub unsafe fn q8_0_four(relaxed: bool, w: *const u8, r: *const u8, s: *const f32, nb: usize) -> [f32; 4] {
    if relaxed {
        let mut out = [0.0f32; 4];
        relaxed_q8_0_4(w, r, s, nb, out.as_mut_ptr());
        out
    } else {
        q8_0_tile::<4>(w, r, TILE * REC, s, nb)
    }
}

/// Which K-quant partials to compute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KQuant {
    Q4K,
    Q6K,
}

/// K-quant partials over `nsb` super-blocks for one token (records `r`, partials at `out`).
#[inline(always)]
pub unsafe fn k_partials_one(kind: KQuant, relaxed: bool, w: *const u8, r: *const u8, nsb: usize, out: *mut u8) {
    match (kind, relaxed) {
        (KQuant::Q4K, true) => relaxed_q4_k_1(w, r, nsb, out),
        (KQuant::Q4K, false) => q4_k_tile::<1>(w, r, REC, nsb, out, 0),
        (KQuant::Q6K, true) => relaxed_q6_k_1(w, r, nsb, out),
        (KQuant::Q6K, false) => q6_k_tile::<1>(w, r, REC, nsb, out, 0),
    }
}

/// K-quant partials for a full tile (interleaved records `r`); token i's partials at `out + i·os`.
#[inline(always)]
pub unsafe fn k_partials_four(kind: KQuant, relaxed: bool, w: *const u8, r: *const u8, nsb: usize, out: *mut u8, os: usize) {
    match (kind, relaxed) {
        (KQuant::Q4K, true) => relaxed_q4_k_4(w, r, nsb, out, os),
        (KQuant::Q4K, false) => q4_k_tile::<4>(w, r, TILE * REC, nsb, out, os),
        (KQuant::Q6K, true) => relaxed_q6_k_4(w, r, nsb, out, os),
        (KQuant::Q6K, false) => q6_k_tile::<4>(w, r, TILE * REC, nsb, out, os),
    }
}

/// Regroups pair sums into the lane convention: `lo` holds pairs (0,1)..(6,7) of bytes 0..8, `hi` pairs of
/// bytes 8..16; lane j of the result = pairs 2j and 2j+1 = bytes 4j..4j+4.
#[inline(always)]
unsafe fn quads(lo: v128, hi: v128) -> v128 {
    i32x4_add(i32x4_shuffle::<0, 2, 4, 6>(lo, hi), i32x4_shuffle::<1, 3, 5, 7>(lo, hi))
}

/// Lane-convention dot of unsigned bytes a0, a1 (≤ 127) with signed bytes b0, b1 (two 16-byte halves).
#[inline(always)]
unsafe fn dot_u8_i8(a0: v128, b0: v128, a1: v128, b1: v128) -> v128 {
    let lo = i32x4_add(
        i32x4_dot_i16x8(u16x8_extend_low_u8x16(a0), i16x8_extend_low_i8x16(b0)),
        i32x4_dot_i16x8(u16x8_extend_low_u8x16(a1), i16x8_extend_low_i8x16(b1)),
    );
    let hi = i32x4_add(
        i32x4_dot_i16x8(u16x8_extend_high_u8x16(a0), i16x8_extend_high_i8x16(b0)),
        i32x4_dot_i16x8(u16x8_extend_high_u8x16(a1), i16x8_extend_high_i8x16(b1)),
    );
    quads(lo, hi)
}

/// Lane-convention dot of one 16-byte half: unsigned a (≤ 127) with signed b.
#[inline(always)]
unsafe fn dot16_u8_i8(a: v128, b: v128) -> v128 {
    let lo = i32x4_dot_i16x8(u16x8_extend_low_u8x16(a), i16x8_extend_low_i8x16(b));
    let hi = i32x4_dot_i16x8(u16x8_extend_high_u8x16(a), i16x8_extend_high_i8x16(b));
    quads(lo, hi)
}

/// Lane-convention dot of signed bytes (two halves each).
#[inline(always)]
unsafe fn dot_i8_i8(a0: v128, b0: v128, a1: v128, b1: v128) -> v128 {
    let lo = i32x4_add(
        i32x4_dot_i16x8(i16x8_extend_low_i8x16(a0), i16x8_extend_low_i8x16(b0)),
        i32x4_dot_i16x8(i16x8_extend_low_i8x16(a1), i16x8_extend_low_i8x16(b1)),
    );
    let hi = i32x4_add(
        i32x4_dot_i16x8(i16x8_extend_high_i8x16(a0), i16x8_extend_high_i8x16(b0)),
        i32x4_dot_i16x8(i16x8_extend_high_i8x16(a1), i16x8_extend_high_i8x16(b1)),
    );
    quads(lo, hi)
}

/// acc + f32(p)·s, the float step every fused kernel takes per block and token.
#[inline(always)]
unsafe fn accumulate(acc: v128, p: v128, s: f32) -> v128 {
    f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(p), f32x4_splat(s)))
}

/// Q4_0, T tokens (token i's values at +32·i, next block at +`bs`): low nibbles are values 0..16 of a
/// block, high nibbles values 16..32, taken as unsigned 0..16 (the caller adds the −8 offset's term).
#[inline(always)]
unsafe fn q4_0_tile<const T: usize>(w: *const u8, r: *const u8, bs: usize, s: *const f32, nb: usize) -> [f32; 4] {
    let m = u8x16_splat(0x0f);
    let mut acc = [f32x4_splat(0.0); T];
    for b in 0..nb {
        let q = load(w.add(b * 16));
        let (lo, hi) = (v128_and(q, m), v128_and(u16x8_shr(q, 4), m));
        for t in 0..T {
            let x = r.add(b * bs + t * REC);
            let p = dot_u8_i8(lo, load(x), hi, load(x.add(16)));
            acc[t] = accumulate(acc[t], p, *s.add(b * T + t));
        }
    }
    let mut out = [0.0f32; 4];
    for t in 0..T {
        out[t] = hsum_f32(acc[t]);
    }
    out
}

/// Q8_0, T tokens: 32 signed quants per block.
#[inline(always)]
unsafe fn q8_0_tile<const T: usize>(w: *const u8, r: *const u8, bs: usize, s: *const f32, nb: usize) -> [f32; 4] {
    let mut acc = [f32x4_splat(0.0); T];
    for b in 0..nb {
        let (w0, w1) = (load(w.add(b * 32)), load(w.add(b * 32 + 16)));
        for t in 0..T {
            let x = r.add(b * bs + t * REC);
            let p = dot_i8_i8(w0, load(x), w1, load(x.add(16)));
            acc[t] = accumulate(acc[t], p, *s.add(b * T + t));
        }
    }
    let mut out = [0.0f32; 4];
    for t in 0..T {
        out[t] = hsum_f32(acc[t]);
    }
    out
}

/// Q4_K partials: per 64 values, 32 bytes of nibbles: low nibbles are sub-block 2c (values 64c..64c+32,
/// activation block 8·sb + 2c), high nibbles sub-block 2c+1 (block 8·sb + 2c + 1).
#[inline(always)]
unsafe fn q4_k_tile<const T: usize>(w: *const u8, r: *const u8, bs: usize, nsb: usize, out: *mut u8, os: usize) {
    let m = u8x16_splat(0x0f);
    for sb in 0..nsb {
        let qs = w.add(sb * 144 + 16);
        for c in 0..4 {
            let (w0, w1) = (load(qs.add(32 * c)), load(qs.add(32 * c + 16)));
            let (lo0, lo1) = (v128_and(w0, m), v128_and(w1, m));
            let (hi0, hi1) = (v128_and(u16x8_shr(w0, 4), m), v128_and(u16x8_shr(w1, 4), m));
            for t in 0..T {
                let xa = r.add((sb * 8 + 2 * c) * bs + t * REC);
                let xb = xa.add(bs);
                let o = out.add(t * os + (sb * 8 + 2 * c) * 16);
                store(o, dot_u8_i8(lo0, load(xa), lo1, load(xa.add(16))));
                store(o.add(16), dot_u8_i8(hi0, load(xb), hi1, load(xb.add(16))));
            }
        }
    }
}

/// Q6_K partials: per half (128 values) ql[64], qh[32]; for l in 0..32, values l, l+32, l+64, l+96 take
/// the low nibble of ql[l], low nibble of ql[l+32], high nibble of ql[l], high nibble of ql[l+32], each
/// with two more bits from qh[l] (bits 0-1, 2-3, 4-5, 6-7). q is 0..=63 (the −32 offset is applied in the
/// float stage). Partials are written in value order, one per 16 values.
#[inline(always)]
unsafe fn q6_k_tile<const T: usize>(w: *const u8, r: *const u8, bs: usize, nsb: usize, out: *mut u8, os: usize) {
    let m4 = u8x16_splat(0x0f);
    let m2 = u8x16_splat(0x30);
    for sb in 0..nsb {
        let blk = w.add(sb * 210);
        for h in 0..2 {
            let (ql, qh) = (blk.add(64 * h), blk.add(128 + 32 * h));
            for l in [0usize, 16] {
                let (a, b, hb) = (load(ql.add(l)), load(ql.add(32 + l)), load(qh.add(l)));
                let q1 = v128_or(v128_and(a, m4), v128_and(u16x8_shl(hb, 4), m2));
                let q2 = v128_or(v128_and(b, m4), v128_and(u16x8_shl(hb, 2), m2));
                let q3 = v128_or(v128_and(u16x8_shr(a, 4), m4), v128_and(hb, m2));
                let q4 = v128_or(v128_and(u16x8_shr(b, 4), m4), v128_and(u16x8_shr(hb, 2), m2));
                let sub = 8 * h + l / 16;
                for t in 0..T {
                    // values 128h + l + 32k live in activation block 8·sb + 4h + k, at byte l
                    let x = r.add((sb * 8 + 4 * h) * bs + t * REC + l);
                    let o = out.add(t * os + (sb * 16 + sub) * 16);
                    store(o, dot16_u8_i8(q1, load(x)));
                    store(o.add(2 * 16), dot16_u8_i8(q2, load(x.add(bs))));
                    store(o.add(4 * 16), dot16_u8_i8(q3, load(x.add(2 * bs))));
                    store(o.add(6 * 16), dot16_u8_i8(q4, load(x.add(3 * bs))));
                }
            }
        }
    }
}
