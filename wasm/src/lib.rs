//! edgering's CPU kernels, compiled to WebAssembly with simd128.
//!
//! The crate is `no_std` with no dependencies and no allocator: every buffer lives in the one shared
//! linear memory that the host (src/backend/wasm/) allocates and hands in as plain byte offsets. All
//! exports are `extern "C"` functions over that memory.
//!
//! Threads: the host instantiates this module once per worker, all on the same shared memory. Each
//! instance gets its own shadow stack (the host sets the exported `__stack_pointer`). Work is described
//! by a small descriptor in memory ([`job`]); every thread calls `run(desc, tid, nth)` and claims chunks
//! of the job's independent items (matrix rows, tokens, (token, head) pairs) until none are left. Every
//! item is computed the same way whichever thread takes it, so results do not depend on the thread count.
//!
//! Quantised matrix products ([`matmul_quant`]) multiply weight quants with activations quantised to int8
//! per block of 32 ([`act_quant`]) in exact integer arithmetic, then scale. The integer loops come from
//! this crate's simd128 code ([`int_dot`]) or from the hand-written relaxed-SIMD module
//! (`wasm/relaxed/relaxed_dot.wat`, the `relaxed` import module); both compute the same integers in the
//! same lanes followed by the same float operations, so the two paths give bit-identical results.
//!
//! F32 products ([`matmul_f32`]) have simd128 tiles here and FMA tiles (`f32x4.relaxed_madd`) in the
//! relaxed module, in the same summation order; the fused rounding can change the last bits.
//!
//! Files, one kernel family each: [`act_quant`] activation quantisation, [`int_dot`] integer dot loops,
//! [`matmul_quant`] Q4_0/Q8_0/Q4_K/Q6_K products, [`kquant_scales`] their K-quant scales, [`matmul_f32`]
//! F32 products, [`matmul_float`] F16 products, [`dequant`] embedding
//! rows, [`norm`] RMSNorm, [`rope`] rotary embedding, [`softmax`], [`attention`], [`elementwise`]
//! (SiLU·mul, add, bias), [`math`] exp, [`f16`] half-precision conversion, [`probe`] upload-time repacking
//! and the bandwidth probe, [`simd`] shared helpers, [`job`] descriptors and work sharing.
#![no_std]

mod act_quant;
mod attention;
mod dequant;
mod elementwise;
mod f16;
mod greedy;
mod int_dot;
mod job;
mod kquant_scales;
mod math;
mod matmul_f32;
mod matmul_float;
mod matmul_quant;
mod norm;
mod probe;
mod rope;
mod simd;
mod softmax;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // No message: keeps source paths out of the binary (reproducible builds) and traps in the host.
    core::arch::wasm32::unreachable()
}
