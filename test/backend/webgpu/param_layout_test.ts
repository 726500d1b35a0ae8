import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { paramLayout } from "../../../src/backend/webgpu/param_layout.ts";
import { KERNELS } from "../../../src/backend/webgpu/kernel_specs.ts";

Deno.test("param layout derives the WGSL struct and packs fields in declaration order", () => {
  const layout = paramLayout({ n: "u32", eps: "f32", shift: "i32" });
  assertEquals(layout.wgsl, "struct Params {\n  n: u32,\n  eps: f32,\n  shift: i32,\n}\n");
  assertEquals(layout.byteSize, 16);
  const view = new DataView(new ArrayBuffer(32));
  layout.pack(view, 16, { n: 7, eps: 0.5, shift: -3 });
  assertEquals([view.getUint32(16, true), view.getFloat32(20, true), view.getInt32(24, true)], [7, 0.5, -3]);
  assertEquals(view.getUint32(0, true), 0, "bytes before the offset are untouched");
});

Deno.test("param layout sizes round up to whole 16-byte uniform slots", () => {
  assertEquals(paramLayout({ a: "u32" }).byteSize, 16);
  assertEquals(paramLayout({ a: "u32", b: "u32", c: "u32", d: "u32", e: "u32" }).byteSize, 32);
  assertThrows(() => paramLayout({}), RangeError);
});

Deno.test("every kernel's parameter block fits one 256-byte arena slot", () => {
  for (const spec of Object.values(KERNELS)) {
    if (spec.params.byteSize > 256) throw new Error(`${spec.name} params take ${spec.params.byteSize} bytes`);
  }
});
