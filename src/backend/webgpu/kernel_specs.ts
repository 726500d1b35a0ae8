/**
 * The host-side declaration of every kernel: its parameter block and its bindings, in binding order.
 *
 * The WGSL files (kernels/*.wgsl) hold only the kernel body; the preamble that declares `p: Params` and
 * each binding is generated from these declarations (see pipeline_cache.ts), so the layout the host
 * packs and binds and the one the shader reads cannot drift apart.
 *
 * Binding 0 is always the uniform parameter block (dynamic offset into the parameter arena); the tensor
 * bindings follow in the order listed here, then, for weight-reading kernels, the weight's sections.
 *
 * @example
 * ```ts
 * KERNELS.rms_norm.params.wgsl; // "struct Params {\n  n: u32,\n  len: u32,\n  eps: f32,\n}\n"
 * ```
 */
import type { KernelName } from "../../../kernels/mod.ts";
import { type ParamFields, type ParamLayout, paramLayout } from "./param_layout.ts";

/** One storage binding of a kernel. */
export interface BindingSpec {
  readonly name: string;
  readonly access: "read" | "read_write";
  /** WGSL element type: f32, vec4<f32>, u32, or kv_t (the KV cache element: f32 or f16) */
  readonly element: string;
  /**
   * Read and written through generated `ld_<name>(i)` / `st_<name>(i, v)` functions, so that one buffer
   * passed as several of these bindings (an in-place op) is bound once, read-write.
   */
  readonly accessor?: boolean;
}

/** A kernel's host-side declaration. */
export interface KernelSpec<F extends ParamFields = ParamFields> {
  readonly name: KernelName;
  readonly params: ParamLayout<F>;
  readonly bindings: readonly BindingSpec[];
  /** reads a weight through load_group: the format's sections are appended to the bindings */
  readonly weight?: boolean;
  /**
   * Reads several weights, one per role (e.g. gate and up), each through `load_<role>` from sections
   * bound as `<role>_<section>`: the variant's `formats` in this order, their sections appended in turn.
   */
  readonly weightRoles?: readonly string[];
}

/** Threads per workgroup of the 1-D and per-row kernels. */
export const WORKGROUP_SIZE = 64;
/** Weight rows per matvec workgroup (they share each activation load). */
export const MATVEC_ROWS = 4;
/** Largest head dimension the attention kernel keeps in workgroup memory. */
export const MAX_HEAD_DIM = 256;
/** Tiled matmul tile: weight rows × tokens per workgroup (see kernels/matmul.wgsl). */
export const MATMUL_TILE_ROWS = 32;
export const MATMUL_TILE_TOKENS = 16;

const read = (name: string, element = "f32"): BindingSpec => ({ name, access: "read", element });
const write = (name: string, element = "f32"): BindingSpec => ({ name, access: "read_write", element });
const DATA = read("data", "u32");

function spec<const F extends ParamFields>(
  name: KernelName,
  fields: F,
  bindings: readonly BindingSpec[],
  weight = false,
): KernelSpec<F> {
  return { name, params: paramLayout(fields), bindings, weight };
}

const MATMUL_PARAMS = {
  rows: "u32",
  groups: "u32",
  cols4: "u32",
  row_base: "u32",
  out_stride: "u32",
  n: "u32",
} as const;

/** Every kernel, by name. */
export const KERNELS = {
  matvec: spec("matvec", MATMUL_PARAMS, [read("x", "vec4<f32>"), write("out")], true),
  matmul: spec("matmul", MATMUL_PARAMS, [read("x", "vec4<f32>"), write("out")], true),
  gate_up_silu: {
    ...spec("gate_up_silu", { ...MATMUL_PARAMS, gate_row0: "u32", up_row0: "u32" }, [
      read("x", "vec4<f32>"),
      write("out"),
    ]),
    weightRoles: ["gate", "up"],
  },
  embed: spec(
    "embed",
    { n: "u32", groups: "u32", cols4: "u32", row_base: "u32", rows: "u32", data_off: "u32" },
    [DATA, write("out", "vec4<f32>")],
    true,
  ),
  rms_norm: spec("rms_norm", { n: "u32", len: "u32", eps: "f32" }, [
    { ...read("x"), accessor: true },
    { ...write("out"), accessor: true },
    read("w"),
  ]),
  rope: spec(
    "rope",
    { n: "u32", n_heads: "u32", head_dim: "u32", half: "u32", neox: "u32", data_off: "u32" },
    [DATA, write("x")],
  ),
  kv_store: spec(
    "kv_store",
    { n: "u32", kv_dim: "u32", ctx: "u32", data_off: "u32" },
    [DATA, read("k"), read("v"), write("kc", "kv_t"), write("vc", "kv_t")],
  ),
  attention: spec(
    "attention",
    {
      n: "u32",
      n_heads: "u32",
      group: "u32",
      head_dim: "u32",
      kv_dim: "u32",
      ctx: "u32",
      scale: "f32",
      data_off: "u32",
    },
    [DATA, read("q"), write("out"), read("kc", "kv_t"), read("vc", "kv_t")],
  ),
  attention_split: spec(
    "attention_split",
    {
      n: "u32",
      n_heads: "u32",
      group: "u32",
      head_dim: "u32",
      kv_dim: "u32",
      ctx: "u32",
      scale: "f32",
      data_off: "u32",
      splits: "u32",
      span: "u32",
    },
    [DATA, read("q"), write("part"), read("kc", "kv_t"), read("vc", "kv_t")],
  ),
  attention_combine: spec(
    "attention_combine",
    { n: "u32", n_heads: "u32", head_dim: "u32", splits: "u32" },
    [read("part"), write("out")],
  ),
  softmax: spec("softmax", { n: "u32", len: "u32" }, [write("x")]),
  silu_mul: spec("silu_mul", { len: "u32" }, [
    { ...read("gate"), accessor: true },
    { ...read("up"), accessor: true },
    { ...write("out"), accessor: true },
  ]),
  add: spec("add", { len: "u32" }, [
    { ...read("a"), accessor: true },
    { ...read("b"), accessor: true },
    { ...write("out"), accessor: true },
  ]),
  add_bias: spec("add_bias", { total: "u32", len: "u32" }, [write("x"), read("bias")]),
  gather_rows: spec("gather_rows", { count: "u32", len: "u32", data_off: "u32" }, [
    DATA,
    read("x"),
    write("out"),
  ]),
  penalize: spec(
    "penalize",
    { len: "u32", hist_off: "u32", count: "u32", rep: "f32", freq: "f32", pres: "f32" },
    [write("x"), read("hist", "u32")],
  ),
  sample: spec(
    "sample",
    {
      len: "u32",
      temperature: "f32",
      seed: "u32",
      ids_off: "u32",
      top_k: "u32",
      top_p: "f32",
      min_p: "f32",
      write_probs: "u32",
    },
    [write("x"), write("ids", "u32")],
  ),
  copy: spec("copy", { len: "u32" }, [read("src", "vec4<f32>"), write("dst", "vec4<f32>")]),
} as const;
