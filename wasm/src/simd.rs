//! Small simd128 helpers shared by the kernels.

use core::arch::wasm32::*;

/// Loads 16 bytes from byte offset `p` (no alignment needed).
#[inline(always)]
pub unsafe fn load(p: *const u8) -> v128 {
    v128_load(p as *const v128)
}

/// Stores 16 bytes at byte offset `p`.
#[inline(always)]
pub unsafe fn store(p: *mut u8, v: v128) {
    v128_store(p as *mut v128, v)
}

/// Horizontal sum of four f32 lanes in a fixed order: (l0 + l2) + (l1 + l3).
///
/// Every kernel reduces its lane accumulators through this one function so that the summation order, and
/// therefore the rounding, is the same on every path.
#[inline(always)]
pub unsafe fn hsum_f32(v: v128) -> f32 {
    let s = f32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s)
}

/// Horizontal sum of four i32 lanes (exact, wrapping).
#[inline(always)]
pub unsafe fn hsum_i32(v: v128) -> i32 {
    let s = i32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    i32x4_extract_lane::<0>(s).wrapping_add(i32x4_extract_lane::<1>(s))
}

/// Reduces four i32x4 partial sums to one vector of their totals: lane k = Σ lanes of `pk`.
///
/// Integer sums are exact, so it does not matter how each path spread a block's products over lanes.
#[inline(always)]
pub unsafe fn reduce4_i32(p0: v128, p1: v128, p2: v128, p3: v128) -> v128 {
    let a = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(p0, p1), i32x4_shuffle::<2, 6, 3, 7>(p0, p1));
    let b = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(p2, p3), i32x4_shuffle::<2, 6, 3, 7>(p2, p3));
    i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(a, b), i32x4_shuffle::<2, 3, 6, 7>(a, b))
}
