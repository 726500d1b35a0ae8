//! Causal attention over the KV cache, for decode and prefill alike.
//!
//! For token i (cache slot s_i, position p_i) and head h reading kv head h / (nHeads / nKvHeads):
//!   score_t = (q[i, h] · K[s_i, layer, t, kvh]) · scale     for t = 0..=p_i
//!   out[i, h] = Σ_t softmax(score)_t · V[s_i, layer, t, kvh]
//! Caches K and V are f32 [slots, layers, ctx, kvDim] with kvDim = nKvHeads · headDim. Positions 0..=p_i of
//! the slot must already be stored (prefill stores the whole prompt first), which makes prefill causal.
//!
//! Work items are (token, head) pairs, split into contiguous ranges over threads; each thread keeps its
//! scores in its own scratch area of `ctx` f32.

use crate::job::{Chunks, Desc};
use crate::math::Exp;
use crate::simd::*;
use crate::softmax::softmax_row;
use core::arch::wasm32::*;

/// OP_ATTENTION: [op, out: f32 [n][heads·hd], q: f32 [n][heads·hd], k, v, n, slot: i32 [n], pos: i32 [n],
/// heads, kvHeads, hd, scale (f32 bits), layers, ctx, kvDim, layer, scratch, scratchStride (bytes)].
#[inline(never)]
pub unsafe fn job(d: Desc, tid: usize, nth: usize) {
    let (out, q, kc, vc, n) = (d.u(1), d.u(2), d.u(3), d.u(4), d.u(5));
    let (slots, poss) = (d.u(6) as *const i32, d.u(7) as *const i32);
    // max(1): the host validates shapes; this only lets the compiler drop division-by-zero panics
    let (heads, kv_heads, hd, scale) = (d.u(8).max(1), d.u(9).max(1), d.u(10), d.f(11));
    let (layers, ctx, kv_dim, layer) = (d.u(12), d.u(13), d.u(14), d.u(15));
    let scores = (d.u(16) + tid * d.u(17)) as *mut f32;
    let group = (heads / kv_heads).max(1);
    let work = Chunks::new(d, n * heads, nth, 1);
    let e = Exp::new(d.consts());
    while let Some((i0, i1)) = work.next() {
        for item in i0..i1 {
            let (i, h) = (item / heads, item % heads);
            let slot = *slots.add(i) as usize;
            let last = *poss.add(i) as usize;
            let kvh = h / group;
            let base = ((slot * layers + layer) * ctx) * kv_dim + kvh * hd;
            let qv = (q + (i * heads + h) * hd * 4) as *const f32;
            for t in 0..=last {
                let kr = (kc + (base + t * kv_dim) * 4) as *const f32;
                *scores.add(t) = dot(qv, kr, hd) * scale;
            }
            softmax_row(scores, last + 1, &e);
            let o = (out + (i * heads + h) * hd * 4) as *mut f32;
            weighted_sum(o, scores, (vc + base * 4) as *const f32, kv_dim, last + 1, hd);
        }
    }
}

#[inline(always)]
unsafe fn dot(a: *const f32, b: *const f32, len: usize) -> f32 {
    let mut acc = f32x4_splat(0.0);
    let mut j = 0;
    while j + 4 <= len {
        acc = f32x4_add(
            acc,
            f32x4_mul(v128_load(a.add(j) as *const v128), v128_load(b.add(j) as *const v128)),
        );
        j += 4;
    }
    let mut tail = 0.0f32;
    while j < len {
        tail += *a.add(j) * *b.add(j);
        j += 1;
    }
    hsum_f32(acc) + tail
}

/// o[0..hd] = Σ_t w[t] · v[t·stride .. t·stride + hd] (v in f32 elements, stride kvDim).
#[inline(always)]
unsafe fn weighted_sum(o: *mut f32, w: *const f32, v: *const f32, stride: usize, count: usize, hd: usize) {
    let mut j = 0;
    while j + 8 <= hd {
        let (mut a0, mut a1) = (f32x4_splat(0.0), f32x4_splat(0.0));
        for t in 0..count {
            let wt = f32x4_splat(*w.add(t));
            let vr = v.add(t * stride + j);
            a0 = f32x4_add(a0, f32x4_mul(wt, v128_load(vr as *const v128)));
            a1 = f32x4_add(a1, f32x4_mul(wt, v128_load(vr.add(4) as *const v128)));
        }
        v128_store(o.add(j) as *mut v128, a0);
        v128_store(o.add(j + 4) as *mut v128, a1);
        j += 8;
    }
    while j < hd {
        let mut a = 0.0f32;
        for t in 0..count {
            a += *w.add(t) * *v.add(t * stride + j);
        }
        *o.add(j) = a;
        j += 1;
    }
}
