#!/bin/sh
# Builds edgering's wasm kernels reproducibly (same bytes on every build) and regenerates the committed
# artefacts next to this script:
#   edgering_kernels.wasm   the Rust crate (simd128, shared imported memory), optimised by wasm-opt
#   relaxed_dot.wasm        relaxed/relaxed_dot.wat assembled by wabt (relaxed SIMD integer dot loops)
# Toolchain: Debian's rustc/cargo (1.63) with the wasm32 std, binaryen's wasm-opt, wabt's wat2wasm.
# CI runs this and fails if `git diff --exit-code wasm/*.wasm` shows a change.
set -eu
cd "$(dirname "$0")"
here=$(pwd)

RUSTC=${RUSTC:-/usr/bin/rustc}
CARGO=${CARGO:-/usr/bin/cargo}
export RUSTC

# atomics + bulk-memory: required for shared memory (one memory for every worker thread);
# --import-memory: the host creates the shared WebAssembly.Memory; --export=__stack_pointer: the host
# gives each worker instance its own shadow stack; 64 KiB pages up to 4 GiB (the wasm32 limit).
# --remap-path-prefix keeps build paths out of the binary.
RUSTFLAGS="-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals \
 -C link-arg=--import-memory -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 \
 -C link-arg=--export=__stack_pointer -C link-arg=--export=__heap_base -C link-arg=-zstack-size=262144 \
 --remap-path-prefix=$here=. --remap-path-prefix=$HOME=~"
export RUSTFLAGS

"$CARGO" build --quiet --release --target wasm32-unknown-unknown --target-dir "$here/target"
wasm-opt -O3 --enable-simd --enable-threads --enable-bulk-memory --enable-mutable-globals \
  --strip-debug --strip-producers \
  target/wasm32-unknown-unknown/release/edgering_kernels.wasm -o edgering_kernels.wasm
wat2wasm --enable-relaxed-simd --enable-threads relaxed/relaxed_dot.wat -o relaxed_dot.wasm
echo "built $(wc -c < edgering_kernels.wasm) B edgering_kernels.wasm, $(wc -c < relaxed_dot.wasm) B relaxed_dot.wasm"
