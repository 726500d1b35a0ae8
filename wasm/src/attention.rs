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
//!
//! The K dots run three heads at a time and the weighted V sums 16 values at a time, so several
//! independent add chains are in flight (one chain per head left the loop waiting on add latency); each
//! value's own order of operations is unchanged.
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
            // scores[h − h0][t], three heads at a time: three independent sums in flight instead of one
            // chain of dependent adds per head (each head's own order is unchanged)
            let qi = q.add(i * heads * hd);
            for t in 0..=last {
                let kr = kb.add(t * kv_dim);
                let mut h = h0;
                while h + 3 <= h1 {
                    let qs = [qi.add(h * hd), qi.add((h + 1) * hd), qi.add((h + 2) * hd)];
                    let ks = [
                        kr.add((h / group) * hd),
                        kr.add(((h + 1) / group) * hd),
                        kr.add(((h + 2) / group) * hd),
                    ];
                    let d = dots::<3>(qs, ks, hd);
                    for u in 0..3 {
                        *scores.add((h + u - h0) * ctx + t) = d[u] * scale;
                    }
                    h += 3;
                }
                while h < h1 {
                    let d = dots::<1>([qi.add(h * hd)], [kr.add((h / group) * hd)], hd);
                    *scores.add((h - h0) * ctx + t) = d[0] * scale;
                    h += 1;
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

/// H dot products of `len` values (a[u] · b[u]), each summed in one fixed order: an f32x4 accumulator over
/// the values 4 at a time, its [`hsum_f32`], plus the scalar sum of the last `len % 4`.
#[inline(always)]
unsafe fn dots<const H: usize>(a: [*const f32; H], b: [*const f32; H], len: usize) -> [f32; H] {
    let mut acc = [f32x4_splat(0.0); H];
    let mut j = 0;
    while j + 4 <= len {
        for u in 0..H {
            let p = f32x4_mul(
                v128_load(a[u].add(j) as *const v128),
                v128_load(b[u].add(j) as *const v128),
            );
            acc[u] = f32x4_add(acc[u], p);
        }
        j += 4;
    }
    let mut tail = [0.0f32; H];
    while j < len {
        for u in 0..H {
            tail[u] += *a[u].add(j) * *b[u].add(j);
        }
        j += 1;
    }
    let mut out = [0.0f32; H];
    for u in 0..H {
        out[u] = hsum_f32(acc[u]) + tail[u];
    }
    out
}

/// o[0..hd] += Σ_t p[t] · v[t·stride .. t·stride + hd] for t = 0..count, in order of t (per value). Four
/// accumulators of 4 values at a time keep four add chains in flight.
#[inline(always)]
unsafe fn add_weighted(o: *mut f32, p: *const f32, v: *const f32, stride: usize, count: usize, hd: usize) {
    let mut j = 0;
    while j + 16 <= hd {
        let mut a = [f32x4_splat(0.0); 4];
        for u in 0..4 {
            a[u] = v128_load(o.add(j + 4 * u) as *const v128);
        }
        for t in 0..count {
            let pt = f32x4_splat(*p.add(t));
            let vr = v.add(t * stride + j);
            for u in 0..4 {
                a[u] = f32x4_add(a[u], f32x4_mul(pt, v128_load(vr.add(4 * u) as *const v128)));
            }
        }
        for u in 0..4 {
            v128_store(o.add(j + 4 * u) as *mut v128, a[u]);
        }
        j += 16;
    }
    while j + 4 <= hd {
        let mut a0 = v128_load(o.add(j) as *const v128);
        for t in 0..count {
            let pt = f32x4_splat(*p.add(t));
            a0 = f32x4_add(a0, f32x4_mul(pt, v128_load(v.add(t * stride + j) as *const v128)));
        }
        v128_store(o.add(j) as *mut v128, a0);
        j += 4;
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
