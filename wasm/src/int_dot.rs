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
//! Q4_0 and Q8_0 are fused: integer and float work in one pass over a row, returning f32 dot products.
//! Rows come repacked at upload as groups of [four f16 scales d_w][four blocks' quants] (a last partial
//! group with zero scales): the GGUF bytes reordered, widened to f32 exactly per group
//! ([`crate::simd::scales_f16x4`]). Per group the kernels form s = d_w · d_x and for Q4_0 (quants stored as
//! q + 8, taken here as unsigned 0..15) sum d_w · off with the activations' offset terms
//! off = −8·d_x·Σq; per block k they add f32(lanes) · s[k]. Result: hsum(acc) + hsum(offset sum).
//! Q4_K and Q6_K likewise add f32(lanes) · s per sub-block (32 or 16 values), their combined scales s
//! precomputed by [`crate::kquant_scales`] (d, the 6/8-bit sub-block scales and d_x in one f32; the
//! mins and −32 offsets are summed there too).
//!
//! Activations come as 32 int8 values per (token, block) ([`crate::act_quant`]). One-token functions
//! walk them at 32 B per block with per-block d_x (and off) arrays; four-token functions walk an
//! interleaved tile at 128 B per block, token i at +32·i, with the tile copies dt/ot (per group, token
//! i's four scales at +16·i).
//!
//! | fn         | weights (per block)                               | result                           |
//! |------------|---------------------------------------------------|----------------------------------|
//! | q4_0_{1,4} | groups: 4 f16 scales, 4 × 16 B nibbles (72 B)     | f32 row · token                  |
//! | q8_0_{1,4} | groups: 4 f16 scales, 4 × 32 B int8 (136 B)       | f32 row · token                  |
//! | q4_k_{1,4} | 144 B GGUF super-block, nibbles at +16            | f32 Σ lanes·s (8 s per super-block)|
//! | q6_k_{1,4} | 210 B GGUF super-block, ql +0, qh +128            | f32 Σ lanes·s (16 s per super-block)|

use crate::act_quant::{REC, TILE};
use crate::f16::{F16, TWO_POW_112};
use crate::simd::*;
use core::arch::wasm32::*;

#[link(wasm_import_module = "relaxed")]
extern "C" {
    #[link_name = "q4_0_1"]
    fn relaxed_q4_0_1(w: *const u8, x: *const u8, dx: *const f32, off: *const f32, nb: usize) -> f32;
    #[link_name = "q4_0_4"]
    fn relaxed_q4_0_4(w: *const u8, x: *const u8, dt: *const f32, ot: *const f32, nb: usize, out: *mut f32);
    #[link_name = "q8_0_1"]
    fn relaxed_q8_0_1(w: *const u8, x: *const u8, dx: *const f32, nb: usize) -> f32;
    #[link_name = "q8_0_4"]
    fn relaxed_q8_0_4(w: *const u8, x: *const u8, dt: *const f32, nb: usize, out: *mut f32);
    #[link_name = "q4_k_1"]
    fn relaxed_q4_k_1(w: *const u8, x: *const u8, s: *const f32, nsb: usize) -> f32;
    #[link_name = "q4_k_4"]
    fn relaxed_q4_k_4(w: *const u8, x: *const u8, s: *const f32, nsb: usize, out: *mut f32);
    #[link_name = "q6_k_1"]
    fn relaxed_q6_k_1(w: *const u8, x: *const u8, s: *const f32, nsb: usize) -> f32;
    #[link_name = "q6_k_4"]
    fn relaxed_q6_k_4(w: *const u8, x: *const u8, s: *const f32, nsb: usize, out: *mut f32);
}

/// Fused Q4_0 (`q4`) or Q8_0 dot of `nb` blocks (repacked row from a group start `w`) for one token:
/// values `x`, activation scales `dx`, Q4_0 offsets `off`. `special`: the row's weight has an inf or NaN
/// scale (a corrupt file), widened with the exact converter so it shows in the result as in the
/// reference (the host sends such weights down the simd128 path).
#[inline(always)]
pub unsafe fn fused_one(
    q4: bool,
    relaxed: bool,
    special: bool,
    w: *const u8,
    x: *const u8,
    dx: *const f32,
    off: *const f32,
    nb: usize,
    k: Consts,
) -> f32 {
    match (q4, relaxed) {
        (true, true) => relaxed_q4_0_1(w, x, dx, off, nb),
        (false, true) => relaxed_q8_0_1(w, x, dx, nb),
        (true, false) => fused_tile::<true, 1>(w, x, REC, dx, off, nb, special, k)[0],
        (false, false) => fused_tile::<false, 1>(w, x, REC, dx, off, nb, special, k)[0],
    }
}

/// Fused dot for a full tile of four tokens: interleaved values `x`, tile scales `dt` / offsets `ot`.
#[inline(always)]
pub unsafe fn fused_four(
    q4: bool,
    relaxed: bool,
    special: bool,
    w: *const u8,
    x: *const u8,
    dt: *const f32,
    ot: *const f32,
    nb: usize,
    k: Consts,
) -> [f32; 4] {
    let mut out = [0.0f32; 4];
    match (q4, relaxed) {
        (true, true) => relaxed_q4_0_4(w, x, dt, ot, nb, out.as_mut_ptr()),
        (false, true) => relaxed_q8_0_4(w, x, dt, nb, out.as_mut_ptr()),
        (true, false) => out = fused_tile::<true, 4>(w, x, TILE * REC, dt, ot, nb, special, k),
        (false, false) => out = fused_tile::<false, 4>(w, x, TILE * REC, dt, ot, nb, special, k),
    }
    out
}

/// Fused Q4_K (`q6` false) or Q6_K dot of `nsb` super-blocks for one token: values `x` (32 B per block),
/// combined scales `s` (8 or 16 per super-block).
#[inline(always)]
pub unsafe fn k_fused_one(
    q6: bool,
    relaxed: bool,
    w: *const u8,
    x: *const u8,
    s: *const f32,
    nsb: usize,
    k: Consts,
) -> f32 {
    match (q6, relaxed) {
        (false, true) => relaxed_q4_k_1(w, x, s, nsb),
        (true, true) => relaxed_q6_k_1(w, x, s, nsb),
        (false, false) => q4_k_tile::<1>(w, x, REC, s, nsb, k)[0],
        (true, false) => q6_k_tile::<1>(w, x, REC, s, nsb, k)[0],
    }
}

/// Fused K-quant dot for a full tile: interleaved values `x`, scales [super-block][token][8 or 16].
#[inline(always)]
pub unsafe fn k_fused_four(
    q6: bool,
    relaxed: bool,
    w: *const u8,
    x: *const u8,
    s: *const f32,
    nsb: usize,
    k: Consts,
) -> [f32; 4] {
    let mut out = [0.0f32; 4];
    match (q6, relaxed) {
        (false, true) => relaxed_q4_k_4(w, x, s, nsb, out.as_mut_ptr()),
        (true, true) => relaxed_q6_k_4(w, x, s, nsb, out.as_mut_ptr()),
        (false, false) => out = q4_k_tile::<4>(w, x, TILE * REC, s, nsb, k),
        (true, false) => out = q6_k_tile::<4>(w, x, TILE * REC, s, nsb, k),
    }
    out
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

/// Lane `K` of `v` in all four lanes.
#[inline(always)]
unsafe fn lane<const K: usize>(v: v128) -> v128 {
    match K {
        0 => i32x4_shuffle::<0, 0, 0, 0>(v, v),
        1 => i32x4_shuffle::<1, 1, 1, 1>(v, v),
        2 => i32x4_shuffle::<2, 2, 2, 2>(v, v),
        _ => i32x4_shuffle::<3, 3, 3, 3>(v, v),
    }
}

/// Integer lanes of the block whose quants are at `q` for token values at `x` (Q4_0: nibbles, `m` the
/// 0x0f mask; Q8_0: int8).
#[inline(always)]
unsafe fn block_lanes<const Q4: bool>(q: *const u8, x: *const u8, m: v128) -> v128 {
    if Q4 {
        let v = load(q);
        dot_u8_i8(v128_and(v, m), load(x), v128_and(u16x8_shr(v, 4), m), load(x.add(16)))
    } else {
        dot_i8_i8(load(q), load(x), load(q.add(16)), load(x.add(16)))
    }
}

/// The fused row dot for T tokens (T = 1: scales and offsets per block; T = 4: tile copies, token i's
/// four at +16·i bytes of each 64-byte group). `bs`: bytes between consecutive blocks of a token's values.
#[inline(always)]
unsafe fn fused_tile<const Q4: bool, const T: usize>(
    w: *const u8,
    x: *const u8,
    bs: usize,
    d: *const f32,
    off: *const f32,
    nb: usize,
    special: bool,
    k: Consts,
) -> [f32; 4] {
    let (qb, group) = if Q4 { (16, 72) } else { (32, 136) };
    let m = k.u8(0x0f);
    let (mask, rebias) = (k.i32(0x8fff_e000), k.f32(TWO_POW_112));
    let mut acc = [f32x4_splat(0.0); T];
    let mut o = [f32x4_splat(0.0); T];
    let mut b = 0;
    while b < nb {
        let g = w.add((b / 4) * group);
        let sc = if special {
            F16::new(k).to_f32x4(i32x4_extend_low_i16x8(v128_load64_zero(g as *const u64)))
        } else {
            scales_f16x4(g, mask, rebias)
        };
        let mut s = [f32x4_splat(0.0); T];
        for t in 0..T {
            // one token: d/off advance one f32 per block; a tile: one 64-byte group per four blocks
            let i = if T == 1 { b } else { b * 4 + t * 4 };
            s[t] = f32x4_mul(sc, v128_load(d.add(i) as *const v128));
            if Q4 {
                o[t] = f32x4_add(o[t], f32x4_mul(sc, v128_load(off.add(i) as *const v128)));
            }
        }
        let q = g.add(8);
        for t in 0..T {
            let xt = x.add(t * REC + b * bs);
            acc[t] = f32x4_add(
                acc[t],
                f32x4_mul(f32x4_convert_i32x4(block_lanes::<Q4>(q, xt, m)), lane::<0>(s[t])),
            );
            acc[t] = f32x4_add(
                acc[t],
                f32x4_mul(
                    f32x4_convert_i32x4(block_lanes::<Q4>(q.add(qb), xt.add(bs), m)),
                    lane::<1>(s[t]),
                ),
            );
            acc[t] = f32x4_add(
                acc[t],
                f32x4_mul(
                    f32x4_convert_i32x4(block_lanes::<Q4>(q.add(2 * qb), xt.add(2 * bs), m)),
                    lane::<2>(s[t]),
                ),
            );
            acc[t] = f32x4_add(
                acc[t],
                f32x4_mul(
                    f32x4_convert_i32x4(block_lanes::<Q4>(q.add(3 * qb), xt.add(3 * bs), m)),
                    lane::<3>(s[t]),
                ),
            );
        }
        b += 4;
    }
    let mut out = [0.0f32; 4];
    for t in 0..T {
        out[t] = hsum_f32(acc[t]) + hsum_f32(o[t]);
    }
    out
}

/// acc + f32(lanes) · s.
#[inline(always)]
unsafe fn scaled(acc: v128, lanes: v128, s: f32) -> v128 {
    f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(lanes), f32x4_splat(s)))
}

/// Q4_K, T tokens (token i's values at +32·i, next block at +`bs`): per 64 values, 32 bytes of nibbles
/// whose low nibbles are sub-block 2c (activation block 8·sb + 2c) and high nibbles sub-block 2c+1.
/// Order: super-blocks, then c, then low before high.
#[inline(always)]
unsafe fn q4_k_tile<const T: usize>(
    w: *const u8,
    x: *const u8,
    bs: usize,
    s: *const f32,
    nsb: usize,
    k: Consts,
) -> [f32; 4] {
    let m = k.u8(0x0f);
    let mut acc = [f32x4_splat(0.0); T];
    for sb in 0..nsb {
        let qs = w.add(sb * 144 + 16);
        for c in 0..4 {
            let (w0, w1) = (load(qs.add(32 * c)), load(qs.add(32 * c + 16)));
            let (lo0, lo1) = (v128_and(w0, m), v128_and(w1, m));
            let (hi0, hi1) = (v128_and(u16x8_shr(w0, 4), m), v128_and(u16x8_shr(w1, 4), m));
            for t in 0..T {
                let xa = x.add((sb * 8 + 2 * c) * bs + t * REC);
                let xb = xa.add(bs);
                let st = s.add(if T == 1 { sb * 8 } else { (sb * 4 + t) * 8 } + 2 * c);
                acc[t] = scaled(acc[t], dot_u8_i8(lo0, load(xa), lo1, load(xa.add(16))), *st);
                acc[t] = scaled(acc[t], dot_u8_i8(hi0, load(xb), hi1, load(xb.add(16))), *st.add(1));
            }
        }
    }
    let mut out = [0.0f32; 4];
    for t in 0..T {
        out[t] = hsum_f32(acc[t]);
    }
    out
}

/// Q6_K, T tokens: per half h (128 values) ql[64], qh[32]; for l in {0, 16}, the 16-value sub-blocks
/// at values 128h + l + 32k (k = 0..4) take the low nibble of ql[l..], low nibble of ql[l+32..], high
/// nibble of ql[l..], high nibble of ql[l+32..], each with two more bits from qh[l..] (bits 0-1, 2-3, 4-5,
/// 6-7); q is 0..=63 (the −32 offset is in the pre-pass). Sub-block index 8h + l/16 + 2k. Order: super-
/// blocks, h, l, k.
#[inline(always)]
unsafe fn q6_k_tile<const T: usize>(
    w: *const u8,
    x: *const u8,
    bs: usize,
    s: *const f32,
    nsb: usize,
    k: Consts,
) -> [f32; 4] {
    let m4 = k.u8(0x0f);
    let m2 = k.u8(0x30);
    let mut acc = [f32x4_splat(0.0); T];
    for sb in 0..nsb {
        let blk = w.add(sb * 210);
        for h in 0..2 {
            let (ql, qh) = (blk.add(64 * h), blk.add(128 + 32 * h));
            for l in [0usize, 16] {
                let (a, b, hb) = (load(ql.add(l)), load(ql.add(32 + l)), load(qh.add(l)));
                let q = [
                    v128_or(v128_and(a, m4), v128_and(u16x8_shl(hb, 4), m2)),
                    v128_or(v128_and(b, m4), v128_and(u16x8_shl(hb, 2), m2)),
                    v128_or(v128_and(u16x8_shr(a, 4), m4), v128_and(hb, m2)),
                    v128_or(v128_and(u16x8_shr(b, 4), m4), v128_and(u16x8_shr(hb, 2), m2)),
                ];
                let sub = 8 * h + l / 16;
                for t in 0..T {
                    // values 128h + l + 32k live in activation block 8·sb + 4h + k, at byte l
                    let xh = x.add((sb * 8 + 4 * h) * bs + t * REC + l);
                    let st = s.add(if T == 1 { sb * 16 } else { (sb * 4 + t) * 16 } + sub);
                    for kk in 0..4 {
                        acc[t] = scaled(acc[t], dot16_u8_i8(q[kk], load(xh.add(kk * bs))), *st.add(2 * kk));
                    }
                }
            }
        }
    }
    let mut out = [0.0f32; 4];
    for t in 0..T {
        out[t] = hsum_f32(acc[t]);
    }
    out
}
