//! Quantised matrix products: out[n, rows] = x[n, cols] · wᵀ for Q4_0, Q8_0, Q4_K and Q6_K weights,
//! with x already quantised to int8 blocks ([`crate::act_quant`]).
//!
//! Work order: each thread takes a contiguous range of weight rows; for each row, tokens go in tiles of
//! four, and the row's blocks in chunks of [`CHUNK`] partials per token. The integer stage
//! ([`crate::int_dot`]) writes exact i32x4 partials into a stack buffer; the float stage below scales
//! them. A weight row is read from memory once per tile and stays in L1 for the following tiles, so a
//! batch of n tokens reads the weights once, not n times.
//!
//! Every token's result is computed by the same sequence of float operations whatever the tile, chunk,
//! thread count or integer path, so batched, threaded and relaxed results are bit-identical.
//!
//! Weight layouts (rows of `nb` blocks, row stride = nb · block bytes, same as GGUF):
//! - Q4_0 repacked per row: qs [nb][16] then d [nb] f16 (see `repack_rows` in [`crate::probe`])
//! - Q8_0 repacked per row: qs [nb][32] then d [nb] f16
//! - Q4_K, Q6_K: GGUF blocks as they are.

use crate::act_quant::ActLayout;
use crate::f16::{f16_to_f32, load_f16x4};
use crate::int_dot::{partials, Kind};
use crate::job::{split, Desc, TYPE_Q4_0, TYPE_Q4_K, TYPE_Q8_0};
use crate::simd::*;
use core::arch::wasm32::*;

/// i32x4 partials per token held at once (16 B each): 64 blocks of Q4_0/Q8_0 (2048 values), 8 Q4_K or
/// 4 Q6_K super-blocks. 4 tokens × 64 × 16 B = 4 KiB of stack, well inside L1.
const CHUNK: usize = 64;
/// Tokens per tile: the integer stage unpacks each weight block once for this many activation rows.
const TILE: usize = 4;

struct Geometry {
    kind: Kind,
    /// bytes per block (super-block for K types)
    block_bytes: usize,
    /// values per block
    block_values: usize,
    /// partials written per block
    parts: usize,
}

fn geometry(t: u32) -> Geometry {
    match t {
        TYPE_Q4_0 => Geometry { kind: Kind::Q4_0, block_bytes: 18, block_values: 32, parts: 1 },
        TYPE_Q8_0 => Geometry { kind: Kind::Q8_0, block_bytes: 34, block_values: 32, parts: 1 },
        TYPE_Q4_K => Geometry { kind: Kind::Q4K, block_bytes: 144, block_values: 256, parts: 8 },
        // TYPE_Q6_K
        _ => Geometry { kind: Kind::Q6K, block_bytes: 210, block_values: 256, parts: 16 },
    }
}

/// OP_MATMUL for quantised types: [op, type, w, rows, cols, act, n, out: f32 [n][rows], flags].
/// flags bit 0: use the relaxed integer stage. Splits weight rows.
#[inline(never)]
pub unsafe fn job(d: Desc, tid: usize, nth: usize) {
    let g = geometry(d.u(1) as u32);
    let (w, rows, cols, act, n, out) = (d.u(2), d.u(3), d.u(4), d.u(5), d.u(6), d.u(7) as *mut f32);
    let relaxed = d.u(8) & 1 != 0;
    let nb = cols / g.block_values;
    let lay = if g.block_values == 256 { ActLayout::a8k(act, cols, n) } else { ActLayout::a8(act, cols, n) };
    let per_chunk = CHUNK / g.parts;
    let mut part = [i32x4_splat(0); TILE * CHUNK];
    let part_ptr = part.as_mut_ptr() as *mut u8;
    let (r0, r1) = split(rows, tid, nth, 1);
    for r in r0..r1 {
        let row = (w + r * nb * g.block_bytes) as *const u8;
        let mut t0 = 0;
        while t0 < n {
            let nt = (n - t0).min(TILE);
            let mut acc = [f32x4_splat(0.0); TILE];
            let mut b0 = 0;
            while b0 < nb {
                let nbc = (nb - b0).min(per_chunk);
                let wq = match g.kind {
                    Kind::Q4_0 => row.add(b0 * 16),
                    Kind::Q8_0 => row.add(b0 * 32),
                    _ => row.add(b0 * g.block_bytes),
                };
                let x = lay.qs(t0).add(b0 * g.block_values);
                partials(g.kind, relaxed, wq, x, cols, nt, nbc, part_ptr, CHUNK * 16);
                for t in 0..nt {
                    let p = part_ptr.add(t * CHUNK * 16) as *const v128;
                    acc[t] = match g.kind {
                        Kind::Q4_0 => scale_q4_0(acc[t], p, row, nb, b0, nbc, &lay, t0 + t),
                        Kind::Q8_0 => scale_q8_0(acc[t], p, row, nb, b0, nbc, &lay, t0 + t),
                        Kind::Q4K => scale_q4_k(acc[t], p, row, b0, nbc, &lay, t0 + t),
                        Kind::Q6K => scale_q6_k(acc[t], p, row, b0, nbc, &lay, t0 + t),
                    };
                }
                b0 += nbc;
            }
            for t in 0..nt {
                *out.add((t0 + t) * rows + r) = hsum_f32(acc[t]);
            }
            t0 += nt;
        }
    }
}

/// Q4_0 float stage over blocks b0..b0+nbc of one row for token t; lane k accumulates blocks ≡ k mod 4.
/// Σ (q−8)·x = Σ q·x − 8·Σ x, the second sum coming from the activation block sums.
#[inline(always)]
unsafe fn scale_q4_0(
    mut acc: v128,
    p: *const v128,
    row: *const u8,
    nb: usize,
    b0: usize,
    nbc: usize,
    lay: &ActLayout,
    t: usize,
) -> v128 {
    let wd = row.add(nb * 16);
    let (xd, xsum) = (lay.d(t), lay.s32(t));
    let mut g = 0;
    while g < nbc {
        let b = b0 + g;
        let s = reduce4_i32(*p.add(g), *p.add(g + 1), *p.add(g + 2), *p.add(g + 3));
        let c = i32x4_sub(s, i32x4_shl(v128_load(xsum.add(b) as *const v128), 3));
        let scale = f32x4_mul(load_f16x4(wd.add(b * 2)), v128_load(xd.add(b) as *const v128));
        let mut prod = f32x4_mul(f32x4_convert_i32x4(c), scale);
        if nbc - g < 4 {
            prod = v128_and(prod, first_lanes(nbc - g));
        }
        acc = f32x4_add(acc, prod);
        g += 4;
    }
    acc
}

/// Q8_0 float stage, as Q4_0 without the offset.
#[inline(always)]
unsafe fn scale_q8_0(
    mut acc: v128,
    p: *const v128,
    row: *const u8,
    nb: usize,
    b0: usize,
    nbc: usize,
    lay: &ActLayout,
    t: usize,
) -> v128 {
    let wd = row.add(nb * 32);
    let xd = lay.d(t);
    let mut g = 0;
    while g < nbc {
        let b = b0 + g;
        let s = reduce4_i32(*p.add(g), *p.add(g + 1), *p.add(g + 2), *p.add(g + 3));
        let scale = f32x4_mul(load_f16x4(wd.add(b * 2)), v128_load(xd.add(b) as *const v128));
        let mut prod = f32x4_mul(f32x4_convert_i32x4(s), scale);
        if nbc - g < 4 {
            prod = v128_and(prod, first_lanes(nbc - g));
        }
        acc = f32x4_add(acc, prod);
        g += 4;
    }
    acc
}

/// Q4_K float stage over super-blocks b0..b0+nbc. Per super-block: value = d·sc_j·q − dmin·m_j for
/// sub-block j (32 values), so Σ w·x = dx·(d·Σ_j sc_j·(q·x)_j − dmin·Σ_j m_j·Σx_j); both inner sums are
/// exact i32 (lanes hold sub-blocks j and j+4).
#[inline(always)]
unsafe fn scale_q4_k(mut acc: v128, p: *const v128, row: *const u8, b0: usize, nbc: usize, lay: &ActLayout, t: usize) -> v128 {
    let (xd, xsum) = (lay.d(t), lay.s32(t));
    for i in 0..nbc {
        let sb = b0 + i;
        let blk = row.add(sb * 144);
        let q = p.add(i * 8);
        let s_lo = reduce4_i32(*q, *q.add(1), *q.add(2), *q.add(3));
        let s_hi = reduce4_i32(*q.add(4), *q.add(5), *q.add(6), *q.add(7));
        // 12 bytes of 6-bit scales and mins (see ggml's get_scale_min_k4), four at a time
        let a = (blk.add(4) as *const u32).read_unaligned();
        let b = (blk.add(8) as *const u32).read_unaligned();
        let c = (blk.add(12) as *const u32).read_unaligned();
        let sc_lo = a & 0x3f3f_3f3f;
        let m_lo = b & 0x3f3f_3f3f;
        let sc_hi = (c & 0x0f0f_0f0f) | ((a >> 2) & 0x3030_3030);
        let m_hi = ((c >> 4) & 0x0f0f_0f0f) | ((b >> 2) & 0x3030_3030);
        let v = u32x4(sc_lo, m_lo, sc_hi, m_hi);
        let (lo16, hi16) = (u16x8_extend_low_u8x16(v), u16x8_extend_high_u8x16(v));
        let sumi = i32x4_add(
            i32x4_mul(u32x4_extend_low_u16x8(lo16), s_lo),
            i32x4_mul(u32x4_extend_low_u16x8(hi16), s_hi),
        );
        let xs = xsum.add(sb * 8);
        let summ = i32x4_add(
            i32x4_mul(u32x4_extend_high_u16x8(lo16), v128_load(xs as *const v128)),
            i32x4_mul(u32x4_extend_high_u16x8(hi16), v128_load(xs.add(4) as *const v128)),
        );
        let dx = *xd.add(sb);
        let dw = f16_to_f32((blk as *const u16).read_unaligned()) * dx;
        let dm = f16_to_f32((blk.add(2) as *const u16).read_unaligned()) * dx;
        let term = f32x4_sub(
            f32x4_mul(f32x4_convert_i32x4(sumi), f32x4_splat(dw)),
            f32x4_mul(f32x4_convert_i32x4(summ), f32x4_splat(dm)),
        );
        acc = f32x4_add(acc, term);
    }
    acc
}

/// Q6_K float stage: value = d·sc_j·(q − 32) per 16 values, so Σ w·x = d·dx·Σ_j sc_j·((q·x)_j − 32·Σx_j),
/// exact in i32.
#[inline(always)]
unsafe fn scale_q6_k(mut acc: v128, p: *const v128, row: *const u8, b0: usize, nbc: usize, lay: &ActLayout, t: usize) -> v128 {
    let (xd, xsum) = (lay.d(t), lay.s16(t));
    for i in 0..nbc {
        let sb = b0 + i;
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
        let xs = xsum.add(sb * 16);
        let mut sumi = i32x4_splat(0);
        for k in 0..4 {
            let s = reduce4_i32(*q.add(4 * k), *q.add(4 * k + 1), *q.add(4 * k + 2), *q.add(4 * k + 3));
            let centred = i32x4_sub(s, i32x4_shl(v128_load(xs.add(4 * k) as *const v128), 5));
            sumi = i32x4_add(sumi, i32x4_mul(scales[k], centred));
        }
        let scale = f16_to_f32((blk.add(208) as *const u16).read_unaligned()) * *xd.add(sb);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(sumi), f32x4_splat(scale)));
    }
    acc
}
