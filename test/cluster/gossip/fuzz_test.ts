import assert from "node:assert/strict";
import { encodeCompound, encodeMessage } from "../../../cluster/gossip/codec.ts";
import { localConfig } from "../../../cluster/gossip/config.ts";
import { seal } from "../../../cluster/gossip/envelope.ts";
import { GossipNode } from "../../../cluster/gossip/gossip_node.ts";
import { Keyring } from "../../../cluster/gossip/keyring.ts";
import { MemberStatus, MessageType } from "../../../cluster/gossip/messages.ts";
import { NetTransport, splitHostPort } from "../../../cluster/gossip/net_transport.ts";
import { randomInt, type Rng, seededRng } from "../../../cluster/gossip/rng.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = randomInt(rng, 256);
  return b;
}

/** Bit flips, truncation, extension or a spliced random run. */
function mutate(rng: Rng, src: Uint8Array): Uint8Array {
  let b = src.slice();
  switch (randomInt(rng, 4)) {
    case 0:
      for (let i = 0, n = 1 + randomInt(rng, 8); i < n && b.length > 0; i++) {
        b[randomInt(rng, b.length)] ^= 1 << randomInt(rng, 8);
      }
      break;
    case 1:
      b = b.subarray(0, randomInt(rng, b.length + 1));
      break;
    case 2: {
      const out = new Uint8Array(b.length + 1 + randomInt(rng, 64));
      out.set(b);
      out.set(randomBytes(rng, out.length - b.length), b.length);
      b = out;
      break;
    }
    default: {
      const at = randomInt(rng, b.length + 1);
      b.set(randomBytes(rng, Math.min(b.length - at, 1 + randomInt(rng, 16))), at);
    }
  }
  return b;
}

/** Messages that do not change membership, so "state intact" can be checked exactly. */
function corpus(target: string): Uint8Array[] {
  const ping = encodeMessage({ type: MessageType.Ping, seq: 1, node: target, sourceNode: "fuzzer" });
  const msgs = [
    ping,
    encodeMessage({ type: MessageType.Ack, seq: 77, payload: new Uint8Array([1, 2]) }),
    encodeMessage({ type: MessageType.Nack, seq: 78 }),
    encodeMessage({
      type: MessageType.IndirectPing,
      seq: 3,
      node: "ghost",
      addr: "127.0.0.1:9",
      nack: true,
      sourceNode: "fuzzer",
    }),
    encodeMessage({ type: MessageType.Suspect, incarnation: 1, node: "nobody", from: "fuzzer" }),
    encodeMessage({ type: MessageType.Dead, incarnation: 1, node: "nobody", from: "fuzzer" }),
    encodeMessage({ type: MessageType.PushPull, join: true, vsn: { min: 1, max: 1, cur: 1 }, nodes: [] }),
  ];
  return [...msgs, encodeCompound(msgs)];
}

async function twoNodeRing(keys?: Uint8Array[]) {
  const nodes: { node: GossipNode; transport: NetTransport }[] = [];
  for (const name of ["fuzz-a", "fuzz-b"]) {
    const keyring = keys ? await Keyring.create(keys) : undefined;
    const transport = NetTransport.listen({ hostname: "127.0.0.1", port: 0, label: "fuzz", keyring });
    const node = new GossipNode({ config: localConfig(name), transport });
    node.start();
    nodes.push({ node, transport });
  }
  await nodes[1].node.join([nodes[0].transport.address]);
  return nodes;
}

function intact(ring: { node: GossipNode }[], incarnations: number[]): void {
  for (const [i, { node }] of ring.entries()) {
    assert.ok(node.running);
    assert.equal(node.table.local().incarnation, incarnations[i], "no refutation was forced");
    assert.deepEqual(node.members().map((m) => [m.name, m.status]).sort(), [["fuzz-a", MemberStatus.Alive], [
      "fuzz-b",
      MemberStatus.Alive,
    ]]);
    assert.equal(node.stats().handlerErrors, 0, "no exception reached a handler");
  }
}

async function blast(to: string, packets: Uint8Array[]): Promise<void> {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const { hostname, port } = splitHostPort(to);
  try {
    for (let i = 0; i < packets.length; i++) {
      await sock.send(packets[i], { transport: "udp", hostname, port });
      if (i % 100 === 99) await sleep(2); // let the receiver drain its socket buffer
    }
    await sleep(300);
  } finally {
    sock.close();
  }
}

Deno.test("12,000 random and mutated datagrams leave a live plaintext node intact and are counted", async () => {
  const ring = await twoNodeRing();
  const [a] = ring;
  try {
    await sleep(500);
    const incs = ring.map((r) => r.node.table.local().incarnation);
    const rng = seededRng(2024);
    const base = corpus("fuzz-a");
    const packets: Uint8Array[] = [];
    for (let i = 0; i < 12_000; i++) {
      const kind = randomInt(rng, 10);
      if (kind < 4) packets.push(randomBytes(rng, randomInt(rng, 1500)));
      else if (kind < 7) {
        packets.push(mutate(rng, await seal(base[randomInt(rng, base.length)], { label: "fuzz" })));
      } else packets.push(await seal(mutate(rng, base[randomInt(rng, base.length)]), { label: "fuzz" }));
    }
    const before = { ...a.transport.stats }, engineBefore = a.node.stats();
    await blast(a.transport.address, packets);
    const t = a.transport.stats, e = a.node.stats();
    const received = t.packetsReceived - before.packetsReceived;
    assert.ok(received >= 11_000, `received ${received}`);
    const envelopeDrops = t.malformedEnvelopes + t.labelMismatches + t.oversizePackets + t.decryptFailures -
      (before.malformedEnvelopes + before.labelMismatches + before.oversizePackets + before.decryptFailures);
    const codecDrops = e.malformedPackets + e.unknownMessages - engineBefore.malformedPackets -
      engineBefore.unknownMessages;
    assert.ok(envelopeDrops > 3_000, `envelope drops ${envelopeDrops}`);
    assert.ok(codecDrops > 1_000, `codec drops ${codecDrops}`);
    await sleep(1_000);
    intact(ring, incs);
  } finally {
    for (const r of ring) await r.node.shutdown();
  }
});

Deno.test("mutated encrypted datagrams never authenticate", async () => {
  const keys = [new Uint8Array(32).fill(5)];
  const ring = await twoNodeRing(keys);
  const [a] = ring;
  try {
    await sleep(300);
    const incs = ring.map((r) => r.node.table.local().incarnation);
    const rng = seededRng(7);
    const keyring = await Keyring.create(keys);
    const base = corpus("fuzz-a");
    const packets: Uint8Array[] = [];
    for (let i = 0; i < 3_000; i++) {
      const sealed = await seal(base[randomInt(rng, base.length)], { label: "fuzz", keyring });
      packets.push(i % 3 === 0 ? randomBytes(rng, randomInt(rng, 1400)) : mutate(rng, sealed));
    }
    const before = a.transport.stats.decryptFailures + a.transport.stats.malformedEnvelopes +
      a.transport.stats.labelMismatches;
    await blast(a.transport.address, packets);
    const t = a.transport.stats;
    const drops = t.decryptFailures + t.malformedEnvelopes + t.labelMismatches - before;
    assert.ok(drops >= 2_500, `drops ${drops}`);
    intact(ring, incs);
  } finally {
    for (const r of ring) await r.node.shutdown();
  }
});

Deno.test("garbage streams are dropped and the node keeps serving", async () => {
  const ring = await twoNodeRing();
  const [a] = ring;
  try {
    const incs = ring.map((r) => r.node.table.local().incarnation);
    const rng = seededRng(99);
    const { hostname, port } = splitHostPort(a.transport.address);
    const valid = await seal(
      encodeMessage({ type: MessageType.Ping, seq: 5, node: "fuzz-a", sourceNode: "x" }),
      { label: "fuzz" },
    );
    for (let i = 0; i < 200; i++) {
      const conn = await Deno.connect({ hostname, port });
      let body: Uint8Array;
      switch (i % 4) {
        case 0: // random bytes, random length prefix
          body = randomBytes(rng, 4 + randomInt(rng, 300));
          break;
        case 1: // a huge declared length
          body = new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
          break;
        case 2: { // well-framed mutated envelope
          const m = mutate(rng, valid);
          body = new Uint8Array(4 + m.length);
          new DataView(body.buffer).setUint32(0, m.length);
          body.set(m, 4);
          break;
        }
        default: // truncated frame, then hang up
          body = new Uint8Array([0, 0, 0, 50, 1, 2]);
      }
      try {
        await conn.write(body);
      } catch { /* the node may already have hung up */ }
      conn.close();
    }
    await sleep(500);
    assert.ok(
      a.transport.stats.streamErrors + a.node.stats().malformedStreams +
          a.transport.stats.malformedEnvelopes >= 150,
    );
    intact(ring, incs);
    // Still answers a real push-pull.
    await ring[1].node.join([a.transport.address]);
  } finally {
    for (const r of ring) await r.node.shutdown();
  }
});
