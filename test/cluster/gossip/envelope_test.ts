import assert from "node:assert/strict";
import { envelopeOverhead, open, seal } from "../../../cluster/gossip/envelope.ts";
import { GossipConfigError, SecurityError, WireDecodeError } from "../../../cluster/gossip/errors.ts";
import { generateClusterKey, Keyring, parseClusterKey } from "../../../cluster/gossip/keyring.ts";

const key = (fill: number, n = 32) => new Uint8Array(n).fill(fill);
const msg = new Uint8Array([1, 2, 3, 4, 5]);

Deno.test("sealed messages open with the same label and key, and the overhead is exact", async () => {
  for (const keys of [undefined, [key(1)], [key(2, 16)], [key(3, 24)]]) {
    for (const label of ["", "prod-eu"]) {
      const opts = { label, keyring: keys && await Keyring.create(keys) };
      const sealed = await seal(msg, opts);
      assert.equal(sealed.length, msg.length + envelopeOverhead(opts));
      assert.deepEqual(await open(sealed, opts), msg);
    }
  }
});

Deno.test("a wrong label, a wrong key, tampering or a missing key are refused with the reason", async () => {
  const a = { label: "ring-a", keyring: await Keyring.create([key(1)]) };
  const sealed = await seal(msg, a);
  const tampered = sealed.slice();
  tampered[tampered.length - 1] ^= 1;
  const relabelled = await seal(msg, { ...a, label: "ring-b" });
  const plain = await seal(msg, { label: "ring-a" });
  const cases: [string, Uint8Array, Parameters<typeof open>[1], string][] = [
    ["wrong label", relabelled, a, "label"],
    ["wrong key", sealed, { label: "ring-a", keyring: await Keyring.create([key(9)]) }, "decrypt"],
    ["tampered", tampered, a, "decrypt"],
    ["plaintext into encrypted ring", plain, a, "unencrypted"],
    ["encrypted into plaintext ring", sealed, { label: "ring-a" }, "encrypted"],
  ];
  for (const [what, bytes, opts, reason] of cases) {
    await assert.rejects(open(bytes, opts), (e) => e instanceof SecurityError && e.reason === reason, what);
  }
  await assert.rejects(open(new Uint8Array([2]), a), WireDecodeError);
  await assert.rejects(
    open(new Uint8Array([9, 6, ...new TextEncoder().encode("ring-a")]), a),
    WireDecodeError,
  );
});

Deno.test("a keyring decrypts with any installed key and encrypts with the primary", async () => {
  const old = key(1), next = key(2);
  const ring = await Keyring.create([old]);
  const sender = { label: "", keyring: await Keyring.create([next]) };
  const fromNew = await seal(msg, sender);
  await assert.rejects(open(fromNew, { label: "", keyring: ring }), SecurityError);
  await ring.install(next);
  assert.deepEqual(await open(fromNew, { label: "", keyring: ring }), msg, "installed key decrypts");
  ring.use(next);
  assert.deepEqual(ring.keys(), [next, old]);
  assert.throws(() => ring.remove(next), SecurityError, "the primary cannot be removed");
  ring.remove(old);
  assert.deepEqual(ring.keys(), [next]);
  assert.throws(() => ring.use(old), SecurityError);
  await assert.rejects(Keyring.create([new Uint8Array(20)]), SecurityError);
});

Deno.test("cluster keys are base64 of 16, 24 or 32 bytes", () => {
  assert.equal(parseClusterKey(generateClusterKey()).length, 32);
  assert.equal(parseClusterKey(btoa("x".repeat(16))).length, 16);
  for (const bad of ["not base64!!", btoa("short"), btoa("x".repeat(33))]) {
    assert.throws(() => parseClusterKey(bad), GossipConfigError, bad);
  }
});
