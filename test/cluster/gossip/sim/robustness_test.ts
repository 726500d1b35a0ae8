import assert from "node:assert/strict";
import { MAX_DATAGRAM_BYTES } from "../../../../cluster/gossip/config.ts";
import { MemberStatus } from "../../../../cluster/gossip/messages.ts";
import { quantile, SimCluster } from "../../../../cluster/gossip/sim/sim_cluster.ts";

function ring(n: number, seed: number, link = {}) {
  const c = new SimCluster({ n, profile: "lan", seed, link });
  assert.notEqual(c.boot(), -1, "ring converges");
  return c;
}

Deno.test("no false dead at N=50 with 10% loss each way (3 minutes × 2 seeds here; 30 min × 20 in the bench)", () => {
  for (const seed of [11, 12]) {
    const c = ring(50, seed, { lossRate: 0.1 });
    const start = c.now();
    c.runFor(180_000);
    assert.deepEqual(c.falseDeads(start), [], `seed ${seed}`);
    assert.ok(c.converged());
  }
});

Deno.test("a node paused for 4 s is never declared dead, and pausing nodes kills nobody", () => {
  const c = ring(50, 13);
  for (let k = 0; k < 12; k++) {
    const paused = [c.members[3 + k].name, ...(k % 3 === 0 ? [c.members[30 + k].name] : [])];
    for (const p of paused) c.pause(p);
    c.runFor(4_000);
    for (const p of paused) c.resume(p);
    c.runFor(8_000 + 111 * k);
  }
  c.runFor(30_000);
  assert.deepEqual(c.falseDeads(), []);
  assert.ok(c.events.some((e) => e.type === "suspect"), "pauses did cause suspicions, which were refuted");
  assert.ok(c.converged());
});

Deno.test("one-way loss into one node never gets healthy nodes declared dead", () => {
  const c = ring(20, 14);
  const deaf = c.members[7];
  for (const m of c.members) if (m !== deaf) c.network.block(m.addr, deaf.addr);
  c.runFor(120_000);
  const healthyView = c.falseDeads(0, new Set([deaf.name]));
  assert.deepEqual(healthyView, [], "healthy observers never declared a healthy node dead");
  assert.ok(
    c.events.some((e) => e.type === "dead" && e.subject === deaf.name),
    "the deaf node itself failed",
  );
  assert.notEqual(c.view(c.members[0].name, deaf.name), MemberStatus.Alive);
  assert.ok(deaf.node.healthScore > 0, "Lifeguard: the deaf node noticed it is the unhealthy one");
});

Deno.test("a 25/25 partition of 60 s heals to all-alive within 60 s", () => {
  const c = ring(50, 15);
  const a = c.members.slice(0, 25).map((m) => m.addr), b = c.members.slice(25).map((m) => m.addr);
  c.network.partition(a, b);
  c.runFor(60_000);
  assert.equal(c.view(c.members[0].name, c.members[40].name), MemberStatus.Dead, "sides saw each other fail");
  assert.equal(c.view(c.members[1].name, c.members[2].name), MemberStatus.Alive);
  c.network.heal();
  const healedAfter = c.runUntil(() => c.converged(), 60_000, 250);
  assert.ok(healedAfter >= 0 && healedAfter <= 60_000, `healed after ${healedAfter} ms`);
});

Deno.test("one broadcast reaches all 50 nodes within 12 gossip rounds at 0% loss", () => {
  const c = ring(50, 16);
  const rounds: number[] = [];
  for (const origin of [c.members[9], c.members[33], c.members[48]]) {
    c.runFor(5_000);
    const t0 = c.now();
    origin.node.updateMeta(new Uint8Array([rounds.length + 1]));
    const inc = origin.node.table.local().incarnation;
    const took = c.runUntil(
      () => c.members.every((m) => (m.node.table.get(origin.name)?.incarnation ?? 0) >= inc),
      10_000,
      10,
    );
    assert.notEqual(took, -1);
    rounds.push(Math.ceil((c.now() - t0) / origin.node.config.gossipIntervalMs));
  }
  assert.ok(Math.max(...rounds) <= 12, `rounds ${rounds}`);
});

Deno.test("a node joining through one seed is known by all within 3 s", () => {
  const c = ring(50, 17);
  c.runFor(5_000);
  const t0 = c.now();
  const fresh = c.addNode(c.members[0].name);
  const took = c.runUntil(
    () => c.members.every((m) => m.node.table.get(fresh.name)?.status === MemberStatus.Alive),
    10_000,
    10,
  );
  assert.ok(took >= 0 && c.now() - t0 <= 3_000, `known by all after ${c.now() - t0} ms`);
});

Deno.test("steady-state traffic stays under 2 KB/s per node at N=50 and no datagram exceeds 1400 bytes", () => {
  const c = ring(50, 18);
  c.runFor(30_000);
  const before = c.bytesSnapshot();
  c.runFor(120_000);
  const rates = c.bytesPerSecond(120_000, before);
  assert.ok(quantile(rates, 1) <= 2048, `max ${quantile(rates, 1).toFixed(0)} B/s`);
  for (const m of c.members) {
    const k = c.network.counters(m.addr);
    assert.equal(k.oversizePackets, 0);
    assert.ok(k.largestPacket <= MAX_DATAGRAM_BYTES);
  }
});
