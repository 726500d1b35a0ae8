import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  chooseChunkSize,
  type ChunkInput,
  FIRST_CHUNK,
  MAX_CHUNK_MS,
  MIN_STEADY_CHUNK,
  STOP_LIKELY_CHUNK,
  WAITING_CHUNK,
} from "../../../src/backend/webgpu/chunk_size.ts";

Deno.test("chunk size keeps the readback floor near a tenth of the chunk, within its bounds", () => {
  const base: ChunkInput = { stepMs: 1, remaining: 1000, maxChunk: 256, mayStopEarly: false };
  const table: [string, Partial<ChunkInput>, number][] = [
    ["the first chunk is short, to stream early", { first: true }, FIRST_CHUNK],
    ["before any measurement: the steady minimum", { stepMs: undefined }, MIN_STEADY_CHUNK],
    ["1 ms steps: 10 ms floor over 10% → 100 steps", { stepMs: 1 }, 100],
    ["2.5 ms steps → 40 steps", { stepMs: 2.5 }, 40],
    ["slow steps never go below the steady minimum", { stepMs: 50 }, MIN_STEADY_CHUNK],
    ["very slow steps keep a chunk near MAX_CHUNK_MS", { stepMs: 100 }, MAX_CHUNK_MS / 100],
    ["the time cap never drops below the 1/8-readback budget", { stepMs: 250 }, WAITING_CHUNK],
    ["even a step over MAX_CHUNK_MS keeps the budget", { stepMs: 5000 }, WAITING_CHUNK],
    ["fast steps stop at the caller's cap", { stepMs: 0.01 }, 256],
    ["a lower measured floor gives smaller chunks", { stepMs: 1, floorMs: 4 }, 40],
    ["stop strings cap the chunk", { stepMs: 0.1, mayStopEarly: true }, STOP_LIKELY_CHUNK],
    ["requests waiting for a slot cap the chunk lower", { stepMs: 0.1, waiting: true }, WAITING_CHUNK],
    ["waiting and stop strings: the lower cap wins", { stepMs: 0.1, waiting: true, mayStopEarly: true }, 8],
    ["the chunk shrinks to the tokens left", { stepMs: 1, remaining: 7 }, 7],
    ["nothing left: zero", { remaining: 0 }, 0],
    ["a cap below the minimum wins", { stepMs: 50, maxChunk: 3 }, 3],
    ["a cap below the first chunk wins", { first: true, maxChunk: 2 }, 2],
    ["nonsense measurements fall back to the minimum", { stepMs: -1 }, MIN_STEADY_CHUNK],
  ];
  for (const [label, change, want] of table) {
    assertEquals(chooseChunkSize({ ...base, ...change }), want, label);
  }
});
