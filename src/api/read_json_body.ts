/**
 * Reading a JSON request body under a byte limit. The declared Content-Length is checked first, then the
 * bytes are counted as they arrive, so an oversized body is refused (413) without ever being held whole;
 * invalid UTF-8 and invalid JSON are 400s naming what is wrong.
 */
import { ApiError, badRequest } from "./api_error.ts";

/** Reads and parses the body of `request`; throws ApiError (400, 413). Resolves to a JSON object. */
export async function readJsonBody(request: Request, limitBytes: number): Promise<Record<string, unknown>> {
  const tooLarge = (size: string) =>
    new ApiError(
      413,
      `request body of ${size} is over the limit of ${limitBytes} bytes`,
      "invalid_request_error",
      "request_too_large",
    );
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limitBytes) {
    throw tooLarge(`${declared} bytes`);
  }
  if (!request.body) throw badRequest("the request has no body; send a JSON object");
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limitBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(`more than ${limitBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw badRequest("could not read the request body (connection closed?)");
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw badRequest("the request body is not valid UTF-8");
  }
  if (text.trim() === "") throw badRequest("the request body is empty; send a JSON object");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`the request body is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("the request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
