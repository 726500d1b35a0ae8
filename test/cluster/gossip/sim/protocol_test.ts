import assert from "node:assert/strict";
import { decodePacket, encodeCompound, encodeMessage } from "../../../../cluster/gossip/codec.ts";
import { withoutLifeguard } from "../../../../cluster/gossip/config.ts";
import { JoinError } from "../../../../cluster/gossip/errors.ts";
import { MemberStatus, type Message, MessageType } from "../../../../cluster/gossip/messages.ts";
import { SimCluster } from "../../../../cluster/gossip/sim/sim_cluster.ts";
import { NodeClock } from "../../../../cluster/gossip/sim/virtual_clock.ts";

function ring(n: number, seed = 1, profile: "lan" | "local" = "lan") {
  const c = new SimCluster({ n, profile, seed });
  assert.notEqual(c.boot(), -1, "ring converges");
  return c;
}

Deno.test("nodes joining through one seed converge on the full membership", () => {
  const c = ring(8);
  for (const m of c.members) {
    assert.equal(m.node.members().filter((x) => x.status === MemberStatus.Alive).length, 8);
  }
});

Deno.test("probes measure round-trip time and carry the ack payload (live load)", () => {
  const load = new Uint8Array([42, 7]);
  const c = new SimCluster({
    n: 3,
    seed: 2,
    link: { latencyMs: 3, jitterMs: 0 },
    nodeOptions: (name) => (name === "n001" ? { ackPayload: () => load } : {}),
  });
  c.boot();
  c.runFor(10_000);
  const seen = c.members[0].node.members().find((m) => m.name === c.members[1].name)!;
  assert.equal(seen.rttMs, 6);
  assert.deepEqual(seen.ackPayload, load);
});

Deno.test("an indirect probe keeps a member alive when only our direct path is broken", () => {
  const c = ring(5, 3);
  const [a, b] = c.members;
  c.network.blockPackets(a.addr, b.addr);
  c.network.blockPackets(b.addr, a.addr);
  c.runFor(60_000);
  assert.equal(c.view(a.name, b.name), MemberStatus.Alive);
  assert.equal(c.events.filter((e) => e.type === "suspect").length, 0);
});

Deno.test("the TCP fallback ping saves a member whose UDP is firewalled", () => {
  const c = ring(4, 4);
  const target = c.members[3];
  for (const m of c.members) {
    if (m !== target) {
      c.network.blockPackets(m.addr, target.addr);
      c.network.blockPackets(target.addr, m.addr);
    }
  }
  c.runFor(30_000);
  const saved = c.members.reduce((s, m) => s + m.node.stats().probesSavedByTcp, 0);
  assert.ok(saved > 0, "some probes were saved by TCP");
  assert.equal(c.falseDeads().length, 0);
  assert.equal(c.view(c.members[0].name, target.name), MemberStatus.Alive);
});

Deno.test("a suspected member refutes quickly through the buddy ping and stays alive", () => {
  const c = ring(5, 5);
  const [a, b] = c.members;
  a.node.table.suspectNode({
    type: MessageType.Suspect,
    incarnation: b.node.table.local().incarnation,
    node: b.name,
    from: a.name,
  });
  const before = b.node.table.local().incarnation;
  c.runFor(20_000);
  assert.ok(b.node.table.local().incarnation > before, "b refuted");
  for (const m of c.members) assert.equal(c.view(m.name, b.name), MemberStatus.Alive);
});

Deno.test("a member that leaves gracefully is marked left, not dead", async () => {
  const c = ring(6, 6);
  const leaver = c.members[2];
  const left = leaver.node.leave(5_000);
  c.runFor(5_000);
  await left;
  await leaver.node.shutdown();
  c.runFor(5_000);
  for (const m of c.members) {
    if (m === leaver) continue;
    assert.equal(c.view(m.name, leaver.name), MemberStatus.Left, m.name);
  }
  assert.equal(c.events.filter((e) => e.type === "dead").length, 0);
});

Deno.test("joining through an unreachable seed fails with JoinError", async () => {
  const c = new SimCluster({ n: 2, seed: 7 });
  const [a] = c.members;
  a.node.start();
  const p = a.node.join(["10.9.9.9:7946"]);
  c.runFor(20_000);
  await assert.rejects(p, JoinError);
});

Deno.test("a crashed member that restarts under the same name comes back with a newer incarnation", () => {
  const c = ring(5, 8);
  const victim = c.members[4];
  const oldInc = victim.node.table.local().incarnation;
  c.crash(victim.name);
  c.runFor(30_000);
  assert.equal(c.view(c.members[0].name, victim.name), MemberStatus.Dead);
  const restartAt = c.now();
  c.restart(victim.name, c.members[0].name);
  assert.notEqual(c.runUntil(() => c.converged(), 10_000), -1);
  const seen = c.members[1].node.table.get(victim.name)!;
  assert.ok(seen.incarnation > oldInc, `${seen.incarnation} > ${oldInc}`);
  assert.ok(c.events.some((e) => e.type === "join" && e.subject === victim.name && e.at >= restartAt));
});

Deno.test("forged datagrams with huge incarnations are rejected and counted", () => {
  const c = ring(5, 9);
  const rogue = c.network.attach("6.6.6.6:1", new NodeClock(c.scheduler));
  const target = c.members[0];
  const victim = c.members[1];
  const forged = [
    encodeMessage({ type: MessageType.Suspect, incarnation: 0xffff_fff0, node: target.name, from: "evil" }),
    encodeMessage({ type: MessageType.Dead, incarnation: 0xffff_ffff, node: victim.name, from: "evil" }),
    encodeMessage({
      type: MessageType.Alive,
      incarnation: 0xffff_ffff,
      node: "evil",
      addr: "6.6.6.6:1",
      meta: new Uint8Array(0),
      vsn: { min: 1, max: 1, cur: 1 },
    }),
  ];
  const incBefore = target.node.table.local().incarnation;
  rogue.sendPacket(target.addr, encodeCompound(forged));
  c.runFor(10_000);
  assert.equal(target.node.table.local().incarnation, incBefore, "no refutation race");
  assert.equal(target.node.stats().implausibleIncarnations, 3);
  assert.equal(c.view(target.name, victim.name), MemberStatus.Alive);
  assert.equal(target.node.table.get("evil"), undefined);
});

Deno.test("garbage datagrams and streams are counted and dropped without harm", () => {
  const c = ring(3, 10);
  const rogue = c.network.attach("6.6.6.6:1", new NodeClock(c.scheduler));
  const target = c.members[0];
  const garbage = [
    new Uint8Array(0),
    new Uint8Array([0xff, 1, 2]),
    new Uint8Array([7, 9, 0, 1]),
    new Uint8Array([0, 0xc1]),
  ];
  for (const g of garbage) rogue.sendPacket(target.addr, g);
  let reply: Uint8Array | undefined;
  rogue.request(target.addr, new Uint8Array([6, 0xc1]), 1000, (r) => r.ok && (reply = r.data));
  c.runFor(5_000);
  const s = target.node.stats();
  assert.equal(s.malformedPackets + s.unknownMessages, 4);
  assert.equal(s.malformedStreams, 1);
  assert.equal(reply?.[0], MessageType.Error, "stream gets an error reply");
  assert.ok(c.converged());
});

/** Suspects b at a only (nobody else is told) and records a's probes of b and b's acks. */
function buddyScenario(lifeguard: boolean) {
  // No periodic push-pull either: it would reveal a's suspicion to b too.
  const c = new SimCluster({
    n: 5,
    seed: 11,
    tweak: (cfg) => ({ ...(lifeguard ? cfg : withoutLifeguard(cfg)), pushPullIntervalMs: 0 }),
  });
  c.boot();
  const [a, b] = c.members;
  const probes: { seq: number; suspectFirst: boolean }[] = [];
  const acks = new Map<number, boolean>();
  c.network.tap = (from, to, data) => {
    const { messages } = decodePacket(data);
    if (from === a.addr && to === b.addr) {
      const ping = messages.find((m) => m.type === MessageType.Ping);
      if (ping?.type === MessageType.Ping) {
        probes.push({ seq: ping.seq, suspectFirst: messages[0].type === MessageType.Suspect });
      }
    }
    if (from === b.addr && to === a.addr && messages[0]?.type === MessageType.Ack) {
      acks.set(messages[0].seq, messages.some((m) => m.type === MessageType.Alive && m.node === b.name));
    }
  };
  const inc = b.node.table.local().incarnation;
  a.node.table.suspectNode({ type: MessageType.Suspect, incarnation: inc, node: b.name, from: "someone" });
  a.node.queue.reset(); // keep the suspicion from spreading by gossip: only a's probe can tell b
  c.runUntil(() => probes.some((p) => acks.has(p.seq)), 10_000, 10);
  c.runFor(1_000);
  return { c, a, b, inc, probes, acks };
}

Deno.test("the buddy probe puts the suspicion first, so the suspect's ack carries its refutation", () => {
  const { b, inc, probes, acks } = buddyScenario(true);
  const buddy = probes.find((p) => p.suspectFirst);
  assert.ok(buddy, "a probed b with the suspicion attached");
  assert.equal(acks.get(buddy.seq), true, "the ack to the buddy probe carries the refutation");
  assert.ok(b.node.table.local().incarnation > inc);
});

Deno.test("without the buddy rule the prober does not tell the suspect, whose suspicion then runs out", () => {
  const { c, a, b, probes } = buddyScenario(false);
  c.runFor(10_000);
  assert.ok(probes.length > 0);
  assert.ok(probes.every((p) => !p.suspectFirst));
  assert.ok(c.events.some((e) => e.observer === a.name && e.subject === b.name && e.type === "dead"));
});

Deno.test("a leave notice reaches every member even when the gossip budget cannot", async () => {
  // retransmitMult 1 in a ring of 5: each broadcast is sent once, to one random member.
  const c = new SimCluster({ n: 5, seed: 12, tweak: (cfg) => ({ ...cfg, retransmitMult: 1 }) });
  c.boot();
  const leaver = c.members[0];
  const left = leaver.node.leave(2_000);
  c.runFor(2_000);
  await left;
  await leaver.node.shutdown();
  c.runFor(100);
  for (const m of c.members.slice(1)) assert.equal(c.view(m.name, leaver.name), MemberStatus.Left, m.name);
});

Deno.test("a node spreading a stale suspicion is corrected directly with the newer alive", () => {
  const c = ring(4, 13);
  const [a, b] = c.members;
  const rogue = c.network.attach("6.6.6.6:1", new NodeClock(c.scheduler));
  const got: Message[] = [];
  rogue.listen({ onPacket: (_from, data) => got.push(...decodePacket(data).messages), onRequest: () => {} });
  const inc = b.node.table.local().incarnation;
  // b refutes once, so every node knows it at inc + 1…
  b.node.table.refute(inc);
  c.runFor(3_000);
  assert.equal(a.node.table.get(b.name)?.incarnation, inc + 1);
  // …then a straggler gossips the old suspicion to a, twice.
  const stale = encodeMessage({
    type: MessageType.Suspect,
    incarnation: inc,
    node: b.name,
    from: "straggler",
  });
  rogue.sendPacket(a.addr, stale);
  rogue.sendPacket(a.addr, stale);
  c.runFor(100);
  const alives = got.filter((m) => m.type === MessageType.Alive && m.node === b.name);
  assert.equal(alives.length, 1, "corrected once");
  assert.equal(alives[0].type === MessageType.Alive && alives[0].incarnation, inc + 1);
  assert.equal(a.node.stats().staleCorrections, 1);
});
