//! Integer stage of the quantised matrix products: exact i32 dot products of weight quants with int8
//! activations, one i32x4 of partial sums per block (the four lanes add up to the block's dot product;
//! how products spread over lanes is the path's business, see [`crate::simd::reduce4_i32`]).
//!
//! Two implementations with one contract: the simd128 code below, and `relaxed_dot.wat` (the `relaxed`
//! import module) built on `i32x4.relaxed_dot_i8x16_i7x16_add_s`, which keeps the 7-bit operand in
//! 0..=127 so that every CPU computes the same exact integers. Functions come in a one-token form and a
//! four-token form that unpacks each weight block once for four activation rows.
//!
//! Arguments are byte offsets: `w` weight quants, `x` int8 activations of token 0 (`xs` bytes to the
//! next token), `out` i32x4 partials of token 0 (`os` bytes to the next token).
//!
//! | fn     | w layout (per block)                               | out per block           |
//! |--------|----------------------------------------------------|-------------------------|
//! | q4_0   | 16 B nibbles (repacked rows: qs of all blocks)     | 1 (values 0..32)        |
//! | q8_0   | 32 B int8 (repacked rows)                          | 1                       |
//! | q4_k   | 144 B GGUF super-block, nibbles at +16             | 8 (one per 32 values)   |
//! | q6_k   | 210 B GGUF super-block, ql +0, qh +128             | 16 (one per 16 values)  |

use crate::simd::*;
use core::arch::wasm32::*;

#[link(wasm_import_module = "relaxed")]
extern "C" {
    #[link_name = "q4_0_1"]
    fn relaxed_q4_0_1(w: *const u8, x: *const u8, nb: usize, out: *mut u8);
    #[link_name = "q4_0_4"]
    fn relaxed_q4_0_4(w: *const u8, x: *const u8, xs: usize, nb: usize, out: *mut u8, os: usize);
    #[link_name = "q8_0_1"]
    fn relaxed_q8_0_1(w: *const u8, x: *const u8, nb: usize, out: *mut u8);
    #[link_name = "q8_0_4"]
    fn relaxed_q8_0_4(w: *const u8, x: *const u8, xs: usize, nb: usize, out: *mut u8, os: usize);
    #[link_name = "q4_k_1"]
    fn relaxed_q4_k_1(w: *const u8, x: *const u8, nsb: usize, out: *mut u8);
    #[link_name = "q4_k_4"]
    fn relaxed_q4_k_4(w: *const u8, x: *const u8, xs: usize, nsb: usize, out: *mut u8, os: usize);
    #[link_name = "q6_k_1"]
    fn relaxed_q6_k_1(w: *const u8, x: *const u8, nsb: usize, out: *mut u8);
    #[link_name = "q6_k_4"]
    fn relaxed_q6_k_4(w: *const u8, x: *const u8, xs: usize, nsb: usize, out: *mut u8, os: usize);
}

/// Weight kinds of the integer stage.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Q4_0,
    Q8_0,
    Q4K,
    Q6K,
}

/// Partials for `ntok` (1..=4) tokens over `nblocks` blocks (super-blocks for K types).
#[inline(always)]
pub unsafe fn partials(
    kind: Kind,
    relaxed: bool,
    w: *const u8,
    x: *const u8,
    xs: usize,
    ntok: usize,
    nblocks: usize,
    out: *mut u8,
    os: usize,
) {
    if ntok == 4 {
        match (kind, relaxed) {
            (Kind::Q4_0, true) => relaxed_q4_0_4(w, x, xs, nblocks, out, os),
            (Kind::Q4_0, false) => q4_0_4(w, x, xs, nblocks, out, os),
            (Kind::Q8_0, true) => relaxed_q8_0_4(w, x, xs, nblocks, out, os),
            (Kind::Q8_0, false) => q8_0_4(w, x, xs, nblocks, out, os),
            (Kind::Q4K, true) => relaxed_q4_k_4(w, x, xs, nblocks, out, os),
            (Kind::Q4K, false) => q4_k_4(w, x, xs, nblocks, out, os),
            (Kind::Q6K, true) => relaxed_q6_k_4(w, x, xs, nblocks, out, os),
            (Kind::Q6K, false) => q6_k_4(w, x, xs, nblocks, out, os),
        }
        return;
    }
    for t in 0..ntok {
        let (x, out) = (x.add(t * xs), out.add(t * os));
        match (kind, relaxed) {
            (Kind::Q4_0, true) => relaxed_q4_0_1(w, x, nblocks, out),
            (Kind::Q4_0, false) => q4_0_4_generic::<1>(w, x, 0, nblocks, out, 0),
            (Kind::Q8_0, true) => relaxed_q8_0_1(w, x, nblocks, out),
            (Kind::Q8_0, false) => q8_0_4_generic::<1>(w, x, 0, nblocks, out, 0),
            (Kind::Q4K, true) => relaxed_q4_k_1(w, x, nblocks, out),
            (Kind::Q4K, false) => q4_k_generic::<1>(w, x, 0, nblocks, out, 0),
            (Kind::Q6K, true) => relaxed_q6_k_1(w, x, nblocks, out),
            (Kind::Q6K, false) => q6_k_generic::<1>(w, x, 0, nblocks, out, 0),
        }
    }
}

/// Exact i32x4 partial dot of 16 unsigned bytes `a` (≤ 127) with 16 signed bytes `b`.
#[inline(always)]
unsafe fn dot_u8_i8(a: v128, b: v128) -> v128 {
    let lo = i32x4_dot_i16x8(u16x8_extend_low_u8x16(a), i16x8_extend_low_i8x16(b));
    let hi = i32x4_dot_i16x8(u16x8_extend_high_u8x16(a), i16x8_extend_high_i8x16(b));
    i32x4_add(lo, hi)
}

/// Exact i32x4 partial dot of 16 signed bytes with 16 signed bytes.
#[inline(always)]
unsafe fn dot_i8_i8(a: v128, b: v128) -> v128 {
    let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(a), i16x8_extend_low_i8x16(b));
    let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(a), i16x8_extend_high_i8x16(b));
    i32x4_add(lo, hi)
}

unsafe fn q4_0_4(w: *const u8, x: *const u8, xs: usize, nb: usize, out: *mut u8, os: usize) {
    q4_0_4_generic::<4>(w, x, xs, nb, out, os)
}

/// Q4_0: low nibbles are values 0..16, high nibbles values 16..32 of the block (the −8 offset is
/// applied in the float stage from the activation block sums).
#[inline(always)]
unsafe fn q4_0_4_generic<const T: usize>(w: *const u8, x: *const u8, xs: usize, nb: usize, out: *mut u8, os: usize) {
    let m = u8x16_splat(0x0f);
    for b in 0..nb {
        let q = load(w.add(b * 16));
        let lo = v128_and(q, m);
        let hi = v128_and(u16x8_shr(q, 4), m);
        for t in 0..T {
            let xb = x.add(t * xs + b * 32);
            let p = i32x4_add(dot_u8_i8(lo, load(xb)), dot_u8_i8(hi, load(xb.add(16))));
            store(out.add(t * os + b * 16), p);
        }
    }
}

unsafe fn q8_0_4(w: *const u8, x: *const u8, xs: usize, nb: usize, out: *mut u8, os: usize) {
    q8_0_4_generic::<4>(w, x, xs, nb, out, os)
}

/// Q8_0: 32 signed quants per block.
#[inline(always)]
unsafe fn q8_0_4_generic<const T: usize>(w: *const u8, x: *const u8, xs: usize, nb: usize, out: *mut u8, os: usize) {
    for b in 0..nb {
        let q0 = load(w.add(b * 32));
        let q1 = load(w.add(b * 32 + 16));
        for t in 0..T {
            let xb = x.add(t * xs + b * 32);
            let p = i32x4_add(dot_i8_i8(q0, load(xb)), dot_i8_i8(q1, load(xb.add(16))));
            store(out.add(t * os + b * 16), p);
        }
    }
}

unsafe fn q4_k_4(w: *const u8, x: *const u8, xs: usize, nsb: usize, out: *mut u8, os: usize) {
    q4_k_generic::<4>(w, x, xs, nsb, out, os)
}

/// Q4_K: per 64 values, 32 bytes of nibbles: low nibbles are sub-block 2c (values 64c..64c+32), high
/// nibbles sub-block 2c+1 (values 64c+32..64c+64).
#[inline(always)]
unsafe fn q4_k_generic<const T: usize>(w: *const u8, x: *const u8, xs: usize, nsb: usize, out: *mut u8, os: usize) {
    let m = u8x16_splat(0x0f);
    for sb in 0..nsb {
        let qs = w.add(sb * 144 + 16);
        for c in 0..4 {
            let w0 = load(qs.add(32 * c));
            let w1 = load(qs.add(32 * c + 16));
            let (lo0, lo1) = (v128_and(w0, m), v128_and(w1, m));
            let (hi0, hi1) = (v128_and(u16x8_shr(w0, 4), m), v128_and(u16x8_shr(w1, 4), m));
            for t in 0..T {
                let xc = x.add(t * xs + sb * 256 + 64 * c);
                let o = out.add(t * os + (sb * 8 + 2 * c) * 16);
                store(o, i32x4_add(dot_u8_i8(lo0, load(xc)), dot_u8_i8(lo1, load(xc.add(16)))));
                store(o.add(16), i32x4_add(dot_u8_i8(hi0, load(xc.add(32))), dot_u8_i8(hi1, load(xc.add(48)))));
            }
        }
    }
}

unsafe fn q6_k_4(w: *const u8, x: *const u8, xs: usize, nsb: usize, out: *mut u8, os: usize) {
    q6_k_generic::<4>(w, x, xs, nsb, out, os)
}

/// Q6_K: per half (128 values) ql[64], qh[32]; for l in 0..32, values l, l+32, l+64, l+96 take the low
/// nibble of ql[l], low nibble of ql[l+32], high nibble of ql[l], high nibble of ql[l+32], each with two
/// more bits from qh[l] (bits 0-1, 2-3, 4-5, 6-7). q is 0..=63 (the −32 offset is applied in the float
/// stage). Partials are written in value order, one per 16 values.
#[inline(always)]
unsafe fn q6_k_generic<const T: usize>(w: *const u8, x: *const u8, xs: usize, nsb: usize, out: *mut u8, os: usize) {
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
                    let xh = x.add(t * xs + sb * 256 + 128 * h + l);
                    let o = out.add(t * os + (sb * 16 + sub) * 16);
                    store(o, dot_u8_i8(q1, load(xh)));
                    store(o.add(2 * 16), dot_u8_i8(q2, load(xh.add(32))));
                    store(o.add(4 * 16), dot_u8_i8(q3, load(xh.add(64))));
                    store(o.add(6 * 16), dot_u8_i8(q4, load(xh.add(96))));
                }
            }
        }
    }
}
