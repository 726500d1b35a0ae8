/**
 * Building a kernel variant's WGSL source and caching its compute pipeline.
 *
 * A variant is a small key: the weight format (for weight-reading kernels; one per role for kernels
 * reading several weights), the KV element type, and which accessor bindings share a buffer. The
 * source is
 *
 *   [enable f16;] · constants (WG, ROWS, MAX_HEAD_DIM) · `alias kv_t` · struct Params · bindings ·
 *   [weight helpers + decoder(s)] · the kernel file
 *
 * with the struct and bindings generated from kernel_specs.ts. Pipelines are cached per device and key,
 * so every backend sharing a device (the tests make many) compiles each variant once.
 *
 * WGSL has no namespaces: a kernel reading two weights (gate_up_silu) gets each decoder renamed for
 * its role ({@link decoderForRole}), so two formats — or one format twice — can sit in one module.
 *
 * @example
 * ```ts
 * const cache = new PipelineCache(device);
 * const pipe = cache.get(KERNELS.rms_norm, { shared: [0, 1, 2] });
 * ```
 */
import { KERNEL_SOURCES, UNPACK_SOURCE, WEIGHT_DECODERS } from "../../../kernels/mod.ts";
import { type KernelSpec, MATVEC_ROWS, MAX_HEAD_DIM, WORKGROUP_SIZE } from "./kernel_specs.ts";
import type { WeightFormat } from "./weight_format.ts";

/** What distinguishes two pipelines of one kernel. */
export interface KernelVariant {
  /** storage format of the weight (weight-reading kernels only) */
  readonly format?: WeightFormat;
  /** storage format of each weight role, in the order of `spec.weightRoles` */
  readonly formats?: readonly WeightFormat[];
  /** the KV cache holds f16 (needs shader-f16) */
  readonly kvF16?: boolean;
  /**
   * For each binding, the index of the first binding given the same buffer (its own index when
   * alone). Only accessor bindings may share; absent means none do.
   */
  readonly shared?: readonly number[];
}

/** A compiled variant and how to bind it. */
export interface Pipeline {
  readonly key: string;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  /** indices of the spec's bindings that get a binding slot (1, 2, … in this order) */
  readonly slots: readonly number[];
  /** read-write flag per slot */
  readonly writable: readonly boolean[];
}

/** The cache key of a variant. */
export function variantKey(spec: KernelSpec, variant: KernelVariant): string {
  return [
    spec.name,
    variant.format?.name ?? variant.formats?.map((f) => f.name).join("+") ?? "",
    variant.kvF16 ? "kv16" : "kv32",
    (variant.shared ?? []).join("."),
  ]
    .join("|");
}

interface SlotPlan {
  readonly slots: number[];
  readonly writable: boolean[];
  readonly declarations: string[];
}

function planBindings(spec: KernelSpec, variant: KernelVariant): SlotPlan {
  const shared = variant.shared ?? spec.bindings.map((_, i) => i);
  const slots: number[] = [];
  const writable: boolean[] = [];
  const declarations: string[] = [];
  spec.bindings.forEach((b, i) => {
    if (shared[i] !== i) return;
    const group = spec.bindings.filter((_, j) => shared[j] === i);
    const rw = group.some((g) => g.access === "read_write");
    const access = rw ? "read_write" : "read";
    const slot = slots.length + 1;
    slots.push(i);
    writable.push(rw);
    const varName = b.accessor ? `buf_${b.name}` : b.name;
    declarations.push(`@group(0) @binding(${slot}) var<storage, ${access}> ${varName}: array<${b.element}>;`);
  });
  spec.bindings.forEach((b, i) => {
    if (!b.accessor) return;
    const target = `buf_${spec.bindings[shared[i]].name}`;
    declarations.push(`fn ld_${b.name}(i: u32) -> ${b.element} { return ${target}[i]; }`);
    if (b.access === "read_write") {
      declarations.push(`fn st_${b.name}(i: u32, v: ${b.element}) { ${target}[i] = v; }`);
    }
  });
  if (spec.weight) {
    if (!variant.format) throw new Error(`kernel ${spec.name} needs a weight format`);
    for (const s of variant.format.sections) {
      const slot = slots.length + 1;
      slots.push(-1);
      writable.push(false);
      declarations.push(`@group(0) @binding(${slot}) var<storage, read> w_${s.name}: array<${s.element}>;`);
    }
  }
  for (const [r, role] of (spec.weightRoles ?? []).entries()) {
    const format = variant.formats?.[r];
    if (!format) throw new Error(`kernel ${spec.name} needs a weight format for its ${role} weight`);
    for (const s of format.sections) {
      const slot = slots.length + 1;
      slots.push(-1);
      writable.push(false);
      declarations.push(
        `@group(0) @binding(${slot}) var<storage, read> ${role}_${s.name}: array<${s.element}>;`,
      );
    }
  }
  return { slots, writable, declarations };
}

/**
 * A weight decoder renamed for one role of a kernel that reads several weights: `load_group` becomes
 * `load_<role>`, its sections `w_<name>` become `<role>_<name>`, and its other functions `f` become
 * `<role>_f`, so that decoders of two roles never clash. Pure.
 *
 * @example
 * ```ts
 * decoderForRole("fn load_group(row: u32, g: u32) … w_qs[b] …", "up"); // "fn load_up(row: u32, g: u32) … up_qs[b] …"
 * ```
 */
export function decoderForRole(source: string, role: string): string {
  const helpers = [...source.matchAll(/^fn (\w+)\(/gm)].map((m) => m[1]).filter((f) => f !== "load_group");
  let out = source.replace(/\bload_group\b/g, `load_${role}`).replace(/\bw_(\w+)/g, `${role}_$1`);
  for (const f of helpers) out = out.replace(new RegExp(`\\b${f}\\b`, "g"), `${role}_${f}`);
  return out;
}

/** The full WGSL source of a kernel variant. */
export function kernelSource(spec: KernelSpec, variant: KernelVariant): string {
  const plan = planBindings(spec, variant);
  const parts = [
    variant.kvF16 ? "enable f16;" : "",
    `const WG: u32 = ${WORKGROUP_SIZE}u;`,
    `const ROWS: u32 = ${MATVEC_ROWS}u;`,
    `const MAX_HEAD_DIM: u32 = ${MAX_HEAD_DIM}u;`,
    `alias kv_t = ${variant.kvF16 ? "f16" : "f32"};`,
    spec.params.wgsl,
    "@group(0) @binding(0) var<uniform> p: Params;",
    ...plan.declarations,
  ];
  if (spec.weight && variant.format) parts.push(UNPACK_SOURCE, WEIGHT_DECODERS[variant.format.name]);
  if (spec.weightRoles && variant.formats) {
    parts.push(UNPACK_SOURCE);
    spec.weightRoles.forEach((role, r) =>
      parts.push(decoderForRole(WEIGHT_DECODERS[variant.formats![r].name], role))
    );
  }
  parts.push(KERNEL_SOURCES[spec.name]);
  return parts.join("\n");
}

const DEVICE_CACHES = new WeakMap<GPUDevice, Map<string, Pipeline>>();

/** Pipelines of one device, created on first use. */
export class PipelineCache {
  private readonly cache: Map<string, Pipeline>;
  /** pipelines this instance had to compile (cache misses) */
  created = 0;

  constructor(private readonly device: GPUDevice) {
    let cache = DEVICE_CACHES.get(device);
    if (!cache) DEVICE_CACHES.set(device, cache = new Map());
    this.cache = cache;
  }

  /** The pipeline of `spec` in `variant`, compiled on first use. */
  get(spec: KernelSpec, variant: KernelVariant): Pipeline {
    const key = variantKey(spec, variant);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const plan = planBindings(spec, variant);
    const visibility = GPUShaderStage.COMPUTE;
    const layout = this.device.createBindGroupLayout({
      label: key,
      entries: [
        { binding: 0, visibility, buffer: { type: "uniform", hasDynamicOffset: true } },
        ...plan.writable.map((rw, i): GPUBindGroupLayoutEntry => ({
          binding: i + 1,
          visibility,
          buffer: { type: rw ? "storage" : "read-only-storage" },
        })),
      ],
    });
    const module = this.device.createShaderModule({ label: key, code: kernelSource(spec, variant) });
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: spec.name },
    });
    const made: Pipeline = { key, pipeline, layout, slots: plan.slots, writable: plan.writable };
    this.cache.set(key, made);
    this.created++;
    return made;
  }
}
