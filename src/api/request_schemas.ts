/**
 * Validation of `/v1/completions` and `/v1/chat/completions` bodies with zod, and their translation into
 * the engine's terms.
 *
 * Objects are strict, like OpenAI's API: an unknown field is a 400 naming it, so a misspelt parameter is
 * never ignored silently. Fields OpenAI defines but edgering does not implement (n > 1, logprobs, echo,
 * tools, logit_bias) are accepted only at their neutral values. Sampling defaults are OpenAI's
 * (temperature 1, top_p 1, no top-k, no min-p, no penalties), not llama.cpp's.
 */
import { z } from "zod";
import type { SamplingParams } from "../engine/sampler.ts";
import { badRequest } from "./api_error.ts";

/** Stop strings per request: OpenAI allows 4; a few more cost nothing, thousands would cost every token. */
export const MAX_STOP_STRINGS = 16;
/** Longest stop string, characters. */
export const MAX_STOP_CHARS = 512;
/** Most chat messages per request. */
export const MAX_MESSAGES = 4096;
/** Largest max_tokens accepted (the context caps it further). */
export const MAX_TOKENS_LIMIT = 1 << 20;
/** Longest model id, characters. */
const MAX_MODEL_ID_CHARS = 256;

const nullish = <T extends z.ZodType>(schema: T) => schema.nullish();
const stop = z.union([
  z.string().max(MAX_STOP_CHARS),
  z.array(z.string().max(MAX_STOP_CHARS)).max(MAX_STOP_STRINGS),
]);

/** Fields shared by both endpoints. */
const common = {
  model: z.string().min(1).max(MAX_MODEL_ID_CHARS),
  max_tokens: nullish(z.number().int().min(1).max(MAX_TOKENS_LIMIT)),
  temperature: nullish(z.number().min(0).max(2)),
  top_p: nullish(z.number().min(0).max(1)),
  top_k: nullish(z.number().int().min(0).max(1 << 24)),
  min_p: nullish(z.number().min(0).max(1)),
  seed: nullish(z.number().int()),
  stop: nullish(stop),
  presence_penalty: nullish(z.number().min(-2).max(2)),
  frequency_penalty: nullish(z.number().min(-2).max(2)),
  repetition_penalty: nullish(z.number().gt(0).max(10)),
  stream: nullish(z.boolean()),
  stream_options: nullish(z.strictObject({ include_usage: nullish(z.boolean()) })),
  n: nullish(z.literal(1, { error: "only n = 1 is supported" })),
  user: nullish(z.string().max(256)),
  logit_bias: nullish(
    z.record(z.string(), z.number()).refine(
      (m) => Object.keys(m).length === 0,
      "logit_bias is not supported",
    ),
  ),
};

/** Body of POST /v1/completions. */
export const completionRequestSchema = z.strictObject({
  ...common,
  prompt: z.union([
    z.string(),
    z.array(z.string()).length(1, "only one prompt per request is supported"),
    z.array(z.number().int().min(0)).min(1),
    z.array(z.array(z.number().int().min(0)).min(1)).length(1, "only one prompt per request is supported"),
  ]),
  echo: nullish(z.literal(false, { error: "echo is not supported" })),
  suffix: nullish(z.literal("", { error: "suffix is not supported" })),
  best_of: nullish(z.literal(1, { error: "only best_of = 1 is supported" })),
  logprobs: nullish(z.literal(0, { error: "logprobs are not supported" })),
});

const textPart = z.strictObject({ type: z.literal("text"), text: z.string() });

/** One chat message. */
export const chatMessageSchema = z.strictObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(textPart).max(1024), z.null()]).optional(),
  name: z.string().max(256).optional(),
  tool_call_id: z.string().max(256).optional(),
});

/** Body of POST /v1/chat/completions. */
export const chatRequestSchema = z.strictObject({
  ...common,
  messages: z.array(chatMessageSchema).min(1, "messages must hold at least one message").max(MAX_MESSAGES),
  max_completion_tokens: nullish(z.number().int().min(1).max(MAX_TOKENS_LIMIT)),
  logprobs: nullish(z.literal(false, { error: "logprobs are not supported" })),
  top_logprobs: nullish(z.literal(0, { error: "top_logprobs are not supported" })),
  response_format: nullish(
    z.strictObject({ type: z.literal("text", { error: "only response_format text is supported" }) }),
  ),
  tools: nullish(z.array(z.unknown()).max(0, "tools are not supported")),
  tool_choice: nullish(z.literal("none", { error: "tool_choice is not supported" })),
  parallel_tool_calls: nullish(z.boolean()),
});

export type CompletionRequest = z.infer<typeof completionRequestSchema>;
export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;

type Issue = z.core.$ZodIssue;

/** The most specific message of an issue: inside a union, a non-type error of a branch beats "Invalid input". */
function innermost(issue: Issue): { path: PropertyKey[]; message: string } {
  if (issue.code === "invalid_union") {
    const branches = issue.errors.flat();
    const specific = branches.find((inner) =>
      inner.code !== "invalid_type" && inner.code !== "invalid_union"
    ) ??
      branches.find((inner) => inner.path.length > 0);
    if (specific) {
      const inner = innermost(specific);
      return { path: [...issue.path, ...inner.path], message: inner.message };
    }
    const expected = [...new Set(branches.map((b) => (b.code === "invalid_type" ? b.expected : b.code)))];
    return { path: issue.path, message: `Invalid input: expected ${expected.join(" or ")}` };
  }
  return { path: issue.path, message: issue.message };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("");
}

/**
 * Validates `body` against `schema`; throws a 400 ApiError naming the field.
 *
 * @example
 * ```ts
 * parseRequest(chatRequestSchema, { model: "m", messages: [] });
 * // throws ApiError 400 "messages: messages must hold at least one message" (param "messages")
 * ```
 */
export function parseRequest<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const where = formatPath(issue.path);
    const name = where ? `${where}.${key}` : key;
    throw badRequest(
      `Unrecognized request argument supplied: ${name.slice(0, 100)}`,
      name.slice(0, 100),
      "unknown_parameter",
    );
  }
  const { path, message } = innermost(issue);
  const param = formatPath(path);
  throw badRequest(`${param ? `${param}: ` : ""}${message}`, param || null, "invalid_value");
}

/** The sampling and stopping settings of a validated request, in the engine's terms. */
export interface GenerationSettings {
  readonly maxTokens?: number;
  readonly sampling: SamplingParams;
  readonly stop: string[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** the OpenAI `user` field: names the client for fair queueing when no API key does */
  readonly user?: string;
}

/** Maps a seed of any safe integer (OpenAI's are int64) onto the RNG's non-negative range. */
function seedOf(seed: number | null | undefined): number | undefined {
  if (seed === null || seed === undefined) return undefined;
  return seed >= 0 ? seed : Number.MAX_SAFE_INTEGER + 1 + seed;
}

/** Engine settings of either request; `maxTokens` comes from max_completion_tokens or max_tokens. */
export function generationSettings(request: CompletionRequest | ChatRequest): GenerationSettings {
  const maxTokens = ("max_completion_tokens" in request ? request.max_completion_tokens : undefined) ??
    request.max_tokens;
  const stopList = request.stop === null || request.stop === undefined
    ? []
    : typeof request.stop === "string"
    ? [request.stop]
    : request.stop;
  return {
    maxTokens: maxTokens ?? undefined,
    sampling: {
      temperature: request.temperature ?? 1,
      topK: request.top_k ?? 0,
      topP: request.top_p ?? 1,
      minP: request.min_p ?? 0,
      repetitionPenalty: request.repetition_penalty ?? 1,
      frequencyPenalty: request.frequency_penalty ?? 0,
      presencePenalty: request.presence_penalty ?? 0,
      seed: seedOf(request.seed),
    },
    stop: stopList.filter((s) => s !== ""),
    stream: request.stream ?? false,
    includeUsage: request.stream_options?.include_usage ?? false,
    user: request.user ?? undefined,
  };
}
