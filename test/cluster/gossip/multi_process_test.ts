import assert from "node:assert/strict";
import { generateClusterKey } from "../../../cluster/gossip/keyring.ts";

/** One gossip node in its own `deno` process, with its printed events. */
class NodeProcess {
  readonly events: { t: number; type: string; subject: string }[] = [];
  address = "";
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;

  constructor(readonly name: string, profile: string, key: string, seed?: string) {
    const script = new URL("./support/gossip_process.ts", import.meta.url).pathname;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", script, name, profile, key, ...(seed ? [seed] : [])],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    let buf = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (line.ready) this.address = line.ready;
        else this.events.push(line);
      }
    }
  }

  signal(sig: Deno.Signal): void {
    this.#child.kill(sig);
  }

  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#child.status;
    await this.#reading;
  }

  seen(type: string, subject: string): { t: number } | undefined {
    return this.events.find((e) => e.type === type && e.subject === subject);
  }
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

/** Starts `n` processes that join through the first; resolves once everyone knows everyone. */
async function ring(n: number, profile: string): Promise<NodeProcess[]> {
  const key = generateClusterKey();
  const first = new NodeProcess("p0", profile, key);
  assert.ok(await until(() => first.address !== "", 20_000), "first process is listening");
  const nodes = [first];
  for (let i = 1; i < n; i++) nodes.push(new NodeProcess(`p${i}`, profile, key, first.address));
  const everyoneKnown = () =>
    nodes.every((a) => nodes.every((b) => a === b || a.seen("join", b.name) !== undefined));
  assert.ok(await until(everyoneKnown, 30_000), "all processes converged");
  return nodes;
}

Deno.test("5 processes (local profile): after kill -9 the other 4 mark it dead within the local bound", async () => {
  const nodes = await ring(5, "local");
  try {
    const victim = nodes[4];
    await new Promise((r) => setTimeout(r, 1_000));
    const t0 = Date.now();
    victim.signal("SIGKILL");
    const others = nodes.slice(0, 4);
    assert.ok(await until(() => others.every((p) => p.seen("dead", victim.name)), 10_000), "all saw it dead");
    const times = others.map((p) => p.seen("dead", victim.name)!.t - t0);
    // local profile: 0.4 s probes, ≥ 1.6 s of suspicion at this size.
    console.log(`kill -9 detection times (ms): ${times.join(", ")}`);
    assert.ok(Math.max(...times) <= 5_000, `detection times ${times} ms`);
    assert.ok(Math.min(...times) >= 1_500, `detection times ${times} ms`);
    assert.ok(!others.some((p) => p.events.some((e) => e.type === "dead" && e.subject !== victim.name)));
  } finally {
    await Promise.all(nodes.map((p) => p.stop()));
  }
});

Deno.test("5 processes (local profile): SIGSTOP for 2 s then SIGCONT gets nobody declared dead", async () => {
  // local's earliest possible death is one 0.4 s probe plus 4·0.4 s of suspicion = 2.0 s after the
  // stop, so a 2 s stop is right at its edge (about 2 in 1000 such stops die in the simulator);
  // lan tolerates about 5 s.
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const nodes = await ring(5, "local");
  try {
    await sleep(1_000);
    const stopped = nodes[3];
    stopped.signal("SIGSTOP");
    await sleep(2_000);
    stopped.signal("SIGCONT");
    await sleep(6_000);
    const deads = nodes.flatMap((p) =>
      p.events.filter((e) => e.type === "dead").map((e) => `${p.name}: ${e.subject}`)
    );
    assert.deepEqual(deads, []);
    const suspicions = nodes.flatMap((p) =>
      p.events.filter((e) => e.type === "suspect" && e.subject === stopped.name)
    );
    console.log(`suspicions of the stopped process: ${suspicions.length}, all refuted`);
    assert.ok(suspicions.length > 0, "the stop was noticed");
  } finally {
    await Promise.all(nodes.map((p) => p.stop()));
  }
});
