/**
 * Authenticated pipeline connections on real loopback sockets: who is let in, what a record protects
 * against, and how frames are batched into records.
 */
import assert from "node:assert/strict";
import { Keyring } from "../../../cluster/gossip/keyring.ts";
import {
  CancelReason,
  encodeFrame,
  type Frame,
  FrameReader,
  FrameType,
  HandshakeError,
  HELLO_NONCE_BYTES,
  HELLO_PROOF_BYTES,
  helloAuth,
  helloNonce,
  PipelineConnection,
  RECORD_TAG_BYTES,
  RecordAuthError,
  recordCipher,
  StageServer,
  SYNC_CRYPTO_MAX_BYTES,
} from "../../../cluster/pipeline/mod.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { keyBytes, STORIES, TEST_KEY, testKeyring, until } from "./support/pipeline_fixtures.ts";

const OTHER_KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(9)));
const FULL = { start: 0, end: 5, embedding: true, head: true };

async function stage(keyring?: Keyring): Promise<{ server: StageServer; log: string[] }> {
  const log: string[] = [];
  const server = await StageServer.start({
    nodeId: "stage",
    model: STORIES,
    range: FULL,
    backend: createReferenceBackend(),
    keyring,
    epochs: [1],
    log: (line) => log.push(line),
  });
  return { server, log };
}

function isHandshake(reason: string) {
  return (e: unknown) => e instanceof HandshakeError && e.reason === reason;
}

Deno.test("a peer without the cluster key, or with another key, is refused, logged and counted", async () => {
  const { server, log } = await stage(await testKeyring());
  try {
    await assert.rejects(
      PipelineConnection.connect(server.address, { nodeId: "intruder" }),
      isHandshake("unauthorized"),
    );
    await assert.rejects(
      PipelineConnection.connect(server.address, {
        nodeId: "intruder",
        keyring: await testKeyring(OTHER_KEY),
      }),
      isHandshake("unauthorized"),
    );
    // a raw socket that skips the handshake and injects an OPEN is cut off too
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await raw.write(encodeFrame({ type: FrameType.Cancel, seqId: 1, reason: CancelReason.Client }));
    const reader = new FrameReader(raw.readable);
    const reply = await reader.read();
    assert.equal(reply?.type, FrameType.Error);
    assert.equal(await reader.read(), null, "the stage closes the connection"); // (which ends the resource)
    assert.ok(
      await until(() => server.stats().refusedPeers === 3, 2_000),
      `refused ${server.stats().refusedPeers}`,
    );
    assert.equal(log.filter((l) => l.startsWith("refused pipeline peer")).length, 3);
    assert.equal(server.stats().sequences, 0);
    // while a node with the key gets in
    const ok = await PipelineConnection.connect(server.address, {
      nodeId: "member",
      keyring: await testKeyring(),
    });
    assert.equal(ok.peerId, "stage");
    assert.ok(ok.sealed);
    ok.close();
  } finally {
    await server.close();
  }
});

Deno.test("a replayed client HELLO without the session key never becomes a connection", async () => {
  const { server, log } = await stage(await testKeyring());
  try {
    // a HELLO as a member would send it (recorded off the wire), replayed by a node without the key
    const fields = { minVersion: 1, maxVersion: 2, planEpoch: 0, nodeId: "entry~victim" };
    const auth = await helloAuth(keyBytes(TEST_KEY), "", "client", helloNonce(), undefined, fields);
    const raw = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await raw.write(encodeFrame({ type: FrameType.Hello, ...fields, auth }));
    const reader = new FrameReader(raw.readable);
    assert.equal((await reader.read())?.type, FrameType.Hello); // the stage answers the proof...
    await raw.write(
      encodeFrame({ type: FrameType.Record, data: crypto.getRandomValues(new Uint8Array(16)) }),
    );
    const refusal = await reader.read(); // ...but the replayer cannot seal the key confirmation
    assert.equal(refusal?.type, FrameType.Error);
    assert.equal(await reader.read(), null);
    assert.ok(await until(() => server.stats().refusedPeers === 1, 2_000));
    assert.equal(server.stats().connections, 0);
    assert.match(log.join("\n"), /key confirmation does not open/);
  } finally {
    await server.close();
  }
});

Deno.test("a client refuses a server that cannot prove the cluster key", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const impostor = (async () => {
    const conn = await listener.accept();
    const reader = new FrameReader(conn.readable);
    await reader.read(); // the client's HELLO
    const auth = crypto.getRandomValues(new Uint8Array(HELLO_NONCE_BYTES + HELLO_PROOF_BYTES));
    await conn.write(
      encodeFrame({
        type: FrameType.Hello,
        minVersion: 1,
        maxVersion: 2,
        planEpoch: 0,
        nodeId: "fake",
        auth,
      }),
    );
    await reader.read().catch(() => null); // until the client hangs up (the stream's end closes conn)
  })();
  try {
    await assert.rejects(
      PipelineConnection.connect(`127.0.0.1:${listener.addr.port}`, {
        nodeId: "entry",
        keyring: await testKeyring(),
      }),
      isHandshake("unauthorized"),
    );
  } finally {
    await impostor;
    listener.close();
  }
});

Deno.test("a keyed node and an unkeyed node refuse each other", async () => {
  const { server } = await stage(undefined);
  try {
    await assert.rejects(
      PipelineConnection.connect(server.address, { nodeId: "keyed", keyring: await testKeyring() }),
      isHandshake("unauthorized"),
    );
    const plain = await PipelineConnection.connect(server.address, { nodeId: "plain" });
    assert.equal(plain.sealed, false);
    plain.close();
  } finally {
    await server.close();
  }
});

Deno.test("during a key rotation a stage accepts peers whose primary is either key", async () => {
  const rotating = await Keyring.create([keyBytes(TEST_KEY), keyBytes(OTHER_KEY)]);
  const { server } = await stage(rotating);
  try {
    for (const key of [TEST_KEY, OTHER_KEY]) {
      const conn = await PipelineConnection.connect(server.address, {
        nodeId: "peer",
        keyring: await testKeyring(key),
      });
      conn.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("a sealed record hides its bytes and a replayed, reordered or altered record fails authentication", async () => {
  const key = keyBytes(TEST_KEY);
  const nc = crypto.getRandomValues(new Uint8Array(16));
  const ns = crypto.getRandomValues(new Uint8Array(16));
  const client = await recordCipher(key, "", "client", nc, ns);
  const plain = new TextEncoder().encode("hidden state rows hidden state rows");
  const r0 = await client.seal(plain);
  const r1 = await client.seal(plain);
  assert.notDeepEqual(r0, r1, "the same bytes seal differently each time");
  assert.ok(!new TextDecoder().decode(r0).includes("hidden"));

  const server = await recordCipher(key, "", "server", nc, ns);
  assert.deepEqual(await server.open(r0), plain);
  await assert.rejects(server.open(r0), RecordAuthError); // replay of record 0 where 1 is due
  const server2 = await recordCipher(key, "", "server", nc, ns);
  await assert.rejects(server2.open(r1), RecordAuthError); // record 1 before 0
  const server3 = await recordCipher(key, "", "server", nc, ns);
  const altered = r0.slice();
  altered[3] ^= 1;
  await assert.rejects(server3.open(altered), RecordAuthError);
  const otherSession = await recordCipher(key, "", "server", nc, crypto.getRandomValues(new Uint8Array(16)));
  await assert.rejects(otherSession.open(r0), RecordAuthError); // a record from another connection
});

Deno.test("records of every size round-trip, on both sides of the synchronous-crypto threshold", async () => {
  const key = keyBytes(TEST_KEY);
  const nc = crypto.getRandomValues(new Uint8Array(16));
  const ns = crypto.getRandomValues(new Uint8Array(16));
  const client = await recordCipher(key, "label", "client", nc, ns);
  const server = await recordCipher(key, "label", "server", nc, ns);
  const sizes = [0, 1, SYNC_CRYPTO_MAX_BYTES - 1, SYNC_CRYPTO_MAX_BYTES, SYNC_CRYPTO_MAX_BYTES + 1, 200_000];
  for (const size of sizes) {
    const plain = Uint8Array.from({ length: size }, (_, i) => (i * 131 + size) & 0xff);
    const sealed = await client.seal(plain);
    assert.equal(sealed.length, size + RECORD_TAG_BYTES);
    assert.deepEqual(await server.open(sealed), plain, `${size} bytes`);
    const back = await server.seal(plain); // and the other direction, with its own key
    assert.deepEqual(await client.open(back), plain);
  }
  const big = await client.seal(new Uint8Array(50_000));
  big[40_000] ^= 1;
  await assert.rejects(server.open(big), RecordAuthError);
});

Deno.test("frames sent in one synchronous burst travel in one record and arrive in order", async () => {
  const keyring = await testKeyring();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: Frame[] = [];
  const accepted = (async () => {
    const conn = await PipelineConnection.accept(await listener.accept(), { nodeId: "server", keyring });
    conn.start({ frame: (f) => received.push(f) });
    return conn;
  })();
  const client = await PipelineConnection.connect(`127.0.0.1:${listener.addr.port}`, {
    nodeId: "client",
    keyring,
  });
  const server = await accepted;
  try {
    for (let i = 1; i <= 10; i++) {
      client.send({ type: FrameType.Cancel, seqId: i, reason: CancelReason.Finished });
    }
    await client.flushed();
    assert.equal(client.stats.recordsOut, 1);
    assert.ok(await until(() => received.length === 10, 2_000));
    assert.deepEqual(received.map((f) => (f as { seqId: number }).seqId), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  } finally {
    client.close();
    server.close();
    listener.close();
  }
});

Deno.test("closing a stage cuts off connections still in their handshake instead of waiting for the timeout", async () => {
  const { server } = await stage(await testKeyring());
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await new Promise((r) => setTimeout(r, 20)); // accepted, waiting for a HELLO that never comes
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 1_000, `close took ${Date.now() - started} ms`);
  } finally {
    silent.close();
  }
});
