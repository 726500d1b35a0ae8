//! Embedding lookup: out[i, :] = row tokens[i] of a weight table, dequantised to f32.
//!
//! Values equal ggml's `dequantize_row_*` (and src/quant/dequantize.ts) bit for bit: each product is
//! rounded in the same order as the C code (which ggml builds without FMA contraction).
//! Layouts are those of [`crate::matmul_quant`] (Q4_0/Q8_0 repacked per row, K types as in GGUF).

use crate::f16::{f16_to_f32, F16};
use crate::job::{Chunks, Desc, TYPE_F16, TYPE_F32, TYPE_Q4_0, TYPE_Q4_K, TYPE_Q6_K, TYPE_Q8_0};
use crate::probe::repacked_row_bytes;
use crate::simd::*;
use core::arch::wasm32::*;

/// Bytes between rows of a `cols`-wide weight of type `t` as stored here (0 for unknown types).
pub fn row_bytes(t: u32, cols: usize) -> usize {
    match t {
        TYPE_F32 => cols * 4,
        TYPE_F16 => cols * 2,
        TYPE_Q4_0 => repacked_row_bytes((cols / 32) as u32, 16) as usize,
        TYPE_Q8_0 => repacked_row_bytes((cols / 32) as u32, 32) as usize,
        TYPE_Q4_K => cols / 256 * 144,
        TYPE_Q6_K => cols / 256 * 210,
        _ => 0,
    }
}

/// OP_EMBED: [op, type, w, cols, tokens: i32 [n], n, out: f32 [n][cols]]. Splits tokens. The host has
/// checked every token id against the table's rows. Returns false for an unknown type.
#[inline(never)]
pub unsafe fn job(d: Desc, _tid: usize, nth: usize) -> bool {
    let (t, w, cols, tokens, n, out) = (d.u(1) as u32, d.u(2), d.u(3), d.u(4) as *const i32, d.u(5), d.u(6));
    let rb = row_bytes(t, cols);
    if rb == 0 {
        return false;
    }
    let work = Chunks::new(d, n, nth, 1);
    while let Some((i0, i1)) = work.next() {
        for i in i0..i1 {
            let row = (w + *tokens.add(i) as usize * rb) as *const u8;
            let y = (out + i * cols * 4) as *mut f32;
            match t {
                TYPE_F32 => core::ptr::copy_nonoverlapping(row as *const f32, y, cols),
                TYPE_F16 => row_f16(row, y, cols, d.consts()),
                TYPE_Q4_0 => row_q4_0(row, y, cols / 32, d.consts()),
                TYPE_Q8_0 => row_q8_0(row, y, cols / 32),
                TYPE_Q4_K => row_q4_k(row, y, cols / 256, d.consts()),
                _ => row_q6_k(row, y, cols / 256),
            }
        }
    }
    true
}

unsafe fn row_f16(row: *const u8, y: *mut f32, cols: usize, k: Consts) {
    let f16 = F16::new(k);
    let mut c = 0;
    while c + 8 <= cols {
        let h = load(row.add(c * 2));
        v128_store(y.add(c) as *mut v128, f16.to_f32x4(u32x4_extend_low_u16x8(h)));
        v128_store(y.add(c + 4) as *mut v128, f16.to_f32x4(u32x4_extend_high_u16x8(h)));
        c += 8;
    }
    while c < cols {
        *y.add(c) = f16_to_f32((row.add(c * 2) as *const u16).read_unaligned());
        c += 1;
    }
}

/// 16 bytes → four i32x4 of their values, as signed bytes. Callers pass nibbles (0..16) or int8; sign
/// extension also keeps LLVM 14 from turning the int→f32 conversion into an unsigned one, which it would
/// scalarise.
#[inline(always)]
unsafe fn widen(b: v128) -> [v128; 4] {
    let (lo, hi) = (i16x8_extend_low_i8x16(b), i16x8_extend_high_i8x16(b));
    [
        i32x4_extend_low_i16x8(lo),
        i32x4_extend_high_i16x8(lo),
        i32x4_extend_low_i16x8(hi),
        i32x4_extend_high_i16x8(hi),
    ]
}

/// y[0..16] = (f32(q_k) · mul) − sub for the 16 byte values of `b`.
#[inline(always)]
unsafe fn store16(y: *mut f32, b: v128, offset: i32, mul: f32, sub: f32) {
    let q = widen(b);
    for k in 0..4 {
        let v = f32x4_convert_i32x4(i32x4_sub(q[k], i32x4_splat(offset)));
        let v = f32x4_sub(f32x4_mul(v, f32x4_splat(mul)), f32x4_splat(sub));
        v128_store(y.add(4 * k) as *mut v128, v);
    }
}

/// Repacked Q4_0 row: groups of [4 f16 d][4 × 16 B nibbles]. value = (q − 8)·d.
unsafe fn row_q4_0(row: *const u8, y: *mut f32, nb: usize, k: Consts) {
    let m = k.u8(0x0f);
    for b in 0..nb {
        let g = row.add((b / 4) * 72);
        let d = f16_to_f32((g as *const u16).add(b % 4).read_unaligned());
        let q = load(g.add(8 + (b % 4) * 16));
        store16(y.add(b * 32), v128_and(q, m), 8, d, 0.0);
        store16(y.add(b * 32 + 16), v128_and(u16x8_shr(q, 4), m), 8, d, 0.0);
    }
}

/// Repacked Q8_0 row: groups of [4 f16 d][4 × 32 B int8]. value = q·d.
unsafe fn row_q8_0(row: *const u8, y: *mut f32, nb: usize) {
    for b in 0..nb {
        let g = row.add((b / 4) * 136);
        let d = f16_to_f32((g as *const u16).add(b % 4).read_unaligned());
        let q = g.add(8 + (b % 4) * 32);
        store16(y.add(b * 32), load(q), 0, d, 0.0);
        store16(y.add(b * 32 + 16), load(q.add(16)), 0, d, 0.0);
    }
}

/// ggml's get_scale_min_k4: 6-bit scale and min of sub-block j from the 12 packed bytes at `q`.
#[inline(always)]
unsafe fn scale_min_k4(j: usize, q: *const u8) -> (u8, u8) {
    if j < 4 {
        (*q.add(j) & 63, *q.add(j + 4) & 63)
    } else {
        (
            (*q.add(j + 4) & 0xf) | ((*q.add(j - 4) >> 6) << 4),
            (*q.add(j + 4) >> 4) | ((*q.add(j) >> 6) << 4),
        )
    }
}

/// GGUF Q4_K row. value = (d·sc)·q − (dmin·m).
unsafe fn row_q4_k(row: *const u8, y: *mut f32, nsb: usize, k: Consts) {
    let m = k.u8(0x0f);
    for sb in 0..nsb {
        let blk = row.add(sb * 144);
        let d = f16_to_f32((blk as *const u16).read_unaligned());
        let dmin = f16_to_f32((blk.add(2) as *const u16).read_unaligned());
        let (scales, qs) = (blk.add(4), blk.add(16));
        for c in 0..4 {
            let (sc1, m1) = scale_min_k4(2 * c, scales);
            let (sc2, m2) = scale_min_k4(2 * c + 1, scales);
            let (d1, mn1, d2, mn2) = (d * sc1 as f32, dmin * m1 as f32, d * sc2 as f32, dmin * m2 as f32);
            let yc = y.add(sb * 256 + 64 * c);
            for half in 0..2 {
                let q = load(qs.add(32 * c + 16 * half));
                store16(yc.add(16 * half), v128_and(q, m), 0, d1, mn1);
                store16(yc.add(32 + 16 * half), v128_and(u16x8_shr(q, 4), m), 0, d2, mn2);
            }
        }
    }
}

/// GGUF Q6_K row. value = (d·sc)·(q − 32), q from ql/qh as in [`crate::int_dot`].
unsafe fn row_q6_k(row: *const u8, y: *mut f32, nsb: usize) {
    for sb in 0..nsb {
        let blk = row.add(sb * 210);
        let d = f16_to_f32((blk.add(208) as *const u16).read_unaligned());
        let sc = blk.add(192) as *const i8;
        for h in 0..2 {
            let (ql, qh) = (blk.add(64 * h), blk.add(128 + 32 * h));
            for l in 0..32 {
                let (a, b, hb) = (*ql.add(l), *ql.add(l + 32), *qh.add(l));
                let q = [
                    ((a & 0xf) | ((hb & 3) << 4)) as i32 - 32,
                    ((b & 0xf) | (((hb >> 2) & 3) << 4)) as i32 - 32,
                    ((a >> 4) | (((hb >> 4) & 3) << 4)) as i32 - 32,
                    ((b >> 4) | (((hb >> 6) & 3) << 4)) as i32 - 32,
                ];
                for k in 0..4 {
                    let s = d * *sc.add(8 * h + 2 * k + l / 16) as f32;
                    *y.add(sb * 256 + 128 * h + 32 * k + l) = s * q[k] as f32;
                }
            }
        }
    }
}
