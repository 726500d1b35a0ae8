/**
 * The OpenAI-compatible HTTP API of a node: a `(Request) => Promise<Response>` handler, its state, metrics,
 * chat templates and error shapes.
 *
 * @example
 * ```ts
 * import { createApiHandler, createServeMetrics, NodeState } from "./src/api/mod.ts";
 * const state = new NodeState();
 * const handler = createApiHandler({ state, metrics: createServeMetrics(() => undefined), options });
 * ```
 */
export * from "./api_error.ts";
export * from "./app.ts";
export * from "./chat_template.ts";
export * from "./metrics.ts";
export * from "./node_state.ts";
export * from "./openai_responses.ts";
export * from "./request_schemas.ts";
export * from "./serve_metrics.ts";
export { readyModel } from "./generation_handlers.ts";
export * from "./served_model.ts";
