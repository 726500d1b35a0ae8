/**
 * A real API server on 127.0.0.1 with an OS-chosen port, serving a tiny model on the reference backend,
 * for tests that talk HTTP (the openai client, fuzzing, load).
 */
import { createReferenceBackend } from "../../src/backend/reference/reference_backend.ts";
import { loadModel } from "../../src/engine/loaded_model.ts";
import { createApiHandler } from "../../src/api/app.ts";
import { NodeState, type ServedModel } from "../../src/api/node_state.ts";
import { createServedModel } from "../../src/api/served_model.ts";
import { createServeMetrics, type ServeMetrics } from "../../src/api/serve_metrics.ts";
import { tinyModelPath } from "./test_model.ts";

/** Knobs of a test server (defaults: tiny synthetic model, 4 slots, ctx 256). */
export interface TestServerOptions {
  readonly modelPath?: string;
  readonly id?: string;
  readonly slots?: number;
  readonly ctx?: number;
  readonly maxBatch?: number;
  readonly queueSize?: number;
  readonly prefillChunk?: number;
  readonly apiKeys?: string[];
  readonly maxBodyBytes?: number;
  readonly defaultMaxTokens?: number;
}

/** A running server and its parts. */
export interface TestServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly state: NodeState;
  readonly served: ServedModel;
  readonly metrics: ServeMetrics;
  readonly handler: (request: Request) => Promise<Response>;
  close(): Promise<void>;
}

/** Starts a server; call `close()` in `finally`. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const slots = options.slots ?? 4;
  const loaded = await loadModel(options.modelPath ?? await tinyModelPath(), createReferenceBackend(), {
    slots,
    ctx: options.ctx ?? 256,
    maxBatch: options.maxBatch ?? Math.max(64, slots),
  });
  const served = createServedModel(loaded, {
    id: options.id ?? "tiny",
    queueSize: options.queueSize ?? 16,
    prefillChunk: options.prefillChunk ?? 32,
  });
  const state = NodeState.ready(served);
  const metrics = createServeMetrics(() => served.scheduler.stats());
  const handler = createApiHandler({
    state,
    metrics,
    options: {
      apiKeys: options.apiKeys ?? [],
      maxBodyBytes: options.maxBodyBytes ?? 1 << 20,
      defaultMaxTokens: options.defaultMaxTokens ?? 16,
      retryAfterSeconds: 2,
    },
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    state,
    served,
    metrics,
    handler,
    async close() {
      await served.scheduler.close();
      await server.shutdown();
      loaded.close();
    },
  };
}
