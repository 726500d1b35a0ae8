/**
 * Giving the event loop one turn between engine steps, cheaply.
 *
 * The engine loop computes synchronously; sockets (new requests, SSE writes, client disconnects) are only
 * served when the event loop polls. `setTimeout(0)` forces that poll but costs about 2 ms in Deno (timer
 * granularity), which on a fast backend would be a large share of a step. An async op that completes at
 * once costs one poll instead: a SHA-1 of zero bytes resolves on the next turn, after the poll has run,
 * in about 50 µs. The digest itself is irrelevant; the await is the point.
 */

const EMPTY = new Uint8Array(0);

/**
 * Resolves after the event loop has polled I/O once.
 *
 * @example
 * ```ts
 * for (;;) {
 *   runStep();
 *   await eventLoopTurn(); // HTTP requests and socket writes progress here
 * }
 * ```
 */
export async function eventLoopTurn(): Promise<void> {
  await crypto.subtle.digest("SHA-1", EMPTY);
}
