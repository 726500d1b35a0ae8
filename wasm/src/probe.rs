//! Upload-time helpers (in-place repacking, scans) and the memory-bandwidth probe.

use crate::job::{split, Desc};
use core::arch::wasm32::*;

/// Repacks `rows` rows of `nb` blocks in place from GGUF block order (f16 d, then `quant_bytes` quants)
/// to [quants of all nb blocks][nb f16 scales] per row: same size, same row stride, but 16-byte-aligned
/// quant runs and scales four at a time. `scratch` holds at least one row. Returns how many quant bytes
/// equal −128 (0x80): a Q8_0 weight with any cannot use the relaxed path (|−128| needs 8 bits).
#[no_mangle]
pub unsafe extern "C" fn repack_rows(ptr: u32, rows: u32, nb: u32, quant_bytes: u32, scratch: u32) -> u32 {
    let (nb, qb) = (nb as usize, quant_bytes as usize);
    let bb = qb + 2;
    let tmp = scratch as *mut u8;
    let mut min_count = 0u32;
    for r in 0..rows as usize {
        let row = (ptr as usize + r * nb * bb) as *mut u8;
        core::ptr::copy_nonoverlapping(row, tmp, nb * bb);
        for b in 0..nb {
            let src = tmp.add(b * bb);
            core::ptr::copy_nonoverlapping(src.add(2), row.add(b * qb), qb);
            core::ptr::copy_nonoverlapping(src, row.add(nb * qb + b * 2), 2);
            for i in 0..qb {
                if *src.add(2 + i) == 0x80 {
                    min_count += 1;
                }
            }
        }
    }
    min_count
}

/// Counts f16 values at `ptr` (count values) whose exponent is all ones (inf or NaN).
#[no_mangle]
pub unsafe extern "C" fn f16_nonfinite(ptr: u32, count: u32) -> u32 {
    let p = ptr as *const u16;
    let mut n = 0u32;
    for i in 0..count as usize {
        if (*p.add(i) & 0x7c00) == 0x7c00 {
            n += 1;
        }
    }
    n
}

/// Memory-bandwidth probe: reads `bytes` (a multiple of 64) at `ptr` once, STREAM-style read-only, and
/// returns a checksum so the loads cannot be optimised away. Four independent accumulators keep many
/// cache-line loads in flight.
#[no_mangle]
pub unsafe extern "C" fn probe_sum(ptr: u32, bytes: u32) -> i32 {
    let mut acc = [i32x4_splat(0); 4];
    let mut p = ptr as usize;
    let end = p + bytes as usize;
    while p + 64 <= end {
        for k in 0..4 {
            acc[k] = i32x4_add(acc[k], v128_load((p + 16 * k) as *const v128));
        }
        p += 64;
    }
    let s = i32x4_add(i32x4_add(acc[0], acc[1]), i32x4_add(acc[2], acc[3]));
    i32x4_extract_lane::<0>(s) ^ i32x4_extract_lane::<1>(s) ^ i32x4_extract_lane::<2>(s) ^ i32x4_extract_lane::<3>(s)
}

/// OP_PROBE: [op, ptr, bytes, out: i32 [nth]]. Each thread reads its 64-byte-aligned share of the buffer
/// and stores its checksum at out[tid].
#[inline(never)]
pub unsafe fn job(d: Desc, tid: usize, nth: usize) {
    let (ptr, bytes, out) = (d.u(1), d.u(2), d.u(3) as *mut i32);
    let (b0, b1) = split(bytes, tid, nth, 64);
    *out.add(tid) = probe_sum((ptr + b0) as u32, (b1 - b0) as u32);
}
