//! Rotary position embedding, in place on x [n, nHeads, headDim].
//!
//! The host computes cos and sin of every (token, pair) angle in f64 (θ = pos · base^(−2i/ropeDim) /
//! factor_i, exactly as the reference backend does) into a table [n][ropeDim/2] of (cos, sin) f64 pairs;
//! the rotation is done here in f64 and rounded once to f32, so results equal the reference's bit for bit.
//! Normal style rotates (2i, 2i+1); NeoX style rotates (i, i + ropeDim/2). Dims past ropeDim are untouched.

use crate::job::{Chunks, Desc};

/// OP_ROPE: [op, x: f32 [n][heads][headDim], n, heads, headDim, ropeDim, neox, table: f64 [n][ropeDim/2][2]].
/// Splits token rows.
#[inline(never)]
pub unsafe fn job(d: Desc, _tid: usize, nth: usize) {
    let (x, n, heads, head_dim, rope_dim, neox, table) = (d.u(1), d.u(2), d.u(3), d.u(4), d.u(5), d.u(6) != 0, d.u(7));
    let half = rope_dim / 2;
    let work = Chunks::new(d, n, nth, 1);
    while let Some((t0, t1)) = work.next() {
        for t in t0..t1 {
            let cs = (table + t * half * 16) as *const f64;
            for h in 0..heads {
                let base = (x + ((t * heads + h) * head_dim) * 4) as *mut f32;
                for i in 0..half {
                    let (c, s) = (*cs.add(2 * i), *cs.add(2 * i + 1));
                    let (a, b) = if neox { (i, i + half) } else { (2 * i, 2 * i + 1) };
                    let x0 = *base.add(a) as f64;
                    let x1 = *base.add(b) as f64;
                    *base.add(a) = (x0 * c - x1 * s) as f32;
                    *base.add(b) = (x0 * s + x1 * c) as f32;
                }
            }
        }
    }
}
