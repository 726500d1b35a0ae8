import assert from "node:assert/strict";
import { localConfig } from "../../../cluster/gossip/config.ts";
import { GossipBindError } from "../../../cluster/gossip/errors.ts";
import { GossipNode } from "../../../cluster/gossip/gossip_node.ts";
import { Keyring } from "../../../cluster/gossip/keyring.ts";
import type { MemberEvent } from "../../../cluster/gossip/member_table.ts";
import { MemberStatus } from "../../../cluster/gossip/messages.ts";
import { NetTransport } from "../../../cluster/gossip/net_transport.ts";
import { decodeLoad, encodeLoad } from "../../../cluster/gossip/node_meta.ts";
import { GossipWorker } from "../../../cluster/gossip/worker/gossip_worker_client.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return false;
}

Deno.test("nodes in workers keep acking while the main thread is blocked; a main-thread node does not", async () => {
  const key = new Uint8Array(32).fill(3);
  const opts = { profile: "local" as const, hostname: "127.0.0.1", port: 0, label: "w", keys: [key] };
  const a = await GossipWorker.start({ ...opts, name: "worker-a" });
  const b = await GossipWorker.start({ ...opts, name: "worker-b" });
  // A third node on the main thread, for contrast.
  const transport = NetTransport.listen({
    hostname: "127.0.0.1",
    port: 0,
    label: "w",
    keyring: await Keyring.create([key]),
  });
  const main = new GossipNode({ config: localConfig("main-thread"), transport });
  main.start();
  const events: MemberEvent[] = [];
  a.onEvent = (e) => events.push(e);
  b.onEvent = (e) => events.push(e);
  try {
    await b.join([a.address]);
    await main.join([a.address]);
    await a.setLoad(encodeLoad({ queueDepth: 7, activeSequences: 1, tokensPerSecond: 5, utilisation: 0.2 }));
    assert.ok(
      await until(
        async () => (await a.members()).filter((m) => m.status === MemberStatus.Alive).length === 3,
        5_000,
      ),
    );
    // A long synchronous kernel on the main thread: 3 s without yielding.
    const end = Date.now() + 3_000;
    while (Date.now() < end) { /* busy */ }
    await sleep(500);
    const about = (name: string) =>
      events.filter((e) => e.member.name === name && (e.type === "suspect" || e.type === "dead"));
    assert.deepEqual(about("worker-a"), [], "worker-a kept answering");
    assert.deepEqual(about("worker-b"), [], "worker-b kept answering");
    assert.ok(about("main-thread").length > 0, "the blocked main-thread node was suspected");
    // Live load travelled in acks.
    assert.ok(
      await until(async () => {
        const seen = (await b.members()).find((m) => m.name === "worker-a");
        return seen?.ackPayload !== undefined && seen.ackPayload.length > 0 &&
          decodeLoad(seen.ackPayload).queueDepth === 7;
      }, 5_000),
    );
    const info = await a.info();
    assert.equal(info.encrypted, true);
    assert.equal(info.transport.decryptFailures, 0);
  } finally {
    await main.shutdown();
    await a.shutdown();
    await b.shutdown();
  }
});

Deno.test("a worker that cannot bind its port rejects start with the bind error", async () => {
  const taken = NetTransport.listen({ hostname: "127.0.0.1", port: 0 });
  const port = Number(taken.address.split(":")[1]);
  try {
    await assert.rejects(
      GossipWorker.start({ name: "x", profile: "local", hostname: "127.0.0.1", port }),
      (e) => (e as Error).name === GossipBindError.name && /already in use/.test((e as Error).message),
    );
  } finally {
    await taken.close();
  }
});
