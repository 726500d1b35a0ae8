import assert from "node:assert/strict";
import { localConfig } from "../../../cluster/gossip/config.ts";
import { GossipBindError, JoinError } from "../../../cluster/gossip/errors.ts";
import { GossipNode } from "../../../cluster/gossip/gossip_node.ts";
import { Keyring } from "../../../cluster/gossip/keyring.ts";
import type { MemberEvent } from "../../../cluster/gossip/member_table.ts";
import { MemberStatus } from "../../../cluster/gossip/messages.ts";
import { NetTransport, splitHostPort } from "../../../cluster/gossip/net_transport.ts";

const key = (fill: number) => new Uint8Array(32).fill(fill);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Live {
  node: GossipNode;
  transport: NetTransport;
  events: MemberEvent[];
}

async function startNode(name: string, opts: { label?: string; keys?: Uint8Array[] } = {}): Promise<Live> {
  const keyring = opts.keys ? await Keyring.create(opts.keys) : undefined;
  const transport = NetTransport.listen({
    hostname: "127.0.0.1",
    port: 0,
    label: opts.label ?? "test",
    keyring,
  });
  const events: MemberEvent[] = [];
  const node = new GossipNode({ config: localConfig(name), transport, onEvent: (e) => events.push(e) });
  node.start();
  return { node, transport, events };
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

const aliveCount = (l: Live) => l.node.members().filter((m) => m.status === MemberStatus.Alive).length;

Deno.test("encrypted nodes on loopback converge, detect a crash and record a graceful leave", async () => {
  const keys = [key(1)];
  const nodes = await Promise.all(["a", "b", "c", "d"].map((n) => startNode(`net-${n}`, { keys })));
  try {
    for (const l of nodes.slice(1)) await l.node.join([nodes[0].transport.address]);
    assert.ok(await waitFor(() => nodes.every((l) => aliveCount(l) === 4), 5_000), "converged");
    // Crash: sockets gone without a word.
    await nodes[3].node.shutdown();
    const t0 = Date.now();
    assert.ok(
      await waitFor(
        () => nodes.slice(0, 3).every((l) => l.node.table.get("net-d")?.status === MemberStatus.Dead),
        10_000,
      ),
      "crash detected",
    );
    assert.ok(Date.now() - t0 < 8_000, `detected after ${Date.now() - t0} ms`);
    // Graceful leave.
    await nodes[2].node.leave(2_000);
    await nodes[2].node.shutdown();
    assert.ok(await waitFor(() => nodes[0].node.table.get("net-c")?.status === MemberStatus.Left, 3_000));
    assert.ok(!nodes[0].events.some((e) => e.type === "dead" && e.member.name !== "net-d"), "no false dead");
    assert.equal(nodes[0].transport.stats.decryptFailures, 0);
  } finally {
    for (const l of nodes) await l.node.shutdown();
  }
});

Deno.test("a node with the wrong key or label is refused and the drops are counted", async () => {
  const seed = await startNode("seed", { keys: [key(1)], label: "prod" });
  const wrongKey = await startNode("intruder", { keys: [key(2)], label: "prod" });
  const wrongLabel = await startNode("other-ring", { keys: [key(1)], label: "staging" });
  const noKey = await startNode("insecure", { label: "prod" });
  try {
    for (const l of [wrongKey, wrongLabel, noKey]) {
      await assert.rejects(
        l.node.join([seed.transport.address]),
        (e) => e instanceof JoinError && /cluster key or label/.test(e.message),
        l.node.config.name,
      );
      // Their datagrams are dropped too.
      l.transport.sendPacket(seed.transport.address, new Uint8Array([0, 0x93, 1, 0xa0, 0xa0]));
    }
    await sleep(200);
    const s = seed.transport.stats;
    assert.ok(s.decryptFailures >= 2, `decrypt failures ${s.decryptFailures}`);
    assert.ok(s.labelMismatches >= 2, `label mismatches ${s.labelMismatches}`);
    assert.ok(s.unencryptedDropped >= 2, `unencrypted ${s.unencryptedDropped}`);
    assert.equal(aliveCount(seed), 1);
  } finally {
    for (const l of [seed, wrongKey, wrongLabel, noKey]) await l.node.shutdown();
  }
});

Deno.test("rotating the cluster key during traffic causes no false dead", async () => {
  const oldKey = key(1), newKey = key(2);
  const nodes = await Promise.all(["a", "b", "c", "d"].map((n) => startNode(`rot-${n}`, { keys: [oldKey] })));
  try {
    for (const l of nodes.slice(1)) await l.node.join([nodes[0].transport.address]);
    assert.ok(await waitFor(() => nodes.every((l) => aliveCount(l) === 4), 5_000));
    const ring = (l: Live) => l.transport.envelope.keyring!;
    // install → use → remove, one node at a time, with gossip flowing in between.
    for (const l of nodes) {
      await ring(l).install(newKey);
      await sleep(150);
    }
    for (const l of nodes) {
      ring(l).use(newKey);
      await sleep(150);
    }
    for (const l of nodes) {
      ring(l).remove(oldKey);
      await sleep(150);
    }
    await sleep(3_000);
    assert.ok(nodes.every((l) => aliveCount(l) === 4), "all alive");
    assert.deepEqual(
      nodes.flatMap((l) => l.events.filter((e) => e.type === "dead" || e.type === "suspect")),
      [],
    );
    assert.deepEqual(nodes.map((l) => l.transport.stats.decryptFailures), [0, 0, 0, 0]);
  } finally {
    for (const l of nodes) await l.node.shutdown();
  }
});

Deno.test("a gossip port already in use fails at start with a one-line reason", () => {
  const first = NetTransport.listen({ hostname: "127.0.0.1", port: 0 });
  const port = splitHostPort(first.address).port;
  try {
    assert.throws(
      () => NetTransport.listen({ hostname: "127.0.0.1", port }),
      (e) =>
        e instanceof GossipBindError && e.port === port && /already in use/.test(e.message) &&
        !e.message.includes("\n"),
    );
  } finally {
    first.close();
  }
});

Deno.test("addresses parse as host:port or [v6]:port", () => {
  assert.deepEqual(splitHostPort("127.0.0.1:7946"), { hostname: "127.0.0.1", port: 7946 });
  assert.deepEqual(splitHostPort("[::1]:80"), { hostname: "::1", port: 80 });
  for (const bad of ["nohost", "h:0", "h:70000", "::1:80", ""]) {
    assert.throws(() => splitHostPort(bad), Error, bad);
  }
});
