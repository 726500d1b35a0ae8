//! Quantised matrix products: out[n, rows] = x[n, cols] · wᵀ for Q4_0, Q8_0, Q4_K and Q6_K weights, with
//! x already quantised to int8 blocks of 32 ([`crate::act_quant`]).
//!
//! Each thread takes a contiguous range of weight rows; tokens go in full tiles of four (then one at a
//! time) so each weight block is unpacked once per tile, and a row stays in L1 for the following tiles: a
//! batch of n tokens reads the weights from memory once. Rows are walked in chunks of blocks, each
//! chunk's float sum added to the row's total in order.
//!
//! Q4_0 / Q8_0: the integer and float work per block, scales included, happens in [`crate::int_dot`]
//! (simd128) or the relaxed module, on rows repacked at upload.
//! Q4_K / Q6_K: per chunk, [`crate::kquant_scales`] computes each sub-block's combined scale
//! d·sc·d_x and the mins / −32 offset terms; the integer and float work per sub-block happens in
//! [`crate::int_dot`] or the relaxed module, as for Q4_0.
//!
//! Every token's result comes out of the same sequence of float operations whatever its tile, batch,
//! thread or integer path, so batched, threaded and relaxed results are bit-identical.
//!
//! Weight layouts:
//! - Q4_0 repacked per row (`repack_q` in [`crate::probe`]): ⌈nb/4⌉ groups of [4 f16 d][4 × 16 B
//!   nibbles], 72 B each (the file's bytes, reordered)
//! - Q8_0 likewise, groups of [4 f16 d][4 × 32 B int8], 136 B each
//! - Q4_K, Q6_K: GGUF blocks as they are (row stride nb · 144 or 210).

use crate::act_quant::{ActLayout, TILE};
use crate::int_dot::{fused_four, fused_one, k_fused_four, k_fused_one};
use crate::job::{Chunks, Desc, TYPE_Q4_0, TYPE_Q4_K, TYPE_Q6_K, TYPE_Q8_0};
use crate::kquant_scales;
use crate::probe::repacked_row_bytes;
use crate::simd::*;
use core::arch::wasm32::*;

/// Blocks of 32 per chunk of a fused row (8192 values, a multiple of four): each chunk's dot is summed
/// into the row's total in order, so a row's result does not depend on anything but its length.
const FUSED_CHUNK: usize = 256;
/// Super-blocks per K-quant chunk (4096 values): their scales for a tile, 4 × 16 × 16 f32 = 4 KiB, stay
/// in L1.
const K_CHUNK: usize = 16;

/// OP_MATMUL for quantised types: [op, type, w, rows, cols, act, n, out: f32 [n][rows], flags].
/// flags bit 0: use the relaxed integer loops; bit 1 (Q4_0/Q8_0): some block scale is inf or NaN (never
/// with bit 0). Splits weight rows.
#[inline(never)]
pub unsafe fn job(d: Desc, _tid: usize, nth: usize) {
    let (t, w, rows, cols, n, out) = (d.u(1) as u32, d.u(2), d.u(3), d.u(4), d.u(6), d.u(7) as *mut f32);
    let lay = ActLayout::new(d.u(5), cols, n);
    let relaxed = d.u(8) & 1 != 0;
    let special = d.u(8) & 2 != 0;
    let work = Chunks::new(d, rows, nth, 1);
    while let Some((r0, r1)) = work.next() {
        match t {
            TYPE_Q4_0 | TYPE_Q8_0 => {
                fused_rows(t == TYPE_Q4_0, relaxed, special, w, r0, r1, rows, cols, &lay, n, out, d.consts())
            }
            TYPE_Q4_K => k_rows(false, relaxed, w, r0, r1, rows, cols, &lay, n, out, d.consts()),
            TYPE_Q6_K => k_rows(true, relaxed, w, r0, r1, rows, cols, &lay, n, out, d.consts()),
            _ => {}
        }
    }
}

#[inline(always)]
unsafe fn fused_rows(
    is_q4: bool,
    relaxed: bool,
    special: bool,
    w: usize,
    r0: usize,
    r1: usize,
    rows: usize,
    cols: usize,
    lay: &ActLayout,
    n: usize,
    out: *mut f32,
    k: Consts,
) {
    let nb = cols / 32;
    let qb = if is_q4 { 16 } else { 32 };
    let stride = repacked_row_bytes(nb as u32, qb as u32) as usize;
    let group = 8 + 4 * qb;
    for r in r0..r1 {
        let row = (w + r * stride) as *const u8;
        let mut t0 = 0;
        while t0 < n {
            let nt = if n - t0 >= TILE { TILE } else { 1 };
            let mut total = [0.0f32; TILE];
            let mut b0 = 0;
            while b0 < nb {
                let nbc = (nb - b0).min(FUSED_CHUNK);
                let (wq, x) = (row.add(b0 / 4 * group), lay.rec(t0, b0));
                let part = if nt == TILE {
                    fused_four(is_q4, relaxed, special, wq, x, lay.dt(t0, b0), lay.ot(t0, b0), nbc, k)
                } else {
                    let v = fused_one(is_q4, relaxed, special, wq, x, lay.d(t0).add(b0), lay.off(t0).add(b0), nbc, k);
                    [v, 0.0, 0.0, 0.0]
                };
                for t in 0..nt {
                    total[t] += part[t];
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

#[inline(always)]
unsafe fn k_rows(
    q6: bool,
    relaxed: bool,
    w: usize,
    r0: usize,
    r1: usize,
    rows: usize,
    cols: usize,
    lay: &ActLayout,
    n: usize,
    out: *mut f32,
    k: Consts,
) {
    let nsb = cols / 256;
    let block_bytes = if q6 { 210 } else { 144 };
    let subs = kquant_scales::subs(q6);
    // combined scales of one chunk for up to a tile of tokens: [super-block][token][subs] or [super-block][subs]
    let mut scales = [f32x4_splat(0.0); TILE * K_CHUNK * 16 / 4];
    let sp = scales.as_mut_ptr() as *mut f32;
    for r in r0..r1 {
        let row = (w + r * nsb * block_bytes) as *const u8;
        let mut t0 = 0;
        while t0 < n {
            let nt = if n - t0 >= TILE { TILE } else { 1 };
            let mut total = [0.0f32; TILE];
            let mut sb0 = 0;
            while sb0 < nsb {
                let nc = (nsb - sb0).min(K_CHUNK);
                let mut offset = [f32x4_splat(0.0); TILE];
                let (ts, bs) = if nt == TILE { (subs, TILE * subs) } else { (0, subs) };
                if q6 {
                    kquant_scales::q6_k(row, sb0, nc, lay, t0, nt, sp, ts, bs, &mut offset, k);
                } else {
                    kquant_scales::q4_k(row, sb0, nc, lay, t0, nt, sp, ts, bs, &mut offset, k);
                }
                let (wk, x) = (row.add(sb0 * block_bytes), lay.rec(t0, sb0 * 8));
                let part = if nt == TILE {
                    k_fused_four(q6, relaxed, wk, x, sp, nc, k)
                } else {
                    [k_fused_one(q6, relaxed, wk, x, sp, nc, k), 0.0, 0.0, 0.0]
                };
                for t in 0..nt {
                    total[t] += part[t] + hsum_f32(offset[t]);
                }
                sb0 += nc;
            }
            for t in 0..nt {
                *out.add((t0 + t) * rows + r) = total[t];
            }
            t0 += nt;
        }
    }
}
