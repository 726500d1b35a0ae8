import assert from "node:assert/strict";
import {
  ClusterConfigError,
  decodeKey,
  encodeKey,
  generateClusterKeyText,
  isFingerprint,
  keyFingerprint,
  sameKey,
} from "../../src/cluster_node/mod.ts";

Deno.test("keys decode from base64 of 16, 24 or 32 bytes and nothing else, never echoing the text", () => {
  for (const n of [16, 24, 32]) {
    const raw = crypto.getRandomValues(new Uint8Array(n));
    assert.ok(sameKey(decodeKey(encodeKey(raw)), raw));
  }
  for (const bad of ["", "not base64!", btoa("short"), btoa("x".repeat(33)), "AAAA AAAA"]) {
    assert.throws(
      () => decodeKey(bad),
      (e) => e instanceof ClusterConfigError && !e.message.includes(bad || "§"),
    );
  }
  assert.equal(decodeKey(generateClusterKeyText()).length, 32);
});

Deno.test("a fingerprint names a key without revealing it and is stable", async () => {
  const raw = new Uint8Array(16);
  assert.equal(await keyFingerprint(raw), "sha256:374708fff7719dd5");
  assert.notEqual(await keyFingerprint(new Uint8Array(16).fill(1)), await keyFingerprint(raw));
  const table: [string, boolean][] = [
    ["sha256:374708fff7719dd5", true],
    ["374708ff", true],
    ["3747", false],
    ["sha256:xyz", false],
    ["AAAAAAAAAAAAAAAAAAAAAA==", false],
  ];
  for (const [text, is] of table) assert.equal(isFingerprint(text), is, text);
});
