//! Softmax of rows, in place: x[i, j] = e^(x[i, j] − max_i) / Σ_j e^(x[i, j] − max_i).

use crate::job::{Chunks, Desc};
use crate::math::Exp;
use crate::simd::*;
use core::arch::wasm32::*;

/// Softmax of `len` f32 at `x`, in place.
pub unsafe fn softmax_row(x: *mut f32, len: usize, e: &Exp) {
    let mut m = f32x4_splat(f32::NEG_INFINITY);
    let mut j = 0;
    while j + 4 <= len {
        m = f32x4_max(m, v128_load(x.add(j) as *const v128));
        j += 4;
    }
    let m = f32x4_max(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
    let mut max = f32x4_extract_lane::<0>(m).max(f32x4_extract_lane::<1>(m));
    while j < len {
        max = max.max(*x.add(j));
        j += 1;
    }
    let mv = f32x4_splat(max);
    let mut total = f32x4_splat(0.0);
    j = 0;
    while j + 4 <= len {
        let v = e.exp4(f32x4_sub(v128_load(x.add(j) as *const v128), mv));
        v128_store(x.add(j) as *mut v128, v);
        total = f32x4_add(total, v);
        j += 4;
    }
    let mut tail = 0.0f32;
    while j < len {
        let v = e.exp1(*x.add(j) - max);
        *x.add(j) = v;
        tail += v;
        j += 1;
    }
    let total = hsum_f32(total) + tail;
    let tv = f32x4_splat(total);
    j = 0;
    while j + 4 <= len {
        v128_store(x.add(j) as *mut v128, f32x4_div(v128_load(x.add(j) as *const v128), tv));
        j += 4;
    }
    while j < len {
        *x.add(j) /= total;
        j += 1;
    }
}

/// OP_SOFTMAX: [op, x: f32 [n][len], n, len]. Splits rows.
#[inline(never)]
pub unsafe fn job(d: Desc, _tid: usize, nth: usize) {
    let (x, n, len) = (d.u(1), d.u(2), d.u(3));
    let work = Chunks::new(d, n, nth, 1);
    let e = Exp::new(d.consts());
    while let Some((r0, r1)) = work.next() {
        for r in r0..r1 {
            softmax_row((x + r * len * 4) as *mut f32, len, &e);
        }
    }
}
