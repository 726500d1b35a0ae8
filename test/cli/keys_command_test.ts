/** `edgering keys` against a live in-process node: listing, a rotation, refusals, and `generate`. */
import assert from "node:assert/strict";
import { decodeKey, keyFingerprint } from "../../src/cluster_node/mod.ts";
import { main } from "../../src/main.ts";
import { startClusterServer } from "../cluster_node/support/cluster_server.ts";

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

Deno.test("keys list, install, use and remove rotate a node's ring, naming keys by fingerprint only", async () => {
  const node = await startClusterServer({ name: "node-a", apiKeys: ["admin"] });
  try {
    const at = ["--addr", node.addr, "--api-key", "admin"];
    const old = JSON.parse(await Deno.readTextFile(`${node.stateDir}/keyring.json`)).keys[0] as string;
    const oldPrint = await keyFingerprint(decodeKey(old));
    const listed = await cli("keys", "list", ...at);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(
      listed.stdout,
      `node-a: 1 key(s); the primary encrypts, all decrypt\n  ${oldPrint}  256-bit  primary\n`,
    );

    const generated = await cli("keys", "generate");
    const fresh = generated.stdout.trim();
    assert.equal(decodeKey(fresh).length, 32);
    const freshPrint = await keyFingerprint(decodeKey(fresh));
    const installed = await cli("keys", "install", fresh, ...at);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(
      installed.stdout,
      new RegExp(`${oldPrint}  256-bit  primary\\n  ${freshPrint}  256-bit\\n$`),
    );
    assert.ok(!installed.stdout.includes(fresh));

    const used = await cli("keys", "use", freshPrint.slice("sha256:".length, 20), ...at);
    assert.equal(used.code, 0, used.stderr);
    assert.match(used.stdout, new RegExp(`${freshPrint}  256-bit  primary`));
    const removed = await cli("keys", "remove", oldPrint, ...at, "--json");
    assert.deepEqual(JSON.parse(removed.stdout), {
      node: "node-a",
      encrypted: true,
      keys: [{ fingerprint: freshPrint, bytes: 32, primary: true }],
    });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${node.stateDir}/keyring.json`)).keys, [fresh]);

    const table: [string[], RegExp][] = [
      [["keys", "remove", fresh, ...at], /cannot remove the primary key/],
      [["keys", "use", "sha256:00000000", ...at], /no installed key has fingerprint/],
      [["keys", "install", "c2hvcnQ=", ...at], /16, 24 or 32 bytes/],
      [["keys", "list", "--addr", node.addr], /wants an API key/],
      [["keys", "rotate", ...at], /give an action: list, install, use, remove, generate/],
      [["keys", "install", ...at], /give exactly one KEY/],
      [["keys", "list", "extra", ...at], /takes no argument/],
    ];
    for (const [args, message] of table) {
      const r = await cli(...args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stderr.trim().split("\n").length, 1);
      assert.ok(!r.stderr.includes("c2hvcnQ=") && !r.stderr.includes(fresh), "keys are not echoed");
    }
  } finally {
    await node.close();
  }
});

Deno.test("an insecure node has no keys to list and refuses to install one", async () => {
  const node = await startClusterServer({ name: "plain", insecure: true });
  try {
    const listed = await cli("keys", "list", "--addr", node.addr);
    assert.equal(listed.stdout, "plain: insecure ring, no keys (started with --insecure)\n");
    const refused = await cli(
      "keys",
      "install",
      (await cli("keys", "generate")).stdout.trim(),
      "--addr",
      node.addr,
    );
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /insecure ring .* restart its nodes with --cluster-key/i);
  } finally {
    await node.close();
  }
});
