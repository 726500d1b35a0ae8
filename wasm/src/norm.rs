//! RMSNorm: out[i, :] = x[i, :] / sqrt(mean(x[i, :]²) + eps) · w.

use crate::job::{Chunks, Desc};
use crate::simd::*;
use core::arch::wasm32::*;

/// OP_RMS_NORM: [op, out: f32 [n][len], x: f32 [n][len], w: f32 [len], n, len, eps (f32 bits)].
/// Splits token rows. `out` may alias `x`.
#[inline(never)]
pub unsafe fn job(d: Desc, _tid: usize, nth: usize) {
    let (out, x, w, n, len, eps) = (d.u(1), d.u(2), d.u(3) as *const f32, d.u(4), d.u(5), d.f(6));
    let work = Chunks::new(d, n, nth, 1);
    while let Some((r0, r1)) = work.next() {
        for r in r0..r1 {
            let xr = (x + r * len * 4) as *const f32;
            let or = (out + r * len * 4) as *mut f32;
            let mut acc = f32x4_splat(0.0);
            let mut j = 0;
            while j + 4 <= len {
                let v = v128_load(xr.add(j) as *const v128);
                acc = f32x4_add(acc, f32x4_mul(v, v));
                j += 4;
            }
            let mut tail = 0.0f32;
            while j < len {
                tail += *xr.add(j) * *xr.add(j);
                j += 1;
            }
            let mean = (hsum_f32(acc) + tail) / len as f32 + eps;
            let scale = 1.0 / f32x4_extract_lane::<0>(f32x4_sqrt(f32x4_splat(mean)));
            let sv = f32x4_splat(scale);
            j = 0;
            while j + 4 <= len {
                let v = f32x4_mul(v128_load(xr.add(j) as *const v128), sv);
                v128_store(or.add(j) as *mut v128, f32x4_mul(v, v128_load(w.add(j) as *const v128)));
                j += 4;
            }
            while j < len {
                *or.add(j) = *xr.add(j) * scale * *w.add(j);
                j += 1;
            }
        }
    }
}
