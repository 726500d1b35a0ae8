/**
 * The metrics of one serving node: requests by endpoint and status, token counts, latency histograms,
 * and gauges read from the scheduler at scrape time.
 */
import type { SchedulerStats } from "../engine/scheduler.ts";
import { Counter, Gauge, Histogram, MetricsRegistry } from "./metrics.ts";

/** Latency buckets, seconds: 1 ms to 60 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Every metric the API updates. */
export interface ServeMetrics {
  readonly registry: MetricsRegistry;
  /** labels: endpoint, status */
  readonly requests: Counter;
  readonly promptTokens: Counter;
  readonly generatedTokens: Counter;
  /** request arrival → first generated token, seconds */
  readonly timeToFirstToken: Histogram;
  /** gap between consecutive tokens of one stream, seconds */
  readonly interTokenLatency: Histogram;
  /** request arrival → last byte, seconds */
  readonly requestDuration: Histogram;
}

/**
 * Creates the registry; `stats` reads the scheduler (undefined while the model loads).
 *
 * @example
 * ```ts
 * const metrics = createServeMetrics(() => scheduler.stats());
 * metrics.requests.inc({ endpoint: "/v1/completions", status: "200" });
 * metrics.registry.render();
 * ```
 */
export function createServeMetrics(stats: () => SchedulerStats | undefined): ServeMetrics {
  const registry = new MetricsRegistry();
  const gauge = (
    name: string,
    help: string,
    read: (s: SchedulerStats) => number,
    type: "gauge" | "counter" = "gauge",
  ) =>
    registry.register(
      new Gauge(name, help, () => {
        const s = stats();
        return s ? read(s) : 0;
      }, type),
    );
  const metrics: ServeMetrics = {
    registry,
    requests: registry.register(
      new Counter("edgering_requests_total", "HTTP requests by endpoint and status code."),
    ),
    promptTokens: registry.register(
      new Counter("edgering_prompt_tokens_total", "Prompt tokens of accepted requests."),
    ),
    generatedTokens: registry.register(new Counter("edgering_generated_tokens_total", "Generated tokens.")),
    timeToFirstToken: registry.register(
      new Histogram(
        "edgering_time_to_first_token_seconds",
        "Request arrival to first generated token.",
        LATENCY_BUCKETS,
      ),
    ),
    interTokenLatency: registry.register(
      new Histogram(
        "edgering_inter_token_latency_seconds",
        "Time between consecutive tokens of a stream.",
        LATENCY_BUCKETS,
      ),
    ),
    requestDuration: registry.register(
      new Histogram(
        "edgering_request_duration_seconds",
        "Generation request arrival to completion.",
        LATENCY_BUCKETS,
      ),
    ),
  };
  gauge("edgering_queue_depth", "Requests waiting for a KV-cache slot.", (s) => s.queued);
  gauge("edgering_active_sequences", "Sequences holding a KV-cache slot.", (s) => s.active);
  gauge("edgering_kv_cache_slots", "KV-cache slots (most concurrent sequences).", (s) => s.slots);
  gauge("edgering_kv_cache_used_tokens", "KV-cache positions holding tokens, all slots.", (s) => s.kvTokens);
  gauge("edgering_kv_cache_capacity_tokens", "KV-cache positions, all slots.", (s) => s.kvCapacity);
  gauge(
    "edgering_kv_cache_usage_ratio",
    "Used / capacity KV-cache positions.",
    (s) => (s.kvCapacity ? s.kvTokens / s.kvCapacity : 0),
  );
  gauge(
    "edgering_engine_steps_total",
    "Engine steps (batched forward passes) run.",
    (s) => s.steps,
    "counter",
  );
  gauge(
    "edgering_engine_readbacks_total",
    "Host waits on device results: one per CPU-sampled step, one per GPU-resident decode chunk.",
    (s) => s.readbacks ?? 0,
    "counter",
  );
  gauge(
    "edgering_engine_gpu_submits_total",
    "GPU queue submissions (WebGPU).",
    (s) => s.submits ?? 0,
    "counter",
  );
  gauge(
    "edgering_engine_readbacks_per_token",
    "Readbacks per generated token since start (WebGPU's target: at most 1/8 at steady state).",
    (s) => s.readbacksPerToken ?? 0,
  );
  return metrics;
}
