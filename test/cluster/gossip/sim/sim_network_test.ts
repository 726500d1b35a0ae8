import assert from "node:assert/strict";
import { MAX_DATAGRAM_BYTES } from "../../../../cluster/gossip/config.ts";
import { seededRng } from "../../../../cluster/gossip/rng.ts";
import { SimNetwork } from "../../../../cluster/gossip/sim/sim_network.ts";
import { NodeClock, VirtualScheduler } from "../../../../cluster/gossip/sim/virtual_clock.ts";
import type { RequestResult } from "../../../../cluster/gossip/transport.ts";

function pair(defaults = {}) {
  const sched = new VirtualScheduler(0);
  const net = new SimNetwork(sched, seededRng(42), defaults);
  const ca = new NodeClock(sched), cb = new NodeClock(sched);
  const a = net.attach("a:1", ca, 30), b = net.attach("b:1", cb, 30);
  const got: { from: string; at: number; id: number }[] = [];
  b.listen({
    onPacket: (from, d) => got.push({ from, at: sched.now(), id: d[0] }),
    onRequest: (_from, d, reply) => reply(new Uint8Array([d[0] + 1])),
  });
  a.listen({ onPacket: () => {}, onRequest: () => {} });
  return { sched, net, a, b, ca, cb, got };
}

Deno.test("simulated links lose and duplicate datagrams at the configured rates", () => {
  const { sched, net, a, got } = pair({ lossRate: 0.2, duplicateRate: 0.1 });
  for (let i = 0; i < 5000; i++) a.sendPacket("b:1", new Uint8Array([1]));
  sched.runFor(1000);
  // Expected deliveries 5000·0.8·1.1 = 4400.
  assert.ok(Math.abs(got.length - 4400) < 150, `delivered ${got.length}`);
  assert.equal(net.counters("a:1").packetsSent, 5000);
  assert.ok(Math.abs(net.counters("a:1").packetsDropped - 1000) < 100);
});

Deno.test("jitter reorders datagrams and latency delays them", () => {
  const { sched, a, got } = pair({ latencyMs: 10, jitterMs: 20 });
  for (let i = 0; i < 50; i++) a.sendPacket("b:1", new Uint8Array([i]));
  sched.runFor(100);
  assert.equal(got.length, 50);
  assert.ok(got.every((g) => g.at >= 10 && g.at < 30));
  assert.notDeepEqual(got.map((g) => g.id), [...Array(50).keys()], "some reordering");
});

Deno.test("datagrams over the size limit are dropped and counted; bytes include overhead", () => {
  const { sched, net, a, got } = pair();
  a.sendPacket("b:1", new Uint8Array(MAX_DATAGRAM_BYTES - 30));
  a.sendPacket("b:1", new Uint8Array(MAX_DATAGRAM_BYTES - 29));
  sched.runFor(10);
  assert.equal(got.length, 1);
  const c = net.counters("a:1");
  assert.equal(c.oversizePackets, 1);
  assert.equal(c.bytesSent, 2 * MAX_DATAGRAM_BYTES + 1);
  assert.equal(net.counters("b:1").bytesReceived, MAX_DATAGRAM_BYTES);
});

Deno.test("one-way and two-way partitions drop datagrams until healed", () => {
  const { sched, net, a, b, got } = pair();
  const back: number[] = [];
  a.listen({ onPacket: (_f, d) => back.push(d[0]), onRequest: () => {} });
  net.block("a:1", "b:1");
  a.sendPacket("b:1", new Uint8Array([1]));
  b.sendPacket("a:1", new Uint8Array([2]));
  sched.runFor(10);
  assert.deepEqual([got.length, back], [0, [2]], "one-way: only b→a gets through");
  net.heal();
  net.partition(["a:1"], ["b:1"]);
  a.sendPacket("b:1", new Uint8Array([3]));
  b.sendPacket("a:1", new Uint8Array([4]));
  sched.runFor(10);
  assert.deepEqual([got.length, back], [0, [2]]);
  net.heal();
  a.sendPacket("b:1", new Uint8Array([5]));
  sched.runFor(10);
  assert.equal(got.length, 1);
});

Deno.test("stream requests get their reply, or time out across a partition", () => {
  const { sched, net, a } = pair({ latencyMs: 5, jitterMs: 0 });
  const results: { r: RequestResult; at: number }[] = [];
  a.request("b:1", new Uint8Array([7]), 1000, (r) => results.push({ r, at: sched.now() }));
  sched.runFor(2000);
  assert.equal(results.length, 1);
  assert.ok(results[0].r.ok && results[0].r.data[0] === 8);
  assert.equal(results[0].at, 10, "request and reply legs of 5 ms each");
  net.partition(["a:1"], ["b:1"]);
  a.request("b:1", new Uint8Array([7]), 1000, (r) => results.push({ r, at: sched.now() }));
  sched.runFor(2000);
  assert.equal(results.length, 2);
  assert.equal(results[1].r.ok, false);
  assert.equal(results[1].at, 3000);
});

Deno.test("a paused node receives its datagrams at resume; a crashed one never", () => {
  const { sched, a, cb, got } = pair();
  cb.pause();
  a.sendPacket("b:1", new Uint8Array([1]));
  sched.runFor(500);
  assert.equal(got.length, 0);
  cb.resume();
  assert.deepEqual(got.map((g) => g.at), [500]);
  cb.halt();
  a.sendPacket("b:1", new Uint8Array([2]));
  sched.runFor(500);
  assert.equal(got.length, 1);
});
