/**
 * Gossip ring acceptance figures (issue 6), measured on the deterministic simulator with the real
 * protocol code. Prints one table: figure, target, measured, pass — and for the stall scenario the
 * baseline (Lifeguard off) beside Lifeguard on, with their ratio.
 *
 *   deno run -A bench/gossip.ts            # full figures (20 seeds × 30 min for false deads), ~5 min
 *   deno run -A bench/gossip.ts --quick    # fewer seeds and minutes, ~1 min
 *
 * @module
 */

import { type GossipConfig, MAX_DATAGRAM_BYTES, withoutLifeguard } from "../cluster/gossip/config.ts";
import { encodeMessage } from "../cluster/gossip/codec.ts";
import { MemberStatus, MessageType } from "../cluster/gossip/messages.ts";
import { randomInt, seededRng } from "../cluster/gossip/rng.ts";
import { quantile, SimCluster } from "../cluster/gossip/sim/sim_cluster.ts";
import { NodeClock } from "../cluster/gossip/sim/virtual_clock.ts";

const quick = Deno.args.includes("--quick");
const rows: { figure: string; target: string; measured: string; pass: boolean }[] = [];
const t0 = performance.now();

function row(figure: string, target: string, measured: string, pass: boolean): void {
  rows.push({ figure, target, measured, pass });
  console.error(
    `  ${pass ? "ok  " : "FAIL"} ${figure}: ${measured} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
}

function seeds(full: number, few: number): number[] {
  return Array.from({ length: quick ? few : full }, (_, i) => i + 1);
}

function boot(
  n: number,
  seed: number,
  profile: "lan" | "local" = "lan",
  tweak?: (c: GossipConfig) => GossipConfig,
  lossRate = 0,
) {
  const c = new SimCluster({ n, profile, seed, tweak, link: { lossRate } });
  if (c.boot(180_000) < 0) throw new Error(`ring of ${n} (seed ${seed}) did not converge`);
  return c;
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Every live node's time to mark each of `crashes` crashed nodes dead. */
function detection(
  n: number,
  profile: "lan" | "local",
  seedList: number[],
  crashes: number,
  tweak?: (c: GossipConfig) => GossipConfig,
) {
  const all: number[] = [];
  for (const seed of seedList) {
    const c = boot(n, seed, profile, tweak);
    const rng = seededRng(seed * 31);
    for (let k = 0; k < crashes; k++) {
      c.runFor(1_000 + rng.next() * 3_000);
      const alive = c.members.filter((m) => !m.crashed);
      const victim = alive[randomInt(rng, alive.length)].name;
      const at = c.now();
      c.crash(victim);
      c.runFor(profile === "lan" ? 45_000 : 20_000);
      all.push(...c.detectionTimes(victim, at));
    }
  }
  return all;
}

function crashDetection(): void {
  const lan50 = detection(50, "lan", seeds(10, 3), 5);
  const noLg50 = detection(50, "lan", seeds(10, 3), 5, withoutLifeguard);
  row(
    "crash detection lan N=50 p50 / p99",
    "≤ 13 s / ≤ 20 s",
    `${s(quantile(lan50, 0.5))} / ${s(quantile(lan50, 0.99))} (${lan50.length} obs.; Lifeguard off ${
      s(quantile(noLg50, 0.5))
    } / ${s(quantile(noLg50, 0.99))})`,
    quantile(lan50, 0.5) <= 13_000 && quantile(lan50, 0.99) <= 20_000,
  );
  const lan200 = detection(200, "lan", seeds(3, 1), quick ? 2 : 5);
  row(
    "crash detection lan N=200 p50 / p99",
    "≤ 16 s / ≤ 25 s",
    `${s(quantile(lan200, 0.5))} / ${s(quantile(lan200, 0.99))} (${lan200.length} obs.)`,
    quantile(lan200, 0.5) <= 16_000 && quantile(lan200, 0.99) <= 25_000,
  );
  const local50 = detection(50, "local", seeds(10, 3), 5);
  row(
    "crash detection local N=50 p50",
    "≤ 4 s",
    `${s(quantile(local50, 0.5))} (p99 ${s(quantile(local50, 0.99))})`,
    quantile(local50, 0.5) <= 4_000,
  );
}

function lossyFalseDeads(): void {
  const minutes = quick ? 5 : 30;
  let deads = 0, suspects = 0;
  const list = seeds(20, 3);
  for (const seed of list) {
    const c = boot(50, seed, "lan", undefined, 0.1);
    const start = c.now();
    c.runFor(minutes * 60_000);
    deads += c.falseDeads(start).length;
    suspects += c.events.filter((e) => e.type === "suspect" && e.at >= start).length;
  }
  row(
    `false deads N=50, 10% loss each way, ${minutes} min × ${list.length} seeds`,
    "0",
    `${deads} (${suspects} suspicion events)`,
    deads === 0,
  );
}

/** Nodes pause for `pauseMs` one after another; counts dead declarations about live nodes. */
function pauses(lifeguard: boolean, pauseMs: number): number {
  let deads = 0;
  for (const seed of seeds(5, 2)) {
    const c = boot(50, seed, "lan", lifeguard ? undefined : withoutLifeguard);
    const rng = seededRng(seed + 99);
    const start = c.now();
    for (let k = 0; k < 40; k++) {
      const m = c.members[randomInt(rng, 50)];
      c.pause(m.name);
      c.runFor(pauseMs);
      c.resume(m.name);
      c.runFor(3_000 + rng.next() * 5_000);
    }
    c.runFor(30_000);
    deads += c.falseDeads(start).length;
  }
  return deads;
}

/** 5 of 50 nodes lag `delayMs` behind their receive queue (timers on time) for 5 minutes; counts
 * healthy nodes declared dead by anyone. */
function stall(lifeguard: boolean, delayMs: number): number {
  let deads = 0;
  for (const seed of seeds(5, 2)) {
    const c = boot(50, seed, "lan", lifeguard ? undefined : withoutLifeguard);
    const stalled = c.members.slice(0, 5);
    for (const m of stalled) m.clock.receiveDelayMs = delayMs;
    const start = c.now();
    c.runFor(300_000);
    const names = new Set(stalled.map((m) => m.name));
    deads += c.falseDeads(start).filter((e) => !names.has(e.subject)).length;
  }
  return deads;
}

function pausesAndStalls(): void {
  const p4 = pauses(true, 4_000);
  row(
    "paused 4 s: nodes declared dead (40 pauses × seeds)",
    "0",
    `${p4} (Lifeguard off: ${pauses(false, 4_000)})`,
    p4 === 0,
  );
  for (const delay of [1_000, 3_000]) {
    const on = stall(true, delay), off = stall(false, delay);
    const ratio = on === 0 ? (off > 0 ? "∞" : "n/a") : (off / on).toFixed(1);
    row(
      `stall (5 nodes ${delay / 1000} s receive lag): healthy nodes declared dead, Lifeguard on vs off`,
      "on = 0, off ≥ 10× on",
      `${on} vs ${off} (ratio ${ratio})`,
      on === 0 && off >= 10 * Math.max(1, on),
    );
  }
}

function disseminationAndJoin(): void {
  for (const [n, limit] of [[50, 12], [200, 14]] as const) {
    const c = boot(n, 5);
    let worst = 0;
    for (let k = 0; k < 5; k++) {
      c.runFor(3_000);
      const origin = c.members[(k * 37) % n];
      const at = c.now();
      origin.node.updateMeta(new Uint8Array([k + 1]));
      const inc = origin.node.table.local().incarnation;
      const took = c.runUntil(
        () => c.members.every((m) => (m.node.table.get(origin.name)?.incarnation ?? 0) >= inc),
        20_000,
        10,
      );
      worst = Math.max(
        worst,
        took < 0 ? Infinity : Math.ceil((c.now() - at) / origin.node.config.gossipIntervalMs),
      );
    }
    row(`broadcast reaches all N=${n}, worst of 5 (gossip rounds)`, `≤ ${limit}`, `${worst}`, worst <= limit);
    if (n === 200) {
      const at = c.now();
      const fresh = c.addNode(c.members[0].name);
      c.runUntil(
        () => c.members.every((m) => m.node.table.get(fresh.name)?.status === MemberStatus.Alive),
        20_000,
        10,
      );
      row("new node via one seed known by all N=200", "≤ 3 s", s(c.now() - at), c.now() - at <= 3_000);
    }
  }
}

function traffic(): void {
  for (const [n, limit] of [[50, 2048], [200, 3072]] as const) {
    const c = boot(n, 6);
    c.runFor(60_000);
    const before = c.bytesSnapshot();
    const window = quick ? 120_000 : 300_000;
    c.runFor(window);
    const rates = c.bytesPerSecond(window, before);
    const largest = Math.max(...c.members.map((m) => c.network.counters(m.addr).largestPacket));
    const oversize = c.members.reduce((a, m) => a + c.network.counters(m.addr).oversizePackets, 0);
    row(
      `steady traffic N=${n}, max node (sent B/s)`,
      `≤ ${limit / 1024} KB/s`,
      `${(quantile(rates, 1) / 1024).toFixed(2)} KB/s (median ${(quantile(rates, 0.5) / 1024).toFixed(2)})`,
      quantile(rates, 1) <= limit,
    );
    row(
      `largest datagram N=${n} (envelope included)`,
      `≤ ${MAX_DATAGRAM_BYTES} B, 0 oversize`,
      `${largest} B, ${oversize} oversize`,
      largest <= MAX_DATAGRAM_BYTES && oversize === 0,
    );
  }
}

function partitionsAndLoss(): void {
  let worst = 0;
  for (const seed of seeds(5, 2)) {
    const c = boot(50, seed);
    c.network.partition(c.members.slice(0, 25).map((m) => m.addr), c.members.slice(25).map((m) => m.addr));
    c.runFor(60_000);
    c.network.heal();
    const took = c.runUntil(() => c.converged(), 120_000, 250);
    worst = Math.max(worst, took < 0 ? Infinity : took);
  }
  row("25/25 partition for 60 s: heal to all-alive (worst seed)", "≤ 60 s", s(worst), worst <= 60_000);

  let deads = 0;
  for (const seed of seeds(5, 2)) {
    const c = boot(50, seed);
    const deaf = c.members[7];
    for (const m of c.members) if (m !== deaf) c.network.block(m.addr, deaf.addr);
    const start = c.now();
    c.runFor(300_000);
    deads += c.falseDeads(start, new Set([deaf.name])).length;
  }
  row("one-way loss into one node: healthy nodes declared dead", "0", `${deads}`, deads === 0);

  const c = boot(50, 9);
  const rogue = c.network.attach("6.6.6.6:1", new NodeClock(c.scheduler));
  const target = c.members[0];
  const inc = target.node.table.local().incarnation;
  rogue.sendPacket(
    target.addr,
    encodeMessage({ type: MessageType.Suspect, incarnation: 0xffff_ffff, node: target.name, from: "x" }),
  );
  c.runFor(5_000);
  const rejected = target.node.stats().implausibleIncarnations;
  row(
    "forged incarnation 2^32-1 rejected",
    "rejected, no refutation",
    `${rejected} rejected, incarnation ${
      target.node.table.local().incarnation === inc ? "unchanged" : "CHANGED"
    }`,
    rejected === 1 && target.node.table.local().incarnation === inc,
  );
}

console.error(`gossip bench (${quick ? "quick" : "full"}) on the simulator…`);
crashDetection();
disseminationAndJoin();
traffic();
partitionsAndLoss();
pausesAndStalls();
lossyFalseDeads();

const w = [
  Math.max(...rows.map((r) => r.figure.length)),
  Math.max(...rows.map((r) => r.target.length)),
  Math.max(...rows.map((r) => r.measured.length)),
];
console.log(`\n| ${"figure".padEnd(w[0])} | ${"target".padEnd(w[1])} | ${"measured".padEnd(w[2])} | pass |`);
console.log(`|${"-".repeat(w[0] + 2)}|${"-".repeat(w[1] + 2)}|${"-".repeat(w[2] + 2)}|------|`);
for (const r of rows) {
  console.log(
    `| ${r.figure.padEnd(w[0])} | ${r.target.padEnd(w[1])} | ${r.measured.padEnd(w[2])} | ${
      r.pass ? "yes " : "NO  "
    } |`,
  );
}
console.log(
  `\n${rows.filter((r) => r.pass).length}/${rows.length} figures met; ${
    ((performance.now() - t0) / 1000).toFixed(0)
  } s CPU`,
);
