import assert from "node:assert/strict";
import { decodeMessage } from "../../../cluster/gossip/codec.ts";
import { lanConfig } from "../../../cluster/gossip/config.ts";
import { type MemberEvent, MemberTable } from "../../../cluster/gossip/member_table.ts";
import {
  type AliveMsg,
  type DeadMsg,
  MemberStatus,
  type Message,
  MessageType,
  type SuspectMsg,
} from "../../../cluster/gossip/messages.ts";
import { seededRng } from "../../../cluster/gossip/rng.ts";
import { NodeClock, VirtualScheduler } from "../../../cluster/gossip/sim/virtual_clock.ts";

const v = { min: 1, max: 1, cur: 1 };
const alive = (
  node: string,
  incarnation: number,
  addr = `${node}:1`,
  meta = new Uint8Array(0),
): AliveMsg => ({
  type: MessageType.Alive,
  incarnation,
  node,
  addr,
  meta,
  vsn: v,
});
const suspect = (node: string, incarnation: number, from: string): SuspectMsg => ({
  type: MessageType.Suspect,
  incarnation,
  node,
  from,
});
const dead = (node: string, incarnation: number, from: string): DeadMsg => ({
  type: MessageType.Dead,
  incarnation,
  node,
  from,
});

/** A table for "me" at incarnation 1 plus peers, on a virtual clock starting at t=0. */
function setup(peers: string[] = [], config = lanConfig("me")) {
  const sched = new VirtualScheduler(0);
  const clock = new NodeClock(sched);
  const broadcasts: { key: string; msg: Message }[] = [];
  const events: MemberEvent[] = [];
  let refutes = 0;
  const table = new MemberTable({
    localName: "me",
    config,
    clock,
    rng: seededRng(1),
    broadcast: (key, bytes) => broadcasts.push({ key, msg: decodeMessage(bytes) }),
    onRefute: () => refutes++,
    onEvent: (e) => events.push(e),
  });
  table.bootstrap("me:1", new Uint8Array(0), v, 1);
  for (const p of peers) table.aliveNode(alive(p, 1));
  broadcasts.length = 0;
  events.length = 0;
  return { sched, table, broadcasts, events, refutes: () => refutes };
}

Deno.test("a new member is added alive, announced as a join and re-gossiped", () => {
  const { table, broadcasts, events } = setup();
  table.aliveNode(alive("a", 3));
  assert.equal(table.get("a")?.status, MemberStatus.Alive);
  assert.equal(table.get("a")?.incarnation, 3);
  assert.deepEqual(events.map((e) => e.type), ["join"]);
  assert.deepEqual(broadcasts.map((b) => [b.key, b.msg.type]), [["a", MessageType.Alive]]);
});

Deno.test("alive news needs a strictly newer incarnation; replays are ignored", () => {
  const { table, broadcasts } = setup(["a"]);
  table.aliveNode(alive("a", 1));
  table.aliveNode(alive("a", 0));
  assert.equal(broadcasts.length, 0);
  table.aliveNode(alive("a", 2, "a:1", new Uint8Array([1])));
  assert.equal(broadcasts.length, 1);
  assert.deepEqual(table.get("a")?.meta, new Uint8Array([1]));
});

Deno.test("a suspicion of ourselves is refuted with a higher incarnation", () => {
  const { table, broadcasts, refutes } = setup(["a"]);
  table.suspectNode(suspect("me", 7, "a"));
  const me = table.local();
  assert.equal(me.status, MemberStatus.Alive);
  assert.equal(me.incarnation, 8);
  assert.equal(refutes(), 1);
  assert.deepEqual(broadcasts.map((b) => [b.key, b.msg.type]), [["me", MessageType.Alive]]);
  assert.equal((broadcasts[0].msg as AliveMsg).incarnation, 8);
});

Deno.test("a dead claim about ourselves is refuted unless we are leaving", () => {
  const { table, events } = setup(["a"]);
  table.deadNode(dead("me", 1, "a"));
  assert.equal(table.local().status, MemberStatus.Alive);
  assert.equal(table.local().incarnation, 2);
  table.leaving = true;
  table.deadNode(dead("me", 2, "me"));
  assert.equal(table.local().status, MemberStatus.Left);
  assert.deepEqual(events.map((e) => e.type), ["left"]);
});

Deno.test("a suspicion with an older incarnation is ignored", () => {
  const { table, events } = setup();
  table.aliveNode(alive("a", 5));
  events.length = 0;
  table.suspectNode(suspect("a", 4, "b"));
  assert.equal(table.get("a")?.status, MemberStatus.Alive);
  assert.equal(events.length, 0);
});

Deno.test("a suspect member is declared dead when its suspicion times out", () => {
  const { sched, table, events, broadcasts } = setup(["a", "b"]);
  // 3 known members: k = 0, so the timer runs the minimum 4·max(1, log10 3)·1 s = 4 s.
  table.suspectNode(suspect("a", 1, "b"));
  assert.equal(table.get("a")?.status, MemberStatus.Suspect);
  sched.runFor(3999);
  assert.equal(table.get("a")?.status, MemberStatus.Suspect);
  sched.runFor(1);
  assert.equal(table.get("a")?.status, MemberStatus.Dead);
  assert.deepEqual(events.map((e) => e.type), ["suspect", "dead"]);
  assert.deepEqual(broadcasts.map((b) => b.msg.type), [MessageType.Suspect, MessageType.Dead]);
  assert.equal((broadcasts[1].msg as DeadMsg).from, "me");
});

Deno.test("a refutation before the timeout clears the suspicion", () => {
  const { sched, table, events } = setup(["a", "b"]);
  table.suspectNode(suspect("a", 1, "b"));
  sched.runFor(1000);
  table.aliveNode(alive("a", 2));
  sched.runFor(60_000);
  assert.equal(table.get("a")?.status, MemberStatus.Alive);
  assert.deepEqual(events.map((e) => e.type), ["suspect", "alive"]);
});

Deno.test("a second independent suspicion confirms and is re-gossiped; a duplicate is not", () => {
  const peers = Array.from({ length: 10 }, (_, i) => `p${i}`);
  const { sched, table, broadcasts } = setup(peers);
  table.suspectNode(suspect("p0", 1, "p1"));
  table.suspectNode(suspect("p0", 1, "p2"));
  table.suspectNode(suspect("p0", 1, "p2"));
  table.suspectNode(suspect("p0", 1, "p1"));
  assert.deepEqual(broadcasts.map((b) => (b.msg as SuspectMsg).from), ["p1", "p2"]);
  assert.equal(table.suspicionOf("p0")?.confirmations, 1);
  // 11 members: min 4·log10(11)·1 s = 4164 ms, max 6× that; k = 2, one confirmation:
  // max − log(2)/log(3)·(max − min) = 11848 ms.
  assert.equal(table.numNodes, 11);
  sched.runFor(11847);
  assert.equal(table.get("p0")?.status, MemberStatus.Suspect);
  sched.runFor(1);
  assert.equal(table.get("p0")?.status, MemberStatus.Dead);
});

Deno.test("dead from a peer means failed; dead from the member itself means left", () => {
  const { table, events } = setup(["a", "b"]);
  table.deadNode(dead("a", 1, "b"));
  table.deadNode(dead("b", 1, "b"));
  assert.equal(table.get("a")?.status, MemberStatus.Dead);
  assert.equal(table.get("b")?.status, MemberStatus.Left);
  assert.deepEqual(events.map((e) => e.type), ["dead", "left"]);
  table.deadNode(dead("a", 1, "b"));
  assert.equal(events.length, 2, "already dead: no second event");
});

Deno.test("a dead member comes back only with a newer incarnation", () => {
  const { table, events } = setup(["a"]);
  table.deadNode(dead("a", 3, "x"));
  table.aliveNode(alive("a", 3));
  assert.equal(table.get("a")?.status, MemberStatus.Dead);
  table.aliveNode(alive("a", 4));
  assert.equal(table.get("a")?.status, MemberStatus.Alive);
  assert.deepEqual(events.map((e) => e.type), ["dead", "join"]);
});

Deno.test("an alive claim for a known name at another address is a conflict", () => {
  const { table, events } = setup(["a"]);
  table.aliveNode(alive("a", 9, "evil:1"));
  assert.equal(table.get("a")?.addr, "a:1");
  assert.equal(table.get("a")?.incarnation, 1);
  assert.equal(table.stats.conflicts, 1);
  assert.deepEqual(events.map((e) => [e.type, e.from]), [["conflict", "evil:1"]]);
});

Deno.test("a name that left may come back at a new address", () => {
  const { table } = setup(["a"]);
  table.deadNode(dead("a", 1, "a"));
  table.aliveNode(alive("a", 1, "new:2"));
  assert.equal(table.get("a")?.addr, "new:2");
  assert.equal(table.get("a")?.status, MemberStatus.Alive);
});

Deno.test("a dead name is reclaimable only after deadNodeReclaimMs", () => {
  const { sched, table } = setup(["a"], { ...lanConfig("me"), deadNodeReclaimMs: 5000 });
  table.deadNode(dead("a", 1, "x"));
  table.aliveNode(alive("a", 2, "new:2"));
  assert.equal(table.get("a")?.addr, "a:1");
  sched.runFor(5001);
  table.aliveNode(alive("a", 2, "new:2"));
  assert.equal(table.get("a")?.addr, "new:2");
});

Deno.test("an echo of our own alive is ignored; a different one is refuted", () => {
  const { table, broadcasts, refutes } = setup();
  table.aliveNode(alive("me", 1, "me:1"));
  assert.equal(broadcasts.length, 0);
  table.aliveNode(alive("me", 1, "me:1", new Uint8Array([5])));
  assert.equal(refutes(), 1);
  assert.equal(table.local().incarnation, 2);
});

Deno.test("forged huge incarnations are rejected without a refutation race", () => {
  const { table, broadcasts, refutes } = setup(["a"]);
  table.suspectNode(suspect("me", 0xffff_fff0, "a"));
  table.aliveNode(alive("a", 0xffff_ffff));
  table.deadNode(dead("a", 0xffff_ffff, "x"));
  table.aliveNode(alive("new", 2 ** 31));
  assert.equal(refutes(), 0);
  assert.equal(table.local().incarnation, 1);
  assert.equal(table.get("a")?.status, MemberStatus.Alive);
  assert.equal(table.get("new"), undefined);
  assert.equal(broadcasts.length, 0);
  assert.equal(table.stats.implausibleIncarnations, 4);
});

Deno.test("alive news with an invalid protocol range is ignored", () => {
  const { table } = setup();
  table.aliveNode({ ...alive("a", 1), vsn: { min: 2, max: 1, cur: 1 } });
  table.aliveNode({ ...alive("b", 1), vsn: { min: 0, max: 1, cur: 1 } });
  assert.equal(table.numNodes, 1);
  assert.equal(table.stats.badVersions, 2);
});

Deno.test("push-pull merge trusts alive and left but only suspects a remote dead", () => {
  const { table } = setup(["a", "b"]);
  table.mergeState([
    { name: "a", addr: "a:1", meta: new Uint8Array(0), incarnation: 1, status: MemberStatus.Dead, vsn: v },
    { name: "b", addr: "b:1", meta: new Uint8Array(0), incarnation: 1, status: MemberStatus.Left, vsn: v },
    { name: "c", addr: "c:1", meta: new Uint8Array(0), incarnation: 1, status: MemberStatus.Alive, vsn: v },
  ]);
  assert.equal(table.get("a")?.status, MemberStatus.Suspect);
  assert.equal(table.get("b")?.status, MemberStatus.Left);
  assert.equal(table.get("c")?.status, MemberStatus.Alive);
});

Deno.test("probe targets go round-robin, skip ourselves and the dead, and forget the long dead", () => {
  const { sched, table } = setup(["a", "b", "c"]);
  table.deadNode(dead("c", 1, "x"));
  const seen = new Set<string>();
  for (let i = 0; i < 2; i++) seen.add(table.nextProbeTarget()!.name);
  assert.deepEqual([...seen].sort(), ["a", "b"]);
  sched.runFor(lanConfig("me").gossipToTheDeadMs + 1);
  for (let i = 0; i < 4; i++) assert.notEqual(table.nextProbeTarget()?.name, "c");
  assert.equal(table.get("c"), undefined, "reaped after gossipToTheDead");
  assert.equal(table.numNodes, 3);
});

Deno.test("no probe target when we are alone", () => {
  const { table } = setup();
  assert.equal(table.nextProbeTarget(), undefined);
});

Deno.test("a stale accusation of ourselves re-announces our alive without a new incarnation", () => {
  const { table, broadcasts, refutes } = setup(["a"]);
  table.suspectNode(suspect("me", 1, "a"));
  assert.equal(table.local().incarnation, 2);
  broadcasts.length = 0;
  table.suspectNode(suspect("me", 1, "b"));
  table.deadNode(dead("me", 1, "b"));
  assert.equal(refutes(), 1, "no second refutation");
  assert.equal(table.local().incarnation, 2);
  assert.deepEqual(broadcasts.map((b) => [b.key, b.msg.type, (b.msg as AliveMsg).incarnation]), [
    ["me", MessageType.Alive, 2],
    ["me", MessageType.Alive, 2],
  ]);
  assert.equal(table.stats.reannouncements, 2);
});
