/**
 * A node's state directory: what must survive a restart.
 *
 *   keyring.json   {"version": 1, "keys": ["BASE64", …]}   primary first; mode 0600 (it is the ring's
 *                                                           secret)
 *   node.json      {"version": 1, "id": "UUID", "incarnation": N}
 *
 * The incarnation is kept so that a node restarted within the same second as a refutation still
 * starts above everything its former self announced (incarnations are otherwise the Unix second at
 * start). Writes go to a temporary file renamed over the old one, so a crash never leaves half a file.
 *
 * @example
 * ```ts
 * const dir = await StateDir.open("/home/ada/.local/state/edgering/node-a");
 * const node = await dir.readNode(); // { id, incarnation } or undefined
 * await dir.writeKeyring([key]);
 * ```
 *
 * @module
 */
import { StateDirError } from "./cluster_errors.ts";
import { decodeKey, encodeKey } from "./key_fingerprint.ts";

/** Format version of both files. */
export const STATE_FORMAT_VERSION = 1;
/** Largest state file read, in bytes: both are a few hundred bytes; anything larger is not ours. */
const STATE_FILE_MAX_BYTES = 64 * 1024;
/** Keys kept in the ring file at most (a rotation needs two; more is a mistake). */
export const KEYRING_MAX_KEYS = 16;

/** The persistent identity of a node. */
export interface NodeRecord {
  /** Stable node id (UUID), advertised in the capabilities. */
  id: string;
  /** Highest incarnation this node is known to have used. */
  incarnation: number;
}

export class StateDir {
  private constructor(readonly path: string) {}

  /** Creates the directory (mode 0700) if needed. Throws {@link StateDirError}. */
  static async open(path: string): Promise<StateDir> {
    try {
      await Deno.mkdir(path, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new StateDirError(`cannot create state directory ${path}: ${reason(error)}`);
    }
    return new StateDir(path);
  }

  get keyringPath(): string {
    return `${this.path}/keyring.json`;
  }

  get nodePath(): string {
    return `${this.path}/node.json`;
  }

  /** The kept key ring, primary first, or undefined when there is none. */
  async readKeyring(): Promise<Uint8Array[] | undefined> {
    const doc = await this.#read(this.keyringPath);
    if (doc === undefined) return undefined;
    const keys = doc.keys;
    if (!Array.isArray(keys) || keys.length === 0 || keys.length > KEYRING_MAX_KEYS) {
      throw this.#invalid(this.keyringPath, `"keys" must list 1..${KEYRING_MAX_KEYS} base64 keys`);
    }
    return keys.map((k, i) => {
      if (typeof k !== "string") throw this.#invalid(this.keyringPath, `keys[${i}] is not a string`);
      try {
        return decodeKey(k);
      } catch (error) {
        throw this.#invalid(this.keyringPath, `keys[${i}]: ${(error as Error).message}`);
      }
    });
  }

  /** Replaces the kept key ring (mode 0600). */
  async writeKeyring(keys: readonly Uint8Array[]): Promise<void> {
    await this.#write(this.keyringPath, { version: STATE_FORMAT_VERSION, keys: keys.map(encodeKey) });
  }

  /** The node record, or undefined when there is none. */
  async readNode(): Promise<NodeRecord | undefined> {
    const doc = await this.#read(this.nodePath);
    if (doc === undefined) return undefined;
    const { id, incarnation } = doc;
    if (typeof id !== "string" || !/^[0-9a-f-]{8,64}$/i.test(id)) {
      throw this.#invalid(this.nodePath, `"id" must be a UUID`);
    }
    if (
      typeof incarnation !== "number" || !Number.isInteger(incarnation) || incarnation < 0 ||
      incarnation > 0xffff_ffff
    ) {
      throw this.#invalid(this.nodePath, `"incarnation" must be an integer in [0, 2^32)`);
    }
    return { id, incarnation };
  }

  async writeNode(record: NodeRecord): Promise<void> {
    await this.#write(this.nodePath, { version: STATE_FORMAT_VERSION, ...record });
  }

  async #read(path: string): Promise<Record<string, unknown> | undefined> {
    let text: string;
    try {
      const info = await Deno.stat(path);
      if (!info.isFile || info.size > STATE_FILE_MAX_BYTES) {
        throw this.#invalid(path, `not a regular file of at most ${STATE_FILE_MAX_BYTES} bytes`);
      }
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      if (error instanceof StateDirError) throw error;
      throw new StateDirError(`cannot read state file ${path}: ${reason(error)}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw this.#invalid(path, "not JSON");
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
      throw this.#invalid(path, "not an object");
    }
    const record = doc as Record<string, unknown>;
    if (record.version !== STATE_FORMAT_VERSION) {
      throw this.#invalid(
        path,
        `format version ${JSON.stringify(record.version)}, expected ${STATE_FORMAT_VERSION}`,
      );
    }
    return record;
  }

  async #write(path: string, doc: unknown): Promise<void> {
    const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(doc) + "\n", { mode: 0o600 });
      await Deno.rename(tmp, path);
    } catch (error) {
      await Deno.remove(tmp).catch(() => {});
      throw new StateDirError(`cannot write state file ${path}: ${reason(error)}`);
    }
  }

  #invalid(path: string, why: string): StateDirError {
    return new StateDirError(`state file ${path} is unusable (${why}); fix or delete it`);
  }
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return "permission denied";
  }
  return error instanceof Error ? error.message : String(error);
}
