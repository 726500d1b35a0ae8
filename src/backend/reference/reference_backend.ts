/**
 * The reference backend: every op in plain TypeScript, written to be read, not to be fast.
 *
 * It is the specification the wasm and WebGPU backends are checked against (test/backend/conformance.ts).
 * Weights are dequantised to f32 once at upload; sums accumulate in f64 (JS numbers) and are stored as
 * f32, so its results are as close to exact as f32 storage allows.
 */
import { copyOut, settle } from "../read_into.ts";
import type {
  AttentionShape,
  Backend,
  KvCache,
  KvCacheSpec,
  RopeParams,
  Tensor,
  TokenPlacement,
  Weight,
  WeightSpec,
} from "../backend.ts";
import { dequantize } from "../../quant/mod.ts";
import { elementCount } from "../weight_shape.ts";

class RefTensor implements Tensor {
  constructor(readonly data: Float32Array) {}
  get length(): number {
    return this.data.length;
  }
}

class RefWeight implements Weight {
  constructor(
    readonly name: string,
    readonly type: WeightSpec["type"],
    readonly rows: number,
    readonly cols: number,
    /** [rows, cols] f32 */
    readonly values: Float32Array,
  ) {}
}

class RefKvCache implements KvCache {
  /** [slots, layers, ctx, kvDim] f32 each */
  readonly k: Float32Array;
  readonly v: Float32Array;
  constructor(readonly spec: KvCacheSpec) {
    const size = spec.slots * spec.layers * spec.ctx * spec.kvDim;
    this.k = new Float32Array(size);
    this.v = new Float32Array(size);
  }
  /** element offset of (slot, layer, pos, 0) */
  offset(slot: number, layer: number, pos: number): number {
    const { layers, ctx, kvDim } = this.spec;
    return ((slot * layers + layer) * ctx + pos) * kvDim;
  }
}

const data = (t: Tensor): Float32Array => (t as RefTensor).data;
const values = (w: Weight): Float32Array => (w as RefWeight).values;

/** Creates the plain-TypeScript reference backend. */
export function createReferenceBackend(): Backend {
  return new ReferenceBackend();
}

class ReferenceBackend implements Backend {
  readonly name = "reference" as const;
  readonly description = "plain TypeScript, f32";

  uploadWeight(spec: WeightSpec, bytes: Uint8Array): Weight {
    const count = elementCount(spec.dims);
    const cols = spec.dims[0];
    const rows = count / cols;
    return new RefWeight(spec.name, spec.type, rows, cols, dequantize(spec.type, bytes, count));
  }

  alloc(length: number): Tensor {
    return new RefTensor(new Float32Array(length));
  }

  write(t: Tensor, source: Float32Array, offset = 0): void {
    data(t).set(source, offset);
  }

  read(t: Tensor, length = t.length, into?: Float32Array): Promise<Float32Array> {
    return settle(() => copyOut(data(t).subarray(0, length), into));
  }

  createKvCache(spec: KvCacheSpec): KvCache {
    return new RefKvCache(spec);
  }

  embed(out: Tensor, table: Weight, tokens: Int32Array): void {
    const o = data(out);
    const w = values(table);
    const dim = table.cols;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      if (token < 0 || token >= table.rows) {
        throw new RangeError(`token id ${token} outside vocabulary of ${table.rows}`);
      }
      o.set(w.subarray(token * dim, (token + 1) * dim), i * dim);
    }
  }

  matmul(out: Tensor, w: Weight, x: Tensor, n: number): void {
    const o = data(out);
    const xs = data(x);
    const ws = values(w);
    const { rows, cols } = w;
    for (let i = 0; i < n; i++) {
      const xOff = i * cols;
      for (let r = 0; r < rows; r++) {
        const wOff = r * cols;
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += xs[xOff + c] * ws[wOff + c];
        o[i * rows + r] = sum;
      }
    }
  }

  addBias(x: Tensor, bias: Weight, n: number): void {
    const xs = data(x);
    const b = values(bias);
    const len = b.length;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < len; j++) xs[i * len + j] += b[j];
    }
  }

  rmsNorm(out: Tensor, x: Tensor, weight: Weight, n: number, eps: number): void {
    const o = data(out);
    const xs = data(x);
    const w = values(weight);
    const len = w.length;
    for (let i = 0; i < n; i++) {
      const off = i * len;
      let sumSquares = 0;
      for (let j = 0; j < len; j++) sumSquares += xs[off + j] * xs[off + j];
      const scale = 1 / Math.sqrt(sumSquares / len + eps);
      for (let j = 0; j < len; j++) o[off + j] = xs[off + j] * scale * w[j];
    }
  }

  rope(x: Tensor, n: number, nHeads: number, pos: Int32Array, p: RopeParams): void {
    const xs = data(x);
    const half = p.ropeDim / 2;
    for (let i = 0; i < n; i++) {
      for (let h = 0; h < nHeads; h++) {
        const base = (i * nHeads + h) * p.headDim;
        for (let pair = 0; pair < half; pair++) {
          const factor = p.freqFactors ? p.freqFactors[pair] : 1;
          const theta = pos[i] * Math.pow(p.freqBase, (-2 * pair) / p.ropeDim) / factor;
          const cos = Math.cos(theta);
          const sin = Math.sin(theta);
          // normal style rotates neighbours (2i, 2i+1); NeoX rotates (i, i + ropeDim/2)
          const a = base + (p.neox ? pair : 2 * pair);
          const b = a + (p.neox ? half : 1);
          const x0 = xs[a];
          const x1 = xs[b];
          xs[a] = x0 * cos - x1 * sin;
          xs[b] = x0 * sin + x1 * cos;
        }
      }
    }
  }

  kvStore(cache: KvCache, layer: number, k: Tensor, v: Tensor, n: number, at: TokenPlacement): void {
    const c = cache as RefKvCache;
    const kvDim = c.spec.kvDim;
    const ks = data(k);
    const vs = data(v);
    for (let i = 0; i < n; i++) {
      checkPlacement(c.spec, layer, at.slot[i], at.pos[i]);
      const off = c.offset(at.slot[i], layer, at.pos[i]);
      c.k.set(ks.subarray(i * kvDim, (i + 1) * kvDim), off);
      c.v.set(vs.subarray(i * kvDim, (i + 1) * kvDim), off);
    }
  }

  attention(
    out: Tensor,
    q: Tensor,
    cache: KvCache,
    layer: number,
    n: number,
    at: TokenPlacement,
    shape: AttentionShape,
  ): void {
    const c = cache as RefKvCache;
    const { nHeads, nKvHeads, headDim, scale } = shape;
    const group = nHeads / nKvHeads;
    const qs = data(q);
    const o = data(out);
    for (let i = 0; i < n; i++) {
      const slot = at.slot[i];
      const last = at.pos[i];
      checkPlacement(c.spec, layer, slot, last);
      const scores = new Float64Array(last + 1);
      for (let h = 0; h < nHeads; h++) {
        const qOff = (i * nHeads + h) * headDim;
        const kvHead = Math.floor(h / group);
        let max = -Infinity;
        for (let t = 0; t <= last; t++) {
          const kOff = c.offset(slot, layer, t) + kvHead * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += qs[qOff + d] * c.k[kOff + d];
          scores[t] = dot * scale;
          if (scores[t] > max) max = scores[t];
        }
        let total = 0;
        for (let t = 0; t <= last; t++) {
          scores[t] = Math.exp(scores[t] - max);
          total += scores[t];
        }
        for (let d = 0; d < headDim; d++) {
          let acc = 0;
          for (let t = 0; t <= last; t++) {
            acc += scores[t] * c.v[c.offset(slot, layer, t) + kvHead * headDim + d];
          }
          o[qOff + d] = acc / total;
        }
      }
    }
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void {
    const o = data(out);
    const g = data(gate);
    const u = data(up);
    for (let j = 0; j < length; j++) o[j] = (g[j] / (1 + Math.exp(-g[j]))) * u[j];
  }

  add(out: Tensor, a: Tensor, b: Tensor, length: number): void {
    const o = data(out);
    const as = data(a);
    const bs = data(b);
    for (let j = 0; j < length; j++) o[j] = as[j] + bs[j];
  }

  softmax(x: Tensor, n: number, rowLength: number): void {
    const xs = data(x);
    for (let i = 0; i < n; i++) {
      const row = xs.subarray(i * rowLength, (i + 1) * rowLength);
      let max = -Infinity;
      for (const value of row) if (value > max) max = value;
      let total = 0;
      for (let j = 0; j < rowLength; j++) total += Math.exp(row[j] - max);
      for (let j = 0; j < rowLength; j++) row[j] = Math.exp(row[j] - max) / total;
    }
  }

  gatherRows(out: Tensor, x: Tensor, rows: Int32Array, rowLength: number): void {
    const o = data(out);
    const xs = data(x);
    for (let j = 0; j < rows.length; j++) {
      o.set(xs.subarray(rows[j] * rowLength, (rows[j] + 1) * rowLength), j * rowLength);
    }
  }

  dispose(): void {}
}

function checkPlacement(spec: KvCacheSpec, layer: number, slot: number, pos: number): void {
  if (layer < 0 || layer >= spec.layers) {
    throw new RangeError(`layer ${layer} outside KV cache of ${spec.layers}`);
  }
  if (slot < 0 || slot >= spec.slots) throw new RangeError(`slot ${slot} outside KV cache of ${spec.slots}`);
  if (pos < 0 || pos >= spec.ctx) throw new RangeError(`position ${pos} outside context of ${spec.ctx}`);
}
