/**
 * The lines a serving node prints about its ring: how the ring was set up (once, when the node is
 * ready; for a new ring with a generated key the only place that key is ever shown) and one line per
 * membership change worth an operator's attention.
 *
 * Separate from {@link ClusterNode} (cluster_node.ts) because the wording is operator-facing text
 * decided from plain facts — settings, address, keys — and is read and changed apart from the node's
 * membership logic. Pure, apart from hashing the primary key for its fingerprint.
 *
 * @module
 */
import type { MemberEvent } from "../../cluster/gossip/mod.ts";
import type { ClusterSettings } from "./cluster_settings.ts";
import { encodeKey, keyFingerprint } from "./key_fingerprint.ts";

/** What {@link describeRing} tells. */
export interface RingFacts {
  readonly settings: Pick<ClusterSettings, "name" | "profile" | "seeds">;
  /** gossip "host:port" of this node */
  readonly address: string;
  /** the ring's keys, primary first; undefined on an unencrypted ring */
  readonly keys: readonly Uint8Array[] | undefined;
  /** the key was generated at start (a new ring) */
  readonly generated: boolean;
  /** where the key ring is kept */
  readonly keyringPath: string;
}

/**
 * Lines that tell the operator how the ring was set up: where the node listens, whether it joins or
 * waits, the encryption, and for a new ring the command that joins it.
 *
 * @example
 * ```ts
 * for (const line of await describeRing({ settings, address: "10.0.0.1:7946", keys: undefined,
 *   generated: false, keyringPath })) console.error(line);
 * // ring: started a new ring as a on 10.0.0.1:7946 (profile lan) · encryption OFF
 * // ring: join it with: edgering serve --join 10.0.0.1:7946 --insecure
 * ```
 */
export async function describeRing(facts: RingFacts): Promise<string[]> {
  const { settings: s, address, keys, generated } = facts;
  const where = `as ${s.name} on ${address} (profile ${s.profile})`;
  const enc = keys ? `encryption on, primary key ${await keyFingerprint(keys[0])}` : "encryption OFF";
  if (s.seeds.length > 0) return [`ring: joining through ${s.seeds.join(", ")} ${where} · ${enc}`];
  const started = generated || !keys ? "started a new ring" : "no seeds: waiting for others to join";
  const lines = [`ring: ${started} ${where} · ${enc}`];
  if (keys && generated) {
    lines[0] += ` (generated, kept in ${facts.keyringPath})`;
  }
  if (keys && generated || !keys) {
    const profile = s.profile === "lan" ? "" : ` --profile ${s.profile}`;
    const secret = keys ? ` --cluster-key ${encodeKey(keys[0])}` : " --insecure";
    lines.push(`ring: join it with: edgering serve --join ${address}${secret}${profile}`);
  }
  return lines;
}

/**
 * One log line per membership change worth an operator's attention; undefined for metadata updates.
 *
 * @example
 * ```ts
 * worker.onEvent = (e) => {
 *   const line = describeEvent(e);
 *   if (line) console.error(`ring: ${line}`); // ring: b failed (declared dead by c)
 * };
 * ```
 */
export function describeEvent(e: MemberEvent): string | undefined {
  const m = e.member;
  switch (e.type) {
    case "join":
      return `${m.name} joined (${m.addr})`;
    case "left":
      return `${m.name} left`;
    case "dead":
      return `${m.name} failed (declared dead${e.from ? ` by ${e.from}` : ""})`;
    case "suspect":
      return `${m.name} is suspect${e.from ? ` (reported by ${e.from})` : ""}`;
    case "alive":
      return `${m.name} is alive again`;
    case "conflict":
      return `name conflict: ${m.name} at ${m.addr} is also claimed by ${e.from ?? "another address"}`;
    case "update":
      return undefined;
  }
}
