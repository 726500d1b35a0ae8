/**
 * Errors at the command-line edge. Every typed error the program knows becomes one line on stderr and
 * exit code 2; only an unexpected failure exits 1, and a stack trace is printed only with EDGERING_DEBUG=1.
 */
import { GgufError } from "../gguf/mod.ts";
import { ModelConfigError } from "../model/model_config.ts";
import { BackendUnavailableError } from "../backend/create_backend.ts";
import { TokenizerError } from "../tokenizer/mod.ts";

/** A mistake in how the program was called: unknown verb or flag, bad value, missing argument. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Exit code for usage errors and bad input files. */
export const EXIT_BAD_INPUT = 2;
/** Exit code for an unexpected internal failure. */
export const EXIT_INTERNAL = 1;

/** Maps an error to its one-line message and exit code. */
export function describeError(error: unknown): { message: string; code: number } {
  if (error instanceof UsageError) return { message: error.message, code: EXIT_BAD_INPUT };
  if (error instanceof GgufError) {
    // "io": the file could not be opened or read at all, which says nothing about its contents
    return {
      message: error.kind === "io" ? error.message : `bad GGUF file: ${error.message}`,
      code: EXIT_BAD_INPUT,
    };
  }
  if (error instanceof ModelConfigError) {
    return { message: `unsupported model: ${error.message}`, code: EXIT_BAD_INPUT };
  }
  if (error instanceof BackendUnavailableError) return { message: error.message, code: EXIT_BAD_INPUT };
  if (error instanceof TokenizerError) {
    return { message: `tokenizer: ${error.message}`, code: EXIT_BAD_INPUT };
  }
  if (error instanceof Deno.errors.NotFound) {
    return { message: `not found: ${error.message}`, code: EXIT_BAD_INPUT };
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return { message: `permission denied: ${error.message}`, code: EXIT_BAD_INPUT };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { message: `internal error: ${message}`, code: EXIT_INTERNAL };
}
