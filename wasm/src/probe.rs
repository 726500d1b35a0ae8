//! Upload-time helpers (in-place repacking, scans) and the memory-bandwidth probe.

use crate::job::{split, Desc};
use core::arch::wasm32::*;

/// Repacks `rows` GGUF rows of `nb` Q4_0 or Q8_0 blocks (f16 d, then `quant_bytes` quants) from `src`
/// to `dst`, each row as ⌈nb/4⌉ groups of [four f16 scales][four blocks' quants] ([`repacked_row_bytes`]):
/// one sequential stream per row (scales stored apart from their quants made the hardware prefetcher
/// lose track: half the speed from DRAM), with the four scales the kernels widen to f32 in one go. The
/// same bytes as the file, reordered: f32 scales here (converted once) made Q4_0/Q8_0 weights 11 % / 6 %
/// larger in memory (tinyllama Q4_0 peak RSS 1.28–1.32× the file, 1.18–1.21× now) for a widening that
/// costs Q4_0's single-thread product ≈ 5 % (4 instructions per four blocks). A last partial group has zero scales and zero
/// quants. Returns bit 0 set when some quant byte is −128 (a Q8_0 weight that cannot take the relaxed
/// path: |−128| needs 8 bits), bit 1 when some scale is inf or NaN (which the kernels do not widen).
#[no_mangle]
pub unsafe extern "C" fn repack_q(src: u32, dst: u32, rows: u32, nb: u32, quant_bytes: u32) -> u32 {
    let (nb, qb) = (nb as usize, quant_bytes as usize);
    let stride = repacked_row_bytes(nb as u32, quant_bytes) as usize;
    let group = 8 + 4 * qb;
    let mut flags = 0u32;
    for r in 0..rows as usize {
        let from = (src as usize + r * nb * (qb + 2)) as *const u8;
        let row = (dst as usize + r * stride) as *mut u8;
        core::ptr::write_bytes(row, 0, stride);
        for b in 0..nb {
            let blk = from.add(b * (qb + 2));
            let g = row.add((b / 4) * group);
            let d = (blk as *const u16).read_unaligned();
            if d & 0x7c00 == 0x7c00 {
                flags |= 2;
            }
            (g as *mut u16).add(b % 4).write_unaligned(d);
            core::ptr::copy_nonoverlapping(blk.add(2), g.add(8 + (b % 4) * qb), qb);
            for i in 0..qb {
                if *blk.add(2 + i) == 0x80 {
                    flags |= 1;
                }
            }
        }
    }
    flags
}

/// Bytes of one repacked Q4_0/Q8_0 row of `nb` blocks with `quant_bytes` quants each.
#[no_mangle]
pub extern "C" fn repacked_row_bytes(nb: u32, quant_bytes: u32) -> u32 {
    (nb + 3) / 4 * (8 + 4 * quant_bytes)
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
