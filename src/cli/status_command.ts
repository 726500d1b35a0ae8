/**
 * `edgering status`: the gossip ring as a running node sees it, from its API (`GET /cluster/status`):
 * a member table in the manner of `serf members` (suspects shown as such) and an info block with
 * member counts, encryption, protocol version, queue depths and packet counters — or the JSON
 * document itself with --json.
 */
import {
  DEFAULT_API_ADDR,
  fetchClusterStatus,
  filterMembers,
  formatStatusTable,
  MEMBER_STATUSES,
  type MemberStatusName,
  NodeApiError,
} from "../cluster_node/mod.ts";
import { UsageError } from "./cli_error.ts";
import type { FlagTable, ParsedFlags } from "./flags.ts";
import type { Verb } from "./verb.ts";

/** Flags shared by the verbs that talk to a running node. */
export const NODE_API_FLAGS: FlagTable = {
  addr: { type: "string", help: `API address of the node, HOST:PORT or URL (default ${DEFAULT_API_ADDR})` },
  "api-key": { type: "string", help: "API key of the node (default: first of EDGERING_API_KEY)" },
};

/** The node to talk to, from --addr / --api-key or EDGERING_ADDR / EDGERING_API_KEY. */
export function nodeTarget(flags: ParsedFlags): { addr: string; apiKey?: string } {
  const addr = typeof flags.values.addr === "string" ? flags.values.addr : Deno.env.get("EDGERING_ADDR");
  const flagKey = typeof flags.values["api-key"] === "string" ? flags.values["api-key"] : undefined;
  const envKey = Deno.env.get("EDGERING_API_KEY")?.split(",")[0]?.trim();
  return { addr: addr || DEFAULT_API_ADDR, apiKey: flagKey || envKey || undefined };
}

export const statusVerb: Verb = {
  name: "status",
  usage: "edgering status [--addr HOST:PORT] [--json] [--status alive|suspect|dead|left]",
  summary:
    "Shows the gossip ring as a running node sees it: each member's address, status, incarnation, backend,\n" +
    "throughput score, load, layers held, last RTT and health, then counters (encryption, queues, drops).",
  flags: {
    ...NODE_API_FLAGS,
    json: { type: "boolean", help: "print the status document as JSON" },
    status: { type: "string", help: `only members in this state: ${MEMBER_STATUSES.join("|")}` },
  },
  async run(flags, io) {
    if (flags.positionals.length > 0) {
      throw new UsageError(`status: unexpected argument "${flags.positionals[0]}"`);
    }
    const wanted = flags.values.status;
    if (wanted !== undefined && !MEMBER_STATUSES.includes(wanted as MemberStatusName)) {
      throw new UsageError(`status: --status must be one of ${MEMBER_STATUSES.join(", ")}, got "${wanted}"`);
    }
    const filter = { status: wanted as MemberStatusName | undefined };
    try {
      const status = await fetchClusterStatus(nodeTarget(flags));
      if (flags.values.json) {
        io.stdout(JSON.stringify({ ...status, members: filterMembers(status, filter) }, null, 2) + "\n");
      } else io.stdout(formatStatusTable(status, filter));
      return 0;
    } catch (error) {
      if (error instanceof NodeApiError) throw new UsageError(`status: ${error.message}`);
      throw error;
    }
  },
};
