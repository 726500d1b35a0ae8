//! Quantised matrix products: out[n, rows] = x[n, cols] · wᵀ for Q4_0, Q8_0, Q4_K and Q6_K weights, with
//! x already quantised to int8 blocks of 32 ([`crate::act_quant`]).
//!
//! Each thread takes a contiguous range of weight rows; tokens go in full tiles of four (then one at a
//! time) so each weight block is unpacked once per tile, and a row stays in L1 for the following tiles: a
//! batch of n tokens reads the weights from memory once. Rows are walked in chunks of blocks, each
//! chunk's float sum added to the row's total in order.
//!
//! Q4_0 / Q8_0 (fused): per chunk, the combined scales s_b = d_w,b · d_x,b are computed here (and for
//! Q4_0, whose quants are stored as q + 8, the offset term Σ_b d_w,b · (−8·d_x,b·Σx_b)); the integer and
//! float work per block happens in [`crate::int_dot`] (simd128) or the relaxed module.
//! Q4_K / Q6_K (two stages): [`crate::int_dot`] writes exact i32x4 partials per sub-block; the float
//! stage below applies the 6/8-bit sub-block scales, the mins or −32 offset, and the scales d, dmin, d_x.
//!
//! Every token's result comes out of the same sequence of float operations whatever its tile, batch,
//! thread or integer path, so batched, threaded and relaxed results are bit-identical.
//!
//! Weight layouts (row stride = nb · block bytes, as in GGUF):
//! - Q4_0 repacked per row: qs [nb][16] then d [nb] f16 (`repack_rows` in [`crate::probe`])
//! - Q8_0 repacked per row: qs [nb][32] then d [nb] f16
//! - Q4_K, Q6_K: GGUF blocks as they are.

use crate::act_quant::{ActLayout, TILE};
use crate::f16::{f16_to_f32, load_f16x4};
use crate::int_dot::{k_partials_four, k_partials_one, q4_0_four, q4_0_one, q8_0_four, q8_0_one, KQuant};
use crate::job::{split, Desc, TYPE_Q4_0, TYPE_Q4_K, TYPE_Q6_K, TYPE_Q8_0};
use crate::simd::*;
use core::arch::wasm32::*;

/// Blocks of 32 per chunk of a fused row: 8192 values; the chunk's scales (4 tokens × 1 KiB) stay in L1.
const FUSED_CHUNK: usize = 256;
/// i32x4 partials per token per K-quant chunk: 8 Q4_K or 4 Q6_K super-blocks (4 tokens × 1 KiB).
const K_CHUNK: usize = 64;

/// OP_MATMUL for quantised types: [op, type, w, rows, cols, act, n, out: f32 [n][rows], flags].
/// flags bit 0: use the relaxed integer loops. Splits weight rows.
#[inline(never)]
pub unsafe fn job(d: Desc, tid: usize, nth: usize) {
    let (t, w, rows, cols, n, out) = (d.u(1) as u32, d.u(2), d.u(3), d.u(4), d.u(6), d.u(7) as *mut f32);
    let lay = ActLayout::new(d.u(5), cols, n);
    let relaxed = d.u(8) & 1 != 0;
    let (r0, r1) = split(rows, tid, nth, 1);
    match t {
        TYPE_Q4_0 | TYPE_Q8_0 => fused_rows(t == TYPE_Q4_0, relaxed, w, r0, r1, rows, cols, &lay, n, out),
        TYPE_Q4_K => k_rows(KQuant::Q4K, relaxed, w, r0, r1, rows, cols, &lay, n, out),
        TYPE_Q6_K => k_rows(KQuant::Q6K, relaxed, w, r0, r1, rows, cols, &lay, n, out),
        _ => {}
    }
}

#[inline(always)]
unsafe fn fused_rows(
    is_q4: bool,
    relaxed: bool,
    w: usize,
    r0: usize,
    r1: usize,
    rows: usize,
    cols: usize,
    lay: &ActLayout,
    n: usize,
    out: *mut f32,
) {
    let nb = cols / 32;
    let qb = if is_q4 { 16 } else { 32 };
    // combined scales of one chunk: [block] for one token, [block][4] for a tile
    let mut scales = [f32x4_splat(0.0); FUSED_CHUNK];
    let sp = scales.as_mut_ptr() as *mut f32;
    for r in r0..r1 {
        let row = (w + r * nb * (qb + 2)) as *const u8;
        let wd = row.add(nb * qb);
        let mut t0 = 0;
        while t0 < n {
            let nt = if n - t0 >= TILE { TILE } else { 1 };
            let mut total = [0.0f32; TILE];
            let mut b0 = 0;
            while b0 < nb {
                let nbc = (nb - b0).min(FUSED_CHUNK);
                let wq = row.add(b0 * qb);
                let x = lay.rec(t0, b0);
                let mut part = [0.0f32; TILE];
                let mut offset = [f32x4_splat(0.0); TILE];
                if nt == TILE {
                    tile_scales(sp, &mut offset, is_q4, wd, lay, t0, b0, nbc);
                    part = if is_q4 { q4_0_four(relaxed, wq, x, sp, nbc) } else { q8_0_four(relaxed, wq, x, sp, nbc) };
                } else {
                    offset[0] = token_scales(sp, is_q4, wd, lay, t0, b0, nbc);
                    part[0] = if is_q4 { q4_0_one(relaxed, wq, x, sp, nbc) } else { q8_0_one(relaxed, wq, x, sp, nbc) };
                }
                for t in 0..nt {
                    total[t] += part[t] + hsum_f32(offset[t]);
                }
                b0 += nbc;
            }
            for t in 0..nt {
                *out.add((t0 + t) * rows + r) = total[t];
            }
            t0 += nt;
        }
    }
}

/// Four f16 scales of a row's chunk (lanes past nbc read the next bytes and are never used).
#[inline(always)]
unsafe fn w_scales(wd: *const u8, b: usize) -> v128 {
    load_f16x4(wd.add(b * 2))
}

/// s[g] = d_w[b0+g] · d_x[b0+g] for g < nbc; returns the Q4_0 offset term's lanes, Σ d_w · off (lanes
/// past nbc masked). Entries of s past nbc are scratch.
#[inline(always)]
unsafe fn token_scales(s: *mut f32, is_q4: bool, wd: *const u8, lay: &ActLayout, t: usize, b0: usize, nbc: usize) -> v128 {
    let (dx, off) = (lay.d(t), lay.off(t));
    let mut acc = f32x4_splat(0.0);
    let mut g = 0;
    while g < nbc {
        let dw = w_scales(wd, b0 + g);
        v128_store(s.add(g) as *mut v128, f32x4_mul(dw, v128_load(dx.add(b0 + g) as *const v128)));
        if is_q4 {
            acc = f32x4_add(acc, masked(f32x4_mul(dw, v128_load(off.add(b0 + g) as *const v128)), nbc - g));
        }
        g += 4;
    }
    acc
}

/// The tile's scales, block-major: s[g][i] = d_w[b0+g] · d_x,t0+i[b0+g]; Q4_0 offset terms into `offset`.
#[inline(always)]
unsafe fn tile_scales(
    s: *mut f32,
    offset: &mut [v128; TILE],
    is_q4: bool,
    wd: *const u8,
    lay: &ActLayout,
    t0: usize,
    b0: usize,
    nbc: usize,
) {
    let mut g = 0;
    while g < nbc {
        let dw = w_scales(wd, b0 + g);
        let mut p = [f32x4_splat(0.0); TILE];
        for i in 0..TILE {
            p[i] = f32x4_mul(dw, v128_load(lay.d(t0 + i).add(b0 + g) as *const v128));
            if is_q4 {
                let o = f32x4_mul(dw, v128_load(lay.off(t0 + i).add(b0 + g) as *const v128));
                offset[i] = f32x4_add(offset[i], masked(o, nbc - g));
            }
        }
        // transpose [token][block] → [block][token]
        let a = i32x4_shuffle::<0, 4, 1, 5>(p[0], p[1]);
        let b = i32x4_shuffle::<2, 6, 3, 7>(p[0], p[1]);
        let c = i32x4_shuffle::<0, 4, 1, 5>(p[2], p[3]);
        let d = i32x4_shuffle::<2, 6, 3, 7>(p[2], p[3]);
        let o = s.add(g * TILE) as *mut v128;
        v128_store(o, i32x4_shuffle::<0, 1, 4, 5>(a, c));
        v128_store(o.add(1), i32x4_shuffle::<2, 3, 6, 7>(a, c));
        v128_store(o.add(2), i32x4_shuffle::<0, 1, 4, 5>(b, d));
        v128_store(o.add(3), i32x4_shuffle::<2, 3, 6, 7>(b, d));
        g += 4;
    }
}

/// `v` with lanes ≥ `valid` zeroed (whatever they held, NaN included).
#[inline(always)]
unsafe fn masked(v: v128, valid: usize) -> v128 {
    if valid >= 4 {
        v
    } else {
        v128_and(v, i32x4_lt(i32x4(0, 1, 2, 3), i32x4_splat(valid as i32)))
    }
}

#[inline(always)]
unsafe fn k_rows(
    kind: KQuant,
    relaxed: bool,
    w: usize,
    r0: usize,
    r1: usize,
    rows: usize,
    cols: usize,
    lay: &ActLayout,
    n: usize,
    out: *mut f32,
) {
    let nsb = cols / 256;
    let (block_bytes, parts) = if kind == KQuant::Q4K { (144, 8) } else { (210, 16) };
    let per_chunk = K_CHUNK / parts;
    let mut part = [i32x4_splat(0); TILE * K_CHUNK];
    let pp = part.as_mut_ptr() as *mut u8;
    for r in r0..r1 {
        let row = (w + r * nsb * block_bytes) as *const u8;
        let mut t0 = 0;
        while t0 < n {
            let nt = if n - t0 >= TILE { TILE } else { 1 };
            let mut acc = [f32x4_splat(0.0); TILE];
            let mut sb0 = 0;
            while sb0 < nsb {
                let nc = (nsb - sb0).min(per_chunk);
                let (wk, rec) = (row.add(sb0 * block_bytes), lay.rec(t0, sb0 * 8));
                if nt == TILE {
                    k_partials_four(kind, relaxed, wk, rec, nc, pp, K_CHUNK * 16);
                } else {
                    k_partials_one(kind, relaxed, wk, rec, nc, pp);
                }
                for t in 0..nt {
                    let p = pp.add(t * K_CHUNK * 16) as *const v128;
                    acc[t] = if kind == KQuant::Q4K {
                        scale_q4_k(acc[t], p, row, sb0, nc, lay, t0 + t)
                    } else {
                        scale_q6_k(acc[t], p, row, sb0, nc, lay, t0 + t)
                    };
                }
                sb0 += nc;
            }
            for t in 0..nt {
                *out.add((t0 + t) * rows + r) = hsum_f32(acc[t]);
            }
            t0 += nt;
        }
    }
}

/// Q4_K float stage over super-blocks sb0..sb0+nc. Value = d·sc_j·q − dmin·m_j for sub-block j (32
/// values, activation scale dx_j), so Σ w·x = Σ_j dx_j·(d·sc_j·(q·x)_j − dmin·m_j·Σx_j), with both
/// products of integers exact in i32 (lanes: sub-blocks j and j+4 of the super-block).
#[inline(always)]
unsafe fn scale_q4_k(mut acc: v128, p: *const v128, row: *const u8, sb0: usize, nc: usize, lay: &ActLayout, t: usize) -> v128 {
    let (xd, xsum) = (lay.d(t), lay.s32(t));
    for i in 0..nc {
        let sb = sb0 + i;
        let blk = row.add(sb * 144);
        let q = p.add(i * 8);
        let s_lo = reduce4_i32(*q, *q.add(1), *q.add(2), *q.add(3));
        let s_hi = reduce4_i32(*q.add(4), *q.add(5), *q.add(6), *q.add(7));
        // 12 bytes of 6-bit scales and mins (ggml's get_scale_min_k4), four at a time
        let a = (blk.add(4) as *const u32).read_unaligned();
        let b = (blk.add(8) as *const u32).read_unaligned();
        let c = (blk.add(12) as *const u32).read_unaligned();
        let sc_lo = a & 0x3f3f_3f3f;
        let m_lo = b & 0x3f3f_3f3f;
        let sc_hi = (c & 0x0f0f_0f0f) | ((a >> 2) & 0x3030_3030);
        let m_hi = ((c >> 4) & 0x0f0f_0f0f) | ((b >> 2) & 0x3030_3030);
        let v = u32x4(sc_lo, m_lo, sc_hi, m_hi);
        let (lo16, hi16) = (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v));
        let d = f32x4_splat(f16_to_f32((blk as *const u16).read_unaligned()));
        let dmin = f32x4_splat(f16_to_f32((blk.add(2) as *const u16).read_unaligned()));
        let halves = [(u32x4_extend_low_u16x8(lo16), u32x4_extend_high_u16x8(lo16), s_lo), (
            u32x4_extend_low_u16x8(hi16),
            u32x4_extend_high_u16x8(hi16),
            s_hi,
        )];
        for (k, &(sc, m, s)) in halves.iter().enumerate() {
            let dx = v128_load(xd.add(sb * 8 + 4 * k) as *const v128);
            let sx = v128_load(xsum.add(sb * 8 + 4 * k) as *const v128);
            let qx = f32x4_mul(f32x4_convert_i32x4(i32x4_mul(sc, s)), f32x4_mul(d, dx));
            let mx = f32x4_mul(f32x4_convert_i32x4(i32x4_mul(m, sx)), f32x4_mul(dmin, dx));
            acc = f32x4_add(acc, f32x4_sub(qx, mx));
        }
    }
    acc
}

/// Q6_K float stage: value = d·sc_j·(q − 32) per 16 values, so Σ w·x = Σ_j d·dx·sc_j·((q·x)_j − 32·Σx_j),
/// the integer part exact in i32; sub-blocks 2i and 2i+1 share activation scale dx_i.
#[inline(always)]
unsafe fn scale_q6_k(mut acc: v128, p: *const v128, row: *const u8, sb0: usize, nc: usize, lay: &ActLayout, t: usize) -> v128 {
    let (xd, xsum) = (lay.d(t), lay.s16(t));
    for i in 0..nc {
        let sb = sb0 + i;
        let blk = row.add(sb * 210);
        let q = p.add(i * 16);
        let sc = load(blk.add(192));
        let (sc_lo, sc_hi) = (i16x8_extend_low_i8x16(sc), i16x8_extend_high_i8x16(sc));
        let scales = [
            i32x4_extend_low_i16x8(sc_lo),
            i32x4_extend_high_i16x8(sc_lo),
            i32x4_extend_low_i16x8(sc_hi),
            i32x4_extend_high_i16x8(sc_hi),
        ];
        let d = f32x4_splat(f16_to_f32((blk.add(208) as *const u16).read_unaligned()));
        for k in 0..4 {
            let s = reduce4_i32(*q.add(4 * k), *q.add(4 * k + 1), *q.add(4 * k + 2), *q.add(4 * k + 3));
            let centred = i32x4_sub(s, i32x4_shl(v128_load(xsum.add(sb * 16 + 4 * k) as *const v128), 5));
            let sumi = i32x4_mul(scales[k], centred);
            let dx2 = v128_load64_zero(xd.add(sb * 8 + 2 * k) as *const u64);
            let dx = i32x4_shuffle::<0, 0, 1, 1>(dx2, dx2);
            acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(sumi), f32x4_mul(d, dx)));
        }
    }
    acc
}
