/**
 * The one log line `edgering serve` prints once it is ready: address, model, backend, slots and
 * context, and memory (weights, KV cache, resident set), so a supervisor's log says at a glance what
 * the node serves and what it costs.
 */
import type { ServedModel } from "../api/node_state.ts";
import type { ServeConfig } from "../config/mod.ts";
import type { LoadedModel } from "../engine/loaded_model.ts";
import { formatBytes } from "../model_store/mod.ts";
import type { NodeModel } from "./node_model.ts";

/** KV cache size in bytes, f32 K and V; none on a stage-only node until its stage starts. */
function kvBytes(loaded: LoadedModel | undefined): number {
  return loaded ? loaded.slots * loaded.cfg.layers * loaded.ctx * loaded.cfg.kvDim * 2 * 4 : 0;
}

/**
 * The "serving" line for `served` at `address` (an `http://host:port` URL); the resident set is read
 * when it is called.
 *
 * @example
 * ```ts
 * log(servingLine(served, model, "http://127.0.0.1:8080", config));
 * // serving stories260K on http://127.0.0.1:8080 · backend wasm (...) · 4 slots × 512 ctx · memory: ...
 * ```
 */
export function servingLine(
  served: ServedModel,
  model: NodeModel,
  address: string,
  config: ServeConfig,
): string {
  return `serving ${served.id} on ${address} · backend ${model.backend.name} (${model.backend.description}) · ` +
    `${config.slots} slots × ${model.ctx} ctx · memory: weights ${
      formatBytes(model.loaded?.weights.bytes ?? 0)
    }${model.loaded ? "" : " (pipeline stage only)"}, ` +
    `kv ${formatBytes(kvBytes(model.loaded))}, rss ${
      formatBytes(Deno.memoryUsage().rss)
    } · chat template ${served.chatTemplate.origin}` +
    (config.apiKeys.length > 0 ? ` · ${config.apiKeys.length} api key(s)` : "");
}
