/**
 * Loading a model's weights (or one pipeline stage's share of them) from a GGUF file into a backend.
 *
 * Only the tensors of the requested layer range are read (by byte range), plus the embedding for the
 * first stage and the output norm and head for the last, so a node holding layers 10–19 reads only those.
 */
import type { Backend, Weight } from "../backend/backend.ts";
import type { GgufFile } from "../gguf/mod.ts";
import type { GgufTensorInfo } from "../gguf/types.ts";
import { dequantize } from "../quant/mod.ts";
import { type ModelConfig, ModelConfigError } from "./model_config.ts";

/** A contiguous range of layers [start, end), and whether this share holds the embedding and the head. */
export interface LayerRange {
  readonly start: number;
  /** exclusive */
  readonly end: number;
  /** holds token_embd (the first stage) */
  readonly embedding: boolean;
  /** holds output_norm and the output head (the last stage) */
  readonly head: boolean;
}

/** The whole model on one node. */
export function fullRange(cfg: ModelConfig): LayerRange {
  return { start: 0, end: cfg.layers, embedding: true, head: true };
}

/** Weights of one transformer block. Matrices are [rows = out features, cols = in features]. */
export interface LayerWeights {
  readonly attnNorm: Weight; // [dim]
  readonly wq: Weight; // [heads·headDim, dim]
  readonly wk: Weight; // [kvDim, dim]
  readonly wv: Weight; // [kvDim, dim]
  readonly bq?: Weight; // [heads·headDim] (qwen2)
  readonly bk?: Weight; // [kvDim]
  readonly bv?: Weight; // [kvDim]
  readonly wo: Weight; // [dim, heads·headDim]
  readonly ffnNorm: Weight; // [dim]
  readonly wGate: Weight; // [ffn, dim]
  readonly wUp: Weight; // [ffn, dim]
  readonly wDown: Weight; // [dim, ffn]
}

/** The weights a node holds: a layer range plus, where the range says so, embedding and head. */
export interface ModelWeights {
  readonly range: LayerRange;
  /** [vocab, dim]; present when range.embedding, or when the head is tied to it */
  readonly tokenEmbedding?: Weight;
  readonly outputNorm?: Weight; // [dim]
  /** [vocab, dim]; the embedding itself when tied */
  readonly output?: Weight;
  /** layers[i] holds layer range.start + i */
  readonly layers: readonly LayerWeights[];
  /** Llama-3 rope frequency divisors, [ropeDim/2] */
  readonly ropeFreqFactors?: Float32Array;
  /** bytes of GGUF tensor data read for this share */
  readonly bytes: number;
}

/** Bytes read per piece when a backend takes weights in pieces ({@link Backend.beginWeight}): big
 * enough that the reads cost nothing next to the disk, small next to any model. */
const LOAD_PIECE_BYTES = 4 * 1024 * 1024;

/** One read buffer reused for every piece (grown to the largest piece). */
class PieceBuffer {
  #bytes = new Uint8Array(0);
  get(length: number): Uint8Array {
    if (length > this.#bytes.length) this.#bytes = new Uint8Array(length);
    return this.#bytes.subarray(0, length);
  }
}

/** Progress callback: bytes loaded so far of the total this share needs. */
export type LoadProgress = (loadedBytes: number, totalBytes: number) => void;

/** Reads the tensors of `range` from `file` and uploads them to `backend`. */
export async function loadModelWeights(
  file: GgufFile,
  backend: Backend,
  cfg: ModelConfig,
  range: LayerRange,
  onProgress?: LoadProgress,
): Promise<ModelWeights> {
  if (range.start < 0 || range.end > cfg.layers || range.start > range.end) {
    throw new ModelConfigError(
      `layer range ${range.start}..${range.end} outside the model's ${cfg.layers} layers`,
    );
  }
  const byName = new Map(file.header.tensors.map((t) => [t.name, t]));
  const wanted: GgufTensorInfo[] = [];
  const want = (name: string, optional = false): GgufTensorInfo | undefined => {
    const info = byName.get(name);
    if (!info && !optional) throw new ModelConfigError(`model is missing tensor ${name}`);
    if (info) wanted.push(info);
    return info;
  };
  const needEmbedding = range.embedding || (range.head && cfg.tiedEmbeddings);
  if (needEmbedding) want("token_embd.weight");
  if (range.head) {
    want("output_norm.weight");
    if (!cfg.tiedEmbeddings) want("output.weight");
  }
  const ropeFreqs = want("rope_freqs.weight", true);
  const layerNames = (l: number) => ({
    attnNorm: `blk.${l}.attn_norm.weight`,
    wq: `blk.${l}.attn_q.weight`,
    wk: `blk.${l}.attn_k.weight`,
    wv: `blk.${l}.attn_v.weight`,
    wo: `blk.${l}.attn_output.weight`,
    ffnNorm: `blk.${l}.ffn_norm.weight`,
    wGate: `blk.${l}.ffn_gate.weight`,
    wUp: `blk.${l}.ffn_up.weight`,
    wDown: `blk.${l}.ffn_down.weight`,
  });
  for (let l = range.start; l < range.end; l++) {
    for (const name of Object.values(layerNames(l))) want(name);
    if (cfg.qkvBias) { for (const p of ["q", "k", "v"]) want(`blk.${l}.attn_${p}.bias`); }
  }

  const total = wanted.reduce((sum, t) => sum + t.byteSize, 0);
  let loaded = 0;
  const uploaded = new Map<string, Weight>();
  let ropeFreqFactors: Float32Array | undefined;
  const staging = new PieceBuffer();
  for (const info of wanted) {
    const spec = { name: info.name, type: info.type, dims: info.dims };
    if (info === ropeFreqs) {
      const bytes = await file.readTensorBytes(info);
      ropeFreqFactors = dequantize(info.type, bytes, info.dims.reduce((a, b) => a * b, 1));
    } else if (backend.beginWeight) {
      // whole rows at a time through one reused buffer: no tensor-sized garbage in JS memory
      const writer = backend.beginWeight(spec);
      const rows = info.dims.length < 2
        ? 1
        : info.byteSize === 0
        ? 0
        : info.dims.slice(1).reduce((a, b) => a * b, 1);
      const rowBytes = rows === 0 ? 0 : info.byteSize / rows;
      const rowsPerPiece = rowBytes === 0 ? 1 : Math.max(1, Math.floor(LOAD_PIECE_BYTES / rowBytes));
      for (let r = 0; r < rows; r += rowsPerPiece) {
        const piece = staging.get(Math.min(rowsPerPiece, rows - r) * rowBytes);
        await file.readTensorPiece(info, r * rowBytes, piece);
        writer.write(piece);
        onProgress?.(loaded + (r * rowBytes + piece.length), total);
      }
      uploaded.set(info.name, writer.finish());
    } else {
      uploaded.set(info.name, backend.uploadWeight(spec, await file.readTensorBytes(info)));
    }
    loaded += info.byteSize;
    onProgress?.(loaded, total);
  }
  const get = (name: string): Weight => uploaded.get(name)!;
  const layers: LayerWeights[] = [];
  for (let l = range.start; l < range.end; l++) {
    const names = layerNames(l);
    layers.push({
      attnNorm: get(names.attnNorm),
      wq: get(names.wq),
      wk: get(names.wk),
      wv: get(names.wv),
      wo: get(names.wo),
      ffnNorm: get(names.ffnNorm),
      wGate: get(names.wGate),
      wUp: get(names.wUp),
      wDown: get(names.wDown),
      ...(cfg.qkvBias
        ? {
          bq: get(`blk.${l}.attn_q.bias`),
          bk: get(`blk.${l}.attn_k.bias`),
          bv: get(`blk.${l}.attn_v.bias`),
        }
        : {}),
    });
  }
  const tokenEmbedding = uploaded.get("token_embd.weight");
  return {
    range,
    tokenEmbedding,
    outputNorm: uploaded.get("output_norm.weight"),
    output: range.head ? (cfg.tiedEmbeddings ? tokenEmbedding : uploaded.get("output.weight")) : undefined,
    layers,
    ropeFreqFactors,
    bytes: total,
  };
}
