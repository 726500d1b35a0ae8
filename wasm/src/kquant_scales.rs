//! Scale pre-pass of the Q4_K and Q6_K products: per sub-block combined scales and the mins / offset
//! terms, computed once here and shared by both integer paths (simd128 and relaxed).
//!
//! Q4_K super-block (144 B): d, dmin (f16), 12 bytes of 6-bit scales sc_j and mins m_j (j = 0..8, one
//! per 32 values), 128 B of nibbles q. Value = d·sc_j·q − dmin·m_j. With activations x = d_x,j·x_q:
//!   Σ w·x = Σ_j (d·sc_j·d_x,j) · Σ q·x_q  −  Σ_j (dmin·m_j·d_x,j) · Σ x_q
//! Q6_K super-block (210 B): ql[128], qh[64], scales sc_k (int8, one per 16 values), d (f16). Value =
//! d·sc_k·(q − 32) with q in 0..64:
//!   Σ w·x = Σ_k s_k · Σ q·x_q  −  Σ_k s_k · 32 · Σ x_q,     s_k = (d·sc_k)·d_x,⌊k/2⌋
//!
//! For each super-block and token this writes the s (8 or 16 f32, in sub-block order) and adds the second
//! sums, lane by lane, into `offset` (one f32x4 per token, summed at the end of the row).

use crate::act_quant::ActLayout;
use crate::f16::f16_to_f32;
use crate::simd::{bytes_to_f32, Consts};
use core::arch::wasm32::*;

/// Sub-block scales per super-block: 8 (Q4_K) or 16 (Q6_K).
pub const fn subs(q6: bool) -> usize {
    if q6 {
        16
    } else {
        8
    }
}

/// Q4_K: scales of super-blocks sb0..sb0+nc of `row` for tokens t0..t0+nt, those of token i and
/// super-block sb0 + j at s + i·ts + j·bs (f32 offsets); minus the mins' term into offset[i].
#[inline(always)]
pub unsafe fn q4_k(
    row: *const u8,
    sb0: usize,
    nc: usize,
    lay: &ActLayout,
    t0: usize,
    nt: usize,
    s: *mut f32,
    ts: usize,
    bs: usize,
    offset: &mut [v128; 4],
    k: Consts,
) {
    for i in 0..nc {
        let blk = row.add((sb0 + i) * 144);
        // 12 bytes of 6-bit scales and mins (ggml's get_scale_min_k4), four at a time
        let a = (blk.add(4) as *const u32).read_unaligned();
        let b = (blk.add(8) as *const u32).read_unaligned();
        let c = (blk.add(12) as *const u32).read_unaligned();
        let v = u32x4(
            a & 0x3f3f_3f3f,
            b & 0x3f3f_3f3f,
            (c & 0x0f0f_0f0f) | ((a >> 2) & 0x3030_3030),
            ((c >> 4) & 0x0f0f_0f0f) | ((b >> 2) & 0x3030_3030),
        );
        let d = f32x4_splat(f16_to_f32((blk as *const u16).read_unaligned()));
        let dmin = f32x4_splat(f16_to_f32((blk.add(2) as *const u16).read_unaligned()));
        // [sub-blocks 0..4, 4..8] of d·sc and dmin·m
        // bytes 0..4: sc0..4, 4..8: m0..4, 8..12: sc4..8, 12..16: m4..8
        let f = bytes_to_f32(v, k);
        let sc = [f32x4_mul(f[0], d), f32x4_mul(f[2], d)];
        let m = [f32x4_mul(f[1], dmin), f32x4_mul(f[3], dmin)];
        let sb = sb0 + i;
        for t in 0..nt {
            let (dx, sx) = (lay.d(t0 + t).add(sb * 8), lay.s32(t0 + t).add(sb * 8));
            for h in 0..2 {
                let dxv = v128_load(dx.add(4 * h) as *const v128);
                v128_store(s.add(t * ts + i * bs + 4 * h) as *mut v128, f32x4_mul(sc[h], dxv));
                let sums = f32x4_convert_i32x4(v128_load(sx.add(4 * h) as *const v128));
                offset[t] = f32x4_sub(offset[t], f32x4_mul(f32x4_mul(m[h], dxv), sums));
            }
        }
    }
}

/// Q6_K: scales of super-blocks sb0..sb0+nc of `row` for tokens t0..t0+nt, laid out as for [`q4_k`];
/// the −32 offsets' term into offset[i].
#[inline(always)]
pub unsafe fn q6_k(
    row: *const u8,
    sb0: usize,
    nc: usize,
    lay: &ActLayout,
    t0: usize,
    nt: usize,
    s: *mut f32,
    ts: usize,
    bs: usize,
    offset: &mut [v128; 4],
    k: Consts,
) {
    for i in 0..nc {
        let blk = row.add((sb0 + i) * 210);
        let d = f32x4_splat(f16_to_f32((blk.add(208) as *const u16).read_unaligned()));
        // int8 scales as unsigned bytes sc + 128, converted, minus 128: d·sc for sub-blocks 4v..4v+4
        let raw = v128_xor(v128_load(blk.add(192) as *const v128), k.u8(0x80));
        let bias = k.f32(128.0);
        let f = bytes_to_f32(raw, k);
        let sc = [
            f32x4_mul(f32x4_sub(f[0], bias), d),
            f32x4_mul(f32x4_sub(f[1], bias), d),
            f32x4_mul(f32x4_sub(f[2], bias), d),
            f32x4_mul(f32x4_sub(f[3], bias), d),
        ];
        let sb = sb0 + i;
        for t in 0..nt {
            let (dx, sx) = (lay.d(t0 + t).add(sb * 8), lay.s16(t0 + t).add(sb * 16));
            let (dx0, dx1) = (v128_load(dx as *const v128), v128_load(dx.add(4) as *const v128));
            // sub-blocks 2j and 2j+1 share activation block j
            let dxs = [
                i32x4_shuffle::<0, 0, 1, 1>(dx0, dx0),
                i32x4_shuffle::<2, 2, 3, 3>(dx0, dx0),
                i32x4_shuffle::<0, 0, 1, 1>(dx1, dx1),
                i32x4_shuffle::<2, 2, 3, 3>(dx1, dx1),
            ];
            for v in 0..4 {
                let sv = f32x4_mul(sc[v], dxs[v]);
                v128_store(s.add(t * ts + i * bs + 4 * v) as *mut v128, sv);
                let sums = i32x4_shl(v128_load(sx.add(4 * v) as *const v128), 5);
                offset[t] = f32x4_sub(offset[t], f32x4_mul(sv, f32x4_convert_i32x4(sums)));
            }
        }
    }
}
