/**
 * The HTTP API of a node as a plain `(Request) => Promise<Response>` handler (hono inside). Only the
 * serve command binds it to a port; tests call it directly or through a real socket.
 *
 *   POST /v1/completions        POST /v1/chat/completions     (OpenAI semantics, SSE with stream: true)
 *   GET  /v1/models             GET  /v1/models/:id
 *   GET  /health                (ready 200 · loading / draining 503; never needs a key)
 *   GET  /metrics               (Prometheus text)
 *
 * Every error leaves through one place (`onError` → {@link toApiError}) as an OpenAI error body; no input
 * reaches the client as a stack trace.
 */
import { timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { ApiError, errorResponse, toApiError } from "./api_error.ts";
import { type ApiOptions, handleGeneration, type HandlerDeps } from "./generation_handlers.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics.ts";

/** Paths that get their own `endpoint` label in the request counter; everything else is "other". */
const KNOWN_PATHS = new Set(["/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/metrics"]);
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
export function createApiHandler(deps: HandlerDeps): (request: Request) => Promise<Response> {
  const { state, options, metrics } = deps;
  const app = new Hono();

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

  app.post("/v1/completions", (c) => handleGeneration("completion", c.req.raw, deps));
  app.post("/v1/chat/completions", (c) => handleGeneration("chat", c.req.raw, deps));
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

  return async (request: Request) => {
    let response: Response;
    try {
      response = await app.fetch(request);
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
