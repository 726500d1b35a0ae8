/**
 * What the HTTP API may ask of the node's cluster membership (`GET /cluster/status`,
 * `GET|POST /cluster/keys`). The API depends on this interface only; {@link ClusterNode} implements
 * it.
 *
 * @module
 */
import type { ClusterStatus } from "./cluster_status.ts";

/** An installed cluster key, named by its fingerprint (keys themselves are never shown). */
export interface KeyEntry {
  /** `sha256:` + 16 hex digits. */
  fingerprint: string;
  /** Key size, bytes (16, 24, 32). */
  bytes: number;
  /** The primary key encrypts; every installed key decrypts. */
  primary: boolean;
}

/** The key ring of one node. */
export interface KeyListing {
  /** The node that answered. */
  node: string;
  /** False on an insecure ring (then `keys` is empty). */
  encrypted: boolean;
  keys: KeyEntry[];
  /** Set when the change took effect but could not be saved in the state directory. */
  warning?: string;
}

/** Key ring operations, in the order of a rotation: install → use → remove. */
export type KeyOperation = "install" | "use" | "remove";

/** The cluster as the API sees it. */
export interface ClusterControl {
  status(): Promise<ClusterStatus>;
  listKeys(): Promise<KeyListing>;
  /**
   * Changes the key ring. `key` is a base64 key for install; for use and remove, a key or a
   * fingerprint (prefix of at least 8 hex digits). Throws `ClusterKeyError` when refused.
   */
  changeKeys(op: KeyOperation, key: string): Promise<KeyListing>;
}
