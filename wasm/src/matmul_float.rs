//! Float matrix products: out[n, rows] = x[n, cols] · wᵀ for F32 and F16 weights, x f32.
//!
//! Each thread takes a contiguous range of weight rows; tokens go in tiles of four so each weight row is
//! loaded (and for F16 converted) once per four tokens. Per token the sum is always accumulated the same
//! way — two f32x4 accumulators over 8 columns at a time, a 4-column step, then scalar columns — so
//! results do not depend on the tile, the batch or the thread count.
//!
//! Weight layout: GGUF rows, `cols` f32 or f16 values each.

use crate::f16::{f16_to_f32, f16x4_to_f32x4, f16x8_finite_to_f32};
use crate::job::{split, Desc, TYPE_F16};
use crate::simd::*;
use core::arch::wasm32::*;

const TILE: usize = 4;

/// How one weight row is turned into f32 lanes.
trait RowLoad {
    /// values cols..cols+8 → two f32x4
    unsafe fn load8(row: *const u8, c: usize) -> (v128, v128);
    /// values c..c+4
    unsafe fn load4(row: *const u8, c: usize) -> v128;
    /// value c
    unsafe fn load1(row: *const u8, c: usize) -> f32;
    const BYTES: usize;
}

struct F32Row;
impl RowLoad for F32Row {
    #[inline(always)]
    unsafe fn load8(row: *const u8, c: usize) -> (v128, v128) {
        (load(row.add(c * 4)), load(row.add(c * 4 + 16)))
    }
    #[inline(always)]
    unsafe fn load4(row: *const u8, c: usize) -> v128 {
        load(row.add(c * 4))
    }
    #[inline(always)]
    unsafe fn load1(row: *const u8, c: usize) -> f32 {
        *(row.add(c * 4) as *const f32)
    }
    const BYTES: usize = 4;
}

/// F16 rows known to hold no inf/NaN: the cheap conversion.
struct F16FiniteRow;
impl RowLoad for F16FiniteRow {
    #[inline(always)]
    unsafe fn load8(row: *const u8, c: usize) -> (v128, v128) {
        f16x8_finite_to_f32(load(row.add(c * 2)))
    }
    #[inline(always)]
    unsafe fn load4(row: *const u8, c: usize) -> v128 {
        f16x4_to_f32x4(u32x4_extend_low_u16x8(v128_load64_zero(row.add(c * 2) as *const u64)))
    }
    #[inline(always)]
    unsafe fn load1(row: *const u8, c: usize) -> f32 {
        f16_to_f32((row.add(c * 2) as *const u16).read_unaligned())
    }
    const BYTES: usize = 2;
}

/// F16 rows with inf/NaN somewhere: the exact conversion everywhere (same values for finite inputs).
struct F16ExactRow;
impl RowLoad for F16ExactRow {
    #[inline(always)]
    unsafe fn load8(row: *const u8, c: usize) -> (v128, v128) {
        let h = load(row.add(c * 2));
        (f16x4_to_f32x4(u32x4_extend_low_u16x8(h)), f16x4_to_f32x4(u32x4_extend_high_u16x8(h)))
    }
    #[inline(always)]
    unsafe fn load4(row: *const u8, c: usize) -> v128 {
        F16FiniteRow::load4(row, c)
    }
    #[inline(always)]
    unsafe fn load1(row: *const u8, c: usize) -> f32 {
        F16FiniteRow::load1(row, c)
    }
    const BYTES: usize = 2;
}

/// OP_MATMUL for F32/F16: [op, type, w, rows, cols, x: f32 [n][cols], n, out: f32 [n][rows], flags].
/// flags bit 1: F16 weights contain inf/NaN. Splits weight rows.
#[inline(never)]
pub unsafe fn job(d: Desc, tid: usize, nth: usize) {
    let f16 = d.u(1) as u32 == TYPE_F16;
    if !f16 {
        rows_job::<F32Row>(d, tid, nth)
    } else if d.u(8) & 2 != 0 {
        rows_job::<F16ExactRow>(d, tid, nth)
    } else {
        rows_job::<F16FiniteRow>(d, tid, nth)
    }
}

#[inline(never)]
unsafe fn rows_job<L: RowLoad>(d: Desc, tid: usize, nth: usize) {
    let (w, rows, cols, x, n, out) = (d.u(2), d.u(3), d.u(4), d.u(5), d.u(6), d.u(7) as *mut f32);
    let (r0, r1) = split(rows, tid, nth, 1);
    for r in r0..r1 {
        let row = (w + r * cols * L::BYTES) as *const u8;
        let mut t = 0;
        while t + TILE <= n {
            let s = dot4::<L>(row, (x + t * cols * 4) as *const f32, cols);
            for i in 0..TILE {
                *out.add((t + i) * rows + r) = s[i];
            }
            t += TILE;
        }
        while t < n {
            *out.add(t * rows + r) = dot1::<L>(row, (x + t * cols * 4) as *const f32, cols);
            t += 1;
        }
    }
}

#[inline(always)]
unsafe fn xload(x: *const f32, c: usize) -> v128 {
    v128_load(x.add(c) as *const v128)
}

/// One weight row · one activation row.
#[inline(always)]
unsafe fn dot1<L: RowLoad>(row: *const u8, x: *const f32, cols: usize) -> f32 {
    let (mut a0, mut a1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    let mut c = 0;
    while c + 8 <= cols {
        let (w0, w1) = L::load8(row, c);
        a0 = f32x4_add(a0, f32x4_mul(w0, xload(x, c)));
        a1 = f32x4_add(a1, f32x4_mul(w1, xload(x, c + 4)));
        c += 8;
    }
    if c + 4 <= cols {
        a0 = f32x4_add(a0, f32x4_mul(L::load4(row, c), xload(x, c)));
        c += 4;
    }
    let mut tail = 0.0f32;
    while c < cols {
        tail += L::load1(row, c) * *x.add(c);
        c += 1;
    }
    hsum_f32(f32x4_add(a0, a1)) + tail
}

/// One weight row · four consecutive activation rows; per token the same operations as [`dot1`].
#[inline(always)]
unsafe fn dot4<L: RowLoad>(row: *const u8, x: *const f32, cols: usize) -> [f32; TILE] {
    let mut a0 = [f32x4_splat(0.0); TILE];
    let mut a1 = [f32x4_splat(0.0); TILE];
    let mut c = 0;
    while c + 8 <= cols {
        let (w0, w1) = L::load8(row, c);
        for t in 0..TILE {
            let xt = x.add(t * cols);
            a0[t] = f32x4_add(a0[t], f32x4_mul(w0, xload(xt, c)));
            a1[t] = f32x4_add(a1[t], f32x4_mul(w1, xload(xt, c + 4)));
        }
        c += 8;
    }
    if c + 4 <= cols {
        let w0 = L::load4(row, c);
        for t in 0..TILE {
            a0[t] = f32x4_add(a0[t], f32x4_mul(w0, xload(x.add(t * cols), c)));
        }
        c += 4;
    }
    let mut tail = [0.0f32; TILE];
    while c < cols {
        let wv = L::load1(row, c);
        for t in 0..TILE {
            tail[t] += wv * *x.add(t * cols + c);
        }
        c += 1;
    }
    let mut s = [0.0f32; TILE];
    for t in 0..TILE {
        s[t] = hsum_f32(f32x4_add(a0[t], a1[t])) + tail[t];
    }
    s
}
