/**
 * POST /v1/completions and POST /v1/chat/completions: body → validated request → prompt tokens →
 * scheduler → JSON body or Server-Sent Events.
 *
 * Each request names its client for the scheduler's fair queue ({@link clientKey}): the API key when keys
 * are configured, else the OpenAI `user` field, else the remote address, else one anonymous client.
 *
 * The request's AbortSignal goes to the scheduler, and cancelling the SSE body cancels the sequence, so a
 * client that hangs up frees its KV slot at the end of the engine step in flight.
 */
import { EngineError } from "../engine/scheduler_errors.ts";
import { PipelineSequenceError } from "../../cluster/pipeline/pipeline_errors.ts";
import type { SequenceStream } from "../engine/scheduler.ts";
import type { GeneratedPiece } from "../engine/generate.ts";
import { ApiError, badRequest, errorBody, toApiError } from "./api_error.ts";
import type { NodeState, ServedModel } from "./node_state.ts";
import {
  chatBody,
  chatChunk,
  completionBody,
  completionChunk,
  newIdentity,
  type ResponseIdentity,
  usageChunk,
  usageOf,
} from "./openai_responses.ts";
import { readJsonBody } from "./read_json_body.ts";
import {
  chatRequestSchema,
  completionRequestSchema,
  type GenerationSettings,
  generationSettings,
  parseRequest,
} from "./request_schemas.ts";
import type { ServeMetrics } from "./serve_metrics.ts";
import { SSE_DONE, sseEvent, sseResponse } from "./sse.ts";

/** Settings of the API layer (a subset of ServeConfig). */
export interface ApiOptions {
  /** accepted bearer tokens; empty = open */
  readonly apiKeys: readonly string[];
  /** largest request body, bytes */
  readonly maxBodyBytes: number;
  /** max_tokens when a request sets none */
  readonly defaultMaxTokens: number;
  /** Retry-After of a 429, seconds */
  readonly retryAfterSeconds: number;
  /** where unexpected errors are logged (default: nowhere) */
  readonly log?: (line: string) => void;
}

/** What the handlers need. */
export interface HandlerDeps {
  readonly state: NodeState;
  readonly options: ApiOptions;
  readonly metrics: ServeMetrics;
}

type Kind = "completion" | "chat";

/** The served model, or 503 while loading or draining. */
export function readyModel(state: NodeState): ServedModel {
  if (state.status === "draining") {
    throw new ApiError(
      503,
      "the node is shutting down and accepts no new requests",
      "server_error",
      "draining",
    );
  }
  if (state.status !== "ready" || !state.model) {
    throw new ApiError(503, "the model is still loading; retry shortly", "server_error", "loading", null, {
      "retry-after": "5",
    });
  }
  return state.model;
}

function checkModelId(model: ServedModel, requested: string): void {
  if (requested !== model.id) {
    throw new ApiError(
      404,
      `The model '${requested.slice(0, 100)}' does not exist; this node serves '${model.id}'`,
      "invalid_request_error",
      "model_not_found",
      "model",
    );
  }
}

/** Prompt tokens of a completion request: text (tokenized, special tokens parsed) or token ids. */
function completionPrompt(model: ServedModel, prompt: string | string[] | number[] | number[][]): number[] {
  if (typeof prompt === "string" || typeof prompt[0] === "string") {
    const text = typeof prompt === "string" ? prompt : (prompt as string[])[0];
    return model.tokenizer.encode(text, { addBos: model.tokenizer.addBos, parseSpecial: true });
  }
  return Array.isArray(prompt[0]) ? (prompt as number[][])[0] : (prompt as number[]);
}

interface Prepared {
  readonly model: ServedModel;
  readonly prompt: number[];
  readonly settings: GenerationSettings;
}

/** Hex digits of the API key's SHA-256 kept in a client key: the key itself is never held or shown. */
const KEY_DIGEST_HEX_CHARS = 16;

/**
 * The client a request is queued under, for round-robin admission: `key:` + a digest of the bearer
 * token when API keys are configured (the auth middleware has already checked it), else `user:` + the
 * OpenAI `user` field, else `addr:` + the remote address, else undefined (the scheduler's anonymous
 * client). The prefixes keep a `user` value from posing as another client's address or key.
 *
 * @example
 * ```ts
 * await clientKey(request, [], "alice", "10.0.0.7"); // "user:alice"
 * await clientKey(request, [], undefined, "10.0.0.7"); // "addr:10.0.0.7"
 * ```
 */
export async function clientKey(
  request: Request,
  apiKeys: readonly string[],
  user: string | undefined,
  remoteAddr: string | undefined,
): Promise<string | undefined> {
  const token = apiKeys.length > 0
    ? request.headers.get("authorization")?.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
    : undefined;
  if (token !== undefined) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    return `key:${hex.slice(0, KEY_DIGEST_HEX_CHARS)}`;
  }
  if (user) return `user:${user}`;
  if (remoteAddr) return `addr:${remoteAddr}`;
  return undefined;
}

async function prepare(kind: Kind, request: Request, deps: HandlerDeps): Promise<Prepared> {
  const model = readyModel(deps.state);
  const body = await readJsonBody(request, deps.options.maxBodyBytes);
  if (kind === "completion") {
    const parsed = parseRequest(completionRequestSchema, body);
    checkModelId(model, parsed.model);
    return { model, prompt: completionPrompt(model, parsed.prompt), settings: generationSettings(parsed) };
  }
  const parsed = parseRequest(chatRequestSchema, body);
  checkModelId(model, parsed.model);
  const text = model.chatTemplate.render(parsed.messages);
  const addBos = model.tokenizer.addBos && !model.chatTemplate.startsWithBos(text);
  const prompt = model.tokenizer.encode(text, { addBos, parseSpecial: true });
  return { model, prompt, settings: generationSettings(parsed) };
}

function submit(
  prepared: Prepared,
  request: Request,
  deps: HandlerDeps,
  client: string | undefined,
): SequenceStream {
  const { model, prompt, settings } = prepared;
  if (prompt.length === 0) throw badRequest("the prompt is empty", "prompt", "invalid_prompt");
  try {
    return (model.target ?? model.scheduler).submit({
      prompt,
      maxTokens: settings.maxTokens ?? deps.options.defaultMaxTokens,
      sampling: settings.sampling,
      stop: settings.stop,
      signal: request.signal,
      client,
    });
  } catch (error) {
    // submit's RangeErrors are about the prompt (token ids outside the vocabulary)
    if (error instanceof RangeError) throw badRequest(error.message, "prompt", "invalid_prompt");
    throw error;
  }
}

/** Times tokens for the TTFT and inter-token histograms. */
class TokenTimer {
  private last?: number;
  constructor(private readonly startedAt: number, private readonly metrics: ServeMetrics) {}
  tick(): void {
    const now = performance.now();
    if (this.last === undefined) this.metrics.timeToFirstToken.observe((now - this.startedAt) / 1000);
    else this.metrics.interTokenLatency.observe((now - this.last) / 1000);
    this.last = now;
  }
}

/** Status 499 (nginx's "client closed request"): only the metrics ever see it. */
const CLIENT_CLOSED = 499;

/** The error for a sequence that did not finish: engine fault (500), client gone (499) or shutdown (503). */
function failureOf(finishReason: string, error: unknown, clientGone: boolean): ApiError {
  if (finishReason === "error") {
    const known = error instanceof EngineError || error instanceof PipelineSequenceError;
    return toApiError(known ? error : new EngineError(String(error)));
  }
  if (clientGone) {
    return new ApiError(CLIENT_CLOSED, "the client closed the request", "invalid_request_error", "cancelled");
  }
  return new ApiError(
    503,
    "the request was cancelled because the node is shutting down",
    "server_error",
    "cancelled",
  );
}

async function respondWhole(
  kind: Kind,
  prepared: Prepared,
  stream: SequenceStream,
  deps: HandlerDeps,
  startedAt: number,
  signal: AbortSignal,
) {
  const timer = new TokenTimer(startedAt, deps.metrics);
  let text = "";
  try {
    for await (const piece of stream) {
      timer.tick();
      text += piece.text;
    }
  } catch { /* the summary says what happened */ }
  const summary = await stream.done;
  deps.metrics.generatedTokens.inc({}, summary.generatedTokens);
  deps.metrics.requestDuration.observe((performance.now() - startedAt) / 1000);
  if (summary.finishReason !== "stop" && summary.finishReason !== "length") {
    throw failureOf(summary.finishReason, summary.error, signal.aborted);
  }
  text += summary.tail;
  const who = newIdentity(kind, prepared.model.id);
  const usage = usageOf(summary.promptTokens, summary.generatedTokens);
  const body = kind === "chat"
    ? chatBody(who, text, summary.finishReason, usage)
    : completionBody(who, text, summary.finishReason, usage);
  return Response.json(body);
}

function respondStream(
  kind: Kind,
  prepared: Prepared,
  stream: SequenceStream,
  deps: HandlerDeps,
  startedAt: number,
) {
  const who: ResponseIdentity = newIdentity(kind, prepared.model.id);
  const timer = new TokenTimer(startedAt, deps.metrics);
  const iterator: AsyncIterator<GeneratedPiece> = stream[Symbol.asyncIterator]();
  const chunk = (text: string) =>
    sseEvent(kind === "chat" ? chatChunk(who, { content: text }, null) : completionChunk(who, text, null));
  let finished = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (kind === "chat") {
        controller.enqueue(sseEvent(chatChunk(who, { role: "assistant", content: "" }, null)));
      }
    },
    async pull(controller) {
      if (finished) return;
      // send the next non-empty piece, or everything that ends the stream
      for (;;) {
        let next: IteratorResult<GeneratedPiece>;
        try {
          next = await iterator.next();
        } catch {
          next = { done: true, value: undefined };
        }
        if (!next.done) {
          timer.tick();
          if (next.value.text === "") continue;
          controller.enqueue(chunk(next.value.text));
          return;
        }
        finished = true;
        const summary = await stream.done;
        deps.metrics.generatedTokens.inc({}, summary.generatedTokens);
        deps.metrics.requestDuration.observe((performance.now() - startedAt) / 1000);
        if (summary.finishReason === "stop" || summary.finishReason === "length") {
          if (summary.tail !== "") controller.enqueue(chunk(summary.tail));
          controller.enqueue(sseEvent(
            kind === "chat"
              ? chatChunk(who, {}, summary.finishReason)
              : completionChunk(who, "", summary.finishReason),
          ));
          if (prepared.settings.includeUsage) {
            controller.enqueue(
              sseEvent(usageChunk(kind, who, usageOf(summary.promptTokens, summary.generatedTokens))),
            );
          }
        } else {
          controller.enqueue(sseEvent(errorBody(failureOf(summary.finishReason, summary.error, false))));
        }
        controller.enqueue(SSE_DONE);
        controller.close();
        return;
      }
    },
    cancel() {
      // the client went away: free the sequence's slot
      stream.cancel();
    },
  });
  return sseResponse(body);
}

/**
 * Handles a generation request of either kind; errors are thrown as ApiError (or typed engine errors).
 * `remoteAddr` (the peer's hostname from Deno.serve's info) names the client when neither an API key
 * nor the `user` field does.
 */
export async function handleGeneration(
  kind: Kind,
  request: Request,
  deps: HandlerDeps,
  remoteAddr?: string,
): Promise<Response> {
  const startedAt = performance.now();
  const prepared = await prepare(kind, request, deps);
  const client = await clientKey(request, deps.options.apiKeys, prepared.settings.user, remoteAddr);
  const stream = submit(prepared, request, deps, client);
  deps.metrics.promptTokens.inc({}, prepared.prompt.length);
  return prepared.settings.stream
    ? respondStream(kind, prepared, stream, deps, startedAt)
    : await respondWhole(kind, prepared, stream, deps, startedAt, request.signal);
}
