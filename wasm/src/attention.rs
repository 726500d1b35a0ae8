//! Causal attention over the KV cache, for decode and prefill alike.
//!
//! For token i (cache slot s_i, position p_i) and head h reading kv head h / (nHeads / nKvHeads):
//!   score_t = (q[i, h] · K[s_i, layer, t, kvh]) · scale     for t = 0..=p_i
//!   out[i, h] = Σ_t softmax(score)_t · V[s_i, layer, t, kvh]
//! Caches K and V are f32 [slots, layers, ctx, kvDim] with kvDim = nKvHeads · headDim. Positions 0..=p_i of
//! the slot must already be stored (prefill stores the whole prompt first), which makes prefill causal.
//!
//! Work items are (token, block of heads): one block of all heads per token when there are at least as
//! many tokens as threads, else the heads are cut into blocks to share out. An item walks the K rows
//! 0..=p_i once, each row whole (every head of the block in turn), then the V rows the same way in
//! blocks of [`V_BLOCK`] positions: one sequential stream per cache, which the hardware prefetcher
//! follows (a walk per head reads 192-byte pieces 1152 bytes apart: 3.5× slower over 8 slots, and
//! slower for one token too). Each thread keeps its scores in its own
//! scratch area of heads·ctx f32. Per (token, head) the arithmetic and its order are those of one head at
//! a time, so the blocking changes no bits.
use crate::job::{Chunks, Desc};
use crate::math::Exp;
use crate::simd::*;
use crate::softmax::softmax_row;
use core::arch::wasm32::*;

/// Positions per block of the weighted V sum: 16 rows of a 4096-wide cache (256 KiB) still fit L2, and a
/// typical 1–2 KiB row block fits L1.
const V_BLOCK: usize = 16;

/// OP_ATTENTION: [op, out: f32 [n][heads·hd], q: f32 [n][heads·hd], k, v, n, slot: i32 [n], pos: i32 [n],
/// heads, kvHeads, hd, scale (f32 bits), layers, ctx, kvDim, layer, scratch, scratchStride (bytes, at least
/// heads·ctx·4)].
#[inline(never)]
pub unsafe fn job(d: Desc, tid: usize, nth: usize) {
    let (out, q, kc, vc, n) = (d.u(1) as *mut f32, d.u(2) as *const f32, d.u(3), d.u(4), d.u(5));
    let (slots, poss) = (d.u(6) as *const i32, d.u(7) as *const i32);
    // max(1): the host validates shapes; this only lets the compiler drop division-by-zero panics
    let (heads, kv_heads, hd, scale) = (d.u(8).max(1), d.u(9).max(1), d.u(10), d.f(11));
    let (layers, ctx, kv_dim, layer) = (d.u(12), d.u(13), d.u(14), d.u(15));
    let scores = (d.u(16) + tid * d.u(17)) as *mut f32;
    let group = (heads / kv_heads).max(1);
    let wanted = if n >= nth {
        1
    } else {
        ((nth + n - 1) / n.max(1)).min(heads)
    };
    let per = (heads + wanted - 1) / wanted;
    let blocks = (heads + per - 1) / per;
    let work = Chunks::new(d, n * blocks, nth, 1);
    let e = Exp::new(d.consts());
    while let Some((i0, i1)) = work.next() {
        for item in i0..i1 {
            let (i, b) = (item / blocks, item % blocks);
            let (h0, h1) = (b * per, ((b + 1) * per).min(heads));
            let slot = *slots.add(i) as usize;
            let last = *poss.add(i) as usize;
            let base = (slot * layers + layer) * ctx * kv_dim;
            let (kb, vb) = ((kc as *const f32).add(base), (vc as *const f32).add(base));
            // scores[h − h0][t]
            for t in 0..=last {
                let kr = kb.add(t * kv_dim);
                for h in h0..h1 {
                    let qv = q.add((i * heads + h) * hd);
                    *scores.add((h - h0) * ctx + t) = dot(qv, kr.add((h / group) * hd), hd) * scale;
                }
            }
            for h in h0..h1 {
                softmax_row(scores.add((h - h0) * ctx), last + 1, &e);
            }
            let o = out.add((i * heads + h0) * hd);
            core::ptr::write_bytes(o, 0, (h1 - h0) * hd);
            // V rows in blocks of V_BLOCK positions: the block's rows stay in L1 while every head of
            // the item adds its share, and each output is loaded and stored once per block
            let mut t0 = 0;
            while t0 <= last {
                let nt = (last + 1 - t0).min(V_BLOCK);
                for h in h0..h1 {
                    let p = scores.add((h - h0) * ctx + t0);
                    let v = vb.add(t0 * kv_dim + (h / group) * hd);
                    add_weighted(o.add((h - h0) * hd), p, v, kv_dim, nt, hd);
                }
                t0 += nt;
            }
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

/// o[0..hd] += Σ_t p[t] · v[t·stride .. t·stride + hd] for t = 0..count, in order of t.
#[inline(always)]
unsafe fn add_weighted(o: *mut f32, p: *const f32, v: *const f32, stride: usize, count: usize, hd: usize) {
    let mut j = 0;
    while j + 8 <= hd {
        let mut a0 = v128_load(o.add(j) as *const v128);
        let mut a1 = v128_load(o.add(j + 4) as *const v128);
        for t in 0..count {
            let pt = f32x4_splat(*p.add(t));
            let vr = v.add(t * stride + j);
            a0 = f32x4_add(a0, f32x4_mul(pt, v128_load(vr as *const v128)));
            a1 = f32x4_add(a1, f32x4_mul(pt, v128_load(vr.add(4) as *const v128)));
        }
        v128_store(o.add(j) as *mut v128, a0);
        v128_store(o.add(j + 4) as *mut v128, a1);
        j += 8;
    }
    while j < hd {
        let mut a = *o.add(j);
        for t in 0..count {
            a += *p.add(t) * *v.add(t * stride + j);
        }
        *o.add(j) = a;
        j += 1;
    }
}
