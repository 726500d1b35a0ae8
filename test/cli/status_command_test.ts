/**
 * `edgering status`: the table and info block as a pure format, then against live in-process nodes —
 * a crashed member shows as suspect, then dead — and the one-line failures.
 */
import assert from "node:assert/strict";
import type { ClusterStatus, MemberRow } from "../../src/cluster_node/mod.ts";
import { formatStatusTable } from "../../src/cluster_node/mod.ts";
import { main } from "../../src/main.ts";
import { startClusterServer } from "../cluster_node/support/cluster_server.ts";

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

function row(name: string, status: MemberRow["status"], extra: Partial<MemberRow> = {}): MemberRow {
  return {
    name,
    address: `10.0.0.${name.length}:7946`,
    status,
    incarnation: 1_767_225_600,
    statusAgeMs: 0,
    self: false,
    backend: "wasm",
    score: 2.5e9,
    models: ["tinyllama"],
    layers: [{ model: "tinyllama", first: 0, last: 21 }],
    load: {
      queueDepth: 2,
      activeSequences: 8,
      tokensPerSecond: 80.14,
      utilisation: 1,
      healthScore: 1,
      ageMs: 300,
      via: "ack",
    },
    rttMs: 0.42,
    healthScore: 1,
    ...extra,
  };
}

const DOC: ClusterStatus = {
  version: 1,
  self: "a",
  at: "2026-01-01T00:00:00.000Z",
  info: {
    name: "a",
    address: "10.0.0.1:7946",
    apiAddr: "10.0.0.1:8080",
    profile: "lan",
    encrypted: false,
    keys: 0,
    protocol: { min: 1, max: 1, cur: 1 },
    incarnation: 1_767_225_601,
    healthScore: 0,
    seeds: ["10.0.0.9:7946"],
    joined: false,
    joinError: "request to 10.0.0.9:7946 failed: timeout after 10000 ms",
    members: { alive: 1, suspect: 1, dead: 0, left: 0, total: 3 },
    queues: { broadcasts: 2, requestsQueued: 1, requestsActive: 3 },
    packets: {
      sent: 1200,
      received: 1100,
      bytesSent: 123_456,
      bytesReceived: 99_000,
      decryptFailures: 4,
      labelMismatches: 0,
      unencryptedDropped: 2,
      malformed: 1,
      badMessages: 0,
      sendErrors: 0,
    },
    probes: { sent: 300, failed: 2, savedByTcp: 1 },
    pushPulls: { total: 10, failed: 1 },
  },
  members: [
    row("a", "alive", {
      self: true,
      rttMs: undefined,
      load: { ...row("a", "alive").load!, via: "self", ageMs: 0 },
      healthScore: 0,
    }),
    row("bb", "suspect"),
    row("ccc", "left", {
      backend: "unknown",
      score: 0,
      load: undefined,
      layers: [],
      rttMs: undefined,
      healthScore: undefined,
      problem: "capabilities: bad msgpack",
    }),
  ],
};

Deno.test("the table shows one aligned row per member, suspects as such, then the info block", () => {
  const text = formatStatusTable(DOC);
  const lines = text.split("\n");
  assert.deepEqual(lines.slice(0, 5), [
    "NAME  ADDRESS        STATUS   INC         BACKEND  SCORE     LOAD                LAYERS          RTT    HEALTH",
    "a*    10.0.0.1:7946  alive    1767225600  wasm     2.5 GB/s  q2 a8 80.1t/s 100%  tinyllama:0-21  -      0",
    "bb    10.0.0.2:7946  suspect  1767225600  wasm     2.5 GB/s  q2 a8 80.1t/s 100%  tinyllama:0-21  0.4ms  1",
    "ccc   10.0.0.3:7946  left     1767225600  unknown  -         -                   -               -      -",
    "! ccc: capabilities: bad msgpack",
  ]);
  assert.match(
    text,
    /ring:\s+not joined yet \(seeds 10\.0\.0\.9:7946: request to .* timeout after 10000 ms\)/,
  );
  assert.match(text, /encryption: OFF \(insecure ring\)/);
  assert.match(text, /members:\s+3 known: 1 alive, 1 suspect, 0 dead, 0 left/);
  assert.match(text, /queues:\s+gossip broadcasts 2 · requests queued 1, active 3/);
  assert.match(
    text,
    /packets:\s+sent 1200 \(123 KB\) · received 1100 \(99 KB\) · dropped: decrypt failures 4, label mismatches 0, unencrypted 2, malformed 1/,
  );
  assert.match(text, /probes:\s+300 sent, 2 failed, 1 saved by TCP · push-pulls 10 \(1 failed\)/);
  const suspects = formatStatusTable(DOC, { status: "suspect" }).split("\n");
  assert.match(suspects[1], /^bb\s/);
  assert.equal(suspects[2], "");
  assert.match(formatStatusTable(DOC, { status: "dead" }), /\(no dead members\)/);
});

Deno.test("edgering status shows a crashed member as suspect, then dead", async () => {
  const a = await startClusterServer({ name: "node-a" });
  const key = JSON.parse(await Deno.readTextFile(`${a.stateDir}/keyring.json`)).keys[0];
  const b = await startClusterServer({ name: "node-b", seeds: [a.node.address], key });
  try {
    const all = async () =>
      JSON.parse((await cli("status", "--addr", a.addr, "--json")).stdout) as ClusterStatus;
    for (let i = 0; i < 100 && (await all()).info.members.alive < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await all()).info.members.alive, 2);
    await b.crash();
    let suspect = "";
    for (let i = 0; i < 100 && !suspect.includes("node-b"); i++) {
      suspect = (await cli("status", "--addr", a.addr, "--status", "suspect")).stdout;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(suspect, /\nnode-b\s+127\.0\.0\.1:\d+\s+suspect\s/);
    assert.ok(!/\nnode-a/.test(suspect), "only suspects are listed");
    let dead = "";
    for (let i = 0; i < 150 && !dead.includes("node-b"); i++) {
      dead = (await cli("status", "--addr", a.addr, "--status", "dead")).stdout;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(dead, /\nnode-b\s+127\.0\.0\.1:\d+\s+dead\s/);
    assert.ok(a.logs.some((l) => /node-b is suspect/.test(l)) && a.logs.some((l) => /node-b failed/.test(l)));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("status failures are one line with exit code 2", async () => {
  const guarded = await startClusterServer({ name: "guarded", apiKeys: ["k1"] });
  try {
    const noKey = await cli("status", "--addr", guarded.addr);
    assert.equal(noKey.code, 2);
    assert.match(
      noKey.stderr,
      /^edgering: status: .* wants an API key: pass --api-key or set EDGERING_API_KEY/,
    );
    assert.equal(noKey.stderr.trim().split("\n").length, 1);
    assert.equal((await cli("status", "--addr", guarded.addr, "--api-key", "k1")).code, 0);
  } finally {
    await guarded.close();
  }
  const gone = await cli("status", "--addr", guarded.addr);
  assert.equal(gone.code, 2);
  assert.match(
    gone.stderr,
    /^edgering: status: cannot reach http:\/\/127\.0\.0\.1:\d+\/cluster\/status: .*is 'edgering serve' running there/,
  );
  const bad = await cli("status", "--status", "zombie");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--status must be one of alive, suspect, dead, left/);
});
