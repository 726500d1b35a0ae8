/**
 * Giving the event loop one turn between engine steps, cheaply.
 *
 * The engine loop computes synchronously; sockets (new requests, SSE writes, client disconnects) are only
 * served when the event loop polls. `setTimeout(0)` forces that poll but costs about 2 ms in Deno (timer
 * granularity), which on a fast backend would be a large share of a step. An async op that completes at
 * once costs one poll instead: a SHA-1 of zero bytes resolves on the next turn, after the poll has run,
 * in 10–20 µs once warm (about 50 µs cold). The digest itself is irrelevant; the await is the point.
 *
 * The serving loop takes two turns per step ({@link eventLoopTurns}): with one, a response's first
 * bytes waited for many steps under load — a streaming client with an event loop of its own saw its
 * first token 176 ms after the request at one stream, 4 ms with two — since starting a response takes
 * several hops between JS and the HTTP server's Rust side.
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

/**
 * `n` turns in a row.
 *
 * @example
 * ```ts
 * await eventLoopTurns(2); // what the serving loop gives the HTTP server between steps
 * ```
 */
export async function eventLoopTurns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await eventLoopTurn();
}
