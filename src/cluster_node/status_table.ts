/**
 * `edgering status` output: a member table in the manner of `serf members`, then an info block.
 *
 *   NAME    ADDRESS          STATUS   INC         BACKEND    SCORE      LOAD               LAYERS               RTT     HEALTH
 *   node-a  127.0.0.1:7946   alive    1732370001  reference  1.2 GB/s   q0 a1 31.5t/s 40%  stories260K:0-4      -       0
 *   node-b  127.0.0.1:7947   suspect  1732370004  reference  1.1 GB/s   q2 a8 80.1t/s 100% stories260K:0-4      0.4ms   1
 *
 * Pure: a {@link ClusterStatus} in, text out.
 *
 * @example
 * ```ts
 * console.log(formatStatusTable(status, { status: "suspect" }));
 * ```
 *
 * @module
 */
import type { ClusterStatus, MemberRow, MemberStatusName } from "./cluster_status.ts";
import { formatPipeline } from "./pipeline_status.ts";

/** Which rows to show. */
export interface StatusFilter {
  /** Only members in this state. */
  status?: MemberStatusName;
}

const COLUMNS = ["NAME", "ADDRESS", "STATUS", "INC", "BACKEND", "SCORE", "LOAD", "LAYERS", "RTT", "HEALTH"];

/** Members of `status` that pass `filter`, in the document's order. */
export function filterMembers(status: ClusterStatus, filter: StatusFilter): MemberRow[] {
  return status.members.filter((m) => filter.status === undefined || m.status === filter.status);
}

/** The table and the info block, newline-terminated. */
export function formatStatusTable(status: ClusterStatus, filter: StatusFilter = {}): string {
  const rows = filterMembers(status, filter).map((m) => [
    m.self ? `${m.name}*` : m.name,
    m.address,
    m.status,
    String(m.incarnation),
    m.backend,
    m.score ? formatRate(m.score) : "-",
    m.load ? formatLoad(m.load) : "-",
    m.layers.length > 0 ? m.layers.map((l) => `${l.model}:${l.first}-${l.last}`).join(",") : "-",
    m.rttMs !== undefined ? `${formatMs(m.rttMs)}` : "-",
    m.healthScore !== undefined ? String(m.healthScore) : "-",
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = [line(COLUMNS), ...rows.map(line)];
  if (rows.length === 0) out.push(`(no ${filter.status ?? ""} members)`.replace("  ", " "));
  const problems = filterMembers(status, filter).filter((m) => m.problem);
  for (const m of problems) out.push(`! ${m.name}: ${m.problem}`);
  out.push("", ...formatInfo(status));
  if (status.pipeline) out.push(...formatPipeline(status.pipeline));
  return out.join("\n") + "\n";
}

/** The info block lines. */
export function formatInfo(status: ClusterStatus): string[] {
  const i = status.info;
  const m = i.members;
  const p = i.packets;
  const join = i.seeds.length === 0
    ? "started a new ring"
    : i.joined
    ? `joined through ${i.seeds.join(", ")}`
    : `not joined yet (seeds ${i.seeds.join(", ")}${i.joinError ? `: ${i.joinError}` : ""})`;
  return [
    `node:       ${i.name}* · gossip ${i.address} · api ${i.apiAddr} · incarnation ${i.incarnation} · health ${i.healthScore}`,
    `ring:       ${join} · profile ${i.profile} · protocol ${i.protocol.cur} (${i.protocol.min}..${i.protocol.max})`,
    `encryption: ${
      i.encrypted ? `on (AES-GCM, ${i.keys} key${i.keys === 1 ? "" : "s"})` : "OFF (insecure ring)"
    }`,
    `members:    ${m.total} known: ${m.alive} alive, ${m.suspect} suspect, ${m.dead} dead, ${m.left} left`,
    `queues:     gossip broadcasts ${i.queues.broadcasts} · requests queued ${i.queues.requestsQueued}, active ${i.queues.requestsActive}`,
    `packets:    sent ${p.sent} (${formatBytes(p.bytesSent)}) · received ${p.received} (${
      formatBytes(p.bytesReceived)
    }) · ` +
    `dropped: decrypt failures ${p.decryptFailures}, label mismatches ${p.labelMismatches}, ` +
    `unencrypted ${p.unencryptedDropped}, malformed ${p.malformed}, bad messages ${p.badMessages} · send errors ${p.sendErrors}`,
    `probes:     ${i.probes.sent} sent, ${i.probes.failed} failed, ${i.probes.savedByTcp} saved by TCP · ` +
    `push-pulls ${i.pushPulls.total} (${i.pushPulls.failed} failed)`,
  ];
}

/** "q2 a8 80.1t/s 100%": queued, active, tokens/s, utilisation. */
function formatLoad(l: NonNullable<MemberRow["load"]>): string {
  return `q${l.queueDepth} a${l.activeSequences} ${l.tokensPerSecond.toFixed(1)}t/s ${
    Math.round(l.utilisation * 100)
  }%`;
}

/** Bytes per second with a decimal unit: "812 MB/s". */
export function formatRate(bytesPerSec: number): string {
  return `${formatBytes(bytesPerSec)}/s`;
}

function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n, u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? Math.round(v) : v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`;
}
