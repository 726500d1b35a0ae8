/**
 * Weights from a peer over the pipeline port: a stage without the model file loads only its own
 * tensors from a peer that has it, each checked against the manifest whose digest the caller expects;
 * another file, a damaged tensor, or a peer without the key are refused with typed errors.
 */
import assert from "node:assert/strict";
import {
  answerFetch,
  buildManifest,
  decodeManifest,
  encodeManifest,
  FrameType,
  HandshakeError,
  manifestDigest,
  openPeerModel,
  PipelineConnection,
  PipelineEngine,
  StageServer,
  WeightFetchError,
} from "../../../cluster/pipeline/mod.ts";
import { createReferenceBackend } from "../../../src/backend/reference/reference_backend.ts";
import { defaultSamplingParams } from "../../../src/engine/sampler.ts";
import { openGguf } from "../../../src/gguf/mod.ts";
import {
  modelInfo,
  routeOf,
  split,
  startStages,
  STORIES,
  syntheticModel,
  testKeyring,
  tokensOf,
} from "./support/pipeline_fixtures.ts";

const reference = JSON.parse(await Deno.readTextFile("../shared/reference/stories260K.json")) as {
  prompt_ids: number[];
  generated_ids: number[];
};

Deno.test("a stage without the model file fetches only its tensors from a peer and serves identical output", async () => {
  const keyring = await testKeyring();
  const [first] = await startStages(STORIES, split([0, 2, 5]).slice(0, 1), { keyring });
  const digest = await first.modelDigest();
  const peer = await openPeerModel(first.address, { nodeId: "node-b", keyring, expectedDigest: digest });
  const range = split([0, 2, 5])[1];
  const second = await StageServer.start({
    nodeId: "node-b",
    model: peer.file,
    range,
    backend: createReferenceBackend(),
    keyring,
    epochs: [1],
  });
  const fetched = peer.bytesFetched();
  peer.file.close();
  const info = await modelInfo(STORIES);
  const engine = new PipelineEngine({
    nodeId: "entry",
    ...info,
    keyring,
    ctx: 256,
    resolveRoute: () => routeOf([first, second]),
  });
  try {
    const local = await openGguf(STORIES);
    const wanted = local.header.tensors
      .filter((t) =>
        /^blk\.[234]\./.test(t.name) || t.name === "output_norm.weight" || t.name === "output.weight"
      )
      .reduce((n, t) => n + t.byteSize, 0);
    const manifestBytes = encodeManifest(await buildManifest(local)).length;
    const fileSize = local.source.size;
    local.close();
    assert.equal(fetched, manifestBytes + wanted, "the manifest plus exactly the range's tensors");
    assert.ok(fetched < fileSize * 0.8, `${fetched} of ${fileSize} bytes`);
    const got = await tokensOf(
      engine.submit({
        prompt: reference.prompt_ids,
        maxTokens: 16,
        sampling: { ...defaultSamplingParams(), temperature: 0 },
      }),
    );
    assert.deepEqual(got, reference.generated_ids.slice(0, 16));
  } finally {
    await engine.close();
    await second.close();
    await first.close();
  }
});

Deno.test("a peer holding another file than the expected digest names is refused", async () => {
  const keyring = await testKeyring();
  const [server] = await startStages(STORIES, split([0, 5]), { keyring });
  try {
    await assert.rejects(
      openPeerModel(server.address, { nodeId: "b", keyring, expectedDigest: "ab".repeat(32) }),
      (e) => e instanceof WeightFetchError && /expected abab/.test(e.message),
    );
    await assert.rejects(openPeerModel(server.address, { nodeId: "b" }), HandshakeError);
  } finally {
    await server.close();
  }
});

Deno.test("a tensor whose bytes differ from the manifest's SHA-256 is refused before use", async () => {
  // a peer that sends the manifest of one file and the bytes of another with the same header
  const keyring = await testKeyring();
  const synthetic = await openGguf(await syntheticModel());
  const manifest = encodeManifest(await buildManifest(synthetic));
  const other = await Deno.makeTempFile({ suffix: ".gguf" });
  const bytes = await Deno.readFile(await syntheticModel());
  bytes[bytes.length - 1] ^= 0x40; // the last tensor's last byte
  await Deno.writeFile(other, bytes);
  const damaged = await openGguf(other);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: PipelineConnection[] = [];
  const serving = (async () => {
    for await (const tcp of listener) {
      const conn = await PipelineConnection.accept(tcp, { nodeId: "liar", keyring });
      conns.push(conn);
      conn.start({
        frame: (f) => {
          if (f.type === FrameType.Fetch) {
            answerFetch(damaged, () => Promise.resolve(manifest), f).then((d) => conn.send(d));
          }
        },
      });
    }
  })();
  try {
    const peer = await openPeerModel(`127.0.0.1:${listener.addr.port}`, {
      nodeId: "b",
      keyring,
      expectedDigest: manifestDigest(decodeManifest(manifest)),
    });
    const tensors = peer.file.header.tensors;
    const last = tensors.reduce((a, b) => (a.offset > b.offset ? a : b));
    await peer.file.readTensorBytes(tensors.find((t) => t !== last)!); // an intact tensor passes
    await assert.rejects(
      peer.file.readTensorBytes(last),
      (e) => e instanceof WeightFetchError && /SHA-256/.test(e.message),
    );
    await assert.rejects(peer.file.source.read(100_000, 8), WeightFetchError); // not a whole tensor
    peer.file.close();
  } finally {
    listener.close();
    await serving;
    for (const c of conns) c.close();
    synthetic.close();
    damaged.close();
    await Deno.remove(other);
  }
});

Deno.test("malformed manifests are refused with WeightFetchError", () => {
  const good = encodeManifest({
    fileSize: 100,
    header: new Uint8Array(10),
    tensorHashes: [new Uint8Array(32)],
  });
  assert.equal(decodeManifest(good).tensorHashes.length, 1);
  for (const bad of [new Uint8Array(3), good.subarray(0, good.length - 1), Uint8Array.from([...good, 0])]) {
    assert.throws(() => decodeManifest(bad), WeightFetchError);
  }
  const lying = good.slice();
  new DataView(lying.buffer).setUint32(8, 0xffff_ffff, true);
  assert.throws(() => decodeManifest(lying), WeightFetchError);
});
