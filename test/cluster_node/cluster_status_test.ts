import assert from "node:assert/strict";
import {
  encodeCapabilities,
  encodeLoad,
  type LiveLoad,
  type MemberInfo,
  MemberStatus,
  type WorkerInfo,
} from "../../cluster/gossip/mod.ts";
import { buildClusterStatus, nodeCapabilities, type StatusInputs } from "../../src/cluster_node/mod.ts";

const NOW = Date.UTC(2026, 0, 1);
const v = { min: 1, max: 1, cur: 1 };
const load = (q: number, health = 0): LiveLoad => ({
  queueDepth: q,
  activeSequences: 1,
  tokensPerSecond: 12.5,
  utilisation: 0.25,
  healthScore: health,
});
const meta = (name: string) =>
  encodeCapabilities(nodeCapabilities({
    id: `00000000-0000-4000-8000-00000000000${name.length}`,
    name,
    version: "0.1.0",
    apiAddr: "127.0.0.1:8080",
    backend: "wasm",
    device: "cpu",
    memoryBudgetBytes: 1e9,
    bytesPerSec: 2e9,
    model: { id: "m", layers: 22 },
  }));

function member(name: string, status: MemberStatus, extra: Partial<MemberInfo> = {}): MemberInfo {
  return {
    name,
    addr: `127.0.0.1:${7000 + name.length}`,
    meta: meta(name),
    vsn: v,
    incarnation: 1_767_225_600,
    status,
    stateChangeAt: NOW - 2_000,
    ...extra,
  };
}

function workerInfo(): WorkerInfo {
  const zero = <T extends string>(keys: T[]) =>
    Object.fromEntries(keys.map((k) => [k, 0])) as Record<T, number>;
  return {
    address: "127.0.0.1:7001",
    name: "a",
    healthScore: 1,
    incarnation: 1_767_225_601,
    queueDepth: 3,
    encrypted: true,
    gossip: {
      ...zero([
        "packetsSent",
        "bytesSent",
        "packetsReceived",
        "bytesReceived",
        "malformedPackets",
        "unknownMessages",
        "misdirectedPings",
        "handlerErrors",
        "streamsServed",
        "malformedStreams",
        "pushPulls",
        "pushPullsFailed",
        "staleCorrections",
        "userStatesAccepted",
        "userStatesIgnored",
        "probes",
        "probesFailed",
        "probesSavedByTcp",
        "indirectPingsServed",
        "implausibleIncarnations",
        "conflicts",
        "badVersions",
        "refutations",
        "reannouncements",
      ]),
      malformedPackets: 2,
      unknownMessages: 1,
      probes: 40,
    },
    transport: {
      ...zero([
        "packetsSent",
        "bytesSent",
        "packetsReceived",
        "bytesReceived",
        "sendErrors",
        "oversizePackets",
        "malformedEnvelopes",
        "decryptFailures",
        "labelMismatches",
        "unencryptedDropped",
        "streamsAccepted",
        "streamsRejected",
        "streamErrors",
        "requests",
        "requestFailures",
      ]),
      packetsSent: 100,
      decryptFailures: 7,
      oversizePackets: 1,
      malformedEnvelopes: 2,
    },
  };
}

function inputs(members: MemberInfo[]): StatusInputs {
  return {
    members,
    info: workerInfo(),
    selfLoad: load(0),
    apiAddr: "127.0.0.1:8080",
    profile: "local",
    keyCount: 2,
    seeds: ["127.0.0.1:7000"],
    joined: true,
    requests: { queued: 4, active: 2 },
    nowMs: NOW,
  };
}

Deno.test("the status names every state, counts members and sorts rows by name", () => {
  const s = buildClusterStatus(inputs([
    member("d", MemberStatus.Dead),
    member("a", MemberStatus.Alive),
    member("cc", MemberStatus.Suspect),
    member("bbb", MemberStatus.Left),
  ]));
  assert.deepEqual(s.members.map((m) => [m.name, m.status]), [
    ["a", "alive"],
    ["bbb", "left"],
    ["cc", "suspect"],
    ["d", "dead"],
  ]);
  assert.deepEqual(s.info.members, { alive: 1, suspect: 1, dead: 1, left: 1, total: 4 });
  assert.equal(s.at, "2026-01-01T00:00:00.000Z");
  assert.equal(s.members[2].statusAgeMs, 2_000);
  assert.deepEqual(s.info.queues, { broadcasts: 3, requestsQueued: 4, requestsActive: 2 });
  assert.equal(s.info.packets.decryptFailures, 7);
  assert.equal(s.info.packets.malformed, 3);
  assert.equal(s.info.packets.badMessages, 3);
  assert.equal(s.info.keys, 2);
  assert.equal(s.info.probes.sent, 40);
});

Deno.test("each member's capabilities are decoded and its freshest load wins", () => {
  const s = buildClusterStatus(inputs([
    member("a", MemberStatus.Alive),
    member("b", MemberStatus.Alive, {
      rttMs: 0.4321,
      ackPayload: encodeLoad(load(1, 2)),
      ackAgeMs: 900,
      userState: encodeLoad(load(5, 3)),
      userStateAgeMs: 300,
    }),
    member("cc", MemberStatus.Alive, { ackPayload: encodeLoad(load(6)), ackAgeMs: 100 }),
  ]));
  const [a, b, c] = s.members;
  assert.equal(a.self, true);
  assert.deepEqual(a.load, { ...load(0), ageMs: 0, via: "self" });
  assert.equal(a.healthScore, 1, "our own health comes from the gossip engine");
  assert.equal(b.backend, "wasm");
  assert.equal(b.score, 2e9);
  assert.deepEqual(b.layers, [{ model: "m", first: 0, last: 21 }]);
  assert.equal(b.load!.queueDepth, 5);
  assert.equal(b.load!.via, "broadcast");
  assert.equal(b.healthScore, 3);
  assert.equal(b.rttMs, 0.43);
  assert.equal(c.load!.queueDepth, 6);
  assert.equal(c.load!.via, "ack");
});

Deno.test("unreadable metadata or load becomes a problem note, not a failure", () => {
  const s = buildClusterStatus(inputs([
    member("a", MemberStatus.Alive),
    member("x", MemberStatus.Alive, {
      meta: new Uint8Array([0xc1]),
      ackPayload: new Uint8Array([1]),
      ackAgeMs: 5,
    }),
    member("plain", MemberStatus.Alive, { meta: new Uint8Array(0) }),
  ]));
  const x = s.members.find((m) => m.name === "x")!;
  assert.equal(x.backend, "unknown");
  assert.match(x.problem!, /capabilities: .*; load: /);
  const plain = s.members.find((m) => m.name === "plain")!;
  assert.equal(plain.problem, undefined, "a member without metadata is merely unknown");
  assert.equal(plain.load, undefined);
});

Deno.test("a member's advertised plan and RTTs are shown by peer name; unknown names drop the layout", () => {
  const advertising = (name: string, replicas: Array<Array<{ node: string; end: number }>>) =>
    encodeCapabilities(nodeCapabilities({
      id: "00000000-0000-4000-8000-000000000001",
      name,
      version: "0.1.0",
      apiAddr: "127.0.0.1:8080",
      plan: { epoch: 42, replicas },
      rttsMs: { "node-a": 0.34, "node-c": 12.06, "not-in-ring": 1, [name]: 0 },
    }));
  const s = buildClusterStatus(inputs([
    member("node-a", MemberStatus.Alive),
    member("node-b", MemberStatus.Alive, {
      meta: advertising("node-b", [[{ node: "node-a", end: 3 }, { node: "node-b", end: 5 }], [{
        node: "node-c",
        end: 5,
      }]]),
    }),
    member("node-c", MemberStatus.Alive, { meta: advertising("node-c", [[{ node: "node-x", end: 5 }]]) }),
  ]));
  const b = s.members.find((m) => m.name === "node-b")!;
  assert.deepEqual(b.plan, {
    epoch: 42,
    replicas: [
      [{ node: "node-a", start: 0, end: 3 }, { node: "node-b", start: 3, end: 5 }],
      [{ node: "node-c", start: 0, end: 5 }],
    ],
  });
  assert.deepEqual(
    b.peerRttsMs,
    { "node-a": 0.3, "node-c": 12.1 },
    "0.1 ms steps; strangers and itself left out",
  );
  const c = s.members.find((m) => m.name === "node-c")!;
  assert.deepEqual(c.plan, { epoch: 42 }, "a layout naming a node this ring does not know is left out");
  assert.equal(s.members.find((m) => m.name === "node-a")!.plan, undefined);
});
