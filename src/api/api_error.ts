/**
 * The one place where errors become HTTP responses, in OpenAI's shape:
 * `{"error": {"message", "type", "param", "code"}}`.
 *
 * Typed errors from the layers below map to fixed status codes (see {@link toApiError}); anything
 * unexpected becomes a 500 whose body says only "internal error" — never a stack trace, which is logged
 * instead.
 */
import { ContextOverflowError } from "../engine/generate.ts";
import { SamplerError } from "../engine/sampler.ts";
import { DrainingError, EngineError, QueueFullError } from "../engine/scheduler_errors.ts";
import { TokenizerError } from "../tokenizer/mod.ts";
import { NoPipelineError, PipelineSequenceError } from "../../cluster/pipeline/pipeline_errors.ts";

/** OpenAI's error types. */
export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error";

/** An error with its HTTP status and OpenAI error fields. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly code: string | null = null,
    readonly param: string | null = null,
    /** extra response headers (Retry-After, WWW-Authenticate) */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** 400 for a request that is malformed or asks for something unsupported. */
export function badRequest(
  message: string,
  param: string | null = null,
  code: string | null = null,
): ApiError {
  return new ApiError(400, message, "invalid_request_error", code, param);
}

/** The JSON body of an error response. */
export function errorBody(
  error: ApiError,
): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

/** An error response with JSON body and the error's headers. */
export function errorResponse(error: ApiError): Response {
  return new Response(JSON.stringify(errorBody(error)), {
    status: error.status,
    headers: { "content-type": "application/json", ...error.headers },
  });
}

/**
 * Maps any thrown value to an ApiError. `retryAfterSeconds` is what a 429 advertises.
 *
 * | error                 | status | code                    |
 * | --------------------- | ------ | ----------------------- |
 * | ApiError              | its own                          |
 * | ContextOverflowError  | 400    | context_length_exceeded |
 * | SamplerError          | 400    | invalid_sampling        |
 * | TokenizerError        | 400    | invalid_prompt          |
 * | QueueFullError        | 429    | queue_full              |
 * | DrainingError         | 503    | draining                |
 * | NoPipelineError       | 503    | no_pipeline             |
 * | PipelineSequenceError | 503    | pipeline_failed         |
 * | EngineError, other    | 500    | internal_error          |
 */
export function toApiError(error: unknown, retryAfterSeconds = 1): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ContextOverflowError) {
    return new ApiError(
      400,
      `This model's maximum context length is ${error.ctx} tokens, but the prompt has ${error.promptTokens} tokens ` +
        `(at least one position must be left for the completion). Shorten the prompt.`,
      "invalid_request_error",
      "context_length_exceeded",
      "prompt",
    );
  }
  if (error instanceof SamplerError) return badRequest(error.message, null, "invalid_sampling");
  if (error instanceof TokenizerError) {
    return badRequest(`cannot tokenize the prompt: ${error.message}`, "prompt", "invalid_prompt");
  }
  if (error instanceof QueueFullError) {
    return new ApiError(429, error.message, "rate_limit_error", "queue_full", null, {
      "retry-after": String(retryAfterSeconds),
    });
  }
  if (error instanceof DrainingError) return new ApiError(503, error.message, "server_error", "draining");
  if (error instanceof NoPipelineError) {
    // the cluster has no plan that covers the model (too few nodes, or memory too small): retry later
    return new ApiError(503, error.message, "server_error", "no_pipeline", null, {
      "retry-after": String(retryAfterSeconds),
    });
  }
  if (error instanceof PipelineSequenceError) {
    return new ApiError(503, error.message, "server_error", "pipeline_failed");
  }
  if (error instanceof EngineError) {
    return new ApiError(500, "internal error while generating", "server_error", "internal_error");
  }
  return new ApiError(500, "internal error", "server_error", "internal_error");
}
