//! Elementwise ops over f32 vectors: SiLU·mul, add, bias add.

use crate::job::{Chunks, Desc};
use crate::math::Exp;
use core::arch::wasm32::*;

/// silu(g)·u for four lanes; silu(g) = g / (1 + e^−g).
#[inline(always)]
unsafe fn silu_mul4(g: v128, u: v128, e: &Exp) -> v128 {
    f32x4_mul(f32x4_div(g, f32x4_add(e.one, e.exp4(f32x4_neg(g)))), u)
}

/// OP_SILU_MUL: [op, out, gate, up, len] (f32 vectors; out may alias either input). Splits the range.
#[inline(never)]
pub unsafe fn job_silu_mul(d: Desc, _tid: usize, nth: usize) {
    let (out, gate, up, len) = (d.u(1) as *mut f32, d.u(2) as *const f32, d.u(3) as *const f32, d.u(4));
    let work = Chunks::new(d, len, nth, 4);
    let e = Exp::new(d.consts());
    while let Some((j0, j1)) = work.next() {
        silu_mul_range(out.add(j0), gate.add(j0), up.add(j0), j1 - j0, &e);
    }
}

/// out[j] = silu(gate[j])·up[j] for j < len (out may alias either input); each value is computed the same
/// way wherever the range starts.
#[inline(always)]
pub unsafe fn silu_mul_range(out: *mut f32, gate: *const f32, up: *const f32, len: usize, e: &Exp) {
    let mut j = 0;
    while j + 4 <= len {
        let r = silu_mul4(
            v128_load(gate.add(j) as *const v128),
            v128_load(up.add(j) as *const v128),
            e,
        );
        v128_store(out.add(j) as *mut v128, r);
        j += 4;
    }
    while j < len {
        let r = silu_mul4(f32x4_splat(*gate.add(j)), f32x4_splat(*up.add(j)), e);
        *out.add(j) = f32x4_extract_lane::<0>(r);
        j += 1;
    }
}

/// OP_ADD: [op, out, a, b, len] (out may alias a or b). Splits the range.
#[inline(never)]
pub unsafe fn job_add(d: Desc, _tid: usize, nth: usize) {
    let (out, a, b, len) = (d.u(1) as *mut f32, d.u(2) as *const f32, d.u(3) as *const f32, d.u(4));
    let work = Chunks::new(d, len, nth, 4);
    while let Some((j0, j1)) = work.next() {
        let mut j = j0;
        while j + 4 <= j1 {
            let r = f32x4_add(v128_load(a.add(j) as *const v128), v128_load(b.add(j) as *const v128));
            v128_store(out.add(j) as *mut v128, r);
            j += 4;
        }
        while j < j1 {
            *out.add(j) = *a.add(j) + *b.add(j);
            j += 1;
        }
    }
}

/// OP_ADD_BIAS: [op, x: f32 [n][len], bias: f32 [len], n, len]. Splits token rows.
#[inline(never)]
pub unsafe fn job_add_bias(d: Desc, _tid: usize, nth: usize) {
    let (x, bias, n, len) = (d.u(1), d.u(2) as *const f32, d.u(3), d.u(4));
    let work = Chunks::new(d, n, nth, 1);
    while let Some((r0, r1)) = work.next() {
        for r in r0..r1 {
            let xr = (x + r * len * 4) as *mut f32;
            let mut j = 0;
            while j + 4 <= len {
                let v = f32x4_add(
                    v128_load(xr.add(j) as *const v128),
                    v128_load(bias.add(j) as *const v128),
                );
                v128_store(xr.add(j) as *mut v128, v);
                j += 4;
            }
            while j < len {
                *xr.add(j) += *bias.add(j);
                j += 1;
            }
        }
    }
}
