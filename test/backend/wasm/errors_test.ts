/**
 * Bad input to the wasm backend gives typed errors, never a crash or a hang.
 */
import assert from "node:assert/strict";
import { createWasmBackend, WasmBackendError } from "../../../src/backend/wasm/mod.ts";
import { instantiateKernels, kernelsModule } from "../../../src/backend/wasm/kernels.ts";
import { LinearMemory } from "../../../src/backend/wasm/linear_memory.ts";
import { ThreadPool } from "../../../src/backend/wasm/thread_pool.ts";
import { writeDesc } from "../../../src/backend/wasm/job.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { GgmlType, quantize } from "../../../src/quant/mod.ts";

function kind(kind: WasmBackendError["kind"]) {
  return (e: unknown) => e instanceof WasmBackendError && e.kind === kind;
}

Deno.test("token ids and KV placements out of range are RangeErrors, as in the reference", async () => {
  const b = await createWasmBackend({ threads: 2 });
  try {
    const table = b.uploadWeight({ name: "t", type: GgmlType.F32, dims: [8, 4] }, new Uint8Array(8 * 4 * 4));
    const out = b.alloc(16);
    assert.throws(() => b.embed(out, table, Int32Array.of(0, 4)), RangeError);
    assert.throws(() => b.embed(out, table, Int32Array.of(-1)), RangeError);
    const cache = b.createKvCache({ layers: 2, slots: 1, ctx: 4, kvDim: 8 });
    const kv = b.alloc(8);
    assert.throws(
      () => b.kvStore(cache, 0, kv, kv, 1, { slot: Int32Array.of(0), pos: Int32Array.of(4) }),
      RangeError,
    );
    assert.throws(
      () => b.kvStore(cache, 2, kv, kv, 1, { slot: Int32Array.of(0), pos: Int32Array.of(0) }),
      RangeError,
    );
    const q = b.alloc(8);
    const shape = { nHeads: 1, nKvHeads: 1, headDim: 8, scale: 1 };
    assert.throws(
      () => b.attention(out, q, cache, 0, 1, { slot: Int32Array.of(1), pos: Int32Array.of(0) }, shape),
      RangeError,
    );
    assert.throws(() => b.gatherRows(out, kv, Int32Array.of(2), 4), RangeError);
  } finally {
    b.dispose();
  }
});

Deno.test("shapes that do not fit are bad_argument errors naming the operand", async () => {
  const b = await createWasmBackend({ threads: 1 });
  try {
    const w = b.uploadWeight(
      { name: "w", type: GgmlType.Q8_0, dims: [64, 4] },
      quantize(GgmlType.Q8_0, new Float32Array(256)),
    );
    assert.throws(() => b.matmul(b.alloc(4), w, b.alloc(63), 1), kind("bad_argument"));
    assert.throws(() => b.matmul(b.alloc(3), w, b.alloc(64), 1), kind("bad_argument"));
    assert.throws(() => b.matmul(b.alloc(8), w, b.alloc(128), 1.5), kind("bad_argument"));
    const x = b.alloc(64);
    assert.throws(() => b.matmul(x, w, x, 1), kind("bad_argument"));
    assert.throws(
      () => b.uploadWeight({ name: "short", type: GgmlType.Q4_0, dims: [64, 4] }, new Uint8Array(10)),
      kind("bad_argument"),
    );
    const cache = b.createKvCache({ layers: 1, slots: 1, ctx: 4, kvDim: 8 });
    const shape = { nHeads: 3, nKvHeads: 2, headDim: 4, scale: 1 };
    assert.throws(
      () =>
        b.attention(
          b.alloc(12),
          b.alloc(12),
          cache,
          0,
          1,
          { slot: Int32Array.of(0), pos: Int32Array.of(0) },
          shape,
        ),
      kind("bad_argument"),
    );
    assert.throws(
      () => b.rope(x, 1, 1, Int32Array.of(0), { headDim: 8, ropeDim: 7, freqBase: 1e4, neox: false }),
      kind("bad_argument"),
    );
    assert.throws(() => b.write(x, new Float32Array(65)), kind("bad_argument"));
    await assert.rejects(b.read(x, 65), kind("bad_argument"));
    assert.throws(() => b.rmsNorm(x, x, w, 1, 1e-5), kind("bad_argument"));
    await assert.rejects(createWasmBackend({ threads: 0 }), kind("bad_argument"));
  } finally {
    b.dispose();
  }
});

Deno.test("tensors of another backend and use after dispose are rejected", async () => {
  const b = await createWasmBackend({ threads: 2 });
  const other = createReferenceBackend();
  const w = b.uploadWeight({ name: "w", type: GgmlType.F32, dims: [4, 4] }, new Uint8Array(64));
  assert.throws(() => b.matmul(b.alloc(4), w, other.alloc(4), 1), kind("bad_argument"));
  const t = b.alloc(4);
  b.dispose();
  b.dispose(); // idempotent
  assert.throws(() => b.alloc(4), kind("disposed"));
  assert.throws(() => b.add(t, t, t, 4), kind("disposed"));
});

Deno.test("a job failing on a worker thread becomes a kernel_failed error instead of a hang", async () => {
  const mem = new LinearMemory();
  const k = instantiateKernels(kernelsModule, null, mem.memory);
  mem.reserveBelow(k.__heap_base.value as number);
  const pool = await ThreadPool.create(2, mem, kernelsModule, null, (d, t, n) => k.run(d, t, n));
  try {
    const desc = mem.alloc(128);
    writeDesc(mem, desc, [99]); // no such op: every thread's share reports failure
    assert.throws(() => pool.run(desc, 2), kind("kernel_failed"));
    writeDesc(mem, desc, [0]); // the pool still works afterwards
    pool.run(desc, 2);
  } finally {
    pool.terminate();
  }
});

Deno.test("linear memory grows under existing tensors without losing their contents", async () => {
  const b = await createWasmBackend({ threads: 1 });
  try {
    const t = b.alloc(1000);
    b.write(t, Float32Array.from({ length: 1000 }, (_, i) => i));
    const before = b.memoryBytes;
    b.alloc(64 * 1024 * 1024 / 4); // 64 MiB: more than the initial memory
    assert.ok(b.memoryBytes > before + 64 * 1024 * 1024 - 1);
    const back = await b.read(t);
    assert.equal(back[999], 999);
    b.write(t, Float32Array.of(-1), 500);
    assert.equal((await b.read(t))[500], -1);
  } finally {
    b.dispose();
  }
});
