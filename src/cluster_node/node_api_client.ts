/**
 * The client side of the cluster routes of a running node's API (`edgering status`, `edgering keys`):
 * one request, the API key as a bearer token, and every failure as a {@link NodeApiError} with one
 * line that says what to do.
 *
 * @example
 * ```ts
 * const status = await fetchClusterStatus({ addr: "127.0.0.1:8080", apiKey: Deno.env.get("EDGERING_API_KEY") });
 * ```
 *
 * @module
 */
import type { KeyListing, KeyOperation } from "./cluster_control.ts";
import { ClusterError } from "./cluster_errors.ts";
import type { ClusterStatus } from "./cluster_status.ts";

/** A request to a node's API failed; the message is one line for the terminal. */
export class NodeApiError extends ClusterError {
  override name = "NodeApiError";
}

/** Where the node's API is and how to authenticate. */
export interface NodeApiTarget {
  /** "host:port" (or a full http(s) URL) of the node's API. */
  addr: string;
  apiKey?: string;
  /** Request timeout, ms. */
  timeoutMs?: number;
}

/** Default API address (`edgering serve`'s default --host and --port). */
export const DEFAULT_API_ADDR = "127.0.0.1:8080";
/** Default request timeout, ms. */
const DEFAULT_TIMEOUT_MS = 10_000;

/** `GET /cluster/status`. */
export async function fetchClusterStatus(target: NodeApiTarget): Promise<ClusterStatus> {
  const body = await request(target, "GET", "/cluster/status");
  const status = body as ClusterStatus;
  if (typeof status !== "object" || status === null || !Array.isArray(status.members) || !status.info) {
    throw new NodeApiError(`${baseUrl(target.addr)}/cluster/status did not answer with a cluster status`);
  }
  return status;
}

/** `GET /cluster/keys`. */
export async function fetchKeys(target: NodeApiTarget): Promise<KeyListing> {
  return await request(target, "GET", "/cluster/keys") as KeyListing;
}

/** `POST /cluster/keys`. */
export async function changeKeys(target: NodeApiTarget, op: KeyOperation, key: string): Promise<KeyListing> {
  return await request(target, "POST", "/cluster/keys", { op, key }) as KeyListing;
}

/** "http://host:port" from "host:port" or a URL. */
export function baseUrl(addr: string): string {
  const trimmed = addr.trim().replace(/\/+$/, "");
  return /^https?:\/\//.test(trimmed) ? trimmed : `http://${trimmed}`;
}

async function request(
  target: NodeApiTarget,
  method: string,
  path: string,
  json?: unknown,
): Promise<unknown> {
  const url = `${baseUrl(target.addr)}${path}`;
  const headers: Record<string, string> = {};
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  if (json !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(target.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    const reason = error instanceof DOMException && error.name === "TimeoutError"
      ? "no answer in time"
      : (error as Error).message.split("\n")[0];
    throw new NodeApiError(`cannot reach ${url}: ${reason} (is 'edgering serve' running there? see --addr)`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new NodeApiError(`${url} answered ${response.status} without JSON: is that an edgering node?`);
  }
  if (response.ok) return body;
  const message = (body as { error?: { message?: string } })?.error?.message ?? `HTTP ${response.status}`;
  if (response.status === 401) {
    throw new NodeApiError(
      `${url}: the node wants an API key: pass --api-key or set EDGERING_API_KEY (${message})`,
    );
  }
  throw new NodeApiError(`${url}: ${message}`);
}
