import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createLoadProgress, describeLoad } from "../../src/cli/load_progress.ts";

const MIB = 1 << 20;

/** A reporter on a virtual clock, with what it wrote. */
function reporter(terminal: boolean) {
  let clock = 0;
  const out: string[] = [];
  const progress = createLoadProgress("weights → webgpu", (t) => out.push(t), terminal, () => clock);
  return { progress, out, advance: (ms: number) => (clock += ms) };
}

Deno.test("describeLoad says bytes done, total and percent", () => {
  assertEquals(describeLoad(12 * MIB, 140 * MIB), "12.0 MiB / 140.0 MiB (8.6 %)");
  assertEquals(describeLoad(0, 0), "0 B / 0 B (100.0 %)");
});

Deno.test("off a terminal a quick load prints one line when done", () => {
  const { progress, out, advance } = reporter(false);
  for (let i = 1; i <= 10; i++) {
    advance(100);
    progress.onProgress(i * MIB, 10 * MIB);
  }
  progress.done();
  assertEquals(out, ["weights → webgpu: 10.0 MiB loaded in 1.0 s\n"]);
});

Deno.test("off a terminal a slow load prints a line every few seconds, and nothing if it fails early", () => {
  const { progress, out, advance } = reporter(false);
  for (let i = 1; i <= 12; i++) {
    advance(1000);
    progress.onProgress(i * MIB, 12 * MIB);
  }
  assertEquals(out.length, 3, out.join(""));
  assertEquals(out[0], "weights → webgpu: 5.0 MiB / 12.0 MiB (41.7 %)\n");
  assert(out[2].includes("loaded in 12.0 s"), out[2]);

  const failed = reporter(false);
  failed.advance(1000);
  failed.progress.onProgress(MIB, 12 * MIB);
  failed.progress.done();
  assertEquals(failed.out, [], "a load that fails early leaves its error the only line");
});

Deno.test("on a terminal the bar is redrawn at most every 100 ms, always at the end, and done ends its line", () => {
  const { progress, out, advance } = reporter(true);
  advance(150);
  progress.onProgress(MIB, 4 * MIB);
  advance(10);
  progress.onProgress(2 * MIB, 4 * MIB); // too soon: skipped
  advance(10);
  progress.onProgress(4 * MIB, 4 * MIB); // complete: drawn
  progress.done();
  assertEquals(out.length, 3, JSON.stringify(out));
  assert(out[0].startsWith("\r\x1b[2Kweights → webgpu [") && out[0].endsWith("(25.0 %)"), out[0]);
  assert(out[1].includes("[" + "=".repeat(30) + "]") && out[1].endsWith("(100.0 %)"), out[1]);
  assertEquals(out[2], "\n");
});
