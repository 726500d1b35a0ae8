/**
 * `edgering serve` processes forming a gossip ring on loopback (tiny model, `local` profile, OS-picked
 * ports, a state directory each): the join command of a new ring, `/cluster/status`, `edgering status`,
 * refusals of a wrong key and of an insecure node, a live key rotation through `edgering keys`, restarts
 * and one-line startup failures.
 */
import assert from "node:assert/strict";
import { generateClusterKey } from "../../cluster/gossip/mod.ts";
import type { ClusterStatus } from "../../src/cluster_node/mod.ts";
import { decodeKey, fetchClusterStatus, keyFingerprint } from "../../src/cluster_node/mod.ts";
import { main } from "../../src/main.ts";
import { MODEL, ServeProcess, until } from "./support/serve_process.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** Runs the CLI in-process, capturing its output. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "", stderr = "";
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const status = (node: ServeProcess) => fetchClusterStatus({ addr: node.addr });
const alive = (s: ClusterStatus) => s.members.filter((m) => m.status === "alive").map((m) => m.name).sort();

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgering-ring-test-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serve nodes form an encrypted ring from the printed join command; status, refusals and a key rotation", async (t) => {
  await withDir(async (dir) => {
    const nodes: ServeProcess[] = [];
    try {
      const a = new ServeProcess("node-a", `${dir}/a`);
      nodes.push(a);
      await a.ready();
      const [, seed, key1] = await a.waitFor(
        /ring: join it with: edgering serve --join (127\.0\.0\.1:\d+) --cluster-key (\S+) --profile local$/,
      );
      // the generated key is kept, readable by its owner only
      const kept = await Deno.stat(`${dir}/a/keyring.json`);
      assert.equal(kept.mode! & 0o777, 0o600);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/a/keyring.json`)).keys, [key1]);

      const b = new ServeProcess("node-b", `${dir}/b`, ["--join", seed, "--cluster-key", key1]);
      const c = new ServeProcess("node-c", `${dir}/c`, ["--join", seed, "--cluster-key", key1]);
      nodes.push(b, c);
      await Promise.all([b.ready(), c.ready()]);
      const complete = await until(
        () => status(a),
        (s) =>
          alive(s).join() === "node-a,node-b,node-c" &&
          s.members.every((m) => m.backend === "reference" && (m.self || (m.load && m.rttMs !== undefined))),
        15_000,
      );

      await t.step("GET /cluster/status describes every member with capabilities, load and counters", () => {
        assert.equal(complete.version, 1);
        assert.equal(complete.self, "node-a");
        const info = complete.info;
        assert.equal(info.encrypted, true);
        assert.equal(info.keys, 1);
        assert.deepEqual(info.protocol, { min: 1, max: 1, cur: 1 });
        assert.deepEqual(info.members, { alive: 3, suspect: 0, dead: 0, left: 0, total: 3 });
        assert.equal(info.address, seed);
        assert.equal(info.apiAddr, a.addr);
        for (
          const field of ["sent", "received", "decryptFailures", "unencryptedDropped", "labelMismatches"]
        ) {
          assert.equal(typeof info.packets[field as keyof typeof info.packets], "number", field);
        }
        assert.ok(info.packets.received > 0);
        const byName = new Map(nodes.map((n) => [n.name, n]));
        for (const m of complete.members) {
          assert.match(m.address, /^127\.0\.0\.1:\d+$/);
          assert.ok(m.incarnation > 1_600_000_000, `time-based incarnation ${m.incarnation}`);
          assert.equal(m.apiAddr, byName.get(m.name)!.addr);
          assert.match(m.id!, /^[0-9a-f-]{36}$/);
          assert.equal(m.version, "0.1.0");
          assert.match(m.pipelineAddr!, /^127\.0\.0\.1:\d+$/, "the reserved pipeline port is advertised");
          assert.ok(m.device && m.device.length > 0);
          assert.ok(m.memoryBudgetBytes! > 0);
          assert.ok(m.score! > 1e6, `throughput score ${m.score} bytes/s`);
          assert.deepEqual(m.models, ["stories260K"]);
          assert.deepEqual(m.layers, [{ model: "stories260K", first: 0, last: 4 }]);
          assert.deepEqual(Object.keys(m.load!).sort(), [
            "activeSequences",
            "ageMs",
            "healthScore",
            "queueDepth",
            "tokensPerSecond",
            "utilisation",
            "via",
          ]);
          assert.ok(m.healthScore! >= 0, "health score reported");
          if (!m.self) assert.ok(m.rttMs! >= 0 && m.rttMs! < 1_000);
        }
      });

      await t.step("a busy node's load reaches the others within seconds", async () => {
        const generating = fetch(`${c.url}/v1/completions`, {
          method: "POST",
          body: JSON.stringify({ model: "stories260K", prompt: "Once", max_tokens: 200, temperature: 0 }),
        }).then((r) => r.json());
        const seen = await until(
          () => status(a),
          (s) => (s.members.find((m) => m.name === "node-c")?.load?.tokensPerSecond ?? 0) > 0,
          8_000,
        );
        const load = seen.members.find((m) => m.name === "node-c")!.load!;
        assert.ok(load.ageMs < 5_000, `load is ${load.ageMs} ms old`);
        assert.ok(load.via === "ack" || load.via === "broadcast");
        assert.equal((await generating).usage.completion_tokens, 200);
      });

      await t.step("edgering status prints the member table and the info block", async () => {
        const table = await cli("status", "--addr", a.addr);
        assert.equal(table.code, 0, table.stderr);
        const lines = table.stdout.split("\n");
        assert.match(
          lines[0],
          /^NAME\s+ADDRESS\s+STATUS\s+INC\s+BACKEND\s+SCORE\s+LOAD\s+LAYERS\s+RTT\s+HEALTH$/,
        );
        for (const name of ["node-a\\*", "node-b", "node-c"]) {
          const row = lines.find((l) => new RegExp(`^${name}\\s`).test(l));
          assert.ok(row, `row for ${name} in\n${table.stdout}`);
          assert.match(
            row,
            /127\.0\.0\.1:\d+\s+alive\s+\d+\s+reference\s+[\d.]+ [KMG]B\/s\s+q\d+ a\d+ [\d.]+t\/s \d+%\s+stories260K:0-4\s/,
          );
        }
        assert.match(table.stdout, /encryption: on \(AES-GCM, 1 key\)/);
        assert.match(table.stdout, /members:\s+3 known: 3 alive, 0 suspect, 0 dead, 0 left/);
        assert.match(table.stdout, /packets:.*decrypt failures \d+/);
        const suspects = await cli("status", "--addr", a.addr, "--status", "suspect");
        assert.match(suspects.stdout, /\(no suspect members\)/);
        const json = await cli("status", "--addr", a.addr, "--json", "--status", "alive");
        assert.equal((JSON.parse(json.stdout) as ClusterStatus).members.length, 3);
        const bad = await cli("status", "--addr", a.addr, "--status", "sleepy");
        assert.equal(bad.code, 2);
      });

      await t.step(
        "a node with the wrong key, or an insecure one, is refused and its log says why",
        async () => {
          const wrong = new ServeProcess("node-d", `${dir}/d`, [
            "--join",
            seed,
            "--cluster-key",
            generateClusterKey(),
          ]);
          const insecure = new ServeProcess("node-e", `${dir}/e`, ["--join", seed, "--insecure"]);
          nodes.push(wrong, insecure);
          await wrong.waitFor(/ring: join refused by 127\.0\.0\.1:\d+: .*another cluster key/);
          await insecure.waitFor(/warning: --insecure: the ring is unencrypted and unauthenticated/);
          await insecure.waitFor(/ring: join refused by 127\.0\.0\.1:\d+: .*cluster key/);
          await insecure.ready();
          assert.equal((await status(insecure)).info.encrypted, false);
          const seen = await until(
            () => status(a),
            (s) => s.info.packets.decryptFailures > 0 && s.info.packets.unencryptedDropped > 0,
            5_000,
          );
          assert.deepEqual(alive(seen), ["node-a", "node-b", "node-c"], "neither got in");
          assert.equal(await wrong.stop(), 0);
          assert.equal(await insecure.stop(), 0);
        },
      );

      await t.step(
        "keys rotate across the live ring through edgering keys with no false death",
        async () => {
          const ring = [a, b, c];
          const before = ring.map((n) => n.lines.length);
          const key2 = generateClusterKey();
          const print2 = await keyFingerprint(decodeKey(key2));
          const print1 = await keyFingerprint(decodeKey(key1));
          for (const n of ring) {
            const r = await cli("keys", "install", key2, "--addr", n.addr);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /2 key\(s\)/);
            assert.ok(!r.stdout.includes(key2) && !r.stdout.includes(key1), "keys are never printed");
          }
          for (const n of ring) {
            const r = await cli("keys", "use", print2.slice(0, 15), "--addr", n.addr); // a fingerprint prefix
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, new RegExp(`${print2}\\s+256-bit\\s+primary`));
          }
          const refused = await cli("keys", "remove", key2, "--addr", a.addr);
          assert.equal(refused.code, 2);
          assert.match(refused.stderr, /cannot remove the primary key/);
          for (const n of ring) {
            const r = await cli("keys", "remove", key1, "--addr", n.addr);
            assert.equal(r.code, 0, r.stderr);
          }
          for (const n of ring) {
            const listed = await cli("keys", "list", "--addr", n.addr, "--json");
            assert.deepEqual(JSON.parse(listed.stdout).keys, [{
              fingerprint: print2,
              bytes: 32,
              primary: true,
            }]);
            assert.ok(!listed.stdout.includes(print1));
          }
          assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/b/keyring.json`)).keys, [key2]);
          // the ring now speaks key2 only: a newcomer with it gets in
          const f = new ServeProcess("node-f", `${dir}/f`, ["--join", seed, "--cluster-key", key2]);
          nodes.push(f);
          await f.ready();
          await f.waitFor(/ring: joined through 1 of 1 seed/);
          const after = await until(() => status(a), (s) => alive(s).length === 4, 10_000);
          assert.deepEqual(after.info.members, { alive: 4, suspect: 0, dead: 0, left: 0, total: 4 });
          ring.forEach((n, i) => {
            // (a suspicion refuted in time is allowed: on 2 busy cores a probe may be late)
            const news = n.lines.slice(before[i]).filter((l) => /failed \(declared dead/.test(l));
            assert.deepEqual(news, [], `${n.name} declared nobody dead during the rotation`);
          });
        },
      );

      await t.step("a node that stops leaves the ring: the others record it as left", async () => {
        const f = nodes.at(-1)!;
        assert.equal(await f.stop(), 0);
        const seen = await until(
          () => status(a),
          (s) => s.members.find((m) => m.name === "node-f")?.status === "left",
          5_000,
        );
        assert.equal(seen.info.members.left, 1);
        await a.waitFor(/ring: node-f left/);
      });
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});

Deno.test("a restarted node keeps its key ring and starts above every incarnation it used before", async () => {
  await withDir(async (dir) => {
    const state = `${dir}/a`;
    await Deno.mkdir(state);
    const future = Math.floor(Date.now() / 1000) + 1_000;
    await Deno.writeTextFile(
      `${state}/node.json`,
      JSON.stringify({ version: 1, id: "7f3c2a10-5b1e-4c9d-8e2f-0a1b2c3d4e5f", incarnation: future }),
    );
    const first = new ServeProcess("node-a", state);
    let firstIncarnation: number, print: string;
    try {
      await first.ready();
      [, print] = await first.waitFor(/primary key (sha256:[0-9a-f]{16}) \(generated/);
      const s = await status(first);
      firstIncarnation = s.info.incarnation;
      assert.ok(firstIncarnation > future, `${firstIncarnation} > persisted ${future}`);
      assert.equal(s.members[0].id, "7f3c2a10-5b1e-4c9d-8e2f-0a1b2c3d4e5f");
    } finally {
      assert.equal(await first.stop(), 0);
    }
    assert.equal(JSON.parse(await Deno.readTextFile(`${state}/node.json`)).incarnation, firstIncarnation);

    const second = new ServeProcess("node-a", state);
    try {
      await second.ready();
      await second.waitFor(new RegExp(`no seeds: waiting for others to join .*primary key ${print}`));
      assert.ok(!second.log.includes("join it with"), "the kept key is not printed again");
      const s = await status(second);
      assert.ok(s.info.incarnation > firstIncarnation, `${s.info.incarnation} > ${firstIncarnation}`);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  });
});

Deno.test("a node started before its seed retries until the seed answers", async () => {
  await withDir(async (dir) => {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const key = generateClusterKey();
    const early = new ServeProcess("node-b", `${dir}/b`, [
      "--join",
      `127.0.0.1:${port}`,
      "--cluster-key",
      key,
    ]);
    let seed: ServeProcess | undefined;
    try {
      await early.waitFor(/ring: cannot reach 127\.0\.0\.1:\d+ yet/);
      seed = new ServeProcess("node-a", `${dir}/a`, ["--gossip-port", String(port), "--cluster-key", key]);
      await early.waitFor(/ring: joined through 1 of 1 seed\(s\); 2 members known/, 15_000);
    } finally {
      await Promise.all([early.stop(), seed?.stop()]);
    }
  });
});

/** Runs `edgering serve` with a fresh state directory until it exits (killed after 20 s: these runs
 * are all expected to fail at start). Returns its exit code and stderr lines. */
async function serveOnce(args: string[]): Promise<{ code: number; lines: string[] }> {
  const state = await Deno.makeTempDir({ prefix: "edgering-state-test-" });
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("EDGERING_")),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", "--model", MODEL, "--port", "0", "--state-dir", state, ...args],
    env: { ...env, NO_COLOR: "1" },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    const out = await child.output();
    return { code: out.code, lines: new TextDecoder().decode(out.stderr).trimEnd().split("\n") };
  } finally {
    clearTimeout(timer);
    await Deno.remove(state, { recursive: true });
  }
}

Deno.test("cluster startup failures are one line and exit code 2, before the model loads", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const busy = await serveOnce(["--gossip-port", String(port)]);
    assert.equal(busy.code, 2);
    assert.equal(busy.lines.length, 1, busy.lines.join("\n"));
    assert.match(
      busy.lines[0],
      new RegExp(
        `^edgering: serve: cannot bind gossip port 127\\.0\\.0\\.1:${port} \\(UDP and TCP\\): address already in use`,
      ),
    );
  } finally {
    taken.close();
  }
  const keyless = await serveOnce(["--join", "127.0.0.1:7946", "--gossip-port", "0"]);
  assert.equal(keyless.code, 2);
  assert.deepEqual(keyless.lines.length, 1);
  assert.match(keyless.lines[0], /joining a ring needs its key: pass --cluster-key .* or --insecure/);
  const both = await serveOnce(["--insecure", "--cluster-key", generateClusterKey()]);
  assert.equal(both.code, 2);
  assert.match(both.lines[0], /--insecure and --cluster-key contradict each other/);
  const shortKey = await serveOnce(["--cluster-key", "c2hvcnQ="]);
  assert.equal(shortKey.code, 2);
  assert.match(shortKey.lines[0], /--cluster-key: must be base64 of 16, 24 or 32 bytes/);
  assert.ok(!shortKey.lines[0].includes("c2hvcnQ="), "the key is not echoed");
});
