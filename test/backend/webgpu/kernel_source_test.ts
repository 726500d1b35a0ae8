import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { KERNEL_SOURCES, SNIPPET_SOURCES, WEIGHT_DECODERS } from "../../../kernels/mod.ts";
import { KERNELS } from "../../../src/backend/webgpu/kernel_specs.ts";
import { decoderForRole, kernelSource } from "../../../src/backend/webgpu/pipeline_cache.ts";
import { weightFormatOf } from "../../../src/backend/webgpu/weight_format.ts";
import { GgmlType } from "../../../src/quant/ggml_type.ts";

Deno.test("each kernel file defines an entry point named after its op and documents its bindings", () => {
  for (const [name, source] of Object.entries(KERNEL_SOURCES)) {
    assert(source.includes(`fn ${name}(`), `${name}.wgsl has no entry point ${name}`);
    assert(source.startsWith(`// ${name} — `), `${name}.wgsl opens with its formula header`);
    const spec = KERNELS[name as keyof typeof KERNELS];
    for (const b of spec.bindings) {
      assert(
        source.includes(`//   ${b.name}`) || source.includes(`, ${b.name} `),
        `${name}.wgsl documents binding ${b.name}`,
      );
    }
  }
});

Deno.test("each snippet has no entry point, names its contract and is built into the kernels that call it", () => {
  for (const [name, source] of Object.entries(SNIPPET_SOURCES)) {
    assert(source.startsWith(`// ${name} — snippet`), `${name}.wgsl opens with its header`);
    assert(!source.includes("@compute"), `${name}.wgsl declares no entry point`);
    assert(source.includes("It expects from the"), `${name}.wgsl names what it expects`);
    const functions = [...source.matchAll(/^fn (\w+)\(/gm)].map((m) => m[1]);
    assert(functions.length > 0, `${name}.wgsl defines functions`);
    for (const [kernel, built] of Object.entries(KERNEL_SOURCES)) {
      const calls = functions.some((f) => built.replace(source, "").includes(`${f}(`));
      assertEquals(built.includes(source), calls, `${kernel} is built with ${name} exactly when it calls it`);
    }
  }
  assert(KERNEL_SOURCES.attention.includes(SNIPPET_SOURCES.attention_chunk));
  assert(KERNEL_SOURCES.attention_split.includes(SNIPPET_SOURCES.attention_chunk));
  for (const kernel of ["attention", "attention_split", "rms_norm", "sample", "softmax"] as const) {
    assert(
      KERNEL_SOURCES[kernel].includes(SNIPPET_SOURCES.workgroup_reduce),
      `${kernel} reduces through the snippet`,
    );
  }
  assert(KERNEL_SOURCES.matvec.includes(SNIPPET_SOURCES.matvec_rows));
  assert(KERNEL_SOURCES.gate_up_silu.includes(SNIPPET_SOURCES.matvec_rows));
});

Deno.test("every weight decoder documents and reads exactly its format's sections", () => {
  for (
    const type of [
      GgmlType.F32,
      GgmlType.F16,
      GgmlType.BF16,
      GgmlType.Q8_0,
      GgmlType.Q4_0,
      GgmlType.Q4_1,
      GgmlType.Q5_0,
      GgmlType.Q5_1,
      GgmlType.Q4_K,
      GgmlType.Q5_K,
      GgmlType.Q6_K,
    ]
  ) {
    const format = weightFormatOf(type)!;
    const source = WEIGHT_DECODERS[format.name];
    assert(source.includes("fn load_group(row: u32, g: u32) -> array<vec4<f32>, 8>"), format.name);
    const used = [...source.matchAll(/\bw_(\w+)\[/g)].map((m) => m[1]);
    assertEquals(new Set(used), new Set(format.sections.map((s) => s.name)), format.name);
  }
});

Deno.test("an in-place variant binds the shared buffer once, read-write, behind both accessors", () => {
  const source = kernelSource(KERNELS.add, { shared: [0, 1, 0] });
  assert(source.includes("var<storage, read_write> buf_a: array<f32>;"), source);
  assert(!source.includes("buf_out:"), "out has no binding of its own");
  assert(source.includes("fn st_out(i: u32, v: f32) { buf_a[i] = v; }"), source);
  assert(source.includes("fn ld_b(i: u32) -> f32 { return buf_b[i]; }"), source);
});

Deno.test("the f16 variant enables the extension and stores the KV cache as f16", () => {
  const source = kernelSource(KERNELS.kv_store, { kvF16: true });
  assert(source.startsWith("enable f16;"), "enable comes first");
  assert(source.includes("alias kv_t = f16;"));
  assert(kernelSource(KERNELS.kv_store, {}).includes("alias kv_t = f32;"));
});

Deno.test("kernels/mod.ts imports every .wgsl file of kernels/", async () => {
  const names = async (dir: URL) => {
    const out: string[] = [];
    for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".wgsl")) out.push(e.name.slice(0, -5));
    return out.sort();
  };
  const root = new URL("../../../kernels/", import.meta.url);
  assertEquals(await names(root), [...Object.keys(KERNEL_SOURCES), ...Object.keys(SNIPPET_SOURCES)].sort());
  assertEquals(await names(new URL("weights/", root)), [...Object.keys(WEIGHT_DECODERS), "unpack"].sort());
});

Deno.test("a decoder renamed for a role reads only that role's sections and clashes with no other", () => {
  for (const [name, source] of Object.entries(WEIGHT_DECODERS)) {
    const gate = decoderForRole(source, "gate");
    const up = decoderForRole(source, "up");
    assert(
      gate.includes("fn load_gate(row: u32, g: u32)") && up.includes("fn load_up(row: u32, g: u32)"),
      name,
    );
    for (const renamed of [gate, up]) {
      assert(!/\bload_group\b|\bw_\w+\[/.test(renamed), `${name}: nothing of the plain decoder is left`);
    }
    const declared = (s: string) => [...s.matchAll(/^fn (\w+)\(/gm)].map((m) => m[1]);
    const shared = declared(gate).filter((f) => declared(up).includes(f));
    assertEquals(shared, [], `${name}: the two roles declare distinct functions`);
  }
  const source = kernelSource(KERNELS.gate_up_silu, {
    formats: [weightFormatOf(GgmlType.Q6_K)!, weightFormatOf(GgmlType.BF16)!],
  });
  assert(source.includes("var<storage, read> gate_ql: array<vec4<u32>>;"), source);
  assert(source.includes("var<storage, read> up_bf16:"), source);
});
