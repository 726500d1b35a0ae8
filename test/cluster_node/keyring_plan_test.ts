import assert from "node:assert/strict";
import { ClusterConfigError, type KeyringInputs, planKeyring } from "../../src/cluster_node/mod.ts";

const k = (b: number) => new Uint8Array(16).fill(b);
const generate = () => k(99);
const ids = (keys?: Uint8Array[]) => keys?.map((key) => key[0]);

Deno.test("the key ring decision follows the secure-by-default table", () => {
  const table: {
    what: string;
    input: Omit<KeyringInputs, "generate">;
    keys: number[] | undefined;
    generated: boolean;
    save: boolean;
    notes: number;
  }[] = [
    {
      what: "new ring: generate",
      input: { insecure: false, joining: false },
      keys: [99],
      generated: true,
      save: true,
      notes: 0,
    },
    {
      what: "flag key, nothing kept",
      input: { flagKey: k(1), insecure: false, joining: true },
      keys: [1],
      generated: false,
      save: true,
      notes: 0,
    },
    {
      what: "kept ring, no flag",
      input: { stored: [k(2), k(3)], insecure: false, joining: true },
      keys: [2, 3],
      generated: false,
      save: false,
      notes: 0,
    },
    {
      what: "kept ring wins over its own secondary",
      input: { flagKey: k(3), stored: [k(2), k(3)], insecure: false, joining: false },
      keys: [2, 3],
      generated: false,
      save: false,
      notes: 1,
    },
    {
      what: "kept ring with its primary as flag",
      input: { flagKey: k(2), stored: [k(2)], insecure: false, joining: false },
      keys: [2],
      generated: false,
      save: false,
      notes: 0,
    },
    {
      what: "a new flag key becomes a secondary",
      input: { flagKey: k(4), stored: [k(2)], insecure: false, joining: false },
      keys: [2, 4],
      generated: false,
      save: true,
      notes: 1,
    },
    {
      what: "insecure",
      input: { insecure: true, joining: true },
      keys: undefined,
      generated: false,
      save: false,
      notes: 0,
    },
    {
      what: "insecure keeps a kept ring untouched",
      input: { stored: [k(2)], insecure: true, joining: false },
      keys: undefined,
      generated: false,
      save: false,
      notes: 1,
    },
  ];
  for (const row of table) {
    const plan = planKeyring({ ...row.input, generate });
    assert.deepEqual(ids(plan.keys), row.keys, row.what);
    assert.equal(plan.generated, row.generated, row.what);
    assert.equal(plan.save, row.save, row.what);
    assert.equal(plan.notes.length, row.notes, row.what);
  }
});

Deno.test("joining without any key, or with both a key and --insecure, is refused", () => {
  assert.throws(
    () => planKeyring({ insecure: false, joining: true, generate }),
    (e) => e instanceof ClusterConfigError && /joining a ring needs its key/.test(e.message),
  );
  assert.throws(
    () => planKeyring({ flagKey: k(1), insecure: true, joining: false, generate }),
    (e) => e instanceof ClusterConfigError && /contradict/.test(e.message),
  );
});
