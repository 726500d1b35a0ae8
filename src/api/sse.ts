/**
 * Server-Sent Events as OpenAI streams them: one `data: JSON` event per chunk, a blank line after each,
 * and `data: [DONE]` at the end.
 */

const encoder = new TextEncoder();

/** One event carrying `value` as JSON. */
export function sseEvent(value: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(value)}\n\n`);
}

/** The terminating event. */
export const SSE_DONE: Uint8Array = encoder.encode("data: [DONE]\n\n");

/** A 200 response streaming `body` as text/event-stream, with proxy buffering off. */
export function sseResponse(body: ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}
