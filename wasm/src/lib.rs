//! edgering's CPU kernels, compiled to WebAssembly with simd128.
//!
//! The crate is `no_std` with no dependencies and no allocator: every buffer lives in the one shared
//! linear memory that the host (src/backend/wasm/) allocates and hands in as plain byte offsets. All
//! exports are `extern "C"` functions over that memory.
//!
//! Threads: the host instantiates this module once per worker, all on the same shared memory. Each
//! instance gets its own shadow stack (the host sets the exported `__stack_pointer`). Work is described
//! by a small descriptor in memory ([`job`]) and each thread runs its share of it: `run(desc, tid, nth)`.
//! Every kernel computes each output element the same way whatever `nth` is, so results do not depend on
//! the thread count.
//!
//! Quantised matrix products run in two stages ([`matmul_quant`]):
//! 1. an integer stage (exact i32 dot products of weight quants with int8-quantised activations), from
//!    this crate's simd128 code ([`int_dot`]) or from the hand-written relaxed-SIMD module
//!    (`wasm/relaxed/relaxed_dot.wat`), which the host links in as the `relaxed` import module;
//! 2. a float stage, written once here, that scales the integer sums.
//!
//! Because stage 1 is exact integer arithmetic, both paths give bit-identical results.
#![no_std]

mod act_quant;
mod attention;
mod dequant;
mod elementwise;
mod f16;
mod int_dot;
mod job;
mod math;
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
