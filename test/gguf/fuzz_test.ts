/**
 * Fuzz test of the GGUF reader: a seeded PRNG mutates a valid file (every metadata type, nested arrays,
 * a tensor of every quantisable type) in 12,000 ways — bit flips, bytes set to 0x00/0xFF/0x7F/0x80,
 * truncations, insertions, deletions, duplicated chunks, and u32/u64 header fields set to huge values —
 * and checks that each mutant either loads fully (header, every tensor read and dequantised) or fails
 * with a GgufError. Anything else (RangeError, TypeError, a read or allocation over 64 MiB, an iteration
 * slower than a second) fails the test and prints the seed and the mutations, so the case replays with
 * `mutate(valid, seed)`.
 */
import assert from "node:assert/strict";
import type { ByteSource } from "../../src/gguf/byte_source.ts";
import { GgufError } from "../../src/gguf/errors.ts";
import { GgufFile, tensorElementCount } from "../../src/gguf/gguf_file.ts";
import { memorySource } from "../../src/gguf/memory_source.ts";
import { encodeGguf } from "../../src/gguf/writer.ts";
import { mulberry32 } from "../quant/test_data.ts";
import { richSpec } from "./fixtures.ts";

const ITERATIONS = 12_000;
const BASE_SEED = 0x5eed_0000;
/** Largest read or decoded tensor a mutant of a ~4 KB file may cause. */
const ALLOCATION_LIMIT = 64 << 20;
/** An iteration slower than this counts as a hang. */
const ITERATION_LIMIT_MS = 1000;

/** Offsets of the u32 and u64 fields of a valid GGUF file (counts, lengths, types, dims, offsets). */
function fieldOffsets(bytes: Uint8Array): { u32: number[]; u64: number[] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32: number[] = [], u64: number[] = [];
  let p = 8;
  const r32 = () => (u32.push(p), p += 4, v.getUint32(p - 4, true));
  const r64 = () => (u64.push(p), p += 8, Number(v.getBigUint64(p - 8, true)));
  const skipString = () => {
    const n = r64(); // read before adding: `p += r64()` would add to the old p
    p += n;
  };
  const value = (type: number): void => {
    if (type === 0 || type === 1 || type === 7) p += 1;
    else if (type === 2 || type === 3) p += 2;
    else if (type === 4 || type === 5 || type === 6) r32();
    else if (type >= 10) r64();
    else if (type === 8) skipString();
    else {
      const elem = r32();
      const n = r64();
      for (let i = 0; i < n; i++) value(elem);
    }
  };
  const tensors = r64(), kvs = r64();
  for (let i = 0; i < kvs; i++) {
    skipString();
    value(r32());
  }
  for (let i = 0; i < tensors; i++) {
    skipString();
    const dims = r32();
    for (let d = 0; d < dims; d++) r64();
    r32();
    r64();
  }
  return { u32, u64 };
}

/** Applies 1–3 seeded mutations to a copy of `valid`; returns the mutant and what was done. */
export function mutate(valid: Uint8Array, seed: number): { bytes: Uint8Array; log: string[] } {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const fields = fieldOffsets(valid);
  const headerEnd = fields.u64.at(-1)! + 8;
  let b = valid.slice();
  const log: string[] = [];
  // three quarters of the mutations land in the header, where the parser's decisions are
  const pos = (len: number) => (rand() < 0.75 ? int(Math.min(len, headerEnd)) : int(len));
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds && b.length > 0; r++) {
    const kind = int(8);
    if (kind === 0) {
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) {
        const at = pos(b.length), bit = int(8);
        b[at] ^= 1 << bit;
        log.push(`flip bit ${bit} of byte ${at}`);
      }
    } else if (kind === 1) {
      const at = pos(b.length), v = pick([0x00, 0xff, 0x7f, 0x80]);
      b[at] = v;
      log.push(`set byte ${at} to 0x${v.toString(16)}`);
    } else if (kind === 2) {
      const len = pos(b.length);
      b = b.slice(0, len);
      log.push(`truncate to ${len} bytes`);
    } else if (kind === 3) {
      const at = pos(b.length + 1), n = 1 + int(16);
      const ins = Uint8Array.from({ length: n }, () => int(256));
      b = Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
      log.push(`insert ${n} random bytes at ${at}`);
    } else if (kind === 4 && fields.u32.length > 0) {
      const at = pick(fields.u32);
      const v = pick([0xffffffff, 0x80000000, 0x7fffffff, 0, 1, 13, int(2 ** 32)]);
      if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, v, true);
      log.push(`set u32 at ${at} to ${v}`);
    } else if (kind === 5) {
      const at = pick(fields.u64);
      const v = pick([
        2n ** 64n - 1n,
        2n ** 63n,
        2n ** 53n,
        2n ** 32n,
        2n ** 31n,
        0n,
        BigInt(b.length),
        BigInt(int(2 ** 30)),
      ]);
      if (at + 8 <= b.length) new DataView(b.buffer).setBigUint64(at, v, true);
      log.push(`set u64 at ${at} to ${v}`);
    } else if (kind === 6) {
      const from = pos(b.length), n = 1 + int(64), to = pos(b.length + 1);
      const chunk = b.slice(from, from + n);
      b = Uint8Array.from([...b.subarray(0, to), ...chunk, ...b.subarray(to)]);
      log.push(`duplicate ${chunk.length} bytes from ${from} at ${to}`);
    } else {
      const at = pos(b.length), n = 1 + int(32);
      b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
      log.push(`delete ${n} bytes at ${at}`);
    }
  }
  return { bytes: b, log };
}

/** A memory source that treats any read over the allocation limit as a test failure (not a GgufError). */
function guardedSource(bytes: Uint8Array): ByteSource {
  const inner = memorySource(bytes, "fuzz.gguf");
  return {
    size: inner.size,
    name: inner.name,
    read(offset, length) {
      if (length > ALLOCATION_LIMIT) throw new Error(`read of ${length} bytes`);
      return inner.read(offset, length);
    },
    close: () => inner.close(),
  };
}

/** Loads a mutant fully; returns "loaded" or the GgufError kind; rethrows anything else. */
async function loadFully(bytes: Uint8Array): Promise<string> {
  let file: GgufFile;
  try {
    file = await GgufFile.open(guardedSource(bytes));
  } catch (e) {
    if (e instanceof GgufError) return e.kind;
    throw e;
  }
  try {
    for (const t of file.tensors) {
      if (tensorElementCount(t) * 4 > ALLOCATION_LIMIT) {
        throw new Error(`tensor "${t.name}" decodes to over 64 MiB`);
      }
      const values = await file.readTensorF32(t);
      if (values.length !== tensorElementCount(t)) {
        throw new Error(`tensor "${t.name}" decoded to ${values.length} values`);
      }
    }
    return "loaded";
  } catch (e) {
    if (e instanceof GgufError) return e.kind;
    throw e;
  } finally {
    file.close();
  }
}

Deno.test("mutated GGUF files either load fully or fail with a GgufError", async () => {
  const valid = encodeGguf(richSpec());
  assert.equal(await loadFully(valid), "loaded");
  const outcomes = new Map<string, number>();
  const heapStart = Deno.memoryUsage().heapUsed;
  const started = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    const seed = BASE_SEED + i;
    const { bytes, log } = mutate(valid, seed);
    const t0 = performance.now();
    let outcome: string;
    try {
      outcome = await loadFully(bytes);
    } catch (e) {
      assert.fail(`seed 0x${seed.toString(16)} [${log.join("; ")}] threw ${(e as Error)?.stack ?? e}`);
    }
    const ms = performance.now() - t0;
    assert.ok(
      ms < ITERATION_LIMIT_MS,
      `seed 0x${seed.toString(16)} [${log.join("; ")}] took ${ms.toFixed(0)} ms`,
    );
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (i % 1000 === 999) {
      const grown = Deno.memoryUsage().heapUsed - heapStart;
      assert.ok(grown < ALLOCATION_LIMIT, `heap grew by ${grown} bytes by seed 0x${seed.toString(16)}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  // the fuzzer must reach both outcomes and many distinct rules, or it is not testing much
  assert.ok((outcomes.get("loaded") ?? 0) > ITERATIONS / 100, `outcomes: ${JSON.stringify([...outcomes])}`);
  assert.ok(outcomes.size >= 10, `only ${outcomes.size} outcomes: ${JSON.stringify([...outcomes])}`);
  assert.ok(seconds < 30, `took ${seconds.toFixed(1)} s`);
});

Deno.test("the fuzz mutator is deterministic for a seed", () => {
  const valid = encodeGguf(richSpec());
  assert.deepEqual(mutate(valid, 42), mutate(valid, 42));
  assert.notDeepEqual(mutate(valid, 42).bytes, mutate(valid, 43).bytes);
});
