/**
 * The GGUF header parser's cursor: sequential little-endian reads over a prefix of a file, decoding
 * metadata values (arrays included) with every count and length checked against the limits and against
 * the bytes left in the file. When the prefix runs out before the file does, it throws `NeedMoreBytes`
 * so the caller can read a longer prefix and start again — which keeps the parser itself pure.
 *
 * @example
 * ```ts
 * const c = new Cursor(prefix, fileSize, "model.gguf", MAX_HEADER_BYTES);
 * const magic = c.u32("magic");
 * ```
 */
import { GgufError } from "./errors.ts";
import { MAX_ARRAY_DEPTH, MAX_ARRAY_LENGTH, MAX_STRING_BYTES } from "./limits.ts";
import { type GgufNestedArrayType, type GgufValue, GgufValueType } from "./types.ts";

/** Smallest on-disk size of one value of each type, in bytes, used to bound counts by the bytes left. */
export const MIN_VALUE_BYTES: Record<GgufValueType, number> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.STRING]: 8, // the u64 length
  [GgufValueType.ARRAY]: 12, // u32 type + u64 count
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};
/** Thrown by `Cursor` when its prefix is too short; the reader catches it and reads more. */
export class NeedMoreBytes {
  constructor(readonly total: number) {}
}

// ignoreBOM: a string that starts with U+FEFF (a real vocabulary token) must keep it
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Sequential little-endian reader over a prefix of a file of `fileSize` bytes. */
export class Cursor {
  pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    readonly fileSize: number,
    readonly name: string,
    readonly maxHeaderBytes: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get left(): number {
    return this.fileSize - this.pos;
  }

  /** Makes sure `n` bytes at the cursor are available, or says why not. */
  need(n: number, what: string): void {
    const end = this.pos + n;
    if (end > this.fileSize) {
      throw new GgufError(
        "truncated",
        `${this.name}: ${what} at byte ${this.pos} needs ${n} bytes but the file ends at byte ${this.fileSize}`,
        { offset: this.pos },
      );
    }
    if (end > this.maxHeaderBytes) {
      throw new GgufError(
        "header_too_large",
        `${this.name}: the header reaches past ${this.maxHeaderBytes} bytes (${what} at byte ${this.pos})`,
        { offset: this.pos },
      );
    }
    if (end > this.bytes.length) throw new NeedMoreBytes(end);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++];
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A u64 count of items each at least `minBytes` long, checked against `max` and the bytes left. */
  count(what: string, minBytes: number, max: number): number {
    const at = this.pos;
    const raw = this.u64(what);
    const bound = Math.min(max, Math.floor(this.left / minBytes));
    if (raw > BigInt(bound)) {
      const reason = raw > BigInt(max)
        ? `the limit is ${max}`
        : `only ${this.left} bytes are left in the file`;
      throw new GgufError("absurd_count", `${this.name}: ${what} at byte ${at} is ${raw}; ${reason}`, {
        offset: at,
      });
    }
    return Number(raw);
  }

  string(what: string, maxBytes: number): string {
    const at = this.pos;
    const raw = this.u64(`length of ${what}`);
    if (raw > BigInt(maxBytes)) {
      throw new GgufError(
        "absurd_string",
        `${this.name}: ${what} at byte ${at} claims ${raw} bytes; the limit is ${maxBytes}`,
        { offset: at },
      );
    }
    const n = Number(raw);
    this.need(n, what);
    const s = decodeUtf8(this.bytes, this.pos, n);
    this.pos += n;
    return s;
  }

  value(type: number, what: string, depth: number): { value: GgufValue; inner?: GgufNestedArrayType[] } {
    const at = this.pos;
    const view = this.view;
    switch (type) {
      case GgufValueType.UINT8:
        return { value: this.u8(what) };
      case GgufValueType.INT8:
        this.need(1, what);
        return { value: view.getInt8(this.pos++) };
      case GgufValueType.UINT16:
        this.need(2, what);
        this.pos += 2;
        return { value: view.getUint16(at, true) };
      case GgufValueType.INT16:
        this.need(2, what);
        this.pos += 2;
        return { value: view.getInt16(at, true) };
      case GgufValueType.UINT32:
        return { value: this.u32(what) };
      case GgufValueType.INT32:
        this.need(4, what);
        this.pos += 4;
        return { value: view.getInt32(at, true) };
      case GgufValueType.FLOAT32:
        this.need(4, what);
        this.pos += 4;
        return { value: view.getFloat32(at, true) };
      case GgufValueType.UINT64:
        return { value: this.u64(what) };
      case GgufValueType.INT64:
        this.need(8, what);
        this.pos += 8;
        return { value: view.getBigInt64(at, true) };
      case GgufValueType.FLOAT64:
        this.need(8, what);
        this.pos += 8;
        return { value: view.getFloat64(at, true) };
      case GgufValueType.BOOL: {
        const b = this.u8(what);
        if (b > 1) {
          throw new GgufError(
            "bad_value",
            `${this.name}: ${what} at byte ${at} is a bool of byte ${b}, not 0 or 1`,
            {
              offset: at,
            },
          );
        }
        return { value: b === 1 };
      }
      case GgufValueType.STRING:
        return { value: this.string(what, MAX_STRING_BYTES) };
      case GgufValueType.ARRAY:
        return this.array(what, depth + 1);
      default:
        throw new GgufError("bad_value_type", `${this.name}: ${what} at byte ${at} has value type ${type}`, {
          offset: at,
        });
    }
  }

  /** An array body: u32 element type, u64 count, elements. */
  array(
    what: string,
    depth: number,
  ): { value: GgufValue[]; inner?: GgufNestedArrayType[]; arrayType?: number } {
    if (depth > MAX_ARRAY_DEPTH) {
      throw new GgufError("bad_value", `${this.name}: ${what} nests arrays deeper than ${MAX_ARRAY_DEPTH}`, {
        offset: this.pos,
      });
    }
    const typeAt = this.pos;
    const elemType = this.u32(`element type of ${what}`);
    if (!(elemType in MIN_VALUE_BYTES)) {
      throw new GgufError(
        "bad_value_type",
        `${this.name}: ${what} at byte ${typeAt} has element type ${elemType}`,
        {
          offset: typeAt,
        },
      );
    }
    const n = this.count(`length of ${what}`, MIN_VALUE_BYTES[elemType as GgufValueType], MAX_ARRAY_LENGTH);
    const values: GgufValue[] = new Array(n);
    if (elemType === GgufValueType.ARRAY) {
      const inner: GgufNestedArrayType[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const a = this.array(`${what}[${i}]`, depth + 1);
        values[i] = a.value;
        inner[i] = a.inner ? { arrayType: a.arrayType!, inner: a.inner } : { arrayType: a.arrayType! };
      }
      return { value: values, inner, arrayType: elemType };
    }
    for (let i = 0; i < n; i++) values[i] = this.value(elemType, what, depth).value;
    return { value: values, arrayType: elemType };
  }
}

/** UTF-8 decode with an ASCII fast path: vocabularies are hundreds of thousands of short ASCII strings. */
function decodeUtf8(bytes: Uint8Array, start: number, length: number): string {
  if (length <= 32) {
    let ascii = true;
    for (let i = start; i < start + length; i++) {
      if (bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return String.fromCharCode.apply(null, bytes.subarray(start, start + length) as unknown as number[]);
    }
  }
  return utf8.decode(bytes.subarray(start, start + length));
}
