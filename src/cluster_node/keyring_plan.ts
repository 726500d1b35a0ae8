/**
 * Which cluster keys a starting node uses, and whether that needs saving — the "secure by default"
 * rule as one pure decision:
 *
 * | state dir key ring | --cluster-key | --join | result                                            |
 * | ------------------ | ------------- | ------ | ------------------------------------------------- |
 * | (any)              | with --insecure        | | error: they contradict                            |
 * | (any)              | —, --insecure |        | no encryption (a kept ring is left untouched)     |
 * | kept               | —             |        | the kept ring                                     |
 * | kept               | K in it       |        | the kept ring, order kept (a rotation wins)       |
 * | kept               | K not in it   |        | kept ring + K as a secondary key, saved, noted    |
 * | none               | K             |        | [K], saved                                        |
 * | none               | —             | no     | a generated key, saved; the join command printed  |
 * | none               | —             | yes    | error: joining needs the ring's key               |
 *
 * The kept ring wins over the flag (as in Serf) because after `edgering keys` rotated the ring, a
 * stale `--cluster-key` in a service file would otherwise make the restarted node encrypt with a key
 * nobody accepts any more.
 *
 * @example
 * ```ts
 * const plan = planKeyring({ insecure: false, joining: false, generate: () => randomKey() });
 * plan.generated; // true: print the join command
 * ```
 *
 * @module
 */
import { ClusterConfigError } from "./cluster_errors.ts";
import { sameKey } from "./key_fingerprint.ts";

/** What the decision reads. */
export interface KeyringInputs {
  /** From --cluster-key (or its variable / file key). */
  flagKey?: Uint8Array;
  /** The key ring kept in the state directory, primary first. */
  stored?: readonly Uint8Array[];
  insecure: boolean;
  /** True when the node has seeds to join. */
  joining: boolean;
  /** Makes a fresh key (injected: the decision itself stays pure). */
  generate: () => Uint8Array;
}

/** The decision. */
export interface KeyringPlan {
  /** Keys, primary first; undefined = unencrypted ring. */
  keys?: Uint8Array[];
  /** The key was generated now: save it and print the join command. */
  generated: boolean;
  /** The key ring differs from the kept one and must be saved. */
  save: boolean;
  /** Things worth one log line each. */
  notes: string[];
}

/** Decides the key ring; throws {@link ClusterConfigError} naming the flags to fix. */
export function planKeyring(input: KeyringInputs): KeyringPlan {
  const { flagKey, stored, insecure } = input;
  if (insecure && flagKey) {
    throw new ClusterConfigError("--insecure and --cluster-key contradict each other: drop one");
  }
  if (insecure) {
    const notes = stored?.length
      ? ["the key ring kept in the state directory is not used under --insecure (it is kept)"]
      : [];
    return { generated: false, save: false, notes };
  }
  if (stored && stored.length > 0) {
    if (!flagKey || stored.some((k) => sameKey(k, flagKey))) {
      const notes = flagKey && !sameKey(stored[0], flagKey)
        ? [
          "--cluster-key is a secondary key of the kept key ring; its primary (set by a rotation) stays in use",
        ]
        : [];
      return { keys: [...stored], generated: false, save: false, notes };
    }
    return {
      keys: [...stored, flagKey],
      generated: false,
      save: true,
      notes: [
        "--cluster-key is not in the key ring kept in the state directory: installed it as a secondary key " +
        "(the kept primary still encrypts; 'edgering keys use' switches, or delete keyring.json to start over)",
      ],
    };
  }
  if (flagKey) return { keys: [flagKey], generated: false, save: true, notes: [] };
  if (input.joining) {
    throw new ClusterConfigError(
      "joining a ring needs its key: pass --cluster-key (the first node printed its join command) " +
        "or --insecure for an unencrypted ring",
    );
  }
  return { keys: [input.generate()], generated: true, save: true, notes: [] };
}
