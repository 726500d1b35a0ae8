/**
 * What a node tells the ring about itself, in two sizes:
 *
 * - {@link NodeCapabilities}: static, in the member metadata (≤ 512 bytes), re-gossiped only when
 *   it changes (a new incarnation). The planner's inputs: backend, memory, throughput score,
 *   models and layer ranges held, and where to reach the node's API and pipeline.
 * - {@link LiveLoad}: changes every second, so it never rides in the metadata; it travels in the
 *   payload of every ack we send (≤ 256 bytes), and whoever probes us gets a fresh copy.
 *
 * Both are msgpack arrays led by a format version; fields are append-only, like the wire format.
 *
 * @example
 * ```ts
 * const meta = encodeCapabilities({ ...caps, models: ["stories260K"] });
 * const node = new GossipNode({ config, transport, meta, ackPayload: () => encodeLoad(load()) });
 * decodeLoad(node.members()[0].ackPayload!).queueDepth;
 * ```
 *
 * @module
 */

import { Decoder, Encoder } from "@msgpack/msgpack";
import { WireDecodeError, WireEncodeError } from "./errors.ts";
import { ACK_PAYLOAD_MAX_BYTES, META_MAX_BYTES } from "./messages.ts";

/** Format version written first in both records. */
export const NODE_META_VERSION = 1;

/** Compute backends, by wire code (append-only). */
export const BACKEND_CODES = ["reference", "wasm", "webgpu"] as const;
/** A backend this build knows; a newer peer's unknown code decodes as "unknown". */
export type BackendKind = (typeof BACKEND_CODES)[number];

/** Layers [first, last] (inclusive) of one model that a node holds. */
export interface LayerRange {
  model: string;
  first: number;
  last: number;
}

/** Static capabilities, advertised in the member metadata. */
export interface NodeCapabilities {
  /** Stable node id (survives renames). */
  id: string;
  name: string;
  /** edgering version. */
  version: string;
  /** "host:port" of the OpenAI-compatible API. */
  apiAddr: string;
  /** "host:port" of the layer-pipeline endpoint. */
  pipelineAddr: string;
  backend: BackendKind | "unknown";
  /** GPU adapter or CPU description. */
  device: string;
  /** Memory available for weights (bytes). */
  memoryBudgetBytes: number;
  /** Throughput score from the startup micro-benchmark (higher is faster). */
  score: number;
  /** Models it can serve. */
  models: string[];
  layers: LayerRange[];
  /** The layer plan this node follows (appended to version 1; absent from older senders and from a
   * node without a plan). */
  plan?: PlanAdvert;
  /** Round trips this node measured to its peers (appended to version 1; absent when none). */
  rtts?: PeerRtt[];
}

/**
 * The layout of a plan in a few bytes: every stage as the hash of its node's name and the end of its
 * layer range, replicas one after the other (a replica ends where the next stage's end is not above
 * the previous one: within a replica ends strictly increase). `epoch` is the plan's epoch, a hash of
 * the layout, so a reader that resolved the names can check it got the same layout.
 */
export interface PlanAdvert {
  /** plan epoch, 1..2^32−1 */
  epoch: number;
  /** stages in replica order; empty when the layout did not fit the metadata (the epoch still does) */
  stages: Array<{ node: number; end: number }>;
}

/** One measured round trip: the peer's {@link nameHash} and the RTT in 0.1 ms steps. */
export interface PeerRtt {
  node: number;
  /** round trip, units of 0.1 ms (0..{@link RTT_TENTHS_MAX}) */
  tenthsMs: number;
}

/** Largest advertised RTT, 0.1 ms steps (6.5535 s): a u16, and far beyond any usable hop. */
export const RTT_TENTHS_MAX = 0xffff;
/** Most stages and RTTs in the metadata: each is two entries of a msgpack array the decoder caps at 64. */
export const META_LIST_MAX_ENTRIES = 32;

/**
 * 32-bit FNV-1a of a member name: how plan layouts and RTTs name nodes in the 512-byte metadata
 * (a 128-byte name would not fit twice). A reader maps hashes back through the names it knows and
 * ignores a hash two of them share.
 */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** Live load, carried in ack payloads. */
export interface LiveLoad {
  /** Requests waiting for admission. */
  queueDepth: number;
  /** Sequences being decoded. */
  activeSequences: number;
  /** Recent generation throughput (tokens/s). */
  tokensPerSecond: number;
  /** Busy fraction of the backend over the last window, 0..1. */
  utilisation: number;
  /** Lifeguard local-health score of the sender (0 = healthy; higher = it finds itself slow).
   * Appended after version 1's first four fields; absent from senders that predate it. */
  healthScore?: number;
}

const encoder = new Encoder();
const decoder = new Decoder({
  maxStrLength: 256,
  maxBinLength: 0,
  maxArrayLength: 64,
  maxMapLength: 0,
  maxExtLength: 0,
});

/**
 * Encodes capabilities. The optional plan and RTTs are cut to fit 512 bytes — RTTs from the end
 * first, then the plan's layout (its epoch stays) — since a peer can do without them; throws
 * {@link WireEncodeError} when the rest alone is over the limit.
 */
export function encodeCapabilities(c: NodeCapabilities): Uint8Array {
  const stages = (c.plan?.stages ?? []).slice(0, META_LIST_MAX_ENTRIES);
  const rtts = (c.rtts ?? []).slice(0, META_LIST_MAX_ENTRIES);
  let bytes = encodeFields(c, stages, rtts);
  while (bytes.length > META_MAX_BYTES && rtts.length > 0) {
    // drop as many RTTs as the excess needs (≤ 8 bytes each), at least one
    rtts.length = Math.max(0, rtts.length - Math.max(1, Math.floor((bytes.length - META_MAX_BYTES) / 8)));
    bytes = encodeFields(c, stages, rtts);
  }
  if (bytes.length > META_MAX_BYTES && stages.length > 0) bytes = encodeFields(c, [], []);
  if (bytes.length > META_MAX_BYTES) {
    throw new WireEncodeError(
      `node capabilities are ${bytes.length} bytes, limit ${META_MAX_BYTES}: shorten models or device`,
    );
  }
  return bytes;
}

function encodeFields(
  c: NodeCapabilities,
  stages: NonNullable<PlanAdvert["stages"]>,
  rtts: PeerRtt[],
): Uint8Array {
  const backend = BACKEND_CODES.indexOf(c.backend as BackendKind);
  const fields: unknown[] = [
    NODE_META_VERSION,
    c.id,
    c.name,
    c.version,
    c.apiAddr,
    c.pipelineAddr,
    backend < 0 ? 255 : backend,
    c.device,
    c.memoryBudgetBytes,
    c.score,
    c.models,
    c.layers.map((l) => [l.model, l.first, l.last]),
  ];
  if (c.plan || rtts.length > 0) {
    // appended fields 12..14: plan epoch (0 = none), its layout [hash, end, …], RTTs [hash, 0.1 ms, …]
    fields.push(
      c.plan?.epoch ?? 0,
      stages.flatMap((s) => [s.node, s.end]),
      rtts.flatMap((r) => [r.node, Math.min(RTT_TENTHS_MAX, Math.max(0, Math.round(r.tenthsMs)))]),
    );
  }
  return encoder.encode(fields);
}

/** Decodes capabilities; throws {@link WireDecodeError} naming the bad field. */
export function decodeCapabilities(bytes: Uint8Array): NodeCapabilities {
  const a = decodeArray(bytes, "node capabilities", 12);
  const code = num(a, 6, "backend");
  const caps: NodeCapabilities = {
    id: str(a, 1, "id"),
    name: str(a, 2, "name"),
    version: str(a, 3, "version"),
    apiAddr: str(a, 4, "apiAddr"),
    pipelineAddr: str(a, 5, "pipelineAddr"),
    backend: BACKEND_CODES[code] ?? "unknown",
    device: str(a, 7, "device"),
    memoryBudgetBytes: num(a, 8, "memoryBudgetBytes"),
    score: num(a, 9, "score"),
    models: list(a, 10, "models").map((m, i) => str([m], 0, `models[${i}]`)),
    layers: list(a, 11, "layers").map((l, i) => {
      const r = list([l], 0, `layers[${i}]`);
      return {
        model: str(r, 0, "layer model"),
        first: num(r, 1, "layer first"),
        last: num(r, 2, "layer last"),
      };
    }),
  };
  if (a.length > 12) {
    const epoch = num(a, 12, "plan epoch");
    const stages = pairs(a, 13, "plan stages").map(([node, end]) => ({ node, end }));
    if (epoch > 0) caps.plan = { epoch, stages };
  }
  if (a.length > 14) {
    const rtts = pairs(a, 14, "rtts").map(([node, tenthsMs]) => ({ node, tenthsMs }));
    if (rtts.length > 0) caps.rtts = rtts;
  }
  return caps;
}

/** A flat list of numbers read as pairs. */
function pairs(a: unknown[], i: number, field: string): Array<[number, number]> {
  const flat = list(a, i, field);
  if (flat.length % 2 !== 0) throw new WireDecodeError(`${field} should hold pairs`);
  const out: Array<[number, number]> = [];
  for (let j = 0; j < flat.length; j += 2) out.push([num(flat, j, field), num(flat, j + 1, field)]);
  return out;
}

/** Encodes live load for an ack payload (≈ 20 bytes). */
export function encodeLoad(l: LiveLoad): Uint8Array {
  const fields = [NODE_META_VERSION, l.queueDepth, l.activeSequences, l.tokensPerSecond, l.utilisation];
  if (l.healthScore !== undefined) fields.push(l.healthScore);
  const bytes = encoder.encode(fields);
  if (bytes.length > ACK_PAYLOAD_MAX_BYTES) throw new WireEncodeError(`live load is ${bytes.length} bytes`);
  return bytes;
}

/** Decodes live load; throws {@link WireDecodeError}. */
export function decodeLoad(bytes: Uint8Array): LiveLoad {
  const a = decodeArray(bytes, "live load", 5);
  const utilisation = num(a, 4, "utilisation");
  if (utilisation > 1) throw new WireDecodeError(`live load: utilisation ${utilisation} is above 1`);
  const load: LiveLoad = {
    queueDepth: num(a, 1, "queueDepth"),
    activeSequences: num(a, 2, "activeSequences"),
    tokensPerSecond: num(a, 3, "tokensPerSecond"),
    utilisation,
  };
  if (a.length > 5) load.healthScore = num(a, 5, "healthScore");
  return load;
}

function decodeArray(bytes: Uint8Array, what: string, minFields: number): unknown[] {
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (e) {
    throw new WireDecodeError(`${what}: bad msgpack (${(e as Error).message})`);
  }
  if (!Array.isArray(raw) || raw.length < minFields) {
    throw new WireDecodeError(`${what}: expected ≥ ${minFields} fields`);
  }
  if (raw[0] !== NODE_META_VERSION) {
    throw new WireDecodeError(`${what}: format version ${raw[0]} unsupported`);
  }
  return raw;
}

function str(a: unknown[], i: number, field: string): string {
  const v = a[i];
  if (typeof v !== "string") throw new WireDecodeError(`${field} should be a string`);
  return v;
}

function num(a: unknown[], i: number, field: string): number {
  const v = a[i];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new WireDecodeError(`${field} should be a number ≥ 0`);
  }
  return v;
}

function list(a: unknown[], i: number, field: string): unknown[] {
  const v = a[i];
  if (!Array.isArray(v)) throw new WireDecodeError(`${field} should be a list`);
  return v;
}
