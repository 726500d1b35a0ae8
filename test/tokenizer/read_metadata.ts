/**
 * Test helper: reads the metadata map of a GGUF file for the tokenizer tests.
 *
 * This is a deliberately tiny, metadata-only parser private to the tests (the project's real reader
 * lives in src/gguf/); it stops after the key/value section and never touches the tensor table.
 */
import { type GgufKv, type GgufValue, GgufValueType } from "../../src/gguf/types.ts";

const MAGIC_GGUF = 0x46554747; // "GGUF" little-endian
const SCALAR_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Reads `path` and returns its metadata key/values. */
export async function readMetadata(path: string): Promise<ReadonlyMap<string, GgufKv>> {
  const bytes = await Deno.readFile(path);
  return parseMetadata(bytes);
}

/** Parses the metadata section of a GGUF v2/v3 file held in memory. */
export function parseMetadata(bytes: Uint8Array): ReadonlyMap<string, GgufKv> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder();
  let pos = 0;
  const u32 = () => {
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    const v = Number(view.getBigUint64(pos, true));
    pos += 8;
    return v;
  };
  const str = () => {
    const n = u64();
    const s = utf8.decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const scalar = (t: GgufValueType): GgufValue => {
    const at = pos;
    pos += SCALAR_BYTES[t] ?? 0;
    switch (t) {
      case GgufValueType.UINT8:
        return view.getUint8(at);
      case GgufValueType.INT8:
        return view.getInt8(at);
      case GgufValueType.UINT16:
        return view.getUint16(at, true);
      case GgufValueType.INT16:
        return view.getInt16(at, true);
      case GgufValueType.UINT32:
        return view.getUint32(at, true);
      case GgufValueType.INT32:
        return view.getInt32(at, true);
      case GgufValueType.FLOAT32:
        return view.getFloat32(at, true);
      case GgufValueType.BOOL:
        return view.getUint8(at) !== 0;
      case GgufValueType.UINT64:
        return view.getBigUint64(at, true);
      case GgufValueType.INT64:
        return view.getBigInt64(at, true);
      case GgufValueType.FLOAT64:
        return view.getFloat64(at, true);
      case GgufValueType.STRING:
        return str();
      default:
        throw new Error(`unsupported GGUF value type ${t} at byte ${at}`);
    }
  };
  const value = (t: GgufValueType): { value: GgufValue; arrayType?: GgufValueType } => {
    if (t !== GgufValueType.ARRAY) return { value: scalar(t) };
    const inner = u32() as GgufValueType;
    const n = u64();
    const out: GgufValue[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = value(inner).value;
    return { value: out, arrayType: inner };
  };

  if (u32() !== MAGIC_GGUF) throw new Error("not a GGUF file");
  const version = u32();
  if (version < 2) throw new Error(`unsupported GGUF version ${version}`);
  u64(); // tensor count
  const nKv = u64();
  const meta = new Map<string, GgufKv>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = u32() as GgufValueType;
    const { value: v, arrayType } = value(type);
    meta.set(key, arrayType === undefined ? { type, value: v } : { type, arrayType, value: v });
  }
  return meta;
}
