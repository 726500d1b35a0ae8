import assert from "node:assert/strict";
import { ClusterKeyError, encodeKey, keyFingerprint, KeyRingMirror } from "../../src/cluster_node/mod.ts";

const k = (b: number) => new Uint8Array(16).fill(b);

Deno.test("install, use and remove follow the rotation rules; keys are named by value or fingerprint", async () => {
  const ring = new KeyRingMirror([k(1)]);
  const two = await ring.resolve("install", encodeKey(k(2)));
  ring.apply("install", two);
  ring.apply("install", two); // twice is once
  assert.deepEqual(ring.keys.map((x) => x[0]), [1, 2]);
  const print2 = await keyFingerprint(k(2));
  ring.apply("use", await ring.resolve("use", print2.slice(7, 15)));
  assert.deepEqual(ring.keys.map((x) => x[0]), [2, 1]);
  await assert.rejects(ring.resolve("remove", encodeKey(k(2))), /cannot remove the primary key/);
  ring.apply("remove", await ring.resolve("remove", encodeKey(k(1))));
  assert.deepEqual(await ring.listing("n"), {
    node: "n",
    encrypted: true,
    keys: [{ fingerprint: print2, bytes: 16, primary: true }],
  });
});

Deno.test("unknown, ambiguous or malformed key names are refused", async () => {
  const ring = new KeyRingMirror([k(1), k(2)]);
  const table: [Parameters<KeyRingMirror["resolve"]>, RegExp][] = [
    [["use", encodeKey(k(3))], /not installed on this node/],
    [["use", "sha256:ffffffffffffffff"], /no installed key has fingerprint/],
    [["use", "what"], /name a key by its base64 value or its fingerprint/],
    [["install", "bm90IGEga2V5"], /16, 24 or 32 bytes/],
  ];
  for (const [args, message] of table) {
    await assert.rejects(
      ring.resolve(...args),
      (e) => e instanceof ClusterKeyError && message.test(e.message),
    );
  }
  const insecure = new KeyRingMirror(undefined);
  assert.equal(insecure.encrypted, false);
  await assert.rejects(insecure.resolve("install", encodeKey(k(1))), /insecure ring/);
});
