//! F16 matrix products: out[n, rows] = x[n, cols] · wᵀ, x f32 (F32 weights: [`crate::matmul_f32`]).
//!
//! Each thread takes a contiguous range of weight rows; tokens go in tiles of six so each weight row is
//! loaded (and for F16 converted) once per six tokens. Per token the sum is always accumulated the same
//! way (see [`dot`]), so results do not depend on the tile, the batch or the thread count.
//!
//! Weight layout: GGUF rows, `cols` f16 values each.
//!
//! F16 rows without inf/NaN are converted two halves per i32 lane, without widening: a lane holding
//! halves (h0, h1) gives h1 by an arithmetic shift right by 3 plus a mask (sign at bit 31, exponent and
//! mantissa at bits 13..27), and h0 the same way after a shift left by 16. Read as f32 that is w·2^-112
//! exactly (subnormals included); instead of rebiasing every weight, x comes scaled by 2^64 and each
//! dot product is scaled by 2^48 at the end: powers of two, so every product and sum rounds exactly as
//! the unscaled ones would (for |x| < 2^64 and |w·x| > 2^-78). The conversion yields even and odd
//! elements in separate vectors, so these products take x with each group of 8 columns stored evens
//! first ([`job_pair`]).

use crate::f16::{f16_to_f32, F16};
use crate::job::{Chunks, Desc, TYPE_F16};
use crate::simd::*;
use core::arch::wasm32::*;

/// Tokens per tile: six tokens' two accumulators each, plus two weight vectors and the loaded x, fit
/// V8's 16 registers (eight tokens spill); each weight row is loaded and converted once per tile.
/// Leftover tokens go in a tile of four, then of two, then alone (same per-token order in each).
const TILE: usize = 6;
/// 2^64: the scale of paired F16 inputs (see the module comment).
const X_SCALE: f32 = 18_446_744_073_709_551_616.0;

/// Constant vectors of the row loaders, made once per job (see [`crate::simd::opaque`]).
struct Loaders {
    /// sign, exponent and mantissa bits of a half moved to f32 positions
    pair_mask: v128,
    f16: F16,
}

/// How one weight row is turned into f32 lanes.
trait RowLoad {
    /// values c..c+8 → two f32x4 (for paired F16: evens, then odds)
    unsafe fn load8(row: *const u8, c: usize, k: &Loaders) -> (v128, v128);
    /// values c..c+4
    unsafe fn load4(row: *const u8, c: usize, k: &Loaders) -> v128;
    /// value c
    unsafe fn load1(row: *const u8, c: usize) -> f32;
    const BYTES: usize;
    /// factor applied to each finished dot product
    const SCALE: f32;
}

/// F16 rows known to hold no inf/NaN: the paired conversion, values ·2^-112 (x comes ·2^64 and
/// dot products are ·2^48, see the module comment); `load8` returns (evens, odds).
struct F16FiniteRow;
impl RowLoad for F16FiniteRow {
    #[inline(always)]
    unsafe fn load8(row: *const u8, c: usize, k: &Loaders) -> (v128, v128) {
        let h = load(row.add(c * 2));
        let odd = v128_and(i32x4_shr(h, 3), k.pair_mask);
        let even = v128_and(i32x4_shr(i32x4_shl(h, 16), 3), k.pair_mask);
        (even, odd)
    }
    #[inline(always)]
    unsafe fn load4(row: *const u8, c: usize, k: &Loaders) -> v128 {
        let h = i32x4_extend_low_i16x8(v128_load64_zero(row.add(c * 2) as *const u64));
        v128_and(i32x4_shl(h, 13), k.pair_mask)
    }
    #[inline(always)]
    unsafe fn load1(row: *const u8, c: usize) -> f32 {
        let h = (row.add(c * 2) as *const u16).read_unaligned() as u32;
        f32::from_bits(((h & 0x8000) << 16) | ((h & 0x7fff) << 13))
    }
    const BYTES: usize = 2;
    const SCALE: f32 = 281_474_976_710_656.0; // 2^48
}

/// F16 rows with inf/NaN somewhere: the exact conversion everywhere, natural order, x unscaled.
struct F16ExactRow;
impl RowLoad for F16ExactRow {
    #[inline(always)]
    unsafe fn load8(row: *const u8, c: usize, k: &Loaders) -> (v128, v128) {
        let h = load(row.add(c * 2));
        (
            k.f16.to_f32x4(u32x4_extend_low_u16x8(h)),
            k.f16.to_f32x4(u32x4_extend_high_u16x8(h)),
        )
    }
    #[inline(always)]
    unsafe fn load4(row: *const u8, c: usize, k: &Loaders) -> v128 {
        k.f16
            .to_f32x4(u32x4_extend_low_u16x8(v128_load64_zero(row.add(c * 2) as *const u64)))
    }
    #[inline(always)]
    unsafe fn load1(row: *const u8, c: usize) -> f32 {
        f16_to_f32((row.add(c * 2) as *const u16).read_unaligned())
    }
    const BYTES: usize = 2;
    const SCALE: f32 = 1.0;
}

/// OP_MATMUL for F32/F16: [op, type, w, rows, cols, x: f32 [n][cols], n, out: f32 [n][rows], flags].
/// F32 goes to [`crate::matmul_f32`]. flags bit 1: F16 weights contain inf/NaN (x in natural order);
/// otherwise F16 takes x paired by [`job_pair`]. Splits weight rows.
#[inline(never)]
pub unsafe fn job(d: Desc, tid: usize, nth: usize) {
    let f16 = d.u(1) as u32 == TYPE_F16;
    if !f16 {
        crate::matmul_f32::job(d, tid, nth)
    } else if d.u(8) & 2 != 0 {
        rows_job::<F16ExactRow>(d, tid, nth)
    } else {
        rows_job::<F16FiniteRow>(d, tid, nth)
    }
}

#[inline(never)]
unsafe fn rows_job<L: RowLoad>(d: Desc, _tid: usize, nth: usize) {
    let (w, rows, cols, x, n, out) = (d.u(2), d.u(3), d.u(4), d.u(5), d.u(6), d.u(7) as *mut f32);
    let c = d.consts();
    let k = Loaders {
        pair_mask: c.i32(0x8fff_e000),
        f16: F16::new(c),
    };
    let work = Chunks::new(d, rows, nth, 1);
    while let Some((r0, r1)) = work.next() {
        for r in r0..r1 {
            let row = (w + r * cols * L::BYTES) as *const u8;
            let mut t = 0;
            while t < n {
                let xt = (x + t * cols * 4) as *const f32;
                let (s, nt) = match n - t {
                    left if left >= TILE => (dot::<L, TILE>(row, xt, cols, &k), TILE),
                    left if left >= 4 => (dot::<L, 4>(row, xt, cols, &k), 4),
                    left if left >= 2 => (dot::<L, 2>(row, xt, cols, &k), 2),
                    _ => (dot::<L, 1>(row, xt, cols, &k), 1),
                };
                for i in 0..nt {
                    *out.add((t + i) * rows + r) = s[i];
                }
                t += nt;
            }
        }
    }
}

#[inline(always)]
unsafe fn xload(x: *const f32, c: usize) -> v128 {
    v128_load(x.add(c) as *const v128)
}

/// One weight row · T consecutive activation rows. Per token: two f32x4 accumulators over 8 columns at a
/// time (two add chains per token: a tile of six keeps twelve independent chains in flight, and a
/// single token's two still keep up with DRAM at decode), then a 4-column step into the first, scalar
/// columns, and (a0 + a1), whatever T is.
#[inline(always)]
unsafe fn dot<L: RowLoad, const T: usize>(row: *const u8, x: *const f32, cols: usize, k: &Loaders) -> [f32; TILE] {
    let mut a = [[f32x4_splat(0.0); 2]; T];
    let mut c = 0;
    while c + 8 <= cols {
        let (w0, w1) = L::load8(row, c, k);
        for t in 0..T {
            let xt = x.add(t * cols);
            a[t][0] = f32x4_add(a[t][0], f32x4_mul(w0, xload(xt, c)));
            a[t][1] = f32x4_add(a[t][1], f32x4_mul(w1, xload(xt, c + 4)));
        }
        c += 8;
    }
    if c + 4 <= cols {
        let w0 = L::load4(row, c, k);
        for t in 0..T {
            a[t][0] = f32x4_add(a[t][0], f32x4_mul(w0, xload(x.add(t * cols), c)));
        }
        c += 4;
    }
    let mut tail = [0.0f32; T];
    while c < cols {
        let wv = L::load1(row, c);
        for t in 0..T {
            tail[t] += wv * *x.add(t * cols + c);
        }
        c += 1;
    }
    let mut s = [0.0f32; TILE];
    for t in 0..T {
        s[t] = (hsum_f32(f32x4_add(a[t][0], a[t][1])) + tail[t]) * L::SCALE;
    }
    s
}

/// OP_PAIR: [op, x: f32 [n][cols], n, cols, dst]: x · 2^64 with each full group of 8 columns stored as
/// its 4 even then its 4 odd elements (the order F16 pairs convert in); trailing columns in place.
/// Splits tokens.
#[inline(never)]
pub unsafe fn job_pair(d: Desc, _tid: usize, nth: usize) {
    let (x, n, cols, dst) = (d.u(1), d.u(2), d.u(3), d.u(4));
    let work = Chunks::new(d, n, nth, 1);
    let scale = d.consts().f32(X_SCALE);
    while let Some((t0, t1)) = work.next() {
        for t in t0..t1 {
            let (src, out) = ((x + t * cols * 4) as *const f32, (dst + t * cols * 4) as *mut f32);
            let mut c = 0;
            while c + 8 <= cols {
                let a = f32x4_mul(v128_load(src.add(c) as *const v128), scale);
                let b = f32x4_mul(v128_load(src.add(c + 4) as *const v128), scale);
                v128_store(out.add(c) as *mut v128, i32x4_shuffle::<0, 2, 4, 6>(a, b));
                v128_store(out.add(c + 4) as *mut v128, i32x4_shuffle::<1, 3, 5, 7>(a, b));
                c += 8;
            }
            while c < cols {
                *out.add(c) = *src.add(c) * X_SCALE;
                c += 1;
            }
        }
    }
}
