/**
 * `edgering keys list|install|use|remove|generate`: the cluster key ring of a running node, through its
 * API (`/cluster/keys`). A rotation across a live ring is three rounds, each run against every node:
 *
 *   edgering keys install NEW --addr node:8080   (every node now decrypts NEW too)
 *   edgering keys use NEW --addr node:8080       (every node now encrypts with NEW)
 *   edgering keys remove OLD --addr node:8080    (OLD no longer opens anything)
 *
 * Keys are named by fingerprint (`sha256:…`) in every listing; `use` and `remove` accept a fingerprint
 * prefix, so the old key never needs to be typed again. The node accepts key changes only with its API
 * key, or from its own host when it has none (the API is plain HTTP: run the verb on the node's host, or
 * through an SSH tunnel, so keys never cross the network in the clear). KEY may be `-` to read it from
 * standard input, which keeps it out of the process list.
 */
import {
  changeKeys,
  fetchKeys,
  generateClusterKeyText,
  type KeyListing,
  type KeyOperation,
  NodeApiError,
} from "../cluster_node/mod.ts";
import { UsageError } from "./cli_error.ts";
import type { Verb } from "./verb.ts";
import { NODE_API_FLAGS, nodeTarget } from "./status_command.ts";

const ACTIONS = ["list", "install", "use", "remove", "generate"] as const;

export const keysVerb: Verb = {
  name: "keys",
  usage: "edgering keys list|install KEY|use KEY|remove KEY|generate [--addr HOST:PORT] [--json]",
  summary:
    "Lists or rotates the cluster key ring of a running node: install a new key, use it for encryption,\n" +
    "remove the old one (run each step on every node). 'generate' prints a fresh random key.",
  flags: { ...NODE_API_FLAGS, json: { type: "boolean", help: "print the key listing as JSON" } },
  async run(flags, io) {
    const [action, key, ...extra] = flags.positionals;
    if (!ACTIONS.includes(action as typeof ACTIONS[number])) {
      throw new UsageError(`keys: give an action: ${ACTIONS.join(", ")}`);
    }
    const wantsKey = action === "install" || action === "use" || action === "remove";
    if (extra.length > 0 || (wantsKey ? key === undefined : key !== undefined)) {
      throw new UsageError(
        wantsKey
          ? `keys ${action}: give exactly one KEY (or - to read it from stdin)`
          : `keys ${action}: takes no argument`,
      );
    }
    if (action === "generate") {
      io.stdout(generateClusterKeyText() + "\n");
      return 0;
    }
    try {
      const target = nodeTarget(flags);
      const listing = action === "list"
        ? await fetchKeys(target)
        : await changeKeys(target, action as KeyOperation, key === "-" ? await readStdinKey() : key);
      io.stdout(flags.values.json ? JSON.stringify(listing, null, 2) + "\n" : formatKeyListing(listing));
      if (listing.warning) io.stderr(`edgering: keys: warning: ${listing.warning}\n`);
      return 0;
    } catch (error) {
      if (error instanceof NodeApiError) throw new UsageError(`keys ${action}: ${error.message}`);
      throw error;
    }
  },
};

/** The listing as text: one line per key, primary first. */
export function formatKeyListing(listing: KeyListing): string {
  if (!listing.encrypted) return `${listing.node}: insecure ring, no keys (started with --insecure)\n`;
  const lines = [`${listing.node}: ${listing.keys.length} key(s); the primary encrypts, all decrypt`];
  for (const k of listing.keys) {
    lines.push(`  ${k.fingerprint}  ${k.bytes * 8}-bit${k.primary ? "  primary" : ""}`);
  }
  return lines.join("\n") + "\n";
}

/** Largest key text read from stdin, bytes. */
const STDIN_KEY_MAX_BYTES = 1024;

async function readStdinKey(): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of Deno.stdin.readable) {
    chunks.push(chunk);
    total += chunk.length;
    if (total > STDIN_KEY_MAX_BYTES) {
      throw new UsageError(`keys: more than ${STDIN_KEY_MAX_BYTES} bytes on stdin`);
    }
  }
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))).trim();
  if (text === "") throw new UsageError("keys: no key on stdin");
  return text;
}
