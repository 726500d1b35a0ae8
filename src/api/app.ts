/**
 * The HTTP API of a node as a plain `(Request) => Promise<Response>` handler (hono inside). Only the
 * serve command binds it to a port; tests call it directly or through a real socket.
 *
 *   POST /v1/completions        POST /v1/chat/completions     (OpenAI semantics, SSE with stream: true)
 *   GET  /v1/models             GET  /v1/models/:id
 *   GET  /health                (ready 200 · loading / draining 503; never needs a key)
 *   GET  /metrics               (Prometheus text)
 *   GET  /cluster/status        (gossip ring members and counters; 404 under --no-cluster)
 *   GET  /cluster/keys          POST /cluster/keys {"op": "install"|"use"|"remove", "key": …}
 *                               (key ring; needs an API key, or a request from this host's loopback)
 *
 * Every error leaves through one place (`onError` → {@link toApiError}) as an OpenAI error body; no input
 * reaches the client as a stack trace.
 */
import { timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import type { ClusterControl } from "../cluster_node/cluster_control.ts";
import { ClusterKeyError } from "../cluster_node/cluster_errors.ts";
import { ApiError, badRequest, errorResponse, toApiError } from "./api_error.ts";
import { type ApiOptions, handleGeneration, type HandlerDeps } from "./generation_handlers.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics.ts";
import { readJsonBody } from "./read_json_body.ts";

/** Paths that get their own `endpoint` label in the request counter; everything else is "other". */
const KNOWN_PATHS = new Set([
  "/v1/completions",
  "/v1/chat/completions",
  "/v1/models",
  "/health",
  "/metrics",
  "/cluster/status",
  "/cluster/keys",
]);
const GENERATION_PATHS = ["/v1/completions", "/v1/chat/completions"];

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** True when `header` is `Bearer K` for one of `keys`; compares digests in constant time. */
async function authorized(header: string | undefined, keys: readonly string[]): Promise<boolean> {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match) return false;
  const given = await sha256(match[1]);
  let ok = false;
  for (const key of keys) ok = timingSafeEqual(given, await sha256(key)) || ok;
  return ok;
}

/** Largest body of a key ring request, bytes: an op name and a base64 key. */
const KEY_REQUEST_MAX_BYTES = 4096;
const keyRequestSchema = z.object({
  op: z.enum(["install", "use", "remove"]),
  key: z.string().min(1).max(256),
});

/** What the app needs beyond the generation handlers. */
export interface AppDeps extends HandlerDeps {
  /**
   * The node's ring membership. Absent: the node runs with `--no-cluster` and the /cluster routes
   * answer 404. A getter returning undefined: the ring is not started yet (503).
   */
  readonly cluster?: () => ClusterControl | undefined;
}

/** Connection facts Deno.serve passes along with each request. */
export interface RequestInfo {
  readonly remoteAddr?: { readonly hostname: string };
}

/** True for 127.0.0.0/8 and ::1 (also IPv4-mapped): the request comes from this host. */
function isLoopback(hostname: string | undefined): boolean {
  if (!hostname) return false;
  const h = hostname.replace(/^::ffff:/i, "");
  return h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Builds the API handler.
 *
 * @example
 * ```ts
 * const handler = createApiHandler({ state: NodeState.ready(served), options, metrics });
 * const response = await handler(new Request("http://node/health"));
 * Deno.serve({ port: 8080 }, handler);
 * ```
 */
export function createApiHandler(
  deps: AppDeps,
): (request: Request, info?: RequestInfo) => Promise<Response> {
  const { state, options, metrics } = deps;
  const app = new Hono<{ Bindings: RequestInfo }>();

  app.onError((error) => {
    const apiError = toApiError(error, options.retryAfterSeconds);
    if (apiError.status >= 500 && apiError.code === "internal_error") {
      options.log?.(
        `internal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`,
      );
    }
    return errorResponse(apiError);
  });
  app.notFound((c) => {
    throw new ApiError(
      404,
      `no route ${c.req.method} ${new URL(c.req.url).pathname.slice(0, 100)}`,
      "invalid_request_error",
      "not_found",
    );
  });

  app.get("/health", (c) => {
    const body = { status: state.status, model: state.model?.id ?? null };
    return c.json(body, state.status === "ready" ? 200 : 503);
  });

  if (options.apiKeys.length > 0) {
    app.use("*", async (c, next) => {
      if (!(await authorized(c.req.header("authorization"), options.apiKeys))) {
        throw new ApiError(
          401,
          "Incorrect or missing API key: send 'Authorization: Bearer KEY'",
          "invalid_request_error",
          "invalid_api_key",
          null,
          { "www-authenticate": "Bearer" },
        );
      }
      await next();
    });
  }

  app.get(
    "/metrics",
    () => new Response(metrics.registry.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } }),
  );

  const modelEntry = () => {
    const model = state.model;
    return model
      ? { id: model.id, object: "model", created: model.created, owned_by: "edgering" }
      : undefined;
  };
  app.get(
    "/v1/models",
    (c) => c.json({ object: "list", data: [modelEntry()].filter((m) => m !== undefined) }),
  );
  app.get("/v1/models/:id{.+}", (c) => {
    const entry = modelEntry();
    const id = c.req.param("id");
    if (!entry || entry.id !== id) {
      throw new ApiError(
        404,
        `The model '${id.slice(0, 100)}' does not exist`,
        "invalid_request_error",
        "model_not_found",
        "model",
      );
    }
    return c.json(entry);
  });

  const cluster = (): ClusterControl => {
    if (!deps.cluster) {
      throw new ApiError(
        404,
        "this node runs without a cluster (--no-cluster)",
        "invalid_request_error",
        "cluster_disabled",
      );
    }
    const control = deps.cluster();
    if (!control) {
      throw new ApiError(503, "the cluster is starting", "server_error", "cluster_starting", null, {
        "retry-after": String(options.retryAfterSeconds),
      });
    }
    return control;
  };
  // Installing a key lets its holder into the ring: without API keys, only this host may.
  const keyAccess = (info: RequestInfo | undefined) => {
    if (options.apiKeys.length > 0 || isLoopback(info?.remoteAddr?.hostname)) return;
    throw new ApiError(
      403,
      "cluster keys can be managed only with an API key (--api-key) or from the node's own host",
      "invalid_request_error",
      "forbidden",
    );
  };
  app.get("/cluster/status", async (c) => c.json(await cluster().status()));
  app.get("/cluster/keys", async (c) => {
    keyAccess(c.env);
    return c.json(await cluster().listKeys());
  });
  app.post("/cluster/keys", async (c) => {
    keyAccess(c.env);
    const parsed = keyRequestSchema.safeParse(await readJsonBody(c.req.raw, KEY_REQUEST_MAX_BYTES));
    if (!parsed.success) {
      throw badRequest(
        'send {"op": "install" | "use" | "remove", "key": BASE64 or fingerprint}',
        String(parsed.error.issues[0]?.path[0] ?? "op"),
      );
    }
    try {
      return c.json(await cluster().changeKeys(parsed.data.op, parsed.data.key));
    } catch (error) {
      if (error instanceof ClusterKeyError) throw badRequest(error.message, "key", "cluster_key_refused");
      throw error;
    }
  });

  // the remote address keys fair queueing when a request has neither an API key nor a `user`
  const remote = (env: RequestInfo | undefined) => env?.remoteAddr?.hostname;
  app.post("/v1/completions", (c) => handleGeneration("completion", c.req.raw, deps, remote(c.env)));
  app.post("/v1/chat/completions", (c) => handleGeneration("chat", c.req.raw, deps, remote(c.env)));
  for (const path of GENERATION_PATHS) {
    app.on(["GET", "PUT", "DELETE", "PATCH"], path, (c) => {
      throw new ApiError(
        405,
        `${c.req.method} is not allowed on ${path}; use POST`,
        "invalid_request_error",
        "method_not_allowed",
      );
    });
  }

  return async (request: Request, info?: RequestInfo) => {
    let response: Response;
    try {
      response = await app.fetch(request, { remoteAddr: info?.remoteAddr });
    } catch (error) {
      response = errorResponse(toApiError(error, options.retryAfterSeconds)); // e.g. a malformed URL
    }
    let path = "other";
    try {
      const pathname = new URL(request.url).pathname;
      if (KNOWN_PATHS.has(pathname)) path = pathname;
    } catch { /* keep "other" */ }
    metrics.requests.inc({ endpoint: path, status: String(response.status) });
    return response;
  };
}

export type { ApiOptions, HandlerDeps };
