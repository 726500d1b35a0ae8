//! Greedy picks: the index of the highest value of each row (the token a temperature-0 sampler takes),
//! so a decode step needs no logits read back to the host.
//!
//! The sampler's rule exactly: highest value, lowest index on ties (−0 equals +0), NaN never chosen, −1
//! for a row holding only −∞ and NaN.

use crate::job::{Chunks, Desc};
use core::arch::wasm32::*;

/// OP_GREEDY: [op, x: f32 [n][len], n, len, out: i32 [n]]. Splits rows.
#[inline(never)]
pub unsafe fn job(d: Desc, _tid: usize, nth: usize) {
    let (x, n, len, out) = (d.u(1), d.u(2), d.u(3), d.u(4) as *mut i32);
    let work = Chunks::new(d, n, nth, 1);
    while let Some((r0, r1)) = work.next() {
        for r in r0..r1 {
            *out.add(r) = greedy_row((x + r * len * 4) as *const f32, len);
        }
    }
}

/// Index of the highest of `len` values at `x` (see the module comment), or −1. Two passes: the maximum,
/// by four independent f32x4.pmax chains (pmax(m, v) keeps m for a NaN v), then the first index holding
/// it. One pass tracking indices waited on a dependent compare-and-select per 4 values: 2× slower.
#[inline(always)]
unsafe fn greedy_row(x: *const f32, len: usize) -> i32 {
    let mut m = [f32x4_splat(f32::NEG_INFINITY); 4];
    let mut j = 0;
    while j + 16 <= len {
        for u in 0..4 {
            m[u] = f32x4_pmax(m[u], v128_load(x.add(j + 4 * u) as *const v128));
        }
        j += 16;
    }
    while j + 4 <= len {
        m[0] = f32x4_pmax(m[0], v128_load(x.add(j) as *const v128));
        j += 4;
    }
    let mut max = f32::NEG_INFINITY;
    for u in 0..4 {
        let lanes = [
            f32x4_extract_lane::<0>(m[u]),
            f32x4_extract_lane::<1>(m[u]),
            f32x4_extract_lane::<2>(m[u]),
            f32x4_extract_lane::<3>(m[u]),
        ];
        for v in lanes {
            if v > max {
                max = v;
            }
        }
    }
    while j < len {
        if *x.add(j) > max {
            max = *x.add(j);
        }
        j += 1;
    }
    // nothing above −∞ (only −∞ and NaN): nothing to pick
    if max == f32::NEG_INFINITY {
        return -1;
    }
    // the first value equal to the maximum (−0 equals +0, as for the sampler's comparisons)
    let mv = f32x4_splat(max);
    j = 0;
    while j + 4 <= len && !v128_any_true(f32x4_eq(v128_load(x.add(j) as *const v128), mv)) {
        j += 4;
    }
    while j < len {
        if *x.add(j) == max {
            return j as i32;
        }
        j += 1;
    }
    -1
}
