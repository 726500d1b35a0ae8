/**
 * Response bodies and stream chunks in OpenAI's shapes, for `/v1/completions` (object `text_completion`)
 * and `/v1/chat/completions` (objects `chat.completion` and `chat.completion.chunk`).
 */
import type { FinishReason } from "../engine/generate.ts";

/** Token counts of one request. */
export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** Usage of a request from its prompt and generated token counts. */
export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** Identity of one response: id, creation time (Unix seconds) and model id, repeated in every chunk. */
export interface ResponseIdentity {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/** A fresh identity: `cmpl-…` or `chatcmpl-…` with 24 random hex digits. */
export function newIdentity(kind: "completion" | "chat", model: string): ResponseIdentity {
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(12)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return {
    id: `${kind === "chat" ? "chatcmpl" : "cmpl"}-${random}`,
    created: Math.floor(Date.now() / 1000),
    model,
  };
}

/** Non-streaming `/v1/completions` body. */
export function completionBody(who: ResponseIdentity, text: string, finish: FinishReason, usage: Usage) {
  return {
    ...who,
    object: "text_completion",
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    usage,
  };
}

/** One streamed `/v1/completions` chunk. */
export function completionChunk(who: ResponseIdentity, text: string, finish: FinishReason | null) {
  return {
    ...who,
    object: "text_completion",
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
  };
}

/** Non-streaming `/v1/chat/completions` body. */
export function chatBody(who: ResponseIdentity, content: string, finish: FinishReason, usage: Usage) {
  return {
    ...who,
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", content }, logprobs: null, finish_reason: finish }],
    usage,
  };
}

/** One streamed `/v1/chat/completions` chunk. */
export function chatChunk(
  who: ResponseIdentity,
  delta: { role?: "assistant"; content?: string },
  finish: FinishReason | null,
) {
  return {
    ...who,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

/** The last chunk when `stream_options.include_usage` is set: no choices, the usage. */
export function usageChunk(kind: "completion" | "chat", who: ResponseIdentity, usage: Usage) {
  return {
    ...who,
    object: kind === "chat" ? "chat.completion.chunk" : "text_completion",
    choices: [],
    usage,
  };
}
