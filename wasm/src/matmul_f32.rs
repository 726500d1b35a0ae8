//! F32 matrix products: out[n, rows] = x[n, cols] · wᵀ, w f32 rows as in the GGUF file, x f32.
//!
//! Register tiles of [`ROWS`] weight rows × [`TOKENS`] tokens: per 4 columns the tile loads each token's
//! x vector once and each row's w vector once, and does ROWS·TOKENS multiply-adds with them, so a batch
//! does far fewer loads per multiply-add than one row at a time (batched decode is compute-bound, not
//! memory-bound). Each thread claims ranges of rows (at least [`MIN_CHUNK_BYTES`] of weights each); a
//! range is cut in three equal parts and tile i
//! takes the i-th row of each, so the weights stream from three long sequential runs (three adjacent
//! rows per tile made three short streams per tile, which the hardware prefetcher never caught up with:
//! a third of the DRAM speed at n = 1); the last `len % 3` rows form one short tile. Each row tile runs
//! over all tokens in token tiles (3, then 2 or 1), so its rows stay in L1 while the tokens pass.
//!
//! Summation order, the same for every (row, token) whatever tile it is in: one f32x4 accumulator over
//! the columns 4 at a time, then [`hsum_f32`], plus the scalar sum of the last `cols % 4` columns. So a
//! token's result does not depend on the tile shape, its batch-mates or the thread count.
//!
//! With relaxed SIMD the same tiles run in `wasm/relaxed/relaxed_dot.wat` (`f32_rows`), which multiply
//! and add with `f32x4.relaxed_madd`: fused (one rounding) where the CPU has FMA, as V8 emits on x86-64
//! with FMA3 and on arm64, and fewer instructions per multiply-add either way. Same order, but results
//! may differ from this file's mul-then-add in the last bits; within one backend both the batch and the
//! thread-count independence hold.

use crate::elementwise::silu_mul_range;
use crate::job::{Chunks, Desc};
use crate::math::Exp;
use crate::simd::*;
use core::arch::wasm32::*;

/// Weight rows per register tile: ROWS·TOKENS accumulators, TOKENS x vectors, one w vector and one
/// product fit V8's 15 allocatable SIMD registers on x86-64 (3×3 → 14).
pub const ROWS: usize = 3;
/// Tokens per register tile.
pub const TOKENS: usize = 3;
/// 4-column steps per loop iteration of a tile (the relaxed tiles do 8): 1.4× faster than 1 step (fewer
/// loop and pointer instructions per multiply-add); 8 ran slower with this LLVM.
const UNROLL: usize = 4;
/// Weight bytes a thread claims at least at a time (fewer chunks per thread where they would be smaller):
/// each of a chunk's three streams then runs for tens of KiB, long enough for the hardware prefetcher to
/// lock on. Chunks of 9 rows of a 288×288 matrix (3.4 KiB per stream) left the small products of a
/// 15M-parameter model at half their DRAM speed: with this they run 2× faster, at 1 and at 8 tokens
/// (64 KiB did a little worse, 256 KiB the same; fewer chunks leave less to steal from a thread that
/// lost its core).
const MIN_CHUNK_BYTES: usize = 128 * 1024;

#[link(wasm_import_module = "relaxed")]
extern "C" {
    /// The relaxed-SIMD tiles (wasm/relaxed/relaxed_dot.wat): weight rows r0..r1 × all n tokens.
    #[link_name = "f32_rows"]
    fn relaxed_f32_rows(w: usize, x: usize, cols: usize, out: usize, rows: usize, r0: usize, r1: usize, n: usize);
}

/// OP_MATMUL for F32: [op, type, w, rows, cols, x: f32 [n][cols], n, out: f32 [n][rows], flags].
/// flags bit 0: use the relaxed-SIMD (FMA) tiles. Splits weight rows.
#[inline(never)]
pub unsafe fn job(d: Desc, _tid: usize, nth: usize) {
    let (w, rows, cols, x, n, out) = (d.u(2), d.u(3), d.u(4), d.u(5), d.u(6), d.u(7));
    let relaxed = d.u(8) & 1 != 0;
    let work = Chunks::at_least(d, rows, nth, ROWS, MIN_CHUNK_BYTES / (4 * cols).max(1));
    while let Some((r0, r1)) = work.next() {
        rows_range(w, x, cols, out, rows, r0, r1, n, relaxed);
    }
}

/// OP_GATE_UP_SILU for F32: [op, gate, up, rows, cols, x: f32 [n][cols], n, out: f32 [n][rows],
/// scratch: f32 [n][rows], flags]: out = silu(x · gateᵀ) · (x · upᵀ), gate and up both [rows][cols].
/// flags bit 0 as for OP_MATMUL. Splits rows: the thread that computes a row of both products applies
/// silu·mul to it, so one dispatch does what took three; every value is the unfused ops' bits.
#[inline(never)]
pub unsafe fn job_gate_up_silu(d: Desc, _tid: usize, nth: usize) {
    let (gate, up, rows, cols, x, n) = (d.u(1), d.u(2), d.u(3), d.u(4), d.u(5), d.u(6));
    let (out, scratch, relaxed) = (d.u(7), d.u(8), d.u(9) & 1 != 0);
    let work = Chunks::at_least(d, rows, nth, ROWS, MIN_CHUNK_BYTES / (4 * cols).max(1));
    let e = Exp::new(d.consts());
    while let Some((r0, r1)) = work.next() {
        rows_range(gate, x, cols, out, rows, r0, r1, n, relaxed);
        rows_range(up, x, cols, scratch, rows, r0, r1, n, relaxed);
        for t in 0..n {
            let at = (t * rows + r0) * 4;
            let o = (out + at) as *mut f32;
            silu_mul_range(o, o, (scratch + at) as *const f32, r1 - r0, &e);
        }
    }
}

/// Rows r0..r1 of out[n, rows] = x[n, cols] · wᵀ, on the relaxed (FMA) tiles or the simd128 ones.
#[inline(never)]
unsafe fn rows_range(
    w: usize,
    x: usize,
    cols: usize,
    out: usize,
    rows: usize,
    r0: usize,
    r1: usize,
    n: usize,
    relaxed: bool,
) {
    if relaxed {
        relaxed_f32_rows(w, x, cols, out, rows, r0, r1, n);
        return;
    }
    // tile i takes rows r0 + i, r0 + per + i, r0 + 2·per + i (see the module comment)
    let per = (r1 - r0) / ROWS;
    for i in 0..per {
        row_tile::<ROWS>(
            w + (r0 + i) * cols * 4,
            per * cols,
            x,
            cols,
            out + (r0 + i) * 4,
            per,
            rows,
            n,
        );
    }
    let (rest, left) = (r0 + ROWS * per, r1 - r0 - ROWS * per);
    let (wr, or) = (w + rest * cols * 4, out + rest * 4);
    match left {
        2 => row_tile::<2>(wr, cols, x, cols, or, 1, rows, n),
        1 => row_tile::<1>(wr, cols, x, cols, or, 1, rows, n),
        _ => {}
    }
}

/// R weight rows (at `w`, `wrs` f32 apart; outputs `ors` apart) × all n tokens, TOKENS at a time.
#[inline(always)]
unsafe fn row_tile<const R: usize>(
    w: usize,
    wrs: usize,
    x: usize,
    cols: usize,
    out: usize,
    ors: usize,
    rows: usize,
    n: usize,
) {
    let (w, out) = (w as *const f32, out as *mut f32);
    let mut t = 0;
    while t + TOKENS <= n {
        tile::<R, TOKENS>(
            w,
            wrs,
            (x + t * cols * 4) as *const f32,
            cols,
            out.add(t * rows),
            ors,
            rows,
        );
        t += TOKENS;
    }
    let xt = (x + t * cols * 4) as *const f32;
    match n - t {
        2 => tile::<R, 2>(w, wrs, xt, cols, out.add(t * rows), ors, rows),
        1 => tile::<R, 1>(w, wrs, xt, cols, out.add(t * rows), ors, rows),
        _ => {}
    }
}

/// Columns c..c+4 of a tile: each token's x vector and each row's w vector loaded once.
#[inline(always)]
unsafe fn step<const R: usize, const T: usize>(
    a: &mut [[v128; T]; R],
    w: *const f32,
    wrs: usize,
    x: *const f32,
    cols: usize,
    c: usize,
) {
    let mut xv = [f32x4_splat(0.0); T];
    for t in 0..T {
        xv[t] = v128_load(x.add(t * cols + c) as *const v128);
    }
    for r in 0..R {
        let wv = v128_load(w.add(r * wrs + c) as *const v128);
        for t in 0..T {
            a[r][t] = f32x4_add(a[r][t], f32x4_mul(wv, xv[t]));
        }
    }
}

/// R weight rows (at `w`, `wrs` f32 apart) · T tokens (at `x`, `cols` apart) → out[t·rows + r·ors].
#[inline(always)]
unsafe fn tile<const R: usize, const T: usize>(
    w: *const f32,
    wrs: usize,
    x: *const f32,
    cols: usize,
    out: *mut f32,
    ors: usize,
    rows: usize,
) {
    let mut a = [[f32x4_splat(0.0); T]; R];
    let mut c = 0;
    // UNROLL steps of 4 columns per iteration (fewer loop and pointer instructions per multiply-add),
    // then single steps: the same order either way
    while c + 4 * UNROLL <= cols {
        for u in 0..UNROLL {
            step::<R, T>(&mut a, w, wrs, x, cols, c + 4 * u);
        }
        c += 4 * UNROLL;
    }
    while c + 4 <= cols {
        step::<R, T>(&mut a, w, wrs, x, cols, c);
        c += 4;
    }
    let mut tail = [[0.0f32; T]; R];
    while c < cols {
        for r in 0..R {
            let wv = *w.add(r * wrs + c);
            for t in 0..T {
                tail[r][t] += wv * *x.add(t * cols + c);
            }
        }
        c += 1;
    }
    for r in 0..R {
        for t in 0..T {
            *out.add(t * rows + r * ors) = hsum_f32(a[r][t]) + tail[r][t];
        }
    }
}
