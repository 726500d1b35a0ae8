import assert from "node:assert/strict";
import { StateDir, StateDirError } from "../../src/cluster_node/mod.ts";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgering-state-dir-test-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the key ring and node record survive a reopen; the key ring is readable by its owner only", async () => {
  await withDir(async (root) => {
    const path = `${root}/nested/node-a`;
    const dir = await StateDir.open(path);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o700);
    assert.equal(await dir.readKeyring(), undefined);
    assert.equal(await dir.readNode(), undefined);
    const keys = [new Uint8Array(32).fill(1), new Uint8Array(16).fill(2)];
    await dir.writeKeyring(keys);
    await dir.writeNode({ id: "7f3c2a10-5b1e-4c9d-8e2f-0a1b2c3d4e5f", incarnation: 1_700_000_000 });
    assert.equal((await Deno.stat(dir.keyringPath)).mode! & 0o777, 0o600);
    const again = await StateDir.open(path);
    assert.deepEqual(await again.readKeyring(), keys);
    assert.deepEqual(await again.readNode(), {
      id: "7f3c2a10-5b1e-4c9d-8e2f-0a1b2c3d4e5f",
      incarnation: 1_700_000_000,
    });
    await again.writeNode({ id: "7f3c2a10-5b1e-4c9d-8e2f-0a1b2c3d4e5f", incarnation: 1_700_000_001 });
    assert.equal((await dir.readNode())!.incarnation, 1_700_000_001);
    assert.deepEqual([...Deno.readDirSync(path)].map((e) => e.name).sort(), ["keyring.json", "node.json"]);
  });
});

Deno.test("damaged state files are refused with one line naming the file", async () => {
  await withDir(async (root) => {
    const dir = await StateDir.open(root);
    const table: [string, string, RegExp][] = [
      ["keyring.json", "{", /not JSON/],
      ["keyring.json", "[]", /not an object/],
      ["keyring.json", '{"version": 2, "keys": []}', /format version 2/],
      ["keyring.json", '{"version": 1, "keys": []}', /"keys" must list/],
      ["keyring.json", '{"version": 1, "keys": ["c2hvcnQ="]}', /keys\[0\]: .*16, 24 or 32 bytes/],
      ["node.json", '{"version": 1, "id": "x", "incarnation": 1}', /"id" must be a UUID/],
      [
        "node.json",
        '{"version": 1, "id": "7f3c2a10-5b1e-4c9d-8e2f-0a1b2c3d4e5f", "incarnation": -1}',
        /"incarnation"/,
      ],
    ];
    for (const [file, text, message] of table) {
      await Deno.writeTextFile(`${root}/${file}`, text);
      const read = file === "node.json" ? dir.readNode() : dir.readKeyring();
      await assert.rejects(
        read,
        (e) =>
          e instanceof StateDirError && message.test(e.message) && e.message.includes(`${root}/${file}`) &&
          !e.message.includes("\n"),
      );
      await Deno.remove(`${root}/${file}`);
    }
    // a state directory below a regular file cannot be created
    await Deno.writeTextFile(`${root}/plain`, "");
    await assert.rejects(
      StateDir.open(`${root}/plain/node-a`),
      (e) => e instanceof StateDirError && /cannot create state directory .*plain\/node-a/.test(e.message),
    );
  });
});
