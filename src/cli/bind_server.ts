/**
 * Binding the API port of `edgering serve`. It is bound before the model is found, so `/health`
 * answers "loading" during a download and a port in use fails at once, with a one-line hint.
 */
import type { ServeConfig } from "../config/mod.ts";
import { UsageError } from "./cli_error.ts";

/**
 * Serves `handler` on `config.host:config.port` (port 0: any free port, read it from `addr.port`);
 * failing to bind becomes a one-line {@link UsageError} naming the address and the likely cause.
 *
 * @example
 * ```ts
 * const server = bindServer(config, (_request) => Promise.resolve(new Response("ok")));
 * console.log(server.addr.port);
 * await server.shutdown();
 * ```
 */
export function bindServer(
  config: ServeConfig,
  handler: (request: Request) => Promise<Response>,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({ hostname: config.host, port: config.port, onListen() {} }, handler);
  } catch (error) {
    const reason = error instanceof Deno.errors.AddrInUse
      ? "the address is in use (pick another with --port)"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied (ports below 1024 need privileges)"
      : (error as Error).message;
    throw new UsageError(`serve: cannot bind ${config.host}:${config.port}: ${reason}`);
  }
}
