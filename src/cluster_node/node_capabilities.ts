/**
 * The capability record a node advertises in its gossip metadata (`NodeCapabilities`, ≤ 512 bytes),
 * built from what the node knows before and after its model is loaded. Free-text fields are cut to
 * fixed lengths so the record always fits, whatever the adapter or model is called.
 *
 * @example
 * ```ts
 * const meta = encodeCapabilities(nodeCapabilities({ id, name: "a", version: "0.1.0", apiAddr: "10.0.0.2:8080" }));
 * ```
 *
 * @module
 */
import type { LayerRange, NodeCapabilities } from "../../cluster/gossip/mod.ts";
import { nameHash, RTT_TENTHS_MAX } from "../../cluster/gossip/node_meta.ts";
import type { BackendName } from "../backend/backend.ts";

// Budget of the free-text fields, UTF-8 bytes. With a 128-byte name, a 36-byte id and two bracketed
// IPv6 addresses, the record stays ≈ 470 of its 512 bytes (see the test with the longest values).
/** Longest device description advertised, bytes. */
const DEVICE_MAX_BYTES = 48;
/** Longest model id advertised, bytes (it appears twice: in models and in layers). */
const MODEL_MAX_BYTES = 48;
/** Longest version string advertised, bytes. */
const VERSION_MAX_BYTES = 24;

/** What the node knows about itself. Fields after `apiAddr` are known once the model is loaded. */
export interface CapabilityFacts {
  id: string;
  name: string;
  version: string;
  /** "host:port" of the OpenAI-compatible API. */
  apiAddr: string;
  /** "host:port" of the layer-pipeline endpoint; "" until the pipeline is served. */
  pipelineAddr?: string;
  backend?: BackendName;
  device?: string;
  /** Memory offered for weights, bytes. */
  memoryBudgetBytes?: number;
  /** Weight bytes streamed per second at decode (see `throughput_probe.ts`). */
  bytesPerSec?: number;
  /** Model id served and its layer count, once loaded. */
  model?: { id: string; layers: number };
  /** The layer plan the node follows: its epoch and, per replica, each stage's node and layer end. */
  plan?: { epoch: number; replicas: ReadonlyArray<ReadonlyArray<{ node: string; end: number }>> };
  /** Round trips to peers, ms by peer name (smoothed by `rtt_meter.ts`). */
  rttsMs?: Readonly<Record<string, number>>;
}

/** The capability record of `facts`; unknowns are "", 0 or empty lists (a loading node). */
export function nodeCapabilities(facts: CapabilityFacts): NodeCapabilities {
  const model = facts.model ? truncateUtf8(facts.model.id, MODEL_MAX_BYTES) : undefined;
  const layers: LayerRange[] = facts.model && model
    ? [{ model, first: 0, last: Math.max(0, facts.model.layers - 1) }]
    : [];
  return {
    id: facts.id,
    name: facts.name,
    version: truncateUtf8(facts.version, VERSION_MAX_BYTES),
    apiAddr: facts.apiAddr,
    pipelineAddr: facts.pipelineAddr ?? "",
    backend: facts.backend ?? "unknown",
    device: truncateUtf8(facts.device ?? "", DEVICE_MAX_BYTES),
    memoryBudgetBytes: Math.max(0, Math.round(facts.memoryBudgetBytes ?? 0)),
    score: Math.max(0, Math.round(facts.bytesPerSec ?? 0)),
    models: model ? [model] : [],
    layers,
    ...(facts.plan
      ? {
        plan: {
          epoch: facts.plan.epoch,
          stages: facts.plan.replicas.flat().map((s) => ({ node: nameHash(s.node), end: s.end })),
        },
      }
      : {}),
    ...(facts.rttsMs && Object.keys(facts.rttsMs).length > 0
      ? {
        // by peer name, so the record is the same whatever order the RTTs were measured in
        rtts: Object.keys(facts.rttsMs).sort().map((peer) => ({
          node: nameHash(peer),
          tenthsMs: Math.min(RTT_TENTHS_MAX, Math.max(0, Math.round(facts.rttsMs![peer] * 10))),
        })),
      }
      : {}),
  };
}

/** `text` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // back to the start of a character
  return new TextDecoder().decode(bytes.subarray(0, end));
}
