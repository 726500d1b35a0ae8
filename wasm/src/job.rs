//! Job descriptors: how the host asks for work, and how each thread finds its share.
//!
//! A descriptor is 32 little-endian u32 words in linear memory: word 0 is the op code (below), the rest
//! are the op's arguments (byte offsets, sizes, f32 bits) as listed at each op. The host writes one, then
//! every thread calls `run(desc, tid, nth)`; each kernel splits its independent items (matrix rows, token
//! rows, (token, head) pairs) into `nth` contiguous ranges and does range `tid`.

use crate::simd::Consts;
use crate::{
    act_quant, attention, dequant, elementwise, greedy, matmul_f32, matmul_float, matmul_quant, norm, probe, rope,
    softmax,
};
use core::sync::atomic::{AtomicU32, Ordering};

/// Does nothing: measures the cost of one synchronised dispatch.
pub const OP_NOP: u32 = 0;
pub const OP_MATMUL: u32 = 1;
pub const OP_QUANT: u32 = 2;
pub const OP_RMS_NORM: u32 = 4;
pub const OP_ROPE: u32 = 5;
pub const OP_ATTENTION: u32 = 6;
pub const OP_SILU_MUL: u32 = 7;
pub const OP_ADD: u32 = 8;
pub const OP_SOFTMAX: u32 = 9;
pub const OP_EMBED: u32 = 10;
pub const OP_ADD_BIAS: u32 = 11;
pub const OP_PROBE: u32 = 12;
pub const OP_PAIR: u32 = 13;
/// F32 SwiGLU: both products and silu·mul in one dispatch ([`crate::matmul_f32::job_gate_up_silu`]).
pub const OP_GATE_UP_SILU: u32 = 14;
/// Index of each row's highest value ([`crate::greedy::job`]).
pub const OP_GREEDY: u32 = 15;

/// Weight type codes: ggml's type ids.
pub const TYPE_F32: u32 = 0;
pub const TYPE_F16: u32 = 1;
pub const TYPE_Q4_0: u32 = 2;
pub const TYPE_Q8_0: u32 = 8;
pub const TYPE_Q4_K: u32 = 12;
pub const TYPE_Q6_K: u32 = 14;

/// The descriptor word counting claimed work (zeroed by the host before each dispatch).
const COUNTER_WORD: usize = 30;
/// The descriptor word the host always leaves 0.
const ZERO_WORD: usize = 31;
/// Chunks per thread of a job: enough for a late thread to catch up, few enough that claiming (one
/// atomic add on a shared cache line) stays negligible.
const CHUNKS_PER_THREAD: usize = 16;

/// Read-only view of one descriptor.
#[derive(Clone, Copy)]
pub struct Desc(*const u32);

impl Desc {
    /// Word `i` as an unsigned integer (offsets, counts).
    #[inline(always)]
    pub fn u(self, i: usize) -> usize {
        unsafe { *self.0.add(i) as usize }
    }
    /// Constant-vector builder from the always-zero word 31.
    #[inline(always)]
    pub fn consts(self) -> Consts {
        Consts::new(self.u(ZERO_WORD) as u32)
    }
    /// Word `i` reinterpreted as f32.
    #[inline(always)]
    pub fn f(self, i: usize) -> f32 {
        unsafe { f32::from_bits(*self.0.add(i)) }
    }
}

/// Ranges of a job's items handed out to whichever thread asks next.
pub struct Chunks {
    counter: *const AtomicU32,
    total: usize,
    chunk: usize,
}

impl Chunks {
    /// Chunks of `total` items for `nth` threads, each a multiple of `align` items.
    pub fn new(d: Desc, total: usize, nth: usize, align: usize) -> Chunks {
        Chunks::at_least(d, total, nth, align, 1)
    }
    /// As [`Chunks::new`], with fewer chunks per thread where chunks would hold under `min` items: as many
    /// as fit (at least one per thread), so every thread still gets the same number of chunks.
    pub fn at_least(d: Desc, total: usize, nth: usize, align: usize, min: usize) -> Chunks {
        let per_thread = (total / (nth * min.max(1))).clamp(1, CHUNKS_PER_THREAD);
        let per = (total + nth * per_thread - 1) / (nth * per_thread);
        let chunk = ((per + align - 1) / align * align).max(align);
        Chunks {
            counter: unsafe { d.0.add(COUNTER_WORD) as *const AtomicU32 },
            total,
            chunk,
        }
    }
    /// The next unclaimed range `[start, end)`, or None when all are taken.
    #[inline(always)]
    pub fn next(&self) -> Option<(usize, usize)> {
        let start = unsafe { (*self.counter).fetch_add(self.chunk as u32, Ordering::Relaxed) } as usize;
        if start >= self.total {
            None
        } else {
            Some((start, (start + self.chunk).min(self.total)))
        }
    }
}

/// The fixed share `[start, end)` of `total` items for thread `tid` of `nth`, in whole multiples of `align`
/// (the last range takes the remainder). Ranges are contiguous, disjoint and cover everything.
#[inline(always)]
pub fn split(total: usize, tid: usize, nth: usize, align: usize) -> (usize, usize) {
    let units = (total + align - 1) / align;
    let per = units / nth;
    let extra = units % nth;
    let start_unit = tid * per + if tid < extra { tid } else { extra };
    let count = per + if tid < extra { 1 } else { 0 };
    let start = (start_unit * align).min(total);
    let end = ((start_unit + count) * align).min(total);
    (start, end)
}

/// Runs thread `tid`'s share (of `nth`) of the job described at byte offset `desc`. Returns 0, or 1 for
/// an unknown op or weight type (the host validates first, so this is a bug guard, not an error path).
#[no_mangle]
pub unsafe extern "C" fn run(desc: u32, tid: u32, nth: u32) -> u32 {
    let d = Desc(desc as *const u32);
    let (tid, nth) = (tid as usize, nth.max(1) as usize);
    match d.u(0) as u32 {
        OP_NOP => {}
        OP_MATMUL => match d.u(1) as u32 {
            TYPE_F32 | TYPE_F16 => matmul_float::job(d, tid, nth),
            TYPE_Q4_0 | TYPE_Q8_0 | TYPE_Q4_K | TYPE_Q6_K => matmul_quant::job(d, tid, nth),
            _ => return 1,
        },
        OP_QUANT => act_quant::job(d, tid, nth),
        OP_RMS_NORM => norm::job(d, tid, nth),
        OP_ROPE => rope::job(d, tid, nth),
        OP_ATTENTION => attention::job(d, tid, nth),
        OP_SILU_MUL => elementwise::job_silu_mul(d, tid, nth),
        OP_ADD => elementwise::job_add(d, tid, nth),
        OP_SOFTMAX => softmax::job(d, tid, nth),
        OP_EMBED => {
            if !dequant::job(d, tid, nth) {
                return 1;
            }
        }
        OP_ADD_BIAS => elementwise::job_add_bias(d, tid, nth),
        OP_PROBE => probe::job(d, tid, nth),
        OP_PAIR => matmul_float::job_pair(d, tid, nth),
        OP_GATE_UP_SILU => matmul_f32::job_gate_up_silu(d, tid, nth),
        OP_GREEDY => greedy::job(d, tid, nth),
        _ => return 1,
    }
    0
}
