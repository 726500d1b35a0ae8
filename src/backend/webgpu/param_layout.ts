/**
 * The per-op parameter block of a kernel, declared once: the same declaration yields the WGSL
 * `struct Params` the kernel reads through `p.<field>` and the code that packs the values into the
 * uniform arena.
 *
 * Every field is a 4-byte scalar (u32, i32 or f32), so the WGSL layout is the declaration order at
 * 4-byte steps and the struct size rounds up to 16 bytes (the uniform address space's struct alignment).
 *
 * @example
 * ```ts
 * const layout = paramLayout({ n: "u32", eps: "f32" });
 * layout.wgsl; // "struct Params {\n  n: u32,\n  eps: f32,\n}\n"
 * const words = new ArrayBuffer(layout.byteSize);
 * layout.pack(new DataView(words), 0, { n: 3, eps: 1e-5 });
 * ```
 */

/** WGSL scalar type of one parameter. */
export type ParamType = "u32" | "i32" | "f32";

/** A parameter block: field name → scalar type, in WGSL declaration order. */
export type ParamFields = Readonly<Record<string, ParamType>>;

/** Values of a parameter block, one number per field. */
export type ParamValues<F extends ParamFields> = { readonly [K in keyof F]: number };

/** Bytes of one scalar field. */
const FIELD_BYTES = 4;
/** Uniform-buffer structs are 16-byte aligned and sized. */
const STRUCT_ALIGN = 16;

/** A declared parameter block: its WGSL struct, its size and its packer. */
export interface ParamLayout<F extends ParamFields> {
  readonly fields: F;
  /** `struct Params { ... }` text for the kernel preamble */
  readonly wgsl: string;
  /** bytes the struct occupies in a uniform buffer (multiple of 16) */
  readonly byteSize: number;
  /** Writes `values` at byte `offset` of `view`, in declaration order, little-endian. */
  pack(view: DataView, offset: number, values: ParamValues<F>): void;
}

/** Declares a parameter block. Field order is the WGSL member order. */
export function paramLayout<const F extends ParamFields>(fields: F): ParamLayout<F> {
  const entries = Object.entries(fields) as [keyof F & string, ParamType][];
  if (entries.length === 0) throw new RangeError("a parameter block needs at least one field");
  const wgsl = `struct Params {\n${entries.map(([name, type]) => `  ${name}: ${type},\n`).join("")}}\n`;
  const byteSize = Math.ceil((entries.length * FIELD_BYTES) / STRUCT_ALIGN) * STRUCT_ALIGN;
  return {
    fields,
    wgsl,
    byteSize,
    pack(view, offset, values) {
      for (let i = 0; i < entries.length; i++) {
        const [name, type] = entries[i];
        const value = values[name];
        const at = offset + i * FIELD_BYTES;
        if (type === "f32") view.setFloat32(at, value, true);
        else if (type === "i32") view.setInt32(at, value, true);
        else view.setUint32(at, value, true);
      }
    },
  };
}
